import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** The repository root: the descriptor, views, public files and migrations live under it. */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const flag = z
  .enum(["1", "0", "true", "false", ""])
  .default("")
  .transform((v) => v === "1" || v === "true");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  AC_LOCAL_BASE_URL: z.url().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  PGLITE_DATA_DIR: z.string().min(1).default("./.data"),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(8),
  CONNECT_KEYS_CDN_URL: z.url().optional(),
  AC_HOST_WHITELIST: z.string().optional(),
  AC_OPTS: z.string().default(""),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Most events one group commit writes. */
  INGEST_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  /** Group commits writing at once on PostgreSQL (PGlite has one connection: always 1). */
  INGEST_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(16).default(1),
  /** Webhooks waiting for a commit beyond which new ones are refused with 503. */
  INGEST_QUEUE_MAX: z.coerce.number().int().min(1).default(20000),
  /**
   * Oldest webhook `timestamp` stored as given (hours before receipt). An older one (or one
   * more than 5 minutes ahead) is stored at receipt time, with a warning: Confluence sends
   * webhooks as things happen and never retries them, and each old day reopens sealed reports.
   */
  WEBHOOK_MAX_EVENT_AGE_H: z.coerce.number().int().min(1).max(87_600).default(72),
  /** How often report days are sealed into prefix sums (seconds; 0 turns the sealer off). */
  REPORT_SEAL_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(60),
  /** Where the utility bar's Documentation button leads (default: the built-in user guide). */
  DOCS_URL: z.string().min(1).default("/docs"),
  /** Where admins get help (a service desk, a mailbox as mailto:); unset = no Support button. */
  SUPPORT_URL: z.url().optional(),
  /** How often the data lifecycle jobs run (seconds; 0 turns them off). */
  PRIVACY_JOBS_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(600),
  /** On SIGTERM/SIGINT: seconds in-flight requests get before their connections are cut. */
  SHUTDOWN_GRACE_S: z.coerce.number().min(0).max(600).default(10),
  /** Benchmark only: authenticate and validate webhooks but store nothing (the HTTP ceiling). */
  BENCH_NO_STORE: flag,
  /** Benchmark only: store events without maintaining the rollups (reports will be wrong). */
  BENCH_NO_ROLLUPS: flag,
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: "development" | "production" | "test";
  port: number;
  /** Base URL Confluence reaches the app at; undefined means http://localhost:<bound port>. */
  localBaseUrl: string | undefined;
  database:
    { kind: "postgres"; url: string; poolMax: number } | { kind: "pglite"; dataDir: string };
  connectKeysCdnUrl: string | undefined;
  hostWhitelist: string | undefined;
  acOpts: string;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  ingest: {
    batchMax: number;
    maxInFlight: number;
    queueMax: number;
    /** Oldest payload timestamp stored as given, in ms before receipt (WEBHOOK_MAX_EVENT_AGE_H). */
    maxEventAgeMs: number;
    store: boolean;
    rollups: boolean;
  };
  /** Milliseconds between sealing runs; 0 = off. */
  sealIntervalMs: number;
  /** Milliseconds between data lifecycle runs; 0 = off. */
  privacyIntervalMs: number;
  /** Milliseconds a shutdown waits for in-flight requests before cutting their connections. */
  shutdownGraceMs: number;
  links: { docs: string; support: string | undefined };
}

/** The one reader of process.env: validates it once, at boot, and fails with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv | Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === "production") {
    // ACE skips authentication entirely with these: never in production.
    if (/no-auth|no-token-verfication/.test(e.AC_OPTS)) {
      throw new Error(
        "Invalid configuration: AC_OPTS must not disable authentication in production",
      );
    }
    if (e.BENCH_NO_STORE || e.BENCH_NO_ROLLUPS) {
      throw new Error(
        "Invalid configuration: BENCH_NO_* settings are for benchmarks, not production",
      );
    }
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    localBaseUrl: e.AC_LOCAL_BASE_URL?.replace(/\/$/, ""),
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, poolMax: e.DB_POOL_MAX }
      : { kind: "pglite", dataDir: path.resolve(e.PGLITE_DATA_DIR) },
    connectKeysCdnUrl: e.CONNECT_KEYS_CDN_URL,
    hostWhitelist: e.AC_HOST_WHITELIST,
    acOpts: e.AC_OPTS,
    logLevel: e.LOG_LEVEL,
    ingest: {
      batchMax: e.INGEST_BATCH_MAX,
      maxInFlight: e.INGEST_MAX_IN_FLIGHT,
      queueMax: e.INGEST_QUEUE_MAX,
      maxEventAgeMs: e.WEBHOOK_MAX_EVENT_AGE_H * 3_600_000,
      store: !e.BENCH_NO_STORE,
      rollups: !e.BENCH_NO_ROLLUPS,
    },
    sealIntervalMs: e.REPORT_SEAL_INTERVAL_S * 1000,
    privacyIntervalMs: e.PRIVACY_JOBS_INTERVAL_S * 1000,
    shutdownGraceMs: e.SHUTDOWN_GRACE_S * 1000,
    links: { docs: e.DOCS_URL, support: e.SUPPORT_URL },
  };
}
