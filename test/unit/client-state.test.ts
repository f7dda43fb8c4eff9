import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { USER_SORT_KEYS } from "../../src/reports/params.js";
import { MAX_RANGE_DAYS, shiftDate } from "../../src/client/format.js";
import {
  createStore,
  DEFAULT_QUERY,
  defaultOrder,
  fromQuery,
  PRESETS,
  presetRange,
  type QueryState,
  type ReportState,
  reportParams,
  requestKey,
  SORT_KEYS,
  sortBy,
  TABS,
  toQuery,
  usersParams,
  withRange,
} from "../../src/client/state.js";

const NOW = new Date("2026-03-15T12:00:00Z");
const custom = (from: string, to: string): QueryState => ({
  ...DEFAULT_QUERY,
  preset: "custom",
  from,
  to,
});
const full = (s: Partial<ReportState> = {}): ReportState => ({
  ...DEFAULT_QUERY,
  from: "2026-02-14",
  to: "2026-03-15",
  tz: "UTC",
  total: 0,
  ...s,
});

describe("toQuery / fromQuery", () => {
  it("writes nothing for the defaults, and reads an empty query as the defaults", () => {
    expect(toQuery(DEFAULT_QUERY)).toBe("");
    expect(fromQuery("", NOW)).toEqual(DEFAULT_QUERY);
  });

  it("round-trips every filter", () => {
    const states: QueryState[] = [
      { ...DEFAULT_QUERY, tab: "users", q: "Ada Lovelace", sort: "name", offset: 100 },
      { ...DEFAULT_QUERY, tab: "settings", preset: "365" },
      { ...custom("2025-01-01", "2025-12-31"), space: "ENG", group: "g-1", inactive: true },
      { ...DEFAULT_QUERY, sort: "lastActive", order: "asc" },
      { ...DEFAULT_QUERY, sort: "name", order: "desc" },
      { ...DEFAULT_QUERY, q: "a&b=c #1 ?x" },
    ];
    for (const s of states) expect(fromQuery(toQuery(s), NOW)).toEqual(s);
  });

  it("round-trips any valid state (property)", () => {
    const date = fc
      .integer({ min: 0, max: 9000 })
      .map((n) => shiftDate("2001-01-01", n))
      .filter((d) => d <= "2027-03-15");
    const state = fc.record({
      tab: fc.constantFrom(...TABS),
      preset: fc.constantFrom(...PRESETS),
      from: date,
      span: fc.integer({ min: 0, max: MAX_RANGE_DAYS - 1 }),
      space: fc.constantFrom("", "ENG", "~557058abc", "DESIGN-2"),
      q: fc.string({ maxLength: 30 }).map((q) => q.trim()),
      group: fc.constantFrom("", "1b2f-33", "group.a:b"),
      inactive: fc.boolean(),
      sort: fc.constantFrom(...SORT_KEYS),
      order: fc.constantFrom("asc" as const, "desc" as const),
      offset: fc.nat({ max: 10_000 }).map((n) => n * 50),
    });
    fc.assert(
      fc.property(state, ({ span, ...s }) => {
        const to = shiftDate(s.from, span) > "2027-03-15" ? "2027-03-15" : shiftDate(s.from, span);
        const q: QueryState = s.preset === "custom" ? { ...s, to } : { ...s, from: "", to: "" };
        expect(fromQuery(toQuery(q), NOW)).toEqual(q);
      }),
    );
  });

  it("leaves a preset's dates out of the query: a link keeps 'the last 90 days'", () => {
    const q = toQuery({ ...DEFAULT_QUERY, preset: "90", from: "2026-01-01", to: "2026-03-31" });
    expect(q).toBe("range=90");
    expect(fromQuery(q, NOW)).toMatchObject({ preset: "90", from: "", to: "" });
  });

  it("writes the order only when it is not the column's own", () => {
    expect(toQuery({ ...DEFAULT_QUERY, sort: "name", order: "asc" })).toBe("sort=name");
    expect(toQuery({ ...DEFAULT_QUERY, sort: "edit", order: "asc" })).toBe("sort=edit&order=asc");
  });

  it("ignores unknown sorts, orders, tabs and presets", () => {
    expect(fromQuery("sort=password&order=sideways&tab=admin&range=12", NOW)).toEqual(
      DEFAULT_QUERY,
    );
    expect(fromQuery("sort=name", NOW)).toMatchObject({ sort: "name", order: "asc" });
    expect(fromQuery("sort=__proto__", NOW).sort).toBe("view");
  });

  it("ignores negative, fractional, huge and non-numeric offsets", () => {
    for (const offset of ["-50", "1.5", "1e3", "abc", "", "99999999", " 50"]) {
      expect(fromQuery(`offset=${encodeURIComponent(offset)}`, NOW).offset, offset).toBe(0);
    }
    expect(fromQuery("offset=150", NOW).offset).toBe(150);
  });

  it("falls back to the default range for dates the API would refuse", () => {
    const refused = [
      ["2026-02-30", "2026-03-01"], // no such day
      ["yesterday", "2026-03-01"],
      ["2026-03-10", "2026-03-01"], // from after to
      ["1999-12-31", "2000-01-05"], // before the report window
      ["2027-03-01", "2027-03-16"], // more than a year ahead
      [shiftDate("2026-03-15", -MAX_RANGE_DAYS), "2026-03-15"], // one day too long
      ["2026-03-01", ""],
    ];
    for (const [from = "", to = ""] of refused) {
      const q = `range=custom&from=${from}&to=${to}`;
      expect(fromQuery(q, NOW), q).toMatchObject({ preset: "30", from: "", to: "" });
    }
    const longest = `range=custom&from=${shiftDate("2026-03-15", -(MAX_RANGE_DAYS - 1))}&to=2026-03-15`;
    expect(fromQuery(longest, NOW).preset).toBe("custom");
  });

  it("reads from and to without range= as a custom range", () => {
    expect(fromQuery("from=2026-01-01&to=2026-01-31", NOW)).toMatchObject(
      custom("2026-01-01", "2026-01-31"),
    );
  });

  it("ignores spaces and groups the API would refuse, and other pages' parameters", () => {
    expect(fromQuery("space=bad key&group=<b>", NOW)).toMatchObject({ space: "", group: "" });
    expect(fromQuery(`q=${"x".repeat(201)}`, NOW).q).toBe("");
    expect(fromQuery("?jwt=abc&xdm_e=https://x&tz=Europe/Paris&space=ENG", NOW)).toEqual({
      ...DEFAULT_QUERY,
      space: "ENG",
    });
    expect(fromQuery("#!tab=users", NOW).tab).toBe("users");
  });

  it("knows every sort key the API accepts", () => {
    expect([...SORT_KEYS].sort()).toEqual([...USER_SORT_KEYS].sort());
  });
});

