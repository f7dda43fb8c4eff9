import { existsSync } from "node:fs";
import http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/knex.js";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { webhookPath } from "../../src/events/types.js";
import { type ChildApp, isAlive, startChildApp, childAppEnv } from "../support/child-app.js";
import { BACKEND, freshDatabase } from "../support/harness.js";

const ADMIN = "shutdown-admin";
const DEFAULT_GRACE_S = 10;

interface Answer {
  status: number;
  connection: string | undefined;
}

/** One request over `agent`; rejects on transport errors (refused, reset). */
function send(
  agent: http.Agent,
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: url.port,
        method,
        path: `${url.pathname}${url.search}`,
        agent,
        headers: body ? { ...headers, "content-length": String(body.length) } : headers,
        timeout: 20_000,
      },
      (res) => {
        res.resume();
        res.once("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
        );
        res.once("error", reject);
      },
    );
    req.once("timeout", () => req.destroy(new Error("client timeout")));
    req.once("error", reject);
    req.end(body);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A webhook whose body arrives in `chunks` pieces `gapMs` apart over a keep-alive `agent`: a
 * request that is in flight for a while. `midBody` runs once the first piece has been handed to the kernel.
 */
function trickle(
  agent: http.Agent,
  base: string,
  path: string,
  authorization: string,
  body: Buffer,
  opts: { chunks: number; gapMs: number; midBody?: () => void },
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: url.port,
        method: "POST",
        path,
        agent,
        headers: {
          authorization,
          "content-type": "application/json",
          "content-length": String(body.length),
        },
      },
      (res) => {
        res.resume();
        res.once("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
        );
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    void (async () => {
      const size = Math.ceil(body.length / opts.chunks);
      for (let i = 0; i < opts.chunks; i++) {
        if (req.destroyed) return;
        // `midBody` runs once the first piece has left for the server (the write callback:
        // handed to the kernel), not when it is queued: a keep-alive agent hands the request
        // its socket on a later tick, and a signal sent before the bytes leave would race a
        // request the server has not been sent yet, which no server can answer.
        req.write(body.subarray(i * size, (i + 1) * size), i === 0 ? opts.midBody : undefined);
        if (i < opts.chunks - 1) await pause(opts.gapMs);
      }
      req.end();
    })();
  });
}

