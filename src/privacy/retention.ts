import type { Db } from "../db/knex.js";

const CHUNK = 10_000;

/**
 * Deletes a site's raw events older than its retention period, in chunks (short transactions,
 * no long locks). Rollups keep their counts, so site-wide and per-person figures over old
 * ranges stay; what needs raw events (a space's report, a person's calendar and recent events,
 * the partial days at a range's ends in a zone not yet sealed then) is empty or counts whole
 * UTC days beyond the period.
 */
export async function applyRetention(
  db: Db,
  tenantId: number,
  days: number,
  now: Date = new Date(),
): Promise<number> {
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
  let deleted = 0;
  for (;;) {
    const result = await db.raw(
      `DELETE FROM event WHERE tenant_id = ? AND id IN (
         SELECT id FROM event WHERE tenant_id = ? AND occurred_at < ? LIMIT ${CHUNK}
       )`,
      [tenantId, tenantId, cutoff],
    );
    const n = Number(result.rowCount ?? result.affectedRows ?? 0);
    deleted += n;
    if (n < CHUNK) return deleted;
  }
}
