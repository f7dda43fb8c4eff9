/**
 * Webhook ingestion benchmark over HTTP, against the app on a real PostgreSQL.
 *
 * Two configurations, each a separate child process (its own event loop, as in production):
 *   ceiling: BENCH_NO_STORE=1, the app authenticates and validates webhooks but stores nothing;
 *   store:   the normal app, which answers 204 only once the event's transaction has committed.
 * Runs alternate between the two so that both share the machine's noise.
 *
 * Env: BENCH_DATABASE_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_CONCURRENCY (32), BENCH_EVENTS (20000 per run), BENCH_WARMUP (2000), BENCH_RUNS (5),
 * BENCH_CPU_PROF (a directory: V8 CPU profiles of each app process go to <dir>/<config>/ on exit;
 * the largest file is the main thread, the others are loader threads).
 * Run with `npm run bench:ingest`.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FakeConfluence } from "../src/dev/fake-confluence.js";
import { webhookPath } from "../src/events/types.js";
import { cleanupOnExit } from "./lib/cleanup.js";
import { type AppProcess, startApp } from "./lib/app-process.js";
import { type CpuSnapshot, cpuDelta, cpuSnapshot, machineCpuSeconds } from "./lib/cpu.js";
import { keepAliveAgent, type LoadResult, runLoad, TokenCache } from "./lib/load.js";
import { type BenchDatabase, createBenchDatabase } from "./lib/pg-admin.js";
import { median, percentile } from "./lib/stats.js";
import { formatTable, num } from "./lib/table.js";
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
  /** Optional: write a V8 CPU profile of each app process into this directory on exit. */
  cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
};

type ConfigName = "ceiling" | "store" | "no-rollups";
const CONFIGS: readonly ConfigName[] = ["ceiling", "store", "no-rollups"];

interface RunFigures {
  eventsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  seconds: number;
  cpu: CpuSnapshot;
  /** Writing transactions the server committed during the run (cluster-wide). */
  commits: number;
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

const cleanup = cleanupOnExit();

// ---- the benchmark ----

function figures(result: LoadResult, cpu: CpuSnapshot, commits: number): RunFigures {
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
    commits,
  };
}

async function measure(
  target: Target,
  requests: readonly BenchRequest[],
  tokens: TokenCache,
  db: BenchDatabase,
): Promise<{ result: LoadResult; cpu: CpuSnapshot; commits: number }> {
  const xidBefore = await db.nextXid();
  const before = cpuSnapshot(target.app.pid);
  const result = await runLoad({
    host: "127.0.0.1",
    port: target.app.port,
    agent: target.agent,
    requests,
    concurrency: settings.concurrency,
    tokens,
    signal: cleanup.signal,
  });
  if (cleanup.signal.aborted) throw new Error("aborted");
  const cpu = cpuDelta(before, cpuSnapshot(target.app.pid));
  const commits = (await db.nextXid()) - xidBefore;
  target.acknowledged += result.ok;
  for (const [key, n] of result.errors) target.errors.set(key, (target.errors.get(key) ?? 0) + n);
  for (const sample of result.errorSamples) {
    if (target.errorSamples.length < 5) target.errorSamples.push(sample);
  }
  return { result, cpu, commits };
}

/** CPU the machine spent on neither the generator, the app under test nor PostgreSQL. */
function otherCpu(c: CpuSnapshot): number {
  return Math.max(0, c.machineBusy - c.generator - c.app - c.postgres);
}

