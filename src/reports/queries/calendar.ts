import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { daysBetween, type ReportRange } from "../range.js";
import { splitSiteDays, type ZoneState } from "../sealing.js";
import { type Exclusions, keepIncludedSql, NO_EXCLUSIONS } from "../exclusions.js";
import { excludedPerDay } from "./excluded.js";
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
 * included), leaving out what `ex` excludes. Site-wide: events from site_quarter, users from
 * user_day's quarter bits, both exact in any zone. For a space or a user: raw events, bucketed
 * by the local days' starts. Exclusions are taken away from the rollups' figures
 * (queries/excluded.ts) and filtered out of raw events.
 */
export async function getCalendar(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
  zone: ZoneState | null = null,
  ex: Exclusions = NO_EXCLUSIONS,
): Promise<CalendarDay[]> {
  if (
    (scope.actorId !== null && ex.actorIds.includes(scope.actorId)) ||
    (scope.spaceId !== null && ex.spaceIds.includes(scope.spaceId))
  ) {
    return range.days.map((d) => ({ date: d.date, events: 0, users: 0 }));
  }
  if (scope.spaceId === null) {
    const days = await rollupCalendar(db, tenantId, range, scope.actorId, zone);
    const taken = await excludedPerDay(db, tenantId, range, ex, scope.actorId);
    return days.map((d) => {
      const t = taken.get(d.date);
      return t ? { date: d.date, events: d.events - t.events, users: d.users - t.users } : d;
    });
  }
  return rawCalendar(db, tenantId, range, scope, ex);
}

/** From the rollups: site-wide, or one person's (every stored event counted). */
async function rollupCalendar(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  actorId: number | null,
  zone: ZoneState | null,
): Promise<CalendarDay[]> {
  if (actorId === null) return siteCalendar(db, tenantId, range, zone);
  return personCalendar(db, tenantId, range, actorId, zone);
}

/**
 * One person's events per local day: the sealed periods' day totals where their rows carry
 * them (a sealed period without a row of theirs: no events), their raw events for the other
 * days (which the retention horizon keeps for every day a report may show).
 */
async function personCalendar(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  actorId: number,
  zone: ZoneState | null,
): Promise<CalendarDay[]> {
  const n = range.days.length;
  /** Events per day of the range; null where the sealed rows do not tell. */
  const events: (number | null)[] = new Array<number | null>(n).fill(null);
  // The sealed periods the range overlaps (up to the watermark, as splitRange reads them).
  const through = zone?.sealedThrough ?? null;
  const periods = (zone?.periods ?? []).filter(
    (p) => through !== null && p.last <= through && p.last >= range.from && p.first <= range.to,
  );
  if (zone !== null && periods.length > 0) {
    const rows = (
      await db.raw(
        `SELECT first_day::text AS first, day_events FROM zone_user_period
         WHERE tenant_id = ? AND zone_id = ? AND actor_id = ? AND first_day = ANY(?::date[])`,
        [tenantId, zone.id, actorId, `{${periods.map((p) => p.first).join(",")}}`],
      )
    ).rows as { first: string; day_events: number[] | null }[];
    const totals = new Map(rows.map((r) => [r.first, r.day_events]));
    for (const p of periods) {
      const row = totals.get(p.first);
      if (row === null) continue; // a row without day totals: their raw events
      const offset = daysBetween(range.from, p.first);
      const first = Math.max(0, offset);
      const last = Math.min(n - 1, offset + daysBetween(p.first, p.last));
      for (let i = first; i <= last; i++)
        events[i] = row === undefined ? 0 : (row[i - offset] ?? 0);
    }
  }
  // The other days from raw events: one time interval per run of them.
  const runs: { start: Date; end: Date }[] = [];
  for (let i = 0; i < n; i++) {
    if (events[i] !== null) continue;
    let j = i;
    while (j + 1 < n && events[j + 1] === null) j++;
    const next = range.days[j + 1];
    runs.push({
      start: (range.days[i] as { start: Date }).start,
      end: next ? next.start : range.end,
    });
    i = j;
  }
  const raw =
    runs.length > 0
      ? await rawCalendar(db, tenantId, range, { spaceId: null, actorId }, NO_EXCLUSIONS, runs)
      : null;
  return range.days.map((d, i) => {
    const count = events[i] ?? raw?.[i]?.events ?? 0;
    return { date: d.date, events: count, users: count > 0 ? 1 : 0 };
  });
}

/**
 * Site-wide: sealed days from the per-day totals (sealed day by day); the days after them from site_quarter
 * (events) and user_day's quarter bits (active users), both exact in any zone.
 */