describe(`shutdown (${BACKEND}): SIGTERM drains and exits, nothing acknowledged is lost`, () => {
  let fake: FakeConfluence;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let app: ChildApp | undefined;

  beforeAll(async () => {
    fake = await new FakeConfluence().start();
    fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Shutdown Admin", admin: true });
    database = await freshDatabase();
    env = {
      ...childAppEnv(fake, database.database),
      PRIVACY_JOBS_INTERVAL_S: "0",
    };
  });
  afterEach(async () => {
    await app?.kill();
    app = undefined;
  });
  afterAll(async () => {
    await fake?.stop();
    await database?.drop();
  });

  /** content keys of every stored event (read once the app is gone: PGlite has one opener). */
  async function storedContentKeys(): Promise<Set<string>> {
    const db = await createDb(database.database);
    try {
      const rows = await db("event as e")
        .join("content as c", function () {
          this.on("c.tenant_id", "e.tenant_id").andOn("c.id", "e.content_id");
        })
        .select<{ content_key: string }[]>("c.content_key");
      return new Set(rows.map((r) => r.content_key));
    } finally {
      await db.destroy();
    }
  }

  it("when keep-alive clients keep hammering, then SIGTERM exits 0 within the grace and every 204 is stored", async () => {
    app = await startChildApp(env);
    const target = app;
    expect((await fake.install(target.url)).status).toBe(204);

    const CLIENTS = 8;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const acknowledged = new Set<string>();
    const unexpected: string[] = [];
    const answers = { webhook: 0, read: 0, afterSignal: 0, closeAfterSignal: 0, failed: 0 };
    let signalledAt = 0;
    let exited = false;
    target.process.once("exit", () => {
      exited = true;
    });
    let next = 2_000_000;
    const path = webhookPath("page_viewed");
    const webhookBody = (id: string) =>
      Buffer.from(
        JSON.stringify(
          payloadFor("page_viewed", { accountId: `u-${Number(id) % 40}`, contentId: id }),
        ),
      );
    const today = new Date().toISOString().slice(0, 10);
    const reads = [
      "/healthz",
      `/api/reports/users?from=${today}&to=${today}`,
      `/api/reports/calendar?from=${today}&to=${today}`,
    ];

    const client = async (n: number) => {
      for (let i = 0; !exited; i++) {
        try {
          if (i % 3 !== 2) {
            const id = String(next++);
            const body = webhookBody(id);
            const answer = await send(
              agent,
              target.url,
              "POST",
              path,
              {
                authorization: `JWT ${fake.signRequest("POST", path)}`,
                "content-type": "application/json",
              },
              body,
            );
            if (answer.status === 204) acknowledged.add(id);
            else unexpected.push(`POST ${path}: ${answer.status}`);
            answers.webhook++;
            if (signalledAt) {
              answers.afterSignal++;
              if (answer.connection === "close") answers.closeAfterSignal++;
            }
          } else {
            const readPath = reads[(i + n) % reads.length] as string;
            const answer = await send(agent, target.url, "GET", readPath, {
              authorization: `JWT ${fake.contextToken(ADMIN)}`,
            });
            if (answer.status !== 200) unexpected.push(`GET ${readPath}: ${answer.status}`);
            answers.read++;
            if (signalledAt) {
              answers.afterSignal++;
              if (answer.connection === "close") answers.closeAfterSignal++;
            }
          }
        } catch {
          // refused or reset once the app stops listening: keep trying until it is gone
          answers.failed++;
          await pause(5);
        }
      }
    };
    // And one slow sender on its own keep-alive connection: a webhook whose body takes ~0.6 s,
    // one after the other, so that one is certainly in flight when the signal comes.
    const slowAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let midBody: (() => void) | undefined;
    let inFlightAtSignal: { id: string; answer?: Answer; error?: string } | undefined;
    const slowSender = async () => {
      while (!exited) {
        const id = String(next++);
        let mine = false;
        try {
          const answer = await trickle(
            slowAgent,
            target.url,
            path,
            `JWT ${fake.signRequest("POST", path)}`,
            webhookBody(id),
            {
              chunks: 6,
              gapMs: 100,
              midBody: () => {
                if (midBody) {
                  mine = true;
                  inFlightAtSignal = { id };
                  midBody();
                  midBody = undefined;
                }
              },
            },
          );
          if (answer.status === 204) acknowledged.add(id);
          if (mine && inFlightAtSignal) inFlightAtSignal.answer = answer;
        } catch (error) {
          if (mine && inFlightAtSignal) inFlightAtSignal.error = String(error);
          await pause(5);
        }
      }
    };
    const clients = Promise.all([
      ...Array.from({ length: CLIENTS }, (_, n) => client(n)),
      slowSender(),
    ]);
    // Warm keep-alive connections, busy all the time: then the signal, while the slow
    // sender is in the middle of a body.
    const hammeringSince = Date.now();
    while (acknowledged.size < 300 || Date.now() - hammeringSince < 2000) await pause(20);
    await new Promise<void>((resolve) => {
      midBody = resolve;
    });

    signalledAt = Date.now();
    const exit = await target.terminate("SIGTERM", (DEFAULT_GRACE_S + 5) * 1000);
    exited = true;
    await clients;
    agent.destroy();
    slowAgent.destroy();
    const stored = await storedContentKeys();
    const lost = [...acknowledged].filter((id) => !stored.has(id));
    const storedOfOurs = [...stored].filter((k) => Number(k) >= 2_000_000).length;
    console.log(
      `shutdown drain (${BACKEND}): acknowledged ${acknowledged.size}, stored ${storedOfOurs}, ` +
        `lost ${lost.length}, exit ${exit.code ?? exit.signal} in ${(exit.ms / 1000).toFixed(1)} s ` +
        `(${answers.webhook} webhooks and ${answers.read} reads answered, ${answers.afterSignal} ` +
        `after SIGTERM of which ${answers.closeAfterSignal} with Connection: close; the webhook ` +
        `in flight at the signal: ${inFlightAtSignal?.answer?.status ?? inFlightAtSignal?.error}, ` +
        `Connection: ${inFlightAtSignal?.answer?.connection})`,
    );
    expect(exit.timedOut, target.output.join("")).toBe(false);
    expect(exit.code, target.output.join("")).toBe(0);
    expect(exit.ms).toBeLessThan((DEFAULT_GRACE_S + 2) * 1000);
    expect(unexpected.slice(0, 10)).toEqual([]);
    expect(lost).toEqual([]);
    // The request in flight was answered normally, and told the client to close.
    expect(inFlightAtSignal?.answer).toEqual({ status: 204, connection: "close" });
    expect(stored.has(inFlightAtSignal?.id ?? "")).toBe(true);
    expect(storedOfOurs).toBeGreaterThanOrEqual(acknowledged.size);
  });

  it("when a request stalls mid-body, then SIGTERM still exits 0 once the grace is over", async () => {
    const GRACE_S = 2;
    app = await startChildApp({ ...env, SHUTDOWN_GRACE_S: String(GRACE_S) });
    const target = app;
    expect((await fake.install(target.url)).status).toBe(204);
    const path = webhookPath("page_viewed");
    // Headers and a tenth of the body, then nothing: the request never completes by itself.
    const body = Buffer.from(
      JSON.stringify(payloadFor("page_viewed", { accountId: "u-stall", contentId: "7" })),
    );
    const agent = new http.Agent({ keepAlive: true });
    const stalled = http.request(`${target.url}${path}`, {
      method: "POST",
      agent,
      headers: {
        authorization: `JWT ${fake.signRequest("POST", path)}`,
        "content-type": "application/json",
        "content-length": String(body.length),
      },
    });
    stalled.on("error", () => {});
    stalled.write(body.subarray(0, Math.floor(body.length / 10)));
    // And an idle keep-alive connection.
    await send(agent, target.url, "GET", "/healthz", {});
    await pause(300);

    const exit = await target.terminate("SIGTERM", (GRACE_S + 8) * 1000);
    stalled.destroy();
    agent.destroy();
    console.log(
      `shutdown with a stalled request: exit ${exit.code ?? exit.signal} in ${(exit.ms / 1000).toFixed(1)} s (grace ${GRACE_S} s)`,
    );
    expect(exit.timedOut, target.output.join("")).toBe(false);
    expect(exit.code, target.output.join("")).toBe(0);
    expect(exit.ms).toBeLessThan((GRACE_S + 2) * 1000);
  });

  // Linux: the processes under npm are found through /proc.
  it.skipIf(!existsSync("/proc/self/stat"))(
    "when npm start gets SIGTERM, then the server stops too (no orphan)",
    async () => {
      app = await startChildApp(env, { via: "npm" });
      const target = app;
      const below = target.descendants();
      expect(below.length).toBeGreaterThan(0);

      const exit = await target.terminate("SIGTERM", 15_000);
      // npm is gone; the server under it must follow within the grace (nothing is in flight).
      const deadline = Date.now() + (DEFAULT_GRACE_S + 2) * 1000;
      let alive = below.filter(isAlive);
      while (alive.length > 0 && Date.now() < deadline) {
        await pause(100);
        alive = below.filter(isAlive);
      }
      let answering = true;
      try {
        await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      } catch {
        answering = false;
      }
      console.log(
        `npm start + SIGTERM: npm exit ${exit.code ?? exit.signal} in ${(exit.ms / 1000).toFixed(1)} s, ` +
          `processes below it left running: ${alive.length}, port answering: ${answering}`,
      );
      expect(exit.timedOut, target.output.join("")).toBe(false);
      expect(alive, target.output.join("")).toEqual([]);
      expect(answering).toBe(false);
    },
  );
});
