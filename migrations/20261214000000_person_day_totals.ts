import type { Knex } from "knex";

/**
 * One person's events per local day in their sealed rows (reports/sealing.ts): every week's
 * row, and a block's row when the person had at least DAY_TOTALS_MIN_EVENTS events in it, carry
 * `day_events` (7 or 28 values), which one person's calendar reads instead of their raw events.
 * Per-person sealing starts again from scratch (the sealer rebuilds it in the background;
 * reports stay exact from the live rollups and raw events meanwhile); site-wide days are kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("TRUNCATE zone_user_period, zone_period");
  await knex.raw("UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL");
  await knex.raw("ALTER TABLE zone_user_period ADD COLUMN day_events integer[]");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DELETE FROM zone_user_period");
  await knex.raw("DELETE FROM zone_period");
  await knex.raw("UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL");
  await knex.raw("ALTER TABLE zone_user_period DROP COLUMN day_events");
}
