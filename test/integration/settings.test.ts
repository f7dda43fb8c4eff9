import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { createLogger } from "../../src/log.js";
import { runPrivacyJobs } from "../../src/privacy/jobs.js";
import { apiGet } from "../support/api.js";
import { eventCount, type TestApp, startTestApp } from "../support/harness.js";

const ADMIN = "admin-1";
const MEMBER = "member-1";

describe("settings: exclusions and app accounts", () => {
  let t: TestApp;

  const put = async (viewer: string, body: unknown) => {
    const res = await fetch(`${t.url}/api/settings`, {
      method: "PUT",
      headers: {
        authorization: `JWT ${t.fake.contextToken(viewer)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const send = (accountId: string, spaceKey = "ENG", accountType?: "app") =>
    t.fake.sendWebhook(
      t.url,
      "page_viewed",
      payloadFor("page_viewed", { accountId, spaceKey, accountType, timestamp: Date.now() - 1000 }),
    );
  const valid = {
    excludedUsers: ["u-excluded"],
    excludedGroups: [groupIdFromName("contractors")],
    excludedSpaces: ["PRIVATE"],
    trackAppAccounts: true,
    retentionDays: null,
  };

  beforeAll(async () => {
    // The retention test sends an event 40 days old: widen the webhook time window
    // (WEBHOOK_MAX_EVENT_AGE_H, 72 h by default) just enough for it to be stored as sent.
    t = await startTestApp({ env: { WEBHOOK_MAX_EVENT_AGE_H: String(41 * 24) } });
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    t.fake.users.set(MEMBER, { accountId: MEMBER, displayName: "Member" });
    t.fake.users.set("u-contractor", {
      accountId: "u-contractor",
      displayName: "Con Tractor",
      groups: ["contractors"],
    });
    t.fake.users.set("u-excluded", { accountId: "u-excluded", displayName: "Ex Cluded" });
    // Saved exclusions must exist in Confluence (settings-validation.test.ts).
    t.fake.spaces.set("PRIVATE", { key: "PRIVATE", name: "Private" });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  it("defaults: nothing excluded, app accounts not tracked", async () => {
    const res = await apiGet(t.url, t.fake, ADMIN, "/api/settings");
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      settings: {
        excludedUsers: [],
        excludedGroups: [],
        excludedSpaces: [],
        trackAppAccounts: false,
      },
      audit: [],
    });
  });

  it("only Confluence admins read or change settings", async () => {
    expect((await apiGet(t.url, t.fake, MEMBER, "/api/settings")).status).toBe(403);
    expect((await put(MEMBER, valid)).status).toBe(403);
  });

  it.each([
    ["an unknown field", { ...valid, surprise: 1 }],
    ["a non-boolean flag", { ...valid, trackAppAccounts: "yes" }],
    ["a non-list", { ...valid, excludedUsers: "u-1" }],
    ["an empty id", { ...valid, excludedSpaces: [""] }],
    ["a retention under 30 days", { ...valid, retentionDays: 7 }],
  ])("refuses %s with 400 and changes nothing", async (_name, body) => {
    const res = await put(ADMIN, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: "invalid_settings" } });
    const now = (await apiGet(t.url, t.fake, ADMIN, "/api/settings")).json<{ audit: unknown[] }>();
    expect(now.audit).toEqual([]);
  });

  it("before any exclusion, everyone's events are stored", async () => {
    for (const id of ["u-excluded", "u-contractor", "u-regular"]) {
      expect((await send(id)).status).toBe(204);
    }
    expect(await eventCount(t.db)).toBe(3);
  });

  it("saving applies at once to new events, keeps old data, and writes an audit line", async () => {
    const res = await put(ADMIN, valid);
    expect(res.status).toBe(200);
    expect(res.body.audit).toEqual([
      expect.objectContaining({ accountId: ADMIN, after: valid, before: expect.any(Object) }),
    ]);
    const before = await eventCount(t.db);
    expect((await send("u-excluded")).status).toBe(204); // excluded user
    expect((await send("u-contractor")).status).toBe(204); // member of an excluded group
    expect((await send("u-regular", "PRIVATE")).status).toBe(204); // excluded space
    expect(await eventCount(t.db)).toBe(before);
    expect((await send("bot-1", "ENG", "app")).status).toBe(204); // app accounts now tracked
    expect((await send("u-regular")).status).toBe(204);
    expect(await eventCount(t.db)).toBe(before + 2);
  });

  it("excluded people are not listed in the users report or its CSV", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const range = `from=${today}&to=${today}&tz=UTC`;
    const users = await apiGet(t.url, t.fake, ADMIN, `/api/reports/users?${range}`);
    const ids = users.json<{ rows: { accountId: string }[] }>().rows.map((r) => r.accountId);
    expect(ids.sort()).toEqual(["bot-1", "u-regular"]);
    const csv = await apiGet(t.url, t.fake, ADMIN, `/api/reports/users.csv?${range}`, {
      via: "query",
    });
    expect(csv.body).not.toContain("u-excluded");
    expect(csv.body).not.toContain("u-contractor");
  });

  it("retention: raw events past the period are deleted by the lifecycle job; reports stop at the horizon", async () => {
    const old = Date.now() - 40 * 86_400_000;
    const res = await t.fake.sendWebhook(
      t.url,
      "page_viewed",
      payloadFor("page_viewed", { accountId: "u-regular", spaceKey: "ENG", timestamp: old }),
    );
    expect(res.status).toBe(204);
    const day = new Date(old).toISOString().slice(0, 10);
    const before = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/breakdown?from=${day}&to=${day}`,
    );
    expect(before.json<{ counts: { view: number } }>().counts.view).toBe(1);

    expect((await put(ADMIN, { ...valid, retentionDays: 30 })).status).toBe(200);
    const result = await runPrivacyJobs(t.db, createLogger("silent"), t.clientFor);
    expect(result.expired).toBe(1);
    expect(
      await t
        .db("event")
        .where("occurred_at", "<", new Date(Date.now() - 33 * 86_400_000))
        .first(),
    ).toBeUndefined();
    expect(await eventCount(t.db)).toBeGreaterThan(0);
    // No report shows a day before the horizon (test/integration/retention-horizon.test.ts).
    const after = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/breakdown?from=${day}&to=${day}`,
    );
    expect(after.status).toBe(400);
    expect(after.json<{ error: { code: string } }>().error.code).toBe("before_retention");
  });
});
