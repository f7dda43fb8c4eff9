import { DateTime } from "luxon";
import { z } from "zod";
import { CLEAN_TEXT_RULE, isCleanText, MAX_ACCOUNT_ID } from "../text/identifier.js";
import { GROUP_ID, GROUP_ID_RULE, SPACE_KEY, SPACE_KEY_RULE } from "../confluence/keys.js";
import { EVENT_TYPE_NAMES } from "../events/types.js";
import { InvalidInput } from "../errors.js";
import {
  addDays,
  buildRange,
  daysBetween,
  EARLIEST_REPORT_DATE,
  inReportWindow,
  isValidZone,
  latestReportDate,
  MAX_RANGE_DAYS,
  REPORT_YEARS_AHEAD,
  type ReportRange,
  today,
} from "./range.js";

export { MAX_RANGE_DAYS };
export const DEFAULT_RANGE_DAYS = 30;

export const USER_SORT_KEYS = [
  "name",
  "total",
  "activeDays",
  "lastActive",
  ...EVENT_TYPE_NAMES,
] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];

/** A date as YYYY-MM-DD; whether it is inside the report window is checked with the range. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((d) => DateTime.fromISO(d, { zone: "UTC" }).isValid, "is not a calendar date");

/**
 * The one schema for identifier and free-text parameters (account ids, space keys, group
 * ids, searches, zones): a string of bounded length without control characters (PostgreSQL
 * text cannot hold NUL) and without lone UTF-16 surrogates.
 */
const text = (max: number, opts: { allowEmpty?: boolean } = {}) =>
  z
    .string()
    .min(opts.allowEmpty ? 0 : 1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine(isCleanText, CLEAN_TEXT_RULE);

/** A repeated query parameter (?a=1&a=2) counts as its last value. */
const single = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), schema);

const commonShape = {
  from: single(isoDate.optional()),
  to: single(isoDate.optional()),
  tz: single(text(64).refine(isValidZone, "is not an IANA time zone").optional()),
  space: single(text(255).regex(SPACE_KEY, SPACE_KEY_RULE).optional()),
};

const common = z.object(commonShape);

const users = z.object({
  ...commonShape,
  q: single(text(200, { allowEmpty: true }).optional()),
  group: single(text(200).regex(GROUP_ID, GROUP_ID_RULE).optional()),
  sort: single(
    z.enum(USER_SORT_KEYS, { error: `must be one of ${USER_SORT_KEYS.join(", ")}` }).optional(),
  ),
  order: single(z.enum(["asc", "desc"]).optional()),
  limit: single(z.coerce.number().int().min(1).max(1000).optional()),
  offset: single(z.coerce.number().int().min(0).max(10_000_000).optional()),
  include: single(z.enum(["inactive"], { error: "must be inactive" }).optional()),
  inactiveGroup: single(text(200).regex(GROUP_ID, GROUP_ID_RULE).optional()),
});

const withAccount = z.object({
  ...commonShape,
  accountId: single(text(MAX_ACCOUNT_ID).optional()),
});

const userActivity = z.object({
  ...commonShape,
  accountId: text(MAX_ACCOUNT_ID),
});

export interface CommonParams {
  range: ReportRange;
  space: string | null;
}

export interface UsersParams extends CommonParams {
  q: string | null;
  group: string | null;
  sort: UserSortKey;
  order: "asc" | "desc";
  limit: number;
  offset: number;
  /** Also list members of `inactiveGroup` (default: confluence-users) with no event. */
  inactive: boolean;
  inactiveGroup: string | null;
}

function parse<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join(".") || "query";
    throw new InvalidInput("invalid_parameter", `${field} ${issue?.message ?? "is invalid"}`);
  }
  return result.data;
}

/**
 * The range of a request: dates inside the report window (EARLIEST_REPORT_DATE to a year
 * after today), `from` not after `to`, at most MAX_RANGE_DAYS days. Otherwise 400.
 */
function toRange(p: z.infer<typeof common>, now: Date): ReportRange {
  const tz = p.tz ?? "UTC";
  for (const [field, date] of [
    ["from", p.from],
    ["to", p.to],
  ] as const) {
    if (date !== undefined && !inReportWindow(date, now)) {
      throw new InvalidInput(
        "invalid_parameter",
        `${field} must be between ${EARLIEST_REPORT_DATE} and ${latestReportDate(now)}: reports cover ${EARLIEST_REPORT_DATE} to ${REPORT_YEARS_AHEAD === 1 ? "one year" : `${REPORT_YEARS_AHEAD} years`} after today`,
      );
    }
  }
  const to = p.to ?? today(tz, now);
  const defaultFrom = addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  const from = p.from ?? (defaultFrom < EARLIEST_REPORT_DATE ? EARLIEST_REPORT_DATE : defaultFrom);
  if (from > to) throw new InvalidInput("invalid_parameter", "from must not be after to");
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) {
    throw new InvalidInput("invalid_parameter", `the range must not exceed ${MAX_RANGE_DAYS} days`);
  }
  return buildRange(from, to, tz);
}

export function parseCommon(query: unknown, now: Date = new Date()): CommonParams {
  const p = parse(common, query);
  return { range: toRange(p, now), space: p.space ?? null };
}

export function parseUsers(query: unknown, now: Date = new Date()): UsersParams {
  const p = parse(users, query);
  return {
    range: toRange(p, now),
    space: p.space ?? null,
    q: p.q?.trim() || null,
    group: p.group ?? null,
    sort: p.sort ?? "view",
    order: p.order ?? (p.sort === "name" ? "asc" : "desc"),
    limit: p.limit ?? 50,
    offset: p.offset ?? 0,
    inactive: p.include === "inactive",
    inactiveGroup: p.inactiveGroup ?? null,
  };
}

export function parseWithAccount(
  query: unknown,
  now: Date = new Date(),
): CommonParams & { accountId: string | null } {
  const p = parse(withAccount, query);
  return { range: toRange(p, now), space: p.space ?? null, accountId: p.accountId ?? null };
}

/** One user's activity: the account id from the path, checked like every other parameter. */
export function parseUserActivity(
  query: unknown,
  accountId: unknown,
  now: Date = new Date(),
): CommonParams & { accountId: string } {
  const q = typeof query === "object" && query !== null ? query : {};
  const p = parse(userActivity, { ...q, accountId });
  return { range: toRange(p, now), space: p.space ?? null, accountId: p.accountId };
}
