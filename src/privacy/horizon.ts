import { addDays, localDate, today } from "../reports/range.js";

/**
 * The retention horizon: with a retention period of N days, a site's reports cover the last N
 * local days (today included) and nothing before, in every figure, page, API answer and export.
 * Ranges that start earlier are clamped to the horizon (and say so); a range wholly before it
 * is refused. Raw events are kept a little longer than that (RETENTION_MARGIN_DAYS), so that
 * every day a report can show still has all of its raw events in any zone (UTC-12 to UTC+14,
 * DST), and webhooks older than any day a report can show are not stored at all: figures over a
 * range never change because retention ran, a zone was added or a late event arrived.
 */
const DAY_MS = 86_400_000;

/** Extra whole days raw events are kept past the retention period (zones and DST). */
export const RETENTION_MARGIN_DAYS = 3;

/**
 * The first local date a report in `tz` may show (null: any): the retention period's first day,
 * and never a day that began before the site's history was cut (`historyFrom`, the latest
 * cutoff retention applied: what came before is gone even if the period was raised since).
 */
export function keptFrom(
  retentionDays: number | null,
  tz: string,
  now: Date = new Date(),
  historyFrom: Date | null = null,
): string | null {
  const byPeriod = retentionDays === null ? null : addDays(today(tz, now), -(retentionDays - 1));
  const byHistory = historyFrom === null ? null : addDays(localDate(historyFrom, tz), 1);
  if (byPeriod === null) return byHistory;
  if (byHistory === null) return byPeriod;
  return byPeriod > byHistory ? byPeriod : byHistory;
}

/**
 * Events that happened before this instant are not stored (no report can show their day);
 * null without a retention period and a cut history. One day later than the deletion cutoff, so that a late
 * event is never older than the raw events its day needs.
 */
export function oldestStorable(
  retentionDays: number | null,
  now: Date = new Date(),
  historyFrom: Date | null = null,
): Date | null {
  const byPeriod =
    retentionDays === null ? null : new Date(now.getTime() - (retentionDays + 1) * DAY_MS);
  if (byPeriod === null) return historyFrom;
  if (historyFrom === null) return byPeriod;
  return byPeriod > historyFrom ? byPeriod : historyFrom;
}

/** Raw events (and per-person rollups) that happened before this instant are deleted. */
export function retentionCutoff(retentionDays: number, now: Date = new Date()): Date {
  return new Date(now.getTime() - (retentionDays + RETENTION_MARGIN_DAYS) * DAY_MS);
}
