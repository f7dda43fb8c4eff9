import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";

/** One person as stored: their id, when they were last active, and their profile. */
export interface Person {
  actorId: number;
  lastActiveAt: string | null;
  /** Null while their profile was never looked up (see confluence/profiles.ts). */
  known: boolean | null;
  displayName: string | null;
  avatarUrl: string | null;
  profileUrl: string | null;
}

/** A person of the site by account id, with their stored profile (one round trip); null when unseen. */
export async function findPerson(
  db: Db | Knex.Transaction,
  tenantId: number,
  accountId: string,
): Promise<Person | null> {
  const row = (
    await db.raw(
      `SELECT a.id, a.last_active_at, pr.known, pr.display_name, pr.avatar_url, pr.profile_url
       FROM actor a
       LEFT JOIN user_profile pr ON pr.tenant_id = a.tenant_id AND pr.account_id = a.account_id
       WHERE a.tenant_id = ? AND a.account_id = ?`,
      [tenantId, accountId],
    )
  ).rows[0] as Record<string, unknown> | undefined;
  if (!row) return null;
  return {
    actorId: Number(row.id),
    lastActiveAt: row.last_active_at ? new Date(row.last_active_at as string).toISOString() : null,
    known: (row.known as boolean | null) ?? null,
    displayName: (row.display_name as string | null) ?? null,
    avatarUrl: (row.avatar_url as string | null) ?? null,
    profileUrl: (row.profile_url as string | null) ?? null,
  };
}
