import http from "node:http";
import type { AddressInfo } from "node:net";
import { type AppContext, createApp } from "./app.js";
import { type Config, loadConfig } from "./config.js";
import { createDb, type Db, migrateLatest } from "./db/knex.js";
import { createLogger, type Logger } from "./log.js";
import { startPrivacyJobs } from "./privacy/jobs.js";
import { startSealer } from "./reports/sealing.js";

export interface RunningServer {
  url: string;
  /** The app's database handle (tests read through it; PGlite allows one opener). */
  db: Db;
  /** A REST client for a site, signed as the app (for jobs run by tests). */
  clientFor: AppContext["clientFor"];
  stop(): Promise<void>;
}

/**
 * Opens the database, runs migrations, listens, and mounts the app. Listening comes first so
 * that port 0 (tests) gives a known base URL before the descriptor is built.
 */
export async function start(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const db = await createDb(config.database, logger);
  await migrateLatest(db);

  let handler: http.RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.localBaseUrl ?? `http://localhost:${port}`;
  const ctx = await createApp({ config, db, logger, localBaseUrl: url });
  handler = ctx.app;
  const sealer = config.sealIntervalMs > 0 ? startSealer(db, logger, config.sealIntervalMs) : null;
  const privacy =
    config.privacyIntervalMs > 0
      ? startPrivacyJobs(db, logger, ctx.clientFor, config.privacyIntervalMs)
      : null;
  logger.info(
    { url, database: config.database.kind, env: config.env },
    `Activity Report listening on ${url} (descriptor: ${url}/atlassian-connect.json)`,
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    db,
    clientFor: ctx.clientFor,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await ctx.ingestor.drain();
        await sealer?.stop();
        await privacy?.stop();
        await db.destroy();
      })();
      return stopping;
    },
  };
}

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const running = await start(config, logger);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      logger.info({ signal }, "shutting down");
      running.stop().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
