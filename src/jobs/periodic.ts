import type { Logger } from "../log.js";

export interface Periodic {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `job` every `intervalMs` (first after `firstDelayMs`), one run at a time: a tick that
 * comes while the previous run is still going is skipped. Failures are logged, not thrown.
 * Timers do not keep the process alive.
 */
export function startPeriodic(
  name: string,
  job: () => Promise<unknown>,
  opts: { intervalMs: number; firstDelayMs: number; logger: Logger },
): Periodic {
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = job()
      .catch((error) => opts.logger.warn({ err: error }, `${name} failed`))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  setTimeout(tick, opts.firstDelayMs).unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
