import { LRUCache } from "lru-cache";
import type { Tenant } from "../connect/knex-store.js";
import type { Db } from "../db/knex.js";
import { InvalidInput, Unavailable, UpstreamFailed } from "../errors.js";
import type { Logger } from "../log.js";
import type { ConfluenceClient } from "./client.js";

/** Age past which stored group members count as stale (when no background job refreshes). */
export const MEMBERS_MAX_AGE_MS = 10 * 60 * 1000;
const PAGE = 200;

interface Paged<T> {
  results?: T[];
  _links?: { next?: string };
}

/** When a group's members were last stored in `group_member`; null if they never were. */
export async function membersRefreshedAt(
  db: Db,
  tenantId: number,
  groupId: string,
): Promise<Date | null> {
  const row = await db("group_cache")
    .where({ tenant_id: tenantId, group_id: groupId })
    .first("fetched_at");
  return row ? new Date(row.fetched_at) : null;
}

/**
 * Current members of a group, paged from Confluence into `group_member`, unless the stored copy
 * is younger than `maxAgeMs` (0: always). Returns when the stored copy was refreshed. Report
 * requests do not call this directly: they read through `GroupDirectory`.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-group/#api-wiki-rest-api-group-groupid-membersbygroupid-get
 */
export async function refreshGroupMembers(
  db: Db,
  client: ConfluenceClient,
  tenantId: number,
  groupId: string,
  maxAgeMs = MEMBERS_MAX_AGE_MS,
): Promise<Date> {
  if (maxAgeMs > 0) {
    const at = await membersRefreshedAt(db, tenantId, groupId);
    if (at && Date.now() - at.getTime() < maxAgeMs) return at;
  }
  const members: string[] = [];
  for (let start = 0; ;) {
    const res = await client.get<Paged<{ accountId?: string }>>(
      `/rest/api/group/${encodeURIComponent(groupId)}/membersByGroupId?start=${start}&limit=${PAGE}`,
    );
    if (res.status === 404)
      throw new InvalidInput("invalid_parameter", `group ${groupId} does not exist`);
    if (res.status !== 200)
      throw new UpstreamFailed("confluence_unavailable", "Confluence did not list the group");
    const results = res.body.results ?? [];
    for (const m of results) if (m.accountId) members.push(m.accountId);
    if (results.length === 0 || !res.body._links?.next) break;
    start += results.length;
  }
  // The app's clock, not the database's: ages are compared with Date.now().
  const refreshedAt = new Date();
  await db.transaction(async (trx) => {
    await trx("group_member").where({ tenant_id: tenantId, group_id: groupId }).delete();
    if (members.length) {
      await trx.raw(
        `INSERT INTO group_member (tenant_id, group_id, account_id)
         SELECT ?, ?, account_id FROM json_to_recordset(?::json) AS t(account_id text)
         ON CONFLICT DO NOTHING`,
        [tenantId, groupId, JSON.stringify(members.map((account_id) => ({ account_id })))],
      );
    }
    await trx.raw(
      `INSERT INTO group_cache (tenant_id, group_id, fetched_at) VALUES (?, ?, ?)
       ON CONFLICT (tenant_id, group_id) DO UPDATE SET fetched_at = EXCLUDED.fetched_at`,
      [tenantId, groupId, refreshedAt],
    );
  });
  return refreshedAt;
}

export interface Group {
  id: string;
  name: string;
}

/**
 * Every group of the site (for the group filter), paged through.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-group/#api-wiki-rest-api-group-get
 */
export async function listGroups(client: ConfluenceClient, max = 5000): Promise<Group[]> {
  const groups: Group[] = [];
  for (let start = 0; groups.length < max;) {
    const page = await client.getJson<Paged<{ id?: string; name?: string }>>(
      `/rest/api/group?start=${start}&limit=${PAGE}`,
    );
    const results = page.results ?? [];
    for (const g of results) if (g.id && g.name) groups.push({ id: g.id, name: g.name });
    if (results.length === 0 || !page._links?.next) break;
    start += results.length;
  }
  return groups.sort((a, b) => a.name.localeCompare(b.name));
}

