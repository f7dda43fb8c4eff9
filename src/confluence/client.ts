import type { Logger } from "../log.js";

type HostCallback = (
  err: unknown,
  res: { statusCode: number; headers: Record<string, string | undefined> },
  body: unknown,
) => void;

/** What ACE's HostClient offers (callback style, built on `request`). */
export interface HostClient {
  get(
    options: { url: string; json?: boolean; headers?: Record<string, string> },
    callback: HostCallback,
  ): unknown;
  post(
    options: { url: string; json?: unknown; headers?: Record<string, string> },
    callback: HostCallback,
  ): unknown;
}

export class ConfluenceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ConfluenceResponse<T> {
  status: number;
  headers: Record<string, string | undefined>;
  body: T;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** Seconds or an HTTP date, as Retry-After allows; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * A promise-based REST client for one tenant, signed as the app by ACE (JWT with the shared
 * secret). 429 and 5xx are retried: at least Retry-After when given, otherwise exponential
 * backoff with full jitter.
 * https://developer.atlassian.com/cloud/confluence/rate-limiting/
 */
export class ConfluenceClient {
  constructor(
    private readonly host: HostClient,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  async get<T>(path: string): Promise<ConfluenceResponse<T>> {
    return this.send<T>("get", path);
  }

  async post<T>(path: string, body: unknown): Promise<ConfluenceResponse<T>> {
    return this.send<T>("post", path, body);
  }

  /** GET that must succeed (2xx), answering the body. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.get<T>(path);
    if (res.status < 200 || res.status >= 300) {
      throw new ConfluenceError(res.status, `GET ${path} answered ${res.status}`);
    }
    return res.body;
  }

  private async send<T>(
    method: "get" | "post",
    path: string,
    body?: unknown,
  ): Promise<ConfluenceResponse<T>> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.once<T>(method, path, body);
      if (!RETRYABLE.has(res.status) || attempt >= this.retry.attempts) return res;
      const backoff =
        Math.random() *
        Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      const wait = Math.min(
        this.retry.maxDelayMs,
        Math.max(retryAfterMs(res.headers["retry-after"]) ?? 0, backoff),
      );
      this.logger.warn(
        { path, status: res.status, attempt, waitMs: Math.round(wait) },
        "Confluence asked to retry",
      );
      await this.sleep(wait);
    }
  }

  private once<T>(
    method: "get" | "post",
    path: string,
    body?: unknown,
  ): Promise<ConfluenceResponse<T>> {
    return new Promise((resolve, reject) => {
      const callback = (
        err: unknown,
        res: { statusCode: number; headers: Record<string, string | undefined> },
        resBody: unknown,
      ) => {
        if (err || !res) {
          reject(
            new ConfluenceError(
              0,
              `Confluence unreachable: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
          return;
        }
        let parsed = resBody;
        if (typeof resBody === "string" && resBody !== "") {
          try {
            parsed = JSON.parse(resBody);
          } catch {
            parsed = resBody;
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed as T });
      };
      const headers = { accept: "application/json" };
      if (method === "get") this.host.get({ url: path, json: true, headers }, callback);
      else this.host.post({ url: path, json: body ?? {}, headers }, callback);
    });
  }
}
