import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type AppContext, createApp } from "./app.js";
import { type Config, configWarnings, loadConfig } from "./config.js";
import { createDb, type Db, migrateLatest } from "./db/knex.js";
import {
  type DirectoryRefreshResult,
  membersMaxAgeMs,
  runDirectoryRefresh,
  startDirectoryRefresh,
} from "./jobs/directory-refresh.js";
import { createLogger, type Logger } from "./log.js";
import { startPrivacyJobs } from "./privacy/jobs.js";
import { startSealer } from "./reports/sealing.js";

export interface RunningServer {
  url: string;
  /** The app's database handle (tests read through it; PGlite allows one opener). */
  db: Db;
  /** A REST client for a site, signed as the app (for jobs run by tests). */
  clientFor: AppContext["clientFor"];
  /** Runs one refresh of group members and profiles now (tests; the job runs it on a timer). */
  refreshDirectory(): Promise<DirectoryRefreshResult>;
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
  for (const warning of configWarnings(config)) {
    logger.warn({ component: "config" }, `CONFIGURATION WARNING: ${warning}`);
  }
  const db = await createDb(config.database, logger);
  await migrateLatest(db);

  let handler: http.RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const drain = new HttpDrain();
  const server = createHttpServer((req, res) => {
    drain.track(res);
    handler(req, res);
  });
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
  const directoryJob =
    config.directoryRefreshIntervalMs > 0
      ? startDirectoryRefresh(
          db,
          logger,
          ctx.clientFor,
          ctx.directory,
          config.directoryRefreshIntervalMs,
        )
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
    refreshDirectory: () =>
      runDirectoryRefresh(db, logger, ctx.clientFor, ctx.directory, {
        maxAgeMs: membersMaxAgeMs(config.directoryRefreshIntervalMs),
      }),
    stop() {
      stopping ??= (async () => {
        const t0 = performance.now();
        // Background jobs finish their run while the HTTP side drains; no new run starts.
        const jobs = Promise.all([sealer?.stop(), privacy?.stop(), directoryJob?.stop()]);
        const outcome = await drain.close(server, config.shutdownGraceMs);
        if (outcome.cut > 0) {
          logger.warn(
            { cut: outcome.cut, graceMs: config.shutdownGraceMs },
            "shutdown: grace over, cut the connections of requests still in flight",
          );
        }
        // Every webhook that reached the ingestor is committed (or refused) before the
        // database closes: none answered 204 is lost, as 204 is only sent after the commit.
        await ctx.ingestor.drain();
        await jobs;
        await db.destroy();
        logger.info(
          { ms: Math.round(performance.now() - t0), answeredWhileDraining: outcome.answered },
          "shutdown: drained and closed",
        );
      })();
      return stopping;
    },
  };
}

