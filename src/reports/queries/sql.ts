import { EVENT_TYPE_NAMES, EVENT_TYPES, type EventType } from "../../events/types.js";
import type { ReportRange } from "../range.js";
import type { SealedPart } from "../sealing.js";

/**
 * SQL pieces shared by the report queries. Every value is bound (`?`); the only text pasted
 * into SQL comes from the fixed type table above, never from a request.
 */
export type Counts = Record<EventType, number>;

export const COUNT_COLUMNS = EVENT_TYPE_NAMES.map((t) => `n_${t}`);
export const ZERO_MASK = "0".repeat(96);

/**
 * Days of a day-resolved sealed period (a week): its rows' `cum` holds DAY_SLOTS running totals
 * per count column, then DAY_SLOTS for active days (reports/sealing.ts).
 */
export const DAY_SLOTS = 7;

/** `count(*) FILTER (WHERE type = 1)::int AS n_view, ...` over raw events. */
export const RAW_TYPE_COUNTS = EVENT_TYPE_NAMES.map(
  (t) => `count(*) FILTER (WHERE type = ${EVENT_TYPES[t]})::int AS n_${t}`,
).join(", ");

/** `sum(n_view)::int AS n_view, ...` over rows that already carry the columns. */
export const SUM_COUNTS = COUNT_COLUMNS.map((c) => `coalesce(sum(${c}), 0)::int AS ${c}`).join(
  ", ",
);

export const TOTAL_EXPR = COUNT_COLUMNS.join(" + ");

const COUNT_KEYS = EVENT_TYPE_NAMES.map((t) => [t, `n_${t}`] as const);

export function countsFrom(row: Record<string, unknown>): Counts {
  const counts = {} as Counts;
  for (const [t, column] of COUNT_KEYS) counts[t] = Number(row[column] ?? 0);
  return counts;
}

export function emptyCounts(): Counts {
  return countsFrom({});
}

/** The local days' start instants plus the range end, as a timestamptz[] literal for width_bucket. */
export function boundsLiteral(range: ReportRange): string {
  return `{${[...range.days.map((d) => d.start), range.end].map((d) => d.toISOString()).join(",")}}`;
}

/** The (UTC day, local day, quarter mask) table, as JSON for json_to_recordset. */
export function masksJson(range: ReportRange): string {
  return JSON.stringify(
    range.masks.map((m) => ({ utc_day: m.utcDay, local_day: m.localDay, mask: m.mask })),
  );
}

/**
 * The range's UTC days with the quarter-hour mask of each local day they hold. MATERIALIZED:
 * inlined, the text-to-bit cast ran once per joined user_day row instead of once per mask.
 */
export const MASKS_CTE = `masks AS MATERIALIZED (
  SELECT utc_day, local_day, mask::bit(96) AS mask
  FROM json_to_recordset(?::json) AS t(utc_day date, local_day date, mask text)
)`;

/** The UTC days that overlap the range (rows of user_day worth reading). */
export function overlappingUtcDays(range: ReportRange): { first: string; last: string } {
  const first = range.masks[0]?.utcDay ?? range.from;
  const last = range.masks[range.masks.length - 1]?.utcDay ?? range.to;
  return { first, last };
}

/** `(occurred_at >= ? AND occurred_at < ?) OR ...` for the range's partial UTC days. */
export function edgesPredicate(range: ReportRange): { sql: string; bindings: string[] } {
  const parts = range.edges.map(() => "(occurred_at >= ? AND occurred_at < ?)");
  const bindings = range.edges.flatMap((e) => [e.start.toISOString(), e.end.toISOString()]);
  return { sql: parts.length ? `(${parts.join(" OR ")})` : "false", bindings };
}

/**
 * Counts per actor by type over the range, exact in any zone: whole UTC days from `user_day`,
 * the partial days at either end from raw events. Produces columns actor_id, n_view, ...
 * Optional `actorFilter` restricts to one actor id (bound).
 */
export function rollupCountsSql(
  range: ReportRange,
  tenantId: number,
  actorId: number | null,
): { sql: string; bindings: (string | number)[] } {
  const parts: string[] = [];
  const bindings: (string | number)[] = [];
  const actorSql = actorId === null ? "" : " AND actor_id = ?";
  if (range.fullUtcDays) {
    parts.push(
      `SELECT actor_id, ${COUNT_COLUMNS.join(", ")} FROM user_day
       WHERE tenant_id = ? AND day >= ?::date AND day < ?::date${actorSql}`,
    );
    bindings.push(tenantId, range.fullUtcDays.from, range.fullUtcDays.to);
    if (actorId !== null) bindings.push(actorId);
  }
  if (range.edges.length) {
    const edges = edgesPredicate(range);
    parts.push(
      `SELECT actor_id, ${RAW_TYPE_COUNTS} FROM event
       WHERE tenant_id = ? AND ${edges.sql}${actorSql} GROUP BY actor_id`,
    );
    bindings.push(tenantId, ...edges.bindings);
    if (actorId !== null) bindings.push(actorId);
  }
  return {
    sql: `SELECT actor_id, ${SUM_COUNTS} FROM (${parts.join(" UNION ALL ")}) x GROUP BY actor_id`,
    bindings,
  };
}

