import { LRUCache } from "lru-cache";
import { DateTime, IANAZone } from "luxon";

/**
 * A report's date range: `from..to` inclusive, as calendar days in the viewer's IANA zone,
 * turned into the instants and UTC-day pieces the SQL needs. All time-zone arithmetic happens
 * here, once, in TypeScript; the SQL only compares instants and ANDs bit masks.
 * Day boundaries come from local dates (DST days are 23 or 25 hours), never from adding 24 h.
 */
export interface ReportRange {
  from: string;
  to: string;
  tz: string;
  /** Instant where `from` starts in `tz`. */
  start: Date;
  /** Instant where the day after `to` starts in `tz` (exclusive). */
  end: Date;
  /** Every local date of the range, in order, with the instant it starts. */
  days: { date: string; start: Date }[];
  /** UTC days wholly inside [start, end): [firstFull, endFull) as YYYY-MM-DD. */
  fullUtcDays: { from: string; to: string } | null;
  /** The parts of [start, end) outside the whole UTC days (0, 1 or 2 intervals). */
  edges: { start: Date; end: Date }[];
  /**
   * For each (UTC day, local day) that overlap: the quarter-hours of that UTC day that fall in
   * that local day, as a 96-character bit string (bit 0 = 00:00-00:15 UTC).
   */
  masks: { utcDay: string; localDay: string; mask: string }[];
}

const DAY_MS = 86_400_000;
const QUARTER_MS = 900_000;
/** UTC days one local day may touch: 3 for the longest (48 h, a day repeated), and slack. */
const MAX_UTC_DAYS_PER_LOCAL_DAY = 4;

/**
 * The one window of dates a report may ask for: from EARLIEST_REPORT_DATE to
 * REPORT_YEARS_AHEAD years after today (UTC). Request parsing refuses dates outside it (400).
 */
export const EARLIEST_REPORT_DATE = "2000-01-01";
export const REPORT_YEARS_AHEAD = 1;

/** Longest range a report may cover: three years of days. */
export const MAX_RANGE_DAYS = 3 * 366;

/**
 * The most iterations any loop over days in src/reports may make, whatever its input: a
 * range's days and a few more (a streak looks one day past the range; a sealer run a few).
 */
export const MAX_DAY_LOOP = MAX_RANGE_DAYS + 7;

/**
 * The dates day arithmetic reads and writes: four-digit years, which ISO strings, luxon and
 * PostgreSQL read alike. Wider than the report window (sealing looks at the day before an
 * event's local day); anything outside it is refused with a RangeError, never wrapped.
 */
const FIRST_DAY = Date.UTC(1900, 0, 1) / DAY_MS;
const LAST_DAY = Date.UTC(9999, 11, 31) / DAY_MS;
const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a YYYY-MM-DD calendar date, or null when it is not one (in range). */
function dayNumberOrNull(date: unknown): number | null {
  if (typeof date !== "string") return null;
  const m = YMD.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1900) return null; // Date.UTC would read years 0-99 as 1900-1999
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    return null;
  }
  const n = ms / DAY_MS;
  return n >= FIRST_DAY && n <= LAST_DAY ? n : null;
}

/** Whether `date` is a real calendar date written YYYY-MM-DD (years 1900 to 9999). */
export function isCalendarDate(date: unknown): date is string {
  return dayNumberOrNull(date) !== null;
}

/** Days since 1970-01-01; throws a RangeError for anything but a YYYY-MM-DD calendar date. */
export function dayNumber(date: string): number {
  const n = dayNumberOrNull(date);
  if (n === null)
    throw new RangeError(`not a calendar date as YYYY-MM-DD: ${JSON.stringify(date)}`);
  return n;
}

/** The YYYY-MM-DD date of a day number; throws a RangeError outside years 1900 to 9999. */
export function dateOfDay(n: number): string {
  if (!Number.isSafeInteger(n) || n < FIRST_DAY || n > LAST_DAY) {
    throw new RangeError(`day ${n} is outside the years 1900 to 9999`);
  }
  return isoDay(n * DAY_MS);
}