/** The group whose members hold Confluence licences. */
export const LICENCE_GROUP = "confluence-users";

/** How long the site's list of groups is answered without listing it again. */
const GROUP_LIST_TTL_MS = 10 * 60 * 1000;
/** How long this process trusts what it read of a group's refresh time. */
const REFRESHED_AT_TTL_MS = 60 * 1000;
/** A group used as a filter is kept fresh by the job for this long after its last use. */
const ASKED_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** A request schedules a background refresh of a stale group at most this often. */
const NUDGE_GAP_MS = 60 * 1000;
/** Longest a request waits for what was never stored (a group's first listing). */
const FIRST_FETCH_WAIT_MS = 20 * 1000;

/**
 * The caches below count time on the wall clock (Date.now()), the clock stored refresh times
 * are written with, so an age read from `group_cache` and one kept here agree (and tests can
 * move both with fake timers).
 */
const WALL_CLOCK = { now: () => Date.now() };

/**
 * Group memberships and the site's groups as report requests see them: what is stored, never a
 * paging through Confluence on a request's way. A background job (src/jobs/directory-refresh.ts)
 * keeps them fresh: the licence group, excluded groups and the groups recently asked for here.
 *
 * First use, a group never listed: the request waits for one listing (coalesced with any other
 * request or job run doing the same, at most FIRST_FETCH_WAIT_MS, then 503 while the listing
 * goes on). Answering at once with no members would be wrong, not just old: the first
 * inactive-users view would list nobody, the summary would count no site users, and a group
 * filter would match no one. One bounded wait, once per group and site (stored in the
 * database, so not again after a restart), is the better trade.
 *
 * Stored but stale (the job is off or failing): answered at once, with the refresh time for
 * the caller to show, and refreshed in the background (at most once a minute per group).
 */
