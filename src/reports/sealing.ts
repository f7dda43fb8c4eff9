import type { Knex } from "knex";
import { LRUCache } from "lru-cache";
import type { Db } from "../db/knex.js";
import { type Periodic, startPeriodic } from "../jobs/periodic.js";
import type { Logger } from "../log.js";
import {
  boundsLiteral,
  COUNT_COLUMNS,
  DAY_SLOTS,
  RAW_TYPE_COUNTS,
  TOTAL_EXPR,
} from "./queries/sql.js";
import {
  addDays,
  buildRange,
  dateOfDay,
  dayNumber,
  daysBetween,
  localDate,
  localDayStart,
  MAX_DAY_LOOP,
  type ReportRange,
} from "./range.js";

/**
 * Sealing: for each zone a site's viewers use, the per-person sums of local weeks are computed
 * once into zone_user_period (per person active in the week: counts by type and active local
 * days), and the site-wide figures of local days into zone_site_day (active users and events).
 * Recent weeks are day-resolved: their rows also carry running totals day by day (`cum`), so a
 * range may start or end inside them; the current week is sealed day by day the same way, up
 * to the last local day that is over. Weeks older than COMPACT_AFTER_WEEKS are merged four by
 * four into blocks without `cum` (old history is sealed as blocks at once). A report over a
 * range reads slices and sums of the sealed periods, and only the days outside them (today,
 * and the part of an old block a range starts in) from the live rollups.
 * A week's rows, and a block's rows of people with at least DAY_TOTALS_MIN_EVENTS events in it,
 * also carry the person's events per local day (`day_events`): one person's calendar reads
 * them instead of their raw events (which a light block's few stay read from).
 * Storage follows activity: a row per person and period in which the person did something,
 * in at most MAX_ZONES_PER_SITE zones used in the last UNUSED_ZONE_DAYS days (others are dropped).
 *
 * Consistency: the sealer takes a per-tenant advisory lock exclusively; every ingestion
 * batch takes it shared, and a batch holding an event for an already sealed day unseals
 * from that day's period on (the sealer then redoes those periods). So a sealed period never
 * misses an event.
 */
export const SEAL_GRACE_MS = 60 * 60 * 1000;
export const MAX_ZONES_PER_SITE = 8;
/** A zone no viewer used for this long is no longer sealed, and its sealed rows are dropped. */
export const UNUSED_ZONE_DAYS = 30;
/** Weeks one sealer run seals per zone, at most (the following runs go on from there). */
export const MAX_SEAL_WEEKS_PER_RUN = Math.ceil(MAX_DAY_LOOP / 7);
/** Sealed weeks stay single this long, then are merged into four-week blocks. */
export const COMPACT_AFTER_WEEKS = 12;
/**
 * Weeks stay day-resolved (running totals by day) this long: a range of up to a month, the
 * usual one, then starts and ends inside sealed periods.
 */
export const RESOLVED_WEEKS = 6;
const BLOCK_WEEKS = 4;
/**
 * A block's row keeps the person's events per day from this many events in the block: the
 * busiest people's calendars then read a row per period, not their raw events (117 k a year
 * for the heaviest on bench:reports' site), and a light block costs fewer raw events than this.
 */
export const DAY_TOTALS_MIN_EVENTS = 200;
const LOCK_NAMESPACE = 8_734_211;

export interface SealedPeriod {
  first: string;
  last: string;
  /** Its rows carry running totals day by day (`cum`): a range may start or end inside it. */
  resolved: boolean;
}

export interface ZoneState {
  id: number;
  zone: string;
  sealedThrough: string | null;
  /** Site-wide days (zone_site_day) are sealed day by day, up to and including this one. */
  siteSealedThrough: string | null;
  /** The zone's sealed periods, consecutive, oldest first. */
  periods: SealedPeriod[];
}

/** A per-database set of keys remembered for `ttlMs` (databases differ in tests and tools). */
function rememberedPerDb(ttlMs: number): (db: Db) => LRUCache<string, true> {
  const byDb = new WeakMap<Db, LRUCache<string, true>>();
  return (db) => {
    let keys = byDb.get(db);
    if (!keys) {
      keys = new LRUCache<string, true>({ max: 10_000, ttl: ttlMs });
      byDb.set(db, keys);
    }
    return keys;
  };
}

/** Zones this process marked as used lately: a report then writes nothing. */
const registered = rememberedPerDb(10 * 60 * 1000);

