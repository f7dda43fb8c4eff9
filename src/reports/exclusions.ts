import type { Knex } from "knex";
import type { Db } from "../db/knex.js";
import type { TrackingPolicy } from "../settings/tracking-policies.js";

/**
 * What the site's settings exclude, as dictionary ids: excluded people (directly or as current
 * members of an excluded group), app accounts while they are not tracked, and excluded spaces.
 * Exclusions never delete data: every figure leaves out the excluded events at query time, past
 * ones included, for as long as the exclusion stands (../shared/docs/product.md, "Exclusions").
 */
export interface Exclusions {
  actorIds: number[];
  spaceIds: number[];
  /** The excluded people's account ids, seen or not (the users report filters by them). */
  accountIds: string[];
}

export const NO_EXCLUSIONS: Exclusions = { actorIds: [], spaceIds: [], accountIds: [] };

export function isEmpty(ex: Exclusions): boolean {
  return ex.actorIds.length === 0 && ex.spaceIds.length === 0;
}

/** `{1,2,3}`: an int[] literal (knex would expand a JS array binding into a list). */
export function intArray(ids: number[]): string {
  return `{${ids.map((id) => Math.trunc(id)).join(",")}}`;
}

/**
 * The site's exclusions as ids (accounts and spaces never seen have no id and no events),
 * resolved once per loaded policy: TrackingPolicies reloads a site's policy at most every few
 * seconds and on every settings save, so reports do not resolve ids on every request.
 */
export function resolveExclusions(
  db: Db | Knex.Transaction,
  tenantId: number,
  policy: TrackingPolicy,
): Promise<Exclusions> {
  let resolved = RESOLVED.get(policy);
  if (!resolved) {
    resolved = resolve(db, tenantId, policy);
    RESOLVED.set(policy, resolved);
    resolved.catch(() => RESOLVED.delete(policy));
  }
  return resolved;
}

const RESOLVED = new WeakMap<TrackingPolicy, Promise<Exclusions>>();

async function resolve(
  db: Db | Knex.Transaction,
  tenantId: number,
  policy: TrackingPolicy,
): Promise<Exclusions> {
  const accounts = [...policy.excludedAccounts];
  const spaces = [...policy.excludedSpaces];
  if (accounts.length === 0 && spaces.length === 0 && policy.trackAppAccounts) return NO_EXCLUSIONS;
  const text = (values: string[]) =>
    `{${values.map((v) => `"${v.replace(/["\\]/g, (m) => `\\${m}`)}"`).join(",")}}`;
  const actors = (
    await db.raw(
      `SELECT id, account_id FROM actor
       WHERE tenant_id = ? AND (account_id = ANY(?::text[]) OR (? AND account_type = 'app'))
       ORDER BY id`,
      [tenantId, text(accounts), !policy.trackAppAccounts],
    )
  ).rows as { id: number; account_id: string }[];
  const spaceRows = spaces.length
    ? ((
        await db.raw("SELECT id FROM space WHERE tenant_id = ? AND space_key = ANY(?::text[])", [
          tenantId,
          text(spaces),
        ])
      ).rows as { id: number }[])
    : [];
  return {
    actorIds: actors.map((r) => Number(r.id)),
    spaceIds: spaceRows.map((r) => Number(r.id)),
    // App accounts are excluded as seen: their account ids come with their actor rows.
    accountIds: [...new Set([...accounts, ...actors.map((r) => r.account_id)])],
  };
}

/**
 * `AND <alias>actor_id <> ALL(...) AND ...`: keeps only events no exclusion covers (for the
 * queries that read raw events). An event without a space is never covered by a space.
 */
export function keepIncludedSql(ex: Exclusions, alias = ""): { sql: string; bindings: string[] } {
  if (isEmpty(ex)) return { sql: "", bindings: [] };
  return {
    sql: `AND ${alias}actor_id <> ALL(?::int[])
          AND (${alias}space_id IS NULL OR ${alias}space_id <> ALL(?::int[]))`,
    bindings: [intArray(ex.actorIds), intArray(ex.spaceIds)],
  };
}

/**
 * The excluded events of a time window (optionally one person's), as a derived table with
 * columns actor_id, occurred_at, type: the excluded people's events, then the other people's
 * events in excluded spaces. Two index-only scans (the actor and the space indexes carry what
 * is read), not a bitmap OR that fetched every excluded event's heap page (a busy space's year:
 * 272 k events, 18 k pages).
 */
export function excludedEventsSql(
  ex: Exclusions,
  tenantId: number,
  window: { start: Date; end: Date },
  actorId: number | null = null,
): { sql: string; bindings: (string | number)[] } {
  const actor = actorId === null ? "" : "AND actor_id = ?";
  const base = (extra: string) =>
    `SELECT actor_id, occurred_at, type FROM event
     WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ? ${actor} AND ${extra}`;
  const head = () => [
    tenantId,
    window.start.toISOString(),
    window.end.toISOString(),
    ...(actorId === null ? [] : [actorId]),
  ];
  return {
    sql: `(${base("actor_id = ANY(?::int[])")}
      UNION ALL
      ${base("space_id = ANY(?::int[]) AND actor_id <> ALL(?::int[])")})`,
    bindings: [
      ...head(),
      intArray(ex.actorIds),
      ...head(),
      intArray(ex.spaceIds),
      intArray(ex.actorIds),
    ],
  };
}
