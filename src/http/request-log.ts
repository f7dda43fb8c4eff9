import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "../log.js";

/** An incoming X-Request-Id kept as it is: short, and token-like (no spaces, no controls). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
/** Query parameters whose values never reach a line (`?jwt=` on CSV downloads, and the like). */
const SECRET_PARAM = /jwt|token|secret|passw|auth|signature|acpt|cred|session|cookie|api_?key/i;
/** A JWT-looking value, whatever its parameter is called. */
const JWT_VALUE = /eyJ[A-Za-z0-9_-]{4,}\.eyJ/;
/** Longest path and query logged (a hostile 8 KB URL makes a bounded line). */
const MAX_PATH = 512;
const MAX_QUERY = 512;

/** The request id: the caller's X-Request-Id when it is sane, otherwise a new UUID. */
export function requestId(incoming: string | string[] | undefined): string {
  return typeof incoming === "string" && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The request's path and query as logged: the path as sent (percent-encoded, not decoded), and
 * the query with the value of every secret-looking parameter replaced. Both bounded.
 */
export function loggedUrl(url: string): { path: string; query?: string } {
  const q = url.indexOf("?");
  const path = bounded(q < 0 ? url : url.slice(0, q), MAX_PATH);
  if (q < 0 || q === url.length - 1) return { path };
  const params = new URLSearchParams(url.slice(q + 1));
  const kept: string[] = [];
  for (const [name, value] of params) {
    const secret = SECRET_PARAM.test(name) || JWT_VALUE.test(value);
    kept.push(`${encodeURIComponent(name)}=${secret ? "[redacted]" : encodeURIComponent(value)}`);
  }
  return { path, query: bounded(kept.join("&"), MAX_QUERY) };
}

function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The level of a request's line: health checks quiet, failures loud. */
function levelOf(req: IncomingMessage, res: ServerResponse, error?: Error) {
  if (error || res.statusCode >= 500) return "error";
  if (res.statusCode >= 400) return "warn";
  const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "";
  if (path === "/healthz" || path.startsWith("/healthz?")) return "debug";
  return "info";
}

/**
 * One log line per request, written when the answer is sent (or the connection closes first):
 * request id, method, path, query without secrets, status, duration and, once the request is
 * authenticated, the site's clientKey. No header is logged: Authorization, cookies and
 * X-acpt never reach a line. The id is echoed as the `X-Request-Id` response header, and
 * `req.log` logs with it.
 */
export function requestLogging(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger: logger.child({ component: "http" }),
    // Keep the app's serializers (bounded errors); log no req/res objects at all. pino-http
    // still binds the request to a child logger it does not use here: serialize it to nothing,
    // or the redaction's wildcard paths would walk the whole request (and its getters).
    wrapSerializers: false,
    serializers: { req: () => ({}) },
    quietReqLogger: true,
    quietResLogger: true,
    genReqId: (req, res) => {
      const id = requestId(req.headers["x-request-id"]);
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel: levelOf,
    customSuccessMessage: (_req, res) => (res.writableEnded ? "request" : "request aborted"),
    customErrorMessage: (_req, res) => (res.writableEnded ? "request failed" : "request aborted"),
    customSuccessObject: (req, res, val: { responseTime: number }) =>
      requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, _error, val: { responseTime: number }) =>
      requestLine(req, res, val.responseTime),
  });
  return middleware as unknown as RequestHandler;
}

function requestLine(req: IncomingMessage, res: ServerResponse, ms: number) {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "";
  return {
    method: req.method,
    ...loggedUrl(url),
    status: res.statusCode,
    ms,
    ...clientKeyOf(req, res),
  };
}

/** The site, when the request was authenticated (API viewer, or a page ACE verified). */
function clientKeyOf(req: IncomingMessage, res: ServerResponse): { clientKey?: string } {
  const locals = (res as { locals?: { viewer?: { tenant?: { clientKey?: unknown } } } }).locals;
  const context = (req as { context?: { clientKey?: unknown } }).context;
  const clientKey = locals?.viewer?.tenant?.clientKey ?? context?.clientKey;
  return typeof clientKey === "string" ? { clientKey: bounded(clientKey, 255) } : {};
}
