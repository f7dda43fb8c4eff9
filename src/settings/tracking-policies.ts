import type { Db } from "../db/knex.js";
import { readSettings } from "./settings.js";

export interface TrackingPolicy {
  trackAppAccounts: boolean;
  /** Account ids excluded directly or as current members of an excluded group. */
  excludedAccounts: Set<string>;
  excludedSpaces: Set<string>;
}

const TTL_MS = 5000;

/**
 * Each site's tracking policy, cached for a few seconds (every webhook consults it). Group
 * exclusions use the cached current members (group_member), refreshed when settings are saved.
 */
export class TrackingPolicies {
  private readonly cache = new Map<number, { policy: TrackingPolicy; expires: number }>();

  constructor(private readonly db: Db) {}

  async forTenant(tenantId: number): Promise<TrackingPolicy> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.expires > Date.now()) return hit.policy;
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
    };
    this.cache.set(tenantId, { policy, expires: Date.now() + TTL_MS });
    return policy;
  }

  invalidate(tenantId: number): void {
    this.cache.delete(tenantId);
  }
}
