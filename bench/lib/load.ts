import http from "node:http";
import type { BenchRequest } from "./workload.js";

/** Hands out one token per webhook path, re-signed well before its 3-minute expiry. */
export class TokenCache {
  private readonly tokens = new Map<string, string>();
  private signedAt = 0;

  constructor(
    private readonly paths: readonly string[],
    private readonly sign: (path: string) => string,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** Re-signs every path if the tokens are getting old; call between batches, not per request. */
  refresh(now = Date.now()): void {
    if (now - this.signedAt < this.maxAgeMs) return;
    for (const path of this.paths) this.tokens.set(path, `JWT ${this.sign(path)}`);
    this.signedAt = now;
  }

  get(path: string): string {
    const token = this.tokens.get(path);
    if (token === undefined) throw new Error(`no token for ${path}`);
    return token;
  }
}

export interface LoadResult {
  /** Requests answered 204. */
  ok: number;
  /** Everything else, by status ("ERR <code>" for transport errors). */
  errors: Map<string, number>;
  /** A few error bodies, to tell what went wrong. */
  errorSamples: string[];
  durationMs: number;
  /** Latency of every request answered 204, sorted ascending (ms). */
  latencies: Float64Array;
}

export interface LoadOptions {
  host: string;
  port: number;
  agent: http.Agent;
  requests: readonly BenchRequest[];
  concurrency: number;
  tokens: TokenCache;
  /** Once aborted, no new request is sent; the run ends when those in flight have settled. */
  signal?: AbortSignal;
}

export function keepAliveAgent(concurrency: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

/**
 * Sends every request once, `concurrency` at a time, over keep-alive connections. Bodies are
 * pre-serialised Buffers and tokens pre-signed, so the generator spends its CPU on HTTP only.
 */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { host, port, agent, requests, concurrency, tokens, signal } = opts;
  const latencies = new Float64Array(requests.length);
  const errors = new Map<string, number>();
  const errorSamples: string[] = [];
  let ok = 0;
  let next = 0;
  let done = 0;
  tokens.refresh();
  const started = performance.now();

  return new Promise<LoadResult>((resolve) => {
    const countError = (key: string, sample?: string) => {
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (sample !== undefined && errorSamples.length < 5) errorSamples.push(`${key}: ${sample}`);
    };
    let inFlight = 0;
    const finish = () => {
      done++;
      inFlight--;
      if (done === requests.length || (signal?.aborted && inFlight === 0)) {
        const durationMs = performance.now() - started;
        const measured = latencies.slice(0, ok).sort();
        resolve({ ok, errors, errorSamples, durationMs, latencies: measured });
        return;
      }
      send();
    };
    const send = () => {
      if (next >= requests.length || signal?.aborted) return;
      const r = requests[next++];
      if (r === undefined) return;
      if ((next & 255) === 0) tokens.refresh();
      inFlight++;
      const t0 = performance.now();
      let settled = false;
      const settle = (error?: { key: string; sample: string }) => {
        if (settled) return;
        settled = true;
        if (error) countError(error.key, error.sample);
        else latencies[ok++] = performance.now() - t0;
        finish();
      };
      const req = http.request(
        {
          host,
          port,
          method: "POST",
          path: r.path,
          agent,
          headers: {
            authorization: tokens.get(r.path),
            "content-type": "application/json",
            "content-length": r.contentLength,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 204) {
            res.resume();
            res.once("end", () => settle());
            return;
          }
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.once("end", () =>
            settle({
              key: String(status),
              sample: Buffer.concat(chunks).toString("utf8").slice(0, 300),
            }),
          );
        },
      );
      req.once("error", (error: NodeJS.ErrnoException) =>
        settle({ key: `ERR ${error.code ?? error.message}`, sample: error.message }),
      );
      req.end(r.body);
    };
    if (requests.length === 0 || signal?.aborted) {
      resolve({ ok, errors, errorSamples, durationMs: 0, latencies: new Float64Array(0) });
      return;
    }
    for (let i = 0; i < Math.min(concurrency, requests.length); i++) send();
  });
}