export interface HttpTimeouts {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  keepAliveTimeout: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = {
  // Defence against slow clients: a request must bring its headers within 20 s and all of
  // itself within 30 s (checked every 5 s), or it is answered 408 and its connection closed.
  // Node's checker only looks at connections with a request under way (or not yet begun on a
  // new connection): an idle keep-alive connection is never closed by these two.
  headersTimeout: 20_000,
  requestTimeout: 30_000,
  connectionsCheckingInterval: 5_000,
  // Longer than the load balancer's idle timeout, so that it closes idle connections first.
  // Answers advertise `Keep-Alive: timeout=65`; Node closes after 66 s, and clients such as
  // undici stop reusing a connection 2 s before the advertised time.
  keepAliveTimeout: 65_000,
};

/**
 * The app's HTTP server with its timeouts (tests pass shorter ones).
 *
 * Idle keep-alive connections are closed by `closeIfStillIdle`, not by Node's default. Node
 * destroys a connection the moment its idle timer fires, and timers run before the event loop
 * reads sockets. So when the loop has been busy past the keep-alive timeout (a long sealing
 * run on the embedded database, a long GC pause), a request the client sent on that
 * connection while it was still well within the advertised window sits unread in the socket,
 * the connection is destroyed with it, and the kernel answers the client with a TCP reset:
 * ECONNRESET, the request lost. A reverse proxy reusing its connections hits it as a 502; the
 * tests (undici in the same process, whose idle timers are coarse and fall behind while the
 * loop is blocked, so it reuses the connection after such a run) hit it now and then.
 */
export function createHttpServer(
  listener: http.RequestListener,
  timeouts: Partial<HttpTimeouts> = {},
): http.Server {
  const t = { ...HTTP_TIMEOUTS, ...timeouts };
  const server = http.createServer(
    {
      headersTimeout: t.headersTimeout,
      requestTimeout: t.requestTimeout,
      connectionsCheckingInterval: t.connectionsCheckingInterval,
      keepAliveTimeout: t.keepAliveTimeout,
    },
    listener,
  );
  // With a listener here, Node leaves the timed-out socket to it instead of destroying it.
  server.on("timeout", closeIfStillIdle);
  return server;
}

/**
 * Closes a connection whose idle timer fired, unless a request arrived on it meanwhile. The
 * check waits for the event loop to read the sockets: the timer fires in the timers phase, the
 * following poll phase reads whatever was sent, and a second turn covers a client in this same
 * process that wrote during this turn's check phase. A connection that read bytes stays open:
 * its request clears the idle timer, which starts again once the answer is sent.
 */
function closeIfStillIdle(socket: Socket): void {
  const seen = socket.bytesRead;
  setImmediate(() =>
    setImmediate(() => {
      if (socket.bytesRead === seen) socket.destroy();
    }),
  );
}

/**
 * Closes an HTTP server under load, keep-alive clients included:
 * - it stops listening at once (new connections are refused);
 * - requests in flight, and any that arrive on connections already open, are answered
 *   normally but with `Connection: close`, so each connection ends after its answer;
 * - idle keep-alive connections are closed at once, and again as others become idle;
 * - after `graceMs`, the connections left (stalled uploads, slow readers) are destroyed.
 */
export class HttpDrain {
  private draining = false;
  private answered = 0;
  private readonly inFlight = new Set<http.ServerResponse>();

  /** Call first thing in the request listener. */
  track(res: http.ServerResponse): void {
    this.inFlight.add(res);
    res.once("close", () => this.inFlight.delete(res));
    if (this.draining) {
      this.answered++;
      closeAfterAnswer(res);
    }
  }

  /** Resolves once every connection is closed; `cut` counts requests whose answer was cut. */
  async close(server: http.Server, graceMs: number): Promise<{ cut: number; answered: number }> {
    this.draining = true;
    this.answered += this.inFlight.size;
    for (const res of this.inFlight) closeAfterAnswer(res);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A connection whose answer was already on its way with keep-alive goes idle afterwards.
    const sweeper = setInterval(() => server.closeIdleConnections(), 25);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    try {
      let cut = 0;
      if (await Promise.race([closed.then(() => false), graceOver])) {
        cut = this.inFlight.size;
        server.closeAllConnections();
        await closed;
      }
      return { cut, answered: this.answered - cut };
    } finally {
      clearInterval(sweeper);
      clearTimeout(timer);
    }
  }
}

/** The connection closes once this answer is sent (if its headers are not out yet). */
function closeAfterAnswer(res: http.ServerResponse): void {
  if (res.headersSent) return;
  res.shouldKeepAlive = false;
  res.setHeader("Connection", "close");
}

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const running = await start(config, logger);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // `npm start` in a terminal: Ctrl-C reaches npm and the server, and npm forwards it too.
    if (stopping) {
      logger.info({ signal }, "shutdown already under way");
      return;
    }
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down: draining");
    // The grace bounds the HTTP side; this bounds the rest (storing what is queued, closing).
    // Not unref'd: a drain stuck on a promise nothing will settle must not pass for success.
    const bound = config.shutdownGraceMs + 20_000;
    setTimeout(() => {
      logger.error({ ms: bound }, "shutdown did not finish in time");
      process.exit(1);
    }, bound);
    running.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, shutdown);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
