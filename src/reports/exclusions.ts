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
}

export const NO_EXCLUSIONS: Exclusions = { actorIds: [], spaceIds: [] };

export function isEmpty(ex: Exclusions): boolean {
  return ex.actorIds.length === 0 && ex.spaceIds.length === 0;
}

/** `{1,2,3}`: an int[] literal (knex would expand a JS array binding into a list). */
export function intArray(ids: number[]): string {
  return `{${ids.map((id) => Math.trunc(id)).join(",")}}`;
}

/** The site's exclusions as ids (accounts and spaces never seen have no id and no events). */
export async function resolveExclusions(
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
      `SELECT id FROM actor
       WHERE tenant_id = ? AND (account_id = ANY(?::text[]) OR (? AND account_type = 'app'))
       ORDER BY id`,
      [tenantId, text(accounts), !policy.trackAppAccounts],
    )
  ).rows as { id: number }[];
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
  };
}

/** Account ids excluded: people (directly or through a group), app accounts when not tracked. */
export async function excludedAccountIds(
  db: Db | Knex.Transaction,
  tenantId: number,
  policy: TrackingPolicy,
): Promise<string[]> {
  const accounts = [...policy.excludedAccounts];
  if (policy.trackAppAccounts) return accounts;
  const apps = (
    await db.raw("SELECT account_id FROM actor WHERE tenant_id = ? AND account_type = 'app'", [
      tenantId,
    ])
  ).rows as { account_id: string }[];
  return [...new Set([...accounts, ...apps.map((r) => r.account_id)])];
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

/** The predicate of an excluded event (the complement of keepIncludedSql). */
export function excludedEventSql(ex: Exclusions, alias = ""): { sql: string; bindings: string[] } {
  return {
    sql: `(${alias}actor_id = ANY(?::int[]) OR ${alias}space_id = ANY(?::int[]))`,
    bindings: [intArray(ex.actorIds), intArray(ex.spaceIds)],
  };
}