/**
 * Marks a zone as used by a tenant's viewers, so the sealer keeps it up to date. The mark is
 * refreshed at most hourly in the database, and written at most every ten minutes per process
 * (a row lock is a write: on every report it cost up to 8 ms).
 */
export async function registerZone(db: Db, tenantId: number, zone: string): Promise<void> {
  const marks = registered(db);
  const key = `${tenantId}\u0000${zone}`;
  if (marks.has(key)) return;
  await db.raw(
    `INSERT INTO report_zone (tenant_id, zone) VALUES (?, ?)
     ON CONFLICT (tenant_id, zone) DO UPDATE SET last_used_at = now()
     WHERE report_zone.last_used_at < now() - interval '1 hour'`,
    [tenantId, zone],
  );
  marks.set(key, true);
}

/** The zone's sealing watermark and periods (null: not registered). */
export async function readZone(
  db: Db | Knex.Transaction,
  tenantId: number,
  zone: string,
): Promise<ZoneState | null> {
  // One round trip: the watermark and the periods (as JSON, in order).
  const found = (
    await db.raw(
      `SELECT z.id, z.sealed_through::text AS sealed_through, z.site_sealed_through::text AS site,
         (SELECT coalesce(json_agg(json_build_object('first', p.first_day::text,
                   'last', p.last_day::text, 'resolved', p.resolved) ORDER BY p.first_day), '[]')
          FROM zone_period p WHERE p.tenant_id = z.tenant_id AND p.zone_id = z.id) AS periods
       FROM report_zone z WHERE z.tenant_id = ? AND z.zone = ?`,
      [tenantId, zone],
    )
  ).rows[0] as
    | {
        id: number;
        sealed_through: string | null;
        site: string | null;
        periods: SealedPeriod[];
      }
    | undefined;
  if (!found) return null;
  const id = Number(found.id);
  return {
    id,
    zone,
    sealedThrough: found.sealed_through,
    siteSealedThrough: found.site,
    periods: found.periods,
  };
}

/**
 * A range's sealed part and its live parts. The sealed part runs from `from` to `to`
 * (inclusive): the sums of the periods wholly inside it (`whole`: their first days), and slices
 * of the day-resolved periods it starts or ends inside (`slices`: a period's first day and the
 * slots, 0-based, of the part's first and last day in it). The live parts are the days before
 * and after it, read from the rollups (0, 1 or 2 ranges: usually today, and the part of an old
 * block a range starts in).
 */
export interface SealedPart {
  zoneId: number;
  from: string;
  to: string;
  whole: { first: string; last: string } | null;
  slices: { first: string; lo: number; hi: number }[];
}

export interface SplitRange {
  sealed: SealedPart | null;
  live: ReportRange[];
}

export function splitRange(range: ReportRange, zone: ZoneState | null): SplitRange {
  const through = zone?.sealedThrough ?? null;
  const periods = (zone?.periods ?? []).filter((p) => through !== null && p.last <= through);
  const holding = (day: string) => periods.find((p) => p.first <= day && day <= p.last);
  // Start: inside a day-resolved period (or on a period's first day), else the next period.
  const atFrom = holding(range.from);
  const from =
    atFrom && (atFrom.resolved || atFrom.first === range.from)
      ? range.from
      : (periods.find((p) => p.first > range.from)?.first ?? null);
  // End: inside a day-resolved period (or on a period's last day), else the previous period.
  const atTo = holding(range.to);
  const to =
    atTo && (atTo.resolved || atTo.last === range.to)
      ? range.to
      : ([...periods].reverse().find((p) => p.last < range.to)?.last ?? null);
  if (!zone || from === null || to === null || from > to) return { sealed: null, live: [range] };
  const inside = periods.filter((p) => p.last >= from && p.first <= to);
  const whole = inside.filter((p) => p.first >= from && p.last <= to);
  const slices = inside
    .filter((p) => p.first < from || p.last > to)
    .map((p) => ({
      first: p.first,
      lo: Math.max(0, daysBetween(p.first, from)),
      hi: Math.min(daysBetween(p.first, p.last), daysBetween(p.first, to)),
    }));
  const firstWhole = whole[0];
  const lastWhole = whole[whole.length - 1];
  const live: ReportRange[] = [];
  if (range.from < from) live.push(buildRange(range.from, addDays(from, -1), range.tz));
  if (to < range.to) live.push(buildRange(addDays(to, 1), range.to, range.tz));
  return {
    sealed: {
      zoneId: zone.id,
      from,
      to,
      whole: firstWhole && lastWhole ? { first: firstWhole.first, last: lastWhole.first } : null,
      slices,
    },
    live,
  };
}