describe("ranges", () => {
  it("counts a preset back from today, today included", () => {
    expect(presetRange("7", "2026-03-01")).toEqual({ from: "2026-02-23", to: "2026-03-01" });
    expect(presetRange("365", "2024-12-31")).toEqual({ from: "2024-01-02", to: "2024-12-31" });
  });

  it("fills a preset's dates and keeps a custom range", () => {
    expect(withRange(DEFAULT_QUERY, "2026-03-15")).toMatchObject({
      from: "2026-02-14",
      to: "2026-03-15",
    });
    const c = custom("2020-01-01", "2020-02-01");
    expect(withRange(c, "2026-03-15")).toEqual(c);
  });
});

describe("sorting and requests", () => {
  it("turns the order around on the same column; a new column starts with its own", () => {
    expect(sortBy({ sort: "view", order: "desc" }, "view")).toEqual({
      sort: "view",
      order: "asc",
      offset: 0,
    });
    expect(sortBy({ sort: "view", order: "asc" }, "name")).toMatchObject({ order: "asc" });
    expect(sortBy({ sort: "name", order: "asc" }, "edit")).toMatchObject({ order: "desc" });
    expect(defaultOrder("total")).toBe("desc");
  });

  it("changes the request key for what the API is asked, not for the answer's total", () => {
    const s = full();
    expect(requestKey({ ...s, total: 99 })).toBe(requestKey(s));
    for (const patch of [
      { q: "x" },
      { offset: 50 },
      { tab: "users" as const },
      { tz: "Asia/Tokyo" },
    ]) {
      expect(requestKey({ ...s, ...patch })).not.toBe(requestKey(s));
    }
  });

  it("builds the API's parameters: common ones, then those with a value", () => {
    const s = full({ space: "ENG", q: "ada", sort: "edit", offset: 50 });
    expect(reportParams(s, { limit: 1, group: "" }).toString()).toBe(
      "from=2026-02-14&to=2026-03-15&tz=UTC&space=ENG&limit=1",
    );
    expect(Object.fromEntries(usersParams(s, true))).toEqual({
      from: "2026-02-14",
      to: "2026-03-15",
      tz: "UTC",
      space: "ENG",
      q: "ada",
      sort: "edit",
      order: "desc",
      limit: "50",
      offset: "50",
    });
    const inactive = usersParams(full({ inactive: true, group: "g1" }), false);
    expect(inactive.get("include")).toBe("inactive");
    expect(inactive.get("inactiveGroup")).toBe("g1");
    expect(inactive.has("limit")).toBe(false);
  });
});

describe("createStore", () => {
  it("tells subscribers the new and previous state and the history mode, until they leave", () => {
    const store = createStore(full());
    const seen: [string, string, string][] = [];
    const leave = store.subscribe((s, prev, mode) => seen.push([s.q, prev.q, mode]));
    store.update({ q: "a" });
    store.update({ q: "ab" }, "replace");
    leave();
    store.update({ q: "abc" }, "none");
    expect(seen).toEqual([
      ["a", "", "push"],
      ["ab", "a", "replace"],
    ]);
    expect(store.get().q).toBe("abc");
  });
});