/** `date` plus `n` days (n a whole number); throws a RangeError rather than leave YYYY-MM-DD. */
export function addDays(date: string, n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a whole number of days: ${n}`);
  return dateOfDay(dayNumber(date) + n);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** The last date a report may ask for: REPORT_YEARS_AHEAD years after today (UTC). */
export function latestReportDate(now: Date = new Date()): string {
  return DateTime.fromJSDate(now, { zone: "UTC" })
    .startOf("day")
    .plus({ years: REPORT_YEARS_AHEAD })
    .toISODate() as string;
}

/** Whether `date` is a calendar date inside the report window. */
export function inReportWindow(date: string, now: Date = new Date()): boolean {
  return isCalendarDate(date) && date >= EARLIEST_REPORT_DATE && date <= latestReportDate(now);
}

export function isValidZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

/** Start of a local calendar date in `tz` (the first instant of that date; DST-safe). */
export function localDayStart(date: string, tz: string): Date {
  dayNumber(date);
  const dt = DateTime.fromISO(date, { zone: tz }).startOf("day");
  if (!dt.isValid) throw new Error(`invalid date ${date} in ${tz}`);
  return dt.toJSDate();
}

/** The local calendar date of an instant in `tz`. */
export function localDate(instant: Date | number, tz: string): string {
  return DateTime.fromMillis(typeof instant === "number" ? instant : instant.getTime(), {
    zone: tz,
  }).toISODate() as string;
}

/**
 * Ranges built lately, by `from`, `to` and zone: a range is a pure function of the three, and
 * building one costs a time-zone lookup per day (about 6 ms for a year, on every request that
 * asks for it). Bounded by days held (about 0.5 kB each), not by entries.
 */
const built = new LRUCache<string, ReportRange>({
  maxSize: 20_000,
  sizeCalculation: (r) => r.days.length,
});

/**
 * The range's days, precomputed: `from..to` inclusive, at most MAX_RANGE_DAYS of them
 * (RangeError otherwise). Every loop below runs over this count, never over date strings.
 * The answer is shared between callers: frozen (its arrays and their entries; its Dates cannot
 * be, so never set them).
 */
export function buildRange(from: string, to: string, tz: string): ReportRange {
  const key = `${from}\u0000${to}\u0000${tz}`;
  const hit = built.get(key);
  if (hit) return hit;
  const range = computeRange(from, to, tz);
  built.set(key, range);
  return range;
}

function computeRange(from: string, to: string, tz: string): ReportRange {
  const first = dayNumber(from);
  const last = dayNumber(to);
  const count = last - first + 1;
  if (count < 1) throw new RangeError(`empty range ${from}..${to}`);
  if (count > MAX_RANGE_DAYS) {
    throw new RangeError(`range ${from}..${to} is longer than ${MAX_RANGE_DAYS} days`);
  }
  const days: { date: string; start: Date }[] = [];
  for (let i = 0; i < count; i++) {
    const date = dateOfDay(first + i);
    days.push({ date, start: localDayStart(date, tz) });
  }
  const end = localDayStart(dateOfDay(last + 1), tz);
  const start = (days[0] as { start: Date }).start;

  const s = start.getTime();
  const e = end.getTime();
  const a = Math.ceil(s / DAY_MS) * DAY_MS; // first UTC midnight at or after start
  const b = Math.floor(e / DAY_MS) * DAY_MS; // last UTC midnight at or before end
  let fullUtcDays: ReportRange["fullUtcDays"] = null;
  const edges: ReportRange["edges"] = [];
  if (a < b) {
    fullUtcDays = { from: isoDay(a), to: isoDay(b) };
    if (s < a) edges.push({ start, end: new Date(a) });
    if (b < e) edges.push({ start: new Date(b), end });
  } else {
    edges.push({ start, end });
  }

  // Each local day [s, next s) covers one, two or three UTC days; within each, a run of
  // quarter-hours. Offsets are multiples of 15 minutes, so a quarter-hour never straddles a
  // local midnight and every piece is a whole number of quarter-hours.
  const masks: ReportRange["masks"] = [];
  days.forEach((day, i) => {
    const from = day.start.getTime();
    const until = i + 1 < days.length ? (days[i + 1] as { start: Date }).start.getTime() : e;
    let u = Math.floor(from / DAY_MS) * DAY_MS;
    for (let k = 0; k < MAX_UTC_DAYS_PER_LOCAL_DAY && u < until; k++, u += DAY_MS) {
      const qa = (Math.max(from, u) - u) / QUARTER_MS;
      const qb = (Math.min(until, u + DAY_MS) - u) / QUARTER_MS;
      if (qb <= qa) continue;
      masks.push({ utcDay: isoDay(u), localDay: day.date, mask: quarterMask(qa, qb) });
    }
    if (u < until) throw new RangeError(`local day ${day.date} in ${tz} spans over 4 UTC days`);
  });
  return Object.freeze({
    from,
    to,
    tz,
    start,
    end,
    days: Object.freeze(days.map((d) => Object.freeze(d))) as ReportRange["days"],
    fullUtcDays: fullUtcDays && Object.freeze(fullUtcDays),
    edges: Object.freeze(edges.map((e) => Object.freeze(e))) as ReportRange["edges"],
    masks: Object.freeze(masks.map((m) => Object.freeze(m))) as ReportRange["masks"],
  });
}

/** 96 bits with quarter-hours [from, to) set. */
function quarterMask(from: number, to: number): string {
  return "0".repeat(from) + "1".repeat(to - from) + "0".repeat(96 - to);
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Today's local date in `tz`. */
export function today(tz: string, now: Date = new Date()): string {
  return localDate(now, tz);
}
