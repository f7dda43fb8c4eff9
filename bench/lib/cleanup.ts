/**
 * Cleanup for a benchmark script, on success, failure and signals: stops the load first (the
 * abort signal), so the apps under test can shut down at once, then undoes every registered
 * step in reverse order, once, logging what fails and going on.
 */
export interface Cleanup {
  /** Aborted when cleanup starts: requests in flight stop. */
  readonly signal: AbortSignal;
  /** Registers a step; the last registered runs first. */
  add(fn: () => Promise<void> | void): void;
  /** Runs every step once (later calls wait for the same run). */
  run(): Promise<void>;
}

export function cleanupOnExit(): Cleanup {
  const steps: (() => Promise<void> | void)[] = [];
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= (async () => {
      abort.abort();
      for (const fn of steps.reverse()) {
        try {
          await fn();
        } catch (error) {
          console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return running;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up`);
      run().finally(() => process.exit(130));
    });
  }
  return { signal: abort.signal, add: (fn) => steps.push(fn), run };
}
