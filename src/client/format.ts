/**
 * Pure formatting for the report page: numbers, day counts, dates, instants, event labels,
 * error texts, and the window of dates the API accepts. No DOM: unit-tested in Node.
 */
import type { WebhookEvent } from "../events/types.js";
import type { Counts, UsersAnswer } from "./contract.js";

/**
 * The report window of src/reports/range.ts (EARLIEST_REPORT_DATE, REPORT_YEARS_AHEAD,
 * MAX_RANGE_DAYS), copied: importing range.ts would bundle luxon and lru-cache into the page.
 * test/unit/client-format.test.ts fails when they drift apart.
 */
export const EARLIEST_REPORT_DATE = "2000-01-01";
export const REPORT_YEARS_AHEAD = 1;
export const MAX_RANGE_DAYS = 3 * 366;
/** MAX_RANGE_DAYS as people say it. */
export const MAX_RANGE_YEARS = Math.floor(MAX_RANGE_DAYS / 366);

export type EventType = keyof Counts;

/** The ten activity types in the order the page lists them, with their labels. */
export const TYPES: readonly (readonly [EventType, string])[] = [
  ["view", "Views"],
  ["create", "New content"],
  ["edit", "Edits"],
  ["comment", "Comments"],
  ["like", "Likes"],
  ["attachment", "Attachments"],
  ["label", "Labels"],
  ["delete", "Deletes"],
  ["space", "Space changes"],
  ["other", "Other"],
];

// ---- Numbers and counts ----

const number = new Intl.NumberFormat();
const plural = new Intl.PluralRules("en");
const isOne = (n: number) => plural.select(n) === "one";

export function formatNumber(n: number): string {
  return number.format(n);
}

/** "1 day", "2 days", "0 days". */
export function dayCount(n: number): string {
  return `${number.format(n)} ${isOne(n) ? "day" : "days"}`;
}

/** "1 tracked day", "42 tracked days". */
export function trackedDayCount(n: number): string {
  return `${number.format(n)} tracked ${isOne(n) ? "day" : "days"}`;
}

/** "1 row", "2 rows". */
export function rowCount(n: number): string {
  return `${number.format(n)} ${n === 1 ? "row" : "rows"}`;
}

/**
 * How the listed people relate to the site's user accounts (the members of confluence-users),
 * or null when Confluence cannot say: "120 active of 135 licensed user accounts (members of
 * confluence-users) · 16 active accounts outside it". The first figure counts only listed
 * members of the group, so it never exceeds the second.
 */
export function licenceNote(
  summary: Pick<UsersAnswer["summary"], "users" | "siteUsers" | "outsideSiteUsers">,
  qualifier: string,
): string | null {
  if (summary.siteUsers == null || summary.outsideSiteUsers == null) return null;
  const inside = summary.users - summary.outsideSiteUsers;
  const q = qualifier ? `${qualifier} ` : "";
  const note = `${number.format(inside)} ${q}of ${number.format(summary.siteUsers)} licensed user accounts (members of confluence-users)`;
  const outside = summary.outsideSiteUsers;
  if (outside === 0) return note;
  return `${note} · ${number.format(outside)} ${q}${isOne(outside) ? "account" : "accounts"} outside it`;
}

// ---- Dates and instants ----

const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});
const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});
const monthFormat = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
const monthYearFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});
const instantFormats = new Map<string, Intl.DateTimeFormat>();

const utcMidnight = (iso: string) => new Date(`${iso}T00:00:00Z`);

/** A calendar date (YYYY-MM-DD) with its weekday: "Mon, Mar 2, 2026". */
export function formatDay(iso: string): string {
  return dayFormat.format(utcMidnight(iso));
}

/** A calendar date without weekday: "Jan 1, 2000". */
export function formatDate(iso: string): string {
  return dateFormat.format(utcMidnight(iso));
}

/** The short name of the month of a YYYY-MM: "Mar", or with its year "Mar 2026". */
export function formatMonth(yearMonth: string, withYear = false): string {
  return (withYear ? monthYearFormat : monthFormat).format(utcMidnight(`${yearMonth}-01`));
}

/** An instant in the viewer's zone, or "Never" for none. */
export function formatInstant(iso: string | null, tz: string): string {
  if (!iso) return "Never";
  let format = instantFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: tz,
    });
    instantFormats.set(tz, format);
  }
  return format.format(new Date(iso));
}

const DAY_MS = 86_400_000;
const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

const isoOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Whether `s` is a real calendar date written YYYY-MM-DD (so 2026-02-30 is not). */
export function isIsoDate(s: string): boolean {
  const m = YMD.exec(s);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 02-30 over to March (and years 0-99 to the 1900s): the round trip tells.
  return isoOf(ms) === s;
}

/** `iso` plus `days` days. */
export function shiftDate(iso: string, days: number): string {
  return isoOf(utcMidnight(iso).getTime() + days * DAY_MS);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((utcMidnight(to).getTime() - utcMidnight(from).getTime()) / DAY_MS);
}

/** Today's date in `tz` (UTC when the zone is unknown to the browser). */
export function localToday(tz: string, now: Date = new Date()): string {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz }).format(now);
  } catch {
    return isoOf(now.getTime());
  }
}

