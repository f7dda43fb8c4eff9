import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import {
  excludedEventsSql,
  type Exclusions,
  intArray,
  isEmpty,
  keepIncludedSql,
} from "../exclusions.js";
import type { ReportRange } from "../range.js";
import { boundsLiteral, type Counts, countsFrom, emptyCounts, RAW_TYPE_COUNTS } from "./sql.js";

/**
 * What exclusions take away from the figures the rollups give (site_quarter, zone_site_day,
 * user_day and the prefix sums count every stored event): read from the raw events the
 * exclusions cover, so the cost follows the excluded activity, and is nothing without
 * exclusions. Site-wide, or for one person (then only excluded spaces can take anything away).
 */

/**
 * Per local day (by date): the excluded events, and the people who were active that day only
 * through excluded events (an excluded person always; someone else when none of their events
 * that day is left: one index probe per person and day, which stops at the first event left).
 */
export async function excludedPerDay(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  ex: Exclusions,
  actorId: number | null = null,
): Promise<Map<string, { events: number; users: number }>> {
  const result = new Map<string, { events: number; users: number }>();
  if (isEmpty(ex)) return result;
  const bounds = boundsLiteral(range);
  const hit = excludedEventsSql(ex, tenantId, range, actorId);
  const keepE = keepIncludedSql(ex, "e.");
  const rows = (
    await db.raw(
      `WITH x AS (
         SELECT width_bucket(occurred_at, ?::timestamptz[]) AS i, actor_id, count(*)::int AS n
         FROM ${hit.sql} hit
         GROUP BY 1, 2
       )
       SELECT x.i, sum(x.n)::int AS events,
              count(*) FILTER (WHERE x.actor_id = ANY(?::int[]) OR NOT EXISTS (
                SELECT 1 FROM event e
                WHERE e.tenant_id = ? AND e.actor_id = x.actor_id
                  AND e.occurred_at >= (?::timestamptz[])[x.i]
                  AND e.occurred_at < (?::timestamptz[])[x.i + 1]
                  ${keepE.sql}
              ))::int AS users
       FROM x GROUP BY x.i`,
      [bounds, ...hit.bindings, intArray(ex.actorIds), tenantId, bounds, bounds, ...keepE.bindings],
    )
  ).rows as { i: number; events: number; users: number }[];
  for (const r of rows) {
    const day = range.days[Number(r.i) - 1];
    if (day) result.set(day.date, { events: Number(r.events), users: Number(r.users) });
  }
  return result;
}

/** The excluded events of the range, per type (site-wide or one person's). */
export async function excludedCounts(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  ex: Exclusions,
  actorId: number | null = null,
): Promise<Counts> {
  if (isEmpty(ex)) return emptyCounts();
  const hit = excludedEventsSql(ex, tenantId, range, actorId);
  const row = (await db.raw(`SELECT ${RAW_TYPE_COUNTS} FROM ${hit.sql} hit`, hit.bindings)).rows[0];
  return row ? countsFrom(row) : emptyCounts();
}
