import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/** Paths that never reach a log line, whatever logs them. */
const REDACT = [
  "sharedSecret",
  "*.sharedSecret",
  "*.*.sharedSecret",
  "req.headers.authorization",
  "headers.authorization",
  "jwt",
  "*.jwt",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" }, base: undefined },
    destination,
  );
}

/** Strips secrets and tokens from text that other code (ACE) formats before logging. */
export function scrub(text: string): string {
  return text
    .replace(/(sharedSecret['"]?\s*[:=]\s*['"])[^'"]*/g, "$1[redacted]")
    .replace(/(\bJWT\s+|[?&]jwt=)[\w-]+\.[\w-]+\.[\w-]*/g, "$1[redacted]");
}

/**
 * The logger ACE is given: ACE logs with console-style arguments, and outside production it
 * prints whole install payloads, so every argument is formatted and scrubbed first.
 */
export function aceLogger(logger: Logger) {
  const format = (args: unknown[]) =>
    scrub(
      args
        .map((a) =>
          typeof a === "string" ? a : a instanceof Error ? (a.stack ?? a.message) : safeJson(a),
        )
        .join(" "),
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
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
