import type { Knex } from "knex";
import type { Db } from "../db/knex.js";
import { EVENT_TYPE_NAMES, type EventTypeCode, typeFromCode } from "../events/types.js";
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

const QUARTER_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const RETRYABLE = new Set(["40P01", "40001"]); // deadlock, serialization failure
const MAX_ATTEMPTS = 3;

/**
 * Stores a batch in one transaction: dictionary rows (actors, spaces, content), the raw events,
 * and the two rollups, aggregated per batch with keys sorted (a multi-row upsert may not touch
 * one key twice, and sorted keys keep concurrent batches from deadlocking).
 * A deadlock is retried; a data error that only one row causes fails that row alone.
 */
export async function writeEvents(
  db: Db,
  events: NewEvent[],
  options: WriteOptions = {},
): Promise<(Error | null)[]> {
  try {
    await withRetry(() =>
      db.transaction((trx) => writeBatch(trx, events, options.rollups ?? true)),
    );
    return events.map(() => null);
  } catch (error) {
    if (events.length > 1 && isDataError(error)) {
      const outcomes: (Error | null)[] = [];
      for (const event of events)
        outcomes.push((await writeEvents(db, [event], options))[0] ?? null);
      return outcomes;
    }
    throw error;
  }
}

export interface WriteOptions {
  /**
   * Maintain the rollups (default). Only the reports benchmark turns this off, to measure what
   * the rollups cost; reports are wrong for events written without them.
   */
  rollups?: boolean;
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

const key = (tenantId: number, text: string) => `${tenantId}\u0000${text}`;

async function writeBatch(
  trx: Knex.Transaction,
  events: NewEvent[],
  rollups: boolean,
): Promise<void> {
  // Sealed report days must not miss an event: hold the sealer off, and reopen sealed days
  // this batch adds to (see reports/sealing.ts).
  const earliest = new Map<number, Date>();
  for (const e of events) {
    const seen = earliest.get(e.tenantId);
    if (!seen || e.occurredAt < seen) earliest.set(e.tenantId, e.occurredAt);
  }
  await lockTenantsShared(trx, [...earliest.keys()]);
  await unsealForLateEvents(trx, earliest);
  const actorIds = await upsertActors(trx, events);
  const spaceIds = await upsertSpaces(trx, events);
  const contentIds = await upsertContent(trx, events, spaceIds);

  const rows = events.map((e) => ({
    tenant_id: e.tenantId,
    occurred_at: e.occurredAt.toISOString(),
    received_at: e.receivedAt.toISOString(),
    actor_id: mustGet(actorIds, key(e.tenantId, e.accountId)),
    type: e.type,
    webhook: e.webhook,
    space_id: e.spaceKey === null ? null : mustGet(spaceIds, key(e.tenantId, e.spaceKey)),
    content_id: e.contentKey === null ? null : mustGet(contentIds, key(e.tenantId, e.contentKey)),
  }));
  await trx.raw(
    `INSERT INTO event (tenant_id, occurred_at, received_at, actor_id, type, webhook, space_id,
                        content_id)
     SELECT * FROM json_to_recordset(?::json) AS t(tenant_id integer, occurred_at timestamptz,
       received_at timestamptz, actor_id integer, type smallint, webhook smallint,
       space_id integer, content_id integer)`,
    [JSON.stringify(rows)],
  );

  if (!rollups) return;
  await upsertUserDays(trx, rows);
  await upsertSiteQuarters(trx, rows);
  await updateLastActive(trx, rows);
}

/** Latest event per actor (site-wide) and per actor and space, kept at ingestion. */
async function updateLastActive(trx: Knex.Transaction, rows: StoredEventRow[]): Promise<void> {
  const perActor = new Map<string, { tenant_id: number; actor_id: number; at: string }>();
  const perSpace = new Map<
    string,
    { tenant_id: number; space_id: number; actor_id: number; at: string }
  >();
  for (const r of rows) {
    const k = `${r.tenant_id}|${r.actor_id}`;
    const seen = perActor.get(k);
    if (!seen || seen.at < r.occurred_at) {
      perActor.set(k, { tenant_id: r.tenant_id, actor_id: r.actor_id, at: r.occurred_at });
    }
    if (r.space_id !== null) {
      const ks = `${k}|${r.space_id}`;
      const s = perSpace.get(ks);
      if (!s || s.at < r.occurred_at) {
        perSpace.set(ks, {
          tenant_id: r.tenant_id,
          space_id: r.space_id,
          actor_id: r.actor_id,
          at: r.occurred_at,
        });
      }
    }
  }
  const actors = [...perActor.values()].sort(
    (a, b) => a.tenant_id - b.tenant_id || a.actor_id - b.actor_id,
  );
  await trx.raw(
    `UPDATE actor a SET last_active_at = v.at
     FROM json_to_recordset(?::json) AS v(tenant_id integer, actor_id integer, at timestamptz)
     WHERE a.tenant_id = v.tenant_id AND a.id = v.actor_id
       AND (a.last_active_at IS NULL OR a.last_active_at < v.at)`,
    [JSON.stringify(actors)],
  );
  if (perSpace.size === 0) return;
  const spaces = [...perSpace.values()].sort(
    (a, b) => a.tenant_id - b.tenant_id || a.space_id - b.space_id || a.actor_id - b.actor_id,
  );
  await trx.raw(
    `INSERT INTO space_actor (tenant_id, space_id, actor_id, last_active_at)
     SELECT tenant_id, space_id, actor_id, at
     FROM json_to_recordset(?::json) AS v(tenant_id integer, space_id integer, actor_id integer,
       at timestamptz)
     ON CONFLICT (tenant_id, space_id, actor_id) DO UPDATE SET
       last_active_at = greatest(space_actor.last_active_at, EXCLUDED.last_active_at)`,
    [JSON.stringify(spaces)],
  );
}

function mustGet(map: Map<string, number>, k: string): number {
  const id = map.get(k);
  if (id === undefined) throw new Error(`dictionary id missing for ${k.replace("\u0000", ":")}`);
  return id;
}

/**
 * Looks up ids for (tenant, natural key) pairs, inserting the new ones. Existing rows are read
 * first so that identity values are only drawn for rows that are really new.
 */
async function resolveIds(
  trx: Knex.Transaction,
  table: "actor" | "space",
  column: "account_id" | "space_key",
  input: { tenant_id: number; nkey: string; extra?: Record<string, string> }[],
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  if (input.length === 0) return ids;
  const extraCols = table === "actor" ? ", account_type" : "";
  const extraDefs = table === "actor" ? ", account_type text" : "";
  const json = JSON.stringify(
    input
      .map((i) => ({ tenant_id: i.tenant_id, nkey: i.nkey, ...i.extra }))
      .sort((a, b) => a.tenant_id - b.tenant_id || (a.nkey < b.nkey ? -1 : 1)),
  );
  const sql = `
    WITH input AS (
      SELECT * FROM json_to_recordset(?::json) AS t(tenant_id integer, nkey text${extraDefs})
    ),
    existing AS (
      SELECT d.tenant_id, d.id, d.${column} AS nkey
      FROM ${table} d JOIN input i
        ON d.tenant_id = i.tenant_id AND d.${column} = i.nkey COLLATE "C"
    ),
    inserted AS (
      INSERT INTO ${table} (tenant_id, ${column}${extraCols})
      SELECT i.tenant_id, i.nkey${extraCols.replace(", ", ", i.")} FROM input i
      WHERE NOT EXISTS (
        SELECT 1 FROM existing e WHERE e.tenant_id = i.tenant_id AND e.nkey = i.nkey
      )
      ON CONFLICT (tenant_id, ${column}) DO NOTHING
      RETURNING tenant_id, id, ${column} AS nkey
    )
    SELECT tenant_id, id, nkey FROM existing
    UNION ALL
    SELECT tenant_id, id, nkey FROM inserted`;
  const found = await trx.raw<{ rows: { tenant_id: number; id: number; nkey: string }[] }>(sql, [
    json,
  ]);
  for (const r of found.rows) ids.set(key(r.tenant_id, r.nkey), r.id);

  // A concurrent batch may have inserted a key after this statement's snapshot was taken.
  const missing = input.filter((i) => !ids.has(key(i.tenant_id, i.nkey)));
  if (missing.length > 0) {
    const again = await trx.raw<{ rows: { tenant_id: number; id: number; nkey: string }[] }>(
      `SELECT d.tenant_id, d.id, d.${column} AS nkey
       FROM ${table} d JOIN json_to_recordset(?::json) AS i(tenant_id integer, nkey text)
         ON d.tenant_id = i.tenant_id AND d.${column} = i.nkey COLLATE "C"`,
      [JSON.stringify(missing.map((m) => ({ tenant_id: m.tenant_id, nkey: m.nkey })))],
    );
    for (const r of again.rows) ids.set(key(r.tenant_id, r.nkey), r.id);
  }
  return ids;
}

function upsertActors(trx: Knex.Transaction, events: NewEvent[]) {
  const unique = new Map<
    string,
    { tenant_id: number; nkey: string; extra: { account_type: string } }
  >();
  for (const e of events) {
    unique.set(key(e.tenantId, e.accountId), {
      tenant_id: e.tenantId,
      nkey: e.accountId,
      extra: { account_type: e.accountType },
    });
  }
  return resolveIds(trx, "actor", "account_id", [...unique.values()]);
}

function upsertSpaces(trx: Knex.Transaction, events: NewEvent[]) {
  const unique = new Map<string, { tenant_id: number; nkey: string }>();
  for (const e of events) {
    if (e.spaceKey !== null) {
      unique.set(key(e.tenantId, e.spaceKey), { tenant_id: e.tenantId, nkey: e.spaceKey });
    }
  }
  return resolveIds(trx, "space", "space_key", [...unique.values()]);
}

/** Content rows carry the latest title, type and space seen; they are rewritten only on change. */
async function upsertContent(
  trx: Knex.Transaction,
  events: NewEvent[],
  spaceIds: Map<string, number>,
): Promise<Map<string, number>> {
  const latest = new Map<string, NewEvent>();
  for (const e of events) {
    if (e.contentKey === null) continue;
    const k = key(e.tenantId, e.contentKey);
    const seen = latest.get(k);
    if (!seen || seen.occurredAt <= e.occurredAt) latest.set(k, e);
  }
  const ids = new Map<string, number>();
  if (latest.size === 0) return ids;
  const input = [...latest.values()]
    .map((e) => ({
      tenant_id: e.tenantId,
      content_key: e.contentKey as string,
      content_type: e.contentType,
      title: e.title,
      space_id: e.spaceKey === null ? null : (spaceIds.get(key(e.tenantId, e.spaceKey)) ?? null),
    }))
    .sort((a, b) => a.tenant_id - b.tenant_id || (a.content_key < b.content_key ? -1 : 1));
  const json = JSON.stringify(input);
  const result = await trx.raw<{ rows: { tenant_id: number; id: number; content_key: string }[] }>(
    `WITH input AS (
       SELECT * FROM json_to_recordset(?::json) AS t(tenant_id integer, content_key text,
         content_type text, title text, space_id integer)
     ),
     existing AS (
       SELECT c.tenant_id, c.id, c.content_key, c.content_type, c.title, c.space_id
       FROM content c JOIN input i
         ON c.tenant_id = i.tenant_id AND c.content_key = i.content_key COLLATE "C"
     ),
     changed AS (
       UPDATE content c SET
         content_type = coalesce(i.content_type, c.content_type),
         title = coalesce(i.title, c.title),
         space_id = coalesce(i.space_id, c.space_id),
         updated_at = now()
       FROM input i
       WHERE c.tenant_id = i.tenant_id AND c.content_key = i.content_key COLLATE "C"
         AND (c.content_type, c.title, c.space_id) IS DISTINCT FROM
             (coalesce(i.content_type, c.content_type), coalesce(i.title, c.title),
              coalesce(i.space_id, c.space_id))
       RETURNING c.id
     ),
     inserted AS (
       INSERT INTO content (tenant_id, content_key, content_type, title, space_id)
       SELECT i.tenant_id, i.content_key, i.content_type, i.title, i.space_id FROM input i
       WHERE NOT EXISTS (
         SELECT 1 FROM existing e
         WHERE e.tenant_id = i.tenant_id AND e.content_key = i.content_key COLLATE "C"
       )
       ON CONFLICT (tenant_id, content_key) DO NOTHING
       RETURNING tenant_id, id, content_key
     )
     SELECT tenant_id, id, content_key FROM existing
     UNION ALL
     SELECT tenant_id, id, content_key FROM inserted`,
    [json],
  );
  for (const r of result.rows) ids.set(key(r.tenant_id, r.content_key), r.id);
  const missing = input.filter((i) => !ids.has(key(i.tenant_id, i.content_key)));
  if (missing.length > 0) {
    const again = await trx.raw<{ rows: { tenant_id: number; id: number; content_key: string }[] }>(
      `SELECT c.tenant_id, c.id, c.content_key
       FROM content c JOIN json_to_recordset(?::json) AS i(tenant_id integer, content_key text)
         ON c.tenant_id = i.tenant_id AND c.content_key = i.content_key COLLATE "C"`,
      [JSON.stringify(missing)],
    );
    for (const r of again.rows) ids.set(key(r.tenant_id, r.content_key), r.id);
  }
  return ids;
}

interface StoredEventRow {
  tenant_id: number;
  occurred_at: string;
  actor_id: number;
  type: number;
  space_id: number | null;
}

const COUNT_COLUMNS = EVENT_TYPE_NAMES.map((t) => `n_${t}`);

/** Per user and UTC day: add the batch's counts and OR in its quarter-hour bits. */
async function upsertUserDays(trx: Knex.Transaction, rows: StoredEventRow[]): Promise<void> {
  interface Agg {
    tenant_id: number;
    actor_id: number;
    day: string;
    quarters: string[];
    counts: number[];
  }
  const days = new Map<string, Agg>();
  for (const r of rows) {
    const ms = Date.parse(r.occurred_at);
    const day = new Date(ms - (ms % DAY_MS)).toISOString().slice(0, 10);
    const k = `${r.tenant_id}|${r.actor_id}|${day}`;
    let agg = days.get(k);
    if (!agg) {
      agg = {
        tenant_id: r.tenant_id,
        actor_id: r.actor_id,
        day,
        quarters: Array.from({ length: 96 }, () => "0"),
        counts: COUNT_COLUMNS.map(() => 0),
      };
      days.set(k, agg);
    }
    agg.quarters[Math.floor((ms % DAY_MS) / QUARTER_MS)] = "1";
    const index = EVENT_TYPE_NAMES.indexOf(typeFromCode(r.type));
    agg.counts[index] = (agg.counts[index] ?? 0) + 1;
  }
  const input = [...days.values()]
    .sort(
      (a, b) => a.tenant_id - b.tenant_id || a.actor_id - b.actor_id || (a.day < b.day ? -1 : 1),
    )
    .map((a) => ({
      tenant_id: a.tenant_id,
      actor_id: a.actor_id,
      day: a.day,
      quarters: a.quarters.join(""),
      ...Object.fromEntries(COUNT_COLUMNS.map((c, i) => [c, a.counts[i]])),
    }));
  const defs = COUNT_COLUMNS.map((c) => `${c} integer`).join(", ");
  const cols = COUNT_COLUMNS.join(", ");
  const sets = COUNT_COLUMNS.map((c) => `${c} = user_day.${c} + EXCLUDED.${c}`).join(", ");
  await trx.raw(
    `INSERT INTO user_day (tenant_id, actor_id, day, quarters, ${cols})
     SELECT tenant_id, actor_id, day, quarters::bit(96), ${cols}
     FROM json_to_recordset(?::json) AS t(tenant_id integer, actor_id integer, day date,
       quarters text, ${defs})
     ON CONFLICT (tenant_id, actor_id, day) DO UPDATE SET
       quarters = user_day.quarters | EXCLUDED.quarters, ${sets}`,
    [JSON.stringify(input)],
  );
}

/** Site-wide events per quarter-hour and type. */
async function upsertSiteQuarters(trx: Knex.Transaction, rows: StoredEventRow[]): Promise<void> {
  const buckets = new Map<
    string,
    { tenant_id: number; bucket: string; type: number; events: number }
  >();
  for (const r of rows) {
    const ms = Date.parse(r.occurred_at);
    const bucket = new Date(ms - (ms % QUARTER_MS)).toISOString();
    const k = `${r.tenant_id}|${bucket}|${r.type}`;
    const agg = buckets.get(k);
    if (agg) agg.events++;
    else buckets.set(k, { tenant_id: r.tenant_id, bucket, type: r.type, events: 1 });
  }
  const input = [...buckets.values()].sort(
    (a, b) =>
      a.tenant_id - b.tenant_id ||
      (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) ||
      a.type - b.type,
  );
  await trx.raw(
    `INSERT INTO site_quarter (tenant_id, bucket, type, events)
     SELECT tenant_id, bucket, type, events
     FROM json_to_recordset(?::json) AS t(tenant_id integer, bucket timestamptz, type smallint,
       events integer)
     ON CONFLICT (tenant_id, bucket, type) DO UPDATE SET
       events = site_quarter.events + EXCLUDED.events`,
    [JSON.stringify(input)],
  );
}
