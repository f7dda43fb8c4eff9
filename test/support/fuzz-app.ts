/**
 * The fuzz suite's handle on the app: runs fuzz-app-child.ts (the real app via startTestApp(),
 * two fake sites) as a separate process, sends it signed requests with a deadline, reads its
 * database over IPC, and replaces it with a fresh one when it stops answering.
 *
 * Nothing here can wait forever: every HTTP request is aborted after ABORT_MS, every IPC call
 * after a few seconds, and a process that no longer answers /healthz is killed (SIGKILL).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import knexFactory from "knex";
import { ROOT_DIR } from "../../src/config.js";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import type { FromChild, ToChild } from "./fuzz-fixtures.js";

/** Every answer must come within this (the product's promise under attack). */
export const LIMIT_MS = 2000;
/** A request still unanswered after this is aborted and counts as no answer. */
export const ABORT_MS = Number(process.env.FUZZ_ABORT_MS ?? 3000);

const CHILD = path.join(ROOT_DIR, "test/support/fuzz-app-child.ts");
const START_TIMEOUT_MS = 120_000;
const IPC_TIMEOUT_MS = 15_000;

export interface FuzzSite {
  index: number;
  clientKey: string;
  /** Signs requests as this site (never started: its REST server runs in the child). */
  fake: FakeConfluence;
}

export interface Answer {
  /** 0: no answer (aborted after ABORT_MS, or the connection failed). */
  status: number;
  ms: number;
  body: string;
  contentType: string;
  /** Why there was no answer. */
  error?: string;
}

export interface RequestInit {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** A message to the child, before it gets its id. */
type ToChildMessage = ToChild extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface Child {
  process: ChildProcess;
  tmp: string;
  url: string;
  sites: FuzzSite[];
  output: string[];
  pending: Map<number, Pending>;
  exited: string | null;
}

export class FuzzApp {
  /** How many times the app had to be replaced because it stopped answering. */
  restarts = 0;
  private child!: Child;
  private spare: Promise<Child> | null = null;
  private nextId = 1;

  static async start(): Promise<FuzzApp> {
    const app = new FuzzApp();
    app.child = await app.spawnChild();
    return app;
  }

  get url(): string {
    return this.child.url;
  }

  get sites(): FuzzSite[] {
    return this.child.sites;
  }

  /** Process exit of the current app, when it died (code or signal, last output). */
  get exitInfo(): string | null {
    return this.child.exited;
  }

