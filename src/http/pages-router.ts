import express, { type Request } from "express";
import type { Addon } from "../connect/addon.js";
import type { KnexStore } from "../connect/knex-store.js";
import type { Db } from "../db/knex.js";
import { asyncHandler, HttpError } from "./errors.js";

/**
 * The page modules of the descriptor (`activity-report`, `space-activity-report`). Confluence
 * loads them in an iframe with a signed `jwt` query parameter, verified by ACE on every load.
 * Until the reports and pages land they show what has been recorded so far: counts only,
 * nothing personal.
 */
export function pagesRouter(deps: { addon: Addon; store: KnexStore; db: Db }) {
  const router = express.Router();
  const authenticate = deps.addon.authenticate();

  const render = (view: string, spaceKey: string | null) =>
    asyncHandler(async (req: Request, res) => {
      const clientKey = (req as Request & { context?: { clientKey?: string } }).context?.clientKey;
      const tenant = clientKey ? await deps.store.getTenant(clientKey) : null;
      if (!tenant)
        throw new HttpError(401, "unauthenticated", "This site has not installed the app.");
      const query = deps.db("event").where({ tenant_id: tenant.id });
      if (spaceKey !== null) {
        query.whereIn(
          "space_id",
          deps.db("space").where({ tenant_id: tenant.id, space_key: spaceKey }).select("id"),
        );
      }
      const row = await query.first(deps.db.raw("count(*)::int AS events"));
      res.render(view, {
        spaceKey,
        events: (row as { events: number } | undefined)?.events ?? 0,
      });
    });

  router.get("/activity-report", authenticate, render("activity-report", null));
  router.get("/space-activity-report", authenticate, (req, res, next) => {
    const spaceKey = typeof req.query.spaceKey === "string" ? req.query.spaceKey : null;
    return render("space-activity-report", spaceKey)(req, res, next);
  });
  return router;
}