export class GroupDirectory {
  private readonly groupLists: LRUCache<number, Group[], Tenant>;
  /** When each group was refreshed, as this process last read or wrote it. */
  private readonly refreshed = new LRUCache<string, Date>({
    max: 10_000,
    ttl: REFRESHED_AT_TTL_MS,
    perf: WALL_CLOCK,
  });
  private readonly loads: LRUCache<string, Date, { tenant: Tenant; maxAgeMs: number }>;
  private readonly asked = new LRUCache<string, true>({
    max: 10_000,
    ttl: ASKED_TTL_MS,
    perf: WALL_CLOCK,
  });
  private readonly nudged = new LRUCache<string, true>({
    max: 10_000,
    ttl: NUDGE_GAP_MS,
    perf: WALL_CLOCK,
  });
  /** Stored members older than this are refreshed in the background by a request. */
  readonly staleAfterMs: number;
  private readonly firstFetchWaitMs: number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly clientFor: (tenant: Tenant) => ConfluenceClient,
    opts: { refreshIntervalMs: number; firstFetchWaitMs?: number },
  ) {
    this.staleAfterMs =
      opts.refreshIntervalMs > 0 ? 2 * opts.refreshIntervalMs : MEMBERS_MAX_AGE_MS;
    this.firstFetchWaitMs = opts.firstFetchWaitMs ?? FIRST_FETCH_WAIT_MS;
    // Stale while revalidate: once a site's list is known, a request gets it at once and an
    // expired one is listed again in the background; a failed listing keeps the last list.
    this.groupLists = new LRUCache<number, Group[], Tenant>({
      max: 10_000,
      ttl: GROUP_LIST_TTL_MS,
      allowStale: true,
      perf: WALL_CLOCK,
      fetchMethod: async (_id, stale, { context: tenant }) => {
        try {
          return await listGroups(this.clientFor(tenant));
        } catch (error) {
          if (stale === undefined) throw error;
          this.logger.warn(
            { err: error, tenantId: tenant.id },
            "could not list the site's groups; keeping the last list",
          );
          return stale;
        }
      },
    });
    // Pagings through Confluence, one at a time per group: concurrent callers share one.
    this.loads = new LRUCache<string, Date, { tenant: Tenant; maxAgeMs: number }>({
      max: 10_000,
      ttl: NUDGE_GAP_MS,
      perf: WALL_CLOCK,
      fetchMethod: (key, _stale, { context: { tenant, maxAgeMs } }) =>
        refreshGroupMembers(this.db, this.clientFor(tenant), tenant.id, groupOf(key), maxAgeMs),
    });
  }

  /** The site's groups, by name (see the constructor for how they are cached). */
  async groups(tenant: Tenant): Promise<Group[]> {
    const list = await this.bounded(
      this.groupLists.fetch(tenant.id, { context: tenant }),
      "the site's groups",
    );
    if (list === undefined) throw new Error("listing the site's groups was aborted");
    return list;
  }

  /** The id of confluence-users, or null when the site has no such group. */
  async licenceGroupId(tenant: Tenant): Promise<string | null> {
    return (await this.groups(tenant)).find((g) => g.name === LICENCE_GROUP)?.id ?? null;
  }

  /**
   * For a report: makes sure the group's members are stored (first use only: one bounded
   * listing) and returns when they were refreshed; a stale copy is refreshed in the background.
   * `asked` marks a group chosen in a filter, which the job then keeps fresh.
   */
  async members(tenant: Tenant, groupId: string, asked = true): Promise<Date> {
    const key = keyOf(tenant.id, groupId);
    let at = this.refreshed.get(key) ?? (await membersRefreshedAt(this.db, tenant.id, groupId));
    if (at === null) {
      at = await this.bounded(
        this.load(tenant, groupId, Number.POSITIVE_INFINITY, false),
        `the members of group ${groupId}`,
      );
    }
    this.refreshed.set(key, at);
    if (asked) this.asked.set(key, true);
    if (Date.now() - at.getTime() > this.staleAfterMs && !this.nudged.has(key)) {
      this.nudged.set(key, true);
      this.load(tenant, groupId, this.staleAfterMs, false).catch((error: unknown) =>
        this.logger.warn(
          { err: error, tenantId: tenant.id, group: groupId },
          "could not refresh a group's members in the background; trying again later",
        ),
      );
    }
    return at;
  }

  /** The job: lists the site's groups again (a failure keeps the last list). */
  async refreshGroups(tenant: Tenant): Promise<void> {
    await this.groupLists.fetch(tenant.id, {
      context: tenant,
      forceRefresh: true,
      allowStale: false,
    });
  }

  /** The job: refreshes a group's members unless another run did within `maxAgeMs`. */
  refreshMembers(tenant: Tenant, groupId: string, maxAgeMs: number): Promise<Date> {
    return this.load(tenant, groupId, maxAgeMs, true);
  }

  /** Groups asked for in filters on this site lately (by this process). */
  askedGroups(tenantId: number): string[] {
    const prefix = `${tenantId}|`;
    return [...this.asked.keys()].filter((k) => k.startsWith(prefix)).map(groupOf);
  }

  /** Stops keeping a group fresh (it no longer exists). */
  forget(tenantId: number, groupId: string): void {
    this.asked.delete(keyOf(tenantId, groupId));
  }

  private async load(
    tenant: Tenant,
    groupId: string,
    maxAgeMs: number,
    force: boolean,
  ): Promise<Date> {
    const key = keyOf(tenant.id, groupId);
    const at = await this.loads.fetch(key, {
      context: { tenant, maxAgeMs },
      forceRefresh: force,
    });
    if (at === undefined) throw new Error(`listing group ${groupId} was aborted`);
    this.refreshed.set(key, at);
    return at;
  }

  /** Waits for `work` at most firstFetchWaitMs; the work goes on if the wait ends first. */
  private async bounded<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Unavailable(
              "confluence_unavailable",
              `Confluence is still listing ${what} (first use); try again in a minute`,
            ),
          ),
        this.firstFetchWaitMs,
      );
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function keyOf(tenantId: number, groupId: string): string {
  return `${tenantId}|${groupId}`;
}

function groupOf(key: string): string {
  return key.slice(key.indexOf("|") + 1);
}
