import { LRUCache } from "lru-cache";
import type { Db } from "../db/knex.js";
import { readSettings } from "./settings.js";

export interface TrackingPolicy {
  trackAppAccounts: boolean;
  /** Account ids excluded directly or as current members of an excluded group. */
  excludedAccounts: Set<string>;
  excludedSpaces: Set<string>;
  /** Days of history kept (null: everything while installed): see privacy/horizon.ts. */
  retentionDays: number | null;
  /** The latest retention cutoff applied to the site (null: none): history starts there. */
  historyFrom: Date | null;
}

const TTL_MS = 5000;

/**
 * Each site's tracking policy, cached for a few seconds (every webhook consults it; a burst of
 * webhooks on a miss shares one read). Group exclusions use the stored current members
 * (group_member), refreshed when settings are saved and by the directory job.
 */
export class TrackingPolicies {
  private readonly cache = new LRUCache<number, TrackingPolicy>({
    max: 10_000,
    ttl: TTL_MS,
    fetchMethod: (tenantId) => this.load(tenantId),
  });

  constructor(private readonly db: Db) {}

  async forTenant(tenantId: number): Promise<TrackingPolicy> {
    // Undefined when the settings changed (invalidate) while this read was under way: read again.
    return (await this.cache.fetch(tenantId)) ?? this.load(tenantId);
  }

  private async load(tenantId: number): Promise<TrackingPolicy> {
    const settings = await readSettings(this.db, tenantId);
    const members = settings.excludedGroups.length
      ? ((await this.db("group_member")
          .where({ tenant_id: tenantId })
          .whereIn("group_id", settings.excludedGroups)
          .select("account_id")) as { account_id: string }[])
      : [];
    const policy: TrackingPolicy = {
      trackAppAccounts: settings.trackAppAccounts,
      excludedAccounts: new Set([...settings.excludedUsers, ...members.map((m) => m.account_id)]),
      excludedSpaces: new Set(settings.excludedSpaces),
      retentionDays: settings.retentionDays,
      historyFrom: await this.historyFrom(tenantId),
    };
    return policy;
  }

  private async historyFrom(tenantId: number): Promise<Date | null> {
    const row = (await this.db("tenant").where({ id: tenantId }).first("history_from")) as
      { history_from: Date | string | null } | undefined;
    return row?.history_from ? new Date(row.history_from) : null;
  }

  invalidate(tenantId: number): void {
    this.cache.delete(tenantId);
  }
}
