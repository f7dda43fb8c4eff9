import type { Readable } from "node:stream";
import type { Knex } from "knex";
import type { ConfluenceClient } from "../confluence/client.js";
import { type Group, type GroupDirectory, LICENCE_GROUP } from "../confluence/groups.js";
import { InvalidInput } from "../errors.js";
import { ensureProfiles } from "../confluence/profiles.js";
import type { Tenant } from "../connect/knex-store.js";
import type { Db } from "../db/knex.js";
import type { EventType } from "../events/types.js";
import type { Logger } from "../log.js";
import type { CommonParams, UsersParams } from "./params.js";
import { getBreakdown } from "./queries/breakdown.js";
import { getCalendar, type Scope } from "./queries/calendar.js";
import type { Counts } from "./queries/sql.js";
import { getTrackedSince, trackedAverage } from "./queries/tracked-days.js";
import { getLastActive } from "./queries/last-active.js";
import { findPerson } from "./queries/person.js";
import { NO_SUCH_ID, resolveScope } from "./queries/scope.js";
import { getRecentEvents } from "./queries/user-activity.js";
import {
  getUsersReport,
  planForManyPeople,
  type UserRow,
  usersReportSql,
} from "./queries/users-report.js";
import { buildRange, type ReportRange, today } from "./range.js";
import { keptFrom } from "../privacy/horizon.js";
import { type Exclusions, resolveExclusions } from "./exclusions.js";
import { readZone, registerZone, type ZoneState } from "./sealing.js";
import type { TrackingPolicies } from "../settings/tracking-policies.js";
import { currentStreak, longestStreak, streakIsCurrent } from "./streaks.js";

export interface ApiUserRow {
  accountId: string;
  displayName: string;
  avatarUrl: string | null;
  profileUrl: string | null;
  counts: Counts;
  total: number;
  activeDays: number;
  lastActive: string | null;
}

/** The range an answer covers; `keptFrom`: the first date the site keeps (null: no limit). */
function rangeJson(range: ReportRange, keptFrom: string | null) {
  return { from: range.from, to: range.to, tz: range.tz, keptFrom };
}

/**
 * The reports: resolves filters (space, user, group), runs one query per figure, and fills
 * in names from Confluence. Handlers authorise and call one method each.
 */
