import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import type { KnexStore } from "../connect/knex-store.js";
import { eventTime, PayloadError, parseWebhookBody } from "../events/payload.js";
import { EVENT_TYPES, type Webhook, webhookByEvent } from "../events/types.js";
import { asyncHandler, HttpError, isStorageUnavailable } from "../http/errors.js";
import { tokenOnlyIn } from "../http/token-slots.js";
import type { Logger } from "../log.js";
import type { TrackingPolicies } from "../settings/tracking-policies.js";
import { QueueFullError } from "./group-commit.js";
import type { Ingestor } from "./ingestor.js";
import { readBody } from "./read-body.js";
import { isTracked } from "./tracking-policy.js";
import { oldestStorable } from "../privacy/horizon.js";
import { UnstorableEventError } from "./write-events.js";

/** Largest webhook body, as received and once decoded. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/**
 * How long an authenticated webhook's body may take to arrive. Confluence posts a few KB at
 * once; a body still arriving after this is a stalled or hostile client holding memory.
 */
export const WEBHOOK_BODY_TIMEOUT_MS = 10_000;

interface Deps {
  policies: TrackingPolicies;
  authenticate: RequestHandler;
  store: KnexStore;
  ingestor: Ingestor;
  logger: Logger;
}

interface WebhookLocals {
  webhook: Webhook;
  tenantId?: number;
}

/**
 * POST /webhooks/:event, one URL per subscribed event (the body names none).
 * known event -> token only in `Authorization: JWT` -> verify (ACE: JWT + qsh, which covers
 * method, path and query but not the body) -> installed tenant -> read the body (1 MB, 10 s)
 * -> validate -> classify -> commit -> answer. Nothing of the body is read before the
 * token is verified, and a refused request that still has a body coming is answered with
 * `Connection: close`. The 204 goes out only after the event's transaction has committed,
 * so an acknowledged event is never lost.
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
      next(
        new HttpError(
          404,
          "unknown_webhook",
          `No webhook named ${(req.params.event ?? "").slice(0, 64)}`,
        ),
      );
      return;
    }
    res.locals.webhook = webhook;
    next();
  };

  // ACE looks for a `jwt` field in req.body: there is none, as the body is not read yet.
  const bodyNotRead: RequestHandler = (req, _res, next) => {
    req.body = {};
    next();
  };

  const installedTenant: RequestHandler = (req, res, next) => {
    const clientKey = (req as Request & { context?: { clientKey?: unknown } }).context?.clientKey;
    (typeof clientKey === "string" ? store.getTenant(clientKey) : Promise.resolve(null)).then(
      (tenant) => {
        if (!tenant) {
          next(new HttpError(401, "unauthenticated", "This site has not installed the app."));
          return;
        }
        (res.locals as WebhookLocals).tenantId = tenant.id;
        next();
      },
      next,
    );
  };

  router.post(
    "/:event",
    knownEvent,
    bodyNotRead,
    tokenOnlyIn(["authorization"]),
    authenticate,
    installedTenant,
    asyncHandler(async (req: Request, res: Response) => {
      const { webhook, tenantId } = res.locals as WebhookLocals;
      if (tenantId === undefined) throw new Error("webhook: no tenant after authentication");
      const rawBody = await readBody(req, {
        limit: WEBHOOK_BODY_LIMIT,
        timeoutMs: WEBHOOK_BODY_TIMEOUT_MS,
      });

      let facts: ReturnType<typeof parseWebhookBody>;
      try {
        facts = parseWebhookBody(rawBody);
      } catch (error) {
        if (error instanceof PayloadError) throw new HttpError(400, error.code, error.message);
        throw error;
      }
      const policy = await policies.forTenant(tenantId);
      if (!isTracked(facts, policy)) {
        res.status(204).end();
        return;
      }

      const receivedAt = new Date();
      const time = eventTime(facts.timestamp, receivedAt, ingestor.maxEventAgeMs);
      const oldest = oldestStorable(policy.retentionDays, receivedAt, policy.historyFrom);
      if (oldest !== null && time.at < oldest) {
        // Older than any day the site's reports may show (its retention period): storing it
        // would change figures nobody can see, and history whose raw events are gone.
        logger.info(
          { event: webhook.event, tenantId, timestamp: facts.timestamp },
          "webhook older than the site's retention period: not stored",
        );
        res.status(204).end();
        return;
      }
      if (time.outOfWindow) {
        logger.warn(
          {
            event: webhook.event,
            tenantId,
            timestamp: facts.timestamp,
            receivedAt: receivedAt.toISOString(),
            maxAgeH: ingestor.maxEventAgeMs / 3_600_000,
          },
          `webhook timestamp out of window (${time.outOfWindow}): stored at receipt time`,
        );
      }
      try {
        await ingestor.submit({
          tenantId,
          accountId: facts.accountId,
          accountType: facts.accountType,
          type: EVENT_TYPES[webhook.type],
          webhook: webhook.code,
          spaceKey: facts.spaceKey,
          contentKey: facts.contentId,
          contentType: facts.contentType,
          title: facts.title,
          occurredAt: time.at,
          receivedAt,
        });
      } catch (error) {
        if (error instanceof UnstorableEventError) {
          logger.warn(
            { event: webhook.event, tenantId, reason: error.message },
            "webhook not stored: its data cannot be stored",
          );
          throw new HttpError(400, "invalid_body", "The event holds data that cannot be stored.");
        }
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
        `No route for ${req.method} ${(req.originalUrl.split("?")[0] ?? "").slice(0, 200)}`,
      ),
    ),
  );

  // A refusal before the body was read: an unauthenticated sender's body is never read, so its
  // connection is closed after the answer; so is a stalled one's (408). An authenticated
  // site's unread rest is discarded and the connection kept.
  const closeUnread: ErrorRequestHandler = (error, req, res, next) => {
    const stalled = error instanceof HttpError && error.status === 408;
    const authenticated = (res.locals as WebhookLocals).tenantId !== undefined;
    if (!req.complete && (stalled || !authenticated) && !res.headersSent) {
      res.setHeader("Connection", "close");
    }
    next(error);
  };
  router.use(closeUnread);
  return router;
}
