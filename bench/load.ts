/**
 * npm run bench:load
 *
 * Mixed load against the app as its own process on a fresh PostgreSQL database: two sites
 * (two fake Confluences), some history seeded through the webhook endpoint, then signed
 * webhooks and report reads (users, calendar, breakdown, one user, users.csv, as a Confluence
 * admin) at the highest rate the app sustains with p99 < 200 ms:
 *   1. a short step search: open-loop steps of rising rate; a step passes with zero errors and
 *      every kind's p99 under BENCH_SEARCH_MARGIN x the goal (headroom for the long run);
 *   2. the measured run: BENCH_LOAD_SECONDS (60) at BENCH_RUN_FRACTION (0.6) of the highest
 *      rate that passed.
 * Open loop: requests start on schedule whatever the answers take, and latency counts from
 * the moment each was due, so a stalled app shows in the p99 rather than slowing the load.
 * Prints rate (webhooks vs reads), p50/p99 per kind, errors, the app's RSS before and after,
 * and PASS/FAIL (p99 < 200 ms for every kind, zero errors, every 204 stored); exits 1 on FAIL.
 *
 * Env: BENCH_DATABASE_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_LOAD_SECONDS (60), BENCH_RATE (skip the search: requests/s), BENCH_SEED_EVENTS (per
 * site, 20000), BENCH_STEP_SECONDS (5), BENCH_START_RATE (100), BENCH_SEARCH_MARGIN (0.7),
 * BENCH_RUN_FRACTION (0.6), BENCH_KEEP_DB=1 (keep the database, to study its plans).
 */
import http from "node:http";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FakeConfluence } from "../src/dev/fake-confluence.js";
import { webhookPath } from "../src/events/types.js";
import { SEAL_MIN_PERSON_DAYS } from "../src/reports/sealing.js";
import { cleanupOnExit } from "./lib/cleanup.js";
import { type AppProcess, startApp } from "./lib/app-process.js";
import { cpuDelta, cpuSnapshot, machineCpuSeconds } from "./lib/cpu.js";
import { keepAliveAgent, runLoad, TokenCache } from "./lib/load.js";
import {
  type MixedRequest,
  type OpenLoopResult,
  processMemoryMb,
  runOpenLoop,
} from "./lib/open-loop.js";
import { type BenchDatabase, createBenchDatabase, queryDatabase } from "./lib/pg-admin.js";
import { seededRandom, skewedIndex } from "./lib/random.js";
import { percentile } from "./lib/stats.js";
import { formatTable, num } from "./lib/table.js";
import { type BenchRequest, eventNames, generateRequests, USERS } from "./lib/workload.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GOAL_P99_MS = 200;
const ADMIN = "bench-admin";
const MINUTE = 60_000;

