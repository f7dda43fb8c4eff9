import express from "express";
import { asyncHandler, HttpError } from "../http/errors.js";
import type { Logger } from "../log.js";
import type { Addon } from "./addon.js";
import type { KnexStore } from "./knex-store.js";

/**
 * POST /uninstalled (ACE mounts /installed itself but not this one). The call is signed like
 * the install (RS256); afterwards the tenant's webhooks and pages are refused. Its data stays,
 * so a reinstall of the same site resumes with its history.
 * https://developer.atlassian.com/cloud/confluence/connect-app-descriptor/#lifecycle
 */
export function lifecycleRouter(deps: { addon: Addon; store: KnexStore; logger: Logger }) {
  const router = express.Router();
  router.post(
    "/uninstalled",
    deps.addon.authenticateInstall(),
    asyncHandler(async (req, res) => {
      const body: unknown = req.body;
      const clientKey =
        typeof body === "object" && body !== null && "clientKey" in body
          ? body.clientKey
          : undefined;
      if (typeof clientKey !== "string") {
        throw new HttpError(400, "invalid_body", "clientKey is required");
      }
      await deps.store.markUninstalled(clientKey);
      deps.logger.info({ clientKey }, "tenant uninstalled");
      res.status(204).end();
    }),
  );
  return router;
}
