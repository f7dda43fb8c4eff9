import type { Db } from "../../db/knex.js";
import { typeFromCode } from "../../events/types.js";
import type { ReportRange } from "../range.js";
import type { Scope } from "./calendar.js";
import { type Counts, countsFrom, emptyCounts, RAW_TYPE_COUNTS, rollupCountsSql } from "./sql.js";

/**
 * Events per type over the range. Site-wide from site_quarter; one user from user_day plus the
 * partial days' raw events; a space (with or without a user) from raw events.
 */
export async function getBreakdown(
  db: Db,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
): Promise<Counts> {
  const start = range.start.toISOString();
  const end = range.end.toISOString();
  if (scope.spaceId === null && scope.actorId === null) {
    const rows = (
      await db.raw(
        `SELECT type, sum(events)::int AS n FROM site_quarter
         WHERE tenant_id = ? AND bucket >= ? AND bucket < ? GROUP BY type`,
        [tenantId, start, end],
      )
    ).rows as { type: number; n: number }[];
    const counts = emptyCounts();
    for (const r of rows) counts[typeFromCode(Number(r.type))] = Number(r.n);
    return counts;
  }
  if (scope.spaceId === null && scope.actorId !== null) {
    const q = rollupCountsSql(range, tenantId, scope.actorId);
    const row = (await db.raw(q.sql, q.bindings)).rows[0];
    return row ? countsFrom(row) : emptyCounts();
  }
  const bindings: (string | number)[] = [tenantId, start, end, scope.spaceId as number];
  let actor = "";
  if (scope.actorId !== null) {
    actor = "AND actor_id = ?";
    bindings.push(scope.actorId);
  }
  const row = (
    await db.raw(
      `SELECT ${RAW_TYPE_COUNTS} FROM event
       WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? AND space_id = ? ${actor}`,
      bindings,
    )
  ).rows[0];
  return row ? countsFrom(row) : emptyCounts();
}
