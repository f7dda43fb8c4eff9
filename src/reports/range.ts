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

export function isValidZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

/** Start of a local calendar date in `tz` (the first instant of that date; DST-safe). */
export function localDayStart(date: string, tz: string): Date {
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

export function addDays(date: string, n: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`) + n * DAY_MS;
  return new Date(ms).toISOString().slice(0, 10);
}

export function buildRange(from: string, to: string, tz: string): ReportRange {
  const days: { date: string; start: Date }[] = [];
  for (let d = from; d <= to; d = addDays(d, 1))
    days.push({ date: d, start: localDayStart(d, tz) });
  const end = localDayStart(addDays(to, 1), tz);
  const first = days[0];
  if (!first) throw new Error("empty range");
  const start = first.start;

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
    for (let u = Math.floor(from / DAY_MS) * DAY_MS; u < until; u += DAY_MS) {
      const qa = (Math.max(from, u) - u) / QUARTER_MS;
      const qb = (Math.min(until, u + DAY_MS) - u) / QUARTER_MS;
      if (qb <= qa) continue;
      masks.push({ utcDay: isoDay(u), localDay: day.date, mask: quarterMask(qa, qb) });
    }
  });
  return { from, to, tz, start, end, days, fullUtcDays, edges, masks };
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
