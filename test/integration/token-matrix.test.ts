import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as jwt from "atlassian-jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { eventCount, startTestApp, type TestApp } from "../support/harness.js";

/**
 * Every route, every way a token can be wrong or misplaced: each is refused with 401 and a
 * JSON error, nothing is written, and no secret or token reaches a log line.
 */
const ADMIN = "u-admin";
const NOW = () => Math.floor(Date.now() / 1000);

interface Attempt {
  method: "GET" | "PUT" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

async function send(t: TestApp, a: Attempt) {
  const headers: Record<string, string> = { ...a.headers };
  if (a.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${t.url}${a.path}`, {
    method: a.method,
    headers,
    body: a.body === undefined ? undefined : JSON.stringify(a.body),
  });
  return { status: res.status, text: await res.text() };
}

function withQuery(path: string, key: string, value: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
}

/** A token with `alg: none` and no signature: the oldest trick. */
function algNone(claims: object): string {
  const seg = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${seg({ alg: "none", typ: "JWT" })}.${seg(claims)}.`;
}

describe("token matrix: every route refuses every wrong or misplaced token", () => {
  let t: TestApp;
  let other: FakeConfluence;
  let settingsBody: unknown;
  const secretsSeen: string[] = [];
  const tokensSent: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    t.fake.spaces.set("ENG", { key: "ENG", name: "Engineering", admins: { users: [ADMIN] } });
    expect((await t.fake.install(t.url)).status).toBe(204);
    other = await new FakeConfluence().start();
    other.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    expect((await other.install(t.url)).status).toBe(204);
    secretsSeen.push(t.fake.sharedSecret, other.sharedSecret);
    const res = await fetch(`${t.url}/api/settings`, {
      headers: { authorization: `JWT ${t.fake.contextToken(ADMIN)}` },
    });
    settingsBody = ((await res.json()) as { settings: unknown }).settings;
  });
  afterAll(async () => {
    await other?.stop();
    await t?.stop();
  });

  const API: Attempt[] = [
    { method: "GET", path: "/api/reports/users" },
    { method: "GET", path: "/api/reports/users.csv" },
    { method: "GET", path: "/api/reports/calendar" },
    { method: "GET", path: "/api/reports/breakdown" },
    { method: "GET", path: `/api/reports/users/${ADMIN}` },
    { method: "GET", path: "/api/groups" },
    { method: "GET", path: "/api/lookup/people?q=ada" },
    { method: "GET", path: "/api/lookup/spaces?q=eng" },
    { method: "GET", path: "/api/settings" },
    { method: "PUT", path: "/api/settings" },
  ];

  /** Ways to present a token to the API that must all fail. */
  const apiVariants: [string, (a: Attempt) => Attempt][] = [
    ["no token", (a) => a],
    ["alg none", (a) => auth(a, algNone(contextClaims(t.fake.clientKey)))],
    ["a wrong secret", (a) => auth(a, t.fake.contextToken(ADMIN, { secret: "wrong-secret" }))],
    [
      "another site's secret",
      (a) => auth(a, t.fake.contextToken(ADMIN, { secret: other.sharedSecret })),
    ],
    ["an expired token", (a) => auth(a, t.fake.contextToken(ADMIN, { exp: NOW() - 5 }))],
    [
      "no qsh",
      (a) =>
        auth(
          a,
          jwt.encodeSymmetric(
            { iss: t.fake.clientKey, sub: ADMIN, iat: NOW(), exp: NOW() + 60 },
            t.fake.sharedSecret,
          ),
        ),
    ],
    [
      "an iframe-URL token (a real qsh)",
      (a) => auth(a, t.fake.signRequest("GET", "/pages/activity-report", { sub: ADMIN })),
    ],
    [
      "a qsh for this very request",
      (a) => auth(a, t.fake.signRequest(a.method, a.path, { sub: ADMIN })),
    ],
    ["Authorization: JWT garbage", (a) => ({ ...a, headers: { authorization: "JWT garbage" } })],
    [
      "Authorization: Bearer",
      (a) => ({ ...a, headers: { authorization: `Bearer ${t.fake.contextToken(ADMIN)}` } }),
    ],
    [
      "an iframe token in X-acpt",
      (a) => ({
        ...a,
        headers: { "x-acpt": t.fake.signRequest("GET", "/pages/activity-report", { sub: ADMIN }) },
      }),
    ],
    [
      "an iframe token in ?acpt",
      (a) => ({
        ...a,
        path: withQuery(
          a.path,
          "acpt",
          t.fake.signRequest("GET", "/pages/activity-report", { sub: ADMIN }),
        ),
      }),
    ],
    [
      "a context token in ?acpt",
      (a) => ({ ...a, path: withQuery(a.path, "acpt", t.fake.contextToken(ADMIN)) }),
    ],
    [
      "a context token in X-acpt",
      (a) => ({ ...a, headers: { "x-acpt": t.fake.contextToken(ADMIN) } }),
    ],
    [
      "a valid header plus a second token in ?acpt",
      (a) => ({
        ...auth(a, t.fake.contextToken(ADMIN)),
        path: withQuery(a.path, "acpt", t.fake.contextToken(ADMIN)),
      }),
    ],
  ];

  function contextClaims(iss: string) {
    return { iss, sub: ADMIN, iat: NOW(), exp: NOW() + 60, qsh: "context-qsh" };
  }

  function auth(a: Attempt, token: string): Attempt {
    tokensSent.push(token);
    return { ...a, headers: { ...a.headers, authorization: `JWT ${token}` } };
  }

  function withBody(a: Attempt): Attempt {
    return a.method === "PUT" ? { ...a, body: settingsBody } : a;
  }

  describe("the JSON API", () => {
    it.each(API.map((a) => [`${a.method} ${a.path}`, a] as const))(
      "%s answers with a valid context token (the matrix below can pass)",
      async (_name, a) => {
        const res = await send(t, withBody(auth(a, t.fake.contextToken(ADMIN))));
        expect(res.status).toBe(200);
      },
    );

    for (const [name, variant] of apiVariants) {
      it.each(API.map((a) => [`${a.method} ${a.path}`, a] as const))(
        `%s refuses ${name}`,
        async (_route, a) => {
          const res = await send(t, withBody(variant(a)));
          expect(res.status).toBe(401);
          expect(JSON.parse(res.text)).toMatchObject({ error: { code: "unauthenticated" } });
        },
      );
    }

    it("a token in ?jwt opens CSV downloads only", async () => {
      const token = t.fake.contextToken(ADMIN);
      const csv = await send(t, { method: "GET", path: `/api/reports/users.csv?jwt=${token}` });
      expect(csv.status).toBe(200);
      const json = await send(t, { method: "GET", path: `/api/reports/users?jwt=${token}` });
      expect(json.status).toBe(401);
      // Not any path that happens to end in .csv.
      const lookalike = await send(t, {
        method: "GET",
        path: `/api/reports/users/${ADMIN}.csv?jwt=${token}`,
      });
      expect(lookalike.status).toBe(401);
    });

    it("a token in the body of PUT /api/settings is refused", async () => {
      const res = await send(t, {
        method: "PUT",
        path: "/api/settings",
        body: { ...(settingsBody as object), jwt: t.fake.contextToken(ADMIN) },
      });
      expect(res.status).toBe(401);
    });

    it("the other site's valid token reads the other site only", async () => {
      const res = await send(t, {
        method: "GET",
        path: "/api/settings",
        headers: { authorization: `JWT ${other.contextToken(ADMIN)}` },
      });
      expect(res.status).toBe(200);
    });
  });

  describe("webhooks", () => {
    const path = "/webhooks/page_viewed";
    const body = { userAccountId: "u-matrix", page: { id: "1", spaceKey: "ENG" } };
    const variants: [string, () => Attempt][] = [
      ["no token", () => ({ method: "POST", path, body })],
      [
        "alg none",
        () => post(algNone({ iss: t.fake.clientKey, iat: NOW(), exp: NOW() + 60, qsh: "x" })),
      ],
      ["a wrong secret", () => post(t.fake.signRequest("POST", path, { secret: "nope" }))],
      [
        "another site's secret",
        () => post(t.fake.signRequest("POST", path, { secret: other.sharedSecret })),
      ],
      ["an expired token", () => post(t.fake.signRequest("POST", path, { exp: NOW() - 5 }))],
      [
        "a qsh for another webhook",
        () => post(t.fake.signRequest("POST", path, { qshPath: "/webhooks/page_created" })),
      ],
      [
        "no qsh",
        () =>
          post(
            jwt.encodeSymmetric(
              { iss: t.fake.clientKey, iat: NOW(), exp: NOW() + 60 },
              t.fake.sharedSecret,
            ),
          ),
      ],
      ["a context token", () => post(t.fake.contextToken(ADMIN))],
      [
        "Authorization: JWT garbage",
        () => ({ method: "POST", path, body, headers: { authorization: "JWT garbage" } }),
      ],
      [
        "a valid token in ?jwt",
        () => ({ method: "POST", path: `${path}?jwt=${t.fake.signRequest("POST", path)}`, body }),
      ],
      [
        "a valid token in ?acpt",
        () => ({ method: "POST", path: `${path}?acpt=${t.fake.signRequest("POST", path)}`, body }),
      ],
      [
        "a valid token in X-acpt",
        () => ({
          method: "POST",
          path,
          body,
          headers: { "x-acpt": t.fake.signRequest("POST", path) },
        }),
      ],
    ];
    function post(token: string): Attempt {
      tokensSent.push(token);
      return { method: "POST", path, body, headers: { authorization: `JWT ${token}` } };
    }

    it("a correctly signed webhook is stored (the matrix below can pass)", async () => {
      const before = await eventCount(t.db);
      const res = await send(t, post(t.fake.signRequest("POST", path)));
      expect(res.status).toBe(204);
      expect(await eventCount(t.db)).toBe(before + 1);
    });

    it.each(variants)("refuses %s and stores nothing", async (_name, make) => {
      const before = await eventCount(t.db);
      const res = await send(t, make());
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: "unauthenticated" } });
      expect(await eventCount(t.db)).toBe(before);
    });
  });

  describe("pages", () => {
    const path = "/pages/activity-report";
    const variants: [string, () => Attempt][] = [
      ["no token", () => ({ method: "GET", path })],
      [
        "a context token in ?jwt",
        () => ({ method: "GET", path: `${path}?jwt=${t.fake.contextToken(ADMIN)}` }),
      ],
      [
        "the page token in the Authorization header",
        () => ({
          method: "GET",
          path,
          headers: { authorization: `JWT ${t.fake.signRequest("GET", path, { sub: ADMIN })}` },
        }),
      ],
      [
        "the page token in ?acpt",
        () => ({
          method: "GET",
          path: `${path}?acpt=${t.fake.signRequest("GET", path, { sub: ADMIN })}`,
        }),
      ],
      [
        "the page token in ?jwt and X-acpt",
        () => {
          const token = t.fake.signRequest("GET", path, { sub: ADMIN });
          return { method: "GET", path: `${path}?jwt=${token}`, headers: { "x-acpt": token } };
        },
      ],
      [
        "a wrong secret",
        () => ({
          method: "GET",
          path: `${path}?jwt=${t.fake.signRequest("GET", path, { sub: ADMIN, secret: "nope" })}`,
        }),
      ],
      [
        "an expired token",
        () => ({
          method: "GET",
          path: `${path}?jwt=${t.fake.signRequest("GET", path, { sub: ADMIN, exp: NOW() - 5 })}`,
        }),
      ],
      [
        "another page's token",
        () => ({
          method: "GET",
          path: `${path}?jwt=${t.fake.signRequest("GET", "/pages/space-activity-report", { sub: ADMIN })}`,
        }),
      ],
      [
        "alg none",
        () => ({ method: "GET", path: `${path}?jwt=${algNone(contextClaims(t.fake.clientKey))}` }),
      ],
    ];

    it("a correctly signed page load renders (the matrix below can pass)", async () => {
      const token = t.fake.signRequest("GET", path, { sub: ADMIN });
      const res = await send(t, { method: "GET", path: `${path}?jwt=${token}` });
      expect(res.status).toBe(200);
      // Standards mode, not quirks: the doctype comes first.
      expect(res.text.startsWith("<!doctype html>\n<html")).toBe(true);
    });

    it.each(variants)("refuses %s", async (_name, make) => {
      const res = await send(t, make());
      expect(res.status).toBe(401);
    });
  });

  describe("lifecycle", () => {
    const foreignKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const variants: [string, () => Attempt][] = [
      ["no token", () => ({ method: "POST", path: "/installed", body: t.fake.installPayload() })],
      [
        "an HS256 token with the shared secret",
        () =>
          install(
            jwt.encodeSymmetric(
              {
                iss: t.fake.clientKey,
                iat: NOW(),
                exp: NOW() + 60,
                qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl("POST", "/installed")),
              },
              t.fake.sharedSecret,
            ),
          ),
      ],
      [
        "alg none",
        () => install(algNone({ iss: t.fake.clientKey, aud: [t.url], exp: NOW() + 60 })),
      ],
      [
        "an expired token",
        () => install(t.fake.lifecycleToken(t.url, "/installed", { exp: NOW() - 5 })),
      ],
      [
        "a qsh for /uninstalled (the canonical request holds the secret)",
        () => install(t.fake.lifecycleToken(t.url, "/uninstalled")),
      ],
      [
        "the right kid with a foreign private key",
        () => install(t.fake.lifecycleToken(t.url, "/installed", { privateKey: foreignKey })),
      ],
      [
        "an unknown kid",
        () => install(t.fake.lifecycleToken(t.url, "/installed", { kid: "no-such-key" })),
      ],
    ];
    function install(token: string): Attempt {
      tokensSent.push(token);
      return {
        method: "POST",
        path: "/installed",
        body: { ...t.fake.installPayload(), sharedSecret: attackerSecret() },
        headers: { authorization: `JWT ${token}` },
      };
    }

    it.each(variants)("refuses %s and keeps the site's secret", async (_name, make) => {
      const res = await send(t, make());
      expect(res.status).toBe(401);
      const row = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
      expect(row.client_info.sharedSecret).toBe(t.fake.sharedSecret);
    });
  });

  /** Every secret an attacker posts is remembered, to be looked for in the logs. */
  function attackerSecret(): string {
    const secret = randomBytes(24).toString("hex");
    secretsSeen.push(secret);
    return secret;
  }

  it("no log line holds a shared secret or a token, whatever failed above", () => {
    const all = t.logs.join("");
    expect(t.logs.length).toBeGreaterThan(50);
    for (const secret of secretsSeen) expect(all).not.toContain(secret);
    for (const token of tokensSent) {
      // Neither the token nor its signature (the part that makes it usable).
      expect(all).not.toContain(token);
      const signature = token.split(".")[2];
      if (signature && signature.length > 10) expect(all).not.toContain(signature);
    }
    expect(all).not.toMatch(/\bey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/);
    for (const line of t.logs) expect(line.length).toBeLessThan(8192);
  });
});
