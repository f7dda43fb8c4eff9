import type { Knex } from "knex";

/**
 * `report_zone.site_sealed_through`: the site-wide days (zone_site_day: events and active users
 * per local day) are sealed day by day, apart from the weekly per-person periods: they are a
 * few rows per day, and a calendar then reads every day but today from them. Days sealed so far
 * were sealed with their week.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE report_zone ADD COLUMN site_sealed_through date");
  await knex.raw("UPDATE report_zone SET site_sealed_through = sealed_through");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE report_zone DROP COLUMN site_sealed_through");
}