  async request(method: string, pathAndQuery: string, init: RequestInit = {}): Promise<Answer> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.child.url}${pathAndQuery}`, {
        method,
        headers: init.headers,
        body: typeof init.body === "string" || !init.body ? init.body : new Uint8Array(init.body),
        redirect: "manual",
        signal: AbortSignal.timeout(ABORT_MS),
      });
      const body = await res.text();
      return {
        status: res.status,
        ms: Math.round(performance.now() - t0),
        body,
        contentType: res.headers.get("content-type") ?? "",
      };
    } catch (error) {
      const e = error as { name?: string; message?: string; cause?: { code?: string } };
      return {
        status: 0,
        ms: Math.round(performance.now() - t0),
        body: "",
        contentType: "",
        error:
          e.name === "TimeoutError"
            ? `no answer within ${ABORT_MS} ms`
            : `${e.message ?? String(error)}${e.cause?.code ? ` (${e.cause.code})` : ""}`,
      };
    }
  }

  /** POST /webhooks/<event> signed by the site, as Confluence signs it (the qsh covers path). */
  webhook(
    site: FuzzSite,
    event: string,
    body: string | Uint8Array,
    headers: Record<string, string> = { "content-type": "application/json" },
  ): Promise<Answer> {
    const p = `/webhooks/${event}`;
    let token: string;
    try {
      token = site.fake.signRequest("POST", p);
    } catch {
      // A path atlassian-jwt cannot decode (%ED%A0%80, %zz): sign some path; such names are
      // refused (404) before the token is looked at anyway.
      token = site.fake.signRequest("POST", p, { qshPath: "/webhooks/undecodable" });
    }
    return this.request("POST", p, {
      body,
      headers: { ...headers, authorization: `JWT ${token}` },
    });
  }

  /** A call to the API as `accountId` of `site`, with a context token (AP.context.getToken()). */
  api(
    site: FuzzSite,
    accountId: string,
    method: string,
    pathAndQuery: string,
    init: RequestInit = {},
  ): Promise<Answer> {
    const token = site.fake.contextToken(accountId);
    return this.request(method, pathAndQuery, {
      body: init.body,
      headers: { ...init.headers, authorization: `JWT ${token}` },
    });
  }

  /** GET /healthz answered 200 within LIMIT_MS. */
  async healthy(): Promise<boolean> {
    if (this.child.exited) return false;
    const ctrl = AbortSignal.timeout(LIMIT_MS);
    try {
      const res = await fetch(`${this.child.url}/healthz`, { signal: ctrl });
      await res.text();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * After a failed request: when the app no longer answers /healthz, replace it (SIGKILL, fresh
   * database, fresh sites) and say why; otherwise null.
   */
  async recover(): Promise<string | null> {
    if (await this.healthy()) return null;
    const why = this.child.exited
      ? `the app process died (${this.child.exited})`
      : `the app stopped answering (/healthz unanswered within ${LIMIT_MS} ms)`;
    await this.kill(this.child); // first: a wedged app spins a core
    const spare = this.spare;
    this.spare = null;
    this.child = (await spare?.catch(() => null)) ?? (await this.spawnChild());
    this.restarts++;
    // An input that wedged the app once will, while it is shrunk, wedge it again: from now on
    // keep a started app in reserve, so a restart costs the detection, not a start.
    this.spare = this.spawnChild();
    this.spare.catch(() => undefined);
    return why;
  }

  /** Runs SQL in the app's database (PGlite allows one opener: the app's own handle). */
  async query<T = Record<string, unknown>>(sql: string, bindings: unknown[] = []): Promise<T[]> {
    return (await this.call({ op: "query", sql, bindings })) as T[];
  }

  async eventCount(): Promise<number> {
    const rows = await this.query<{ n: number }>("SELECT count(*)::int AS n FROM event");
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Stored events per account id starting with each prefix, with the site that stored them.
   * Prefixes end with a separator, so no prefix is another's.
   */
  async eventsByPrefix(
    prefixes: string[],
  ): Promise<Map<string, { clientKey: string; accountId: string }[]>> {
    const found = new Map<string, { clientKey: string; accountId: string }[]>(
      prefixes.map((p) => [p, []]),
    );
    if (prefixes.length === 0) return found;
    const rows = await this.query<{ prefix: string; client_key: string; account_id: string }>(
      `SELECT p.prefix, t.client_key, a.account_id
         FROM unnest(?::text[]) AS p(prefix)
         JOIN actor a ON starts_with(a.account_id, p.prefix)
         JOIN event e ON e.tenant_id = a.tenant_id AND e.actor_id = a.id
         JOIN tenant t ON t.id = e.tenant_id`,
      [prefixes],
    );
    for (const r of rows)
      found.get(r.prefix)?.push({ clientKey: r.client_key, accountId: r.account_id });
    return found;
  }

  /** Error-level log lines the app wrote since the last call (for saying what a 5xx was). */
  async errorLines(): Promise<string[]> {
    try {
      return (await this.call({ op: "errors" })) as string[];
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    try {
      await this.call({ op: "stop" }, 30_000);
      await waitForExit(child.process, 5_000);
    } catch {
      // stuck or gone: kill it below
    }
    await this.kill(child);
    const spare = await this.spare?.catch(() => null);
    this.spare = null;
    if (spare) await this.kill(spare);
  }

  private call(message: ToChildMessage, timeoutMs = IPC_TIMEOUT_MS): Promise<unknown> {
    const child = this.child;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (child.exited || !child.process.connected) {
        reject(new Error(`the app process is gone (${child.exited ?? "disconnected"})`));
        return;
      }
      const timer = setTimeout(() => {
        child.pending.delete(id);
        reject(new Error(`the app did not answer ${message.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      child.pending.set(id, { resolve, reject, timer });
      child.process.send({ ...message, id } as ToChild);
    });
  }

  private async spawnChild(): Promise<Child> {
    // The child's temporary files (PGlite's data directory) go here, so a killed child
    // leaves nothing behind once this directory is removed.
    const tmp = await mkdtemp(path.join(tmpdir(), "activity-report-fuzz-"));
    const proc = spawn(process.execPath, ["--max-old-space-size=1536", "--import", "tsx", CHILD], {
      cwd: ROOT_DIR,
      env: { ...process.env, NODE_ENV: "test", TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const child: Child = {
      process: proc,
      tmp,
      url: "",
      sites: [],
      output: [],
      pending: new Map(),
      exited: null,
    };
    const keep = (d: unknown) => {
      child.output.push(String(d));
      if (child.output.length > 200) child.output.splice(0, 100);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    proc.on("exit", (code, signal) => {
      child.exited = `${signal ? `signal ${signal}` : `exit code ${code}`}; last output: ${child.output
        .join("")
        .slice(-600)}`;
      for (const p of child.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`the app process exited (${child.exited})`));
      }
      child.pending.clear();
    });
    const ready = new Promise<Extract<FromChild, { op: "ready" }>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the app did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      proc.on("message", (m: FromChild) => {
        if ("op" in m && m.op === "ready") {
          clearTimeout(timer);
          resolve(m);
        } else if ("op" in m && m.op === "failed") {
          clearTimeout(timer);
          reject(new Error(`the app failed to start: ${m.message}`));
        } else if ("id" in m) {
          const p = child.pending.get(m.id);
          if (!p) return;
          child.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.result);
          else p.reject(new Error(m.message));
        }
      });
      proc.once("exit", () => {
        clearTimeout(timer);
        reject(new Error(`the app exited while starting: ${child.exited}`));
      });
    });
    try {
      const r = await ready;
      child.url = r.url;
      child.sites = r.sites.map((s, index) => ({
        index,
        clientKey: s.clientKey,
        fake: new FakeConfluence({ clientKey: s.clientKey, sharedSecret: s.sharedSecret }),
      }));
    } catch (error) {
      await this.kill(child);
      throw error;
    }
    return child;
  }

  /** SIGKILL (when still running), then remove what the child left: its files, its database. */
  private async kill(child: Child): Promise<void> {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGKILL");
      await waitForExit(child.process, 10_000).catch(() => undefined);
    }
    await rm(child.tmp, { recursive: true, force: true });
    const serverUrl = process.env.DATABASE_URL;
    if (serverUrl && child.process.pid) {
      // harness.freshDatabase names databases ar_test_<pid>_<random>.
      const admin = knexFactory({ client: "pg", connection: serverUrl, pool: { min: 0, max: 1 } });
      try {
        const { rows } = await admin.raw("SELECT datname FROM pg_database WHERE datname LIKE ?", [
          `ar_test_${child.process.pid}_%`,
        ]);
        for (const r of rows as { datname: string }[]) {
          if (/^ar_test_\d+_[a-z0-9]+$/.test(r.datname)) {
            await admin.raw(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
          }
        }
      } finally {
        await admin.destroy();
      }
    }
  }
}

function waitForExit(proc: ChildProcess, timeoutMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the app did not exit")), timeoutMs);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
