import type { ConfluenceClient } from "../confluence/client.js";
import type { ClientInfo, Tenant } from "../connect/knex-store.js";
import type { Db } from "../db/knex.js";
import { type Periodic, startPeriodic } from "../jobs/periodic.js";
import type { Logger } from "../log.js";
import { purgeTenant } from "./erase.js";
import { refreshGroupMembers } from "../confluence/groups.js";
import { readSettings } from "../settings/settings.js";
import { reportAccounts } from "./report-accounts.js";
import { applyRetention } from "./retention.js";

export const UNINSTALL_GRACE_DAYS = 30;
/** A claimed report that fails is tried again after this lease. */
const LEASE_SECONDS = 60 * 60;

/**
 * The data lifecycle, run on a timer by every app instance; state lives in the database, so it
 * survives restarts, and each step claims its work with a conditional UPDATE, so two instances
 * never do the same site's report twice:
 * - a site uninstalled more than 30 days ago (and not reinstalled) is deleted, all of it;
 * - each installed site's accounts are reported to Confluence once per the cycle it asks for;
 * - raw events older than a site's retention setting are deleted (rollups keep counts), and
 *   the members of excluded groups are refreshed (at most every ten minutes).
 */
export async function runPrivacyJobs(
  db: Db,
  logger: Logger,
  clientFor: (tenant: Tenant) => ConfluenceClient,
  now: Date = new Date(),
): Promise<{ purged: number; reported: number; expired: number }> {
  const stale = (await db("tenant")
    .whereNotNull("uninstalled_at")
    .where("uninstalled_at", "<", new Date(now.getTime() - UNINSTALL_GRACE_DAYS * 86_400_000))
    .select("id", "client_key")) as { id: number; client_key: string }[];
  for (const t of stale) {
    await purgeTenant(db, t.id);
    logger.info({ tenantId: t.id }, "purged the data of a site uninstalled 30 days ago");
  }

  const rows = (await db("tenant")
    .whereNull("uninstalled_at")
    .select("id", "client_key", "base_url", "client_info")) as {
    id: number;
    client_key: string;
    base_url: string;
    client_info: ClientInfo;
  }[];
  const tenants: Tenant[] = rows.map((r) => ({
    id: r.id,
    clientKey: r.client_key,
    baseUrl: r.base_url,
    clientInfo: r.client_info,
  }));
  let reported = 0;
  for (const t of tenants) {
    await db.raw(
      "INSERT INTO privacy_state (tenant_id, next_report_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
      [t.id, now.toISOString()],
    );
    const claimed = await db.raw(
      `UPDATE privacy_state SET next_report_at = ?::timestamptz + make_interval(secs => ?)
       WHERE tenant_id = ? AND next_report_at <= ? RETURNING tenant_id`,
      [now.toISOString(), LEASE_SECONDS, t.id, now.toISOString()],
    );
    if (claimed.rows.length === 0) continue;
    try {
      const result = await reportAccounts(db, clientFor(t), t.id, logger);
      await db.raw(
        `UPDATE privacy_state SET last_report_at = ?, cycle_seconds = ?,
           next_report_at = ?::timestamptz + make_interval(secs => ?)
         WHERE tenant_id = ?`,
        [now.toISOString(), result.cycleSeconds, now.toISOString(), result.cycleSeconds, t.id],
      );
      reported++;
    } catch (error) {
      logger.warn({ err: error, tenantId: t.id }, "personal data report failed; retrying later");
    }
  }
  // Raw-event retention, per site setting; and current members of excluded groups.
  let expired = 0;
  for (const t of tenants) {
    const settings = await readSettings(db, t.id);
    for (const group of settings.excludedGroups) {
      await refreshGroupMembers(db, clientFor(t), t.id, group).catch((error: unknown) =>
        logger.warn({ err: error, tenantId: t.id, group }, "could not refresh an excluded group"),
      );
    }
    if (settings.retentionDays !== null) {
      expired += await applyRetention(db, t.id, settings.retentionDays, now);
    }
  }
  if (expired > 0) logger.info({ events: expired }, "deleted raw events past retention");
  return { purged: stale.length, reported, expired };
}

export function startPrivacyJobs(
  db: Db,
  logger: Logger,
  clientFor: (tenant: Tenant) => ConfluenceClient,
  intervalMs: number,
): Periodic {
  return startPeriodic("privacy jobs", () => runPrivacyJobs(db, logger, clientFor), {
    intervalMs,
    firstDelayMs: 5000,
    logger,
  });
}
