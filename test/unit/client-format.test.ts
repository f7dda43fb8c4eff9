import { describe, expect, it } from "vitest";
import { WEBHOOKS } from "../../src/events/types.js";
import { parseCommon } from "../../src/reports/params.js";
import * as server from "../../src/reports/range.js";
import {
  dateBounds,
  dayCount,
  daysBetween,
  EARLIEST_REPORT_DATE,
  eventLabel,
  formatDay,
  formatInstant,
  formatMonth,
  isIsoDate,
  latestReportDate,
  licenceNote,
  localToday,
  MAX_RANGE_DAYS,
  OUTSIDE_WINDOW,
  plainMessage,
  RANGE_TOO_LONG,
  rangeProblem,
  recentEventText,
  REPORT_YEARS_AHEAD,
  rowCount,
  SESSION_EXPIRED,
  shiftDate,
  START_AFTER_END,
  trackedDayCount,
} from "../../src/client/format.js";

const n = (x: number) => x.toLocaleString();

describe("the report window (copied from src/reports/range.ts)", () => {
  it("has the server's constants", () => {
    expect(EARLIEST_REPORT_DATE).toBe(server.EARLIEST_REPORT_DATE);
    expect(REPORT_YEARS_AHEAD).toBe(server.REPORT_YEARS_AHEAD);
    expect(MAX_RANGE_DAYS).toBe(server.MAX_RANGE_DAYS);
  });

  it("ends on the server's last date, leap days included", () => {
    for (const at of [
      "2024-02-29T23:59:59Z",
      "2023-02-28T00:00:00Z",
      "2026-12-31T12:00:00Z",
      "2026-01-01T00:00:00Z",
      "2027-07-15T05:00:00Z",
    ]) {
      const now = new Date(at);
      expect(latestReportDate(now), at).toBe(server.latestReportDate(now));
    }
    expect(latestReportDate(new Date("2024-02-29T10:00:00Z"))).toBe("2025-02-28");
  });

  it("gives the date inputs the window as min and max", () => {
    expect(dateBounds(new Date("2026-03-15T08:00:00Z"))).toEqual({
      min: "2000-01-01",
      max: "2027-03-15",
    });
  });
});

describe("rangeProblem", () => {
  const now = new Date("2026-03-15T12:00:00Z");

  it("accepts what the server accepts", () => {
    expect(rangeProblem("2026-03-15", "2026-03-15", now)).toBeNull();
    expect(rangeProblem(shiftDate("2026-03-15", -(MAX_RANGE_DAYS - 1)), "2026-03-15", now)).toBe(
      null,
    );
    expect(rangeProblem("2000-01-01", "2000-01-31", now)).toBeNull();
    expect(rangeProblem("2027-01-01", "2027-03-15", now)).toBeNull();
  });

  it("says in plain words what is wrong", () => {
    expect(rangeProblem("2026-03-10", "2026-03-01", now)).toBe(START_AFTER_END);
    expect(rangeProblem("", "2026-03-01", now)).toBe(START_AFTER_END);
    expect(rangeProblem("2026-02-30", "2026-03-01", now)).toBe(START_AFTER_END);
    expect(rangeProblem(shiftDate("2026-03-15", -MAX_RANGE_DAYS), "2026-03-15", now)).toBe(
      "Choose a range of at most 3 years.",
    );
    expect(rangeProblem("1999-12-31", "2000-01-02", now)).toBe(OUTSIDE_WINDOW);
    expect(rangeProblem("2027-03-01", "2027-03-16", now)).toBe(OUTSIDE_WINDOW);
  });
});

describe("plainMessage", () => {
  /** The server's own error for a query (InvalidInput from src/reports/params.ts). */
  const serverError = (query: Record<string, string>) => {
    try {
      parseCommon(query);
    } catch (error) {
      const e = error as { code: string; message: string };
      return { status: 400, code: e.code, message: e.message };
    }
    throw new Error("the server accepted it");
  };

  it("turns the server's range errors into the form's words", () => {
    expect(plainMessage(serverError({ from: "2020-01-01", to: "2024-01-01" }))).toBe(
      RANGE_TOO_LONG,
    );
    expect(RANGE_TOO_LONG).toBe("Choose a range of at most 3 years.");
    expect(plainMessage(serverError({ from: "2024-02-01", to: "2024-01-01" }))).toBe(
      START_AFTER_END,
    );
    expect(plainMessage(serverError({ from: "1990-01-01", to: "2024-01-01" }))).toBe(
      OUTSIDE_WINDOW,
    );
  });

  it("keeps other messages, and says a 401 is an expired session", () => {
    const other = { status: 503, code: "unavailable", message: "Try again in a moment." };
    expect(plainMessage(other)).toBe("Try again in a moment.");
    expect(plainMessage({ status: 401, code: "unauthenticated", message: "jwt expired" })).toBe(
      SESSION_EXPIRED,
    );
  });
});

