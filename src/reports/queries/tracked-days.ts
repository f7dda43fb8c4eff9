import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { localDate, today } from "../range.js";
import type { CalendarDay } from "./calendar.js";

/**
 * Since when the site has been tracked: the earlier of its first install
 * (`tenant.first_installed_at`, never moved by a reinstall) and its oldest recorded
 * quarter-hour. Webhooks only start at the install, so the install is when tracking began,
 * including the quiet days before anyone did anything (the earliest event alone would miss
 * those, and would make a site look tracked for less time than it was). But a day with a
 * recorded event was observed whatever the install says (history recorded before the install,
 * such as the development data generator's, or an event stamped a little before it), so it
 * counts too. `site_quarter` keeps its counts through retention and account erasure, and its
 * primary key starts (tenant_id, bucket), so its minimum is one index probe.
 */
export async function getTrackedSince(
  db: Db | Knex.Transaction,
  tenantId: number,
): Promise<Date | null> {
  const result = await db.raw(
    `SELECT least(t.first_installed_at,
       (SELECT min(q.bucket) FROM site_quarter q WHERE q.tenant_id = t.id)) AS since
     FROM tenant t WHERE t.id = ?`,
    [tenantId],
  );
  const since = (result.rows[0] as { since: Date | string | null } | undefined)?.since;
  return since == null ? null : new Date(since);
}

export interface TrackedAverage {
  /** The first day of the range the site was tracked (in the range's zone), or null: none. */
  trackedFrom: string | null;
  /** Days of the range from trackedFrom to the range's last day or today, whichever is first. */
  trackedDays: number;
  /** Active users per day, averaged over the tracked days (null when there are none). */
  activeUsersPerDay: number | null;
}

/**
 * "Active users per day" over the days of the range the site was tracked: from the day
 * tracking began (in the range's zone) to today at the latest (days to come are not tracked
 * yet). Days before the install hold no data, and counting them would dilute the average.
 */
export function trackedAverage(
  days: CalendarDay[],
  since: Date | null,
  tz: string,
  now: Date = new Date(),
): TrackedAverage {
  const first = since === null ? null : localDate(since, tz);
  const last = today(tz, now);
  const tracked = first === null ? [] : days.filter((d) => d.date >= first && d.date <= last);
  const [head] = tracked;
  if (head === undefined) return { trackedFrom: null, trackedDays: 0, activeUsersPerDay: null };
  return {
    trackedFrom: head.date,
    trackedDays: tracked.length,
    activeUsersPerDay: tracked.reduce((sum, d) => sum + d.users, 0) / tracked.length,
  };
}
