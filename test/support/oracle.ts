import { DateTime } from "luxon";
import { EVENT_TYPE_NAMES, type EventType } from "../../src/events/types.js";

/**
 * The straightforward computation the reports are checked against: every event converted to
 * its local date with luxon, then counted by hand. Slow and obviously right.
 */
export interface OracleEvent {
  accountId: string;
  type: EventType;
  spaceKey: string;
  at: number;
}

export type Counts = Record<EventType, number>;

const zero = (): Counts => Object.fromEntries(EVENT_TYPE_NAMES.map((t) => [t, 0])) as Counts;
const localDay = (ms: number, tz: string) =>
  DateTime.fromMillis(ms, { zone: tz }).toISODate() as string;

export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let d = DateTime.fromISO(from, { zone: "UTC" });
    (d.toISODate() as string) <= to;
    d = d.plus({ days: 1 })
  ) {
    out.push(d.toISODate() as string);
  }
  return out;
}

export interface Query {
  from: string;
  to: string;
  tz: string;
  space?: string;
  accountId?: string;
}

function inScope(e: OracleEvent, q: Query): boolean {
  const d = localDay(e.at, q.tz);
  return (
    d >= q.from &&
    d <= q.to &&
    (!q.space || e.spaceKey === q.space) &&
    (!q.accountId || e.accountId === q.accountId)
  );
}

export function expectedUsers(events: OracleEvent[], q: Query) {
  const per = new Map<string, { counts: Counts; days: Set<string> }>();
  for (const e of events) {
    if (!inScope(e, q)) continue;
    let u = per.get(e.accountId);
    if (!u) {
      u = { counts: zero(), days: new Set() };
      per.set(e.accountId, u);
    }
    u.counts[e.type]++;
    u.days.add(localDay(e.at, q.tz));
  }
  const lastActive = (accountId: string) => {
    let last = -Infinity;
    for (const e of events) {
      if (e.accountId === accountId && (!q.space || e.spaceKey === q.space))
        last = Math.max(last, e.at);
    }
    return new Date(last).toISOString();
  };
  return [...per.entries()]
    .map(([accountId, u]) => ({
      accountId,
      counts: u.counts,
      total: Object.values(u.counts).reduce((a, b) => a + b, 0),
      activeDays: u.days.size,
      lastActive: lastActive(accountId),
    }))
    .sort((a, b) => b.counts.view - a.counts.view || (a.accountId < b.accountId ? -1 : 1));
}

export function expectedCalendar(events: OracleEvent[], q: Query) {
  const perDay = new Map<string, { events: number; users: Set<string> }>();
  for (const e of events) {
    if (!inScope(e, q)) continue;
    const d = localDay(e.at, q.tz);
    const v = perDay.get(d) ?? { events: 0, users: new Set<string>() };
    v.events++;
    v.users.add(e.accountId);
    perDay.set(d, v);
  }
  return daysOf(q.from, q.to).map((date) => ({
    date,
    events: perDay.get(date)?.events ?? 0,
    users: perDay.get(date)?.users.size ?? 0,
  }));
}

export function expectedBreakdown(events: OracleEvent[], q: Query): Counts {
  const counts = zero();
  for (const e of events) if (inScope(e, q)) counts[e.type]++;
  return counts;
}

export function expectedStreaks(
  events: OracleEvent[],
  q: Query & { accountId: string },
  today: string,
) {
  const active = new Set(events.filter((e) => inScope(e, q)).map((e) => localDay(e.at, q.tz)));
  let longest = 0;
  let run = 0;
  for (const d of daysOf(q.from, q.to)) {
    run = active.has(d) ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  // The run ending on the range's last day (the day before when that is today and today is
  // not active yet), inside the range only.
  const back = (d: string) =>
    DateTime.fromISO(d, { zone: "UTC" }).minus({ days: 1 }).toISODate() as string;
  const last = q.to > today ? today : q.to;
  let day = last === today && !active.has(today) ? back(today) : last;
  let current = 0;
  while (day >= q.from && active.has(day)) {
    current++;
    day = back(day);
  }
  return { activeDays: active.size, longestStreak: longest, currentStreak: current };
}