/**
 * A range's site-wide days: those sealed (from zone_site_day, day by day) and the rest (from
 * the rollups; today, usually).
 */
export function splitSiteDays(
  range: ReportRange,
  zone: ZoneState | null,
): { sealed: { zoneId: number; from: string; to: string } | null; live: ReportRange | null } {
  const through = zone?.siteSealedThrough ?? null;
  if (!zone || through === null || range.from > through) return { sealed: null, live: range };
  const to = range.to < through ? range.to : through;
  const sealed = { zoneId: zone.id, from: range.from, to };
  if (to === range.to) return { sealed, live: null };
  return { sealed, live: buildRange(addDays(to, 1), range.to, range.tz) };
}

/** The Monday on or before a date (1970-01-05 was a Monday). */
export function weekStart(date: string): string {
  const n = dayNumber(date);
  return dateOfDay(n - ((((n - 4) % 7) + 7) % 7));
}

/** Whether a Monday starts a four-week block (blocks count from 1970-01-05). */
function startsBlock(monday: string): boolean {
  return ((dayNumber(monday) - 4) / 7) % BLOCK_WEEKS === 0;
}

/** Shared lock for ingestion batches (see above); call first in the batch's transaction. */
export async function lockTenantsShared(trx: Knex.Transaction, tenantIds: number[]): Promise<void> {
  for (const id of [...new Set(tenantIds)].sort((a, b) => a - b)) {
    await trx.raw("SELECT pg_advisory_xact_lock_shared(?, ?)", [LOCK_NAMESPACE, id]);
  }
}

/**
 * In an ingestion batch: for every sealed zone of these tenants whose sealed days hold one of
 * the batch's events, forget the sealed periods from the one holding that event's local day on.
 */
export async function unsealForLateEvents(
  trx: Knex.Transaction,
  earliestByTenant: Map<number, Date>,
): Promise<void> {
  if (earliestByTenant.size === 0) return;
  const zones = (
    await trx.raw(
      `SELECT tenant_id, id, zone, sealed_until, site_sealed_through::text AS site
       FROM report_zone
       WHERE tenant_id = ANY(?::int[])
         AND (sealed_until IS NOT NULL OR site_sealed_through IS NOT NULL)`,
      [`{${[...earliestByTenant.keys()].join(",")}}`],
    )
  ).rows as {
    tenant_id: number;
    id: number;
    zone: string;
    sealed_until: string | Date | null;
    site: string | null;
  }[];
  for (const z of zones) {
    const earliest = earliestByTenant.get(Number(z.tenant_id));
    if (!earliest) continue;
    const day = localDate(earliest, z.zone);
    if (z.site !== null && day <= z.site) {
      await trx.raw(
        "DELETE FROM zone_site_day WHERE tenant_id = ? AND zone_id = ? AND local_day >= ?::date",
        [z.tenant_id, z.id, day],
      );
      await trx.raw(
        "UPDATE report_zone SET site_sealed_through = ?::date WHERE tenant_id = ? AND id = ?",
        [addDays(day, -1), z.tenant_id, z.id],
      );
    }
    if (z.sealed_until !== null && earliest.getTime() < new Date(z.sealed_until).getTime()) {
      await forgetFrom(trx, Number(z.tenant_id), Number(z.id), day);
    }
  }
}

/** Forgets a zone's sealed periods from the one holding `day` on (all, if none holds it). */
async function forgetFrom(
  trx: Knex.Transaction,
  tenantId: number,
  zoneId: number,
  day: string,
): Promise<void> {
  const holding = (
    await trx.raw(
      `SELECT first_day::text AS first FROM zone_period
       WHERE tenant_id = ? AND zone_id = ? AND first_day <= ?::date AND last_day >= ?::date`,
      [tenantId, zoneId, day, day],
    )
  ).rows[0] as { first: string } | undefined;
  // An event before every sealed period: the zone is sealed again from its first event.
  const from = holding?.first ?? "1900-01-01";
  for (const table of ["zone_user_period", "zone_period"]) {
    await trx.raw(
      `DELETE FROM ${table} WHERE tenant_id = ? AND zone_id = ? AND first_day >= ?::date`,
      [tenantId, zoneId, from],
    );
  }
  const left = (
    await trx.raw(
      "SELECT max(last_day)::text AS last FROM zone_period WHERE tenant_id = ? AND zone_id = ?",
      [tenantId, zoneId],
    )
  ).rows[0] as { last: string | null } | undefined;
  const last = left?.last ?? null;
  await trx.raw(
    "UPDATE report_zone SET sealed_through = ?::date, sealed_until = ? WHERE tenant_id = ? AND id = ?",
    [
      last,
      last === null
        ? null
        : localDayStart(addDays(last, 1), await zoneName(trx, tenantId, zoneId)).toISOString(),
      tenantId,
      zoneId,
    ],
  );
}

