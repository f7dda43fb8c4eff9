import * as jwt from "atlassian-jwt";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Addon } from "../connect/addon.js";
import { decodeUnverified, nowSeconds } from "../connect/jwt.js";
import type { KnexStore, Tenant } from "../connect/knex-store.js";
import { isCleanText, MAX_ACCOUNT_ID } from "../text/identifier.js";
import { asyncHandler, HttpError } from "./errors.js";
import { singleToken, type TokenSlot } from "./token-slots.js";

export interface Viewer {
  tenant: Tenant;
  accountId: string;
}

const HEADER_ONLY: readonly TokenSlot[] = ["authorization"];
/** Download links cannot set headers: they carry the token in the URL, and nothing else does. */
const DOWNLOAD: readonly TokenSlot[] = ["authorization", "query.jwt"];
/** The API's downloads (paths under /api). */
const DOWNLOAD_PATHS = new Set(["/reports/users.csv"]);

/**
 * Authenticates the app's own API calls. Exactly one token, in exactly one slot:
 * `Authorization: JWT <token>` (and `?jwt=` on CSV downloads only); a token in any other slot
 * ACE knows (`?acpt`, `X-acpt`, body `jwt`) is refused, so what is verified is what is used.
 * The token is verified here, HS256 with the site's shared secret, and must be one of:
 * - a context token from `AP.context.getToken()`: `iss` = the site, `qsh` = "context-qsh";
 * - a session token this app issued on a page load (ACE): `iss` = the app, `aud` = the site,
 *   no `qsh`.
 * A token signed for one iframe URL (a real `qsh`) is not an API key.
 * https://developer.atlassian.com/cloud/confluence/understanding-jwt/
 */
export function viewerAuth(addon: Addon, store: KnexStore): RequestHandler {
  return asyncHandler(async (req: Request, res: Response, next: NextFunction) => {
    const found = singleToken(req, DOWNLOAD_PATHS.has(req.path) ? DOWNLOAD : HEADER_ONLY);
    if ("problem" in found) throw unauthenticated(found.problem);
    res.locals.viewer = await verifyViewerToken(found.token, addon.descriptor.key, store);
    next();
  });
}

async function verifyViewerToken(token: string, appKey: string, store: KnexStore): Promise<Viewer> {
  const decoded = decodeUnverified(token);
  if (!decoded || decoded.header.alg !== "HS256") throw unauthenticated("The token is malformed.");
  const { claims } = decoded;
  let clientKey: unknown;
  if (claims.qsh === "context-qsh") clientKey = claims.iss;
  else if (claims.qsh === undefined && claims.iss === appKey && Array.isArray(claims.aud)) {
    clientKey = claims.aud[0];
  } else {
    throw unauthenticated("Use a context token (AP.context.getToken()) for the API.");
  }
  if (typeof clientKey !== "string" || clientKey === "" || clientKey.length > 255) {
    throw unauthenticated("The token names no site.");
  }
  const tenant = await store.getTenant(clientKey);
  if (!tenant) throw unauthenticated("This site has not installed the app.");
  try {
    jwt.decodeSymmetric(token, tenant.clientInfo.sharedSecret, jwt.SymmetricAlgorithm.HS256);
  } catch {
    throw unauthenticated("The token's signature is not valid.");
  }
  if (typeof claims.exp !== "number" || claims.exp <= nowSeconds()) {
    throw unauthenticated("The token has expired; reload the page.");
  }
  const accountId = claims.sub;
  if (
    typeof accountId !== "string" ||
    accountId === "" ||
    accountId.length > MAX_ACCOUNT_ID ||
    !isCleanText(accountId)
  ) {
    throw unauthenticated("The token names no user.");
  }
  return { tenant, accountId };
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, "unauthenticated", message);
}

export function viewerOf(res: Response): Viewer {
  return res.locals.viewer as Viewer;
}