function numEnv(name: string, fallback: number, min: number, integer = true): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    throw new Error(`${name} must be a number >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
  seconds: numEnv("BENCH_LOAD_SECONDS", 60, 1),
  fixedRate: numEnv("BENCH_RATE", 0, 0),
  seedEvents: numEnv("BENCH_SEED_EVENTS", 20_000, 0),
  stepSeconds: numEnv("BENCH_STEP_SECONDS", 5, 1),
  startRate: numEnv("BENCH_START_RATE", 100, 1),
  margin: numEnv("BENCH_SEARCH_MARGIN", 0.7, 0.1, false),
  runFraction: numEnv("BENCH_RUN_FRACTION", 0.6, 0.1, false),
};

/** The mix, in percent: webhooks dominate, as on a real site; every report endpoint is read. */
const MIX: readonly (readonly [kind: string, percent: number])[] = [
  ["webhook", 80],
  ["users", 6],
  ["calendar", 4],
  ["breakdown", 4],
  ["user", 4],
  ["users.csv", 2],
];
const KINDS = MIX.map(([kind]) => kind);
const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"];

// ---- cleanup, on success, failure and signals ----

const cleanup = cleanupOnExit();

// ---- the workload ----

interface Site {
  fake: FakeConfluence;
  webhookTokens: TokenCache;
  viewerToken: string;
  viewerSignedAt: number;
}

function isoDay(msAgo: number): string {
  return new Date(Date.now() - msAgo).toISOString().slice(0, 10);
}

/** An endless supply of mixed requests over both sites (deterministic for a given seed). */
function mixedRequests(sites: Site[], webhooks: BenchRequest[], seed: number) {
  const random = seededRandom(seed);
  const total = MIX.reduce((sum, [, p]) => sum + p, 0);
  let w = 0;
  const pickKind = () => {
    let r = random() * total;
    for (const [kind, percent] of MIX) {
      r -= percent;
      if (r < 0) return kind;
    }
    return "webhook";
  };
  return (): MixedRequest => {
    const site = sites[Math.floor(random() * sites.length)] as Site;
    const kind = pickKind();
    if (kind === "webhook") {
      const r = webhooks[w++ % webhooks.length] as BenchRequest;
      site.webhookTokens.refresh();
      return {
        kind,
        method: "POST",
        path: r.path,
        authorization: site.webhookTokens.get(r.path),
        body: r.body,
      };
    }
    const now = Date.now();
    if (now - site.viewerSignedAt > MINUTE) {
      site.viewerToken = `JWT ${site.fake.contextToken(ADMIN)}`;
      site.viewerSignedAt = now;
    }
    const tz = ZONES[Math.floor(random() * ZONES.length)] as string;
    const today = isoDay(0);
    const days = (n: number) => isoDay((n - 1) * 24 * 3_600_000);
    const range = random() < 0.7 ? days(30) : days(7);
    let p: string;
    switch (kind) {
      case "users":
        p =
          random() < 0.5
            ? `/api/reports/users?from=${range}&to=${today}&tz=${tz}&limit=50`
            : `/api/reports/users?from=${range}&to=${today}&tz=${tz}&sort=total&order=desc&limit=100`;
        break;
      case "calendar":
        p = `/api/reports/calendar?from=${days(365)}&to=${today}&tz=${tz}`;
        break;
      case "breakdown":
        p = `/api/reports/breakdown?from=${range}&to=${today}&tz=${tz}`;
        break;
      case "user": {
        const user = `557058:bench-user-${String(skewedIndex(random, USERS, 2)).padStart(5, "0")}`;
        p = `/api/reports/users/${encodeURIComponent(user)}?from=${range}&to=${today}&tz=${tz}`;
        break;
      }
      default:
        p = `/api/reports/users.csv?from=${range}&to=${today}&tz=${tz}`;
    }
    return { kind, method: "GET", path: p, authorization: site.viewerToken };
  };
}

// ---- figures ----

interface Figures {
  total: number;
  webhooks: number;
  reads: number;
  errors: number;
  dropped: number;
  /** The worst p99 over the kinds, and which kind. */
  worstP99: number;
  worstKind: string;
}

function figuresOf(result: OpenLoopResult): Figures {
  const seconds = result.windowMs / 1000;
  let webhooks = 0;
  let reads = 0;
  let errors = 0;
  let worstP99 = 0;
  let worstKind = "-";
  for (const [kind, k] of result.kinds) {
    if (kind === "webhook") webhooks += k.ok;
    else reads += k.ok;
    for (const n of k.errors.values()) errors += n;
    const p99 = percentile(k.latencies, 99);
    if (p99 > worstP99) {
      worstP99 = p99;
      worstKind = kind;
    }
  }
  return {
    total: (webhooks + reads) / seconds,
    webhooks: webhooks / seconds,
    reads: reads / seconds,
    errors,
    dropped: result.dropped,
    worstP99,
    worstKind,
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const { seconds, seedEvents, stepSeconds, margin } = settings;
  console.log(
    `load benchmark: ${seconds} s measured, mix ${MIX.map(([k, p]) => `${k} ${p}%`).join(", ")}; ` +
      `${availableParallelism()} CPUs (generator, app and PostgreSQL share them)`,
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

  const fakes = [new FakeConfluence(), new FakeConfluence()];
  for (const fake of fakes) {
    await fake.start();
    cleanup.add(() => fake.stop());
    fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Bench Admin", admin: true });
  }
  const keysUrl = fakes[0]?.keysUrl as string; // one key server serves every fake's keys

  const db: BenchDatabase = await createBenchDatabase(settings.adminUrl);
  if (process.env.BENCH_KEEP_DB === "1") console.log(`keeping database ${db.name}`);
  else cleanup.add(() => db.drop());

  const app: AppProcess = await startApp({
    name: "app",
    cwd: ROOT,
    env: {
      NODE_ENV: "production",
      DATABASE_URL: db.url,
      AC_HOST_WHITELIST: "127.0.0.1",
      CONNECT_KEYS_CDN_URL: keysUrl,
      LOG_LEVEL: "warn",
      // The history is seeded through the webhook endpoint: accept its 30 days as dated.
      WEBHOOK_MAX_EVENT_AGE_H: String(31 * 24),
    },
  });
  cleanup.add(() => app.stop());
  for (const fake of fakes) {
    const installed = await fake.install(app.url);
    if (installed.status !== 204) {
      throw new Error(`install answered ${installed.status}: ${installed.body}`);
    }
  }
  console.log(`app pid ${app.pid} on ${app.url}, database ${db.name}, 2 sites installed`);
  const rssAtStart = processMemoryMb(app.pid);

  const paths = eventNames().map((e) => webhookPath(e));
  const sites: Site[] = fakes.map((fake) => ({
    fake,
    webhookTokens: new TokenCache(paths, (p) => fake.signRequest("POST", p)),
    viewerToken: `JWT ${fake.contextToken(ADMIN)}`,
    viewerSignedAt: Date.now(),
  }));

  // History: 30 days of events per site, through the webhook endpoint (stored and acknowledged).
  let acknowledged = 0;
  const seedAgent = keepAliveAgent(32);
  cleanup.add(async () => seedAgent.destroy());
  const seedStart = performance.now();
  for (const [i, site] of sites.entries()) {
    const seeded = await runLoad({
      host: "127.0.0.1",
      port: app.port,
      agent: seedAgent,
      requests: generateRequests(seedEvents, 100 + i),
      concurrency: 32,
      tokens: site.webhookTokens,
      signal: cleanup.signal,
    });
    acknowledged += seeded.ok;
    if (seeded.errors.size > 0) {
      throw new Error(`seeding: ${[...seeded.errors].map(([k, n]) => `${k} x${n}`).join(", ")}`);
    }
  }
  const [span] = await queryDatabase<{ first: string; last: string; days: string }>(
    db.url,
    `SELECT min(occurred_at)::date::text AS first, max(occurred_at)::date::text AS last,
       count(DISTINCT occurred_at::date) AS days FROM event`,
  );
  console.log(
    `seeded ${acknowledged} events (2 sites x ${seedEvents}) in ` +
      `${num((performance.now() - seedStart) / 1000, 1)} s: ${span?.days} days, ${span?.first} to ${span?.last}`,
  );

  // Viewers' zones: one read each registers it; the sealer (every 60 s, as configured by
  // default) seals the history (site-wide days; per-person periods on sites with at least
  // SEAL_MIN_PERSON_DAYS rollup rows), as on a site that has been running. Caught up: the
  // days up to two days ago, and on a big site the per-person periods up to last week.
  const prepStart = performance.now();
  for (const site of sites) {
    for (const tz of ZONES) {
      const res = await fetch(`${app.url}/api/reports/breakdown?tz=${encodeURIComponent(tz)}`, {
        headers: { authorization: site.viewerToken },
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`reading as the admin answered ${res.status}`);
    }
  }
  const sealDeadline = Date.now() + 150_000;
  for (;;) {
    const [row] = await queryDatabase<{ zones: string; behind: string }>(
      db.url,
      `SELECT count(*) AS zones, count(*) FILTER (WHERE site_sealed_through IS NULL
         OR site_sealed_through < current_date - 2
         OR ((sealed_through IS NULL OR sealed_through < current_date - 9)
           AND (SELECT count(*) FROM user_day u WHERE u.tenant_id = z.tenant_id) >= $1)) AS behind
       FROM report_zone z`,
      [SEAL_MIN_PERSON_DAYS],
    );
    if (Number(row?.zones) >= sites.length * ZONES.length && Number(row?.behind) === 0) break;
    if (Date.now() > sealDeadline) throw new Error("the sealer did not catch up in 150 s");
    await pause(1000);
  }
  // Statistics for the planner, as autovacuum would have gathered on a running site (tables
  // filled seconds ago have none, and their plans are wrong by orders of magnitude).
  await queryDatabase(db.url, "VACUUM ANALYZE");
  console.log(
    `${ZONES.length} zones per site sealed, statistics gathered, in ${num((performance.now() - prepStart) / 1000, 1)} s`,
  );

  // Live webhooks are about now (within the last 10 minutes), like Confluence sends them.
  const live = generateRequests(50_000, 7, Date.now(), 10 * MINUTE);
  const next = mixedRequests(sites, live, 11);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  cleanup.add(async () => agent.destroy());
  const drive = async (rate: number, ms: number) => {
    const result = await runOpenLoop({
      host: "127.0.0.1",
      port: app.port,
      agent,
      rate,
      durationMs: ms,
      next,
      maxOutstanding: 2000,
      signal: cleanup.signal,
    });
    if (cleanup.signal.aborted) throw new Error("aborted");
    acknowledged += result.kinds.get("webhook")?.ok ?? 0;
    return result;
  };

  // Warm-up: JIT, caches, connections, the first sealing of each zone.
  await drive(Math.min(50, settings.startRate), 5000);

  let rate = settings.fixedRate;
  if (rate === 0) {
    const limit = GOAL_P99_MS * margin;
    console.log(
      `search: ${stepSeconds} s steps; a step passes with zero errors and every kind's p99 < ${num(limit)} ms`,
    );
    const step = async (r: number) => {
      await pause(1000);
      const f = figuresOf(await drive(r, stepSeconds * 1000));
      const pass = f.errors === 0 && f.dropped === 0 && f.worstP99 < limit;
      console.log(
        `  ${num(r).padStart(5)} req/s offered: ${num(f.total).padStart(5)} answered/s, ` +
          `worst p99 ${num(f.worstP99, 1).padStart(7)} ms (${f.worstKind}), errors ${f.errors}, ` +
          `dropped ${f.dropped}: ${pass ? "pass" : "fail"}`,
      );
      return pass;
    };
    let best = 0;
    let failed = 0;
    // Up by half while steps pass; down by half if even the first fails; then two
    // bisections (in log space) between the best pass and the lowest failure.
    for (let r = settings.startRate; r <= 50_000; r = Math.round(r * 1.5)) {
      if (!(await step(r))) {
        failed = r;
        break;
      }
      best = r;
    }
    for (let r = Math.round(settings.startRate / 2); best === 0 && r >= 5; r = Math.round(r / 2)) {
      if (await step(r)) best = r;
      else failed = r;
    }
    for (let i = 0; i < 2 && best > 0 && failed > 0; i++) {
      const mid = Math.round(Math.sqrt(best * failed));
      if (mid <= best || mid >= failed) break;
      if (await step(mid)) best = mid;
      else failed = mid;
    }
    if (best === 0) throw new Error("no rate passed the search, not even 5 requests/s");
    // A 5-second step at the knee can pass by luck; a minute at that rate often does not
    // (tables grow, autovacuum runs). The measured run keeps a margin below the best step.
    rate = Math.max(1, Math.floor(best * settings.runFraction));
    console.log(
      `highest passing step: ${best} requests/s; measured run at ${settings.runFraction} of it`,
    );
  }

  // The measured run.
  await pause(2000);
  const rssBefore = processMemoryMb(app.pid);
  console.log(`measured run: ${seconds} s at ${rate} requests/s offered`);
  const cpuBefore = cpuSnapshot(app.pid);
  const result = await drive(rate, seconds * 1000);
  const cpu = cpuDelta(cpuBefore, cpuSnapshot(app.pid));
  const rssAfter = processMemoryMb(app.pid);
  const f = figuresOf(result);
  const windowS = result.windowMs / 1000;

  const rows = KINDS.map((kind) => {
    const k = result.kinds.get(kind);
    const lat = k?.latencies ?? new Float64Array(0);
    let errors = 0;
    for (const n of k?.errors.values() ?? []) errors += n;
    return [
      kind,
      String((k?.ok ?? 0) + errors),
      num((k?.ok ?? 0) / windowS, 1),
      num(percentile(lat, 50), 1),
      num(percentile(lat, 99), 1),
      num(lat.length ? (lat[lat.length - 1] as number) : Number.NaN, 1),
      String(errors),
    ];
  });
  const all = new Float64Array(
    [...result.kinds.values()].reduce((n, k) => n + k.latencies.length, 0),
  );
  let offset = 0;
  for (const k of result.kinds.values()) {
    all.set(k.latencies, offset);
    offset += k.latencies.length;
  }
  all.sort();
  rows.push([
    "all",
    String(all.length + f.errors),
    num(all.length / windowS, 1),
    num(percentile(all, 50), 1),
    num(percentile(all, 99), 1),
    num(all.length ? (all[all.length - 1] as number) : Number.NaN, 1),
    String(f.errors),
  ]);

  await pause(500);
  const stored = await db.eventCount();
  const storedOk = stored === acknowledged;
  const p99Ok = f.worstP99 < GOAL_P99_MS;
  const errorsOk = f.errors === 0 && f.dropped === 0;
  const cores = (s: number) => num(s / windowS, 2);
  const lines = [
    "",
    `load benchmark (PostgreSQL, 2 sites, open loop at ${rate} requests/s for ${num(windowS)} s; latency from each request's scheduled start)`,
    ...formatTable(["kind", "requests", "per s", "p50 ms", "p99 ms", "max ms", "errors"], rows),
    `rate: ${num(f.total, 1)} requests/s answered = ${num(f.webhooks, 1)} webhooks/s + ${num(f.reads, 1)} reads/s`,
    `errors (non-2xx or no answer): ${f.errors}; not sent because ${2000} were waiting: ${f.dropped}`,
    `app RSS: ${num(rssBefore.rss, 1)} MB before the run, ${num(rssAfter.rss, 1)} MB after ` +
      `(${num(rssAtStart.rss, 1)} MB at start; peak ${num(rssAfter.peak, 1)} MB)`,
    `cpu (cores busy out of ${availableParallelism()}): generator ${cores(cpu.generator)}, app ${cores(cpu.app)}, ` +
      `postgres ${cores(cpu.postgres)}, machine ${cores(cpu.machineBusy)} ` +
      `(other work: ${cores(Math.max(0, cpu.machineBusy - cpu.generator - cpu.app - cpu.postgres))})`,
    `stored rows check: ${acknowledged} webhooks acknowledged (seed, search and run), ${stored} in the event table` +
      (storedOk ? "" : "   MISMATCH"),
  ];
  console.log(lines.join("\n"));
  if (result.errorSamples.length > 0) {
    console.log("error samples:");
    for (const sample of result.errorSamples) console.log(`  ${sample}`);
    console.log(`last app log lines (${app.logLines()} in all):`);
    for (const line of app.logTail().slice(-10)) console.log(`  | ${line}`);
  }
  const verdict = p99Ok && errorsOk && storedOk;
  console.log(
    `${verdict ? "PASS" : "FAIL"}: p99 < ${GOAL_P99_MS} ms for every kind: ${p99Ok ? "yes" : "NO"} ` +
      `(worst ${num(f.worstP99, 1)} ms, ${f.worstKind}); zero errors: ${errorsOk ? "yes" : "NO"}; ` +
      `every 204 stored: ${storedOk ? "yes" : "NO"}`,
  );
  return verdict ? 0 : 1;
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
