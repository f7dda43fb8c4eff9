import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { type Config, ROOT_DIR } from "../../src/config.js";

/** A free TCP port on 127.0.0.1 (bound and released). */
/**
 * The environment that points a child app at a fake Confluence (its key server, its host)
 * and at a test database, PostgreSQL or PGlite.
 */
export function childAppEnv(
  fake: { keysUrl: string },
  database: Config["database"],
): Record<string, string> {
  return {
    CONNECT_KEYS_CDN_URL: fake.keysUrl,
    AC_HOST_WHITELIST: "127.0.0.1",
    ...(database.kind === "postgres"
      ? { DATABASE_URL: database.url }
      : { PGLITE_DATA_DIR: database.dataDir }),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the signal to the exit. */
  ms: number;
  /** The process had not exited in time and was killed (SIGKILL). */
  timedOut: boolean;
}

export interface ChildApp {
  url: string;
  process: ChildProcess;
  output: string[];
  /** Every process below `process` (Linux: read from /proc), e.g. the server under `npm start`. */
  descendants(): number[];
  /** SIGKILL (the process and every process below it): no shutdown hooks, no draining. */
  kill(): Promise<void>;
  /**
   * Sends `signal` to the process and waits for its exit; after `timeoutMs` it is SIGKILLed
   * (with everything below it) and `timedOut` is set.
   */
  terminate(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ChildExit>;
}

/** Pids of every live process below `pid`, from /proc (empty where /proc is missing). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

/** Whether a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // no /proc: kill(0) said it exists
  }
}

/**
 * Runs the app as its own process and waits until healthy: by default `node --import tsx
 * src/server.ts`; with `via: "npm"`, `npm start` exactly as an operator would run it.
 */
export async function startChildApp(
  env: Record<string, string>,
  opts: { via?: "node" | "npm" } = {},
): Promise<ChildApp> {
  const port = await freePort();
  const childEnv = {
    ...process.env,
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    ...env,
    PORT: String(port),
  };
  const child =
    opts.via === "npm"
      ? spawn("npm", ["start"], {
          cwd: ROOT_DIR,
          env: childEnv,
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(process.execPath, ["--import", "tsx", path.join(ROOT_DIR, "src/server.ts")], {
          cwd: ROOT_DIR,
          env: childEnv,
          stdio: ["ignore", "pipe", "pipe"],
        });
  const output: string[] = [];
  child.stdout?.on("data", (d) => output.push(String(d)));
  child.stderr?.on("data", (d) => output.push(String(d)));
  const started = Date.now();
  let exitedAt = 0;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exitedAt = Date.now();
      resolve();
    }),
  );
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  // Processes seen below the child while it ran (kept so that orphans can be cleaned up).
  const seen = new Set<number>();
  const descendants = () => {
    const pid = child.pid;
    const list = pid === undefined || hasExited() ? [] : descendantsOf(pid);
    for (const p of list) seen.add(p);
    return list;
  };
  const killAll = async () => {
    descendants();
    for (const p of seen) {
      if (isAlive(p)) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    if (!hasExited()) {
      child.kill("SIGKILL");
      await exited;
    }
  };

  const url = `http://localhost:${port}`;
  const deadline = started + 60_000;
  for (;;) {
    if (hasExited()) throw new Error(`app exited early:\n${output.join("")}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await killAll();
      throw new Error(`app did not become healthy:\n${output.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  descendants();
  return {
    url,
    process: child,
    output,
    descendants,
    kill: killAll,
    async terminate(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
      descendants();
      const t0 = Date.now();
      if (!hasExited()) child.kill(signal);
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
      ]);
      if (timedOut) await killAll();
      return {
        code: child.exitCode,
        signal: child.signalCode,
        ms: (exitedAt || Date.now()) - t0,
        timedOut,
      };
    },
  };
}
