import * as jwt from "atlassian-jwt";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Addon } from "../connect/addon.js";
import type { KnexStore, Tenant } from "../connect/knex-store.js";
import { asyncHandler, HttpError } from "./errors.js";

export interface Viewer {
  tenant: Tenant;
  accountId: string;
}

/**
 * Authenticates the app's own API calls: a context token from `AP.context.getToken()`
 * (`Authorization: JWT ...`, or `?jwt=` for download links), HS256 with the site's shared
 * secret, verified by ACE. Only context tokens (qsh "context-qsh") and ACE session tokens
 * (no qsh) are accepted: a token signed for one iframe URL is not an API key.
 * https://developer.atlassian.com/cloud/confluence/understanding-jwt/
 */
export function viewerAuth(addon: Addon, store: KnexStore): RequestHandler[] {
  const checkToken = addon.checkValidToken();
  // ACE warns on every request carrying `tz` (a deprecated iframe parameter that our API
  // uses for the report's zone): hide it from ACE while the token is checked (no qsh here).
  const verify: RequestHandler = (req, res, next) => {
    const { tz } = req.query;
    if (tz === undefined) return checkToken(req, res, next);
    delete req.query.tz;
    checkToken(req, res, (err?: unknown) => {
      req.query.tz = tz;
      next(err);
    });
  };
  const toViewer = asyncHandler(async (req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    const claims = token
      ? (jwt.decodeSymmetric(token, "", jwt.SymmetricAlgorithm.HS256, true) as { qsh?: unknown })
      : {};
    if (claims.qsh !== undefined && claims.qsh !== "context-qsh") {
      throw new HttpError(
        401,
        "unauthenticated",
        "Use a context token (AP.context.getToken()) for the API.",
      );
    }
    const context = (
      req as Request & { context?: { clientKey?: unknown; userAccountId?: unknown } }
    ).context;
    const tenant =
      typeof context?.clientKey === "string" ? await store.getTenant(context.clientKey) : null;
    if (!tenant)
      throw new HttpError(401, "unauthenticated", "This site has not installed the app.");
    if (typeof context?.userAccountId !== "string" || context.userAccountId === "") {
      throw new HttpError(401, "unauthenticated", "The token names no user.");
    }
    res.locals.viewer = { tenant, accountId: context.userAccountId } satisfies Viewer;
    next();
  });
  return [verify, toViewer];
}

function tokenOf(req: Request): string | undefined {
  if (typeof req.query.jwt === "string") return req.query.jwt;
  const header = req.headers.authorization;
  return header?.startsWith("JWT ") ? header.slice(4) : undefined;
}

export function viewerOf(res: Response): Viewer {
  return res.locals.viewer as Viewer;
}
