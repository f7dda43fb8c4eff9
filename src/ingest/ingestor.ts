import type { Config } from "../config.js";
import type { Db } from "../db/knex.js";
import { GroupCommitter } from "./group-commit.js";
import { type NewEvent, writeEvents } from "./write-events.js";

export interface Ingestor {
  /**
   * Resolves once the event is committed; rejects with UnstorableEventError when this event
   * (and only it) cannot be stored, or with the storage error that kept it out.
   */
  submit(event: NewEvent): Promise<void>;
  /** Waits for every accepted event to be written. */
  drain(): Promise<void>;
  /** Oldest payload timestamp stored as given, in ms before receipt (WEBHOOK_MAX_EVENT_AGE_H). */
  readonly maxEventAgeMs: number;
}

export function createIngestor(db: Db, config: Config): Ingestor {
  const maxEventAgeMs = config.ingest.maxEventAgeMs;
  if (!config.ingest.store) {
    return { submit: async () => {}, drain: async () => {}, maxEventAgeMs };
  }
  const committer = new GroupCommitter<NewEvent>(
    (batch) => writeEvents(db, batch, { rollups: config.ingest.rollups }),
    {
      maxBatch: config.ingest.batchMax,
      // One flush at a time by default: concurrent flushes contend for the same rollup rows
      // (this quarter-hour, the busiest users), and measured slower than one larger batch.
      maxInFlight: config.database.kind === "pglite" ? 1 : config.ingest.maxInFlight,
      maxQueued: config.ingest.queueMax,
    },
  );
  return {
    submit: (event) => committer.submit(event),
    drain: () => committer.drain(),
    maxEventAgeMs,
  };
}
