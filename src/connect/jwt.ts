/**
 * Reads a JWT's header and claims WITHOUT verifying it, to decide how to verify it (which
 * site's secret, which key id). Returns null for anything that is not three base64url segments
 * of JSON objects. Never throws: a malformed token is the caller's 401, not a 500.
 */
export interface UnverifiedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

export function decodeUnverified(token: string): UnverifiedJwt | null {
  if (token.length > 8192) return null;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) return null;
  const header = jsonObject(parts[0] as string);
  const claims = jsonObject(parts[1] as string);
  return header && claims ? { header, claims } : null;
}

function jsonObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Seconds since the epoch, as JWT `exp` and `iat` count. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
