import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { EVENT_TYPE_NAMES, typeFromCode } from "../../events/types.js";
import type { ReportRange } from "../range.js";
import { splitRange, type ZoneState } from "../sealing.js";
import type { Scope } from "./calendar.js";
import {
  type Counts,
  countsFrom,
  emptyCounts,
  RAW_TYPE_COUNTS,
  rollupCountsSql,
  sealedDiffSql,
} from "./sql.js";

/**
 * Events per type over the range. Site-wide from site_quarter; one user from the sealed prefix
 * sums plus, for days not sealed yet, user_day and the partial days' raw events; a space (with
 * or without a user) from raw events.
 */
export async function getBreakdown(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
  zone: ZoneState | null = null,
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
    const split = splitRange(range, zone);
    const total = emptyCounts();
    const parts = [
      split.sealed ? sealedDiffSql(tenantId, split.sealed, scope.actorId) : null,
      split.live ? rollupCountsSql(split.live, tenantId, scope.actorId) : null,
    ];
    for (const q of parts) {
      if (!q) continue;
      const row = (await db.raw(q.sql, q.bindings)).rows[0];
      if (!row) continue;
      const counts = countsFrom(row);
      for (const t of EVENT_TYPE_NAMES) total[t] += counts[t];
    }
    return total;
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
