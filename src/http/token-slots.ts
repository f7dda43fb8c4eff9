import type { Request, RequestHandler } from "express";
import { HttpError } from "./errors.js";

/**
 * Where a request can carry a JWT. ACE reads all of these (`?jwt`, body `jwt`,
 * `Authorization: JWT`, `?acpt`, `X-acpt`) in its own order of preference, so a check made on
 * one slot can be satisfied by a token in another. Every route of this app names the one slot
 * it reads; a token anywhere else is refused before any verification.
 */
export type TokenSlot = "authorization" | "query.jwt" | "body.jwt" | "query.acpt" | "header.acpt";

export interface FoundToken {
  slot: TokenSlot;
  /** The token text; for `authorization`, null when the header is not `JWT <token>`. */
  token: string | null;
}

/** Every token slot the request fills, in no particular order. */
export function tokensIn(req: Request): FoundToken[] {
  const found: FoundToken[] = [];
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^JWT ([^\s]+)$/.exec(header);
    found.push({ slot: "authorization", token: match?.[1] ?? null });
  }
  const query = req.query as Record<string, unknown>;
  if (query.jwt !== undefined) found.push({ slot: "query.jwt", token: stringOrNull(query.jwt) });
  if (query.acpt !== undefined) {
    found.push({ slot: "query.acpt", token: stringOrNull(query.acpt) });
  }
  if (req.headers["x-acpt"] !== undefined) {
    found.push({ slot: "header.acpt", token: stringOrNull(req.headers["x-acpt"]) });
  }
  const body: unknown = req.body;
  if (typeof body === "object" && body !== null && "jwt" in body) {
    found.push({ slot: "body.jwt", token: stringOrNull((body as { jwt: unknown }).jwt) });
  }
  return found;
}

/**
 * The one token of a request that may only carry it in `allowed` slots, or an explanation of
 * why there is none usable (absent, in another slot, in two slots, or malformed).
 */
export function singleToken(
  req: Request,
  allowed: readonly TokenSlot[],
): { token: string } | { problem: string } {
  const found = tokensIn(req);
  if (found.length === 0) return { problem: "The request carries no token." };
  const stray = found.find((f) => !allowed.includes(f.slot));
  if (stray) {
    return { problem: `A token is accepted only in ${allowed.map(describe).join(" or ")}.` };
  }
  if (found.length > 1) return { problem: "The request carries more than one token." };
  const token = found[0]?.token;
  if (!token || token.length > 8192) return { problem: "The token is malformed." };
  return { token };
}

function describe(slot: TokenSlot): string {
  switch (slot) {
    case "authorization":
      return "the Authorization header (JWT <token>)";
    case "query.jwt":
      return "the jwt query parameter";
    default:
      return slot;
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** Middleware: 401 unless the request's one token sits in one of `allowed` slots. */
export function tokenOnlyIn(allowed: readonly TokenSlot[]): RequestHandler {
  return (req, _res, next) => {
    const found = singleToken(req, allowed);
    next("problem" in found ? new HttpError(401, "unauthenticated", found.problem) : undefined);
  };
}
