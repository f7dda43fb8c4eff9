import type { Db } from "../db/knex.js";
import { addDays } from "../reports/range.js";
import { dropSealedBefore } from "../reports/sealing.js";
import { retentionCutoff } from "./horizon.js";

const CHUNK = 10_000;

/**
 * Deletes a site's raw events and per-person daily rollups from before its retention cutoff
 * (privacy/horizon.ts: the retention period plus a margin), in chunks (short transactions, no
 * long locks). Reports never show a day before the horizon, so nothing they show changes.
 * Site-wide counts per quarter-hour (no person) are kept.
 */
export async function applyRetention(
  db: Db,
  tenantId: number,
  days: number,
  now: Date = new Date(),
): Promise<number> {
  const cutoff = retentionCutoff(days, now);
  let deleted = 0;
  for (;;) {
    const result = await db.raw(
      `DELETE FROM event WHERE tenant_id = ? AND id IN (
         SELECT id FROM event WHERE tenant_id = ? AND occurred_at < ? LIMIT ${CHUNK}
       )`,
      [tenantId, tenantId, cutoff.toISOString()],
    );
    const n = Number(result.rowCount ?? result.affectedRows ?? 0);
    deleted += n;
    if (n < CHUNK) break;
  }
  // UTC days that ended by the cutoff.
  const lastWholeDay = addDays(cutoff.toISOString().slice(0, 10), -1);
  for (;;) {
    const result = await db.raw(
      `DELETE FROM user_day WHERE tenant_id = ? AND (day, actor_id) IN (
         SELECT day, actor_id FROM user_day WHERE tenant_id = ? AND day <= ?::date LIMIT ${CHUNK}
       )`,
      [tenantId, tenantId, lastWholeDay],
    );
    if (Number(result.rowCount ?? result.affectedRows ?? 0) < CHUNK) break;
  }
  await dropSealedBefore(db, tenantId, cutoff);
  // No report shows a day before this again, even if the period is raised or cleared later.
  await db.raw(
    `UPDATE tenant SET history_from = greatest(coalesce(history_from, ?::timestamptz), ?::timestamptz)
     WHERE id = ?`,
    [cutoff.toISOString(), cutoff.toISOString(), tenantId],
  );
  return deleted;
}
