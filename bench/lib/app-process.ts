import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

/** The app running as its own Node process (own event loop, as in production). */
export interface AppProcess {
  name: string;
  pid: number;
  port: number;
  /** The app's base URL as it knows it (the descriptor's baseUrl, the install's `aud`). */
  url: string;
  /** The last lines the app wrote (stdout and stderr). */
  logTail(): string[];
  /** Lines the app wrote since it started. */
  logLines(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const TAIL = 40;

/**
 * Starts `node --import tsx src/server.ts` in `cwd` with `env` added to this process's
 * environment, and waits until GET /healthz answers 200.
 */
export async function startApp(opts: {
  name: string;
  cwd: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  timeoutMs?: number;
}): Promise<AppProcess> {
  const port = await freePort();
  const args = [...(opts.nodeFlags ?? []), "--import", "tsx", "src/server.ts"];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  let lines = 0;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line === "") continue;
      lines++;
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: could not start the app`);

  let stopping: Promise<void> | undefined;
  const app: AppProcess = {
    name: opts.name,
    pid,
    port,
    url: `http://localhost:${port}`,
    logTail: () => [...tail],
    logLines: () => lines,
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        child.kill("SIGTERM");
        const killed = await Promise.race([
          exitPromise.then(() => false),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 10_000).unref()),
        ]);
        if (killed && !exited) {
          child.kill("SIGKILL");
          await exitPromise;
        }
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited) {
        throw new Error(
          `${opts.name}: the app exited (code ${exited.code}, signal ${exited.signal}) before it was healthy:\n${tail.join("\n")}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`${opts.name}: /healthz did not answer 200 in time:\n${tail.join("\n")}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
          signal: AbortSignal.timeout(2000),
        });
        await res.arrayBuffer();
        if (res.status === 200) return app;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await app.stop();
    throw error;
  }
}
