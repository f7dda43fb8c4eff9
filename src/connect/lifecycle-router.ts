import { createHash } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import type { Db } from "../db/knex.js";
import { asyncHandler, HttpError } from "../http/errors.js";
import { singleToken } from "../http/token-slots.js";
import type { Logger } from "../log.js";
import type { Addon } from "./addon.js";
import { decodeUnverified, nowSeconds } from "./jwt.js";
import type { ClientInfo, KnexStore } from "./knex-store.js";

/**
 * The lifecycle calls, `POST /installed` and `POST /uninstalled` (mounted before ACE's own
 * `/installed`, which it replaces). Confluence signs them RS256 with a key fetched by `kid`.
 * The JWT signs the method and URL, not the body, so on top of ACE's verification:
 * - the token comes from `Authorization: JWT` only, is RS256, names a plain key id (it is
 *   pasted into the key server's URL) and expires within MAX_TOKEN_TTL_S;
 * - each token is used once: tokens are remembered in the database until they expire, so a
 *   captured install cannot be replayed with another body (another secret or base URL);
 * - the body is validated (a 400, never a 500 from a value the database cannot store).
 * Uninstall keeps the site's data, so a reinstall of the same site resumes with its history.
 * https://developer.atlassian.com/cloud/confluence/connect-app-descriptor/#lifecycle
 * https://developer.atlassian.com/cloud/confluence/understanding-jwt/
 */
export function lifecycleRouter(deps: { addon: Addon; store: KnexStore; db: Db; logger: Logger }) {
  const { addon, store, db, logger } = deps;
  const router = express.Router();

  router.post(
    "/installed",
    checkToken,
    lifecycleJson,
    validateBody(installBody),
    addon.verifyInstallation(),
    ourAppKey(addon, logger),
    asyncHandler(async (_req, res) => {
      const info = res.locals.lifecycleBody as ClientInfo;
      await db.transaction(async (trx) => {
        await consumeToken(trx, res);
        await store.saveInstallation(info, info.clientKey, trx);
      });
      store.forget(info.clientKey);
      logger.info({ clientKey: info.clientKey }, "tenant installed");
      res.status(204).end();
    }),
  );

  router.post(
    "/uninstalled",
    checkToken,
    lifecycleJson,
    validateBody(uninstallBody),
    addon.authenticateInstall(),
    asyncHandler(async (_req, res) => {
      const { clientKey } = res.locals.lifecycleBody as { clientKey: string };
      await db.transaction(async (trx) => {
        await consumeToken(trx, res);
        await store.markUninstalled(clientKey, trx);
      });
      store.forget(clientKey);
      logger.info({ clientKey }, "tenant uninstalled");
      res.status(204).end();
    }),
  );
  return router;
}

/**
 * An install for another app key is a deployment mistake (a Forge environment deployed with
 * its own `CONNECT_KEY` but pointed at a server that serves another `APP_KEY`): this server
 * would sign its REST calls with the wrong key. Refused, and said loudly, instead of half-working.
 */
function ourAppKey(addon: Addon, logger: Logger) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const { key, clientKey } = res.locals.lifecycleBody as { key?: string; clientKey: string };
    const ours = addon.descriptor.key;
    if (key === undefined || key === ours) return next();
    logger.warn(
      { clientKey, installKey: key.slice(0, 64), appKey: ours },
      "install refused: it is for another app key (check APP_KEY and the Forge CONNECT_KEY)",
    );
    next(
      new HttpError(
        400,
        "wrong_app_key",
        `This server serves the app key ${ours}; the install is for another key.`,
      ),
    );
  };
}

/** An install body is a few hundred bytes: read only after the token's shape is checked. */
const lifecycleJson = express.json({ limit: "64kb" });

/** Longest lifetime accepted for a lifecycle token (Confluence signs them for 3 minutes). */
export const MAX_TOKEN_TTL_S = 10 * 60;
const CLOCK_SKEW_MARGIN_MS = 10 * 60 * 1000;
/**
 * A key id as the key servers use them (a UUID, or ASAP's `issuer/key`): path segments of
 * letters, digits, `. _ -`; nothing that leaves the key server's folder or changes the URL
 * (no `..`, no empty segment, no `%`, `?`, `#`).
 */
const KEY_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

interface LifecycleLocals {
  tokenHash: Buffer;
  tokenExp: number;
}

