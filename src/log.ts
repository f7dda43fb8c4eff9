import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/** Paths that never reach a log line, whatever logs them (the scrubber below is the backstop). */
const REDACT = [
  "sharedSecret",
  "*.sharedSecret",
  "*.*.sharedSecret",
  "req.headers.authorization",
  "headers.authorization",
  "jwt",
  "*.jwt",
];

/** Longest error message and stack kept in a log line: one failure, one bounded line. */
const MAX_MESSAGE = 500;
const MAX_STACK_LINES = 8;
const MAX_TEXT = 4000;

/**
 * The app's logger. Every line it writes passes through `scrub` on its way out, whatever the
 * field or the form a secret took (JSON, escaped JSON, `key=value`, a canonical request, an
 * inspected object, an error message): redaction by path alone misses text that other code
 * (ACE, knex, pg) formatted itself. Errors are logged bounded (no 15 KB SQL statements).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: "[redacted]" },
      base: undefined,
      serializers: { err: boundedError, error: boundedError },
    },
    { write: (line: string) => out.write(scrub(line)) },
  );
}

/** Keys whose values are secrets, in any notation. */
const SECRET_KEY = String.raw`(?:sharedSecret|shared_secret|clientSecret|client_secret|secret|password|passwd|privateKey|private_key|accessToken|access_token|refreshToken|refresh_token|jwt|acpt|token)`;
/**
 * `key`, any quoting (plain, escaped, percent-encoded), a separator (`:`, `=`, `=>`), any
 * quoting again, then the value.
 */
const KEY_VALUE = new RegExp(
  String.raw`((?<![A-Za-z])${SECRET_KEY}(?:\\*["']|%22|%27|&quot;|\\u0022)?\s*(?:=>|:|=|%3A|%3D)\s*(?:\\*["']|%22|%27|&quot;|\\u0022)?)(?!\[redacted)[^\s"'&\\,;}\]]{4,}`,
  "gi",
);
/** A `["key", "value"]` pair (entries of a Map or URLSearchParams, as JSON). */
const KEY_PAIR = new RegExp(String.raw`(\[\s*["']${SECRET_KEY}["']\s*,\s*["'])[^"']+`, "gi");
/**
 * A JWT, whole or its signed part: header and claims are base64url JSON objects, so both
 * start with "eyJ" (which keeps host names such as eyeglasses.atlassian.net out).
 */
const JWT_TEXT = /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?/g;
/** Credentials after an auth scheme, e.g. in a copied header (long, token-shaped only). */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+|%20|\+)(?!\[redacted)[A-Za-z0-9._~+/=-]{16,}/g;

/** Strips secrets and tokens from text, in every form seen from the libraries this app uses. */
export function scrub(text: string): string {
  return text
    .replace(JWT_TEXT, "[redacted-jwt]")
    .replace(AUTH_SCHEME, "$1$2[redacted]")
    .replace(KEY_VALUE, "$1[redacted]")
    .replace(KEY_PAIR, "$1[redacted]");
}

/** An error as a short object: its class, code, first line of message and a few stack frames. */
export function boundedError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    if (typeof error === "object" && error !== null) {
      const e = error as { code?: unknown; message?: unknown };
      return { code: e.code, message: truncate(String(e.message ?? ""), MAX_MESSAGE) };
    }
    return { message: truncate(String(error), MAX_MESSAGE) };
  }
  const e = error as Error & { code?: unknown; status?: unknown; type?: unknown };
  const frames = (e.stack ?? "")
    .split("\n")
    .filter((l) => l.trimStart().startsWith("at "))
    .slice(0, MAX_STACK_LINES)
    .map((l) => l.trim());
  return {
    type: e.name,
    message: truncate(e.message, MAX_MESSAGE),
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(frames.length ? { stack: frames } : {}),
  };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/**
 * The logger ACE is given: ACE logs with console-style arguments, and outside production it
 * prints whole install payloads and canonical requests; each call becomes one bounded line.
 */
export function aceLogger(logger: Logger) {
  const format = (args: unknown[]) =>
    truncate(
      args
        .map((a) =>
          typeof a === "string" ? a : a instanceof Error ? `${a.name}: ${a.message}` : safeJson(a),
        )
        .join(" "),
      MAX_TEXT,
    );
  const child = logger.child({ component: "ace" });
  return {
    debug: (...args: unknown[]) => child.debug(format(args)),
    info: (...args: unknown[]) => child.info(format(args)),
    warn: (...args: unknown[]) => child.warn(format(args)),
    error: (...args: unknown[]) => child.error(format(args)),
    log: (...args: unknown[]) => child.info(format(args)),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
