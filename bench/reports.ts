/**
 * npm run bench:reports
 *
 * Builds a site of BENCH_EVENTS events (default 10 million: 5,000 users with heavy-tailed
 * activity, 300 spaces, 365 days, ~70% views) on a fresh PostgreSQL database through the app's
 * own storage path (writeEvents, the group commit's writer), then times each report endpoint
 * over HTTP (median of BENCH_RUNS runs) next to the same answer from a plain GROUP BY over the
 * raw events, in the same run. Also: the CSV of 100,000 users, and what the rollups cost the
 * storage path.
 *
 * Env: BENCH_DATABASE_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_EVENTS, BENCH_USERS, BENCH_RUNS, BENCH_CSV_USERS, BENCH_KEEP_DB=1 (keep the database),
 * BENCH_REUSE_DB (below), BENCH_ONLY=<text> (only the endpoints whose name holds it, each run's
 * time printed; no storage-path probe, CSV memory or PGlite run: for looking into one figure).
 */
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DateTime } from "luxon";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { FakeConfluence } from "../src/dev/fake-confluence.js";
import { EVENT_TYPES, type EventTypeCode, WEBHOOKS } from "../src/events/types.js";
import { type NewEvent, writeEvents } from "../src/ingest/write-events.js";
import type { Db } from "../src/db/knex.js";
import { createLogger } from "../src/log.js";
import { SEAL_MIN_PERSON_DAYS, sealAll } from "../src/reports/sealing.js";
import { start } from "../src/server.js";
import { type BenchDatabase, createBenchDatabase } from "./lib/pg-admin.js";
import { seededRandom } from "./lib/random.js";
import { median } from "./lib/stats.js";
import { formatTable, num } from "./lib/table.js";

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const USERS = Number(process.env.BENCH_USERS ?? 5000);
const SPACES = 300;
const DAYS = 365;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CSV_USERS = Number(process.env.BENCH_CSV_USERS ?? 100_000);
const MAX_USER_EVENTS = 117_000;
const MIN_USER_EVENTS = 5;
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 1);
const ADMIN = "bench-admin";
const ONLY = process.env.BENCH_ONLY ?? null;

const log = (line: string) => process.stdout.write(`${line}\n`);

/** Per-user event counts: a power law clamped to [5, 117,000], scaled to sum to `events`. */
function userWeights(events: number): number[] {
  const sum = (a: number) => {
    let s = 0;
    for (let i = 1; i <= USERS; i++) s += Math.max(MIN_USER_EVENTS, MAX_USER_EVENTS * i ** -a);
    return s;
  };
  let lo = 0.01;
  let hi = 3;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (sum(mid) > events) lo = mid;
    else hi = mid;
  }
  const weights: number[] = [];
  for (let i = 1; i <= USERS; i++)
    weights.push(Math.max(MIN_USER_EVENTS, MAX_USER_EVENTS * i ** -lo));
  return weights;
}

const NON_VIEW = WEBHOOKS.filter((w) => w.type !== "view");
const VIEWS = WEBHOOKS.filter((w) => w.type === "view" && w.event !== "search_performed");