function checkToken(req: Request, res: Response, next: NextFunction): void {
  const found = singleToken(req, ["authorization"]);
  if ("problem" in found) return next(unauthenticated(found.problem));
  const decoded = decodeUnverified(found.token);
  if (!decoded || decoded.header.alg !== "RS256") {
    return next(unauthenticated("Lifecycle calls must carry an RS256 JWT signed by Atlassian."));
  }
  const { kid } = decoded.header;
  if (typeof kid !== "string" || kid.length > 256 || !KEY_ID.test(kid) || kid.includes("..")) {
    return next(unauthenticated("The token's key id is not a key id."));
  }
  const { exp } = decoded.claims;
  const now = nowSeconds();
  if (typeof exp !== "number" || !Number.isInteger(exp)) {
    return next(unauthenticated("The token has no expiry."));
  }
  if (exp <= now) return next(unauthenticated("The token has expired."));
  if (exp > now + MAX_TOKEN_TTL_S) {
    return next(unauthenticated("The token expires too far ahead to be a lifecycle token."));
  }
  // The signature's base64url text is malleable (a decoder ignores the unused low bits of its
  // last character): one token has several spellings that all verify. Only the canonical one
  // is accepted, and a token is remembered by what was signed (header and claims).
  const [header = "", claims = "", signature = ""] = found.token.split(".");
  if (Buffer.from(signature, "base64url").toString("base64url") !== signature) {
    return next(unauthenticated("The token's signature is not in canonical form."));
  }
  const locals: LifecycleLocals = {
    tokenHash: createHash("sha256").update(`${header}.${claims}`).digest(),
    tokenExp: exp,
  };
  Object.assign(res.locals, locals);
  next();
}

/** Refuses a token already used; remembers this one until it expires. */
async function consumeToken(trx: Db, res: Response): Promise<void> {
  const { tokenHash, tokenExp } = res.locals as unknown as LifecycleLocals;
  // Kept a margin past `exp`, so an instance whose clock runs behind cannot accept a replay.
  const now = new Date();
  await trx.raw("DELETE FROM lifecycle_token WHERE expires_at < ?", [
    new Date(now.getTime() - CLOCK_SKEW_MARGIN_MS),
  ]);
  const inserted = await trx.raw(
    `INSERT INTO lifecycle_token (token_hash, expires_at) VALUES (?, ?)
     ON CONFLICT (token_hash) DO NOTHING RETURNING 1`,
    [tokenHash, new Date(tokenExp * 1000)],
  );
  if (inserted.rows.length === 0) {
    throw unauthenticated("This lifecycle token was already used.");
  }
}

/** Text a PostgreSQL jsonb can hold: no NUL, no lone surrogate. */
const storable = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.isWellFormed() && !s.includes("\u0000"), "contains characters not allowed");

const installBody = z.looseObject({
  key: storable(255).optional(),
  clientKey: storable(255).min(1),
  sharedSecret: storable(1024).min(1),
  baseUrl: storable(2048).pipe(z.url({ protocol: /^https?$/ })),
  /** Connect on Forge: the Forge installation this Connect install belongs to. */
  installationId: storable(255).min(1).optional(),
});

const uninstallBody = z.looseObject({ clientKey: storable(255).min(1) });

function validateBody(schema: z.ZodType) {
  return (req: Request, res: Response, next: NextFunction) => {
    const result = schema.safeParse(req.body);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue?.path.join(".") || "body";
      return next(new HttpError(400, "invalid_body", `${field}: ${issue?.message ?? "invalid"}`));
    }
    if (!storableJson(req.body, 0)) {
      return next(
        new HttpError(400, "invalid_body", "The body holds values that cannot be stored."),
      );
    }
    res.locals.lifecycleBody = result.data;
    next();
  };
}

/** Every string (keys too) storable in jsonb, and no absurd nesting. */
function storableJson(value: unknown, depth: number): boolean {
  if (depth > 32) return false;
  if (typeof value === "string") return value.isWellFormed() && !value.includes("\u0000");
  if (Array.isArray(value)) return value.every((v) => storableJson(v, depth + 1));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).every(
      ([k, v]) => storableJson(k, depth + 1) && storableJson(v, depth + 1),
    );
  }
  return true;
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, "unauthenticated", message);
}
