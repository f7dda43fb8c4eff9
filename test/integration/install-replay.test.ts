import http from "node:http";
import { randomBytes } from "node:crypto";
import * as jwt from "atlassian-jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/harness.js";

/** POST a lifecycle call with a given token and body, as an attacker holding a token would. */
async function lifecycle(
  t: TestApp,
  path: "/installed" | "/uninstalled",
  body: unknown,
  token: string | null,
  opts: { query?: string; rawBody?: string } = {},
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `JWT ${token}`;
  const res = await fetch(`${t.url}${path}${opts.query ?? ""}`, {
    method: "POST",
    headers,
    body: opts.rawBody ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

async function tenantRow(t: TestApp) {
  return t.db("tenant").where({ client_key: t.fake.clientKey }).first();
}

describe("lifecycle under attack: replayed, long-lived and odd tokens", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  it("when an install token is replayed with another secret and base URL, then it is refused and the site keeps its secret", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    const genuine = t.fake.installPayload();
    expect((await lifecycle(t, "/installed", genuine, token)).status).toBe(204);

    const hijack = {
      ...genuine,
      sharedSecret: "attacker-chosen-secret",
      baseUrl: "http://127.0.0.1:1/wiki",
    };
    const replay = await lifecycle(t, "/installed", hijack, token);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.text)).toMatchObject({ error: { code: "unauthenticated" } });
    const row = await tenantRow(t);
    expect(row.client_info.sharedSecret).toBe(t.fake.sharedSecret);
    expect(row.base_url).toBe(t.fake.baseUrl);

    // The genuine secret still signs webhooks; the attacker's does not.
    const ok = await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-replay" });
    expect(ok.status).toBe(204);
    const forged = t.fake.signRequest("POST", "/webhooks/page_viewed", {
      secret: "attacker-chosen-secret",
    });
    const refused = await t.fake.sendWebhook(
      t.url,
      "page_viewed",
      { userAccountId: "u-forged" },
      { token: forged },
    );
    expect(refused.status).toBe(401);
  });

  it("when the replay spells the signature another way that still verifies, then it is refused", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), token)).status).toBe(204);
    // The last base64url character of an RS256 signature carries 4 unused bits.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.slice(-1));
    for (const low of [1, 2, 3, 8, 15]) {
      const variant = token.slice(0, -1) + alphabet[(last & ~15) | ((last & 15) ^ low)];
      const hijack = { ...t.fake.installPayload(), sharedSecret: `attacker-${low}` };
      expect((await lifecycle(t, "/installed", hijack, variant)).status).toBe(401);
    }
    expect((await tenantRow(t)).client_info.sharedSecret).toBe(t.fake.sharedSecret);
  });

  it("when the same install is replayed with the same body, then it is refused too", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), token)).status).toBe(204);
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), token)).status).toBe(401);
  });

  it("when two requests race with one token, then exactly one is accepted", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => lifecycle(t, "/installed", t.fake.installPayload(), token)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([204, 401, 401, 401, 401, 401]);
  });

  it("when an uninstall token is replayed after a reinstall, then the site stays installed", async () => {
    const uninstallToken = t.fake.lifecycleToken(t.url, "/uninstalled");
    const body = t.fake.installPayload("uninstalled");
    expect((await lifecycle(t, "/uninstalled", body, uninstallToken)).status).toBe(204);
    expect((await t.fake.install(t.url)).status).toBe(204);
    expect((await lifecycle(t, "/uninstalled", body, uninstallToken)).status).toBe(401);
    expect((await tenantRow(t)).uninstalled_at).toBeNull();
  });

  it("when an install token has no expiry or expires far ahead, then it is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const farAhead = t.fake.lifecycleToken(t.url, "/installed", { exp: now + 24 * 3600 });
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), farAhead)).status).toBe(401);
    const expired = t.fake.lifecycleToken(t.url, "/installed", { exp: now - 10 });
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), expired)).status).toBe(401);
    // No exp claim at all, otherwise signed correctly by the site's key.
    const noExp = jwt.encodeAsymmetric(
      {
        iss: t.fake.clientKey,
        aud: [t.url],
        iat: now,
        qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl("POST", "/installed")),
      },
      privateKeyOf(t),
      jwt.AsymmetricAlgorithm.RS256,
      { kid: t.fake.kid },
    );
    expect((await lifecycle(t, "/installed", t.fake.installPayload(), noExp)).status).toBe(401);
  });

  it("when the kid is not a plain key id, then it is refused before any key is fetched", async () => {
    for (const kid of [
      "../../evil",
      "a/../b",
      "a//b",
      "/abs",
      "x?y=1",
      "%2e%2e%2fadmin",
      "k#frag",
      " ",
      "",
    ]) {
      const before = t.fake.requests.length;
      const token = t.fake.lifecycleToken(t.url, "/installed", { kid });
      const res = await lifecycle(t, "/installed", t.fake.installPayload(), token);
      expect(res.status, kid).toBe(401);
      expect(t.fake.requests.slice(before).filter((r) => r.path.includes("connect-keys"))).toEqual(
        [],
      );
    }
  });

  it("when an unsigned install announces a large body and never sends it, then it is refused at once", async () => {
    const started = Date.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.url}/installed`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(900_000) },
      });
      req.on("response", (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("when a signed install body is larger than an install can be, then it is a 413", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    const body = { ...t.fake.installPayload(), description: "x".repeat(100_000) };
    expect((await lifecycle(t, "/installed", body, token)).status).toBe(413);
  });

  it("when a token sits anywhere but the Authorization header, then the install is refused", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    const inQuery = await lifecycle(t, "/installed", t.fake.installPayload(), null, {
      query: `?jwt=${token}`,
    });
    expect(inQuery.status).toBe(401);
    const inBody = await lifecycle(
      t,
      "/installed",
      { ...t.fake.installPayload(), jwt: token },
      null,
    );
    expect(inBody.status).toBe(401);
    const twice = await lifecycle(t, "/installed", t.fake.installPayload(), token, {
      query: `?acpt=${token}`,
    });
    expect(twice.status).toBe(401);
  });

  it("when a genuine reinstall brings a new secret, then the new secret signs and the old one does not", async () => {
    const oldSecret = t.fake.sharedSecret;
    t.fake.sharedSecret = randomBytes(32).toString("hex");
    try {
      expect((await t.fake.install(t.url)).status).toBe(204);
      const ok = await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-new" });
      expect(ok.status).toBe(204);
      const old = t.fake.signRequest("POST", "/webhooks/page_viewed", { secret: oldSecret });
      const stale = await t.fake.sendWebhook(
        t.url,
        "page_viewed",
        { userAccountId: "u-old" },
        { token: old },
      );
      expect(stale.status).toBe(401);
    } finally {
      t.fake.sharedSecret = oldSecret;
      expect((await t.fake.install(t.url)).status).toBe(204);
    }
  });

  it.each([
    ["a NUL in a field", { description: "a\u0000b" }],
    ["a lone surrogate in a field", { description: "a\ud800b" }],
    ["a NUL in a key", { "we\u0000ird": 1 }],
    ["a base URL that is not a URL", { baseUrl: "not a url" }],
    ["a secret that is not a string", { sharedSecret: 42 }],
    ["no client key", { clientKey: undefined }],
  ])(
    "when the install body holds %s, then it is a 400 with no SQL and nothing stored",
    async (_name, change) => {
      const before = await tenantRow(t);
      const body = { ...t.fake.installPayload(), ...change };
      const token = t.fake.lifecycleToken(t.url, "/installed");
      const res = await lifecycle(t, "/installed", body, token);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: "invalid_body" } });
      expect(res.text).not.toMatch(/INSERT|SELECT|jsonb|tenant/i);
      const after = await tenantRow(t);
      expect(after.client_info).toEqual(before.client_info);
    },
  );

  it("when the body is a string of JSON PostgreSQL cannot store, then nothing answers 5xx", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed");
    const raw = JSON.stringify(t.fake.installPayload()).replace(
      '"productType"',
      '"x":"\\u0000","productType"',
    );
    const res = await lifecycle(t, "/installed", null, token, { rawBody: raw });
    expect(res.status).toBe(400);
  });
});

/** The fake keeps its private key private; sign a token without exp through its own helper. */
function privateKeyOf(t: TestApp): string {
  return (t.fake as unknown as { privateKey: string }).privateKey;
}
