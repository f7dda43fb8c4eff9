import type { Knex } from "knex";
import type { Db } from "../db/knex.js";

/**
 * Erases one person from one site: their events, every per-person rollup row, their cached
 * profile and group memberships, and the actor row (the account id itself). Site-wide totals
 * (events per quarter-hour, active users per day) keep their counts: they hold no personal data.
 * https://developer.atlassian.com/cloud/confluence/user-privacy-developer-guide/
 */
export async function eraseAccount(db: Db, tenantId: number, accountId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const actor = (await trx("actor")
      .where({ tenant_id: tenantId, account_id: accountId })
      .first("id")) as { id: number } | undefined;
    if (actor) {
      const byActor = { tenant_id: tenantId, actor_id: actor.id };
      await trx("event").where(byActor).delete();
      await trx("user_day").where(byActor).delete();
      await trx("zone_user_period").where(byActor).delete();
      await trx("space_actor").where(byActor).delete();
      await trx("actor").where({ tenant_id: tenantId, id: actor.id }).delete();
    }
    await trx("user_profile").where({ tenant_id: tenantId, account_id: accountId }).delete();
    await trx("group_member").where({ tenant_id: tenantId, account_id: accountId }).delete();
    await forgetInSettings(trx, tenantId, accountId);
  });
}

/** An erased account no longer appears in the site's exclusion list either. */
async function forgetInSettings(trx: Knex.Transaction, tenantId: number, accountId: string) {
  await trx.raw(
    `UPDATE tenant_settings SET settings = jsonb_set(settings, '{excludedUsers}',
       coalesce((SELECT jsonb_agg(u) FROM jsonb_array_elements_text(settings->'excludedUsers') u
                 WHERE u <> ?), '[]'::jsonb))
     WHERE tenant_id = ? AND settings->'excludedUsers' @> jsonb_build_array(?::text)`,
    [accountId, tenantId, accountId],
  );
}

/** Every table that holds a site's data, children first. */
const TENANT_TABLES = [
  "event",
  "user_day",
  "site_quarter",
  "zone_user_period",
  "zone_period",
  "zone_site_day",
  "report_zone",
  "space_actor",
  "content",
  "space",
  "actor",
  "user_profile",
  "group_member",
  "group_cache",
  "tenant_settings",
  "settings_audit",
  "privacy_state",
  "ace_setting",
];

/** Deletes everything a site stored, and the site itself. */
export async function purgeTenant(db: Db, tenantId: number): Promise<void> {
  await db.transaction(async (trx) => {
    for (const table of TENANT_TABLES) await trx(table).where({ tenant_id: tenantId }).delete();
    // ACE's settings of the site's Forge installation (its app token) go with the site.
    await trx.raw(
      `DELETE FROM forge_setting WHERE installation_id =
         (SELECT forge_installation_id FROM tenant WHERE id = ?)`,
      [tenantId],
    );
    await trx("tenant").where({ id: tenantId }).delete();
  });
}
