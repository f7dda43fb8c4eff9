import { LRUCache } from "lru-cache";
import type { ConfluenceClient } from "./client.js";

interface Operation {
  operation?: string;
  targetType?: string;
}

interface UserWithOperations {
  operations?: Operation[];
}

interface SpacePermissions {
  permissions?: {
    operation?: Operation;
    subjects?: {
      user?: { results?: { accountId?: string }[] };
      group?: { results?: { name?: string; id?: string }[] };
    };
  }[];
}

interface Paged<T> {
  results?: T[];
  size?: number;
  _links?: { next?: string };
}

const PERMISSION_TTL_MS = 60_000;

/**
 * Answers kept for a minute (from when Confluence answered, on the monotonic clock, never
 * served stale: a revoked admin loses access within the minute). Concurrent misses of one key
 * share one call; a failed call is not kept. The loader comes with each call (`context`).
 */
function answerCache<V extends NonNullable<unknown>>() {
  return new LRUCache<string, V, () => Promise<V>>({
    max: 10_000,
    ttl: PERMISSION_TTL_MS,
    fetchMethod: (_key, _stale, { context: load }) => load(),
  });
}

async function cached<V extends NonNullable<unknown>>(
  cache: LRUCache<string, V, () => Promise<V>>,
  key: string,
  load: () => Promise<V>,
): Promise<V> {
  // Undefined only if the entry were deleted while loading, which nothing here does.
  return (await cache.fetch(key, { context: load })) ?? load();
}

/**
 * Who may read what: Confluence admins read everything; a space's admins read that space.
 * Confluence's answers are cached for a minute per (site, person[, space]).
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-get
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-space/#api-wiki-rest-api-space-spacekey-get
 */
export class Permissions {
  private readonly cache = answerCache<boolean>();
  private readonly groups = answerCache<Set<string>>();

  async isSiteAdmin(
    client: ConfluenceClient,
    clientKey: string,
    accountId: string,
  ): Promise<boolean> {
    return cached(this.cache, `admin|${clientKey}|${accountId}`, async () => {
      const res = await client.get<UserWithOperations>(
        `/rest/api/user?accountId=${encodeURIComponent(accountId)}&expand=operations`,
      );
      if (res.status === 404) return false;
      if (res.status !== 200) throw new Error(`admin check answered ${res.status}`);
      return (res.body.operations ?? []).some(
        (o) => o.operation === "administer" && o.targetType === "application",
      );
    });
  }

  /** Space admin directly or through a group. False for a space Confluence does not know. */
  async isSpaceAdmin(
    client: ConfluenceClient,
    clientKey: string,
    accountId: string,
    spaceKey: string,
  ): Promise<boolean> {
    return cached(this.cache, `space|${clientKey}|${accountId}|${spaceKey}`, async () => {
      const res = await client.get<SpacePermissions>(
        `/rest/api/space/${encodeURIComponent(spaceKey)}?expand=permissions`,
      );
      if (res.status === 404) return false;
      if (res.status !== 200) throw new Error(`space permission check answered ${res.status}`);
      const admin = (res.body.permissions ?? []).filter(
        (p) => p.operation?.operation === "administer" && p.operation?.targetType === "space",
      );
      if (admin.some((p) => p.subjects?.user?.results?.some((u) => u.accountId === accountId)))
        return true;
      const adminGroups = admin.flatMap((p) => p.subjects?.group?.results ?? []);
      if (adminGroups.length === 0) return false;
      const mine = await this.groupsOf(client, clientKey, accountId);
      return adminGroups.some((g) => (g.id && mine.has(g.id)) || (g.name && mine.has(g.name)));
    });
  }

  /** A person's groups, by id and by name. */
  private groupsOf(
    client: ConfluenceClient,
    clientKey: string,
    accountId: string,
  ): Promise<Set<string>> {
    return cached(this.groups, `${clientKey}|${accountId}`, async () => {
      const found = new Set<string>();
      for (let start = 0; ;) {
        const page = await client.getJson<Paged<{ name?: string; id?: string }>>(
          `/rest/api/user/memberof?accountId=${encodeURIComponent(accountId)}&start=${start}&limit=200`,
        );
        const results = page.results ?? [];
        for (const g of results) {
          if (g.id) found.add(g.id);
          if (g.name) found.add(g.name);
        }
        if (results.length === 0 || !page._links?.next) break;
        start += results.length;
      }
      return found;
    });
  }
}
