import * as jwt from "atlassian-jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeConfluence, groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { apiGet } from "../support/api.js";
import { startTestApp, type TestApp } from "../support/harness.js";

const ADMIN = "admin-1";
const SPACE_ADMIN = "space-admin-1";
const GROUP_SPACE_ADMIN = "space-admin-2";
const MEMBER = "member-1";
const DAY = "2026-11-10";
const at = (time: string) => Date.parse(`${DAY}T${time}Z`);

describe("reports API", () => {
  let t: TestApp;
  let other: FakeConfluence;
  const get = (viewer: string, path: string, opts?: Parameters<typeof apiGet>[4]) =>
    apiGet(t.url, t.fake, viewer, path, opts);

  beforeAll(async () => {
    // The fixture day lies in the past: widen the webhook time window (WEBHOOK_MAX_EVENT_AGE_H,
    // 72 h by default) just enough for its timestamps to be stored as sent.
    const hours = Math.ceil((Date.now() - Date.parse(`${DAY}T00:00:00Z`)) / 3_600_000) + 1;
    t = await startTestApp({ env: { WEBHOOK_MAX_EVENT_AGE_H: String(hours) } });
    const f = t.fake;
    f.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Ada Admin",
      admin: true,
      groups: ["confluence-users"],
    });
    f.users.set(SPACE_ADMIN, {
      accountId: SPACE_ADMIN,
      displayName: "Sam Space",
      groups: ["confluence-users"],
    });
    f.users.set(GROUP_SPACE_ADMIN, {
      accountId: GROUP_SPACE_ADMIN,
      displayName: "Gus Group",
      groups: ["eng-leads", "confluence-users"],
    });
    f.users.set(MEMBER, {
      accountId: MEMBER,
      displayName: "<b>Mallory</b>",
      groups: ["confluence-users"],
    });
    f.users.set("alice", {
      accountId: "alice",
      displayName: "Alice Archer",
      groups: ["confluence-users", "writers"],
    });
    f.users.set("=cmd", {
      accountId: "=cmd",
      displayName: "Formula Person",
      groups: ["confluence-users"],
    });
    f.spaces.set("ENG", {
      key: "ENG",
      name: "Engineering",
      admins: { users: [SPACE_ADMIN], groups: ["eng-leads"] },
    });
    f.spaces.set("HR", { key: "HR", name: "People", admins: { users: [] } });
    expect((await f.install(t.url)).status).toBe(204);

    const send = (
      event: string,
      accountId: string,
      spaceKey: string,
      time: string,
      contentId = "100",
    ) =>
      f.sendWebhook(
        t.url,
        event,
        payloadFor(event, { accountId, spaceKey, timestamp: at(time), contentId }),
      );
    for (const r of [
      await send("page_viewed", "alice", "ENG", "09:00:00"),
      await send("page_viewed", "alice", "ENG", "09:05:00"),
      await send("page_created", "alice", "ENG", "10:00:00", "101"),
      await send("comment_created", "alice", "HR", "11:00:00", "555"),
      await send("page_viewed", "ghost", "HR", "12:00:00"),
      await send("page_updated", "=cmd", "ENG", "13:00:00"),
      await send("page_viewed", MEMBER, "HR", "14:00:00"),
    ]) {
      expect(r.status).toBe(204);
    }

    // A second site on the same app, with data of its own under the same account ids (ADMIN,
    // MEMBER, alice) and the same space key (ENG), on the same day. Every test of this file
    // runs with it present; "tenant isolation" below compares both sites' figures in full.
    other = await new FakeConfluence().start();
    const o = other;
    o.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Bea Boss",
      admin: true,
      groups: ["confluence-users"],
    });
    // A non-admin on the first site, a Confluence admin on this one.
    o.users.set(MEMBER, {
      accountId: MEMBER,
      displayName: "Mo Bravo",
      admin: true,
      groups: ["confluence-users"],
    });
    o.users.set("alice", {
      accountId: "alice",
      displayName: "Alice Bravo",
      groups: ["confluence-users"],
    });
    o.users.set("bob", {
      accountId: "bob",
      displayName: "Bob Builder",
      groups: ["confluence-users"],
    });
    o.spaces.set("ENG", { key: "ENG", name: "Engineering at B", admins: { users: [] } });
    o.spaces.set("OPS", { key: "OPS", name: "Operations", admins: { users: [] } });
    expect((await o.install(t.url)).status).toBe(204);
    const sendOther = (
      event: string,
      accountId: string,
      spaceKey: string,
      time: string,
      contentId: string,
    ) =>
      o.sendWebhook(
        t.url,
        event,
        payloadFor(event, { accountId, spaceKey, timestamp: at(time), contentId }),
      );
    for (const r of [
      await sendOther("page_viewed", "alice", "ENG", "08:00:00", "100"),
      await sendOther("page_viewed", "alice", "ENG", "08:20:00", "100"),
      await sendOther("page_viewed", "alice", "ENG", "08:40:00", "100"),
      await sendOther("page_viewed", "alice", "ENG", "09:00:00", "100"),
      await sendOther("page_updated", "alice", "ENG", "10:00:00", "100"),
      await sendOther("page_viewed", ADMIN, "OPS", "11:00:00", "200"),
      await sendOther("page_viewed", ADMIN, "OPS", "11:30:00", "200"),
      await sendOther("comment_created", "bob", "OPS", "12:00:00", "300"),
      await sendOther("comment_created", "bob", "OPS", "12:30:00", "301"),
    ]) {
      expect(r.status).toBe(204);
    }
  });
  afterAll(async () => {
    await other?.stop();
    await t?.stop();
  });

  const range = `from=${DAY}&to=${DAY}&tz=UTC`;

  describe("users", () => {
    it("lists users with counts, names, avatars, profile links; views descending by default", async () => {
      const res = await get(ADMIN, `/api/reports/users?${range}`);
      expect(res.status).toBe(200);
      const body = res.json<{
        range: unknown;
        total: number;
        rows: {
          accountId: string;
          displayName: string;
          counts: Record<string, number>;
          total: number;
        }[];
        summary: { users: number; siteUsers: null; counts: Record<string, number> };
      }>();
      expect(body.range).toEqual({ from: DAY, to: DAY, tz: "UTC", keptFrom: null });
      expect(body.total).toBe(4);
      expect(body.rows[0]).toMatchObject({
        accountId: "alice",
        displayName: "Alice Archer",
        avatarUrl: expect.stringContaining("/wiki/aa-avatar/alice"),
        profileUrl: expect.stringContaining("/wiki/people/alice"),
        counts: { view: 2, create: 1, edit: 0, comment: 1 },
        total: 4,
        activeDays: 1,
        lastActive: new Date(at("11:00:00")).toISOString(),
      });
      // siteUsers: every member of confluence-users (six in the fake site).
      expect(body.summary).toMatchObject({ users: 4, siteUsers: 6 });
      expect(body.summary.counts).toMatchObject({ view: 4, create: 1, edit: 1, comment: 1 });
    });

    it("shows a user Confluence no longer knows by account id", async () => {
      const body = (await get(ADMIN, `/api/reports/users?${range}`)).json<{
        rows: { accountId: string; displayName: string }[];
      }>();
      expect(body.rows.find((r) => r.accountId === "ghost")?.displayName).toBe("ghost");
    });

    it("sorts, pages and searches", async () => {
      const byName = (await get(ADMIN, `/api/reports/users?${range}&sort=name`)).json<{
        rows: { accountId: string }[];
      }>();
      expect(byName.rows.map((r) => r.accountId)).toEqual(
        ["<b>Mallory</b>", "alice", "=cmd", "ghost"].map((n) =>
          n === "<b>Mallory</b>" ? MEMBER : n === "=cmd" ? "=cmd" : n,
        ),
      );
      const page = (
        await get(ADMIN, `/api/reports/users?${range}&sort=name&limit=2&offset=2`)
      ).json<{
        total: number;
        rows: { accountId: string }[];
      }>();
      expect(page.total).toBe(4);
      expect(page.rows.map((r) => r.accountId)).toEqual(["=cmd", "ghost"]);
      const searched = (await get(ADMIN, `/api/reports/users?${range}&q=archer`)).json<{
        rows: { accountId: string }[];
      }>();
      expect(searched.rows.map((r) => r.accountId)).toEqual(["alice"]);
      const edits = (await get(ADMIN, `/api/reports/users?${range}&sort=edit&limit=1`)).json<{
        rows: { accountId: string }[];
      }>();
      expect(edits.rows[0]?.accountId).toBe("=cmd");
    });

    it("filters by a group's current members", async () => {
      const res = await get(
        ADMIN,
        `/api/reports/users?${range}&group=${groupIdFromName("writers")}`,
      );
      expect(res.status).toBe(200);
      expect(res.json<{ rows: { accountId: string }[] }>().rows.map((r) => r.accountId)).toEqual([
        "alice",
      ]);
    });

    it("filters by space", async () => {
      const res = await get(ADMIN, `/api/reports/users?${range}&space=ENG&sort=name`);
      const body = res.json<{ rows: { accountId: string; counts: Record<string, number> }[] }>();
      expect(body.rows.map((r) => r.accountId)).toEqual(["alice", "=cmd"]);
      expect(body.rows[0]?.counts).toMatchObject({ view: 2, create: 1, comment: 0 });
    });
  });

  describe("inactive users", () => {
    it("include=inactive adds confluence-users members with no event: zeros, last active or never", async () => {
      const res = await get(ADMIN, `/api/reports/users?${range}&include=inactive&sort=name`);
      expect(res.status).toBe(200);
      const body = res.json<{
        total: number;
        rows: { accountId: string; total: number; activeDays: number; lastActive: string | null }[];
      }>();
      // 4 active (alice, ghost, =cmd, member) + the 3 members with no event.
      expect(body.total).toBe(7);
      const admin = body.rows.find((r) => r.accountId === ADMIN);
      expect(admin).toMatchObject({ total: 0, activeDays: 0, lastActive: null });
      expect(body.rows.find((r) => r.accountId === "alice")?.total).toBe(4);
    });

    it("inactiveGroup picks the group; the CSV lists the same rows", async () => {
      const group = groupIdFromName("eng-leads");
      const res = await get(
        ADMIN,
        `/api/reports/users?${range}&include=inactive&inactiveGroup=${group}`,
      );
      const ids = res.json<{ rows: { accountId: string }[] }>().rows.map((r) => r.accountId);
      expect(ids).toContain(GROUP_SPACE_ADMIN);
      expect(ids).not.toContain(ADMIN);
      const csv = await get(ADMIN, `/api/reports/users.csv?${range}&include=inactive`, {
        via: "query",
      });
      expect(csv.body.trim().split("\n")).toHaveLength(1 + 7);
      expect(csv.body).toContain(`"${ADMIN}","0","0","0","0"`);
    });

    it("an unknown inactiveGroup is a 400", async () => {
      const res = await get(
        ADMIN,
        `/api/reports/users?${range}&include=inactive&inactiveGroup=nope`,
      );
      expect(res.status).toBe(400);
    });
  });

  describe("permissions", () => {
    it("a non-admin gets 403 for site-wide reports", async () => {
      const res = await get(MEMBER, `/api/reports/users?${range}`);
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: "forbidden" } });
    });

    it("a space admin reads their space, directly or through a group, and nothing else", async () => {
      expect((await get(SPACE_ADMIN, `/api/reports/users?${range}&space=ENG`)).status).toBe(200);
      expect(
        (await get(GROUP_SPACE_ADMIN, `/api/reports/calendar?${range}&space=ENG`)).status,
      ).toBe(200);
      expect((await get(SPACE_ADMIN, `/api/reports/users?${range}&space=HR`)).status).toBe(403);
      expect((await get(SPACE_ADMIN, `/api/reports/users?${range}`)).status).toBe(403);
      expect((await get(SPACE_ADMIN, `/api/reports/breakdown?${range}`)).status).toBe(403);
    });

    it("a token signed with another site's secret is 401", async () => {
      const forged = t.fake.contextToken(ADMIN, { secret: other.sharedSecret });
      const res = await get(ADMIN, `/api/reports/users?${range}`, { token: forged });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: expect.objectContaining({ code: "unauthenticated" }) });
    });

    it("no token, an expired token, or an iframe URL token is 401", async () => {
      expect((await get(ADMIN, `/api/reports/users?${range}`, { token: null })).status).toBe(401);
      const expired = t.fake.contextToken(ADMIN, { exp: Math.floor(Date.now() / 1000) - 5 });
      expect((await get(ADMIN, `/api/reports/users?${range}`, { token: expired })).status).toBe(
        401,
      );
      const pageToken = t.fake.signRequest("GET", "/pages/activity-report", { sub: ADMIN });
      expect((await get(ADMIN, `/api/reports/users?${range}`, { token: pageToken })).status).toBe(
        401,
      );
    });
  });

  describe("bad parameters are 400 with an error body", () => {
    it.each([
      ["unknown zone", "from=2026-11-01&to=2026-11-02&tz=Mars/Olympus"],
      ["bad date", "from=2026-13-01&to=2026-11-02"],
      ["from after to", "from=2026-11-05&to=2026-11-02"],
      ["over 3 years", "from=2020-01-01&to=2026-11-02"],
      ["unknown sort", "from=2026-11-01&to=2026-11-02&sort=shoe"],
      ["limit over 1000", "from=2026-11-01&to=2026-11-02&limit=5000"],
    ])("%s", async (_name, query) => {
      const res = await get(ADMIN, `/api/reports/users?${query}`);
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: "invalid_parameter" } });
    });
  });

  describe("calendar, breakdown, one user", () => {
    it("calendar has one entry per day, zeros included", async () => {
      const res = await get(ADMIN, `/api/reports/calendar?from=2026-11-09&to=2026-11-11&tz=UTC`);
      expect(res.json<{ days: unknown[] }>().days).toEqual([
        { date: "2026-11-09", events: 0, users: 0 },
        { date: DAY, events: 7, users: 4 },
        { date: "2026-11-11", events: 0, users: 0 },
      ]);
    });

    it("breakdown counts the ten types, for the site and for one user", async () => {
      const site = (await get(ADMIN, `/api/reports/breakdown?${range}`)).json<{
        counts: Record<string, number>;
      }>();
      expect(site.counts).toEqual({
        view: 4,
        create: 1,
        edit: 1,
        delete: 0,
        comment: 1,
        like: 0,
        attachment: 0,
        label: 0,
        space: 0,
        other: 0,
      });
      const one = (await get(ADMIN, `/api/reports/breakdown?${range}&accountId=alice`)).json<{
        counts: Record<string, number>;
      }>();
      expect(one.counts).toMatchObject({ view: 2, create: 1, comment: 1, edit: 0 });
    });

    it("one user's activity: KPIs, days, counts, recent events with links", async () => {
      const res = await get(ADMIN, `/api/reports/users/alice?${range}`);
      expect(res.status).toBe(200);
      const body = res.json<{
        recent: { type: string; event: string; url: string | null; title: string | null }[];
        days: unknown[];
      }>();
      expect(body).toMatchObject({
        accountId: "alice",
        displayName: "Alice Archer",
        activeDays: 1,
        longestStreak: 1,
        counts: { view: 2, create: 1, comment: 1 },
      });
      expect(body.days).toEqual([{ date: DAY, events: 4, users: 1 }]);
      expect(body.recent.map((e) => e.event)).toEqual([
        "comment_created",
        "page_created",
        "page_viewed",
        "page_viewed",
      ]);
      expect(body.recent[1]?.url).toContain("/wiki/pages/viewpage.action?pageId=101");
    });
  });

  describe("CSV", () => {
    it("has exactly the product's header, one row per listed user, formulas neutralised", async () => {
      const res = await get(ADMIN, `/api/reports/users.csv?${range}`, { via: "query" });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/csv");
      expect(res.headers.get("content-disposition")).toContain("attachment");
      const lines = res.body.trim().split("\n");
      expect(lines[0]).toBe('"Account Id","Views","Creates","Edits","Comments"');
      expect(lines).toHaveLength(5);
      expect(lines[1]).toBe('"alice","2","1","0","1"');
      expect(lines).toContain(`"'=cmd","0","0","1","0"`);
    });

    it("follows the filters and order of the report", async () => {
      const res = await get(ADMIN, `/api/reports/users.csv?${range}&space=ENG&sort=name`, {
        via: "query",
      });
      expect(res.body.trim().split("\n").slice(1)).toEqual([
        '"alice","2","1","0","0"',
        `"'=cmd","0","0","1","0"`,
      ]);
    });

    it("refuses a non-admin", async () => {
      expect((await get(MEMBER, `/api/reports/users.csv?${range}`, { via: "query" })).status).toBe(
        403,
      );
    });
  });

  describe("tenant isolation: two sites with data, same account ids and space keys", () => {
    /** Everything one site's viewer reads: users report, calendar, breakdown, activity, CSV. */
    const figures = async (fake: FakeConfluence, viewer: string) => {
      const read = async (path: string, via?: "query") => {
        const res = await apiGet(t.url, fake, viewer, path, { via });
        expect(res.status, `${path}: ${res.body}`).toBe(200);
        return res;
      };
      // Rows and CSV lines are compared in account id order: which order the report uses is
      // tested above (and sorting by name needs names the site's first request only fetches).
      const byCodePoint = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
      const users = (await read(`/api/reports/users?${range}`)).json<{
        total: number;
        rows: Record<string, unknown>[];
        summary: { users: number; siteUsers: number; counts: Record<string, number> };
      }>();
      const activity = async (accountId: string) => {
        const a = (await read(`/api/reports/users/${accountId}?${range}`)).json<{
          recent: { event: string; url: string | null }[];
          [key: string]: unknown;
        }>();
        return {
          accountId: a.accountId,
          displayName: a.displayName,
          activeDays: a.activeDays,
          counts: a.counts,
          days: a.days,
          recent: a.recent.map((e) => ({ event: e.event, url: e.url })),
        };
      };
      return {
        users: {
          total: users.total,
          rows: users.rows
            .sort((x, y) => byCodePoint(String(x.accountId), String(y.accountId)))
            .map((r) => ({
              accountId: r.accountId,
              displayName: r.displayName,
              profileUrl: r.profileUrl,
              counts: r.counts,
              total: r.total,
              activeDays: r.activeDays,
              lastActive: r.lastActive,
            })),
          summary: {
            users: users.summary.users,
            siteUsers: users.summary.siteUsers,
            counts: users.summary.counts,
          },
        },
        calendar: (await read(`/api/reports/calendar?from=2026-11-09&to=2026-11-11&tz=UTC`)).json<{
          days: unknown;
        }>().days,
        breakdown: (await read(`/api/reports/breakdown?${range}`)).json<{ counts: unknown }>()
          .counts,
        engBreakdown: (await read(`/api/reports/breakdown?${range}&space=ENG`)).json<{
          counts: unknown;
        }>().counts,
        alice: await activity("alice"),
        admin: await activity(ADMIN),
        csv: (await read(`/api/reports/users.csv?${range}`, "query")).body
          .trim()
          .split("\n")
          .map((line, i) => (i === 0 ? `0${line}` : `1${line}`))
          .sort(byCodePoint)
          .map((line) => line.slice(1)),
      };
    };
    const counts = (c: Partial<Record<string, number>>) => ({
      view: 0,
      create: 0,
      edit: 0,
      delete: 0,
      comment: 0,
      like: 0,
      attachment: 0,
      label: 0,
      space: 0,
      other: 0,
      ...c,
    });
    const lastActive = (time: string) => new Date(at(time)).toISOString();
    const calendar = (events: number, users: number) => [
      { date: "2026-11-09", events: 0, users: 0 },
      { date: DAY, events, users },
      { date: "2026-11-11", events: 0, users: 0 },
    ];
    const CSV_HEADER = '"Account Id","Views","Creates","Edits","Comments"';

    it("each site's admin sees exactly its own site's figures", async () => {
      const a = t.fake;
      const row = (fake: FakeConfluence, accountId: string, displayName: string) => ({
        accountId,
        displayName,
        profileUrl: `${fake.baseUrl}/people/${encodeURIComponent(accountId)}`,
      });
      const page = (fake: FakeConfluence, id: string) =>
        `${fake.baseUrl}/pages/viewpage.action?pageId=${id}`;
      const siteA = await figures(a, ADMIN);
      const siteB = await figures(other, ADMIN);

      expect(siteA).toEqual({
        users: {
          total: 4,
          rows: [
            {
              ...row(a, "=cmd", "Formula Person"),
              counts: counts({ edit: 1 }),
              total: 1,
              activeDays: 1,
              lastActive: lastActive("13:00:00"),
            },
            {
              ...row(a, "alice", "Alice Archer"),
              counts: counts({ view: 2, create: 1, comment: 1 }),
              total: 4,
              activeDays: 1,
              lastActive: lastActive("11:00:00"),
            },
            {
              // Unknown to Confluence: no profile to link to.
              ...row(a, "ghost", "ghost"),
              profileUrl: null,
              counts: counts({ view: 1 }),
              total: 1,
              activeDays: 1,
              lastActive: lastActive("12:00:00"),
            },
            {
              ...row(a, MEMBER, "<b>Mallory</b>"),
              counts: counts({ view: 1 }),
              total: 1,
              activeDays: 1,
              lastActive: lastActive("14:00:00"),
            },
          ],
          summary: {
            users: 4,
            siteUsers: 6,
            counts: counts({ view: 4, create: 1, edit: 1, comment: 1 }),
          },
        },
        calendar: calendar(7, 4),
        breakdown: counts({ view: 4, create: 1, edit: 1, comment: 1 }),
        engBreakdown: counts({ view: 2, create: 1, edit: 1 }),
        alice: {
          accountId: "alice",
          displayName: "Alice Archer",
          activeDays: 1,
          counts: counts({ view: 2, create: 1, comment: 1 }),
          days: [{ date: DAY, events: 4, users: 1 }],
          recent: [
            // A comment links to the page it is on.
            { event: "comment_created", url: page(a, "42") },
            { event: "page_created", url: page(a, "101") },
            { event: "page_viewed", url: page(a, "100") },
            { event: "page_viewed", url: page(a, "100") },
          ],
        },
        admin: {
          accountId: ADMIN,
          displayName: "Ada Admin",
          activeDays: 0,
          counts: counts({}),
          days: [{ date: DAY, events: 0, users: 0 }],
          recent: [],
        },
        csv: [
          CSV_HEADER,
          `"'=cmd","0","0","1","0"`,
          '"alice","2","1","0","1"',
          '"ghost","1","0","0","0"',
          `"${MEMBER}","1","0","0","0"`,
        ],
      });
      expect(siteB).toEqual({
        users: {
          total: 3,
          rows: [
            {
              ...row(other, ADMIN, "Bea Boss"),
              counts: counts({ view: 2 }),
              total: 2,
              activeDays: 1,
              lastActive: lastActive("11:30:00"),
            },
            {
              ...row(other, "alice", "Alice Bravo"),
              counts: counts({ view: 4, edit: 1 }),
              total: 5,
              activeDays: 1,
              lastActive: lastActive("10:00:00"),
            },
            {
              ...row(other, "bob", "Bob Builder"),
              counts: counts({ comment: 2 }),
              total: 2,
              activeDays: 1,
              lastActive: lastActive("12:30:00"),
            },
          ],
          summary: { users: 3, siteUsers: 4, counts: counts({ view: 6, edit: 1, comment: 2 }) },
        },
        calendar: calendar(9, 3),
        breakdown: counts({ view: 6, edit: 1, comment: 2 }),
        engBreakdown: counts({ view: 4, edit: 1 }),
        alice: {
          accountId: "alice",
          displayName: "Alice Bravo",
          activeDays: 1,
          counts: counts({ view: 4, edit: 1 }),
          days: [{ date: DAY, events: 5, users: 1 }],
          recent: [
            { event: "page_updated", url: page(other, "100") },
            ...Array.from({ length: 4 }, () => ({ event: "page_viewed", url: page(other, "100") })),
          ],
        },
        admin: {
          accountId: ADMIN,
          displayName: "Bea Boss",
          activeDays: 1,
          counts: counts({ view: 2 }),
          days: [{ date: DAY, events: 2, users: 1 }],
          recent: [
            { event: "page_viewed", url: page(other, "200") },
            { event: "page_viewed", url: page(other, "200") },
          ],
        },
        csv: [
          CSV_HEADER,
          `"${ADMIN}","2","0","0","0"`,
          '"alice","4","0","1","0"',
          '"bob","0","0","0","2"',
        ],
      });
    });

    it("an account id is an admin on one site only: the same id on the other site gets 403", async () => {
      // MEMBER is a Confluence admin on the second site and not on the first.
      const onB = await apiGet(t.url, other, MEMBER, `/api/reports/breakdown?${range}`);
      expect(onB.status).toBe(200);
      expect(onB.json<{ counts: unknown }>().counts).toEqual(
        counts({ view: 6, edit: 1, comment: 2 }),
      );
      const onA = await get(MEMBER, `/api/reports/breakdown?${range}`);
      expect(onA.status).toBe(403);
      expect(onA.json()).toEqual({ error: expect.objectContaining({ code: "forbidden" }) });
    });

    it("a token signed with one site's secret but naming the other site (iss) is 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = (iss: string, secret: string) =>
        jwt.encodeSymmetric(
          { iss, sub: ADMIN, iat: now, exp: now + 300, qsh: "context-qsh" },
          secret,
        );
      const path = `/api/reports/users?${range}`;
      // The control: each site's own token is accepted.
      expect(
        (await get(ADMIN, path, { token: token(t.fake.clientKey, t.fake.sharedSecret) })).status,
      ).toBe(200);
      expect(
        (await get(ADMIN, path, { token: token(other.clientKey, other.sharedSecret) })).status,
      ).toBe(200);
      for (const forged of [
        token(other.clientKey, t.fake.sharedSecret),
        token(t.fake.clientKey, other.sharedSecret),
      ]) {
        const res = await get(ADMIN, path, { token: forged });
        expect(res.status).toBe(401);
        expect(res.json()).toEqual({ error: expect.objectContaining({ code: "unauthenticated" }) });
        const csv = await get(ADMIN, `/api/reports/users.csv?${range}`, {
          token: forged,
          via: "query",
        });
        expect(csv.status).toBe(401);
        expect(csv.body).not.toContain("alice");
      }
    });
  });
});
