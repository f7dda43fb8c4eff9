import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { apiGet } from "../support/api.js";
import { BACKEND, eventCount, startTestApp, type TestApp } from "../support/harness.js";

/**
 * Settings hold only what the app can apply: every excluded person, group and space is checked
 * with Confluence on save (400 naming each bad entry; 503 and nothing saved when Confluence
 * cannot answer), a space key typed in another case is saved under the space's real key, the
 * pickers search people and spaces by name, and the audit says in names what changed.
 */
const ADMIN = "557058:settings-admin";
const MEMBER = "557058:settings-member";
const ADA = "557058:ada";
const GRACE = "557058:grace";

interface SettingsBody {
  settings: {
    excludedUsers: string[];
    excludedGroups: string[];
    excludedSpaces: string[];
    trackAppAccounts: boolean;
    retentionDays: number | null;
  };
  names: {
    users: Record<string, string>;
    spaces: Record<string, string>;
    groups: Record<string, string>;
  };
  audit: {
    changedAt: string;
    accountId: string;
    displayName: string | null;
    changes: Record<string, unknown>[];
  }[];
}

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { field: string; value: string; problem: string }[];
  };
}

const EMPTY = {
  excludedUsers: [] as string[],
  excludedGroups: [] as string[],
  excludedSpaces: [] as string[],
  trackAppAccounts: false,
  retentionDays: null,
};

