import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/harness.js";

const ADMIN = "u-admin";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Line {
  component?: string;
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  path?: string;
  query?: string;
  status?: number;
  ms?: number;
  clientKey?: string;
}

/** One line per request: id, method, path, status, duration; never a token or a header. */
describe("request logging", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  /** The request line of `id`, once written (it is written when the answer has gone out). */
  async function lineOf(id: string): Promise<Line> {
    for (let i = 0; i < 100; i++) {
      const found = t.logs
        .map((l) => JSON.parse(l) as Line)
        .filter((l) => l.component === "http" && l.reqId === id && l.status !== undefined);
      if (found.length > 0) {
        expect(found).toHaveLength(1);
        return found[0] as Line;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no request line for ${id}`);
  }

  /** Every piece of a token: its header, claims and signature segments. */
  function expectNoPartOf(token: string) {
    const all = t.logs.join("");
    for (const part of token.split(".")) {
      expect(part.length).toBeGreaterThan(10);
      expect(all).not.toContain(part);
    }
  }

  it("a refused request: the error handler's line carries the same request id", async () => {
    const res = await fetch(`${t.url}/api/reports/users?from=not-a-date`, {
      headers: { "x-request-id": "refused-1", authorization: `JWT ${t.fake.contextToken(ADMIN)}` },
    });
    expect(res.status).toBe(400);
    expect((await lineOf("refused-1")).status).toBe(400);
    const handlerLine = t.logs
      .map((l) => JSON.parse(l) as Line & { code?: string })
      .find((l) => l.reqId === "refused-1" && l.code !== undefined);
    expect(handlerLine).toMatchObject({ status: 400, path: "/api/reports/users" });
  });

  it("a request with ?jwt= and an Authorization header: logged without either token", async () => {
    const inQuery = t.fake.contextToken(ADMIN);
    const inHeader = t.fake.contextToken("u-someone-else");
    const res = await fetch(
      `${t.url}/api/reports/users.csv?from=2026-11-01&to=2026-11-02&jwt=${inQuery}&tz=UTC`,
      { headers: { authorization: `JWT ${inHeader}`, cookie: `session=${inHeader}` } },
    );
    expect(res.status).toBe(401); // a token in two slots
    await res.arrayBuffer();
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).toMatch(UUID);
    const line = await lineOf(id);
    expect(line).toMatchObject({
      method: "GET",
      path: "/api/reports/users.csv",
      status: 401,
      msg: "request",
    });
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.query).toBe("from=2026-11-01&to=2026-11-02&jwt=[redacted]&tz=UTC");
    expect(line.level).toBe(40); // 4xx: warn
    expectNoPartOf(inQuery);
    expectNoPartOf(inHeader);
    expect(JSON.stringify(line)).not.toMatch(/authorization|cookie/i);
  });

  it("a CSV download (?jwt=) that succeeds: logged at info with the site, without the token", async () => {
    const token = t.fake.contextToken(ADMIN);
    const res = await fetch(`${t.url}/api/reports/users.csv?jwt=${token}&tz=UTC`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const line = await lineOf(res.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({
      method: "GET",
      status: 200,
      level: 30,
      query: "jwt=[redacted]&tz=UTC",
    });
    expect(line.clientKey).toEqual(expect.any(String));
    expectNoPartOf(token);
  });

  it("a sane incoming X-Request-Id is echoed and logged; health checks log at debug", async () => {
    const id = "edge-7f3a.2026:11/req_42";
    const res = await fetch(`${t.url}/healthz`, { headers: { "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(await lineOf(id)).toMatchObject({ path: "/healthz", status: 200, level: 20 });
  });

  it.each([
    ["too long", "a".repeat(129)],
    ["a control character", "abc\tdef"],
    ["spaces", "a b"],
    ["JSON punctuation", 'x","status":200,"y":"'],
    ["non-ASCII", "caf\u00e9"],
  ])("an X-Request-Id with %s is replaced by a new id", async (_what, hostile) => {
    const res = await fetch(`${t.url}/healthz`, { headers: { "x-request-id": hostile } });
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).toMatch(UUID);
    await lineOf(id);
    expect(t.logs.filter((l) => l.includes(JSON.stringify(hostile)))).toEqual([]);
  });

  it("an answer 404 is one line too, and no line holds request headers", async () => {
    const res = await fetch(`${t.url}/nowhere?token=abcdefgh12345678`, {
      headers: { "x-acpt": "abcdefgh12345678" },
    });
    expect(res.status).toBe(404);
    const line = await lineOf(res.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({ path: "/nowhere", query: "token=[redacted]", status: 404 });
    expect(t.logs.join("")).not.toContain("abcdefgh12345678");
  });
});
