import type { Knex } from "knex";

/** Per-site settings (exclusions, app accounts, retention) and an audit of every change. */
const STATEMENTS = [
  `CREATE TABLE tenant_settings (
     tenant_id integer PRIMARY KEY,
     settings jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     updated_by text COLLATE "C"
   )`,
  `CREATE TABLE settings_audit (
     tenant_id integer NOT NULL,
     id bigint GENERATED ALWAYS AS IDENTITY,
     changed_at timestamptz NOT NULL DEFAULT now(),
     account_id text COLLATE "C" NOT NULL,
     before jsonb NOT NULL,
     after jsonb NOT NULL,
     PRIMARY KEY (tenant_id, id)
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE settings_audit, tenant_settings");
}
