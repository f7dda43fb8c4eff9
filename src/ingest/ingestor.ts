import type { Config } from "../config.js";
import type { Db } from "../db/knex.js";
import { GroupCommitter } from "./group-commit.js";
import { type NewEvent, writeEvents } from "./write-events.js";

export interface Ingestor {
  /** Resolves once the event is committed. */
  submit(event: NewEvent): Promise<void>;
  /** Waits for every accepted event to be written. */
  drain(): Promise<void>;
}

export function createIngestor(db: Db, config: Config): Ingestor {
  if (!config.ingest.store) {
    return { submit: async () => {}, drain: async () => {} };
  }
  const committer = new GroupCommitter<NewEvent>((batch) => writeEvents(db, batch), {
    maxBatch: config.ingest.batchMax,
    // PGlite has one connection; on PostgreSQL two flushes overlap (one writing, one filling).
    maxInFlight: config.database.kind === "pglite" ? 1 : 2,
    maxQueued: config.ingest.queueMax,
  });
  return {
    submit: (event) => committer.submit(event),
    drain: () => committer.drain(),
  };
}