async function zoneName(
  db: Db | Knex.Transaction,
  tenantId: number,
  zoneId: number,
): Promise<string> {
  const row = (
    await db.raw("SELECT zone FROM report_zone WHERE tenant_id = ? AND id = ?", [tenantId, zoneId])
  ).rows[0] as { zone: string } | undefined;
  if (!row) throw new Error(`no report zone ${zoneId} for tenant ${tenantId}`);
  return row.zone;
}

/**
 * The first local day a watermark has not sealed yet: the day after it, or, for a zone never
 * sealed, the day of the site's oldest stored event. Null: no such zone, or no event yet.
 * Locks the zone's row (call in the sealing transaction).
 */
async function nextDayToSeal(
  trx: Knex.Transaction,
  tenantId: number,
  zone: { id: number; zone: string },
  watermark: "sealed_through" | "site_sealed_through",
): Promise<string | null> {
  const state = (
    await trx.raw(
      `SELECT ${watermark}::text AS through FROM report_zone WHERE tenant_id = ? AND id = ? FOR UPDATE`,
      [tenantId, zone.id],
    )
  ).rows[0] as { through: string | null } | undefined;
  if (!state) return null;
  if (state.through) return addDays(state.through, 1);
  const found = (
    await trx.raw("SELECT min(occurred_at) AS first FROM event WHERE tenant_id = ?", [tenantId])
  ).rows[0] as { first: string | Date | null } | undefined;
  return found?.first ? localDate(new Date(found.first), zone.zone) : null;
}

/**
 * The running totals of a day-resolved period, per person: for each count column and then for
 * active days, DAY_SLOTS values (the sum over the period's first 1, 2, ... days), from a
 * per-day table `per_day (actor_id, d, n_view, ...)` with d = 0 for the first day.
 */
const CUM_ARRAY = `ARRAY[${[
  ...COUNT_COLUMNS.flatMap((c) =>
    Array.from(
      { length: DAY_SLOTS },
      (_, k) => `coalesce(sum(${c}) FILTER (WHERE d <= ${k}), 0)::int`,
    ),
  ),
  ...Array.from({ length: DAY_SLOTS }, (_, k) => `(count(*) FILTER (WHERE d <= ${k}))::int`),
].join(", ")}]`;

/**
 * Writes one period's per-person rows (a week or a block, or the days of the current week
 * sealed so far: `first..last`), with running totals day by day when `resolved`.
 */
