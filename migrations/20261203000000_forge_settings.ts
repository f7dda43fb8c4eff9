import type { Knex } from "knex";

/**
 * Connect on Forge: ACE keeps settings per Forge installation (`forForgeInstallation(id)`, e.g.
 * the Forge app token cache), apart from any Connect tenant. The link from a Forge installation
 * to its Connect tenant is `tenant.forge_installation_id` (foundation migration).
 */
const STATEMENTS = [
  `CREATE TABLE forge_setting (
     installation_id text COLLATE "C" NOT NULL,
     key text COLLATE "C" NOT NULL,
     val jsonb NOT NULL,
     PRIMARY KEY (installation_id, key)
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE forge_setting");
}
