import type { Knex } from "knex";

/** When each site's accounts are next reported to Confluence's personal data reporting API. */
const STATEMENTS = [
  `CREATE TABLE privacy_state (
     tenant_id integer PRIMARY KEY,
     next_report_at timestamptz NOT NULL DEFAULT now(),
     last_report_at timestamptz,
     cycle_seconds integer NOT NULL DEFAULT 604800
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE privacy_state");
}
