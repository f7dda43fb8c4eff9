import type { Knex } from "knex";

/**
 * `tenant.first_installed_at`: when the app was first installed on the site, i.e. since when
 * Confluence has been sending it webhooks. `installed_at` is overwritten by every reinstall
 * (an upgrade, a move to Connect on Forge), so it cannot say that; this column is set once, on
 * insert, and never updated (an uninstalled site keeps its row until the purge deletes it, and
 * a site installed after the purge starts afresh). "Active users per day" averages over the
 * days the site was tracked, counted from here.
 *
 * Backfill: the earlier of `installed_at` and the site's oldest recorded quarter-hour
 * (`site_quarter`, which keeps its counts through retention and account erasure): a site
 * reinstalled since it was first installed has events older than its `installed_at`.
 */
const STATEMENTS = [
  "ALTER TABLE tenant ADD COLUMN first_installed_at timestamptz",
  `UPDATE tenant t SET first_installed_at = least(t.installed_at,
     (SELECT min(q.bucket) FROM site_quarter q WHERE q.tenant_id = t.id))`,
  "ALTER TABLE tenant ALTER COLUMN first_installed_at SET DEFAULT now()",
  "ALTER TABLE tenant ALTER COLUMN first_installed_at SET NOT NULL",
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE tenant DROP COLUMN first_installed_at");
}
