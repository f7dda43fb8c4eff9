/**
 * What every fuzz property shares: how many cases (FUZZ_RUNS), which seed (FUZZ_SEED), the
 * runner that shrinks a failure within a time budget and prints it readably, and the checks of
 * one answer (never 5xx, never over 2 s, a JSON error body when refused).
 */
import fc from "fast-check";
import { type Answer, FuzzApp, LIMIT_MS } from "../support/fuzz-app.js";
import { BACKEND } from "../support/harness.js";

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not ${raw}`);
  return n;
}

/** Cases per route (per property). CI: the default; `npm run fuzz`: more. */
export const FUZZ_RUNS = intFromEnv("FUZZ_RUNS", 2000);
/** Fixed by default so that a failure reproduces; FUZZ_SEED=<n> explores elsewhere. */
export const FUZZ_SEED = intFromEnv("FUZZ_SEED", 20261122);
/** Time spent shrinking one failure before the smallest counterexample so far is reported. */
export const SHRINK_BUDGET_MS = intFromEnv("FUZZ_SHRINK_MS", 30_000);

/** A property's failure, with what was sent and what came back, in words. */
export class FuzzFailure extends Error {
  override name = "FuzzFailure";
}

/** Strings as a reader wants them: escapes visible, long runs and long texts abbreviated. */
export function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : safeJson(value);
  return abbreviate(text);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function abbreviate(text: string, max = 600): string {
  let s = text.replace(/(.{1,12}?)\1{15,}/gs, (run, unit: string) => {
    return `${unit}{×${Math.round(run.length / unit.length)}}`;
  });
  if (s.length > max) s = `${s.slice(0, max - 200)}…(${s.length} chars)…${s.slice(-150)}`;
  return s;
}

let failures: string[] = [];

/** Every property failure of this file, for the summary printed after the last test. */
export function failureSummary(): string[] {
  const out = failures;
  failures = [];
  return out;
}

/**
 * Runs one property for FUZZ_RUNS (or `runs`) cases from FUZZ_SEED. The first failure stops
 * the run; shrinking then goes on for at most SHRINK_BUDGET_MS, and the smallest failing case
 * found is reported with the request that showed it.
 */
export async function checkProperty<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  predicate: (input: T) => Promise<void>,
  opts: { runs?: number } = {},
): Promise<void> {
  const numRuns = opts.runs ?? FUZZ_RUNS;
  let failedAt: number | null = null;
  let cases = 0;
  const t0 = Date.now();
  const details = await fc.check(
    fc.asyncProperty(arb, async (input) => {
      if (failedAt !== null && Date.now() - failedAt > SHRINK_BUDGET_MS) return; // budget spent
      if (failedAt === null) cases++;
      try {
        await predicate(input);
      } catch (error) {
        failedAt ??= Date.now();
        throw error;
      }
    }),
    { seed: FUZZ_SEED, numRuns, endOnFailure: false },
  );
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (!details.failed) {
    console.log(`fuzz ✓ ${name}: ${details.numRuns} cases in ${seconds} s (seed ${FUZZ_SEED})`);
    return;
  }
  const budgetSpent = failedAt !== null && Date.now() - failedAt > SHRINK_BUDGET_MS;
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error);
  const report =
    `${name}: failed at case ${cases} of ${numRuns}, shrunk ${details.numShrinks} times ` +
    `(seed ${FUZZ_SEED}, path ${details.counterexamplePath}, ${seconds} s` +
    `${budgetSpent ? `; shrinking stopped after ${SHRINK_BUDGET_MS} ms: raise FUZZ_SHRINK_MS to go on` : ""})` +
    `\n  ${message}`;
  failures.push(report);
  console.log(`fuzz ✗ ${report}`);
  throw new FuzzFailure(report);
}

/** One request and its answer, for failure messages. */
export function describeExchange(request: string, a: Answer): string {
  const got =
    a.status === 0
      ? `${a.error} (after ${a.ms} ms)`
      : `${a.status} in ${a.ms} ms: ${abbreviate(a.body, 300)}`;
  return `${abbreviate(request, 900)} → ${got}`;
}

/**
 * The properties of every answer: one came (within ABORT_MS of fuzz-app.ts), within LIMIT_MS, not 5xx, and
 * with a JSON error body `{"error":{"code","message"}}` when 4xx. Adds the app's error lines
 * to a 5xx, and replaces the app when it stopped answering.
 */
export async function checkAnswer(
  app: FuzzApp,
  request: string,
  a: Answer,
  opts: { jsonError?: boolean; bodyBytes?: number } = {},
): Promise<void> {
  const fail = async (what: string) => {
    let extra = "";
    if (a.status >= 500) {
      const lines = await app.errorLines();
      if (lines.length) extra = `\n    app log: ${abbreviate(lines.map(errorOf).join(" | "), 700)}`;
    }
    if (a.status === 0 || a.ms > LIMIT_MS) {
      const why = await app.recover();
      if (why) extra += `\n    then ${why}; the app was replaced`;
    }
    throw new FuzzFailure(`${what}: ${describeExchange(request, a)}${extra}`);
  };
  if (a.status === 0 && closedOnOversizeBody(a, opts.bodyBytes) && (await app.healthy())) {
    // Refused unread: the app answers and closes while a body over the limit is still being
    // sent, and fetch reports the broken pipe instead of the answer. Acceptable for a body
    // no sender may send (> BODY_LIMIT); the caller still checks that nothing was stored.
    return;
  }
  if (a.status === 0) {
    return fail(a.error?.startsWith("no answer") ? "no answer" : "the connection failed");
  }
  if (a.status >= 500) return fail("5xx");
  if (a.ms > LIMIT_MS) return fail(`slower than ${LIMIT_MS} ms`);
  if (a.status < 200 || (a.status >= 300 && a.status < 400)) return fail("unexpected status");
  if (a.status >= 400 && opts.jsonError !== false && !isJsonError(a.body)) {
    return fail('a 4xx without the JSON error body {"error":{"code","message"}}');
  }
}

/** The app's limit on webhook and API bodies. */
export const BODY_LIMIT = 1024 * 1024;

function closedOnOversizeBody(a: Answer, bodyBytes: number | undefined): boolean {
  return (
    bodyBytes !== undefined &&
    bodyBytes > BODY_LIMIT &&
    /EPIPE|ECONNRESET|UND_ERR_SOCKET|other side closed/.test(a.error ?? "")
  );
}

function isJsonError(body: string): boolean {
  try {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return typeof j.error?.code === "string" && typeof j.error.message === "string";
  } catch {
    return false;
  }
}

/** The useful part of an error log line: message, error type and message, code. */
function errorOf(line: string): string {
  try {
    const j = JSON.parse(line) as {
      msg?: string;
      path?: string;
      err?: { type?: string; message?: string; code?: string };
    };
    return [j.msg, j.path, j.err?.type, j.err?.code, j.err?.message].filter(Boolean).join(": ");
  } catch {
    return line;
  }
}

/** After a property: the process still answers /healthz (else the app is replaced). */
export async function checkStillHealthy(app: FuzzApp, after: string): Promise<void> {
  if (await app.healthy()) return;
  const why = await app.recover();
  throw new FuzzFailure(
    `after ${after}, /healthz was not answered 200 within ${LIMIT_MS} ms (${why})`,
  );
}

/** Starts the app under fuzz and prints what reproduces this run. */
export async function startFuzzApp(file: string): Promise<FuzzApp> {
  console.log(
    `fuzz ${file}: seed ${FUZZ_SEED} (FUZZ_SEED), ${FUZZ_RUNS} cases per route (FUZZ_RUNS), ` +
      `${BACKEND}; reproduce with FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS}`,
  );
  const t0 = Date.now();
  const app = await FuzzApp.start();
  console.log(`fuzz ${file}: app started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return app;
}
