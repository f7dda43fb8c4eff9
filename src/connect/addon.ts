import path from "node:path";
import ace from "atlassian-connect-express";
import type { Express, RequestHandler } from "express";
import { type Config, ROOT_DIR } from "../config.js";
import { aceLogger, type Logger } from "../log.js";
import type { KnexStore } from "./knex-store.js";

export const DESCRIPTOR_PATH = path.join(ROOT_DIR, "atlassian-connect.json");

/** The few ACE methods the app uses, typed (ACE's own typings mistype several). */
export interface Addon {
  /** Verifies a Confluence-signed request (HS256 with the tenant's secret, `qsh` checked). */
  authenticate(): RequestHandler;
  /** Verifies a signed lifecycle call (RS256 key from Atlassian's key server). */
  authenticateInstall(): RequestHandler;
  /** The install checks: host allow-list, client key, then authenticateInstall(). */
  verifyInstallation(): RequestHandler;
  /** A REST client for a tenant, signed as the app (JWT with the shared secret). */
  httpClient(opts: { clientKey: string }): unknown;
  descriptor: { key: string; baseUrl: string };
}

/**
 * Sets up atlassian-connect-express on `app` with the knex store, and resolves once ACE has
 * mounted its routes (descriptor, signed /installed), which it does on the next tick.
 * Routes the app mounts before that resolves take precedence over ACE's.
 * https://bitbucket.org/atlassian/atlassian-connect-express
 */
export function setupConnect(
  app: Express,
  opts: { config: Config; localBaseUrl: string; store: KnexStore; logger: Logger },
): { addon: Addon; ready: Promise<void> } {
  const { config, localBaseUrl, store, logger } = opts;
  ace.store.register("knex", () => store as never);
  app.set("env", config.env === "production" ? "production" : "development");
  const aceConfig = {
    product: "confluence",
    localBaseUrl,
    port: String(config.port),
    store: { adapter: "knex" },
    // Authentication errors go to the app's error handler, which answers JSON.
    expressErrorHandling: true,
    watch: false,
    validateDescriptor: false,
    // The app mounts /installed itself (src/connect/lifecycle-router.ts): replay protection.
    setupInstallRoute: false,
    whitelist: config.hostWhitelist ?? "*.atlassian.net",
    maxTokenAge: 15 * 60,
  };
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const addon = ace(
    app,
    { config: { development: aceConfig, production: aceConfig } } as never,
    aceLogger(logger) as never,
    { descriptorFilename: DESCRIPTOR_PATH } as never,
    () => resolveReady(),
  ) as unknown as Addon & { key: string };
  // A Forge environment with its own Connect key (APP_KEY): ACE takes the key from the
  // descriptor it loaded, for the descriptor it serves and the JWTs it signs. Set before any
  // request can arrive (ACE mounts its routes on the next tick).
  if (config.appKey) {
    addon.descriptor.key = config.appKey;
    addon.key = config.appKey;
  }
  return { addon, ready };
}
