import type { Knex } from "knex";

/**
 * Signed lifecycle tokens (install, uninstall) already used, kept until they expire. The JWT
 * signs the URL, not the body, so a replayed token could otherwise overwrite a site's secret.
 * In the database, not in memory, so the rule holds across app instances.
 */
const STATEMENTS = [
  `CREATE TABLE lifecycle_token (
     token_hash bytea PRIMARY KEY,
     expires_at timestamptz NOT NULL
   )`,
  "CREATE INDEX lifecycle_token_expires ON lifecycle_token (expires_at)",
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE lifecycle_token");
}
