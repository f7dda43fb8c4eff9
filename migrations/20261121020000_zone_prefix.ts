import type { Knex } from "knex";

/**
 * Zone-local prefix sums, "sealed" day by day in the background for the zones viewers use.
 * A users report over any range is then two slices (the day before `from`, and `to`)
 * subtracted, instead of a scan over every user-day in the range; the days not sealed yet
 * (today, usually) come from the live rollups.
 */
const STATEMENTS = [
  `CREATE TABLE report_zone (
     tenant_id integer NOT NULL,
     id integer GENERATED ALWAYS AS IDENTITY,
     zone text COLLATE "C" NOT NULL,
     -- Local days up to and including sealed_through are in zone_user_day / zone_site_day;
     -- sealed_until is the instant that day ends.
     sealed_through date,
     sealed_until timestamptz,
     last_used_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (tenant_id, id),
     UNIQUE (tenant_id, zone)
   )`,
  // Dense: one row per actor and local day from the actor's first active day on, carrying
  // cumulative counts; events is that day's own count.
  `CREATE TABLE zone_user_day (
     tenant_id integer NOT NULL,
     zone_id integer NOT NULL,
     local_day date NOT NULL,
     actor_id integer NOT NULL,
     events integer NOT NULL,
     c_view integer NOT NULL, c_create integer NOT NULL, c_edit integer NOT NULL,
     c_delete integer NOT NULL, c_comment integer NOT NULL, c_like integer NOT NULL,
     c_attachment integer NOT NULL, c_label integer NOT NULL, c_space integer NOT NULL,
     c_other integer NOT NULL,
     active_days integer NOT NULL,
     PRIMARY KEY (tenant_id, zone_id, local_day, actor_id)
   )`,
  `CREATE INDEX zone_user_day_actor ON zone_user_day (tenant_id, zone_id, actor_id, local_day)`,
  `CREATE TABLE zone_site_day (
     tenant_id integer NOT NULL,
     zone_id integer NOT NULL,
     local_day date NOT NULL,
     users integer NOT NULL,
     events integer NOT NULL,
     PRIMARY KEY (tenant_id, zone_id, local_day)
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE zone_site_day, zone_user_day, report_zone");
}
