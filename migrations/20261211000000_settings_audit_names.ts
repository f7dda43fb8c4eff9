import type { Knex } from "knex";

/**
 * `settings_audit.names`: the names of the spaces and groups a settings change mentions, as
 * Confluence gave them when the change was saved (`{"spaces": {"KEY": "Name"}, "groups":
 * {"id": "Name"}}`), so the audit can say what changed in words. People's names are not kept
 * here (they are personal data): the audit reads them from `user_profile`, which erasure clears.
 * Rows written before this column have none: the audit shows their ids.
 */
const STATEMENTS = ["ALTER TABLE settings_audit ADD COLUMN names jsonb"];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE settings_audit DROP COLUMN names");
}
