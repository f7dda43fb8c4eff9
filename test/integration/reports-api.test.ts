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
  });
  afterAll(() => t?.stop());

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
      expect(body.range).toEqual({ from: DAY, to: DAY, tz: "UTC" });
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

    it("a token from another site's secret is 401", async () => {
      const other = await new FakeConfluence().start();
      try {
        expect((await other.install(t.url)).status).toBe(204);
        const forged = t.fake.contextToken(ADMIN, { secret: other.sharedSecret });
        expect((await get(ADMIN, `/api/reports/users?${range}`, { token: forged })).status).toBe(
          401,
        );
        // The other site's own valid token sees only the other site's (empty) data.
        const own = await apiGet(t.url, other, ADMIN, `/api/reports/users?${range}`);
        expect([200, 403]).toContain(own.status);
        if (own.status === 200) expect(own.json<{ total: number }>().total).toBe(0);
      } finally {
        await other.stop();
      }
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
});
