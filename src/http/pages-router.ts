import express, { type Request, type Response } from "express";
import helmet from "helmet";
import { SPACE_KEY, SPACE_KEY_RULE } from "../confluence/keys.js";
import type { Addon } from "../connect/addon.js";
import type { KnexStore } from "../connect/knex-store.js";
import type { Authorise } from "./authorise.js";
import { asyncHandler, HttpError } from "./errors.js";
import { tokenOnlyIn } from "./token-slots.js";
import { pageData } from "./page-data.js";

/**
 * The page modules of the descriptor. Confluence loads them in an iframe whose URL carries a
 * signed `jwt` (verified by ACE on every load); the viewer's rights are checked here, on the
 * server. The page is a shell: its script reads the JSON API with a context token.
 */
export function pagesRouter(deps: {
  links: { docs: string; support: string | undefined };
  addon: Addon;
  store: KnexStore;
  authorise: Authorise;
  frameAncestors: string[];
}) {
  const router = express.Router();
  router.use(
    helmet.contentSecurityPolicy({
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "https://connect-cdn.atl-paas.net"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:", "https:", "http:"],
        connectSrc: ["'self'"],
        frameAncestors: deps.frameAncestors,
      },
    }),
  );
  // Confluence signs an iframe's URL: the page's token is the `jwt` query parameter, only.
  const authenticate = [tokenOnlyIn(["query.jwt"]), deps.addon.authenticate()];

  const render = (kind: "global" | "space") =>
    asyncHandler(async (req: Request, res: Response) => {
      const context = (
        req as Request & { context?: { clientKey?: unknown; userAccountId?: unknown } }
      ).context;
      const tenant =
        typeof context?.clientKey === "string"
          ? await deps.store.getTenant(context.clientKey)
          : null;
      if (!tenant)
        throw new HttpError(401, "unauthenticated", "This site has not installed the app.");
      const accountId = typeof context?.userAccountId === "string" ? context.userAccountId : "";
      const spaceKey =
        kind === "space" && typeof req.query.spaceKey === "string" ? req.query.spaceKey : null;
      if (kind === "space" && (!spaceKey || !SPACE_KEY.test(spaceKey)))
        throw new HttpError(400, "invalid_parameter", `spaceKey ${SPACE_KEY_RULE}`);
      try {
        if (!accountId)
          throw new HttpError(403, "forbidden", "Sign in to Confluence to see this report.");
        await deps.authorise({ tenant, accountId }, spaceKey);
      } catch (error) {
        if (error instanceof HttpError && (error.status === 403 || error.status === 503)) {
          await sendPage(res.status(error.status), "message", {
            title: error.status === 403 ? "You cannot see this report" : "Try again in a moment",
            message: error.message,
          });
          return;
        }
        throw error;
      }
      res.set("Cache-Control", "private, no-store");
      await sendPage(res, "report", {
        title: spaceKey ? `Activity Report: ${spaceKey}` : "Activity Report",
        global: kind === "global",
        pageData: pageData(tenant, kind, spaceKey, String(res.locals.token ?? ""), deps.links),
      });
    });

  router.get("/activity-report", authenticate, render("global"));
  router.get("/space-activity-report", authenticate, render("space"));
  return router;
}

/**
 * Renders a view in standards mode. The doctype cannot live in views/layouts/main.hbs:
 * Prettier's Handlebars printer deletes it (prettier/prettier#11223).
 */
function sendPage(res: Response, view: string, data: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    res.render(view, data, (error: unknown, html?: string) => {
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      res.type("html").send(`<!doctype html>\n${html ?? ""}`);
      resolve();
    });
  });
}