export class ReportService {
  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly clientFor: (tenant: Tenant) => ConfluenceClient,
    private readonly policies: TrackingPolicies,
    private readonly directory: GroupDirectory,
  ) {}

  /** What the site's settings exclude, as ids: left out of every figure. */
  private async exclusions(tenantId: number): Promise<Exclusions> {
    return resolveExclusions(this.db, tenantId, await this.policies.forTenant(tenantId));
  }

  private async scope(
    tenantId: number,
    space: string | null,
    accountId: string | null,
  ): Promise<Scope> {
    return resolveScope(this.db, tenantId, space, accountId);
  }

  /**
   * The part of the requested range the site's reports show: from its retention horizon on
   * (privacy/horizon.ts), in every figure alike. A range that starts earlier is clamped (the
   * answer's range says from when); one that ends before the horizon is refused.
   */
  private async kept<P extends { range: ReportRange }>(
    tenantId: number,
    p: P,
    now = new Date(),
  ): Promise<P & { keptFrom: string | null }> {
    const { retentionDays, historyFrom } = await this.policies.forTenant(tenantId);
    const from = keptFrom(retentionDays, p.range.tz, now, historyFrom);
    if (from === null || p.range.from >= from) return { ...p, keptFrom: from };
    if (p.range.to < from) {
      throw new InvalidInput(
        "before_retention",
        `This site's history starts on ${from} (its retention setting): choose a range that ends on ${from} or later`,
      );
    }
    return { ...p, range: buildRange(from, p.range.to, p.range.tz), keptFrom: from };
  }

  /**
   * Runs report queries in one read-only, repeatable-read transaction, with the zone's sealing
   * watermark read in it: the prefix slices and the live part then see the same data.
   */
  private async read<T>(
    tenantId: number,
    tz: string,
    fn: (trx: Knex.Transaction, zone: ZoneState | null) => Promise<T>,
  ): Promise<T> {
    await registerZone(this.db, tenantId, tz);
    return this.db.transaction(async (trx) => fn(trx, await readZone(trx, tenantId, tz)), {
      isolationLevel: "repeatable read",
      readOnly: true,
    });
  }

  async users(tenant: Tenant, requested: UsersParams) {
    const p = await this.kept(tenant.id, requested);
    // Group members as stored (refreshed by the directory job), with when they were refreshed.
    const refreshed: Date[] = [];
    if (p.group !== null) refreshed.push(await this.directory.members(tenant, p.group));
    const ex = await this.exclusions(tenant.id);
    const inactiveGroup = p.inactive
      ? await this.inactiveGroup(tenant, p.inactiveGroup, refreshed)
      : null;
    const licenceGroup = await this.siteUsersGroup(tenant, refreshed);
    const report = await this.read(tenant.id, p.range.tz, (trx, zone) =>
      getUsersReport(
        trx,
        tenant.id,
        p,
        zone,
        ex.accountIds,
        inactiveGroup,
        licenceGroup,
        ex.spaceIds,
      ),
    );
    const rows = await this.withNames(tenant, report.rows);
    const oldest = Math.min(...refreshed.map((d) => d.getTime()));
    return {
      range: rangeJson(p.range, p.keptFrom),
      /** When the oldest of the group memberships this answer used was read from Confluence. */
      membersRefreshedAt: refreshed.length ? new Date(oldest).toISOString() : null,
      total: report.total,
      rows,
      // users = listed people; siteUsers = members of confluence-users; outsideSiteUsers =
      // listed people not in it. So users - outsideSiteUsers <= siteUsers, always.
      summary: {
        users: report.summary.users,
        siteUsers: report.summary.siteUsers,
        outsideSiteUsers: report.summary.outsideSiteUsers,
        counts: report.summary.counts,
      },
    };
  }

  /** Every listed user, streamed from the database (a cursor on PostgreSQL). */
  async usersStream(
    tenant: Tenant,
    requested: Omit<UsersParams, "limit" | "offset">,
  ): Promise<Readable> {
    const p = await this.kept(tenant.id, requested);
    if (p.group !== null) await this.directory.members(tenant, p.group);
    // Before the transaction: on PGlite (one connection) a query outside it would wait forever.
    const ex = await this.exclusions(tenant.id);
    const inactiveGroup = p.inactive ? await this.inactiveGroup(tenant, p.inactiveGroup) : null;
    await registerZone(this.db, tenant.id, p.range.tz);
    const trx = await this.db.transaction(undefined, {
      isolationLevel: "repeatable read",
      readOnly: true,
    });
    try {
      const zone = await readZone(trx, tenant.id, p.range.tz);
      await planForManyPeople(trx, p);
      const { sql, bindings } = usersReportSql(
        tenant.id,
        p,
        zone,
        ex.accountIds,
        inactiveGroup,
        ex.spaceIds,
      );
      // Rows in batches of 1,000: each batch is a round trip that waits for the event loop, and
      // under load the default 100 made a 2,000-person export a tail of 20 of them.
      const stream = trx.raw(sql, bindings).stream({ batchSize: 1000 });
      const finish = () => {
        if (!trx.isCompleted()) trx.commit().catch(() => {});
      };
      stream.on("end", finish);
      stream.on("error", finish);
      stream.on("close", finish);
      return stream;
    } catch (error) {
      await trx.rollback().catch(() => {});
      throw error;
    }
  }

  /**
   * Events and active users per day, and active users per day averaged over the days of the
   * range the site was tracked (from its first install, to today at the latest).
   */
  async calendar(
    tenant: Tenant,
    requested: CommonParams & { accountId: string | null },
    now = new Date(),
  ) {
    const p = await this.kept(tenant.id, requested, now);
    const scope = await this.scope(tenant.id, p.space, p.accountId);
    const ex = await this.exclusions(tenant.id);
    const [days, since] = await this.read(tenant.id, p.range.tz, (trx, zone) =>
      Promise.all([
        getCalendar(trx, tenant.id, p.range, scope, zone, ex),
        getTrackedSince(trx, tenant.id),
      ]),
    );
    return {
      range: rangeJson(p.range, p.keptFrom),
      days,
      ...trackedAverage(days, since, p.range.tz, now),
    };
  }

  async breakdown(tenant: Tenant, requested: CommonParams & { accountId: string | null }) {
    const p = await this.kept(tenant.id, requested);
    const scope = await this.scope(tenant.id, p.space, p.accountId);
    const ex = await this.exclusions(tenant.id);
    const counts = await this.read(tenant.id, p.range.tz, (trx, zone) =>
      getBreakdown(trx, tenant.id, p.range, scope, zone, ex),
    );
    return { range: rangeJson(p.range, p.keptFrom), counts };
  }

  /** One user's activity dialog: KPIs, calendar, breakdown and recent events. */
  async userActivity(tenant: Tenant, accountId: string, requested: CommonParams, now = new Date()) {
    const p = await this.kept(tenant.id, requested, now);
    const person = await findPerson(this.db, tenant.id, accountId);
    const actorId = person?.actorId ?? NO_SUCH_ID;
    const scope = { ...(await this.scope(tenant.id, p.space, null)), actorId };
    const ex = await this.exclusions(tenant.id);
    const [days, counts] = await this.read(tenant.id, p.range.tz, (trx, zone) =>
      Promise.all([
        getCalendar(trx, tenant.id, p.range, scope, zone, ex),
        getBreakdown(trx, tenant.id, p.range, scope, zone, ex),
      ]),
    );
    const [recent, profile, last] = await Promise.all([
      getRecentEvents(this.db, tenant.id, actorId, p.range, scope.spaceId, ex),
      // The stored profile, however old (the directory job refreshes it); looked up only if
      // it never was.
      this.withNames(tenant, [{ ...person, accountId, known: person?.known ?? null } as UserRow]),
      person ? getLastActive(this.db, tenant.id, person, scope.spaceId, ex) : null,
    ]);
    const activeInRange = days.filter((d) => d.events > 0).map((d) => d.date);
    const localToday = today(p.range.tz, now);
    return {
      accountId,
      displayName: profile[0]?.displayName ?? accountId,
      avatarUrl: profile[0]?.avatarUrl ?? null,
      profileUrl: profile[0]?.profileUrl ?? null,
      range: rangeJson(p.range, p.keptFrom),
      activeDays: activeInRange.length,
      // All three describe the range: currentStreak <= longestStreak <= activeDays <= days.
      longestStreak: longestStreak(activeInRange),
      currentStreak: currentStreak(new Set(activeInRange), p.range, localToday),
      /** False when the range ends before yesterday: the streak is the one at its end. */
      currentStreakIsLive: streakIsCurrent(p.range, localToday),
      lastActive: last,
      counts,
      days,
      recent: recent.map((e) => ({ ...e, url: contentUrl(tenant.baseUrl, e) })),
    };
  }

  /** The site's groups (listed again every ten minutes, in the background once known). */
  async groups(tenant: Tenant): Promise<Group[]> {
    return this.directory.groups(tenant);
  }

  /** The group whose members "inactive users" are drawn from, its members as stored. */
  private async inactiveGroup(
    tenant: Tenant,
    requested: string | null,
    refreshed: Date[] = [],
  ): Promise<string> {
    const id = requested ?? (await this.directory.licenceGroupId(tenant));
    if (id === null) {
      throw new InvalidInput(
        "invalid_parameter",
        `inactiveGroup is required: this site has no ${LICENCE_GROUP} group`,
      );
    }
    refreshed.push(await this.directory.members(tenant, id, requested !== null));
    return id;
  }

  /**
   * The group of all user accounts of the site (confluence-users), its members as stored, for
   * the users summary to count (siteUsers, and the listed people outside it). Null when
   * Confluence cannot say (the report still answers, without those two figures).
   */
  private async siteUsersGroup(tenant: Tenant, refreshed: Date[] = []): Promise<string | null> {
    try {
      const id = await this.directory.licenceGroupId(tenant);
      if (id === null) return null;
      refreshed.push(await this.directory.members(tenant, id, false));
      return id;
    } catch (error) {
      this.logger.warn({ err: error, tenantId: tenant.id }, "could not count site users");
      return null;
    }
  }

  /**
   * Names as stored in user_profile (the directory job refreshes those older than a day).
   * Only the rows of this answer never looked up at all are looked up now (ceil(rows / 100)
   * calls, one for a page of 50; the job looks up everyone active within its interval, so
   * this is rare): a person shown by account id would be wrong, not just old. Unknown
   * accounts show their account id.
   */
  private async withNames(tenant: Tenant, rows: UserRow[]): Promise<ApiUserRow[]> {
    const missing = rows.filter((r) => r.known == null).map((r) => r.accountId);
    const fetched = missing.length
      ? await ensureProfiles(this.db, this.clientFor(tenant), tenant, missing, this.logger)
      : new Map();
    return rows.map((r) => {
      const p = fetched.get(r.accountId);
      const displayName = p ? p.displayName : r.displayName;
      return {
        accountId: r.accountId,
        displayName: displayName ?? r.accountId,
        avatarUrl: p ? p.avatarUrl : (r.avatarUrl ?? null),
        profileUrl: p ? p.profileUrl : (r.profileUrl ?? null),
        counts: r.counts,
        total: r.total,
        activeDays: r.activeDays,
        lastActive: r.lastActive,
      };
    });
  }
}

/** A link to the content in Confluence, where one can be built from what the event carried. */
export function contentUrl(
  baseUrl: string,
  e: {
    contentId: string | null;
    contentType: string | null;
    spaceKey: string | null;
    type: EventType;
  },
): string | null {
  const site = baseUrl.replace(/\/$/, "");
  const pageLike =
    e.contentType === "page" || e.contentType === "blogpost" || e.contentType === null;
  if (e.contentId && pageLike) {
    return `${site}/pages/viewpage.action?pageId=${encodeURIComponent(e.contentId)}`;
  }
  if (e.spaceKey) return `${site}/spaces/${encodeURIComponent(e.spaceKey)}`;
  return null;
}