async function siteCalendar(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  zone: ZoneState | null,
): Promise<CalendarDay[]> {
  const byDay = new Map<string, CalendarDay>();
  const split = splitSiteDays(range, zone);
  if (split.sealed) {
    const sealed = (
      await db.raw(
        `SELECT local_day::text AS date, events, users FROM zone_site_day
         WHERE tenant_id = ? AND zone_id = ? AND local_day >= ?::date AND local_day <= ?::date`,
        [tenantId, split.sealed.zoneId, split.sealed.from, split.sealed.to],
      )
    ).rows as CalendarDay[];
    for (const r of sealed)
      byDay.set(r.date, { date: r.date, events: Number(r.events), users: Number(r.users) });
  }
  if (split.live) {
    const live = split.live;
    const { first, last } = overlappingUtcDays(live);
    const row = (
      await db.raw(
        `WITH ${MASKS_CTE},
         ev AS (
           SELECT width_bucket(bucket, ?::timestamptz[]) AS i, sum(events)::int AS events
           FROM site_quarter WHERE tenant_id = ? AND bucket >= ? AND bucket < ? GROUP BY 1
         ),
         us AS (
           SELECT m.local_day::text AS day, count(DISTINCT u.actor_id)::int AS users
           FROM user_day u JOIN masks m ON u.day = m.utc_day
           WHERE u.tenant_id = ? AND u.day >= ?::date AND u.day <= ?::date
             AND (u.quarters & m.mask) <> ?::bit(96)
           GROUP BY 1
         )
         SELECT (SELECT coalesce(json_agg(ev), '[]'::json) FROM ev) AS events,
                (SELECT coalesce(json_agg(us), '[]'::json) FROM us) AS users`,
        [
          masksJson(live),
          boundsLiteral(live),
          tenantId,
          live.start.toISOString(),
          live.end.toISOString(),
          tenantId,
          first,
          last,
          ZERO_MASK,
        ],
      )
    ).rows[0] as {
      events: { i: number; events: number }[];
      users: { day: string; users: number }[];
    };
    const events = new Map(row.events.map((e) => [Number(e.i), Number(e.events)]));
    const users = new Map(row.users.map((u) => [u.day, Number(u.users)]));
    live.days.forEach((d, i) => {
      byDay.set(d.date, {
        date: d.date,
        events: events.get(i + 1) ?? 0,
        users: users.get(d.date) ?? 0,
      });
    });
  }
  return range.days.map((d) => byDay.get(d.date) ?? { date: d.date, events: 0, users: 0 });
}

/** For a space and/or a user: raw events, bucketed by the local days' starts. */
async function rawCalendar(
  db: Db | Knex.Transaction,
  tenantId: number,
  range: ReportRange,
  scope: Scope,
  ex: Exclusions = NO_EXCLUSIONS,
  /** Only the events inside these intervals of the range (default: the whole range). */
  windows: { start: Date; end: Date }[] = [range],
): Promise<CalendarDay[]> {
  const keep = keepIncludedSql(ex);
  const filters: string[] = [];
  const bindings: (string | number)[] = [
    boundsLiteral(range),
    tenantId,
    ...windows.flatMap((w) => [w.start.toISOString(), w.end.toISOString()]),
  ];
  if (scope.spaceId !== null) {
    filters.push("AND space_id = ?");
    bindings.push(scope.spaceId);
  }
  if (scope.actorId !== null) {
    filters.push("AND actor_id = ?");
    bindings.push(scope.actorId);
  }
  filters.push(keep.sql);
  bindings.push(...keep.bindings);
  // One person's day has one active user: no distinct count (its sort spilled to disk for the
  // heaviest person, 117 k events a year: 79 ms against 30).
  const users = scope.actorId === null ? "count(DISTINCT actor_id)::int" : "1";
  const rows = (
    await db.raw(
      `SELECT width_bucket(occurred_at, ?::timestamptz[]) AS i, count(*)::int AS events,
         ${users} AS users
       FROM event
       WHERE tenant_id = ?
         AND (${windows.map(() => "(occurred_at >= ? AND occurred_at < ?)").join(" OR ")})
         ${filters.join(" ")}
       GROUP BY 1`,
      bindings,
    )
  ).rows as { i: number; events: number; users: number }[];
  const byIndex = new Map(rows.map((r) => [Number(r.i), r]));
  return range.days.map((d, i) => {
    const r = byIndex.get(i + 1);
    return { date: d.date, events: r?.events ?? 0, users: r?.users ?? 0 };
  });
}
