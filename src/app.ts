import { readFile } from "node:fs/promises";
import path from "node:path";
import express, { type Express } from "express";
import handlebars from "handlebars";
import helmet from "helmet";
import { type Config, ROOT_DIR } from "./config.js";
import { ConfluenceClient, type HostClient } from "./confluence/client.js";
import { GroupDirectory } from "./confluence/groups.js";
import { Permissions } from "./confluence/permissions.js";
import { type Addon, setupConnect } from "./connect/addon.js";
import { KnexStore, type Tenant } from "./connect/knex-store.js";
import { lifecycleRouter } from "./connect/lifecycle-router.js";
import type { Db } from "./db/knex.js";
import { apiRouter } from "./http/api-router.js";
import { clientScript } from "./http/client-bundle.js";
import { makeAuthorise } from "./http/authorise.js";
import { designTokensCss } from "./http/design-tokens.js";
import { docsRouter, pageFrameAncestors } from "./http/docs-router.js";
import { errorHandler, notFound } from "./http/errors.js";
import { pagesRouter } from "./http/pages-router.js";
import { requestLogging } from "./http/request-log.js";
import { createIngestor, type Ingestor } from "./ingest/ingestor.js";
import { webhookRouter } from "./ingest/webhook-router.js";
import type { Logger } from "./log.js";
import { ReportService } from "./reports/service.js";
import { TrackingPolicies } from "./settings/tracking-policies.js";

export interface AppContext {
  app: Express;
  /** A REST client for a site, signed as the app. */
  clientFor: (tenant: Tenant) => ConfluenceClient;
  addon: Addon;
  store: KnexStore;
  ingestor: Ingestor;
  /** Group memberships and the site's groups as reports read them (kept fresh by a job). */
  directory: GroupDirectory;
}

/**
 * Builds the Express app: middleware, routers, error handler; no listen().
 * `localBaseUrl` is the URL Confluence reaches this app at (the descriptor's baseUrl).
 */
export async function createApp(deps: {
  config: Config;
  db: Db;
  logger: Logger;
  localBaseUrl: string;
}): Promise<AppContext> {
  const { config, db, logger, localBaseUrl } = deps;
  // Anything awaited must come before setupConnect: ACE mounts its own routes on the next
  // tick, and the app's routes (webhooks that answer after commit) must be mounted first.
  const tokensCss = await designTokensCss();
  const app = express();
  // First: one line per request (id, method, path without secrets, status, duration).
  app.use(requestLogging(logger));
  app.disable("x-powered-by");
  app.set("trust proxy", true);
  // Pages are framed by Confluence: no frameguard; the page CSP comes with the pages.
  app.use(helmet({ frameguard: false, contentSecurityPolicy: false }));
  app.engine("hbs", handlebarsEngine());
  app.set("view engine", "hbs");
  app.set("views", path.join(ROOT_DIR, "views"));

  const store = new KnexStore(db);
  const policies = new TrackingPolicies(db);
  const ingestor = createIngestor(db, config);
  const { addon, ready } = setupConnect(app, { config, localBaseUrl, store, logger });

  // The descriptor, with baseUrl = this app's URL (ACE substitutes {{localBaseUrl}}).
  app.get("/atlassian-connect.json", (_req, res) => {
    res.set("Cache-Control", "no-cache").json(addon.descriptor);
  });
  app.get("/healthz", async (_req, res) => {
    try {
      await db.raw("SELECT 1");
      res.json({ status: "ok" });
    } catch {
      res
        .status(503)
        .json({ error: { code: "storage_unavailable", message: "database unreachable" } });
    }
  });
  app.use("/vendor/css-reset.css", (_req, res) =>
    res.sendFile(path.join(ROOT_DIR, "node_modules/@atlaskit/css-reset/dist/bundle.css")),
  );
  app.use(clientScript());
  app.get("/vendor/tokens.css", (_req, res) => {
    res.type("text/css").set("Cache-Control", "public, max-age=3600").send(tokensCss);
  });
  app.use(express.static(path.join(ROOT_DIR, "public"), { index: false }));
  // The user guide the utility bar's Documentation button opens by default (public).
  app.use(docsRouter({ links: config.links, env: config.env }));

  // Webhooks read their own raw body; everything after this gets parsed JSON (max 1 MB).
  app.use(
    "/webhooks",
    webhookRouter({ authenticate: addon.authenticate(), store, ingestor, logger, policies }),
  );
  // Lifecycle calls check their token's shape before reading their (small) body.
  app.use(lifecycleRouter({ addon, store, db, logger }));
  app.use(express.json({ limit: "1mb" }));
  const clientFor = (tenant: Tenant) =>
    new ConfluenceClient(addon.httpClient({ clientKey: tenant.clientKey }) as HostClient, logger);
  const authorise = makeAuthorise(new Permissions(), clientFor, logger);
  const directory = new GroupDirectory(db, logger, clientFor, {
    refreshIntervalMs: config.directoryRefreshIntervalMs,
  });
  const reports = new ReportService(db, logger, clientFor, policies, directory);
  const frameAncestors = pageFrameAncestors(config.env);
  app.use("/pages", pagesRouter({ addon, store, authorise, frameAncestors, links: config.links }));
  app.use("/api", apiRouter({ addon, store, reports, authorise, clientFor, logger, db, policies }));

  // ACE mounts GET /atlassian-connect.json and POST /installed on the next tick; the 404 and
  // the error handler must come after them.
  await ready;
  app.use(notFound);
  app.use(errorHandler(logger));
  return { app, addon, store, ingestor, clientFor, directory };
}

/** Handlebars views with one layout (`views/layouts/main.hbs`), compiled once each. */
function handlebarsEngine() {
  const cache = new Map<string, handlebars.TemplateDelegate>();
  const compile = async (file: string) => {
    let template = cache.get(file);
    if (!template) {
      template = handlebars.compile(await readFile(file, "utf8"), { strict: false });
      cache.set(file, template);
    }
    return template;
  };
  return (file: string, options: object, callback: (e: unknown, rendered?: string) => void) => {
    (async () => {
      const body = (await compile(file))(options);
      const layout = await compile(path.join(ROOT_DIR, "views/layouts/main.hbs"));
      return layout({ ...options, body });
    })().then(
      (html) => callback(null, html),
      (error) => callback(error),
    );
  };
}