async function writePeriod(
  trx: Knex.Transaction,
  tenantId: number,
  zone: { id: number; zone: string },
  first: string,
  last: string,
  resolved: boolean,
  dayTotalsMin: number,
): Promise<Date> {
  const days = buildRange(first, last, zone.zone);
  const bounds = boundsLiteral(days);
  const window = [tenantId, days.start.toISOString(), days.end.toISOString()];
  const columns = `tenant_id, zone_id, first_day, actor_id, ${COUNT_COLUMNS.join(", ")}, active_days`;
  // Events per local day (a week's 7, or a block's 28): always for a week, which a block is
  // later merged from; for a block, only for the people busy enough to be worth it.
  const week = daysBetween(first, last) < 7;
  const slots = week ? DAY_SLOTS : BLOCK_WEEKS * 7;
  const dayEvents = `CASE WHEN ${week ? "true" : `sum(${TOTAL_EXPR}) >= ?`} THEN ARRAY[${Array.from(
    { length: slots },
    (_, k) => `coalesce(sum(${TOTAL_EXPR}) FILTER (WHERE d = ${k}), 0)::int`,
  ).join(", ")}] END`;
  const dayEventsBindings = week ? [] : [dayTotalsMin];
  // Per person and local day (d = 0 for the first), then per person. Written in the primary
  // key's order (first_day, actor_id): a report reads a period's rows by that index, and rows
  // stored in hash order cost it a heap page per row (a week's 5,000 rows: 5,010 pages read,
  // against about 300 in order).
  await trx.raw(
    `INSERT INTO zone_user_period (${columns}, day_events${resolved ? ", cum" : ""})
     SELECT ?, ?, ?::date, actor_id, ${COUNT_COLUMNS.map((c) => `sum(${c})::int`).join(", ")},
       count(*)::smallint, ${dayEvents}${resolved ? `, ${CUM_ARRAY}` : ""}
     FROM (
       SELECT actor_id, width_bucket(occurred_at, ?::timestamptz[]) - 1 AS d, ${RAW_TYPE_COUNTS}
       FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
       GROUP BY 1, 2
     ) per_day
     GROUP BY actor_id
     ORDER BY actor_id`,
    [tenantId, zone.id, first, ...dayEventsBindings, bounds, ...window],
  );
  await trx.raw(
    `INSERT INTO zone_period (tenant_id, zone_id, first_day, last_day, resolved)
     VALUES (?, ?, ?::date, ?::date, ?)`,
    [tenantId, zone.id, first, last, resolved],
  );
  return days.end;
}

/** The last local day of `first..last` that ended more than SEAL_GRACE_MS before `now`. */
function lastDayOver(first: string, last: string, zone: string, now: Date): string | null {
  let over: string | null = null;
  for (let day = first; day <= last; day = addDays(day, 1)) {
    if (localDayStart(addDays(day, 1), zone).getTime() > now.getTime() - SEAL_GRACE_MS) break;
    over = day;
  }
  return over;
}

/**
 * Seals more of one zone's per-person history, one period per short transaction, up to
 * `maxSteps` (at most MAX_SEAL_WEEKS_PER_RUN) periods: an old four-week block at once, an old
 * week, or a recent week day-resolved up to its last day that is over (the current week is
 * sealed again from its Monday each time a day of it is over). Returns the days sealed.
 */
export async function sealZone(
  db: Db,
  tenantId: number,
  zone: { id: number; zone: string },
  now: Date = new Date(),
  maxSteps = 8,
  compactAfterWeeks = COMPACT_AFTER_WEEKS,
  dayTotalsMin = DAY_TOTALS_MIN_EVENTS,
): Promise<number> {
  const limit = Math.min(maxSteps, MAX_SEAL_WEEKS_PER_RUN);
  const today = localDate(now, zone.zone);
  const oldAfter = compactAfterWeeks * 7;
  let sealedDays = 0;
  for (let step = 0; step < limit; step++) {
    const days = await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
      const next = await nextDayToSeal(trx, tenantId, zone, "sealed_through");
      if (next === null) return 0;
      const monday = weekStart(next);
      const blockLast = addDays(monday, BLOCK_WEEKS * 7 - 1);
      let last: string | null;
      let resolved: boolean;
      const sunday = addDays(monday, 6);
      if (
        next === monday &&
        startsBlock(monday) &&
        daysBetween(blockLast, today) >= oldAfter &&
        lastDayOver(monday, blockLast, zone.zone, now) === blockLast
      ) {
        // History compaction would merge anyway: sealed as a block at once.
        last = blockLast;
        resolved = false;
      } else {
        last = lastDayOver(monday, sunday, zone.zone, now);
        resolved = daysBetween(sunday, today) < Math.min(RESOLVED_WEEKS, compactAfterWeeks) * 7;
      }
      if (last === null || last < next) return 0;
      // The current week's days sealed so far are sealed again with the new ones.
      for (const table of ["zone_user_period", "zone_period"]) {
        await trx.raw(
          `DELETE FROM ${table} WHERE tenant_id = ? AND zone_id = ? AND first_day = ?::date`,
          [tenantId, zone.id, monday],
        );
      }
      const end = await writePeriod(trx, tenantId, zone, monday, last, resolved, dayTotalsMin);
      await trx.raw(
        "UPDATE report_zone SET sealed_through = ?::date, sealed_until = ? WHERE tenant_id = ? AND id = ?",
        [last, end.toISOString(), tenantId, zone.id],
      );
      return daysBetween(next, last) + 1;
    });
    if (days === 0) break;
    sealedDays += days;
    if (sealedDays >= MAX_DAY_LOOP) break; // the next run goes on from there
  }
  return sealedDays;
}

