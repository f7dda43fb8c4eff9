import type http from "node:http";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { eventCount, startTestApp, type TestApp } from "../support/harness.js";

/**
 * Hostile webhooks (issue 8): unstorable text, timestamps far from now, bodies that never
 * arrive, tokens in the wrong place and bodies that lie about their encoding. Every request is
 * signed the way Confluence signs it unless the test is about the signature.
 */

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Milliseconds from sending the headers to the end of the response. */
  ms: number;
  /** Whether the server closed the connection (FIN) after answering. */
  closed: boolean;
}

/**
 * A POST over a bare socket, with full control over headers and body: `body` undefined sends
 * the headers (and `partial`, if given) and never the rest. Resolves once the answer is in and
 * a moment has passed to see whether the server closed the connection.
 */
function rawPost(
  url: string,
  opts: { headers: Record<string, string>; body?: Buffer | string; partial?: Buffer | string },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(Number(target.port), target.hostname);
    let closed = false;
    let buffer = Buffer.alloc(0);
    let answered = false;
    socket.on("end", () => {
      closed = true;
    });
    socket.on("error", (e) => {
      if (!answered) reject(e);
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const head = buffer.indexOf("\r\n\r\n");
      if (answered || head < 0) return;
      const lines = buffer.subarray(0, head).toString("latin1").split("\r\n");
      const headers: http.IncomingHttpHeaders = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (buffer.length < head + 4 + length) return;
      answered = true;
      const done = {
        status: Number(lines[0]?.split(" ")[1]),
        headers,
        body: buffer.subarray(head + 4, head + 4 + length).toString("utf8"),
        ms: performance.now() - started,
      };
      setTimeout(() => {
        socket.destroy();
        resolve({ ...done, closed });
      }, 300);
    });
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const headers: Record<string, string> = {
      host: target.host,
      connection: "keep-alive",
      ...(body ? { "content-length": String(body.length) } : {}),
      ...opts.headers,
    };
    const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}\r\n`;
    socket.write(head);
    if (body) socket.write(body);
    else if (opts.partial !== undefined) socket.write(opts.partial);
  });
}

/** A page webhook whose title is `title` (payloadFor cannot URL-encode a lone surrogate). */
function titled(body: Record<string, unknown>, title: string): Record<string, unknown> {
  return { ...body, page: { ...(body.page as object), title } };
}

const json = (r: RawResponse) => JSON.parse(r.body) as { error?: { code?: string } };

async function eventsOf(t: TestApp, accountId: string): Promise<number> {
  const r = await t.db.raw(
    `SELECT count(*)::int AS n FROM event e
     JOIN actor a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id WHERE a.account_id = ?`,
    [accountId],
  );
  return Number(r.rows[0].n);
}

describe("hostile webhooks", () => {
  let t: TestApp;
  let second: FakeConfluence;
  beforeAll(async () => {
    t = await startTestApp();
    second = await new FakeConfluence().start();
    expect((await t.fake.install(t.url)).status).toBe(204);
    expect((await second.install(t.url)).status).toBe(204);
  });
  afterAll(async () => {
    await second?.stop();
    await t?.stop();
  });

  const signedHeaders = (
    fake: FakeConfluence,
    event: string,
    extra: Record<string, string> = {},
  ) => ({
    "content-type": "application/json",
    authorization: `JWT ${fake.signRequest("POST", `/webhooks/${event}`)}`,
    ...extra,
  });

  describe("one unstorable webhook never fails its neighbours, on any site", () => {
    it("valid webhooks sent with hostile ones from two sites are all stored once and 204", async () => {
      const sites = [t.fake, second];
      const now = Date.now() - 60_000;
      // [name, body builder, expected status]; free text is repaired, identifiers refused.
      const hostile: [string, (id: string) => Record<string, unknown>, number][] = [
        [
          "lone surrogate in a title",
          (id) => titled(payloadFor("page_viewed", { accountId: id }), "bad \ud800 title"),
          204,
        ],
        [
          "lone low surrogate in a title",
          (id) => titled(payloadFor("page_viewed", { accountId: id }), "\udfff"),
          204,
        ],
        [
          "surrogate pair cut by the title cap",
          (id) => payloadFor("page_viewed", { accountId: id, title: `${"t".repeat(999)}😀` }),
          204,
        ],
        [
          "lone surrogate in contentType and accountType",
          (id) => ({
            userAccountId: id,
            accountType: "customer\ud800",
            page: { id: "77", contentType: "pa\udc00ge", title: "x" },
          }),
          204,
        ],
        [
          "lone surrogate in a space key",
          (id) => ({ userAccountId: id, page: { id: "78", spaceKey: "K\ud800", title: "x" } }),
          400,
        ],
        [
          "lone surrogate in a content id",
          (id) => ({ userAccountId: id, page: { idAsString: "12\ud83d", spaceKey: "K" } }),
          400,
        ],
        ["NUL in userAccountId", (id) => ({ userAccountId: `${id}\u0000x` }), 400],
        ["a control character in userAccountId", (id) => ({ userAccountId: `${id}\u0007` }), 400],
        ["lone surrogate in userAccountId", (id) => ({ userAccountId: `${id}\ud800` }), 400],
      ];
      const before = await eventCount(t.db);
      const sends: Promise<{
        name: string;
        site: number;
        id: string;
        expect: number;
        status: number;
        code?: string;
      }>[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [s, fake] of sites.entries()) {
          for (let i = 0; i < 15; i++) {
            const id = `good-${s}-${round}-${i}`;
            const event = i % 2 ? "page_viewed" : "comment_created";
            const body = payloadFor(event, {
              accountId: id,
              spaceKey: `S${i % 3}`,
              contentId: String(800_000 + i),
              timestamp: now,
            });
            sends.push(
              fake
                .sendWebhook(t.url, event, body)
                .then((r) => ({ name: "valid", site: s, id, expect: 204, status: r.status })),
            );
          }
          for (const [k, [name, build, status]] of hostile.entries()) {
            const id = `bad-${s}-${round}-${k}`;
            sends.push(
              fake.sendWebhook(t.url, "page_viewed", build(id)).then((r) => ({
                name,
                site: s,
                id,
                expect: status,
                status: r.status,
                code:
                  r.status >= 400
                    ? (r.json() as { error: { code: string } }).error.code
                    : undefined,
              })),
            );
          }
        }
      }
      const results = await Promise.all(sends);
      const wrong = results.filter((r) => r.status !== r.expect);
      expect(wrong).toEqual([]);
      for (const r of results.filter((x) => x.expect === 400)) expect(r.code).toBe("invalid_body");

      const stored = results.filter((r) => r.expect === 204);
      for (const r of stored)
        expect({ id: r.id, n: await eventsOf(t, r.id) }).toEqual({ id: r.id, n: 1 });
      // Nothing of a refused webhook: no event, and no actor row under any spelling of its id.
      const refusedIds = results.filter((r) => r.expect === 400).map((r) => r.id);
      const actors = await t.db("actor").select("account_id");
      for (const id of refusedIds) {
        expect(actors.filter((a: { account_id: string }) => a.account_id.startsWith(id))).toEqual(
          [],
        );
      }
      expect(await eventCount(t.db)).toBe(before + stored.length);
    });

    it("free text is stored with U+FFFD for a lone surrogate, and a cut pair leaves none", async () => {
      const id = "repair-1";
      expect(
        (
          await t.fake.sendWebhook(
            t.url,
            "page_viewed",
            titled(payloadFor("page_viewed", { accountId: id, contentId: "990001" }), "a\ud800b"),
          )
        ).status,
      ).toBe(204);
      expect((await t.db("content").where({ content_key: "990001" }).first())?.title).toBe(
        "a\ufffdb",
      );
      const long = `${"t".repeat(999)}😀`;
      expect(
        (
          await t.fake.sendWebhook(
            t.url,
            "page_viewed",
            payloadFor("page_viewed", { accountId: id, contentId: "990002", title: long }),
          )
        ).status,
      ).toBe(204);
      const title = (await t.db("content").where({ content_key: "990002" }).first())
        ?.title as string;
      expect(title).toBe("t".repeat(999));
      expect(title.isWellFormed()).toBe(true);
    });
  });

  describe("timestamps outside the window are stored at receipt time, with one log line", () => {
    const H = 3_600_000;
    async function send(accountId: string, timestamp: number) {
      const before = Date.now();
      const res = await t.fake.sendWebhook(t.url, "page_viewed", {
        userAccountId: accountId,
        timestamp,
      });
      expect(res.status).toBe(204);
      const row = await t.db.raw(
        `SELECT e.occurred_at, e.received_at FROM event e
         JOIN actor a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id WHERE a.account_id = ?`,
        [accountId],
      );
      const occurred = new Date(row.rows[0].occurred_at).getTime();
      const received = new Date(row.rows[0].received_at).getTime();
      return { occurred, received, before };
    }

    it.each([
      ["dated 2001", Date.UTC(2001, 0, 1)],
      ["73 hours old", Date.now() - 73 * H],
      ["10 minutes ahead", Date.now() + 10 * 60_000],
      ["in seconds, not ms", Math.floor(Date.now() / 1000)],
    ])("an event %s", async (name, timestamp) => {
      const accountId = `window-${name.replace(/\W/g, "")}`;
      const logsBefore = t.logs.length;
      const { occurred, received, before } = await send(accountId, timestamp);
      expect(occurred).toBe(received);
      expect(occurred).toBeGreaterThanOrEqual(before - 1);
      const lines = t.logs.slice(logsBefore).filter((l) => l.includes("out of window"));
      expect(lines).toHaveLength(1);
      expect(lines[0]?.length).toBeLessThan(1000);
      expect(JSON.parse(lines[0] as string).level).toBe(40);
    });

    it("an event 71 hours old keeps its own time, without a warning", async () => {
      const timestamp = Date.now() - 71 * H;
      const logsBefore = t.logs.length;
      const { occurred } = await send("window-71h", timestamp);
      expect(occurred).toBe(timestamp);
      expect(t.logs.slice(logsBefore).some((l) => l.includes("out of window"))).toBe(false);
    });

    it("an old event reopens no sealed days from long ago", async () => {
      // The event dated 2001 above was stored now: no day before this week holds an event.
      const r = await t.db.raw("SELECT min(occurred_at) AS first FROM event");
      expect(new Date(r.rows[0].first).getTime()).toBeGreaterThan(Date.now() - 72 * H - 60_000);
    });
  });

  describe("the token is checked before the body is read", () => {
    const path = "/webhooks/page_viewed";

    it.each([
      ["no token", {}],
      ["a wrong token", { authorization: `JWT ${"x".repeat(40)}.${"y".repeat(40)}.z` }],
      ["a token signed with a wrong secret", null],
    ])(
      "with %s and a 900 KB body that never comes, then 401 at once and the connection closed",
      async (_name, auth) => {
        const headers: Record<string, string> = {
          "content-type": "application/json",
          "content-length": String(900 * 1024),
          ...(auth ?? {
            authorization: `JWT ${t.fake.signRequest("POST", path, { secret: "not-the-secret" })}`,
          }),
        };
        const res = await rawPost(`${t.url}${path}`, { headers });
        expect(res.status).toBe(401);
        expect(json(res)).toMatchObject({ error: { code: "unauthenticated" } });
        expect(res.ms).toBeLessThan(2000);
        expect(res.closed).toBe(true);
      },
    );

    it("a site that uninstalled, with a body that never comes, is refused at once", async () => {
      const gone = await new FakeConfluence().start();
      try {
        expect((await gone.install(t.url)).status).toBe(204);
        expect((await gone.uninstall(t.url)).status).toBe(204);
        const res = await rawPost(`${t.url}${path}`, {
          headers: { ...signedHeaders(gone, "page_viewed"), "content-length": "900000" },
        });
        expect(res.status).toBe(401);
        expect(json(res)).toMatchObject({ error: { code: "unauthenticated" } });
        expect(res.ms).toBeLessThan(2000);
        expect(res.closed).toBe(true);
      } finally {
        await gone.stop();
      }
    });

    it("an unknown webhook with a body that never comes is refused at once", async () => {
      const res = await rawPost(`${t.url}/webhooks/page_exploded`, {
        headers: { "content-type": "application/json", "content-length": "900000" },
      });
      expect(res.status).toBe(404);
      expect(res.ms).toBeLessThan(2000);
      expect(res.closed).toBe(true);
    });

    it("a declared body over 1 MB from a signed site is refused without reading it", async () => {
      const res = await rawPost(`${t.url}${path}`, {
        headers: {
          ...signedHeaders(t.fake, "page_viewed"),
          "content-length": String(2 * 1024 * 1024),
        },
      });
      expect(res.status).toBe(413);
      expect(json(res)).toMatchObject({ error: { code: "payload_too_large" } });
      expect(res.ms).toBeLessThan(2000);
    });

    it("a signed body that stalls is answered 408 within the body timeout, and closed", async () => {
      const before = await eventCount(t.db);
      const res = await rawPost(`${t.url}${path}`, {
        headers: { ...signedHeaders(t.fake, "page_viewed"), "content-length": "200" },
        partial: '{"userAccountId": "u-slow", ',
      });
      expect(res.status).toBe(408);
      expect(json(res)).toMatchObject({ error: { code: "body_timeout" } });
      expect(res.ms).toBeGreaterThan(9_000);
      expect(res.ms).toBeLessThan(13_000);
      expect(res.closed).toBe(true);
      expect(await eventCount(t.db)).toBe(before);
    }, 30_000);

    describe("a token anywhere but Authorization: JWT is refused", () => {
      const body = JSON.stringify(payloadFor("page_viewed", { accountId: "u-slot" }));
      const token = () => t.fake.signRequest("POST", path);
      it.each([
        ["?jwt=", () => ({ query: `?jwt=${token()}`, headers: {} })],
        ["?acpt=", () => ({ query: `?acpt=${token()}`, headers: {} })],
        ["X-acpt", () => ({ query: "", headers: { "x-acpt": token() } })],
        [
          "Authorization and ?jwt both",
          () => ({ query: `?jwt=${token()}`, headers: { authorization: `JWT ${token()}` } }),
        ],
        [
          "Authorization and X-acpt both",
          () => ({ query: "", headers: { authorization: `JWT ${token()}`, "x-acpt": token() } }),
        ],
        [
          "Authorization: Bearer",
          () => ({ query: "", headers: { authorization: `Bearer ${token()}` } }),
        ],
        [
          "Authorization: JWT garbage",
          () => ({ query: "", headers: { authorization: "JWT garbage" } }),
        ],
      ])("%s: 401 unauthenticated, nothing stored", async (_name, make) => {
        const before = await eventCount(t.db);
        const { query, headers } = make();
        const res = await rawPost(`${t.url}${path}${query}`, {
          headers: { "content-type": "application/json", ...headers },
          body,
        });
        expect(res.status).toBe(401);
        expect(json(res)).toMatchObject({ error: { code: "unauthenticated" } });
        expect(await eventCount(t.db)).toBe(before);
      });
    });
  });

  describe("Content-Encoding", () => {
    const path = "/webhooks/page_viewed";
    const body = (id: string) => JSON.stringify(payloadFor("page_viewed", { accountId: id }));

    it("a gzip body is read and stored", async () => {
      const res = await rawPost(`${t.url}${path}`, {
        headers: { ...signedHeaders(t.fake, "page_viewed"), "content-encoding": "gzip" },
        body: gzipSync(body("u-gzip")),
      });
      expect(res.status).toBe(204);
      expect(await eventsOf(t, "u-gzip")).toBe(1);
    });

    it.each([
      ["gzip with a plain body", "gzip", body("u-enc-1"), 400, "invalid_encoding"],
      ["deflate with a plain body", "deflate", body("u-enc-2"), 400, "invalid_encoding"],
      [
        "gzip cut short",
        "gzip",
        gzipSync(body("u-enc-3")).subarray(0, 20),
        400,
        "invalid_encoding",
      ],
      ["an unknown encoding", "br", body("u-enc-4"), 415, "unsupported_encoding"],
      [
        "two encodings",
        "gzip, gzip",
        gzipSync(gzipSync(body("u-enc-5"))),
        415,
        "unsupported_encoding",
      ],
      [
        "a gzip bomb",
        "gzip",
        gzipSync(Buffer.alloc(5 * 1024 * 1024, 32)),
        413,
        "payload_too_large",
      ],
    ])("%s: a 4xx with the JSON error body", async (_name, encoding, raw, status, code) => {
      const before = await eventCount(t.db);
      const res = await rawPost(`${t.url}${path}`, {
        headers: { ...signedHeaders(t.fake, "page_viewed"), "content-encoding": encoding },
        body: raw,
      });
      expect(res.status).toBe(status);
      expect(json(res)).toMatchObject({ error: { code } });
      expect(await eventCount(t.db)).toBe(before);
    });

    it("the app still answers after all of the above", async () => {
      const res = await t.fake.sendWebhook(
        t.url,
        "page_viewed",
        payloadFor("page_viewed", { accountId: "u-after" }),
      );
      expect(res.status).toBe(204);
    });
  });
});
