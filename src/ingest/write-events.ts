import type { Knex } from "knex";
import type { Db } from "../db/knex.js";
import { EVENT_TYPE_NAMES, EVENT_TYPES, type EventTypeCode } from "../events/types.js";
import { lockTenantsShared, unsealForLateEvents } from "../reports/sealing.js";

/** One validated, classified webhook, ready to store. */
export interface NewEvent {
  tenantId: number;
  accountId: string;
  accountType: string;
  type: EventTypeCode;
  webhook: number;
  spaceKey: string | null;
  contentKey: string | null;
  contentType: string | null;
  title: string | null;
  occurredAt: Date;
  receivedAt: Date;
}

export interface WriteOptions {
  /**
   * Maintain the rollups (default). Only the benchmarks turn this off (BENCH_NO_ROLLUPS), to
   * measure what the rollups cost; reports are wrong for events written without them.
   */
  rollups?: boolean;
}

/** Deadlock, serialization failure, and a dictionary key another batch inserted meanwhile. */
const RETRYABLE = new Set(["40P01", "40001", "RACE"]);
const MAX_ATTEMPTS = 4;

class DictionaryRace extends Error {
  readonly code = "RACE";
  constructor() {
    super("a concurrent batch inserted a dictionary key; retrying");
  }
}

/**
 * A row PostgreSQL cannot store as given (a data or integrity error, or text it cannot hold).
 * It is that row's outcome alone; `cause` holds the database's error for the log.
 */