/** Generates the site day by day (time-ordered, like webhooks arrive), in batches. */
function* siteBatches(
  tenantId: number,
  rand: () => number,
  events = EVENTS,
): Generator<NewEvent[]> {
  const weights = userWeights(events);
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) {
    total += w;
    cumulative.push(total);
  }
  const pickUser = () => {
    const x = rand() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const startMs = DateTime.utc().startOf("day").minus({ days: DAYS }).toMillis();
  const perDay = Math.round(events / DAYS);
  let batch: NewEvent[] = [];
  for (let d = 0; d < DAYS; d++) {
    const times: number[] = [];
    for (let i = 0; i < perDay; i++) {
      // Working hours around the user's zone, spread over the UTC day.
      times.push(startMs + d * 86_400_000 + Math.floor(rand() * 86_400_000));
    }
    times.sort((a, b) => a - b);
    for (const at of times) {
      const u = pickUser();
      const hook =
        rand() < 0.7
          ? VIEWS[Math.floor(rand() * VIEWS.length)]
          : NON_VIEW[Math.floor(rand() * NON_VIEW.length)];
      if (!hook) continue;
      // Each user works mostly in a handful of spaces.
      const space = (u * 7 + Math.floor(rand() ** 3 * 6) * 13) % SPACES;
      const now = new Date(at);
      batch.push({
        tenantId,
        accountId: `557058:bench-user-${u}`,
        accountType: "customer",
        type: EVENT_TYPES[hook.type] as EventTypeCode,
        webhook: hook.code,
        spaceKey: hook.type === "other" ? null : `SP${space}`,
        contentKey:
          hook.type === "other" || hook.type === "space"
            ? null
            : String(100_000 + Math.floor(rand() * 200_000)),
        contentType: "page",
        title: null,
        occurredAt: now,
        receivedAt: now,
      });
      if (batch.length >= BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function medianOf(fn: () => Promise<unknown>, label?: string): Promise<number> {
  // Warm-up (a running app is warm: JIT, caches, connections), then the measured runs.
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeIt(fn));
  if (label) log(`  ${label}: ${times.map((t) => num(t, 1)).join(", ")} ms`);
  return median(times);
}

async function main() {
  // BENCH_REUSE_DB=<database name> measures again on a site built (and kept) by an earlier run.
  const reuse = process.env.BENCH_REUSE_DB;
  const database = reuse
    ? reuseBenchDatabase(ADMIN_URL, reuse)
    : await createBenchDatabase(ADMIN_URL);
  // On a reused site, this run's fakes take over its tenants (reinstall with new secrets).
  const keys = reuse ? await clientKeys(database.url) : [];
  const fake = await new FakeConfluence({ clientKey: keys[0] }).start();
  const csvFake = await new FakeConfluence({ clientKey: keys[1] }).start();
  process.env.CONNECT_KEYS_CDN_URL = fake.keysUrl;
  fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Bench Admin", admin: true });
  csvFake.users.set(ADMIN, { accountId: ADMIN, displayName: "Bench Admin", admin: true });
  const config = {
    ...loadConfig({
      NODE_ENV: "test",
      PORT: "0",
      AC_HOST_WHITELIST: "127.0.0.1",
      LOG_LEVEL: "warn",
      // Sealing runs once, explicitly and timed, below; not in the background during timings.
      REPORT_SEAL_INTERVAL_S: "0",
    }),
    database: { kind: "postgres" as const, url: database.url, poolMax: 8 },
  };
  const app = await start(config, createLogger("warn"));
  const db = app.db;
  try {
    for (const f of [fake, csvFake]) {
      const res = await f.install(app.url);
      if (res.status !== 204) throw new Error(`install failed: ${res.status} ${res.body}`);
    }
    const tenantOf = async (f: FakeConfluence) =>
      Number((await db("tenant").where({ client_key: f.clientKey }).first("id")).id);
    const siteTenant = await tenantOf(fake);
    const csvTenant = await tenantOf(csvFake);
    let written = Number(
      (await db.raw("SELECT count(*)::int AS n FROM event WHERE tenant_id = ?", [siteTenant]))
        .rows[0].n,
    );
    // 1. What the rollups cost the storage path (same batches, fresh tenants, medians).
    const probe: NewEvent[] = [];
    for (const batch of siteBatches(-1, seededRandom(7))) {
      probe.push(...batch);
      if (probe.length >= 100_000) break;
    }
    const rollupCost: Record<string, number[]> = { with: [], without: [] };
    for (let run = 0; run < (ONLY === null ? 3 : 0); run++) {
      for (const rollups of [true, false]) {
        const tenantId = -100 - run * 2 - (rollups ? 0 : 1);
        const events = probe.map((e) => ({ ...e, tenantId }));
        const t = await timeIt(async () => {
          for (let i = 0; i < events.length; i += 500)
            await writeEvents(db, events.slice(i, i + 500), { rollups });
        });
        rollupCost[rollups ? "with" : "without"]?.push(events.length / (t / 1000));
      }
    }
    for (const table of [
      "event",
      "user_day",
      "site_quarter",
      "actor",
      "space",
      "content",
      "space_actor",
    ]) {
      await db.raw(`DELETE FROM ${table} WHERE tenant_id < 0`);
    }

    // 2. The site.
    if (!reuse) {
      log(
        `building ${EVENTS.toLocaleString("en")} events for ${USERS} users, ${SPACES} spaces, ${DAYS} days...`,
      );
      const buildStart = performance.now();
      const gen = siteBatches(siteTenant, seededRandom(42));
      written = 0;
      let nextReport = 1_000_000;
      const writer = async () => {
        for (;;) {
          const next = gen.next();
          if (next.done) return;
          await writeEvents(db, next.value);
          written += next.value.length;
          if (written >= nextReport) {
            log(
              `  ${written.toLocaleString("en")} events, ${num(written / ((performance.now() - buildStart) / 1000))}/s`,
            );
            nextReport += 1_000_000;
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, writer));
      const buildSeconds = (performance.now() - buildStart) / 1000;
      log(
        `built ${written.toLocaleString("en")} events in ${num(buildSeconds, 1)} s (${num(written / buildSeconds)}/s through writeEvents)`,
      );

      // The CSV site: many users with a few events each.
      const csvEvents: NewEvent[] = [];
      const now = Date.now();
      for (let u = 0; u < CSV_USERS; u++) {
        for (let k = 0; k < 3; k++) {
          const at = new Date(now - (1 + ((u * 3 + k) % 20)) * 86_400_000);
          csvEvents.push({
            tenantId: csvTenant,
            accountId: `csv-user-${u}`,
            accountType: "customer",
            type: (k === 0
              ? EVENT_TYPES.view
              : k === 1
                ? EVENT_TYPES.edit
                : EVENT_TYPES.comment) as EventTypeCode,
            webhook: k === 0 ? 1 : k === 1 ? 20 : 50,
            spaceKey: "CSV",
            contentKey: String(u),
            contentType: "page",
            title: null,
            occurredAt: at,
            receivedAt: at,
          });
        }
      }
      for (let i = 0; i < csvEvents.length; i += BATCH)
        await writeEvents(db, csvEvents.slice(i, i + BATCH));
    }
    log("vacuum analyze...");
    await db.raw("VACUUM ANALYZE");

    const sizes = (
      await db.raw(`SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) AS size, reltuples::bigint AS rows
        FROM pg_class WHERE relname IN ('event', 'user_day', 'site_quarter') ORDER BY relname`)
    ).rows as { relname: string; size: string; rows: string }[];

    // 3. Endpoints over HTTP vs plain GROUP BY over raw events.
    const token = () => fake.contextToken(ADMIN);
    const api = async (path: string, f: FakeConfluence = fake) => {
      const res = await fetch(`${app.url}${path}`, {
        headers: { authorization: `JWT ${f === fake ? token() : f.contextToken(ADMIN)}` },
      });
      const body = await res.arrayBuffer();
      if (res.status !== 200)
        throw new Error(`${path}: ${res.status} ${Buffer.from(body).toString()}`);
      return body;
    };
    const today = DateTime.utc().toISODate() as string;
    const back = (n: number) =>
      DateTime.utc()
        .minus({ days: n - 1 })
        .toISODate() as string;
    // Names are fetched once and cached: warm the caches the way a first page view does.
    await api(`/api/reports/users?from=${back(30)}&to=${today}&limit=1000`);
    await new Promise((r) => setTimeout(r, 3000));
    // The zones viewers use get sealed in the background; here, at once, and timed.
    for (const tz of ["America/New_York", "Asia/Kathmandu", "Europe/Berlin", "Asia/Kolkata"]) {
      await api(`/api/reports/breakdown?from=${today}&to=${today}&tz=${tz}`);
    }
    await api(`/api/reports/breakdown?from=${today}&to=${today}&tz=UTC`, csvFake);
    const sealStart = performance.now();
    const sealedDays = await sealAll(db, createLogger("warn"));
    const sealSeconds = (performance.now() - sealStart) / 1000;
    await db.raw("VACUUM ANALYZE zone_user_period, zone_period, zone_site_day");
    // Measure the steady state: the maintenance above leaves pages to write back.
    await db.raw("CHECKPOINT");
    const storage = await storageReport(db);

    const heavy = "557058:bench-user-0";
    const typical = `557058:bench-user-${Math.floor(USERS / 2)}`;
    const actorId = async (accountId: string) =>
      Number(
        (await db("actor").where({ tenant_id: siteTenant, account_id: accountId }).first("id")).id,
      );
    const heavyId = await actorId(heavy);
    const typicalId = await actorId(typical);
    const range = (days: number, tz: string) => {
      const to = DateTime.now().setZone(tz).toISODate() as string;
      const from = DateTime.fromISO(to)
        .minus({ days: days - 1 })
        .toISODate() as string;
      return {
        from,
        to,
        tz,
        start: DateTime.fromISO(from, { zone: tz }).startOf("day").toUTC().toISO() as string,
        end: DateTime.fromISO(to, { zone: tz })
          .plus({ days: 1 })
          .startOf("day")
          .toUTC()
          .toISO() as string,
      };
    };
    const raw = (sql: string, bindings: (string | number)[]) => db.raw(sql, bindings);
    const rawUsers = (r: ReturnType<typeof range>) =>
      raw(
        `SELECT actor_id, count(*) FILTER (WHERE type = 1) AS v, count(*) FILTER (WHERE type = 2) AS c,
           count(*) FILTER (WHERE type = 3) AS e, count(*) FILTER (WHERE type = 5) AS m, count(*) AS t,
           count(DISTINCT (occurred_at AT TIME ZONE ?)::date) AS active, max(occurred_at) AS last
         FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY actor_id`,
        [r.tz, siteTenant, r.start, r.end],
      );

    const cases: {
      name: string;
      goal: string;
      app: () => Promise<unknown>;
      plain: () => Promise<unknown>;
    }[] = [];
    const r30 = range(30, "America/New_York");
    cases.push({
      name: "users, 30 days, all users (America/New_York)",
      goal: "< 50 ms",
      app: () => api(`/api/reports/users?from=${r30.from}&to=${r30.to}&tz=${r30.tz}&limit=1000`),
      plain: () => rawUsers(r30),
    });
    const r365 = range(365, "America/New_York");
    cases.push({
      name: "users, 365 days, all users (America/New_York)",
      goal: "< 300 ms",
      app: () => api(`/api/reports/users?from=${r365.from}&to=${r365.to}&tz=${r365.tz}&limit=1000`),
      plain: () => rawUsers(r365),
    });
    const k365 = range(365, "Asia/Kathmandu");
    cases.push({
      name: "calendar, 365 days (Asia/Kathmandu)",
      goal: "< 50 ms",
      app: () => api(`/api/reports/calendar?from=${k365.from}&to=${k365.to}&tz=${k365.tz}`),
      plain: () =>
        raw(
          `SELECT (occurred_at AT TIME ZONE ?)::date AS d, count(*) AS events, count(DISTINCT actor_id) AS users
           FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`,
          [k365.tz, siteTenant, k365.start, k365.end],
        ),
    });
    const b90 = range(90, "Europe/Berlin");
    cases.push({
      name: "breakdown, 90 days (Europe/Berlin)",
      goal: "< 50 ms",
      app: () => api(`/api/reports/breakdown?from=${b90.from}&to=${b90.to}&tz=${b90.tz}`),
      plain: () =>
        raw(
          `SELECT type, count(*) FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY type`,
          [siteTenant, b90.start, b90.end],
        ),
    });
    for (const [label, accountId, id] of [
      ["typical", typical, typicalId],
      ["heaviest", heavy, heavyId],
    ] as const) {
      const u365 = range(365, "Asia/Kolkata");
      cases.push({
        name: `one user's activity, 365 days, ${label} user (Asia/Kolkata)`,
        goal: "< 20 ms",
        app: () =>
          api(
            `/api/reports/users/${encodeURIComponent(accountId)}?from=${u365.from}&to=${u365.to}&tz=${u365.tz}`,
          ),
        plain: () =>
          Promise.all([
            raw(
              `SELECT (occurred_at AT TIME ZONE ?)::date AS d, count(*) FROM event
               WHERE tenant_id = ? AND actor_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`,
              [u365.tz, siteTenant, id, u365.start, u365.end],
            ),
            raw(
              `SELECT type, count(*) FROM event
               WHERE tenant_id = ? AND actor_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY type`,
              [siteTenant, id, u365.start, u365.end],
            ),
          ]),
      });
    }
    const c30 = range(30, "UTC");
    cases.push({
      name: `CSV, ${CSV_USERS.toLocaleString("en")} users, 30 days`,
      goal: "< 3000 ms",
      app: () => api(`/api/reports/users.csv?from=${c30.from}&to=${c30.to}&tz=UTC`, csvFake),
      plain: () =>
        raw(
          `SELECT a.account_id, count(*) FILTER (WHERE type = 1), count(*) FILTER (WHERE type = 2),
             count(*) FILTER (WHERE type = 3), count(*) FILTER (WHERE type = 5)
           FROM event e JOIN actor a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id
           WHERE e.tenant_id = ? AND occurred_at >= ? AND occurred_at < ? GROUP BY a.account_id`,
          [csvTenant, c30.start, c30.end],
        ),
    });

    const rows: string[][] = [];
    const measure = async (c: (typeof cases)[number]) => {
      if (ONLY !== null && !c.name.includes(ONLY)) return;
      const appMs = await medianOf(c.app, ONLY === null ? undefined : `${c.name}, app`);
      const plainMs = await medianOf(c.plain, ONLY === null ? undefined : `${c.name}, plain`);
      rows.push([
        c.name,
        num(appMs, 1),
        num(plainMs, 1),
        num(plainMs / appMs, 1),
        c.goal,
        appMs < Number(c.goal.replace(/[^\d]/g, "")) ? "met" : "MISSED",
      ]);
      log(`  measured: ${c.name}`);
    };
    for (const c of cases) await measure(c);

    // Exclusions are applied at query time (src/reports/queries/excluded.ts): their cost, with
    // the heaviest user and the three busiest spaces excluded, against a plain GROUP BY that
    // filters the same events out.
    const busiest = (
      await raw(
        `SELECT s.id, s.space_key FROM event e JOIN space s ON s.tenant_id = e.tenant_id AND s.id = e.space_id
         WHERE e.tenant_id = ? AND e.occurred_at >= now() - interval '30 days'
         GROUP BY s.id, s.space_key ORDER BY count(*) DESC LIMIT 3`,
        [siteTenant],
      )
    ).rows as { id: number; space_key: string }[];
    const excludedSpaceIds = `{${busiest.map((b) => b.id).join(",")}}`;
    const putSettings = async (excludedUsers: string[], excludedSpaces: string[]) => {
      const res = await fetch(`${app.url}/api/settings`, {
        method: "PUT",
        headers: { authorization: `JWT ${token()}`, "content-type": "application/json" },
        body: JSON.stringify({
          excludedUsers,
          excludedGroups: [],
          excludedSpaces,
          trackAppAccounts: false,
          retentionDays: null,
        }),
      });
      if (res.status !== 200) throw new Error(`settings: ${res.status} ${await res.text()}`);
    };
    // Settings are checked with Confluence: the fake must know the person and the spaces.
    fake.users.set(heavy, { accountId: heavy, displayName: "Heaviest user" });
    for (const b of busiest) fake.spaces.set(b.space_key, { key: b.space_key, name: b.space_key });
    await putSettings(
      [heavy],
      busiest.map((b) => b.space_key),
    );
    const kept = `AND actor_id <> ${heavyId} AND (space_id IS NULL OR space_id <> ALL('${excludedSpaceIds}'::int[]))`;
    const excludedCases: typeof cases = [
      {
        name: "calendar, 365 days, with exclusions (Asia/Kathmandu)",
        goal: "< 300 ms",
        app: () => api(`/api/reports/calendar?from=${k365.from}&to=${k365.to}&tz=${k365.tz}`),
        plain: () =>
          raw(
            `SELECT (occurred_at AT TIME ZONE ?)::date AS d, count(*) AS events, count(DISTINCT actor_id) AS users
             FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${kept} GROUP BY 1`,
            [k365.tz, siteTenant, k365.start, k365.end],
          ),
      },
      {
        name: "breakdown, 90 days, with exclusions (Europe/Berlin)",
        goal: "< 100 ms",
        app: () => api(`/api/reports/breakdown?from=${b90.from}&to=${b90.to}&tz=${b90.tz}`),
        plain: () =>
          raw(
            `SELECT type, count(*) FROM event
             WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${kept} GROUP BY type`,
            [siteTenant, b90.start, b90.end],
          ),
      },
      {
        name: "one user's activity, 365 days, typical user, with exclusions",
        goal: "< 50 ms",
        app: () =>
          api(
            `/api/reports/users/${encodeURIComponent(typical)}?from=${k365.from}&to=${k365.to}&tz=${k365.tz}`,
          ),
        plain: () =>
          raw(
            `SELECT (occurred_at AT TIME ZONE ?)::date AS d, type, count(*) FROM event
             WHERE tenant_id = ? AND actor_id = ? AND occurred_at >= ? AND occurred_at < ? ${kept}
             GROUP BY 1, 2`,
            [k365.tz, siteTenant, typicalId, k365.start, k365.end],
          ),
      },
    ];
    for (const c of excludedCases) await measure(c);
    await putSettings([], []);

    // CSV memory: RSS while streaming the 100,000-row export.
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 5);
    const csvRes = await fetch(
      `${app.url}/api/reports/users.csv?from=${c30.from}&to=${c30.to}&tz=UTC`,
      {
        headers: { authorization: `JWT ${csvFake.contextToken(ADMIN)}` },
      },
    );
    let csvBytes = 0;
    let csvLines = 0;
    for await (const chunk of csvRes.body as AsyncIterable<Uint8Array>) {
      csvBytes += chunk.length;
      for (const b of chunk) if (b === 10) csvLines++;
    }
    clearInterval(sampler);

    const storeWith = median(rollupCost.with ?? []);
    const storeWithout = median(rollupCost.without ?? []);
    log("");
    log(
      `reports benchmark (PostgreSQL, ${written.toLocaleString("en")} events, ${USERS} users, ${SPACES} spaces, ${DAYS} days; medians of ${RUNS} runs, HTTP for the app)`,
    );
    for (const s of sizes)
      log(`  ${s.relname}: ${Number(s.rows).toLocaleString("en")} rows, ${s.size}`);
    log("");
    for (const line of storage) log(line);
    log("");
    for (const line of formatTable(
      ["endpoint", "app ms", "plain GROUP BY ms", "speed-up", "goal", ""],
      rows,
    ))
      log(line);
    log("");
    log(
      `CSV: ${csvLines - 1} data rows, ${num(csvBytes / 1e6, 1)} MB; process RSS ${num(rssBefore / 1e6)} MB before, peak ${num(rssPeak / 1e6)} MB during (+${num((rssPeak - rssBefore) / 1e6)} MB)`,
    );
    log(
      `sealing: ${sealedDays} zone-days in ${num(sealSeconds, 1)} s (${num((sealSeconds * 1000) / Math.max(1, sealedDays), 1)} ms per zone-day; a new zone's year of history takes ~${num((sealSeconds / Math.max(1, sealedDays)) * 365, 0)} s once, in the background)`,
    );
    log(
      `storage path (writeEvents, batches of 500): ${num(storeWith)} events/s with rollups, ${num(storeWithout)} without: rollups cost ${num((1 - storeWith / storeWithout) * 100)}% (goal <= 30%)`,
    );
  } finally {
    await app.stop();
    await fake.stop();
    await csvFake.stop();
    if (process.env.BENCH_KEEP_DB === "1") log(`kept database ${database.url}`);
    else await database.drop();
  }
  if (PGLITE_EVENTS > 0 && ONLY === null) for (const line of await pgliteStorage()) log(line);
}

/** Tables the reports read and write, and those of sealing (compared with user_day). */
const REPORT_TABLES = [
  "event",
  "user_day",
  "site_quarter",
  "actor",
  "space",
  "content",
  "space_actor",
  "zone_user_period",
  "zone_period",
  "zone_site_day",
];
const SEALING_TABLES = ["zone_user_period", "zone_period", "zone_site_day"];
const PGLITE_EVENTS = Number(process.env.BENCH_PGLITE_EVENTS ?? 100_000);

/** Every report table's rows and bytes (with indexes), bytes per stored event, and the goal. */
async function storageReport(db: Db): Promise<string[]> {
  const events = Number((await db.raw("SELECT count(*)::bigint AS n FROM event")).rows[0].n);
  const rows: string[][] = [];
  const bytes = new Map<string, number>();
  for (const table of REPORT_TABLES) {
    const r = (
      await db.raw(
        `SELECT (SELECT count(*) FROM ${table})::bigint AS n, pg_total_relation_size(?::regclass)::bigint AS b`,
        [table],
      )
    ).rows[0] as { n: string; b: string };
    bytes.set(table, Number(r.b));
    rows.push([
      table,
      Number(r.n).toLocaleString("en"),
      num(Number(r.b) / 1e6, 1),
      num(Number(r.b) / Math.max(1, events), 1),
    ]);
  }
  const sealing = SEALING_TABLES.reduce((a, t) => a + (bytes.get(t) ?? 0), 0);
  const userDay = bytes.get("user_day") ?? 1;
  return [
    `storage (${events.toLocaleString("en")} events in the database, every site):`,
    ...formatTable(["table", "rows", "MB", "bytes per event"], rows).map((l) => `  ${l}`),
    `  sealing tables together: ${num(sealing / 1e6, 1)} MB = ${num(sealing / userDay, 2)} x user_day ` +
      `(goal <= 0.5: ${sealing <= userDay / 2 ? "met" : "MISSED"})`,
  ];
}

/**
 * The same site shape, BENCH_PGLITE_EVENTS events (default 100,000; 0 skips), on the embedded
 * database (the default of `npm start`): five zones sealed, then every table and the size of
 * the data folder on disk.
 */
async function pgliteStorage(): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "bench-pglite-"));
  const fake = await new FakeConfluence().start();
  fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Bench Admin", admin: true });
  process.env.CONNECT_KEYS_CDN_URL = fake.keysUrl;
  const config = {
    ...loadConfig({
      NODE_ENV: "test",
      PORT: "0",
      AC_HOST_WHITELIST: "127.0.0.1",
      LOG_LEVEL: "warn",
      REPORT_SEAL_INTERVAL_S: "0",
    }),
    database: { kind: "pglite" as const, dataDir: dir },
  };
  const app = await start(config, createLogger("warn"));
  try {
    const res = await fake.install(app.url);
    if (res.status !== 204) throw new Error(`install failed: ${res.status} ${res.body}`);
    const tenantId = Number(
      (await app.db("tenant").where({ client_key: fake.clientKey }).first("id")).id,
    );
    for (const batch of siteBatches(tenantId, seededRandom(42), PGLITE_EVENTS)) {
      await writeEvents(app.db, batch);
    }
    const today = DateTime.utc().toISODate() as string;
    for (const tz of [
      "America/New_York",
      "Asia/Kathmandu",
      "Europe/Berlin",
      "Asia/Kolkata",
      "UTC",
    ]) {
      const r = await fetch(`${app.url}/api/reports/breakdown?from=${today}&to=${today}&tz=${tz}`, {
        headers: { authorization: `JWT ${fake.contextToken(ADMIN)}` },
      });
      if (r.status !== 200) throw new Error(`breakdown: ${r.status}`);
    }
    const t0 = performance.now();
    const days = await sealAll(app.db, createLogger("warn"));
    const sealS = (performance.now() - t0) / 1000;
    await app.db.raw("VACUUM");
    await app.db.raw("CHECKPOINT");
    const lines = await storageReport(app.db);
    // Below SEAL_MIN_PERSON_DAYS, per-person reports read the rollups: their latency here.
    const personDays = Number(
      (await app.db.raw("SELECT count(*)::int AS n FROM user_day")).rows[0].n,
    );
    const api = async (path: string) => {
      const r = await fetch(`${app.url}${path}`, {
        headers: { authorization: `JWT ${fake.contextToken(ADMIN)}` },
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    };
    const tz = "America/New_York";
    const to = DateTime.now().setZone(tz).toISODate() as string;
    const from = (days: number) =>
      DateTime.fromISO(to)
        .minus({ days: days - 1 })
        .toISODate() as string;
    const timed: string[][] = [];
    for (const [name, path, goal] of [
      ["users, 30 days", `/api/reports/users?from=${from(30)}&to=${to}&tz=${tz}&limit=1000`, 50],
      ["users, 365 days", `/api/reports/users?from=${from(365)}&to=${to}&tz=${tz}&limit=1000`, 300],
      ["calendar, 365 days", `/api/reports/calendar?from=${from(365)}&to=${to}&tz=${tz}`, 50],
    ] as const) {
      await api(path);
      const ms = await medianOf(() => api(path));
      timed.push([name, num(ms, 1), `< ${goal} ms`, ms < goal ? "met" : "MISSED"]);
    }
    return [
      "",
      `embedded PGlite, ${PGLITE_EVENTS.toLocaleString("en")} events, 5 zones (${days} zone-days sealed in ${num(sealS, 1)} s):`,
      ...lines,
      `  data folder: ${num(folderBytes(dir) / 1e6, 1)} MB on disk`,
      `  reports (America/New_York; ${personDays.toLocaleString("en")} user_day rows, per-person periods sealed from ${SEAL_MIN_PERSON_DAYS.toLocaleString("en")}):`,
      ...formatTable(["endpoint", "app ms", "goal", ""], timed).map((l) => `  ${l}`),
    ];
  } finally {
    await app.stop();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/** A database kept by an earlier run (BENCH_KEEP_DB=1), reused as is and kept again. */
function reuseBenchDatabase(adminUrl: string, name: string): BenchDatabase {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const unsupported = () => Promise.reject(new Error("not available on a reused database"));
  return {
    name,
    url: url.toString(),
    eventCount: unsupported,
    nextXid: unsupported,
    drop: async () => {},
  };
}

async function clientKeys(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (
      await client.query<{ client_key: string }>("SELECT client_key FROM tenant ORDER BY id")
    ).rows.map((r) => r.client_key);
  } finally {
    await client.end();
  }
}
