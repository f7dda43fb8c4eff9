/**
 * The page's one state: filters (range, space, user search, group, sort, page) and view state
 * (tab, zone, rows of the last users answer), with pure functions between it and the query
 * string kept in the browser's history, and a tiny store that tells subscribers of changes.
 * No DOM here: unit-tested in Node.
 */
import { GROUP_ID, SPACE_KEY } from "../confluence/keys.js";
import type { UserSortKey } from "../reports/params.js";
import {
  daysBetween,
  EARLIEST_REPORT_DATE,
  isIsoDate,
  latestReportDate,
  MAX_RANGE_DAYS,
  shiftDate,
} from "./format.js";

export const TABS = ["dashboard", "users", "settings"] as const;
export type Tab = (typeof TABS)[number];
export const PRESETS = ["7", "30", "90", "365", "custom"] as const;
export type Preset = (typeof PRESETS)[number];
export type Order = "asc" | "desc";

/** The users table's columns, as the API sorts them. */
export const SORT_KEYS = [
  "name",
  "view",
  "create",
  "edit",
  "comment",
  "like",
  "attachment",
  "label",
  "delete",
  "space",
  "other",
  "total",
  "lastActive",
  "activeDays",
] as const satisfies readonly UserSortKey[];
// A sort key the server adds fails here until the page knows it.
type MissingSortKey = Exclude<UserSortKey, (typeof SORT_KEYS)[number]>;
const _allSortKeys: [MissingSortKey] extends [never] ? true : MissingSortKey = true;

export const PAGE_SIZE = 50;
/** The API's limits on the free-text filter and on offsets (src/reports/params.ts). */
const MAX_SEARCH = 200;
const MAX_OFFSET = 10_000_000;

export interface ReportState {
  tab: Tab;
  preset: Preset;
  /** The range's days (YYYY-MM-DD); for a preset, worked out from today in `tz`. */
  from: string;
  to: string;
  space: string;
  q: string;
  group: string;
  inactive: boolean;
  sort: UserSortKey;
  order: Order;
  offset: number;
  /** The viewer's zone, which days are counted in; Connect's own `tz` parameter is not used. */
  tz: string;
  /** Rows of the last users answer (for the Export dialog's count). */
  total: number;
}

/** What the query string keeps: everything but the zone and answer-derived view state. */
export type QueryState = Omit<ReportState, "tz" | "total">;

export const DEFAULT_QUERY: Readonly<QueryState> = {
  tab: "dashboard",
  preset: "30",
  from: "",
  to: "",
  space: "",
  q: "",
  group: "",
  inactive: false,
  sort: "view",
  order: "desc",
  offset: 0,
};

/** Names sort A to Z first; figures largest first. */
export function defaultOrder(sort: UserSortKey): Order {
  return sort === "name" ? "asc" : "desc";
}

const oneOf = <T extends string>(values: readonly T[], value: string | null): value is T =>
  value !== null && (values as readonly string[]).includes(value);

/** The state as a query string, defaults left out (so a fresh page has an empty one). */
export function toQuery(state: QueryState): string {
  const p = new URLSearchParams();
  if (state.tab !== DEFAULT_QUERY.tab) p.set("tab", state.tab);
  if (state.preset !== DEFAULT_QUERY.preset) p.set("range", state.preset);
  // A preset's dates move with today: a link keeps "the last 90 days", not the dates.
  if (state.preset === "custom") {
    p.set("from", state.from);
    p.set("to", state.to);
  }
  if (state.space) p.set("space", state.space);
  if (state.q) p.set("q", state.q);
  if (state.group) p.set("group", state.group);
  if (state.inactive) p.set("inactive", "1");
  if (state.sort !== DEFAULT_QUERY.sort) p.set("sort", state.sort);
  if (state.order !== defaultOrder(state.sort)) p.set("order", state.order);
  if (state.offset > 0) p.set("offset", String(state.offset));
  return p.toString();
}

/** A custom range the API accepts (inside its window, at most MAX_RANGE_DAYS), or null. */
function customRange(
  from: string | null,
  to: string | null,
  now: Date,
): { from: string; to: string } | null {
  if (from === null || to === null || !isIsoDate(from) || !isIsoDate(to)) return null;
  if (from > to || from < EARLIEST_REPORT_DATE || to > latestReportDate(now)) return null;
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) return null;
  return { from, to };
}

function offsetOf(value: string | null): number {
  if (value === null || !/^\d{1,8}$/.test(value)) return 0;
  const n = Number(value);
  return n <= MAX_OFFSET ? n : 0;
}

