import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/**
 * The app's root: the nearest directory above this module holding package.json. The
 * descriptor, views, public files and node_modules are read from it, whether this module runs
 * as `src/config.ts` (tsx, vitest) or as `dist/src/config.js` (the production build).
 */
export function findRootDir(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}

export const ROOT_DIR = findRootDir(path.dirname(fileURLToPath(import.meta.url)));

const flag = z
  .enum(["1", "0", "true", "false", ""])
  .default("")
  .transform((v) => v === "1" || v === "true");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  AC_LOCAL_BASE_URL: z.url().optional(),
  /**
   * The Connect key this server serves (descriptor `key`, issuer of its REST calls, the key
   * installs must name): the Forge environment's CONNECT_KEY. Default: the production key.
   */
  APP_KEY: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,64}$/, "letters, digits, . _ - (at most 64)")
    .optional(),
  DATABASE_URL: z.string().min(1).optional(),
  /**
   * With NODE_ENV=production, DATABASE_URL is required: the embedded database (PGlite) is one
   * process's files, with no backups, replicas or second instance. Set this to 1 to run a
   * production instance on it anyway (a trial, a single small site).
   */
  ALLOW_EMBEDDED_DB_IN_PRODUCTION: flag,
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
  DOCS_URL: z
    .string()
    .refine(
      (v) => /^\/(?![/\\])/.test(v) || /^https?:\/\//i.test(v),
      "a path on this app (/docs) or an http(s) URL",
    )
    .default("/docs"),
  /** Where admins get help (a service desk, a mailbox as mailto:); unset = no Support button. */
  SUPPORT_URL: z
    .url({ protocol: /^(https?|mailto)$/ })
    .optional()
    .describe("an http(s) or mailto: URL"),
  /** How often the data lifecycle jobs run (seconds; 0 turns them off). */
  PRIVACY_JOBS_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(600),
  /**
   * How often each site's group memberships (confluence-users, excluded groups, groups recently
   * used as report filters) and people's names are refreshed from Confluence, in the
   * background (seconds; 0 turns the job off: a report that finds a group's stored members
   * older than ten minutes then refreshes them in the background). Reports read what is stored.
   */
  DIRECTORY_REFRESH_INTERVAL_S: z.coerce.number().int().min(0).max(86_400).default(600),
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
  /** The Connect key this server serves; undefined means the descriptor's (production) key. */
  appKey: string | undefined;
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
  /** Milliseconds between refreshes of group members and profiles; 0 = off. */
  directoryRefreshIntervalMs: number;
  /** Milliseconds a shutdown waits for in-flight requests before cutting their connections. */
  shutdownGraceMs: number;
  links: { docs: string; support: string | undefined };
}

/**
 * The one reader of process.env: validates it once, at boot, and fails with a clear message.
 * A variable set to the empty string counts as unset (`SUPPORT_URL=` in a compose file or a
 * .env file means "none", not "an invalid URL").
 */
export function loadConfig(env: NodeJS.ProcessEnv | Env = process.env): Config {
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = envSchema.safeParse(given);
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
    if (!e.DATABASE_URL && !e.ALLOW_EMBEDDED_DB_IN_PRODUCTION) {
      throw new Error(
        "Invalid configuration: NODE_ENV=production needs DATABASE_URL (a PostgreSQL server); " +
          "to run production on the embedded database anyway, set ALLOW_EMBEDDED_DB_IN_PRODUCTION=1",
      );
    }
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    localBaseUrl: e.AC_LOCAL_BASE_URL?.replace(/\/$/, ""),
    appKey: e.APP_KEY,
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
    directoryRefreshIntervalMs: e.DIRECTORY_REFRESH_INTERVAL_S * 1000,
    shutdownGraceMs: e.SHUTDOWN_GRACE_S * 1000,
    links: { docs: e.DOCS_URL, support: e.SUPPORT_URL },
  };
}

/**
 * Settings that start but are almost certainly wrong in production; each is logged as a warning
 * at boot (src/server.ts). Confluence Cloud reaches the app over the internet, over HTTPS only.
 */
export function configWarnings(config: Config): string[] {
  if (config.env !== "production") return [];
  const warnings: string[] = [];
  if (!config.localBaseUrl) {
    warnings.push(
      "AC_LOCAL_BASE_URL is not set: the descriptor's baseUrl is http://localhost:<port>, which " +
        "Confluence cannot reach; set it to the public HTTPS URL of this app",
    );
  } else {
    const url = new URL(config.localBaseUrl);
    if (url.protocol !== "https:") {
      warnings.push(
        `AC_LOCAL_BASE_URL (${url.origin}) is not HTTPS: Confluence only installs and calls ` +
          "apps over HTTPS; set it to the public HTTPS URL of this app",
      );
    }
    if (isLocalOrPrivateHost(url.hostname)) {
      warnings.push(
        `AC_LOCAL_BASE_URL (${url.origin}) is a local or private address: Confluence cannot ` +
          "reach it; set it to the public HTTPS URL of this app",
      );
    }
  }
  if (config.database.kind === "pglite") {
    warnings.push(
      "running production on the embedded database (ALLOW_EMBEDDED_DB_IN_PRODUCTION): one " +
        `instance only, and back up ${config.database.dataDir} yourself`,
    );
  }
  return warnings;
}

/** localhost, loopback, unspecified, link-local and private (RFC 1918, ULA) addresses. */
function isLocalOrPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local")) return true;
  if (
    host === "::" ||
    host === "::1" ||
    /^f[cd][0-9a-f]{2}:/.test(host) ||
    host.startsWith("fe80:")
  )
    return true;
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!v4) return false;
  const [a, b] = [Number(v4[1]), Number(v4[2])];
  return (
    a === 127 ||
    a === 0 ||
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  );
}
