import type { Knex } from "knex";

/**
 * `tenant.history_from`: the latest retention cutoff applied to the site (null: nothing was ever
 * deleted). Raw events, per-person rollups and sealed sums from before it are gone, so no report
 * shows a day before it, even after the retention period is raised or cleared
 * (src/privacy/horizon.ts); it only ever moves forward.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE tenant ADD COLUMN history_from timestamptz");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE tenant DROP COLUMN history_from");
}
