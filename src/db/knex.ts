import { mkdir } from "node:fs/promises";
import knexFactory, { type Knex } from "knex";
import ClientPgLite from "knex-pglite";
import { migrationSource } from "../../migrations/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

export type Db = Knex;

/**
 * One knex instance over either backend: PostgreSQL when DATABASE_URL is set, otherwise an
 * embedded PGlite stored on disk (so `npm install && npm start` needs nothing else).
 * Queries cast dates and counts in SQL, so both backends return the same JavaScript values.
 */
interface PgConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

export async function createDb(database: Config["database"], logger?: Logger): Promise<Db> {
  const log = logger?.child({ component: "knex" });
  // knex prints pool and connection trouble with console.* unless given a logger.
  const knexLog = log && {
    warn: (m: unknown) => log.warn(String(m)),
    error: (m: unknown) => log.error(String(m)),
    deprecate: (m: unknown) => log.warn(String(m)),
    debug: (m: unknown) => log.debug(String(m)),
  };
  if (database.kind === "postgres") {
    return knexFactory({
      log: knexLog,
      client: "pg",
      connection: database.url,
      pool: {
        min: 0,
        max: database.poolMax,
        // The report queries are short and many: PostgreSQL's JIT compiler spent more time
        // compiling them (170 ms for a users report on 10 M events) than running them, and
        // parallel workers more time starting and merging than they saved (a 30-day users
        // report on 10 M events: 62 ms of execution with them, 48 without).
        afterCreate: (
          conn: PgConnection,
          done: (error: Error | null, conn: PgConnection) => void,
        ) => {
          conn.query(
            "SET jit = off; SET max_parallel_workers_per_gather = 0",
            (error: Error | null) => done(error, conn),
          );
        },
      },
      // Fail fast while the database is down, so webhooks answer 503 instead of hanging.
      acquireConnectionTimeout: 5000,
    });
  }
  await mkdir(database.dataDir, { recursive: true });
  return knexFactory({
    log: knexLog,
    client: ClientPgLite,
    dialect: "postgres",
    connection: { filename: database.dataDir },
  } as Knex.Config);
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}
