import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import knexFactory from "knex";
import { type Config, loadConfig } from "../../src/config.js";
import type { Db } from "../../src/db/knex.js";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { createLogger } from "../../src/log.js";
import { type RunningServer, start } from "../../src/server.js";

/** The backend tests run on: PostgreSQL when DATABASE_URL is set, PGlite otherwise. */
export const BACKEND = process.env.DATABASE_URL ? "postgres" : "pglite";

/** A fresh, empty database for one test file; dropped by the returned cleanup. */
export async function freshDatabase(): Promise<{
  database: Config["database"];
  drop(): Promise<void>;
}> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = await mkdtemp(path.join(tmpdir(), "activity-report-test-"));
    return {
      database: { kind: "pglite", dataDir },
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `ar_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = knexFactory({ client: "pg", connection: serverUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    database: { kind: "postgres", url: url.toString(), poolMax: 8 },
    drop: async () => {
      const a = knexFactory({ client: "pg", connection: serverUrl, pool: { min: 0, max: 1 } });
      await a.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.destroy();
    },
  };
}

export interface TestApp {
  url: string;
  clientFor: RunningServer["clientFor"];
  /** Runs the group member and profile refresh job once, now. */
  refreshDirectory: RunningServer["refreshDirectory"];
  fake: FakeConfluence;
  db: Db;
  /** Every log line the app wrote, as JSON text. */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts a fake Confluence and the real app (port 0, fresh database) wired to it, the way
 * CONNECT_KEYS_CDN_URL and AC_HOST_WHITELIST point a real deployment's tests at local keys.
 */
export async function startTestApp(
  opts: {
    env?: Record<string, string> /** reach PostgreSQL through this local port */;
    viaPort?: number;
  } = {},
): Promise<TestApp> {
  const fake = await new FakeConfluence().start();
  process.env.CONNECT_KEYS_CDN_URL = fake.keysUrl; // ACE reads this itself
  const { database, drop } = await freshDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  let appDatabase = database;
  if (opts.viaPort && database.kind === "postgres") {
    const url = new URL(database.url);
    url.hostname = "127.0.0.1";
    url.port = String(opts.viaPort);
    appDatabase = { ...database, url: url.toString() };
  }
  const config: Config = {
    ...loadConfig({
      NODE_ENV: "test",
      PORT: "0",
      AC_HOST_WHITELIST: "127.0.0.1",
      // Tests run the data lifecycle jobs themselves, when they mean to.
      PRIVACY_JOBS_INTERVAL_S: "0",
      DIRECTORY_REFRESH_INTERVAL_S: "0",
      ...opts.env,
    }),
    database: appDatabase,
  };
  const running = await start(config, createLogger("debug", sink));
  return {
    url: running.url,
    clientFor: running.clientFor,
    refreshDirectory: () => running.refreshDirectory(),
    fake,
    db: running.db,
    logs,
    async stop() {
      await running.stop();
      await fake.stop();
      await drop();
    },
  };
}

export async function eventCount(db: Db): Promise<number> {
  const result = await db.raw("SELECT count(*)::int AS n FROM event");
  return Number(result.rows[0].n);
}
