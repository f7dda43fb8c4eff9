import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT_DIR } from "../../src/config.js";
import {
  addDays,
  buildRange,
  daysBetween,
  EARLIEST_REPORT_DATE,
  isCalendarDate,
  latestReportDate,
  MAX_RANGE_DAYS,
} from "../../src/reports/range.js";
import { currentStreak, longestStreak, streakIsCurrent } from "../../src/reports/streaks.js";

const YMD = /^\d{4}-\d{2}-\d{2}$/;

describe("addDays", () => {
  it("steps over month, year and leap-day boundaries", () => {
    expect(addDays("2026-11-10", 1)).toBe("2026-11-11");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2026-11-10", 0)).toBe("2026-11-10");
    expect(addDays("2026-11-10", -365)).toBe("2025-11-10");
  });

  it("works just outside the report window (sealing looks a day before the first event)", () => {
    expect(addDays(EARLIEST_REPORT_DATE, -1)).toBe("1999-12-31");
    expect(addDays("1999-12-31", 1)).toBe(EARLIEST_REPORT_DATE);
    const latest = latestReportDate();
    expect(addDays(latest, 1)).toMatch(YMD);
  });

  it("throws instead of leaving YYYY-MM-DD at the end of the calendar", () => {
    expect(() => addDays("9999-12-31", 1)).toThrow(RangeError);
    expect(() => addDays("9999-12-30", 2)).toThrow(RangeError);
    expect(addDays("9999-12-30", 1)).toBe("9999-12-31");
  });

  it("throws instead of leaving the four-digit years at the start", () => {
    expect(() => addDays("0000-01-01", -1)).toThrow(RangeError);
    expect(() => addDays("0000-01-01", 1)).toThrow(RangeError);
    expect(() => addDays("2026-01-01", -1_000_000)).toThrow(RangeError);
  });

  it("refuses input that is not a calendar date as YYYY-MM-DD", () => {
    for (const bad of [
      "+010000-01-01",
      "2026-13-01",
      "2026-02-30",
      "2026-1-01",
      "",
      "2026-11-10T00:00:00Z",
      " 2026-11-10",
    ]) {
      expect(() => addDays(bad, 1), bad).toThrow(RangeError);
    }
  });

  it("refuses a step that is not a whole number of days", () => {
    for (const n of [Number.NaN, 0.5, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER * 2]) {
      expect(() => addDays("2026-11-10", n), String(n)).toThrow(RangeError);
    }
  });

  it("only ever answers YYYY-MM-DD (every day over 30 years, from both ends)", () => {
    for (let i = 0; i < 11_000; i += 7) {
      expect(addDays("2000-01-01", i)).toMatch(YMD);
      expect(addDays("9999-12-31", -i)).toMatch(YMD);
    }
  });
});

describe("the report window", () => {
  it("runs from 2000-01-01 to one year after today", () => {
    expect(EARLIEST_REPORT_DATE).toBe("2000-01-01");
    expect(latestReportDate(new Date("2026-11-22T12:00:00Z"))).toBe("2027-11-22");
    expect(latestReportDate(new Date("2028-02-29T23:59:59Z"))).toBe("2029-02-28");
  });

  it("knows calendar dates", () => {
    expect(isCalendarDate("2024-02-29")).toBe(true);
    expect(isCalendarDate("2026-02-29")).toBe(false);
    expect(isCalendarDate("+010000-01-01")).toBe(false);
    expect(isCalendarDate("0000-01-01")).toBe(false);
  });

  it("counts days between two dates", () => {
    expect(daysBetween("2026-11-10", "2026-11-10")).toBe(0);
    expect(daysBetween("2026-11-10", "2027-11-10")).toBe(365);
    expect(daysBetween("2026-11-10", "2026-11-01")).toBe(-9);
  });
});

describe("buildRange", () => {
  it("has one day per date, in order, all YYYY-MM-DD", () => {
    const r = buildRange("2026-03-07", "2026-03-09", "America/New_York");
    expect(r.days.map((d) => d.date)).toEqual(["2026-03-07", "2026-03-08", "2026-03-09"]);
    expect(r.end.toISOString()).toBe("2026-03-10T04:00:00.000Z");
  });

  it("builds the longest allowed range, and refuses a longer one", () => {
    const to = addDays("2024-01-01", MAX_RANGE_DAYS - 1);
    expect(buildRange("2024-01-01", to, "UTC").days).toHaveLength(MAX_RANGE_DAYS);
    expect(() => buildRange("2024-01-01", addDays(to, 1), "UTC")).toThrow(RangeError);
    expect(() => buildRange("2000-01-01", "2026-01-01", "UTC")).toThrow(RangeError);
  });

  it("refuses an empty range and dates that are not calendar dates", () => {
    expect(() => buildRange("2026-11-10", "2026-11-09", "UTC")).toThrow(RangeError);
    expect(() => buildRange("0000-01-01", "0000-01-01", "UTC")).toThrow(RangeError);
    expect(() => buildRange("2026-11-10", "+010000-01-01", "UTC")).toThrow(RangeError);
  });

  it("ends at the end of the calendar (run in a child process, killed if it hangs)", () => {
    const script = `
      import { buildRange } from ${JSON.stringify(path.join(ROOT_DIR, "src/reports/range.ts"))};
      for (const [from, to] of [["9999-12-31", "9999-12-31"], ["9999-12-30", "9999-12-31"]]) {
        try { buildRange(from, to, "UTC"); console.log("built"); }
        catch (e) { console.log(e instanceof RangeError ? "refused" : "other " + e); }
      }`;
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: ROOT_DIR,
        encoding: "utf8",
        timeout: 15_000,
        killSignal: "SIGKILL",
        env: { ...process.env, NODE_OPTIONS: "--max-old-space-size=128" },
      },
    );
    expect(run.signal, `hung or crashed: ${run.stderr.slice(0, 300)}`).toBeNull();
    expect(run.stdout.trim().split("\n")).toEqual(["refused", "refused"]);
  }, 30_000);
});

