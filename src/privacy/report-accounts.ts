import type { ConfluenceClient } from "../confluence/client.js";
import type { Db } from "../db/knex.js";
import type { Logger } from "../log.js";
import { eraseAccount } from "./erase.js";

const PER_CALL = 90;
const DEFAULT_CYCLE_SECONDS = 7 * 24 * 60 * 60;

interface Reported {
  accounts?: { accountId?: string; status?: string }[];
}

/**
 * One reporting cycle for a site: every account id the app stores goes to Confluence's personal
 * data reporting API (90 per call); a `closed` account is erased everywhere, an `updated` one
 * gets its cached profile dropped (fetched again when next shown). 429 and 5xx are retried by
 * the client (Retry-After). Returns the cycle Confluence asks for, in seconds.
 * https://developer.atlassian.com/cloud/confluence/user-privacy-developer-guide/
 */
export async function reportAccounts(
  db: Db,
  client: ConfluenceClient,
  tenantId: number,
  logger: Logger,
): Promise<{ cycleSeconds: number; closed: number; updated: number }> {
  const accounts = (
    await db.raw(
      `SELECT a.account_id, coalesce(p.fetched_at, a.first_seen_at) AS updated_at
       FROM actor a
       LEFT JOIN user_profile p ON p.tenant_id = a.tenant_id AND p.account_id = a.account_id
       WHERE a.tenant_id = ?
       UNION
       SELECT p.account_id, p.fetched_at FROM user_profile p
       WHERE p.tenant_id = ?
         AND NOT EXISTS (SELECT 1 FROM actor a WHERE a.tenant_id = p.tenant_id AND a.account_id = p.account_id)
       ORDER BY 1`,
      [tenantId, tenantId],
    )
  ).rows as { account_id: string; updated_at: string | Date }[];

  let cycleSeconds = DEFAULT_CYCLE_SECONDS;
  let closed = 0;
  let updated = 0;
  for (let i = 0; i < accounts.length; i += PER_CALL) {
    const chunk = accounts.slice(i, i + PER_CALL).map((a) => ({
      accountId: a.account_id,
      updatedAt: new Date(a.updated_at).toISOString(),
    }));
    const res = await client.post<Reported>("/rest/atlassian-connect/latest/report-accounts", {
      accounts: chunk,
    });
    const period = Number(res.headers["cycle-period"]);
    if (Number.isFinite(period) && period > 0) cycleSeconds = period;
    if (res.status === 204) continue;
    if (res.status !== 200) throw new Error(`report-accounts answered ${res.status}`);
    for (const a of res.body.accounts ?? []) {
      if (!a.accountId) continue;
      if (a.status === "closed") {
        await eraseAccount(db, tenantId, a.accountId);
        closed++;
      } else if (a.status === "updated") {
        await db("user_profile").where({ tenant_id: tenantId, account_id: a.accountId }).delete();
        updated++;
      }
    }
  }
  if (closed || updated) logger.info({ tenantId, closed, updated }, "personal data report applied");
  return { cycleSeconds, closed, updated };
}
