import express, { type Request, type RequestHandler, type Response } from "express";
import type { KnexStore } from "../connect/knex-store.js";
import { occurredAt, PayloadError, parseWebhookBody } from "../events/payload.js";
import { EVENT_TYPES, type Webhook, webhookByEvent } from "../events/types.js";
import { asyncHandler, HttpError, isStorageUnavailable } from "../http/errors.js";
import type { Logger } from "../log.js";
import { QueueFullError } from "./group-commit.js";
import type { Ingestor } from "./ingestor.js";
import type { TrackingPolicies } from "../settings/tracking-policies.js";
import { isTracked } from "./tracking-policy.js";

interface Deps {
  policies: TrackingPolicies;
  authenticate: RequestHandler;
  store: KnexStore;
  ingestor: Ingestor;
  logger: Logger;
}

interface WebhookLocals {
  webhook: Webhook;
  rawBody: Buffer;
}

/**
 * POST /webhooks/:event, one URL per subscribed event (the body names none).
 * verify (ACE, JWT + qsh) -> validate -> classify -> commit -> answer: the 204 goes out only
 * after the event's transaction has committed, so an acknowledged event is never lost.
 * https://developer.atlassian.com/cloud/confluence/modules/webhook/
 */
export function webhookRouter({
  authenticate,
  store,
  ingestor,
  logger,
  policies,
}: Deps): express.Router {
  const router = express.Router();

  const knownEvent: RequestHandler = (req, res, next) => {
    const webhook = webhookByEvent(req.params.event ?? "");
    if (!webhook) {
      next(new HttpError(404, "unknown_webhook", `No webhook named ${req.params.event}`));
      return;
    }
    res.locals.webhook = webhook;
    next();
  };

  // Keep the raw bytes aside: ACE looks for a `jwt` field in req.body, and the JSON is only
  // parsed once the request is known to come from an installed tenant.
  const stashBody: RequestHandler = (req, res, next) => {
    res.locals.rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    req.body = {};
    next();
  };

  router.post(
    "/:event",
    knownEvent,
    express.raw({ type: () => true, limit: "1mb" }),
    stashBody,
    authenticate,
    asyncHandler(async (req: Request, res: Response) => {
      const { webhook, rawBody } = res.locals as unknown as WebhookLocals;
      const clientKey = (req as Request & { context?: { clientKey?: unknown } }).context?.clientKey;
      const tenant = typeof clientKey === "string" ? await store.getTenant(clientKey) : null;
      if (!tenant)
        throw new HttpError(401, "unauthenticated", "This site has not installed the app.");

      let facts: ReturnType<typeof parseWebhookBody>;
      try {
        facts = parseWebhookBody(rawBody);
      } catch (error) {
        if (error instanceof PayloadError) throw new HttpError(400, error.code, error.message);
        throw error;
      }
      if (!isTracked(facts, await policies.forTenant(tenant.id))) {
        res.status(204).end();
        return;
      }

      const receivedAt = new Date();
      try {
        await ingestor.submit({
          tenantId: tenant.id,
          accountId: facts.accountId,
          accountType: facts.accountType,
          type: EVENT_TYPES[webhook.type],
          webhook: webhook.code,
          spaceKey: facts.spaceKey,
          contentKey: facts.contentId,
          contentType: facts.contentType,
          title: facts.title,
          occurredAt: occurredAt(facts.timestamp, receivedAt),
          receivedAt,
        });
      } catch (error) {
        if (error instanceof QueueFullError || isStorageUnavailable(error)) {
          logger.warn(
            { event: webhook.event, err: error },
            "webhook not stored: storage unavailable",
          );
          throw new HttpError(
            503,
            "storage_unavailable",
            "The event could not be stored; it was not recorded.",
          );
        }
        throw error;
      }
      res.status(204).end();
    }),
  );

  router.use((req, _res, next) =>
    next(
      new HttpError(
        404,
        "not_found",
        `No route for ${req.method} ${req.originalUrl.split("?")[0]}`,
      ),
    ),
  );
  return router;
}