describe("streaks stay within their input", () => {
  it("longest streak", () => {
    expect(longestStreak([])).toBe(0);
    expect(longestStreak(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-03"])).toBe(3);
    expect(longestStreak(["2025-12-31", "2026-01-01"])).toBe(2);
  });

  it("current streak: the run ending on the range's last day, counting only days inside it", () => {
    const active = new Set(["2026-11-08", "2026-11-09", "2026-11-10"]);
    const range = (from: string, to: string) => ({ from, to });
    // The range ends today, active today / not yet active today / not active yesterday either.
    expect(currentStreak(active, range("2026-11-01", "2026-11-10"), "2026-11-10")).toBe(3);
    expect(currentStreak(active, range("2026-11-01", "2026-11-11"), "2026-11-11")).toBe(3);
    expect(currentStreak(active, range("2026-11-01", "2026-11-12"), "2026-11-12")).toBe(0);
    // A range ending before today: its last day, never the day before.
    expect(currentStreak(active, range("2026-11-01", "2026-11-11"), "2026-11-20")).toBe(0);
    expect(currentStreak(active, range("2026-11-01", "2026-11-09"), "2026-11-20")).toBe(2);
    // Only days inside the range count, so it never exceeds the range's longest streak.
    expect(currentStreak(active, range("2026-11-10", "2026-11-10"), "2026-11-10")).toBe(1);
    expect(currentStreak(active, range("2026-11-09", "2026-11-11"), "2026-11-11")).toBe(2);
    expect(currentStreak(new Set(), range("2026-11-01", "2026-11-12"), "2026-11-12")).toBe(0);
    // A range ending after today: the streak ends today (or yesterday, today not active yet).
    expect(currentStreak(active, range("2026-11-01", "2026-12-31"), "2026-11-10")).toBe(3);
    expect(currentStreak(active, range("2026-11-01", "2026-12-31"), "2026-11-11")).toBe(3);
  });

  it("a person active 31 days in a row: Current <= Longest <= Active Days <= days, in every range", () => {
    const days = Array.from({ length: 31 }, (_, i) => addDays("2026-11-22", -30 + i));
    const active = new Set(days);
    for (const length of [1, 7, 30, 31, 90]) {
      const r = { from: addDays("2026-11-22", 1 - length), to: "2026-11-22" };
      const inRange = days.filter((d) => d >= r.from && d <= r.to);
      const longest = longestStreak(inRange);
      const current = currentStreak(active, r, "2026-11-22");
      expect(current).toBe(Math.min(length, 31));
      expect(current).toBeLessThanOrEqual(longest);
      expect(longest).toBeLessThanOrEqual(inRange.length);
      expect(inRange.length).toBeLessThanOrEqual(length);
    }
  });

  it("the streak is current while the range reaches yesterday", () => {
    expect(streakIsCurrent({ to: "2026-11-22" }, "2026-11-22")).toBe(true);
    expect(streakIsCurrent({ to: "2026-11-21" }, "2026-11-22")).toBe(true);
    expect(streakIsCurrent({ to: "2026-11-20" }, "2026-11-22")).toBe(false);
  });
});

describe("buildRange is built once per from, to and zone", () => {
  it("answers the same frozen range again, and a fresh one for another zone", () => {
    const a = buildRange("2025-12-04", "2026-12-03", "Asia/Kolkata");
    expect(buildRange("2025-12-04", "2026-12-03", "Asia/Kolkata")).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.days) && Object.isFrozen(a.masks)).toBe(true);
    expect(() => (a.days as { date: string; start: Date }[]).push(a.days[0]!)).toThrow(TypeError);
    const b = buildRange("2025-12-04", "2026-12-03", "Asia/Kathmandu");
    expect(b).not.toBe(a);
    expect(b.start.getTime() - a.start.getTime()).toBe(-15 * 60_000); // +05:45 against +05:30
  });

  it("does not remember a refused range", () => {
    expect(() => buildRange("2026-12-03", "2026-12-02", "UTC")).toThrow(RangeError);
    expect(() => buildRange("2026-12-03", "2026-12-02", "UTC")).toThrow(RangeError);
  });
});
