import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import { ConfluenceError } from "../confluence/client.js";
import { DomainError, type DomainErrorKind, type ErrorDetail, InvalidInput } from "../errors.js";
import type { Logger } from "../log.js";

export type { ErrorDetail };

/**
 * The status of each kind of domain error (src/errors.ts): the one place domain errors meet
 * HTTP. Every kind must have one (the Record makes a new kind a type error until mapped).
 */
const DOMAIN_STATUS: Record<DomainErrorKind, number> = {
  invalid_input: 400,
  upstream_failed: 502,
  unavailable: 503,
};

export function statusFor(error: DomainError): number {
  return DOMAIN_STATUS[error.kind];
}

/**
 * An error of the HTTP layer (authentication, routers, body reading) whose status and code
 * are safe to show the caller; the app's own logic throws src/errors.ts's errors instead.
 * `details`, when given, is answered as `error.details` (one entry per bad value); without it
 * the answer is `{"error": {"code", "message"}}` as always.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  details?: ErrorDetail[],
): void {
  res.status(status).json({ error: details ? { code, message, details } : { code, message } });
}

/** Lets async handlers throw: every rejection goes to the one error handler. */
export function asyncHandler(
  fn: (req: Request, res: Response, next: NextFunction) => Promise<unknown>,
): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}

interface Classified {
  status: number;
  code: string;
  message: string;
  /** Unexpected: log in full at error level. */
  unexpected?: boolean;
  /** A 4xx whose cause the log should keep (bounded), e.g. the database's reason. */
  logCause?: boolean;
  /** Answered as `error.details` (InvalidInput's, HttpError's). */
  details?: ErrorDetail[];
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P03",
  "53300",
]);

export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (e.name === "KnexTimeoutError") return true;
  if (typeof e.code === "string" && UNAVAILABLE_CODES.has(e.code)) return true;
  return (
    typeof e.message === "string" &&
    /Connection terminated|Client has encountered a connection error/.test(e.message)
  );
}

function classify(error: unknown): Classified {
  if (error instanceof DomainError)
    return {
      status: statusFor(error),
      code: error.code,
      message: error.message,
      ...(error instanceof InvalidInput && error.details ? { details: error.details } : {}),
    };
  if (error instanceof HttpError)
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    };
  // Confluence failing the app is never the caller's 4xx (a 401 there would read "reload").
  if (error instanceof ConfluenceError) {
    return {
      status: 503,
      code: "confluence_unavailable",
      message: "Confluence did not answer as expected; try again in a moment.",
      logCause: true,
    };
  }
  // A path parameter that is not percent-encoded UTF-8 (say `%ED%A0%80`): Express cannot
  // decode it and passes a URIError on; the caller's mistake, on every route.
  if (error instanceof URIError) {
    return {
      status: 400,
      code: "invalid_parameter",
      message: "The path is not percent-encoded UTF-8 text.",
    };
  }
  if (typeof error === "object" && error !== null) {
    const e = error as {
      type?: unknown;
      status?: unknown;
      code?: unknown;
      message?: unknown;
      expose?: unknown;
    };
    // body-parser
    if (e.type === "entity.too.large") {
      return {
        status: 413,
        code: "payload_too_large",
        message: "The request body is too large.",
      };
    }
    if (e.type === "entity.parse.failed") {
      return { status: 400, code: "invalid_json", message: "The request body is not valid JSON." };
    }
    // Express and body-parser (http-errors): a 4xx the request caused, e.g. a path parameter
    // that is not valid percent-encoding, an unsupported Content-Encoding, a body cut short.
    if (
      (e.expose === true || typeof e.type === "string") &&
      typeof e.status === "number" &&
      e.status >= 400 &&
      e.status < 500
    ) {
      const text = typeof e.message === "string" ? e.message.slice(0, 200) : "";
      return { status: e.status, code: "bad_request", message: text || "Bad request" };
    }
    // A value PostgreSQL cannot take (SQLSTATE class 22, data exception; 23, integrity): the
    // input's fault. The statement and its values stay in the log line, never in the answer.
    if (typeof e.code === "string" && /^2[23][0-9A-Z]{3}$/.test(e.code)) {
      return {
        status: 400,
        code: "invalid_input",
        message: "The request holds a value that cannot be stored or compared.",
        logCause: true,
      };
    }
    // zlib: a body that claims an encoding it does not have.
    if (typeof e.code === "string" && e.code.startsWith("Z_")) {
      return {
        status: 400,
        code: "invalid_encoding",
        message: "The request body does not match its Content-Encoding.",
      };
    }
    if (isStorageUnavailable(error)) {
      return {
        status: 503,
        code: "storage_unavailable",
        message: "The database is unavailable; try again later.",
      };
    }
    // ACE's authentication middleware (expressErrorHandling) passes { code, message }.
    if (typeof e.code === "number" && typeof e.message === "string") {
      if (e.code === 500 && e.message.startsWith("Could not lookup stored client data")) {
        return {
          status: 503,
          code: "storage_unavailable",
          message: "The database is unavailable; try again later.",
        };
      }
      if (e.code >= 400 && e.code < 500) {
        return { status: 401, code: "unauthenticated", message: authMessage(e.message) };
      }
    }
  }
  return {
    status: 500,
    code: "internal_error",
    message: "Something went wrong on our side.",
    unexpected: true,
  };
}

/** ACE's reason, without the token text some of its messages quote, and bounded. */
function authMessage(message: string): string {
  const reason = message.split(/ for input: | Canonical query was/)[0] ?? "";
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason;
}

/** The one error handler: known errors keep their status and code, unknown ones are hidden. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const c = classify(error);
    // The request id links this line to the request's own line (src/http/request-log.ts).
    const reqId = (req as { id?: unknown }).id;
    const line = { reqId, method: req.method, path: req.path, status: c.status, code: c.code };
    if (c.unexpected) logger.error({ ...line, err: error }, "request failed");
    else if (c.status >= 500) logger.error({ ...line, err: error }, c.message);
    else if (c.logCause) logger.warn({ ...line, err: error }, c.message);
    else logger.warn(line, c.message);
    if (res.headersSent) return;
    // A page loaded in Confluence's iframe gets a page a person can read, not JSON.
    if (req.originalUrl.startsWith("/pages/") && req.accepts(["json", "html"]) === "html") {
      res.status(c.status).render("message", {
        title: c.status === 401 ? "Please reload the page" : "The report could not be shown",
        message:
          c.status === 401
            ? "Your Confluence session for this page has expired or could not be verified. Reload the page to continue."
            : c.message,
      });
      return;
    }
    sendError(res, c.status, c.code, c.message, c.details);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, "not_found", `No route for ${req.method} ${req.path}`));
};
