import { describe, expect, it } from "vitest";
import { buildRange } from "../../src/reports/range.js";
import { splitRange, weekStart, type ZoneState } from "../../src/reports/sealing.js";

const zone = (periods: [string, string][], sealedThrough: string | null): ZoneState => ({
  id: 7,
  zone: "Europe/Berlin",
  sealedThrough,
  siteSealedThrough: sealedThrough,
  periods: periods.map(([first, last]) => ({ first, last })),
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
    expect(split.sealed).toEqual({ zoneId: 7, from: "2026-10-05", to: "2026-10-18" });
    expect(split.live.map((r) => [r.from, r.to])).toEqual([
      ["2026-09-10", "2026-10-04"],
      ["2026-10-19", "2026-10-20"],
    ]);
    const exact = splitRange(buildRange("2026-09-07", "2026-10-18", "Europe/Berlin"), z);
    expect(exact).toEqual({
      sealed: { zoneId: 7, from: "2026-09-07", to: "2026-10-18" },
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
});
