import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { apiGet } from "../support/api.js";
import { startTestApp, type TestApp } from "../support/harness.js";

/**
 * Issue 10, item 8: report requests read group members and profiles as stored; a background
 * job refreshes them. Time is moved with fake timers (Date only): the app runs in this
 * process, so its caches and the ages it compares see the same clock.
 */

const ADMIN = "admin";
const MINUTE = 60_000;
const DAY_MS = 86_400_000;
const LICENCE = groupIdFromName("confluence-users");
const REAL_START = Date.now();
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
// Wide enough that moving the clock by minutes never moves "today" out of it.
const RANGE = `from=${day(REAL_START - 2 * DAY_MS)}&to=${day(REAL_START + DAY_MS)}&tz=UTC`;

interface UsersBody {
  membersRefreshedAt: string | null;
  rows: { accountId: string; displayName: string }[];
  summary: { siteUsers: number | null };
}

describe("report requests read group members and profiles as stored", () => {
  let t: TestApp;
  let clock = REAL_START;
  const get = (path: string) => apiGet(t.url, t.fake, ADMIN, path);
  const users = async (extra = "") => {
    const res = await get(`/api/reports/users?${RANGE}${extra}`);
    expect(res.status).toBe(200);
    return res.json<UsersBody>();
  };
  const ids = (body: UsersBody) => body.rows.map((r) => r.accountId).sort();
  /** REST calls the fake received since `mark`, but the permission checks (cached a minute). */
  const callsSince = (mark: number) =>
    t.fake.requests
      .slice(mark)
      .map((r) => r.path)
      .filter((p) => !p.startsWith("/wiki/rest/api/user?"));
  const advance = (ms: number) => {
    clock += ms;
    vi.setSystemTime(clock);
  };

  beforeAll(async () => {
    t = await startTestApp();
    const member = (accountId: string, displayName: string, groups = ["confluence-users"]) =>
      t.fake.users.set(accountId, { accountId, displayName, groups });
    t.fake.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Ada Admin",
      admin: true,
      groups: ["confluence-users"],
    });
    member("alice", "Alice Active");
    member("bob", "Bob Builder", ["confluence-users", "eng"]);
    member("carol", "Carol Idle");
    member("dave", "Dave Idle");
    expect((await t.fake.install(t.url)).status).toBe(204);
    for (const accountId of ["alice", "bob"]) {
      const res = await t.fake.sendWebhook(
        t.url,
        "page_viewed",
        payloadFor("page_viewed", { accountId, timestamp: REAL_START - MINUTE }),
      );
      expect(res.status).toBe(204);
    }
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(clock);
  });
  afterAll(async () => {
    vi.useRealTimers();
    await t?.stop();
  });

  it("first use: concurrent requests share one listing of the groups and of confluence-users", async () => {
    const mark = t.fake.requests.length;
    const answers = await Promise.all([
      users("&include=inactive"),
      users(),
      users(`&group=${LICENCE}`),
    ]);
    expect(ids(answers[0] as UsersBody)).toEqual(["admin", "alice", "bob", "carol", "dave"]);
    expect(answers[0]?.summary.siteUsers).toBe(5);
    expect(answers[0]?.membersRefreshedAt).toEqual(expect.any(String));
    const calls = callsSince(mark);
    expect(calls.filter((p) => p.startsWith("/wiki/rest/api/group?"))).toHaveLength(1);
    expect(calls.filter((p) => p.includes(`/${LICENCE}/membersByGroupId`))).toEqual([
      `/wiki/rest/api/group/${LICENCE}/membersByGroupId?start=0&limit=200`,
    ]);
  });

  it("once the job has run, requests past every cache lifetime make no calls for groups or names", async () => {
    advance(11 * MINUTE); // past the ten minutes the groups and members were cached for
    const run = await t.refreshDirectory();
    expect(run).toMatchObject({ sites: 1, failed: 0 });
    expect(run.groups).toBeGreaterThanOrEqual(1);
    const refreshedAt = new Date(clock).toISOString();

    const mark = t.fake.requests.length;
    for (let i = 0; i < 3; i++) {
      const body = await users("&include=inactive");
      expect(ids(body)).toEqual(["admin", "alice", "bob", "carol", "dave"]);
      expect(body.membersRefreshedAt).toBe(refreshedAt);
      expect(body.rows.find((r) => r.accountId === "carol")?.displayName).toBe("Carol Idle");
    }
    expect(ids(await users(`&group=${LICENCE}`))).toEqual(["alice", "bob"]);
    const csv = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/users.csv?${RANGE}&include=inactive`,
      {
        via: "query",
      },
    );
    expect(csv.status).toBe(200);
    expect((await get("/api/groups")).status).toBe(200);
    // No paging through members, no listing of groups, no profile lookups.
    expect(callsSince(mark)).toEqual([]);
  });

  it("the job picks up a member removed in Confluence; requests alone do not page", async () => {
    const carol = t.fake.users.get("carol");
    if (carol) carol.groups = [];
    advance(6 * MINUTE); // past the job's own skip window (half its interval), within staleness
    let mark = t.fake.requests.length;
    const before = await users("&include=inactive");
    expect(ids(before)).toContain("carol");
    expect(before.summary.siteUsers).toBe(5);
    expect(callsSince(mark)).toEqual([]);

    const run = await t.refreshDirectory();
    expect(run.failed).toBe(0);
    mark = t.fake.requests.length;
    const after = await users("&include=inactive");
    expect(ids(after)).toEqual(["admin", "alice", "bob", "dave"]);
    expect(after.summary.siteUsers).toBe(4);
    expect(after.membersRefreshedAt).toBe(new Date(clock).toISOString());
    expect(callsSince(mark)).toEqual([]);
  });

  it("a group asked for in a filter is kept fresh by the job too", async () => {
    const eng = groupIdFromName("eng");
    expect(ids(await users(`&group=${eng}`))).toEqual(["bob"]);
    const alice = t.fake.users.get("alice");
    if (alice) alice.groups = ["confluence-users", "eng"];
    advance(6 * MINUTE);
    expect(ids(await users(`&group=${eng}`))).toEqual(["bob"]); // as stored
    await t.refreshDirectory();
    const mark = t.fake.requests.length;
    expect(ids(await users(`&group=${eng}`))).toEqual(["alice", "bob"]);
    expect(callsSince(mark)).toEqual([]);
  });

  it("with the job not running, a stale copy is answered at once and refreshed in the background", async () => {
    const dave = t.fake.users.get("dave");
    if (dave) dave.groups = [];
    // Hold Confluence's member listings: the request must answer without them.
    const fake = t.fake as unknown as { handle(req: IncomingMessage, res: unknown): unknown };
    const handle = fake.handle.bind(t.fake);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    fake.handle = (req, res) =>
      req.url?.includes("/membersByGroupId")
        ? void held.then(() => handle(req, res))
        : handle(req, res);
    try {
      advance(25 * MINUTE); // older than ten minutes, and no job run
      const stale = await users("&include=inactive");
      expect(ids(stale)).toContain("dave"); // answered from what is stored
      expect(Date.parse(stale.membersRefreshedAt ?? "")).toBeLessThan(clock - 10 * MINUTE);
    } finally {
      release();
      fake.handle = handle;
    }
    await vi.waitFor(
      async () => {
        const row = await t.db("group_cache").where({ group_id: LICENCE }).first("fetched_at");
        expect(new Date(row.fetched_at).getTime()).toBeGreaterThanOrEqual(clock);
      },
      { timeout: 5000, interval: 50 },
    );
    expect(ids(await users("&include=inactive"))).toEqual(["admin", "alice", "bob"]);
  });

  it("the activity dialog shows the stored name, however old, without asking Confluence", async () => {
    advance(2 * DAY_MS); // past the day after which the job looks names up again; no job run
    const mark = t.fake.requests.length;
    const res = await get(`/api/reports/users/alice?${RANGE}`);
    expect(res.status).toBe(200);
    const body = await res.json<{ displayName: string; lastActive: string | null }>();
    expect(body.displayName).toBe("Alice Active");
    expect(body.lastActive).toBe(new Date(REAL_START - MINUTE).toISOString());
    expect(callsSince(mark)).toEqual([]);
  });
});