/**
 * The state a query string asks for; any value the API would refuse (an unknown sort, a
 * negative offset, an impossible or too long range...) falls back to its default. Unknown
 * keys are ignored. A preset's `from`/`to` stay empty: `withRange` works them out.
 */
export function fromQuery(query: string, now: Date = new Date()): QueryState {
  const p = new URLSearchParams(query.replace(/^[?#!]+/, ""));
  const state: QueryState = { ...DEFAULT_QUERY };
  const tab = p.get("tab");
  if (oneOf(TABS, tab)) state.tab = tab;
  const preset = p.get("range");
  if (preset === "custom" || (preset === null && p.has("from"))) {
    const range = customRange(p.get("from"), p.get("to"), now);
    if (range) {
      state.preset = "custom";
      state.from = range.from;
      state.to = range.to;
    }
  } else if (oneOf(PRESETS, preset)) {
    state.preset = preset;
  }
  const space = p.get("space")?.trim() ?? "";
  if (SPACE_KEY.test(space)) state.space = space;
  const q = p.get("q")?.trim() ?? "";
  if (q.length <= MAX_SEARCH) state.q = q;
  const group = p.get("group") ?? "";
  if (GROUP_ID.test(group)) state.group = group;
  state.inactive = p.get("inactive") === "1";
  const sort = p.get("sort");
  if (oneOf(SORT_KEYS, sort)) state.sort = sort;
  const order = p.get("order");
  state.order = order === "asc" || order === "desc" ? order : defaultOrder(state.sort);
  state.offset = offsetOf(p.get("offset"));
  return state;
}

/** The days a preset covers, ending `today`. */
export function presetRange(preset: Exclude<Preset, "custom">, today: string) {
  return { from: shiftDate(today, -(Number(preset) - 1)), to: today };
}

/** `state` with a preset's days worked out for `today`; a custom range is kept. */
export function withRange<S extends QueryState>(state: S, today: string): S {
  return state.preset === "custom" ? state : { ...state, ...presetRange(state.preset, today) };
}

/** A filter change: back to the first page of users. */
export function filterChange(patch: Partial<QueryState>): Partial<QueryState> {
  return { ...patch, offset: 0 };
}

/** Sorting by a column: a second click on the same one turns its order around. */
export function sortBy(state: Pick<QueryState, "sort" | "order">, key: UserSortKey) {
  const order: Order =
    state.sort === key ? (state.order === "asc" ? "desc" : "asc") : defaultOrder(key);
  return { sort: key, order, offset: 0 };
}

/** Whether two states ask the API different things (so the open tab must load again). */
export function requestKey(s: ReportState): string {
  return JSON.stringify([
    s.tab,
    s.from,
    s.to,
    s.tz,
    s.space,
    s.q,
    s.group,
    s.inactive,
    s.sort,
    s.order,
    s.offset,
  ]);
}

type Extra = Record<string, string | number | null | undefined>;

/** The report's common parameters (range, zone, space) and `extra` ones that have a value. */
export function reportParams(
  state: Pick<ReportState, "from" | "to" | "tz" | "space">,
  extra: Extra = {},
): URLSearchParams {
  const params = new URLSearchParams({ from: state.from, to: state.to, tz: state.tz });
  if (state.space) params.set("space", state.space);
  for (const [k, v] of Object.entries(extra)) if (v !== "" && v != null) params.set(k, String(v));
  return params;
}

/** The users report's parameters; `page` adds the limit and offset (the CSV has every row). */
export function usersParams(state: ReportState, page: boolean, extra: Extra = {}) {
  return reportParams(state, {
    q: state.q,
    group: state.group,
    include: state.inactive ? "inactive" : "",
    // Inactive people come from the chosen group (Confluence's default: confluence-users).
    inactiveGroup: state.inactive ? state.group : "",
    sort: state.sort,
    order: state.order,
    ...(page ? { limit: PAGE_SIZE, offset: state.offset } : {}),
    ...extra,
  });
}

// ---- The store ----

/** How a change goes into the browser's history: a new entry, the current one, or not at all. */
export type HistoryMode = "push" | "replace" | "none";
export type Listener = (
  state: Readonly<ReportState>,
  previous: Readonly<ReportState>,
  mode: HistoryMode,
) => void;

export interface Store {
  get(): Readonly<ReportState>;
  update(patch: Partial<ReportState>, mode?: HistoryMode): void;
  subscribe(listener: Listener): () => void;
}

export function createStore(initial: ReportState): Store {
  let state: Readonly<ReportState> = initial;
  const listeners = new Set<Listener>();
  return {
    get: () => state,
    update(patch, mode = "push") {
      const previous = state;
      state = { ...state, ...patch };
      for (const listener of listeners) listener(state, previous, mode);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
