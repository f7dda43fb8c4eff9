import type { Knex } from "knex";

/**
 * Day-resolved weeks (reports/sealing.ts): a sealed week's per-person row also carries its
 * running totals day by day (`cum`: for each count column and for active days, the sum over the
 * week's first 1..7 days), so a range that starts or ends inside a recent week reads a slice of
 * it instead of those days' live rollups. The current week is sealed day by day in the same
 * way, so a range ending today reads only today live. Weeks lose `cum` after six weeks, and are
 * merged into blocks after twelve. Per-person sealing starts again from scratch (the sealer rebuilds it in the
 * background; reports stay exact from the live rollups meanwhile); site-wide days are kept.
 */
const STATEMENTS = [
  "TRUNCATE zone_user_period, zone_period",
  "UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL",
  "ALTER TABLE zone_user_period ADD COLUMN cum integer[]",
  // true: the period's rows carry `cum` (a week, or its days sealed so far).
  "ALTER TABLE zone_period ADD COLUMN resolved boolean NOT NULL DEFAULT false",
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DELETE FROM zone_user_period");
  await knex.raw("DELETE FROM zone_period");
  await knex.raw("UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL");
  await knex.raw("ALTER TABLE zone_user_period DROP COLUMN cum");
  await knex.raw("ALTER TABLE zone_period DROP COLUMN resolved");
}
