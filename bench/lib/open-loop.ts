import { readFileSync } from "node:fs";
import http from "node:http";

/** One request of a mixed workload: a webhook or a report read. */
export interface MixedRequest {
  /** What it is, for per-kind figures ("webhook", "users", "users.csv", ...). */
  kind: string;
  method: "GET" | "POST";
  path: string;
  /** The Authorization header, signed by the caller (tokens are cached, not signed per call). */
  authorization: string;
  /** POST body, pre-serialised JSON. */
  body?: Buffer;
}

export interface KindFigures {
  /** Requests answered 2xx. */
  ok: number;
  /** Latency of each 2xx answer, ascending (ms, from the request's scheduled start). */
  latencies: Float64Array;
  /** Everything else, by status ("ERR <code>" for transport errors). */
  errors: Map<string, number>;
}

export interface OpenLoopResult {
  /** The scheduling window (ms): requests were started at `rate` during it. */
  windowMs: number;
  /** From the first request to the last answer (ms). */
  durationMs: number;
  kinds: Map<string, KindFigures>;
  /** Requests not sent because `maxOutstanding` were already waiting: the app fell behind. */
  dropped: number;
  /** A few error answers, to tell what went wrong. */
  errorSamples: string[];
}

export interface OpenLoopOptions {
  host: string;
  port: number;
  agent: http.Agent;
  /** Requests started per second, evenly spaced, whatever the answers take (open loop). */
  rate: number;
  durationMs: number;
  next: () => MixedRequest;
  /** Beyond this many unanswered requests, new ones are dropped (and counted) instead. */
  maxOutstanding: number;
  /** Per-request timeout (ms); a timed-out request counts as an error. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Open-loop load: requests start on a fixed schedule (`rate` per second) and each latency is
 * measured from the moment the request was due, not from when a connection was free, so a
 * stalled app shows in the percentiles instead of quietly slowing the generator down
 * ("coordinated omission"). Connections are keep-alive, from `agent`.
 */
export function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const { host, port, agent, rate, durationMs, next, maxOutstanding, signal } = opts;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const latencies = new Map<string, number[]>();
  const errors = new Map<string, Map<string, number>>();
  const errorSamples: string[] = [];
  let dropped = 0;
  let outstanding = 0;
  let scheduled = 0;
  let scheduling = true;
  const started = performance.now();
  let lastAnswer = started;

  return new Promise<OpenLoopResult>((resolve) => {
    const finishIfDone = () => {
      if (scheduling || outstanding > 0) return;
      const kinds = new Map<string, KindFigures>();
      for (const kind of new Set([...latencies.keys(), ...errors.keys()])) {
        const values = latencies.get(kind) ?? [];
        kinds.set(kind, {
          ok: values.length,
          latencies: Float64Array.from(values).sort(),
          errors: errors.get(kind) ?? new Map(),
        });
      }
      resolve({
        windowMs: durationMs,
        durationMs: lastAnswer - started,
        kinds,
        dropped,
        errorSamples,
      });
    };
    const countError = (kind: string, key: string, sample: string) => {
      const byKey = errors.get(kind) ?? new Map<string, number>();
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
      errors.set(kind, byKey);
      if (errorSamples.length < 8) errorSamples.push(`${kind} ${key}: ${sample}`);
    };
    const send = (r: MixedRequest, due: number) => {
      outstanding++;
      let settled = false;
      const settle = (error?: { key: string; sample: string }) => {
        if (settled) return;
        settled = true;
        outstanding--;
        lastAnswer = performance.now();
        if (error) countError(r.kind, error.key, error.sample);
        else {
          const list = latencies.get(r.kind) ?? [];
          list.push(lastAnswer - due);
          latencies.set(r.kind, list);
        }
        finishIfDone();
      };
      const headers: http.OutgoingHttpHeaders = { authorization: r.authorization };
      if (r.body) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(r.body.length);
      }
      const req = http.request(
        { host, port, method: r.method, path: r.path, agent, headers, timeout: timeoutMs },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.once("end", () => settle());
            res.once("error", (e) => settle({ key: "ERR response", sample: e.message }));
            return;
          }
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.once("end", () =>
            settle({
              key: String(status),
              sample: `${r.method} ${r.path.slice(0, 80)} ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`,
            }),
          );
        },
      );
      req.once("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.once("error", (e: NodeJS.ErrnoException) =>
        settle({ key: `ERR ${e.code ?? "timeout"}`, sample: e.message }),
      );
      req.end(r.body);
    };
    const intervalMs = 1000 / rate;
    const tick = () => {
      const now = performance.now();
      const elapsed = now - started;
      const due = Math.min(
        Math.floor(elapsed / intervalMs) + 1,
        Math.ceil(durationMs / intervalMs),
      );
      while (scheduled < due) {
        const dueAt = started + scheduled * intervalMs;
        scheduled++;
        if (outstanding >= maxOutstanding) {
          dropped++;
          continue;
        }
        send(next(), dueAt);
      }
      if (elapsed >= durationMs || signal?.aborted) {
        clearInterval(timer);
        scheduling = false;
        finishIfDone();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
}

/** Resident and peak resident memory of a process (MB), from /proc/<pid>/status (Linux). */
export function processMemoryMb(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) =>
      Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1]);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}
