/**
 * Webhook ingestion benchmark over HTTP, against the app on a real PostgreSQL.
 *
 * Two configurations, each a separate child process (its own event loop, as in production):
 *   ceiling: BENCH_NO_STORE=1, the app authenticates and validates webhooks but stores nothing;
 *   store:   the normal app, which answers 204 only once the event's transaction has committed.
 * Runs alternate between the two so that both share the machine's noise.
 *
 * Env: BENCH_DATABASE_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_CONCURRENCY (32), BENCH_EVENTS (20000 per run), BENCH_WARMUP (2000), BENCH_RUNS (5).
 * Run with `npm run bench:ingest`.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FakeConfluence } from "../src/dev/fake-confluence.js";
import { webhookPath } from "../src/events/types.js";
import { type AppProcess, startApp } from "./lib/app-process.js";
import { type CpuSnapshot, cpuDelta, cpuSnapshot } from "./lib/cpu.js";
import { keepAliveAgent, type LoadResult, runLoad, TokenCache } from "./lib/load.js";
import { type BenchDatabase, createBenchDatabase } from "./lib/pg-admin.js";
import { median, percentile } from "./lib/stats.js";
import { type BenchRequest, eventNames, generateRequests } from "./lib/workload.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GOAL_RATIO = 0.7;
const GOAL_STORED_PER_SECOND = 2500;

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
  concurrency: intEnv("BENCH_CONCURRENCY", 32, 1),
  events: intEnv("BENCH_EVENTS", 20_000, 1),
  warmup: intEnv("BENCH_WARMUP", 2_000, 0),
  runs: intEnv("BENCH_RUNS", 5, 1),
};

type ConfigName = "ceiling" | "store";
const CONFIGS: readonly ConfigName[] = ["ceiling", "store"];

interface RunFigures {
  eventsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  seconds: number;
  cpu: CpuSnapshot;
}

interface Target {
  name: ConfigName;
  app: AppProcess;
  agent: ReturnType<typeof keepAliveAgent>;
  runs: RunFigures[];
  /** Every 204 this app gave, warm-up included. */
  acknowledged: number;
  errors: Map<string, number>;
  errorSamples: string[];
}

// ---- cleanup, on success, failure and signals ----

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---- the benchmark ----

function figures(result: LoadResult, cpu: CpuSnapshot): RunFigures {
  const seconds = result.durationMs / 1000;
  let errors = 0;
  for (const n of result.errors.values()) errors += n;
  return {
    eventsPerSecond: result.ok / seconds,
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    ok: result.ok,
    errors,
    seconds,
    cpu,
  };
}

