import type { Db } from "../../db/knex.js";
import type { ReportRange } from "../range.js";
import { boundsLiteral, MASKS_CTE, masksJson, overlappingUtcDays, ZERO_MASK } from "./sql.js";

export interface CalendarDay {
  date: string;
  events: number;
  users: number;
}

/** Whole site, one space, one user, or one user in one space. */
export interface Scope {
  spaceId: number | null;
  actorId: number | null;
}

/**
 * Events and distinct active users per local day of the range, one entry per day (zeros
 * included). Site-wide: events from site_quarter, users from user_day's quarter bits, both
 * exact in any zone. For a space or a user: raw events, bucketed by the local days' starts.
 */
export async function getCalendar(
  db: Db,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
): Promise<CalendarDay[]> {
  const bounds = boundsLiteral(range);
  const start = range.start.toISOString();
  const end = range.end.toISOString();
  let sql: string;
  let bindings: (string | number)[];
  if (scope.spaceId === null && scope.actorId === null) {
    const { first, last } = overlappingUtcDays(range);
    sql = `WITH ${MASKS_CTE},
      ev AS (
        SELECT width_bucket(bucket, ?::timestamptz[]) AS i, sum(events)::int AS events
        FROM site_quarter
        WHERE tenant_id = ? AND bucket >= ? AND bucket < ?
        GROUP BY 1
      ),
      us AS (
        SELECT m.local_day::text AS local_day, count(DISTINCT u.actor_id)::int AS users
        FROM user_day u JOIN masks m ON u.day = m.utc_day
        WHERE u.tenant_id = ? AND u.day >= ?::date AND u.day <= ?::date
          AND (u.quarters & m.mask) <> ?::bit(96)
        GROUP BY 1
      )
      SELECT (SELECT coalesce(json_agg(ev), '[]'::json) FROM ev) AS events,
             (SELECT coalesce(json_agg(us), '[]'::json) FROM us) AS users`;
    bindings = [masksJson(range), bounds, tenantId, start, end, tenantId, first, last, ZERO_MASK];
    const row = (await db.raw(sql, bindings)).rows[0] as {
      events: { i: number; events: number }[];
      users: { local_day: string; users: number }[];
    };
    const events = new Map(row.events.map((e) => [e.i, e.events]));
    const users = new Map(row.users.map((u) => [u.local_day, u.users]));
    return range.days.map((d, i) => ({
      date: d.date,
      events: events.get(i + 1) ?? 0,
      users: users.get(d.date) ?? 0,
    }));
  }

  const filters: string[] = [];
  bindings = [bounds, tenantId, start, end];
  if (scope.spaceId !== null) {
    filters.push("AND space_id = ?");
    bindings.push(scope.spaceId);
  }
  if (scope.actorId !== null) {
    filters.push("AND actor_id = ?");
    bindings.push(scope.actorId);
  }
  sql = `SELECT width_bucket(occurred_at, ?::timestamptz[]) AS i, count(*)::int AS events,
           count(DISTINCT actor_id)::int AS users
         FROM event
         WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${filters.join(" ")}
         GROUP BY 1`;
  const rows = (await db.raw(sql, bindings)).rows as { i: number; events: number; users: number }[];
  const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
  return range.days.map((d, i) => {
    const r = byIndex.get(i + 1);
    return { date: d.date, events: r?.events ?? 0, users: r?.users ?? 0 };
  });
}
