import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventType } from "../../src/events/types.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { apiGet } from "../support/api.js";
import { startTestApp, type TestApp } from "../support/harness.js";
import { daysOf, expectedCalendar, type OracleEvent } from "../support/oracle.js";

/**
 * Issue 10, items 4 and 5: the clean-up list puts never-active people first when sorted by
 * Last active ascending (JSON pages and CSV alike), the users summary never lists more people
 * than the count it shows, and "Active users per day" averages over the days the site was
 * tracked only.
 */

const ADMIN = "admin-1";
const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
/** Old enough for every fixture timestamp to be stored as sent. */
const MAX_AGE_H = String(40 * 24);
const localDay = (ms: number, tz: string) =>
  DateTime.fromMillis(ms, { zone: tz }).toISODate() as string;

function send(t: TestApp, accountId: string, spaceKey: string, at: number, type = "page_viewed") {
  return t.fake.sendWebhook(
    t.url,
    type,
    payloadFor(type, { accountId, spaceKey, timestamp: at, contentId: "100" }),
  );
}

describe("the clean-up list: include=inactive sorted by Last active", () => {
  let t: TestApp;
  const now = Date.now();
  // The last seven days (UTC): three people active in it, two members active only before it.
  const from = localDay(now - 6 * DAY_MS, "UTC");
  const to = localDay(now, "UTC");
  const range = `from=${from}&to=${to}&tz=UTC`;
  const get = (path: string) => apiGet(t.url, t.fake, ADMIN, path);

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_MAX_EVENT_AGE_H: MAX_AGE_H } });
    const f = t.fake;
    const member = (accountId: string, displayName: string, groups = ["confluence-users"]) =>
      f.users.set(accountId, { accountId, displayName, groups });
    f.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Ada Admin",
      admin: true,
      groups: ["confluence-users"],
    });
    member("amy-never", "Amy Never");
    member("zed-never", "Zed Never");
    member("old-timer", "Olga Old");
    member("middle", "Mia Middle");
    member("recent", "Rita Recent");
    // Active, but not licensed: outside confluence-users (and one Confluence does not know).
    member("contractor", "Carl Contractor", ["contractors"]);
    f.spaces.set("ENG", { key: "ENG", name: "Engineering", admins: { users: [] } });
    f.spaces.set("HR", { key: "HR", name: "People", admins: { users: [] } });
    expect((await f.install(t.url)).status).toBe(204);
    for (const [who, space, at] of [
      ["old-timer", "HR", now - 20 * DAY_MS],
      ["middle", "ENG", now - 10 * DAY_MS],
      ["ghost", "HR", now - 3 * DAY_MS],
      ["contractor", "ENG", now - 2 * DAY_MS],
      ["recent", "ENG", now - 1 * DAY_MS],
    ] as const) {
      expect((await send(t, who, space, at)).status).toBe(204);
    }
  });
  afterAll(() => t?.stop());

  // Never active first (by account id), then the longest idle; descending is the reverse,
  // never-active last.
  const ASC = [
    ADMIN,
    "amy-never",
    "zed-never",
    "old-timer",
    "middle",
    "ghost",
    "contractor",
    "recent",
  ];
  const DESC = [
    "recent",
    "contractor",
    "ghost",
    "middle",
    "old-timer",
    ADMIN,
    "amy-never",
    "zed-never",
  ];

  async function pages(order: "asc" | "desc", extra = "") {
    const ids: string[] = [];
    for (let offset = 0; offset < 20; offset += 3) {
      const res = await get(
        `/api/reports/users?${range}&include=inactive&sort=lastActive&order=${order}&limit=3&offset=${offset}${extra}`,
      );
      expect(res.status).toBe(200);
      const rows = res.json<{ rows: { accountId: string }[] }>().rows;
      if (rows.length === 0) break;
      ids.push(...rows.map((r) => r.accountId));
    }
    return ids;
  }

  async function csvIds(order: "asc" | "desc", extra = "") {
    const res = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/users.csv?${range}&include=inactive&sort=lastActive&order=${order}${extra}`,
      { via: "query" },
    );
    expect(res.status).toBe(200);
    return res.body
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => JSON.parse(line.split(",")[0] as string) as string);
  }

  it("ascending: never-active people first, then the longest idle (JSON, paged)", async () => {
    expect(await pages("asc")).toEqual(ASC);
  });

  it("descending: never-active people last (JSON, paged)", async () => {
    expect(await pages("desc")).toEqual(DESC);
  });

  it("the CSV lists the same order both ways", async () => {
    expect(await csvIds("asc")).toEqual(ASC);
    expect(await csvIds("desc")).toEqual(DESC);
  });

  it("in a space, never active in that space counts as never", async () => {
    // Last active in ENG: old-timer and the others never were; middle 10 days ago.
    const expected = [
      ADMIN,
      "amy-never",
      "old-timer",
      "zed-never",
      "middle",
      "contractor",
      "recent",
    ];
    expect(await pages("asc", "&space=ENG")).toEqual(expected);
    expect(await csvIds("asc", "&space=ENG")).toEqual(expected);
  });

  it("the summary never lists more people than the accounts it counts", async () => {
    type Summary = { users: number; siteUsers: number | null; outsideSiteUsers: number | null };
    const summaryOf = async (query: string) => {
      const res = await get(`/api/reports/users?${range}${query}`);
      expect(res.status).toBe(200);
      return res.json<{ total: number; summary: Summary }>();
    };
    // The clean-up list: the 6 members of confluence-users, plus ghost and contractor (active
    // in the range, outside the group) = 8 listed; 6 of 6 licensed accounts, 2 outside.
    const all = await summaryOf("&include=inactive");
    expect(all.total).toBe(8);
    expect(all.summary).toMatchObject({ users: 8, siteUsers: 6, outsideSiteUsers: 2 });
    // Active only: recent (a member), ghost and contractor: 1 of 6 licensed accounts, 2 outside.
    const active = await summaryOf("");
    expect(active.summary).toMatchObject({ users: 3, siteUsers: 6, outsideSiteUsers: 2 });
    // Filtered down to the people outside the group.
    const outside = await summaryOf("&q=Carl");
    expect(outside.summary).toMatchObject({ users: 1, siteUsers: 6, outsideSiteUsers: 1 });
    for (const s of [all.summary, active.summary, outside.summary]) {
      expect(s.users - (s.outsideSiteUsers as number)).toBeLessThanOrEqual(s.siteUsers as number);
    }
  });
});

describe("active users per day: averaged over the days the site was tracked", () => {
  let t: TestApp;
  const now = Date.now();
  /** When the site was first installed (set below: the app has tracked it for 30 days). */
  const installedAt = now - 30 * DAY_MS;
  const events: OracleEvent[] = [];
  const get = (path: string) => apiGet(t.url, t.fake, ADMIN, path);

  type Calendar = {
    range: { from: string; to: string };
    days: { date: string; users: number }[];
    trackedFrom: string | null;
    trackedDays: number;
    activeUsersPerDay: number | null;
  };
  const calendar = async (from: string, to: string, tz: string) => {
    const res = await get(`/api/reports/calendar?from=${from}&to=${to}&tz=${tz}`);
    expect(res.status).toBe(200);
    return res.json<Calendar>();
  };

  /** The oracle: the mean of the luxon-computed users per day over [since day, today]. */
  function expected(from: string, to: string, tz: string, since: number) {
    const first = localDay(since, tz) > from ? localDay(since, tz) : from;
    const today = localDay(Date.now(), tz);
    const last = to < today ? to : today;
    const days = first <= last ? daysOf(first, last) : [];
    const perDay = new Map(
      expectedCalendar(events, { from, to, tz }).map((d) => [d.date, d.users]),
    );
    const sum = days.reduce((s, d) => s + (perDay.get(d) ?? 0), 0);
    return {
      trackedFrom: days.length ? first : null,
      trackedDays: days.length,
      activeUsersPerDay: days.length ? sum / days.length : null,
    };
  }

  const record = async (accountId: string, at: number, type: EventType = "view") => {
    events.push({ accountId, type, spaceKey: "ENG", at });
    expect((await send(t, accountId, "ENG", at)).status).toBe(204);
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_MAX_EVENT_AGE_H: MAX_AGE_H } });
    t.fake.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Ada Admin",
      admin: true,
      groups: ["confluence-users"],
    });
    expect((await t.fake.install(t.url)).status).toBe(204);
    // The site was first installed 30 days ago; installing again today (an upgrade) must not
    // move the start of tracking, though it rewrites installed_at.
    await t
      .db("tenant")
      .update({ installed_at: new Date(installedAt), first_installed_at: new Date(installedAt) });
    expect((await t.fake.install(t.url)).status).toBe(204);
    const row = await t.db("tenant").first("installed_at");
    expect(new Date(row.installed_at).getTime()).toBeGreaterThan(now - HOUR);

    for (const [who, daysAgo] of [
      ["ann", 20],
      ["bob", 20],
      ["ann", 12],
      ["cid", 5],
      ["ann", 2],
      ["bob", 2],
      ["cid", 2],
    ] as const) {
      await record(who, now - daysAgo * DAY_MS - 2 * HOUR);
    }
  });
  afterAll(() => t?.stop());

  it.each(["UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kathmandu"])(
    "a three-year range counts only the days since the install (%s)",
    async (tz) => {
      const today = localDay(Date.now(), tz);
      const from = DateTime.fromISO(today)
        .minus({ years: 3 })
        .plus({ days: 2 })
        .toISODate() as string;
      const body = await calendar(from, today, tz);
      const want = expected(from, today, tz, installedAt);
      expect(want.trackedDays).toBeGreaterThanOrEqual(30);
      expect(body.trackedFrom).toBe(want.trackedFrom);
      expect(body.trackedFrom).toBe(localDay(installedAt, tz));
      expect(body.trackedDays).toBe(want.trackedDays);
      expect(body.activeUsersPerDay).toBeCloseTo(want.activeUsersPerDay as number, 10);
      // Not the average over every day of the range (what the dashboard showed).
      const overAll = body.days.reduce((s, d) => s + d.users, 0) / body.days.length;
      expect(body.activeUsersPerDay).toBeGreaterThan(overAll * 10);
    },
  );

  it("a range inside the tracked time averages over all its days; days to come do not count", async () => {
    const tz = "Europe/Berlin";
    const from = localDay(now - 21 * DAY_MS, tz);
    const to = DateTime.fromMillis(now, { zone: tz }).plus({ days: 10 }).toISODate() as string;
    const body = await calendar(from, to, tz);
    const want = expected(from, to, tz, installedAt);
    expect(body.trackedFrom).toBe(from);
    expect(body.trackedDays).toBe(want.trackedDays);
    expect(body.trackedDays).toBe(body.days.length - 10);
    expect(body.activeUsersPerDay).toBeCloseTo(want.activeUsersPerDay as number, 10);
  });

  it("a range before the install has no tracked days", async () => {
    const tz = "UTC";
    const body = await calendar(
      localDay(now - 60 * DAY_MS, tz),
      localDay(now - 40 * DAY_MS, tz),
      tz,
    );
    expect(body).toMatchObject({ trackedFrom: null, trackedDays: 0, activeUsersPerDay: null });
  });

  it("a day with a recorded event counts as tracked, even before the install", async () => {
    const earlier = now - 35 * DAY_MS;
    await record("dan", earlier);
    const tz = "Asia/Kathmandu";
    const today = localDay(Date.now(), tz);
    const from = localDay(now - 90 * DAY_MS, tz);
    const body = await calendar(from, today, tz);
    const want = expected(from, today, tz, earlier);
    expect(body.trackedFrom).toBe(localDay(earlier, tz));
    expect(body.trackedDays).toBe(want.trackedDays);
    expect(body.activeUsersPerDay).toBeCloseTo(want.activeUsersPerDay as number, 10);
  });
});