async function measure(
  target: Target,
  requests: readonly BenchRequest[],
  tokens: TokenCache,
): Promise<{ result: LoadResult; cpu: CpuSnapshot }> {
  const before = cpuSnapshot(target.app.pid);
  const result = await runLoad({
    host: "127.0.0.1",
    port: target.app.port,
    agent: target.agent,
    requests,
    concurrency: settings.concurrency,
    tokens,
  });
  const cpu = cpuDelta(before, cpuSnapshot(target.app.pid));
  target.acknowledged += result.ok;
  for (const [key, n] of result.errors) target.errors.set(key, (target.errors.get(key) ?? 0) + n);
  for (const sample of result.errorSamples) {
    if (target.errorSamples.length < 5) target.errorSamples.push(sample);
  }
  return { result, cpu };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixed = (n: number, digits: number, width: number) =>
  (Number.isFinite(n) ? n.toFixed(digits) : "-").padStart(width);

async function main(): Promise<number> {
  const { concurrency, events, warmup, runs } = settings;
  console.log(
    `preparing: ${warmup} warm-up + ${events} measured events, concurrency ${concurrency}, ` +
      `${runs} runs per config, ${availableParallelism()} CPUs`,
  );

  const fake = await new FakeConfluence().start();
  cleanups.push(() => fake.stop());

  const db: BenchDatabase = await createBenchDatabase(settings.adminUrl);
  cleanups.push(() => db.drop());
  console.log(`database: ${db.name}`);

  const baseEnv = {
    NODE_ENV: "development",
    DATABASE_URL: db.url,
    AC_HOST_WHITELIST: "127.0.0.1",
    CONNECT_KEYS_CDN_URL: fake.keysUrl,
    LOG_LEVEL: "warn",
  };
  // Started one after the other: the first runs the migrations, both share the database
  // (the ceiling only reads the tenant; it never writes an event).
  const targets: Target[] = [];
  for (const name of ["store", "ceiling"] as const) {
    const app = await startApp({
      name,
      cwd: ROOT,
      env: { ...baseEnv, BENCH_NO_STORE: name === "ceiling" ? "1" : "0" },
    });
    cleanups.push(() => app.stop());
    const agent = keepAliveAgent(concurrency);
    cleanups.push(async () => agent.destroy());
    const installed = await fake.install(app.url);
    if (installed.status !== 204) {
      throw new Error(`${name}: install answered ${installed.status}: ${installed.body}`);
    }
    targets.push({
      name,
      app,
      agent,
      runs: [],
      acknowledged: 0,
      errors: new Map(),
      errorSamples: [],
    });
    console.log(`${name}: app pid ${app.pid} on ${app.url}, tenant installed`);
  }
  const byName = (name: ConfigName): Target => {
    const t = targets.find((x) => x.name === name);
    if (!t) throw new Error(`no ${name} target`);
    return t;
  };

  const now = Date.now();
  const warmupRequests = generateRequests(warmup, 1, now);
  const measured = generateRequests(events, 2, now);
  const tokens = new TokenCache(
    eventNames().map((e) => webhookPath(e)),
    (p) => fake.signRequest("POST", p),
  );

  for (const name of CONFIGS) {
    const { result } = await measure(byName(name), warmupRequests, tokens);
    console.log(
      `warm-up ${name.padEnd(7)} ${fixed(result.ok / (result.durationMs / 1000), 0, 6)} events/s`,
    );
  }

  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
    for (const name of order) {
      const target = byName(name);
      await pause(500);
      const { result, cpu } = await measure(target, measured, tokens);
      const f = figures(result, cpu);
      target.runs.push(f);
      const cores = (s: number) => fixed(s / f.seconds, 2, 4);
      console.log(
        `run ${run + 1} ${name.padEnd(7)} ${fixed(f.eventsPerSecond, 0, 6)} events/s  ` +
          `p50 ${fixed(f.p50, 1, 5)} ms  p99 ${fixed(f.p99, 1, 5)} ms  errors ${f.errors}  ` +
          `cores: generator ${cores(cpu.generator)} app ${cores(cpu.app)} ` +
          `postgres ${cores(cpu.postgres)} machine ${cores(cpu.machineBusy)}`,
      );
    }
  }

  const store = byName("store");
  const ceiling = byName("ceiling");
  const stored = await db.eventCount();

  const med = (t: Target, f: (r: RunFigures) => number) => median(t.runs.map(f));
  const lines: string[] = [];
  lines.push(
    `ingest benchmark (PostgreSQL, concurrency ${concurrency}, ${events} events x ${runs} runs, medians)`,
  );
  lines.push("config     events/s   p50 ms   p99 ms   errors");
  for (const t of [ceiling, store]) {
    let errors = 0;
    for (const r of t.runs) errors += r.errors;
    lines.push(
      `${t.name.padEnd(8)}${fixed(
        med(t, (r) => r.eventsPerSecond),
        0,
        11,
      )}` +
        `${fixed(
          med(t, (r) => r.p50),
          1,
          9,
        )}${fixed(
          med(t, (r) => r.p99),
          1,
          9,
        )}${String(errors).padStart(9)}`,
    );
  }
  const storeRate = med(store, (r) => r.eventsPerSecond);
  const ratio = storeRate / med(ceiling, (r) => r.eventsPerSecond);
  lines.push(
    `ratio store/ceiling: ${ratio.toFixed(2)}   (goal >= ${GOAL_RATIO.toFixed(2)}: ` +
      `${ratio >= GOAL_RATIO ? "met" : "NOT met"})   stored events/s goal >= ${GOAL_STORED_PER_SECOND}: ` +
      `${storeRate >= GOAL_STORED_PER_SECOND ? "met" : "NOT met"}`,
  );
  const rowsOk = stored === store.acknowledged;
  lines.push(
    `stored rows check: ${store.acknowledged} acknowledged, ${stored} in event table` +
      `${rowsOk ? "" : "   MISMATCH"}`,
  );
  lines.push("");
  lines.push(
    "cpu during measured runs (cores busy, medians; 2.00 = both cores of a 2-core machine)",
  );
  lines.push("config    generator      app   postgres  machine   app ms/event   postgres ms/event");
  for (const t of [ceiling, store]) {
    const cores = (f: (c: CpuSnapshot) => number) => med(t, (r) => f(r.cpu) / r.seconds);
    const perEvent = (f: (c: CpuSnapshot) => number) => med(t, (r) => (f(r.cpu) * 1000) / r.ok);
    lines.push(
      `${t.name.padEnd(8)}${fixed(
        cores((c) => c.generator),
        2,
        11,
      )}${fixed(
        cores((c) => c.app),
        2,
        9,
      )}` +
        `${fixed(
          cores((c) => c.postgres),
          2,
          11,
        )}${fixed(
          cores((c) => c.machineBusy),
          2,
          9,
        )}` +
        `${fixed(
          perEvent((c) => c.app),
          3,
          15,
        )}${fixed(
          perEvent((c) => c.postgres),
          3,
          20,
        )}`,
    );
  }
  console.log(`\n${lines.join("\n")}`);

  for (const t of [ceiling, store]) {
    if (t.errors.size === 0) continue;
    console.log(`\n${t.name} errors: ${[...t.errors].map(([k, n]) => `${k} x${n}`).join(", ")}`);
    for (const sample of t.errorSamples) console.log(`  ${sample}`);
    console.log(`  last app log lines (${t.app.logLines()} in all):`);
    for (const line of t.app.logTail().slice(-10)) console.log(`  | ${line}`);
  }
  if (!rowsOk) {
    console.error(
      `\nFAIL: the event table holds ${stored} rows but the store app acknowledged ${store.acknowledged}`,
    );
    return 1;
  }
  return 0;
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    await cleanup();
    process.exit(1);
  },
);
