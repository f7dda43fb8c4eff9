import { describe, expect, it } from "vitest";
import { buildRange } from "../../src/reports/range.js";
import { splitRange, weekStart, type ZoneState } from "../../src/reports/sealing.js";

/** Periods as [first, last] (sums only) or [first, last, "resolved"] (running totals by day). */
const zone = (
  periods: ([string, string] | [string, string, "resolved"])[],
  sealedThrough: string | null,
): ZoneState => ({
  id: 7,
  zone: "Europe/Berlin",
  sealedThrough,
  siteSealedThrough: sealedThrough,
  periods: periods.map(([first, last, r]) => ({ first, last, resolved: r === "resolved" })),
});

describe("sealed periods", () => {
  it("weeks start on Monday", () => {
    expect(weekStart("2026-12-03")).toBe("2026-11-30"); // a Thursday
    expect(weekStart("2026-11-30")).toBe("2026-11-30");
    expect(weekStart("2026-12-06")).toBe("2026-11-30"); // a Sunday
    expect(weekStart("1970-01-04")).toBe("1969-12-29");
    expect(weekStart("2000-01-01")).toBe("1999-12-27");
  });

  it("a range reads the sealed periods wholly inside it, and the days around them live", () => {
    const z = zone(
      [
        ["2026-09-07", "2026-10-04"], // a four-week block
        ["2026-10-05", "2026-10-11"],
        ["2026-10-12", "2026-10-18"],
      ],
      "2026-10-18",
    );
    const split = splitRange(buildRange("2026-09-10", "2026-10-20", "Europe/Berlin"), z);
    expect(split.sealed).toEqual({
      zoneId: 7,
      from: "2026-10-05",
      to: "2026-10-18",
      whole: { first: "2026-10-05", last: "2026-10-12" },
      slices: [],
    });
    expect(split.live.map((r) => [r.from, r.to])).toEqual([
      ["2026-09-10", "2026-10-04"],
      ["2026-10-19", "2026-10-20"],
    ]);
    const exact = splitRange(buildRange("2026-09-07", "2026-10-18", "Europe/Berlin"), z);
    expect(exact).toEqual({
      sealed: {
        zoneId: 7,
        from: "2026-09-07",
        to: "2026-10-18",
        whole: { first: "2026-09-07", last: "2026-10-12" },
        slices: [],
      },
      live: [],
    });
  });

  it("without a sealed period inside the range, it is all live", () => {
    const z = zone([["2026-10-05", "2026-10-11"]], "2026-10-11");
    for (const [from, to] of [
      ["2026-10-06", "2026-10-20"],
      ["2026-09-01", "2026-10-10"],
      ["2026-10-12", "2026-10-20"],
    ] as const) {
      const range = buildRange(from, to, "Europe/Berlin");
      expect(splitRange(range, z)).toEqual({ sealed: null, live: [range] });
    }
    const range = buildRange("2026-10-01", "2026-10-30", "Europe/Berlin");
    expect(splitRange(range, null)).toEqual({ sealed: null, live: [range] });
  });

  it("a range starts and ends inside day-resolved weeks: only the days after the watermark are live", () => {
    // Weeks sealed day by day: the current week (Monday 30 November) through Wednesday.
    const z = zone(
      [
        ["2026-09-07", "2026-10-04"],
        ["2026-10-05", "2026-10-11", "resolved"],
        ["2026-10-12", "2026-10-18", "resolved"],
        ["2026-10-19", "2026-10-25", "resolved"],
        ["2026-10-26", "2026-11-01", "resolved"],
        ["2026-11-02", "2026-11-08", "resolved"],
        ["2026-11-09", "2026-11-15", "resolved"],
        ["2026-11-16", "2026-11-22", "resolved"],
        ["2026-11-23", "2026-11-29", "resolved"],
        ["2026-11-30", "2026-12-02", "resolved"],
      ],
      "2026-12-02",
    );
    const last30 = splitRange(buildRange("2026-11-04", "2026-12-03", "Europe/Berlin"), z);
    expect(last30.sealed).toEqual({
      zoneId: 7,
      from: "2026-11-04",
      to: "2026-12-02",
      // Whole weeks from 9 November to the current week's days so far; Wednesday to Sunday
      // of the week of 2 November (slots 2 to 6).
      whole: { first: "2026-11-09", last: "2026-11-30" },
      slices: [{ first: "2026-11-02", lo: 2, hi: 6 }],
    });
    expect(last30.live.map((r) => [r.from, r.to])).toEqual([["2026-12-03", "2026-12-03"]]);
    // Within one week, and ending before the watermark: all sealed.
    const inWeek = splitRange(buildRange("2026-11-24", "2026-11-26", "Europe/Berlin"), z);
    expect(inWeek).toEqual({
      sealed: {
        zoneId: 7,
        from: "2026-11-24",
        to: "2026-11-26",
        whole: null,
        slices: [{ first: "2026-11-23", lo: 1, hi: 3 }],
      },
      live: [],
    });
    // Starting inside an old block (sums only): those days are live.
    const long = splitRange(buildRange("2026-09-20", "2026-11-10", "Europe/Berlin"), z);
    expect(long.sealed).toEqual({
      zoneId: 7,
      from: "2026-10-05",
      to: "2026-11-10",
      whole: { first: "2026-10-05", last: "2026-11-02" },
      slices: [{ first: "2026-11-09", lo: 0, hi: 1 }],
    });
    expect(long.live.map((r) => [r.from, r.to])).toEqual([["2026-09-20", "2026-10-04"]]);
    // Ending inside an old block: the block's days are live.
    const old = splitRange(buildRange("2026-09-07", "2026-09-20", "Europe/Berlin"), z);
    expect(old).toEqual({
      sealed: null,
      live: [buildRange("2026-09-07", "2026-09-20", "Europe/Berlin")],
    });
  });
});
