import { describe, expect, it } from "vitest";
import { ConfluenceClient, type HostClient, retryAfterMs } from "../../src/confluence/client.js";
import { createLogger } from "../../src/log.js";

type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

/** A HostClient that answers from a script, recording each call. */
function scripted(replies: Reply[]) {
  const calls: string[] = [];
  const answer = (url: string, cb: Parameters<HostClient["get"]>[1]) => {
    calls.push(url);
    const r = replies.shift() ?? { status: 500 };
    cb(null, { statusCode: r.status, headers: r.headers ?? {} }, r.body ?? {});
  };
  const host: HostClient = {
    get: (o, cb) => answer(o.url, cb),
    post: (o, cb) => answer(o.url, cb),
  };
  return { host, calls };
}

describe("ConfluenceClient", () => {
  it("waits at least Retry-After on 429, then succeeds", async () => {
    const { host, calls } = scripted([
      { status: 429, headers: { "retry-after": "2" } },
      { status: 200, body: { ok: true } },
    ]);
    const waits: number[] = [];
    const client = new ConfluenceClient(host, createLogger("silent"), undefined, async (ms) => {
      waits.push(ms);
    });
    expect(await client.getJson("/rest/api/x")).toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
  });

  it("backs off with jitter on 5xx, and gives up after the attempts", async () => {
    const { host, calls } = scripted([
      { status: 503 },
      { status: 502 },
      { status: 500 },
      { status: 503 },
    ]);
    const waits: number[] = [];
    const client = new ConfluenceClient(
      host,
      createLogger("silent"),
      { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
      async (ms) => {
        waits.push(ms);
      },
    );
    const res = await client.get("/rest/api/x");
    expect(res.status).toBe(503);
    expect(calls).toHaveLength(4);
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => expect(w).toBeLessThanOrEqual(100 * 2 ** i));
  });

  it("does not retry a 404", async () => {
    const { host, calls } = scripted([{ status: 404 }]);
    const client = new ConfluenceClient(host, createLogger("silent"), undefined, async () => {});
    expect((await client.get("/rest/api/x")).status).toBe(404);
    expect(calls).toHaveLength(1);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("3")).toBe(3000);
    const now = Date.parse("2026-11-21T10:00:00Z");
    expect(retryAfterMs("Sat, 21 Nov 2026 10:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs("soon")).toBeNull();
  });
});
