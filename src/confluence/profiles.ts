import type { Db } from "../db/knex.js";
import type { Logger } from "../log.js";
import type { ConfluenceClient } from "./client.js";

export interface Profile {
  accountId: string;
  known: boolean;
  displayName: string | null;
  avatarUrl: string | null;
  profileUrl: string | null;
}

interface BulkUser {
  accountId?: string;
  displayName?: string;
  publicName?: string;
  profilePicture?: { path?: string };
}

const BULK_MAX = 100;
export const PROFILE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Display names, avatars and profile links, cached in `user_profile`. Missing or stale ones are
 * fetched from Confluence in bulk (100 ids a call). An account Confluence no longer returns is
 * stored as unknown, and reports show its account id.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-bulk-get
 */
export async function ensureProfiles(
  db: Db,
  client: ConfluenceClient,
  tenant: { id: number; baseUrl: string },
  accountIds: string[],
  logger: Logger,
  maxAgeMs = PROFILE_MAX_AGE_MS,
): Promise<Map<string, Profile>> {
  const unique = [...new Set(accountIds)];
  const profiles = new Map<string, Profile>();
  if (unique.length === 0) return profiles;
  const fresh = (await db("user_profile")
    .where({ tenant_id: tenant.id })
    .whereIn("account_id", unique)
    .where("fetched_at", ">", new Date(Date.now() - maxAgeMs))
    .select("account_id", "known", "display_name", "avatar_url", "profile_url")) as {
    account_id: string;
    known: boolean;
    display_name: string | null;
    avatar_url: string | null;
    profile_url: string | null;
  }[];
  for (const r of fresh) {
    profiles.set(r.account_id, {
      accountId: r.account_id,
      known: r.known,
      displayName: r.display_name,
      avatarUrl: r.avatar_url,
      profileUrl: r.profile_url,
    });
  }
  const missing = unique.filter((id) => !profiles.has(id));
  for (let i = 0; i < missing.length; i += BULK_MAX) {
    const chunk = missing.slice(i, i + BULK_MAX);
    let fetched: Profile[];
    try {
      fetched = await fetchProfiles(client, tenant.baseUrl, chunk);
    } catch (error) {
      // Names are a nicety: a report still answers (with account ids) when Confluence cannot.
      logger.warn({ err: error, tenantId: tenant.id }, "could not fetch user profiles");
      break;
    }
    await db.raw(
      `INSERT INTO user_profile (tenant_id, account_id, known, display_name, avatar_url, profile_url, fetched_at)
       SELECT ?, account_id, known, display_name, avatar_url, profile_url, now()
       FROM json_to_recordset(?::json) AS t(account_id text, known boolean, display_name text,
         avatar_url text, profile_url text)
       ON CONFLICT (tenant_id, account_id) DO UPDATE SET known = EXCLUDED.known,
         display_name = EXCLUDED.display_name, avatar_url = EXCLUDED.avatar_url,
         profile_url = EXCLUDED.profile_url, fetched_at = EXCLUDED.fetched_at`,
      [
        tenant.id,
        JSON.stringify(
          fetched.map((p) => ({
            account_id: p.accountId,
            known: p.known,
            display_name: p.displayName,
            avatar_url: p.avatarUrl,
            profile_url: p.profileUrl,
          })),
        ),
      ],
    );
    for (const p of fetched) profiles.set(p.accountId, p);
  }
  return profiles;
}

/**
 * For the background job: looks up the profiles of people never looked up or looked up more
 * than a day ago, at most `limit` a run (the job comes back for the rest): people who were
 * active (most recently active first), then members of `groupIds` (the people the inactive
 * list shows). Reports read `user_profile` as stored. Returns how many were looked up.
 */
export async function refreshStaleProfiles(
  db: Db,
  client: ConfluenceClient,
  tenant: { id: number; baseUrl: string },
  groupIds: string[],
  logger: Logger,
  limit = 2000,
  maxAgeMs = PROFILE_MAX_AGE_MS,
): Promise<number> {
  const members = groupIds.length
    ? `UNION ALL SELECT account_id, NULL FROM group_member
       WHERE tenant_id = ? AND group_id IN (${groupIds.map(() => "?").join(", ")})`
    : "";
  const result = await db.raw(
    `SELECT c.account_id
     FROM (SELECT account_id, last_active_at AS seen FROM actor WHERE tenant_id = ?
           ${members}) c
     LEFT JOIN user_profile p ON p.tenant_id = ? AND p.account_id = c.account_id
     WHERE p.account_id IS NULL OR p.fetched_at < ?
     GROUP BY c.account_id
     ORDER BY max(c.seen) DESC NULLS LAST, c.account_id
     LIMIT ?`,
    [
      tenant.id,
      ...(groupIds.length ? [tenant.id, ...groupIds] : []),
      tenant.id,
      new Date(Date.now() - maxAgeMs),
      limit,
    ],
  );
  const ids = (result.rows as { account_id: string }[]).map((r) => r.account_id);
  if (ids.length) await ensureProfiles(db, client, tenant, ids, logger, maxAgeMs);
  return ids.length;
}

async function fetchProfiles(
  client: ConfluenceClient,
  baseUrl: string,
  ids: string[],
): Promise<Profile[]> {
  const query = ids.map((id) => `accountId=${encodeURIComponent(id)}`).join("&");
  const body = await client.getJson<{ results?: BulkUser[] }>(
    `/rest/api/user/bulk?${query}&limit=${BULK_MAX}`,
  );
  const byId = new Map(
    (body.results ?? []).filter((u) => u.accountId).map((u) => [u.accountId as string, u]),
  );
  const origin = new URL(baseUrl).origin;
  const site = baseUrl.replace(/\/$/, "");
  return ids.map((accountId) => {
    const u = byId.get(accountId);
    if (!u)
      return { accountId, known: false, displayName: null, avatarUrl: null, profileUrl: null };
    const path = u.profilePicture?.path;
    return {
      accountId,
      known: true,
      displayName: u.displayName ?? u.publicName ?? null,
      avatarUrl: path ? new URL(path, origin).toString() : null,
      profileUrl: `${site}/people/${encodeURIComponent(accountId)}`,
    };
  });
}