/** Medians over a target's measured runs. */
function summarize(t: Target) {
  const med = (f: (r: RunFigures) => number) => median(t.runs.map(f));
  const cpuMedians = (per: (r: RunFigures) => number) => ({
    generator: med((r) => r.cpu.generator / per(r)),
    app: med((r) => r.cpu.app / per(r)),
    postgres: med((r) => r.cpu.postgres / per(r)),
    machineBusy: med((r) => r.cpu.machineBusy / per(r)),
    other: med((r) => otherCpu(r.cpu) / per(r)),
  });
  return {
    name: t.name,
    rate: med((r) => r.eventsPerSecond),
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    errors: t.runs.reduce((sum, r) => sum + r.errors, 0),
    /** CPU seconds per wall-clock second: cores kept busy. */
    cores: cpuMedians((r) => r.seconds),
    /** CPU milliseconds per acknowledged event. */
    msPerEvent: cpuMedians((r) => r.ok / 1000),
    eventsPerCommit: med((r) => r.ok / r.commits),
  };
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

  const idleBefore = machineCpuSeconds();
  await pause(1000);
  const idleAfter = machineCpuSeconds();
  const background =
    (idleAfter.busy - idleBefore.busy) /
    ((idleAfter.total - idleBefore.total) / availableParallelism());
  console.log(
    `machine before start: ${num(background, 2)} cores busy (other work on the machine skews results)`,
  );

  const fake = await new FakeConfluence().start();
  cleanup.add(() => fake.stop());

  const db: BenchDatabase = await createBenchDatabase(settings.adminUrl);
  cleanup.add(() => db.drop());
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
  for (const name of ["store", "ceiling", "no-rollups"] as const) {
    const app = await startApp({
      name,
      cwd: ROOT,
      nodeFlags: settings.cpuProfDir
        ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(settings.cpuProfDir, name)}`]
        : [],
      env: {
        ...baseEnv,
        BENCH_NO_STORE: name === "ceiling" ? "1" : "0",
        BENCH_NO_ROLLUPS: name === "no-rollups" ? "1" : "0",
        // The workload spreads timestamps over 30 days: keep them as sent.
        WEBHOOK_MAX_EVENT_AGE_H: String(31 * 24),
      },
    });
    cleanup.add(() => app.stop());
    const agent = keepAliveAgent(concurrency);
    cleanup.add(() => agent.destroy());
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
    const { result } = await measure(byName(name), warmupRequests, tokens, db);
    console.log(
      `warm-up ${name.padEnd(7)} ${fixed(result.ok / (result.durationMs / 1000), 0, 6)} events/s`,
    );
  }

  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
    for (const name of order) {
      const target = byName(name);
      await pause(500);
      const { result, cpu, commits } = await measure(target, measured, tokens, db);
      const f = figures(result, cpu, commits);
      target.runs.push(f);
      const cores = (s: number) => fixed(s / f.seconds, 2, 4);
      console.log(
        `run ${run + 1} ${name.padEnd(7)} ${fixed(f.eventsPerSecond, 0, 6)} events/s  ` +
          `p50 ${fixed(f.p50, 1, 5)} ms  p99 ${fixed(f.p99, 1, 5)} ms  errors ${f.errors}  ` +
          `cores: generator ${cores(cpu.generator)} app ${cores(cpu.app)} ` +
          `postgres ${cores(cpu.postgres)} machine ${cores(cpu.machineBusy)} (other ${cores(otherCpu(cpu))})  commits ${commits}`,
      );
    }
  }

  const store = byName("store");
  const ceiling = byName("ceiling");
  const noRollups = byName("no-rollups");
  const stored = await db.eventCount();

  const [c, st, nr] = [summarize(ceiling), summarize(store), summarize(noRollups)];
  const lines: string[] = [
    `ingest benchmark (PostgreSQL, concurrency ${concurrency}, ${events} events x ${runs} runs, medians)`,
    ...formatTable(
      ["config", "events/s", "p50 ms", "p99 ms", "errors"],
      [c, st, nr].map((m) => [m.name, num(m.rate), num(m.p50, 1), num(m.p99, 1), String(m.errors)]),
    ),
  ];
  const ratio = st.rate / c.rate;
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  lines.push(
    `ratio store/ceiling: ${num(ratio, 2)}   (goal >= ${num(GOAL_RATIO, 2)}: ${verdict(ratio >= GOAL_RATIO)})` +
      `   stored events/s goal >= ${GOAL_STORED_PER_SECOND}: ${verdict(st.rate >= GOAL_STORED_PER_SECOND)}`,
  );
  const rollupCost = 1 - st.rate / nr.rate;
  lines.push(
    `rollups cost: ${num(rollupCost * 100)}% of stored events/s (store vs no-rollups; goal <= 30%: ${verdict(rollupCost <= 0.3)})`,
  );
  const acknowledged = store.acknowledged + noRollups.acknowledged;
  const rowsOk = stored === acknowledged;
  lines.push(
    `stored rows check: ${acknowledged} acknowledged (store and no-rollups), ${stored} in event table` +
      (rowsOk ? "" : "   MISMATCH"),
  );
  lines.push(
    "",
    `cpu during measured runs (medians; cores busy out of ${availableParallelism()}, cpu ms per acknowledged event;\n postgres and commits are cluster-wide, other = machine - generator - app - postgres)`,
    ...formatTable(
      [
        "config",
        "generator",
        "app",
        "postgres",
        "machine",
        "other",
        "app ms/ev",
        "pg ms/ev",
        "events/commit",
      ],
      [c, st, nr].map((m) => [
        m.name,
        num(m.cores.generator, 2),
        num(m.cores.app, 2),
        num(m.cores.postgres, 2),
        num(m.cores.machineBusy, 2),
        num(m.cores.other, 2),
        num(m.msPerEvent.app, 3),
        num(m.msPerEvent.postgres, 3),
        m.name === "ceiling" ? "-" : num(m.eventsPerCommit, 1),
      ]),
    ),
  );
  console.log(`\n${lines.join("\n")}`);

  for (const t of [ceiling, store, noRollups]) {
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
    await cleanup.run();
    process.exit(code);
  },
  async (error: unknown) => {
    if (!cleanup.signal.aborted) {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    await cleanup.run();
    process.exit(1);
  },
);
