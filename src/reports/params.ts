import { DateTime } from "luxon";
import { z } from "zod";
import { EVENT_TYPE_NAMES } from "../events/types.js";
import { HttpError } from "../http/errors.js";
import { addDays, buildRange, isValidZone, type ReportRange, today } from "./range.js";

/** Longest range a report may cover: three years of days. */
export const MAX_RANGE_DAYS = 3 * 366;
export const DEFAULT_RANGE_DAYS = 30;

export const USER_SORT_KEYS = [
  "name",
  "total",
  "activeDays",
  "lastActive",
  ...EVENT_TYPE_NAMES,
] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((d) => DateTime.fromISO(d, { zone: "UTC" }).isValid, "is not a calendar date");

/** A repeated query parameter (?a=1&a=2) counts as its last value. */
const single = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), schema);

const commonShape = {
  from: single(isoDate.optional()),
  to: single(isoDate.optional()),
  tz: single(z.string().max(64).refine(isValidZone, "is not an IANA time zone").optional()),
  space: single(z.string().min(1).max(255).optional()),
};

const common = z.object(commonShape);

const users = z.object({
  ...commonShape,
  q: single(z.string().max(200).optional()),
  group: single(z.string().min(1).max(200).optional()),
  sort: single(
    z.enum(USER_SORT_KEYS, { error: `must be one of ${USER_SORT_KEYS.join(", ")}` }).optional(),
  ),
  order: single(z.enum(["asc", "desc"]).optional()),
  limit: single(z.coerce.number().int().min(1).max(1000).optional()),
  offset: single(z.coerce.number().int().min(0).max(10_000_000).optional()),
  include: single(z.enum(["inactive"], { error: "must be inactive" }).optional()),
  inactiveGroup: single(z.string().min(1).max(200).optional()),
});

const withAccount = z.object({
  ...commonShape,
  accountId: single(z.string().min(1).max(128).optional()),
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
    throw new HttpError(400, "invalid_parameter", `${field} ${issue?.message ?? "is invalid"}`);
  }
  return result.data;
}

function toRange(p: z.infer<typeof common>): ReportRange {
  const tz = p.tz ?? "UTC";
  const to = p.to ?? today(tz);
  const from = p.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) throw new HttpError(400, "invalid_parameter", "from must not be after to");
  const days = DateTime.fromISO(to).diff(DateTime.fromISO(from), "days").days + 1;
  if (days > MAX_RANGE_DAYS) {
    throw new HttpError(
      400,
      "invalid_parameter",
      `the range must not exceed ${MAX_RANGE_DAYS} days`,
    );
  }
  return buildRange(from, to, tz);
}

export function parseCommon(query: unknown): CommonParams {
  const p = parse(common, query);
  return { range: toRange(p), space: p.space ?? null };
}

export function parseUsers(query: unknown): UsersParams {
  const p = parse(users, query);
  return {
    range: toRange(p),
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

export function parseWithAccount(query: unknown): CommonParams & { accountId: string | null } {
  const p = parse(withAccount, query);
  return { range: toRange(p), space: p.space ?? null, accountId: p.accountId ?? null };
}
