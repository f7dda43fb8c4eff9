import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import {
  excludedEventSql,
  type Exclusions,
  intArray,
  isEmpty,
  keepIncludedSql,
} from "../exclusions.js";
import type { ReportRange } from "../range.js";
import {
  boundsLiteral,
  type Counts,
  countsFrom,
  emptyCounts,
  MASKS_CTE,
  masksJson,
  RAW_TYPE_COUNTS,
  ZERO_MASK,
} from "./sql.js";

/**
 * What exclusions take away from the figures the rollups give (site_quarter, zone_site_day,
 * user_day and the sealed sums count every stored event): read from the raw events the
 * exclusions cover, so the cost follows the excluded activity, and is nothing without
 * exclusions. Site-wide, or for one person (then only excluded spaces can take anything away).
 */

/**
 * Per local day (by date): the excluded events, and the people who were active that day only
 * through excluded events: an excluded person always; someone else when none of their events
 * that day is left. That is settled, for most people and days, by the quarter-hours: user_day
 * knows every quarter-hour the person was active in, the excluded events give theirs, and a
 * quarter-hour of that day with activity but no excluded event holds an event that is left.
 * Only when every active quarter-hour also holds an excluded event does one index probe per
 * person and day look for an event that is left (it stops at the first).
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
  const hit = excludedEventSql(ex);
  const keepE = keepIncludedSql(ex, "e.");
  const actor = actorId === null ? "" : "AND actor_id = ?";
  const rows = (
    await db.raw(
      `WITH ${MASKS_CTE},
       x AS (
         SELECT width_bucket(occurred_at, ?::timestamptz[]) AS i, actor_id,
           (occurred_at AT TIME ZONE 'UTC')::date AS utc_day, count(*)::int AS n,
           bit_or(('1' || repeat('0', 95))::bit(96)
             >> ((floor(extract(epoch FROM occurred_at))::bigint % 86400) / 900)::int) AS xq
         FROM event
         WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${actor} AND ${hit.sql}
         GROUP BY 1, 2, 3
       ),
       pd AS (SELECT i, actor_id, sum(n)::int AS n FROM x GROUP BY 1, 2),
       seen AS (
         SELECT p.i, p.actor_id,
           bool_or((u.quarters & m.mask & ~coalesce(x.xq, ?::bit(96))) <> ?::bit(96)) AS other
         FROM pd p
         JOIN masks m ON m.local_day = ?::date + (p.i - 1)
         JOIN user_day u ON u.tenant_id = ? AND u.actor_id = p.actor_id AND u.day = m.utc_day
         LEFT JOIN x ON x.i = p.i AND x.actor_id = p.actor_id AND x.utc_day = m.utc_day
         GROUP BY 1, 2
       )
       SELECT p.i, sum(p.n)::int AS events,
              count(*) FILTER (WHERE p.actor_id = ANY(?::int[]) OR (
                NOT coalesce(s.other, false) AND NOT EXISTS (
                  SELECT 1 FROM event e
                  WHERE e.tenant_id = ? AND e.actor_id = p.actor_id
                    AND e.occurred_at >= (?::timestamptz[])[p.i]
                    AND e.occurred_at < (?::timestamptz[])[p.i + 1]
                    ${keepE.sql}
                )
              ))::int AS users
       FROM pd p LEFT JOIN seen s ON s.i = p.i AND s.actor_id = p.actor_id
       GROUP BY p.i`,
      [
        masksJson(range),
        bounds,
        tenantId,
        range.start.toISOString(),
        range.end.toISOString(),
        ...(actorId === null ? [] : [actorId]),
        ...hit.bindings,
        ZERO_MASK,
        ZERO_MASK,
        range.from,
        tenantId,
        intArray(ex.actorIds),
        tenantId,
        bounds,
        bounds,
        ...keepE.bindings,
      ],
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
  const hit = excludedEventSql(ex);
  const actor = actorId === null ? "" : "AND actor_id = ?";
  const row = (
    await db.raw(
      `SELECT ${RAW_TYPE_COUNTS} FROM event
       WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${actor} AND ${hit.sql}`,
      [
        tenantId,
        range.start.toISOString(),
        range.end.toISOString(),
        ...(actorId === null ? [] : [actorId]),
        ...hit.bindings,
      ],
    )
  ).rows[0];
  return row ? countsFrom(row) : emptyCounts();
}