/** Site-wide days one sealer step seals (in one statement). */
const SITE_DAYS_PER_STEP = 31;

/**
 * Seals the zone's site-wide days that are over (events and active users per local day, into
 * zone_site_day), up to MAX_DAY_LOOP days a run, SITE_DAYS_PER_STEP per transaction.
 * Returns the days sealed.
 */
export async function sealSiteDays(
  db: Db,
  tenantId: number,
  zone: { id: number; zone: string },
  now: Date = new Date(),
): Promise<number> {
  let sealed = 0;
  while (sealed < MAX_DAY_LOOP) {
    const days = await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
      const first = await nextDayToSeal(trx, tenantId, zone, "site_sealed_through");
      if (first === null) return 0;
      const last = lastDayOver(first, addDays(first, SITE_DAYS_PER_STEP - 1), zone.zone, now);
      if (last === null) return 0;
      const days = buildRange(first, last, zone.zone);
      await trx.raw(
        `INSERT INTO zone_site_day (tenant_id, zone_id, local_day, users, events)
         SELECT ?, ?, ?::date + (width_bucket(occurred_at, ?::timestamptz[]) - 1),
           count(DISTINCT actor_id)::int, count(*)::int
         FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
         GROUP BY 3`,
        [
          tenantId,
          zone.id,
          first,
          boundsLiteral(days),
          tenantId,
          days.start.toISOString(),
          days.end.toISOString(),
        ],
      );
      await trx.raw(
        "UPDATE report_zone SET site_sealed_through = ?::date WHERE tenant_id = ? AND id = ?",
        [last, tenantId, zone.id],
      );
      return daysBetween(first, last) + 1;
    });
    if (days === 0) break;
    sealed += days;
  }
  return sealed;
}

/**
 * Merges a zone's sealed weeks that ended more than `afterWeeks` weeks before its watermark
 * into four-week blocks (aligned, complete blocks only), one block per transaction: the sums
 * of a block are the sums of its weeks, so figures do not change. Returns the blocks made.
 */
export async function compactZone(
  db: Db,
  tenantId: number,
  zoneId: number,
  afterWeeks = COMPACT_AFTER_WEEKS,
  dayTotalsMin = DAY_TOTALS_MIN_EVENTS,
): Promise<number> {
  let made = 0;
  for (let step = 0; step < MAX_SEAL_WEEKS_PER_RUN; step++) {
    const done = await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
      const rows = (
        await trx.raw(
          `SELECT p.first_day::text AS first, p.last_day::text AS last, z.sealed_through::text AS through
           FROM zone_period p JOIN report_zone z ON z.tenant_id = p.tenant_id AND z.id = p.zone_id
           WHERE p.tenant_id = ? AND p.zone_id = ? AND p.last_day - p.first_day = 6
           ORDER BY p.first_day`,
          [tenantId, zoneId],
        )
      ).rows as { first: string; last: string; through: string }[];
      for (let i = 0; i + BLOCK_WEEKS <= rows.length; i++) {
        const a = rows[i] as (typeof rows)[number];
        const b = rows[i + BLOCK_WEEKS - 1] as (typeof rows)[number];
        if (!startsBlock(a.first) || daysBetween(a.first, b.last) !== BLOCK_WEEKS * 7 - 1) continue;
        if (daysBetween(b.last, a.through) < afterWeeks * 7) return true;
        const sums = COUNT_COLUMNS.map((c) => `sum(${c})::int`).join(", ");
        // The block's events per day: its weeks' (a week without a row: none), for the people
        // busy enough (DAY_TOTALS_MIN_EVENTS).
        const weeks = Array.from({ length: BLOCK_WEEKS }, (_, k) => addDays(a.first, 7 * k));
        const dayEvents = `CASE WHEN sum(${TOTAL_EXPR}) >= ? AND bool_and(day_events IS NOT NULL)
          THEN ${weeks
            .map(
              () =>
                `coalesce(max(CASE WHEN first_day = ?::date THEN day_events END),
                   array_fill(0, ARRAY[${DAY_SLOTS}]))`,
            )
            .join(" || ")} END`;
        await trx.raw(
          `WITH gone AS (
             DELETE FROM zone_user_period
             WHERE tenant_id = ? AND zone_id = ? AND first_day >= ?::date AND first_day <= ?::date
             RETURNING *
           )
           INSERT INTO zone_user_period (tenant_id, zone_id, first_day, actor_id,
             ${COUNT_COLUMNS.join(", ")}, active_days, day_events)
           SELECT ?, ?, ?::date, actor_id, ${sums}, sum(active_days)::smallint, ${dayEvents}
           FROM gone GROUP BY actor_id ORDER BY actor_id`,
          [tenantId, zoneId, a.first, b.last, tenantId, zoneId, a.first, dayTotalsMin, ...weeks],
        );
        await trx.raw(
          "DELETE FROM zone_period WHERE tenant_id = ? AND zone_id = ? AND first_day >= ?::date AND first_day <= ?::date",
          [tenantId, zoneId, a.first, b.last],
        );
        await trx.raw(
          "INSERT INTO zone_period (tenant_id, zone_id, first_day, last_day) VALUES (?, ?, ?::date, ?::date)",
          [tenantId, zoneId, a.first, b.last],
        );
        return false;
      }
      return true;
    });
    if (done) break;
    made++;
  }
  // Weeks older than RESOLVED_WEEKS keep their sums, not `cum` (until merged into a block).
  await db.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
    const aged = (
      await trx.raw(
        `SELECT p.first_day::text AS first FROM zone_period p
         JOIN report_zone z ON z.tenant_id = p.tenant_id AND z.id = p.zone_id
         WHERE p.tenant_id = ? AND p.zone_id = ? AND p.resolved AND p.last_day - p.first_day = 6
           AND z.sealed_through - p.last_day >= ?`,
        [tenantId, zoneId, Math.min(RESOLVED_WEEKS, afterWeeks) * 7],
      )
    ).rows as { first: string }[];
    for (const { first } of aged) {
      await trx.raw(
        "UPDATE zone_user_period SET cum = NULL WHERE tenant_id = ? AND zone_id = ? AND first_day = ?::date",
        [tenantId, zoneId, first],
      );
      await trx.raw(
        "UPDATE zone_period SET resolved = false WHERE tenant_id = ? AND zone_id = ? AND first_day = ?::date",
        [tenantId, zoneId, first],
      );
    }
  });
  return made;
}