export class UnstorableEventError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The event cannot be stored: ${reason}`, options);
  }
}

/**
 * Stores a batch atomically: dictionary rows (actors, spaces, content), the raw events, the
 * rollups (user_day, site_quarter) and last-active times, in ONE statement of data-modifying
 * CTEs, so a batch costs one round trip between BEGIN and COMMIT whatever its size.
 * Keys are aggregated per batch and sorted (a multi-row upsert may not touch one key twice,
 * and sorted keys keep concurrent batches from deadlocking). A deadlock or a dictionary race is
 * retried.
 *
 * Returns exactly one outcome per event, in order: null (committed) or that event's own error.
 * - A row that cannot be stored (see `unstorable`, or a data error from PostgreSQL) gets an
 *   UnstorableEventError and is never written; it does not fail the rows around it, whatever
 *   their tenant: when the batch fails on data, it is written in halves down to that row.
 * - Any other error (storage unavailable, ...) that fails the whole batch is thrown, as nothing
 *   was written (rows refused up front keep their own error, and the others get it). If it
 *   happens while halves are written, the rows already committed keep null and every row not
 *   yet written gets that error.
 */
export async function writeEvents(
  db: Db,
  events: NewEvent[],
  options: WriteOptions = {},
): Promise<(Error | null)[]> {
  const rollups = options.rollups ?? true;
  const outcomes: (Error | null)[] = events.map(unstorable);
  const writable = events.filter((_, i) => outcomes[i] === null);
  if (writable.length === 0) return outcomes;
  try {
    await writeAtomically(db, writable, rollups);
    return outcomes;
  } catch (error) {
    if (!isDataError(error)) {
      if (writable.length === events.length) throw error;
      // Rows refused up front keep their own error; the others get this one.
      const err = error instanceof Error ? error : new Error(String(error));
      return outcomes.map((o) => o ?? err);
    }
  }
  // The batch failed on data: find the row(s) by halving it, so one bad row among n costs
  // about 2·log2(n) transactions, not n (a hostile row must not multiply the database's work).
  const pending = events.flatMap((_, i) => (outcomes[i] === null ? [i] : []));
  const state: { down: Error | null } = { down: null };
  const mid = pending.length >> 1;
  await writeHalving(db, events, pending.slice(0, mid), outcomes, rollups, state);
  await writeHalving(db, events, pending.slice(mid), outcomes, rollups, state);
  return outcomes;
}

/**
 * Writes the events at `indices` in one transaction; on a data error, each half again, down
 * to single rows, whose data error is their own outcome. Once storage fails, every row not
 * yet written gets that error (rows already committed keep null).
 */
async function writeHalving(
  db: Db,
  events: NewEvent[],
  indices: number[],
  outcomes: (Error | null)[],
  rollups: boolean,
  state: { down: Error | null },
): Promise<void> {
  if (indices.length === 0) return;
  if (state.down) {
    for (const i of indices) outcomes[i] = state.down;
    return;
  }
  try {
    await writeAtomically(
      db,
      indices.map((i) => events[i] as NewEvent),
      rollups,
    );
    return;
  } catch (error) {
    if (!isDataError(error)) {
      state.down = error instanceof Error ? error : new Error(String(error));
      for (const i of indices) outcomes[i] = state.down;
      return;
    }
    if (indices.length === 1) {
      outcomes[indices[0] as number] = new UnstorableEventError(dataErrorReason(error), {
        cause: error,
      });
      return;
    }
  }
  const mid = indices.length >> 1;
  await writeHalving(db, events, indices.slice(0, mid), outcomes, rollups, state);
  await writeHalving(db, events, indices.slice(mid), outcomes, rollups, state);
}

function writeAtomically(db: Db, events: NewEvent[], rollups: boolean): Promise<void> {
  return withRetry(() => db.transaction((trx) => writeBatch(trx, events, rollups)));
}

/**
 * What is known before asking the database: NUL and lone surrogates in text (PostgreSQL's
 * JSON input refuses both escapes) and dates that are not dates. The webhook door repairs or
 * refuses these already; this keeps any other caller from failing a batch with them.
 */
function unstorable(event: NewEvent): UnstorableEventError | null {
  const texts = [
    event.accountId,
    event.accountType,
    event.spaceKey,
    event.contentKey,
    event.contentType,
    event.title,
  ];
  for (const text of texts) {
    if (text !== null && (text.includes("\u0000") || !text.isWellFormed())) {
      return new UnstorableEventError("a text holds NUL or an invalid UTF-16 sequence");
    }
  }
  for (const date of [event.occurredAt, event.receivedAt]) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      return new UnstorableEventError("a time is not a valid date");
    }
  }
  return null;
}

/** A short reason for the log and the caller: SQLSTATE and the database's first line. */
function dataErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n")[0] ?? "";
  // The statement text prefixes pg's messages ("WITH input AS ... - <reason>"): keep the reason.
  const reason = line.includes(" - ") ? line.slice(line.lastIndexOf(" - ") + 3) : line;
  return `${sqlState(error) ?? "data error"}: ${reason.slice(0, 200)}`;
}

async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(sqlState(error) ?? "")) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

function sqlState(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation): the row, not the server. */
function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}

async function writeBatch(
  trx: Knex.Transaction,
  events: NewEvent[],
  rollups: boolean,
): Promise<void> {
  // Sealed report periods must not miss an event (see reports/sealing.ts): every batch holds
  // the sealer off its sites until it commits, and reopens what its events fall in. Decided
  // by the data (event times against each zone's sealed_until), never by comparing clocks
  // of different machines.
  const earliest = new Map<number, Date>();
  for (const e of events) {
    const seen = earliest.get(e.tenantId);
    if (!seen || e.occurredAt < seen) earliest.set(e.tenantId, e.occurredAt);
  }
  await lockTenantsShared(trx, [...earliest.keys()]);
  await unsealForLateEvents(trx, earliest);

  const rows = events.map((e) => ({
    tenant_id: e.tenantId,
    account_id: e.accountId,
    account_type: e.accountType,
    type: e.type,
    webhook: e.webhook,
    space_key: e.spaceKey,
    content_key: e.contentKey,
    content_type: e.contentType,
    title: e.title,
    occurred_at: e.occurredAt.toISOString(),
    received_at: e.receivedAt.toISOString(),
  }));
  // A named statement: PostgreSQL parses and plans it once per connection, not per batch.
  const result = await trx
    .raw(rollups ? WRITE_SQL : WRITE_SQL_NO_ROLLUPS, [JSON.stringify(rows)])
    .options({ name: rollups ? "ingest_batch_v1" : "ingest_batch_no_rollups_v1" });
  const check = result.rows[0] as { stored: number; unresolved: number };
  if (Number(check.unresolved) > 0 || Number(check.stored) !== events.length) {
    throw new DictionaryRace();
  }
}

const COUNT_COLUMNS = EVENT_TYPE_NAMES.map((t) => `n_${t}`);
const TYPE_COUNTS = EVENT_TYPE_NAMES.map(
  (t) => `count(*) FILTER (WHERE type = ${EVENT_TYPES[t]})::int`,
).join(", ");

/**
 * Dictionaries: rows that exist are read first, so identity values are drawn only for really
 * new keys. A key another batch inserts meanwhile is invisible to this statement's snapshot;
 * the final SELECT counts such keys (`unresolved`) and the batch is retried.
 */
const DICTIONARIES = `
  input AS (
    SELECT * FROM json_to_recordset(?::json) AS t(tenant_id integer, account_id text,
      account_type text, type smallint, webhook smallint, space_key text, content_key text,
      content_type text, title text, occurred_at timestamptz, received_at timestamptz)
  ),
  a_in AS (
    SELECT tenant_id, account_id, min(account_type) AS account_type, max(occurred_at) AS last_at
    FROM input GROUP BY tenant_id, account_id
  ),
  a_old AS (
    SELECT d.tenant_id, d.id, d.account_id FROM actor d
    JOIN a_in i ON d.tenant_id = i.tenant_id AND d.account_id = i.account_id COLLATE "C"
  ),
  a_new AS (
    INSERT INTO actor (tenant_id, account_id, account_type, last_active_at)
    SELECT i.tenant_id, i.account_id, i.account_type, i.last_at FROM a_in i
    WHERE NOT EXISTS (SELECT 1 FROM a_old o WHERE o.tenant_id = i.tenant_id AND o.account_id = i.account_id)
    ORDER BY i.tenant_id, i.account_id
    ON CONFLICT (tenant_id, account_id) DO NOTHING
    RETURNING tenant_id, id, account_id
  ),
  a_ids AS (SELECT * FROM a_old UNION ALL SELECT * FROM a_new),
  s_in AS (
    SELECT DISTINCT tenant_id, space_key FROM input WHERE space_key IS NOT NULL
  ),
  s_old AS (
    SELECT d.tenant_id, d.id, d.space_key FROM space d
    JOIN s_in i ON d.tenant_id = i.tenant_id AND d.space_key = i.space_key COLLATE "C"
  ),
  s_new AS (
    INSERT INTO space (tenant_id, space_key)
    SELECT i.tenant_id, i.space_key FROM s_in i
    WHERE NOT EXISTS (SELECT 1 FROM s_old o WHERE o.tenant_id = i.tenant_id AND o.space_key = i.space_key)
    ORDER BY i.tenant_id, i.space_key
    ON CONFLICT (tenant_id, space_key) DO NOTHING
    RETURNING tenant_id, id, space_key
  ),
  s_ids AS (SELECT * FROM s_old UNION ALL SELECT * FROM s_new),
  c_in AS (
    -- The latest title, type and space seen for each piece of content in the batch.
    SELECT DISTINCT ON (i.tenant_id, i.content_key) i.tenant_id, i.content_key, i.content_type,
      i.title, s.id AS space_id
    FROM input i
    LEFT JOIN s_ids s ON s.tenant_id = i.tenant_id AND s.space_key = i.space_key
    WHERE i.content_key IS NOT NULL
    ORDER BY i.tenant_id, i.content_key, i.occurred_at DESC
  ),
  c_old AS (
    SELECT d.tenant_id, d.id, d.content_key, d.content_type, d.title, d.space_id FROM content d
    JOIN c_in i ON d.tenant_id = i.tenant_id AND d.content_key = i.content_key COLLATE "C"
  ),
  c_changed AS (
    UPDATE content c SET
      content_type = coalesce(i.content_type, c.content_type),
      title = coalesce(i.title, c.title),
      space_id = coalesce(i.space_id, c.space_id),
      updated_at = now()
    FROM c_in i
    WHERE c.tenant_id = i.tenant_id AND c.content_key = i.content_key COLLATE "C"
      AND (c.content_type, c.title, c.space_id) IS DISTINCT FROM
          (coalesce(i.content_type, c.content_type), coalesce(i.title, c.title),
           coalesce(i.space_id, c.space_id))
    RETURNING c.id
  ),
  c_new AS (
    INSERT INTO content (tenant_id, content_key, content_type, title, space_id)
    SELECT i.tenant_id, i.content_key, i.content_type, i.title, i.space_id FROM c_in i
    WHERE NOT EXISTS (SELECT 1 FROM c_old o WHERE o.tenant_id = i.tenant_id AND o.content_key = i.content_key)
    ORDER BY i.tenant_id, i.content_key
    ON CONFLICT (tenant_id, content_key) DO NOTHING
    RETURNING tenant_id, id, content_key
  ),
  c_ids AS (
    SELECT tenant_id, id, content_key FROM c_old UNION ALL SELECT * FROM c_new
  ),
  ev AS (
    INSERT INTO event (tenant_id, occurred_at, received_at, actor_id, type, webhook, space_id,
      content_id)
    SELECT i.tenant_id, i.occurred_at, i.received_at, a.id, i.type, i.webhook, s.id, c.id
    FROM input i
    JOIN a_ids a ON a.tenant_id = i.tenant_id AND a.account_id = i.account_id
    LEFT JOIN s_ids s ON s.tenant_id = i.tenant_id AND s.space_key = i.space_key
    LEFT JOIN c_ids c ON c.tenant_id = i.tenant_id AND c.content_key = i.content_key
    WHERE (i.space_key IS NULL OR s.id IS NOT NULL)
      AND (i.content_key IS NULL OR c.id IS NOT NULL)
    RETURNING tenant_id, occurred_at, actor_id, type, space_id
  )`;

/**
 * Rollups from the rows just inserted: per user and UTC day (counts by type, and a bit per
 * quarter-hour with activity), site-wide per quarter-hour and type, and last-active times.
 * Actors created by this statement got their last-active time on insert (a statement cannot
 * update a row it inserted).
 */
const ROLLUPS = `,
  ev_q AS (
    SELECT tenant_id, actor_id, type, space_id, occurred_at,
      (occurred_at AT TIME ZONE 'UTC')::date AS day,
      ((floor(extract(epoch FROM occurred_at))::bigint % 86400) / 900)::int AS quarter,
      to_timestamp(floor(extract(epoch FROM occurred_at) / 900) * 900) AS bucket
    FROM ev
  ),
  ud AS (
    INSERT INTO user_day (tenant_id, actor_id, day, quarters, ${COUNT_COLUMNS.join(", ")})
    SELECT tenant_id, actor_id, day, bit_or(('1' || repeat('0', 95))::bit(96) >> quarter),
      ${TYPE_COUNTS}
    FROM ev_q GROUP BY tenant_id, actor_id, day ORDER BY tenant_id, actor_id, day
    ON CONFLICT (tenant_id, actor_id, day) DO UPDATE SET
      quarters = user_day.quarters | EXCLUDED.quarters,
      ${COUNT_COLUMNS.map((c) => `${c} = user_day.${c} + EXCLUDED.${c}`).join(", ")}
  ),
  sq AS (
    INSERT INTO site_quarter (tenant_id, bucket, type, events)
    SELECT tenant_id, bucket, type, count(*)::int FROM ev_q
    GROUP BY tenant_id, bucket, type ORDER BY tenant_id, bucket, type
    ON CONFLICT (tenant_id, bucket, type) DO UPDATE SET
      events = site_quarter.events + EXCLUDED.events
  ),
  la AS (
    UPDATE actor a SET last_active_at = m.at
    FROM (SELECT o.tenant_id, o.id, i.last_at AS at FROM a_old o
          JOIN a_in i ON i.tenant_id = o.tenant_id AND i.account_id = o.account_id
          ORDER BY o.tenant_id, o.id) m
    WHERE a.tenant_id = m.tenant_id AND a.id = m.id
      AND (a.last_active_at IS NULL OR a.last_active_at < m.at)
  ),
  sa AS (
    INSERT INTO space_actor (tenant_id, space_id, actor_id, last_active_at)
    SELECT tenant_id, space_id, actor_id, max(occurred_at) FROM ev_q
    WHERE space_id IS NOT NULL
    GROUP BY tenant_id, space_id, actor_id ORDER BY tenant_id, space_id, actor_id
    ON CONFLICT (tenant_id, space_id, actor_id) DO UPDATE SET
      last_active_at = greatest(space_actor.last_active_at, EXCLUDED.last_active_at)
  )`;

const CHECK = `
  SELECT (SELECT count(*) FROM ev)::int AS stored,
    ((SELECT count(*) FROM a_in) - (SELECT count(*) FROM a_ids))::int
    + ((SELECT count(*) FROM s_in) - (SELECT count(*) FROM s_ids))::int
    + ((SELECT count(*) FROM c_in) - (SELECT count(*) FROM c_ids))::int AS unresolved`;

const WRITE_SQL = `WITH ${DICTIONARIES}${ROLLUPS}${CHECK}`;
const WRITE_SQL_NO_ROLLUPS = `WITH ${DICTIONARIES}${CHECK}`;