/**
 * Counts per actor by type, and active local days, from the raw events of the whole range (for
 * a range no whole UTC day lies in: its rollup rows would all be edges). One local day: each
 * listed person was active on it.
 */
export function rawCountsSql(
  range: ReportRange,
  tenantId: number,
  withActiveDays: boolean,
): { sql: string; bindings: (string | number)[] } {
  const many = withActiveDays && range.days.length > 1;
  const active = !withActiveDays
    ? "0"
    : many
      ? "count(DISTINCT width_bucket(occurred_at, ?::timestamptz[]))::int"
      : "1";
  return {
    sql: `SELECT actor_id, ${RAW_TYPE_COUNTS}, ${active} AS active_days FROM event
      WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY actor_id`,
    bindings: [
      ...(many ? [boundsLiteral(range)] : []),
      tenantId,
      range.start.toISOString(),
      range.end.toISOString(),
    ],
  };
}

/** Active local days per actor from user_day's quarter-hour bits (needs MASKS_CTE). */
export function rollupActiveDaysSql(
  range: ReportRange,
  tenantId: number,
  actorId: number | null,
): { sql: string; bindings: (string | number)[] } {
  const { first, last } = overlappingUtcDays(range);
  return {
    // Distinct (person, day) pairs hashed, then counted: count(DISTINCT) sorts each person's
    // rows, and for two weeks of 5,000 people (105,000 rows) the sort spilled to disk (120 ms).
    sql: `SELECT actor_id, count(*)::int AS active_days FROM (
        SELECT DISTINCT u.actor_id, m.local_day
        FROM user_day u JOIN masks m ON u.day = m.utc_day
        WHERE u.tenant_id = ? AND u.day >= ?::date AND u.day <= ?::date
          ${actorId === null ? "" : "AND u.actor_id = ?"}
          AND (u.quarters & m.mask) <> ?::bit(96)
      ) pairs
      GROUP BY actor_id`,
    bindings: [tenantId, first, last, ...(actorId === null ? [] : [actorId]), ZERO_MASK],
  };
}

/**
 * Counts and active days over a range's sealed part (see reports/sealing.ts), as rows to sum per
 * actor: a row per person and period wholly inside it, and for a day-resolved period it starts
 * or ends in, the difference of two running totals (`cum`: DAY_SLOTS per count column, then
 * DAY_SLOTS for active days). Columns: actor_id, n_view, ..., active_days.
 */
export function sealedRowsSql(
  tenantId: number,
  sealed: SealedPart,
  actorId: number | null,
): { sql: string; bindings: (string | number)[] } {
  const actorSql = actorId === null ? "" : " AND actor_id = ?";
  const actor = actorId === null ? [] : [actorId];
  const parts: string[] = [];
  const bindings: (string | number)[] = [];
  if (sealed.whole) {
    parts.push(
      `SELECT actor_id, ${COUNT_COLUMNS.join(", ")}, active_days::int AS active_days
       FROM zone_user_period
       WHERE tenant_id = ? AND zone_id = ? AND first_day >= ?::date AND first_day <= ?::date${actorSql}`,
    );
    bindings.push(tenantId, sealed.zoneId, sealed.whole.first, sealed.whole.last, ...actor);
  }
  for (const slice of sealed.slices) {
    // Slots are whole numbers from splitRange, pasted as such (never text from a request).
    const lo = Math.trunc(slice.lo);
    const hi = Math.trunc(slice.hi);
    const value = (i: number) =>
      lo === 0
        ? `cum[${i * DAY_SLOTS + hi + 1}]`
        : `cum[${i * DAY_SLOTS + hi + 1}] - cum[${i * DAY_SLOTS + lo}]`;
    const columns = [...COUNT_COLUMNS, "active_days"].map((c, i) => `${value(i)} AS ${c}`);
    parts.push(
      `SELECT actor_id, ${columns.join(", ")}
       FROM zone_user_period
       WHERE tenant_id = ? AND zone_id = ? AND first_day = ?::date${actorSql}`,
    );
    bindings.push(tenantId, sealed.zoneId, slice.first, ...actor);
  }
  return { sql: parts.join(" UNION ALL "), bindings };
}

/** The masks of several disjoint ranges, as one JSON table for MASKS_CTE. */
export function masksJsonOf(ranges: ReportRange[]): string {
  return JSON.stringify(
    ranges.flatMap((r) =>
      r.masks.map((m) => ({ utc_day: m.utcDay, local_day: m.localDay, mask: m.mask })),
    ),
  );
}