/** Drops the sealed rows of a zone (it is sealed again from scratch if a viewer uses it). */
async function dropZoneRows(db: Db, tenantId: number, zoneId: number): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
    for (const table of ["zone_user_period", "zone_period", "zone_site_day"]) {
      await trx.raw(`DELETE FROM ${table} WHERE tenant_id = ? AND zone_id = ?`, [tenantId, zoneId]);
    }
    await trx.raw(
      `UPDATE report_zone SET sealed_through = NULL, sealed_until = NULL, site_sealed_through = NULL
       WHERE tenant_id = ? AND id = ?`,
      [tenantId, zoneId],
    );
  });
}

/**
 * Retention: drops a site's sealed periods that end before the local day of `cutoff` (no
 * report shows a day before the retention horizon, which is later than the cutoff).
 */
export async function dropSealedBefore(db: Db, tenantId: number, cutoff: Date): Promise<void> {
  const zones = (await db.raw("SELECT id, zone FROM report_zone WHERE tenant_id = ?", [tenantId]))
    .rows as { id: number; zone: string }[];
  for (const z of zones) {
    const day = localDate(cutoff, z.zone);
    await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
      await trx.raw(
        `DELETE FROM zone_user_period WHERE tenant_id = ? AND zone_id = ? AND first_day IN (
           SELECT first_day FROM zone_period WHERE tenant_id = ? AND zone_id = ? AND last_day < ?::date
         )`,
        [tenantId, z.id, tenantId, z.id, day],
      );
      await trx.raw(
        "DELETE FROM zone_period WHERE tenant_id = ? AND zone_id = ? AND last_day < ?::date",
        [tenantId, z.id, day],
      );
      await trx.raw(
        "DELETE FROM zone_site_day WHERE tenant_id = ? AND zone_id = ? AND local_day < ?::date",
        [tenantId, z.id, day],
      );
    });
  }
}

export interface SealOptions {
  now?: Date;
  /** Weeks sealed weeks stay single before they are merged into blocks. */
  compactAfterWeeks?: number;
  /** Per-person periods are sealed for sites with at least this many rollup rows. */
  minPersonDays?: number;
  /** A block's rows keep events per day from this many events (DAY_TOTALS_MIN_EVENTS). */
  dayTotalsMin?: number;
}

