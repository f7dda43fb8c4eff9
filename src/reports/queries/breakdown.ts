import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { EVENT_TYPE_NAMES, typeFromCode } from "../../events/types.js";
import type { ReportRange } from "../range.js";
import { splitRange, type ZoneState } from "../sealing.js";
import { type Exclusions, keepIncludedSql, NO_EXCLUSIONS } from "../exclusions.js";
import type { Scope } from "./calendar.js";
import { excludedCounts } from "./excluded.js";
import {
  COUNT_COLUMNS,
  type Counts,
  countsFrom,
  emptyCounts,
  RAW_TYPE_COUNTS,
  rollupCountsSql,
  sealedRowsSql,
  SUM_COUNTS,
} from "./sql.js";

/**
 * Events per type over the range, leaving out what `ex` excludes. Site-wide from site_quarter;
 * one user from the sealed periods' sums plus, for the days around them, user_day and the partial
 * days' raw events; a space (with or without a user) from raw events. Exclusions are taken
 * away from the rollups' counts (queries/excluded.ts) and filtered out of raw events.
 */
export async function getBreakdown(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
  zone: ZoneState | null = null,
  ex: Exclusions = NO_EXCLUSIONS,
): Promise<Counts> {
  if (
    (scope.actorId !== null && ex.actorIds.includes(scope.actorId)) ||
    (scope.spaceId !== null && ex.spaceIds.includes(scope.spaceId))
  ) {
    return emptyCounts();
  }
  if (scope.spaceId === null) {
    const counts = await rollupBreakdown(db, tenantId, range, scope.actorId, zone);
    const taken = await excludedCounts(db, tenantId, range, ex, scope.actorId);
    for (const t of EVENT_TYPE_NAMES) counts[t] -= taken[t];
    return counts;
  }
  return rawBreakdown(db, tenantId, range, scope.spaceId, scope.actorId, ex);
}

/** From the rollups: site-wide, or one person's (every stored event counted). */
async function rollupBreakdown(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  actorId: number | null,
  zone: ZoneState | null,
): Promise<Counts> {
  if (actorId === null) {
    const rows = (
      await db.raw(
        `SELECT type, sum(events)::int AS n FROM site_quarter
         WHERE tenant_id = ? AND bucket >= ? AND bucket < ? GROUP BY type`,
        [tenantId, range.start.toISOString(), range.end.toISOString()],
      )
    ).rows as { type: number; n: number }[];
    const counts = emptyCounts();
    for (const r of rows) counts[typeFromCode(Number(r.type))] = Number(r.n);
    return counts;
  }
  // One statement: the sealed rows and the live parts' rows, summed.
  const split = splitRange(range, zone);
  const parts = [
    ...(split.sealed ? [sealedRowsSql(tenantId, split.sealed, actorId)] : []),
    ...split.live.map((live) => rollupCountsSql(live, tenantId, actorId)),
  ];
  if (parts.length === 0) return emptyCounts();
  const row = (
    await db.raw(
      `SELECT ${SUM_COUNTS}
       FROM (${parts
         .map((q, i) => `SELECT ${COUNT_COLUMNS.join(", ")} FROM (${q.sql}) p${i}`)
         .join(" UNION ALL ")}) x`,
      parts.flatMap((q) => q.bindings),
    )
  ).rows[0] as Record<string, unknown>;
  return countsFrom(row);
}

/** A space (with or without a user): raw events, without the excluded ones. */
async function rawBreakdown(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  spaceId: number,
  actorId: number | null,
  ex: Exclusions,
): Promise<Counts> {
  const keep = keepIncludedSql(ex);
  const bindings: (string | number)[] = [
    tenantId,
    range.start.toISOString(),
    range.end.toISOString(),
    spaceId,
  ];
  let actor = "";
  if (actorId !== null) {
    actor = "AND actor_id = ?";
    bindings.push(actorId);
  }
  const row = (
    await db.raw(
      `SELECT ${RAW_TYPE_COUNTS} FROM event
       WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? AND space_id = ? ${actor}
         ${keep.sql}`,
      [...bindings, ...keep.bindings],
    )
  ).rows[0];
  return row ? countsFrom(row) : emptyCounts();
}