describe(`settings are checked with Confluence (${BACKEND})`, () => {
  let t: TestApp;

  const put = async (body: unknown, viewer = ADMIN) => {
    const res = await fetch(`${t.url}/api/settings`, {
      method: "PUT",
      headers: {
        authorization: `JWT ${t.fake.contextToken(viewer)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: <T>() => JSON.parse(text) as T };
  };
  const current = async () => {
    const res = await apiGet(t.url, t.fake, ADMIN, "/api/settings");
    expect(res.status, res.body).toBe(200);
    return res.json<SettingsBody>();
  };
  const view = (accountId: string, spaceKey: string) =>
    t.fake.sendWebhook(
      t.url,
      "page_viewed",
      payloadFor("page_viewed", { accountId, spaceKey, timestamp: Date.now() - 1000 }),
    );

  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Sally Settings", admin: true });
    t.fake.users.set(MEMBER, { accountId: MEMBER, displayName: "Mo Member" });
    t.fake.users.set(ADA, { accountId: ADA, displayName: "Ada Lovelace", groups: ["contractors"] });
    t.fake.users.set(GRACE, { accountId: GRACE, displayName: "Grace Hopper" });
    // More people called Adam than a picker shows at once.
    for (let i = 0; i < 25; i++) {
      const id = `557058:adam-${i}`;
      t.fake.users.set(id, { accountId: id, displayName: `Adam Number${i}` });
    }
    t.fake.spaces.set("HR", { key: "HR", name: "Human Resources" });
    t.fake.spaces.set("ENG", { key: "ENG", name: "Engineering" });
    t.fake.spaces.set("ds", { key: "ds", name: "Demonstration Space" });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());
  beforeEach(() => {
    t.fake.unavailable = null;
  });

  it("a display name where an account id belongs is refused, naming it; nothing is saved", async () => {
    const res = await put({ ...EMPTY, excludedUsers: [ADA, "Grace Hopper"] });
    expect(res.status, res.text).toBe(400);
    const body = res.json<ErrorBody>();
    expect(body.error.code).toBe("invalid_settings");
    expect(body.error.details).toEqual([
      { field: "excludedUsers", value: "Grace Hopper", problem: "no such person" },
    ]);
    expect(body.error.message).toContain('"Grace Hopper"');
    expect((await current()).audit).toEqual([]);
  });

  it("a space that does not exist is refused", async () => {
    const res = await put({ ...EMPTY, excludedSpaces: ["HR", "NOPE"] });
    expect(res.status, res.text).toBe(400);
    expect(res.json<ErrorBody>().error.details).toEqual([
      { field: "excludedSpaces", value: "NOPE", problem: "no such space" },
    ]);
    expect((await current()).settings.excludedSpaces).toEqual([]);
  });

  it("a group that does not exist is refused", async () => {
    const ghost = groupIdFromName("ghosts");
    const res = await put({ ...EMPTY, excludedGroups: [ghost] });
    expect(res.status, res.text).toBe(400);
    expect(res.json<ErrorBody>().error.details).toEqual([
      { field: "excludedGroups", value: ghost, problem: "no such group" },
    ]);
  });

  it("several bad entries are all named at once", async () => {
    const res = await put({
      ...EMPTY,
      excludedUsers: ["Ada Lovelace", ADA, "557058:nobody"],
      excludedGroups: [groupIdFromName("contractors"), groupIdFromName("ghosts")],
      excludedSpaces: ["ENG", "NOPE", "GONE"],
    });
    expect(res.status, res.text).toBe(400);
    const details = res.json<ErrorBody>().error.details ?? [];
    expect(details).toHaveLength(5);
    expect(details).toEqual(
      expect.arrayContaining([
        { field: "excludedUsers", value: "Ada Lovelace", problem: "no such person" },
        { field: "excludedUsers", value: "557058:nobody", problem: "no such person" },
        { field: "excludedGroups", value: groupIdFromName("ghosts"), problem: "no such group" },
        { field: "excludedSpaces", value: "NOPE", problem: "no such space" },
        { field: "excludedSpaces", value: "GONE", problem: "no such space" },
      ]),
    );
    expect(res.json<ErrorBody>().error.message).toMatch(/^5 entries do not exist/);
    expect((await current()).audit).toEqual([]);
  });

  it("the longest lists are checked in calls short enough for Confluence: every entry named", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `K${i}${"x".repeat(240)}`);
    const users = Array.from({ length: 1000 }, (_, i) => `557058:${i}${"u".repeat(110)}`);
    const res = await put({ ...EMPTY, excludedUsers: users, excludedSpaces: keys });
    expect(res.status, res.text.slice(0, 300)).toBe(400);
    expect(res.json<ErrorBody>().error.details).toHaveLength(2000);
    expect(res.json<ErrorBody>().error.message).toContain("and 1995 more");
  }, 60_000);

  it("a key typed in another case is saved under the space's real key, and excludes that space", async () => {
    const before = await eventCount(t.db);
    const res = await put({ ...EMPTY, excludedSpaces: ["hr", "HR", "DS"] });
    expect(res.status, res.text).toBe(200);
    const body = res.json<SettingsBody>();
    expect(body.settings.excludedSpaces).toEqual(["HR", "ds"]);
    expect(body.names.spaces).toEqual({ HR: "Human Resources", ds: "Demonstration Space" });
    expect((await current()).settings.excludedSpaces).toEqual(["HR", "ds"]);
    expect((await view(GRACE, "HR")).status).toBe(204); // excluded space: not stored
    expect(await eventCount(t.db)).toBe(before);
    expect((await view(GRACE, "ENG")).status).toBe(204);
    expect(await eventCount(t.db)).toBe(before + 1);
  });

  it("when Confluence cannot answer, saving answers 503 and saves nothing", async () => {
    const before = await current();
    t.fake.unavailable =
      /^\/wiki\/(rest\/api\/user\/bulk|api\/v2\/spaces|rest\/api\/group\/by-id)$/;
    const res = await put({
      ...EMPTY,
      excludedUsers: [ADA],
      excludedGroups: [groupIdFromName("contractors")],
      excludedSpaces: ["ENG"],
    });
    expect(res.status, res.text).toBe(503);
    expect(res.json<ErrorBody>().error.code).toBe("confluence_unavailable");
    t.fake.unavailable = null;
    const after = await current();
    expect(after.settings).toEqual(before.settings);
    expect(after.audit).toHaveLength(before.audit.length);
  }, 30_000);

  it("the audit names who changed what: people, groups and spaces added and removed, flags from and to", async () => {
    const contractors = groupIdFromName("contractors");
    const first = await put({
      excludedUsers: [ADA, GRACE],
      excludedGroups: [contractors],
      excludedSpaces: ["ENG", "HR"],
      trackAppAccounts: false,
      retentionDays: null,
    });
    expect(first.status, first.text).toBe(200);
    const second = await put({
      excludedUsers: [GRACE],
      excludedGroups: [],
      excludedSpaces: ["eng"],
      trackAppAccounts: true,
      retentionDays: 90,
    });
    expect(second.status, second.text).toBe(200);
    const { audit, settings, names } = await current();
    expect(settings).toEqual({
      excludedUsers: [GRACE],
      excludedGroups: [],
      excludedSpaces: ["ENG"],
      trackAppAccounts: true,
      retentionDays: 90,
    });
    expect(names).toEqual({
      users: { [GRACE]: "Grace Hopper" },
      spaces: { ENG: "Engineering" },
      groups: {},
    });
    expect(audit[0]).toMatchObject({ accountId: ADMIN, displayName: "Sally Settings" });
    expect(audit[0]?.changes).toEqual([
      { field: "excludedUsers", added: [], removed: [{ id: ADA, name: "Ada Lovelace" }] },
      {
        field: "excludedGroups",
        added: [],
        removed: [{ id: contractors, name: "contractors" }],
      },
      { field: "excludedSpaces", added: [], removed: [{ id: "HR", name: "Human Resources" }] },
      { field: "trackAppAccounts", from: false, to: true },
      { field: "retentionDays", from: null, to: 90 },
    ]);
    expect(audit[1]?.changes).toEqual([
      {
        field: "excludedUsers",
        added: [
          { id: ADA, name: "Ada Lovelace" },
          { id: GRACE, name: "Grace Hopper" },
        ],
        removed: [],
      },
      { field: "excludedGroups", added: [{ id: contractors, name: "contractors" }], removed: [] },
      // The previous test left HR and ds excluded.
      {
        field: "excludedSpaces",
        added: [{ id: "ENG", name: "Engineering" }],
        removed: [{ id: "ds", name: "Demonstration Space" }],
      },
    ]);
    // Back to nothing excluded, for the tests that follow.
    expect((await put(EMPTY)).status).toBe(200);
  });
});

describe(`settings pickers: GET /api/lookup/people and /api/lookup/spaces (${BACKEND})`, () => {
  let t: TestApp;
  const lookup = (path: string, viewer = ADMIN, token?: string | null) =>
    apiGet(t.url, t.fake, viewer, path, token === undefined ? {} : { token });

  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Sally Settings", admin: true });
    t.fake.users.set(MEMBER, { accountId: MEMBER, displayName: "Mo Member" });
    t.fake.users.set(ADA, { accountId: ADA, displayName: "Ada Lovelace" });
    t.fake.users.set(GRACE, { accountId: GRACE, displayName: "Grace Hopper" });
    for (let i = 0; i < 25; i++) {
      const id = `557058:adam-${i}`;
      t.fake.users.set(id, { accountId: id, displayName: `Adam Number${i}` });
    }
    t.fake.spaces.set("ENG", { key: "ENG", name: "Engineering" });
    t.fake.spaces.set("ENGOPS", { key: "ENGOPS", name: "Operations" });
    t.fake.spaces.set("HR", { key: "HR", name: "Human Resources" });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  it("finds people by name: account id, display name and avatar, at most 20", async () => {
    const res = await lookup("/api/lookup/people?q=lovel");
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toEqual({
      people: [
        {
          accountId: ADA,
          displayName: "Ada Lovelace",
          avatarUrl: `${t.fake.url}/wiki/aa-avatar/${encodeURIComponent(ADA)}`,
        },
      ],
    });
    const many = await lookup("/api/lookup/people?q=ada");
    const people = many.json<{ people: { displayName: string }[] }>().people;
    expect(people).toHaveLength(20);
    expect(people.map((p) => p.displayName)).toContain("Ada Lovelace");
    const none = await lookup(
      `/api/lookup/people?q=${encodeURIComponent('zz" OR user.fullname~"a')}`,
    );
    expect(none.status, none.body).toBe(200);
    expect(none.json()).toEqual({ people: [] });
  });

  it("finds spaces by name or by key (any case), at most 20, key match first", async () => {
    const byName = await lookup("/api/lookup/spaces?q=human");
    expect(byName.status, byName.body).toBe(200);
    expect(byName.json()).toEqual({ spaces: [{ key: "HR", name: "Human Resources" }] });
    const byKey = await lookup("/api/lookup/spaces?q=eng");
    expect(byKey.json()).toEqual({
      spaces: [{ key: "ENG", name: "Engineering" }],
    });
    const both = await lookup("/api/lookup/spaces?q=engopS");
    expect(both.json()).toEqual({ spaces: [{ key: "ENGOPS", name: "Operations" }] });
    const ops = await lookup("/api/lookup/spaces?q=oper");
    expect(ops.json()).toEqual({ spaces: [{ key: "ENGOPS", name: "Operations" }] });
  });

  it("only Confluence admins may look up; without a token, 401", async () => {
    for (const path of ["/api/lookup/people?q=ada", "/api/lookup/spaces?q=eng"]) {
      const member = await lookup(path, MEMBER);
      expect(member.status).toBe(403);
      expect(member.json()).toMatchObject({ error: { code: "forbidden" } });
      const anonymous = await lookup(path, ADMIN, null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.json()).toMatchObject({ error: { code: "unauthenticated" } });
    }
  });

  it.each([
    ["no q", ""],
    ["an empty q", "q="],
    ["a blank q", "q=%20%20"],
    ["a q over 100 characters", `q=${"a".repeat(101)}`],
    ["a control character", "q=ad%00a"],
    ["a repeated q", "q=ada&q=grace"],
  ])("refuses %s with a 400 JSON error", async (_name, query) => {
    for (const path of ["/api/lookup/people", "/api/lookup/spaces"]) {
      const res = await lookup(`${path}?${query}`);
      expect(res.status, res.body).toBe(400);
      expect(res.json<ErrorBody>().error.code).toMatch(/^invalid_parameter|bad_request$/);
    }
  });

  it("when Confluence cannot answer, 503", async () => {
    t.fake.unavailable = /^\/wiki\/rest\/api\/search\/user$/;
    try {
      const res = await lookup("/api/lookup/people?q=ada");
      expect(res.status).toBe(503);
      expect(res.json<ErrorBody>().error.code).toBe("confluence_unavailable");
    } finally {
      t.fake.unavailable = null;
    }
  }, 30_000);
});
