import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { expectedFacts, payloadFor } from "../../src/dev/payloads.js";
import { EVENT_TYPES, WEBHOOKS } from "../../src/events/types.js";
import { eventCount, startTestApp, type TestApp } from "../support/harness.js";

interface StoredEvent {
  account_id: string;
  account_type: string;
  type: number;
  webhook: number;
  space_key: string | null;
  content_key: string | null;
  content_type: string | null;
  title: string | null;
  occurred_at: Date;
  received_at: Date;
}

async function lastEvent(t: TestApp): Promise<StoredEvent | undefined> {
  const result = await t.db.raw(`
    SELECT a.account_id, a.account_type, e.type, e.webhook, s.space_key, c.content_key,
           c.content_type, c.title, e.occurred_at, e.received_at
    FROM event e
    JOIN actor a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id
    LEFT JOIN space s ON s.tenant_id = e.tenant_id AND s.id = e.space_id
    LEFT JOIN content c ON c.tenant_id = e.tenant_id AND c.id = e.content_id
    ORDER BY e.id DESC LIMIT 1`);
  return result.rows[0];
}

describe("webhooks: verify, validate, classify, commit, answer", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  describe("every webhook of the descriptor lands as the right type", () => {
    it("the descriptor subscribes to exactly the classified webhooks", async () => {
      const descriptor = (await (await fetch(`${t.url}/atlassian-connect.json`)).json()) as {
        modules: { webhooks: { event: string; url: string }[] };
      };
      expect(descriptor.modules.webhooks.map((w) => w.event).sort()).toEqual(
        WEBHOOKS.map((w) => w.event).sort(),
      );
    });

    it.each(WEBHOOKS.map((w) => [w.event, w.type, w.code] as const))(
      "%s is stored as %s",
      async (event, type, code) => {
        const contentId = String(100_000 + code);
        const input = {
          accountId: `user-${event}`,
          spaceKey: "ENG",
          contentId,
          title: `Title for ${event}`,
          timestamp: Date.now() - 60_000,
        };
        const res = await t.fake.sendWebhook(t.url, event, payloadFor(event, input));
        expect(res.status).toBe(204);
        const stored = await lastEvent(t);
        expect(stored?.account_id).toBe(input.accountId);
        expect(stored?.type).toBe(EVENT_TYPES[type]);
        expect(stored?.webhook).toBe(code);
        const facts = expectedFacts(event, input);
        expect(stored?.space_key).toBe(facts.spaceKey);
        expect(stored?.content_key).toBe(facts.contentKey);
        expect(stored?.content_type).toBe(facts.contentType);
        expect(new Date(stored?.occurred_at ?? 0).getTime()).toBe(input.timestamp);
      },
    );
  });

  describe("the event row", () => {
    it("when a page is viewed, then actor, space, content, title and time are stored", async () => {
      const timestamp = Date.now() - 3_600_000;
      const body = payloadFor("page_viewed", {
        accountId: "557058:aaaa",
        spaceKey: "~323528440",
        contentId: "1188560897",
        title: "Quarterly plan",
        timestamp,
      });
      expect((await t.fake.sendWebhook(t.url, "page_viewed", body)).status).toBe(204);
      const stored = await lastEvent(t);
      expect(stored).toMatchObject({
        account_id: "557058:aaaa",
        account_type: "customer",
        space_key: "~323528440",
        content_key: "1188560897",
        content_type: "page",
        title: "Quarterly plan",
      });
      expect(new Date(stored?.occurred_at ?? 0).getTime()).toBe(timestamp);
    });

    it("when the timestamp is missing or more than 5 minutes ahead, then receipt time is used", async () => {
      for (const timestamp of [undefined, Date.now() + 10 * 60_000]) {
        const before = Date.now();
        const body = { userAccountId: "u-time", ...(timestamp ? { timestamp } : {}) };
        expect((await t.fake.sendWebhook(t.url, "page_viewed", body)).status).toBe(204);
        const stored = await lastEvent(t);
        const occurred = new Date(stored?.occurred_at ?? 0).getTime();
        expect(occurred).toBeGreaterThanOrEqual(before - 1);
        expect(occurred).toBeLessThanOrEqual(Date.now() + 1);
        expect(occurred).toBe(new Date(stored?.received_at ?? 0).getTime());
      }
    });

    it("when a payload has an unfamiliar shape, then it is stored with what it has", async () => {
      const body = { userAccountId: "u-odd", timestamp: Date.now(), whatever: { nested: [1, 2] } };
      expect((await t.fake.sendWebhook(t.url, "content_created", body)).status).toBe(204);
      expect(await lastEvent(t)).toMatchObject({
        account_id: "u-odd",
        type: EVENT_TYPES.create,
        space_key: null,
        content_key: null,
      });
    });

    it("when a content id arrives as a number and later as a string, then it is one content row", async () => {
      const base = { userAccountId: "u-ids", timestamp: Date.now() };
      await t.fake.sendWebhook(t.url, "page_viewed", {
        ...base,
        page: { id: 777001, title: "Old" },
      });
      await t.fake.sendWebhook(t.url, "page_updated", {
        ...base,
        page: { id: "777001", title: "New" },
      });
      const rows = await t.db("content").where({ content_key: "777001" });
      expect(rows).toHaveLength(1);
      expect(rows[0].title).toBe("New");
    });

    it("when an app account acts, then nothing is stored (app accounts are not tracked)", async () => {
      const before = await eventCount(t.db);
      const body = payloadFor("page_viewed", { accountId: "bot-1", accountType: "app" });
      expect((await t.fake.sendWebhook(t.url, "page_viewed", body)).status).toBe(204);
      expect(await eventCount(t.db)).toBe(before);
    });

    it("when a text field holds a NUL byte, then the event is stored without it", async () => {
      const body = { userAccountId: "u-nul", page: { id: "9001", title: "a\u0000b" } };
      expect((await t.fake.sendWebhook(t.url, "page_viewed", body)).status).toBe(204);
      expect((await lastEvent(t))?.title).toBe("ab");
    });
  });

  describe("authentication", () => {
    const body = payloadFor("page_viewed", { accountId: "u-auth" });
    let before: number;
    beforeEach(async () => {
      before = await eventCount(t.db);
    });

    const refused = async (token: string | null) => {
      const res = await t.fake.sendWebhook(t.url, "page_viewed", body, { token });
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: "unauthenticated" } });
      expect(await eventCount(t.db)).toBe(before);
    };

    it("when unsigned, then 401 and nothing stored", () => refused(null));
    it("when signed with a wrong secret, then 401", () =>
      refused(t.fake.signRequest("POST", "/webhooks/page_viewed", { secret: "not-the-secret" })));
    it("when the qsh is for another URL, then 401", () =>
      refused(
        t.fake.signRequest("POST", "/webhooks/page_viewed", { qshPath: "/webhooks/page_created" }),
      ));
    it("when the token has expired, then 401", () =>
      refused(
        t.fake.signRequest("POST", "/webhooks/page_viewed", {
          exp: Math.floor(Date.now() / 1000) - 10,
        }),
      ));
    it("when signed by another tenant's secret, then 401", async () => {
      const other = new FakeConfluence();
      await other.start();
      try {
        expect((await other.install(t.url)).status).toBe(204);
        // Claims to be tenant A, signed with tenant B's (valid, installed) secret.
        await refused(
          t.fake.signRequest("POST", "/webhooks/page_viewed", { secret: other.sharedSecret }),
        );
      } finally {
        await other.stop();
      }
    });
    it("when the issuer is a site that never installed, then 401", () =>
      refused(t.fake.signRequest("POST", "/webhooks/page_viewed", { iss: "unknown-site" })));
  });

  describe("bad input: a 4xx with an error body, and nothing stored", () => {
    let before: number;
    beforeEach(async () => {
      before = await eventCount(t.db);
    });
    const cases: [string, string, number, string][] = [
      ["malformed JSON", "{not json", 400, "invalid_json"],
      ["an empty body", "", 400, "invalid_json"],
      ["a JSON array", "[1,2]", 400, "invalid_body"],
      ["no userAccountId", JSON.stringify({ page: { id: 1 } }), 400, "invalid_body"],
      ["a numeric userAccountId", JSON.stringify({ userAccountId: 42 }), 400, "invalid_body"],
      ["an empty userAccountId", JSON.stringify({ userAccountId: "" }), 400, "invalid_body"],
    ];
    it.each(cases)("when the body is %s, then %i", async (_name, raw, status, code) => {
      const res = await t.fake.sendWebhook(t.url, "page_viewed", null, { rawBody: raw });
      expect(res.status).toBe(status);
      expect(res.json()).toMatchObject({ error: { code } });
      expect(await eventCount(t.db)).toBe(before);
    });

    it("when the body is over 1 MB, then 413", async () => {
      const raw = JSON.stringify({ userAccountId: "u-big", padding: "x".repeat(1_100_000) });
      const res = await t.fake.sendWebhook(t.url, "page_viewed", null, { rawBody: raw });
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ error: { code: "payload_too_large" } });
      expect(await eventCount(t.db)).toBe(before);
    });

    it("when the webhook is not one the app subscribed to, then 404", async () => {
      const res = await t.fake.sendWebhook(t.url, "page_exploded", { userAccountId: "u" });
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: "unknown_webhook" } });
    });

    it("each refusal is logged", () => {
      expect(t.logs.some((l) => l.includes('"code":"invalid_json"'))).toBe(true);
      expect(t.logs.some((l) => l.includes('"code":"payload_too_large"'))).toBe(true);
    });
  });

  describe("uninstall and reinstall", () => {
    it("after uninstall the site's webhooks are refused; after reinstall they resume with history", async () => {
      const tenant = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
      const history = await eventCount(t.db);
      expect((await t.fake.uninstall(t.url)).status).toBe(204);

      const body = payloadFor("page_viewed", { accountId: "u-after" });
      const refused = await t.fake.sendWebhook(t.url, "page_viewed", body);
      expect(refused.status).toBe(401);
      expect(await eventCount(t.db)).toBe(history);

      expect((await t.fake.install(t.url)).status).toBe(204);
      const again = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
      expect(again.id).toBe(tenant.id);
      expect((await t.fake.sendWebhook(t.url, "page_viewed", body)).status).toBe(204);
      expect(await eventCount(t.db)).toBe(history + 1);
    });
  });

  describe("concurrency", () => {
    it("when 200 webhooks arrive at once, then all 200 are stored, each once", async () => {
      const before = await eventCount(t.db);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          t.fake.sendWebhook(
            t.url,
            i % 2 ? "page_viewed" : "comment_created",
            payloadFor(i % 2 ? "page_viewed" : "comment_created", {
              accountId: `burst-${i % 7}`,
              contentId: String(500_000 + (i % 13)),
              spaceKey: `S${i % 3}`,
            }),
          ),
        ),
      );
      expect(results.every((r) => r.status === 204)).toBe(true);
      expect(await eventCount(t.db)).toBe(before + 200);
    });
  });

  describe("secrets", () => {
    it("the shared secret never appears in the logs", () => {
      expect(t.logs.length).toBeGreaterThan(0);
      const all = t.logs.join("\n");
      expect(all).not.toContain(t.fake.sharedSecret);
    });
  });
});