/**
 * Per-person periods pay for themselves on big sites only: below this many per-person rollup
 * rows (user_day: a person's UTC day with activity), every per-person report reads the rollups
 * within its latency goal (bench:reports measures it on PGlite), and sealed rows, one per
 * person, week and zone, would take more room than the rollups themselves.
 */
export const SEAL_MIN_PERSON_DAYS = 100_000;

/** Sites found big enough: asked again after an hour (a site may shrink). */
const bigSites = rememberedPerDb(60 * 60 * 1000);

/** Whether a site has at least `min` per-person rollup rows (reads at most `min` index entries). */
async function hasPersonDays(db: Db, tenantId: number, min: number): Promise<boolean> {
  if (min <= 0) return true;
  const known = bigSites(db);
  const key = `${tenantId}\u0000${min}`;
  if (known.has(key)) return true;
  const row = (
    await db.raw(
      "SELECT count(*)::int AS n FROM (SELECT 1 FROM user_day WHERE tenant_id = ? LIMIT ?) x",
      [tenantId, min],
    )
  ).rows[0] as { n: number };
  const big = Number(row.n) >= min;
  if (big) known.set(key, true);
  return big;
}

/**
 * Seals every zone used in the last UNUSED_ZONE_DAYS days (the MAX_ZONES_PER_SITE most recently
 * used of a site), in small steps, until all are up to date or MAX_SEAL_WEEKS_PER_RUN weeks of
 * a zone are sealed (the next run goes on from there); merges old weeks into blocks; drops the
 * sealed rows of the other zones. Per-person periods only for sites with at least
 * `minPersonDays` rollup rows (SEAL_MIN_PERSON_DAYS). Safe with several app instances (the
 * advisory lock serialises them per tenant). Returns the zone-days sealed (site-wide days and
 * per-person days).
 */
export async function sealAll(db: Db, logger: Logger, opts: SealOptions = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const zones = (
    await db.raw(
      // Each zone costs a pass over the site's history and its own rows; a report in any other
      // zone is still exact, from the rollups.
      `SELECT tenant_id, id, zone,
         (sealed_through IS NOT NULL OR site_sealed_through IS NOT NULL) AS sealed,
         last_used_at > ?::timestamptz - make_interval(days => ?) AND rank <= ? AS used
       FROM (
         SELECT tenant_id, id, zone, sealed_through, site_sealed_through, last_used_at,
           row_number() OVER (PARTITION BY tenant_id ORDER BY last_used_at DESC) AS rank
         FROM report_zone
       ) z ORDER BY tenant_id, id`,
      [now.toISOString(), UNUSED_ZONE_DAYS, MAX_ZONES_PER_SITE],
    )
  ).rows as { tenant_id: number; id: number; zone: string; sealed: boolean; used: boolean }[];
  const afterWeeks = opts.compactAfterWeeks ?? COMPACT_AFTER_WEEKS;
  const big = new Map<number, boolean>();
  let total = 0;
  for (const z of zones) {
    const tenantId = Number(z.tenant_id);
    const zoneId = Number(z.id);
    if (!z.used) {
      if (z.sealed) await dropZoneRows(db, tenantId, zoneId);
      continue;
    }
    const zone = { id: zoneId, zone: z.zone };
    total += await sealSiteDays(db, tenantId, zone, now);
    if (!big.has(tenantId)) {
      big.set(
        tenantId,
        await hasPersonDays(db, tenantId, opts.minPersonDays ?? SEAL_MIN_PERSON_DAYS),
      );
    }
    // A small site's per-person periods are not sealed (any sealed before stay exact).
    if (!big.get(tenantId)) continue;
    const dayTotalsMin = opts.dayTotalsMin ?? DAY_TOTALS_MIN_EVENTS;
    total += await sealZone(
      db,
      tenantId,
      zone,
      now,
      MAX_SEAL_WEEKS_PER_RUN,
      afterWeeks,
      dayTotalsMin,
    );
    await compactZone(db, tenantId, zoneId, afterWeeks, dayTotalsMin);
  }
  if (total > 0) logger.debug({ days: total }, "sealed report days");
  return total;
}

/** Runs sealAll every `intervalMs` until stopped; one run at a time. */
export function startSealer(db: Db, logger: Logger, intervalMs = 60_000): Periodic {
  return startPeriodic("sealing", () => sealAll(db, logger), {
    intervalMs,
    firstDelayMs: 1000,
    logger,
  });
}
