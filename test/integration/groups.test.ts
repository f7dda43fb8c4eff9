import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { apiGet } from "../support/api.js";
import { type TestApp, startTestApp } from "../support/harness.js";

describe("group filter: current members, paged from Confluence", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set("admin", { accountId: "admin", displayName: "Admin", admin: true });
    for (let i = 0; i < 450; i++) {
      t.fake.users.set(`m-${i}`, {
        accountId: `m-${i}`,
        displayName: `Member ${i}`,
        groups: ["big"],
      });
    }
    expect((await t.fake.install(t.url)).status).toBe(204);
    for (const id of ["m-0", "m-449", "outsider"]) {
      const res = await t.fake.sendWebhook(
        t.url,
        "page_viewed",
        payloadFor("page_viewed", { accountId: id, timestamp: Date.now() - 60_000 }),
      );
      expect(res.status).toBe(204);
    }
  });
  afterAll(() => t?.stop());

  it("pages through all 450 members (200 a call) and filters by them", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await apiGet(
      t.url,
      t.fake,
      "admin",
      `/api/reports/users?from=${today}&to=${today}&group=${groupIdFromName("big")}&sort=name`,
    );
    expect(res.status).toBe(200);
    expect(res.json<{ rows: { accountId: string }[] }>().rows.map((r) => r.accountId)).toEqual([
      "m-0",
      "m-449",
    ]);
    const pages = t.fake.requests.filter((r) => r.path.includes("/membersByGroupId"));
    expect(pages.map((p) => new URL(p.path, "http://x").searchParams.get("start"))).toEqual([
      "0",
      "200",
      "400",
    ]);
    const stored = await t
      .db("group_member")
      .where({ group_id: groupIdFromName("big") })
      .count("* as n");
    expect(Number(stored[0]?.n)).toBe(450);
  });
});