/**
 * The last date the API accepts: REPORT_YEARS_AHEAD years after today in UTC, the day of
 * month clamped as the server's luxon does (2024-02-29 -> 2025-02-28).
 */
export function latestReportDate(now: Date = new Date()): string {
  const year = now.getUTCFullYear() + REPORT_YEARS_AHEAD;
  const month = now.getUTCMonth();
  const lastOfMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return isoOf(Date.UTC(year, month, Math.min(now.getUTCDate(), lastOfMonth)));
}

/** `min` and `max` for the date inputs: the window the API accepts. */
export function dateBounds(now: Date = new Date()): { min: string; max: string } {
  return { min: EARLIEST_REPORT_DATE, max: latestReportDate(now) };
}

export const START_AFTER_END = "Choose a start date on or before the end date.";
export const RANGE_TOO_LONG = `Choose a range of at most ${MAX_RANGE_YEARS} years.`;
export const OUTSIDE_WINDOW = `Choose dates between ${formatDate(EARLIEST_REPORT_DATE)} and one year from today.`;

/** What is wrong with a range the API would refuse, in plain words; null when it is fine. */
export function rangeProblem(from: string, to: string, now: Date = new Date()): string | null {
  if (!isIsoDate(from) || !isIsoDate(to) || from > to) return START_AFTER_END;
  if (from < EARLIEST_REPORT_DATE || to > latestReportDate(now)) return OUTSIDE_WINDOW;
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) return RANGE_TOO_LONG;
  return null;
}

// ---- Errors ----

export const SESSION_EXPIRED = "Your session has expired. Reload the page to continue.";

/**
 * The text to show for an API error: the server's message, except where that message is
 * written for API clients (parameter names, day counts), which gets the words of the form.
 */
export function plainMessage(error: { status: number; code: string; message: string }): string {
  if (error.status === 401) return SESSION_EXPIRED;
  if (error.code === "invalid_parameter") {
    if (/range must not exceed/.test(error.message)) return RANGE_TOO_LONG;
    if (/^from must not be after to/.test(error.message)) return START_AFTER_END;
    if (/^(from|to) must be between/.test(error.message)) return OUTSIDE_WINDOW;
  }
  return error.message;
}

// ---- Recent events ----

/** A label per webhook the app records; the compiler asks for one when a webhook is added. */
const EVENT_LABELS: Record<WebhookEvent, string> = {
  page_viewed: "Viewed page",
  blog_viewed: "Viewed blog post",
  attachment_viewed: "Viewed attachment",
  search_performed: "Searched",
  page_created: "Created page",
  blog_created: "Created blog post",
  blueprint_page_created: "Created page from a template",
  content_created: "Created content",
  page_updated: "Edited page",
  blog_updated: "Edited blog post",
  content_updated: "Edited content",
  page_moved: "Moved page",
  blog_moved: "Moved blog post",
  page_copied: "Copied page",
  page_children_reordered: "Reordered child pages",
  page_restored: "Restored page",
  blog_restored: "Restored blog post",
  content_restored: "Restored content",
  content_permissions_updated: "Changed content permissions",
  page_unarchived: "Unarchived page",
  page_trashed: "Moved page to trash",
  page_removed: "Deleted page",
  page_archived: "Archived page",
  blog_trashed: "Moved blog post to trash",
  blog_removed: "Deleted blog post",
  content_trashed: "Moved content to trash",
  content_removed: "Deleted content",
  comment_created: "Commented",
  comment_updated: "Edited comment",
  comment_removed: "Deleted comment",
  like_added: "Liked",
  like_removed: "Removed like",
  like_created: "Liked",
  attachment_created: "Added attachment",
  attachment_updated: "Updated attachment",
  attachment_archived: "Archived attachment",
  attachment_unarchived: "Unarchived attachment",
  attachment_trashed: "Moved attachment to trash",
  attachment_restored: "Restored attachment",
  attachment_removed: "Deleted attachment",
  label_created: "Created label",
  label_added: "Added label",
  label_removed: "Removed label",
  label_deleted: "Deleted label",
  space_created: "Created space",
  space_updated: "Updated space",
  space_removed: "Deleted space",
  space_trashed: "Moved space to trash",
  space_logo_updated: "Changed space logo",
  space_permissions_updated: "Changed space permissions",
  user_followed: "Followed someone",
  user_reactivated: "Reactivated a user",
  user_removed: "Removed a user",
  group_created: "Created group",
  group_removed: "Removed group",
  relation_created: "Created relation",
  relation_deleted: "Deleted relation",
  theme_enabled: "Enabled theme",
  connect_addon_enabled: "Enabled app",
  connect_addon_disabled: "Disabled app",
};

function isWebhookEvent(event: string): event is WebhookEvent {
  return Object.hasOwn(EVENT_LABELS, event);
}

/** "Viewed page" for page_viewed; an event the page does not know reads as its name. */
export function eventLabel(event: string): string {
  return isWebhookEvent(event) ? EVENT_LABELS[event] : event.replaceAll("_", " ");
}

/** A recent event as one line: "Edited page: Roadmap (ENG)". */
export function recentEventText(e: {
  event: string;
  title: string | null;
  spaceKey: string | null;
}): string {
  return `${eventLabel(e.event)}${e.title ? `: ${e.title}` : ""}${e.spaceKey ? ` (${e.spaceKey})` : ""}`;
}
