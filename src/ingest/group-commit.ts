/**
 * Group commit: many concurrent webhooks share one transaction, and each caller's promise
 * settles only when the transaction holding its item has committed (or failed).
 *
 * No timer: an item that arrives while fewer than `maxInFlight` flushes run is flushed at
 * once (lowest latency when idle); items that arrive while the database is busy wait and go
 * together in the next flush (batches grow with load, up to `maxBatch`).
 */
export interface GroupCommitOptions {
  maxBatch: number;
  maxInFlight: number;
  /** Pending items beyond which `submit` refuses at once (back-pressure instead of memory). */
  maxQueued: number;
}

/**
 * Writes a batch; returns exactly one outcome per item, in order (null = committed, else that
 * item's own error). Throwing means nothing was committed: every item gets the error.
 */
export type FlushFn<T> = (items: T[]) => Promise<(Error | null)[]>;

export class QueueFullError extends Error {
  constructor() {
    super("Too many events are waiting to be stored");
  }
}

interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class GroupCommitter<T> {
  private queue: Pending<T>[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flush: FlushFn<T>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Resolves once the item is committed; rejects with the error that kept it out. */
  submit(item: T): Promise<void> {
    if (this.queue.length >= this.options.maxQueued) return Promise.reject(new QueueFullError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or being written (for a clean shutdown). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          for (const wake of this.idleWaiters.splice(0)) wake();
        }
      });
    }
  }

  private async run(batch: Pending<T>[]): Promise<void> {
    let outcomes: (Error | null)[];
    try {
      outcomes = await this.flush(batch.map((p) => p.item));
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      outcomes = batch.map(() => err);
    }
    if (outcomes.length !== batch.length) {
      // A flush must answer for each item: an item without an outcome was not shown to be
      // committed, so nothing in the batch may be acknowledged.
      const err = new Error(
        `group commit: the flush returned ${outcomes.length} outcomes for ${batch.length} items`,
      );
      outcomes = batch.map(() => err);
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome) pending.reject(outcome);
      else pending.resolve();
    });
  }
}
