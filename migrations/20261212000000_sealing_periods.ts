import type { Knex } from "knex";

/**
 * Sealing storage proportional to activity (reports/sealing.ts). The dense per-day prefix sums
 * (one row per person ever active, per day, per zone) give way to sums over sealed periods of
 * local days: a row per person *active* in the period. Periods are local weeks (Monday to
 * Sunday) that older weeks are merged into four-week blocks, so a range is a few period sums
 * plus at most a few days at each end from the live rollups. Sealing starts again from
 * scratch: the sealer rebuilds what it needs in the background, and reports are exact meanwhile
 * from the live rollups.
 */
const STATEMENTS = [
  "DROP TABLE zone_user_day",
  "DELETE FROM zone_site_day",
  "UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL",
  // The sealed periods of a zone: consecutive, without gaps, up to report_zone.sealed_through.
  `CREATE TABLE zone_period (
     tenant_id integer NOT NULL,
     zone_id integer NOT NULL,
     first_day date NOT NULL,
     last_day date NOT NULL,
     PRIMARY KEY (tenant_id, zone_id, first_day)
   )`,
  // Per person active in a sealed period: counts by type and active local days in it.
  `CREATE TABLE zone_user_period (
     tenant_id integer NOT NULL,
     zone_id integer NOT NULL,
     first_day date NOT NULL,
     actor_id integer NOT NULL,
     n_view integer NOT NULL, n_create integer NOT NULL, n_edit integer NOT NULL,
     n_delete integer NOT NULL, n_comment integer NOT NULL, n_like integer NOT NULL,
     n_attachment integer NOT NULL, n_label integer NOT NULL, n_space integer NOT NULL,
     n_other integer NOT NULL,
     active_days smallint NOT NULL,
     PRIMARY KEY (tenant_id, zone_id, first_day, actor_id)
   )`,
  `CREATE INDEX zone_user_period_actor ON zone_user_period (tenant_id, zone_id, actor_id, first_day)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE zone_user_period, zone_period");
  await knex.raw("UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL");
  await knex.raw("DELETE FROM zone_site_day");
  await knex.raw(`CREATE TABLE zone_user_day (
     tenant_id integer NOT NULL, zone_id integer NOT NULL, local_day date NOT NULL,
     actor_id integer NOT NULL, events integer NOT NULL,
     c_view integer NOT NULL, c_create integer NOT NULL, c_edit integer NOT NULL,
     c_delete integer NOT NULL, c_comment integer NOT NULL, c_like integer NOT NULL,
     c_attachment integer NOT NULL, c_label integer NOT NULL, c_space integer NOT NULL,
     c_other integer NOT NULL, active_days integer NOT NULL,
     PRIMARY KEY (tenant_id, zone_id, local_day, actor_id))`);
  await knex.raw(
    "CREATE INDEX zone_user_day_actor ON zone_user_day (tenant_id, zone_id, actor_id, local_day)",
  );
}
