import type { ConfluenceClient } from "../confluence/client.js";
import { type GroupDirectory, MEMBERS_MAX_AGE_MS } from "../confluence/groups.js";
import { refreshStaleProfiles } from "../confluence/profiles.js";
import type { ClientInfo, Tenant } from "../connect/knex-store.js";
import type { Db } from "../db/knex.js";
import { InvalidInput } from "../errors.js";
import type { Logger } from "../log.js";
import { readSettings } from "../settings/settings.js";
import { type Periodic, startPeriodic } from "./periodic.js";

/** Profiles looked up per site and run, at most (100 a call). */
const PROFILES_PER_RUN = 2000;
/** Longest pause between two sites of one run (runs are spread, not a burst). */
const MAX_PAUSE_MS = 2000;
/** Groups named in one failure log line, at most. */
const LOGGED_GROUPS = 5;

export interface DirectoryRefreshResult {
  sites: number;
  /** Groups whose members were refreshed (or found fresh from another instance's run). */
  groups: number;
  /** Groups (and sites' group lists) that could not be refreshed: tried again next run. */
  failed: number;
  /** Profiles looked up. */
  profiles: number;
}

/**
 * A group's stored members count as fresh for half the job's interval: each run refreshes
 * them, and with several instances, the one that comes second finds them fresh and skips.
 */
export function membersMaxAgeMs(intervalMs: number): number {
  return (intervalMs > 0 ? intervalMs : MEMBERS_MAX_AGE_MS) / 2;
}

/**
 * What reports read from Confluence, refreshed in the background, site after site (with a
 * pause between sites), one REST call at a time: the site's list of groups, the members of the
 * groups it uses (confluence-users for the inactive list and the users summary, excluded groups
 * for the tracking policy, groups recently chosen as filters) and the profiles (names, avatars)
 * missing or older than a day. Errors are logged, one bounded line per site, and tried again
 * next run; a site's failure never stops the others.
 */
export async function runDirectoryRefresh(
  db: Db,
  logger: Logger,
  clientFor: (tenant: Tenant) => ConfluenceClient,
  directory: GroupDirectory,
  opts: { maxAgeMs: number; pauseMs?: number; stopping?: () => boolean },
): Promise<DirectoryRefreshResult> {
  const rows = (await db("tenant")
    .whereNull("uninstalled_at")
    .orderBy("id")
    .select("id", "client_key", "base_url", "client_info")) as {
    id: number;
    client_key: string;
    base_url: string;
    client_info: ClientInfo;
  }[];
  const result: DirectoryRefreshResult = { sites: 0, groups: 0, failed: 0, profiles: 0 };
  for (const [i, r] of rows.entries()) {
    if (opts.stopping?.()) break;
    if (i > 0 && opts.pauseMs) await new Promise((resolve) => setTimeout(resolve, opts.pauseMs));
    const tenant: Tenant = {
      id: r.id,
      clientKey: r.client_key,
      baseUrl: r.base_url,
      clientInfo: r.client_info,
    };
    const failures: { group: string; error: unknown }[] = [];
    try {
      let licence: string | null = null;
      try {
        await directory.refreshGroups(tenant);
        licence = await directory.licenceGroupId(tenant);
      } catch (error) {
        failures.push({ group: "(the site's groups)", error });
      }
      const settings = await readSettings(db, tenant.id);
      const groups = new Set([
        ...(licence === null ? [] : [licence]),
        ...settings.excludedGroups,
        ...directory.askedGroups(tenant.id),
      ]);
      for (const group of groups) {
        if (opts.stopping?.()) break;
        try {
          await directory.refreshMembers(tenant, group, opts.maxAgeMs);
          result.groups++;
        } catch (error) {
          // A group Confluence no longer has: stop asking for it (settings keep their own).
          if (error instanceof InvalidInput) directory.forget(tenant.id, group);
          failures.push({ group, error });
        }
      }
      result.profiles += await refreshStaleProfiles(
        db,
        clientFor(tenant),
        tenant,
        licence === null ? [] : [licence],
        logger,
        PROFILES_PER_RUN,
      );
      result.sites++;
    } catch (error) {
      failures.push({ group: "(the site)", error });
    }
    if (failures.length) {
      result.failed += failures.length;
      logger.warn(
        {
          err: failures[0]?.error,
          tenantId: tenant.id,
          failed: failures.length,
          groups: failures.slice(0, LOGGED_GROUPS).map((f) => f.group),
        },
        "directory refresh: some of the site's groups could not be refreshed; trying again next run",
      );
    }
  }
  return result;
}

/** Runs the refresh every `intervalMs` (first shortly after start, to warm the caches). */
export function startDirectoryRefresh(
  db: Db,
  logger: Logger,
  clientFor: (tenant: Tenant) => ConfluenceClient,
  directory: GroupDirectory,
  intervalMs: number,
): Periodic {
  let stopping = false;
  const periodic = startPeriodic(
    "directory refresh",
    async () => {
      const sites = (await db("tenant").whereNull("uninstalled_at").count("* as n"))[0]?.n;
      // Spread over at most a quarter of the interval, never more than MAX_PAUSE_MS a site.
      const pauseMs = Math.min(
        MAX_PAUSE_MS,
        Math.floor(intervalMs / 4 / Math.max(1, Number(sites))),
      );
      return runDirectoryRefresh(db, logger, clientFor, directory, {
        maxAgeMs: membersMaxAgeMs(intervalMs),
        pauseMs,
        stopping: () => stopping,
      });
    },
    { intervalMs, firstDelayMs: Math.min(intervalMs, 10_000), logger },
  );
  return {
    async stop() {
      stopping = true;
      await periodic.stop();
    },
  };
}