describe("counts", () => {
  it("says day and days as English does", () => {
    expect(dayCount(1)).toBe("1 day");
    expect(dayCount(2)).toBe("2 days");
    expect(dayCount(0)).toBe("0 days");
    expect(dayCount(1500)).toBe(`${n(1500)} days`);
    expect(trackedDayCount(1)).toBe("1 tracked day");
    expect(trackedDayCount(42)).toBe("42 tracked days");
    expect(rowCount(1)).toBe("1 row");
    expect(rowCount(0)).toBe("0 rows");
  });

  it("notes the licensed accounts only when Confluence said how many", () => {
    const summary = { users: 136, siteUsers: 135, outsideSiteUsers: 16 };
    expect(licenceNote(summary, "active")).toBe(
      "120 active of 135 licensed user accounts (members of confluence-users) · 16 active accounts outside it",
    );
    expect(licenceNote({ ...summary, outsideSiteUsers: 1 }, "")).toBe(
      "135 of 135 licensed user accounts (members of confluence-users) · 1 account outside it",
    );
    expect(licenceNote({ ...summary, users: 20, outsideSiteUsers: 0 }, "")).toBe(
      "20 of 135 licensed user accounts (members of confluence-users)",
    );
    expect(licenceNote({ ...summary, siteUsers: null }, "active")).toBeNull();
  });
});

describe("dates", () => {
  it("knows real calendar dates", () => {
    expect(isIsoDate("2024-02-29")).toBe(true);
    expect(isIsoDate("2023-02-29")).toBe(false);
    expect(isIsoDate("2026-13-01")).toBe(false);
    expect(isIsoDate("0050-01-01")).toBe(false);
    expect(isIsoDate("2026-1-01")).toBe(false);
  });

  it("steps and counts days over month, year and leap-day boundaries", () => {
    expect(shiftDate("2024-02-28", 1)).toBe("2024-02-29");
    expect(shiftDate("2026-01-01", -1)).toBe("2025-12-31");
    expect(daysBetween("2024-01-01", "2025-01-01")).toBe(366);
    expect(daysBetween("2026-03-10", "2026-03-01")).toBe(-9);
  });

  it("takes today in the viewer's zone", () => {
    const now = new Date("2026-03-15T23:30:00Z");
    expect(localToday("UTC", now)).toBe("2026-03-15");
    expect(localToday("Asia/Tokyo", now)).toBe("2026-03-16");
    expect(localToday("America/Los_Angeles", now)).toBe("2026-03-15");
    expect(localToday("Not/AZone", now)).toBe("2026-03-15");
  });

  it("labels months with their year when asked (the calendar's first month and Januaries)", () => {
    const month = (withYear: boolean) =>
      new Date(Date.UTC(2026, 0, 1)).toLocaleDateString(undefined, {
        month: "short",
        ...(withYear ? { year: "numeric" } : {}),
        timeZone: "UTC",
      });
    expect(formatMonth("2026-01")).toBe(month(false));
    expect(formatMonth("2026-01", true)).toBe(month(true));
    expect(formatMonth("2026-01", true)).toContain("2026");
  });

  it("formats days on the calendar, and instants in the viewer's zone", () => {
    expect(formatDay("2026-03-02")).toBe(
      new Date(Date.UTC(2026, 2, 2)).toLocaleDateString(undefined, {
        weekday: "short",
        year: "numeric",
        month: "short",
        day: "numeric",
        timeZone: "UTC",
      }),
    );
    expect(formatInstant(null, "UTC")).toBe("Never");
    const at = "2026-03-15T23:30:00Z";
    expect(formatInstant(at, "Asia/Tokyo")).not.toBe(formatInstant(at, "UTC"));
  });
});

describe("recent events", () => {
  it("reads as what the person did", () => {
    expect(eventLabel("page_viewed")).toBe("Viewed page");
    expect(eventLabel("comment_created")).toBe("Commented");
    expect(recentEventText({ event: "page_updated", title: "Roadmap", spaceKey: "ENG" })).toBe(
      "Edited page: Roadmap (ENG)",
    );
    expect(recentEventText({ event: "search_performed", title: null, spaceKey: null })).toBe(
      "Searched",
    );
  });

  it("has a label for every webhook, and reads an unknown one as its name", () => {
    // A label of its own, not the fallback's spelling of the webhook's name.
    for (const w of WEBHOOKS) {
      expect(eventLabel(w.event), w.event).not.toBe(w.event.replaceAll("_", " "));
    }
    expect(eventLabel("unknown")).toBe("unknown");
    expect(eventLabel("page_teleported")).toBe("page teleported");
    expect(eventLabel("toString")).toBe("toString");
  });
});
