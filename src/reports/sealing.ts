import type { Knex } from "knex";
import type { Db } from "../db/knex.js";
import { type Periodic, startPeriodic } from "../jobs/periodic.js";
import type { Logger } from "../log.js";
import { RAW_TYPE_COUNTS } from "./queries/sql.js";
import {
  addDays,
  buildRange,
  localDate,
  localDayStart,
  MAX_DAY_LOOP,
  type ReportRange,
} from "./range.js";

/**
 * Sealing: for each zone a site's viewers use, local days that are over are folded, one by
 * one, into dense prefix sums (zone_user_day: per actor, cumulative counts and active days;
 * zone_site_day: active users per day). Reports read two slices of it instead of scanning
 * every user-day of the range; the days not sealed yet come from the live rollups.
 *
 * Consistency: the sealer takes a per-tenant advisory lock exclusively; every ingestion
 * batch takes it shared, and a batch holding an event for an already sealed day unseals
 * from that day (the sealer then redoes those days). So a sealed day never misses an event.
 */
export const SEAL_GRACE_MS = 60 * 60 * 1000;
export const MAX_ZONES_PER_SITE = 8;
/**
 * Days one sealer run seals per zone, at most: a zone's older history is sealed over the
 * following runs (reports stay exact meanwhile, from the rollups).
 */
export const MAX_SEAL_DAYS_PER_RUN = MAX_DAY_LOOP;
const LOCK_NAMESPACE = 8_734_211;

export interface ZoneState {
  id: number;
  zone: string;
  sealedThrough: string | null;
}

/** Marks a zone as used by a tenant's viewers, so the sealer keeps it up to date. */
export async function registerZone(db: Db, tenantId: number, zone: string): Promise<void> {
  await db.raw(
    `INSERT INTO report_zone (tenant_id, zone) VALUES (?, ?)
     ON CONFLICT (tenant_id, zone) DO UPDATE SET last_used_at = now()
     WHERE report_zone.last_used_at < now() - interval '1 hour'`,
    [tenantId, zone],
  );
}

/** The zone's sealing watermark (null: not registered). */
export async function readZone(
  db: Db | Knex.Transaction,
  tenantId: number,
  zone: string,
): Promise<ZoneState | null> {
  const found = (
    await db.raw(
      "SELECT id, sealed_through::text AS sealed_through FROM report_zone WHERE tenant_id = ? AND zone = ?",
      [tenantId, zone],
    )
  ).rows[0] as { id: number; sealed_through: string | null } | undefined;
  return found ? { id: Number(found.id), zone, sealedThrough: found.sealed_through } : null;
}

/** A range's sealed part (read from the prefix tables) and live part (from the rollups). */
export interface SplitRange {
  sealed: { zoneId: number; from: string; to: string } | null;
  live: ReportRange | null;
}

export function splitRange(range: ReportRange, zone: ZoneState | null): SplitRange {
  const through = zone?.sealedThrough ?? null;
  if (!zone || through === null || range.from > through) return { sealed: null, live: range };
  const sealedTo = [range.to, through].sort()[0] as string;
  const sealed = { zoneId: zone.id, from: range.from, to: sealedTo };
  if (sealedTo === range.to) return { sealed, live: null };
  return { sealed, live: buildRange(addDays(sealedTo, 1), range.to, range.tz) };
}

/** Shared lock for ingestion batches (see above); call first in the batch's transaction. */
export async function lockTenantsShared(trx: Knex.Transaction, tenantIds: number[]): Promise<void> {
  for (const id of [...new Set(tenantIds)].sort((a, b) => a - b)) {
    await trx.raw("SELECT pg_advisory_xact_lock_shared(?, ?)", [LOCK_NAMESPACE, id]);
  }
}

/**
 * In an ingestion batch: for every sealed zone of these tenants whose sealed days hold one of
 * the batch's events, forget the sealed days from that event's local day on.
 */
export async function unsealForLateEvents(
  trx: Knex.Transaction,
  earliestByTenant: Map<number, Date>,
): Promise<void> {
  if (earliestByTenant.size === 0) return;
  const zones = (
    await trx.raw(
      `SELECT tenant_id, id, zone, sealed_until FROM report_zone
       WHERE tenant_id = ANY(?::int[]) AND sealed_until IS NOT NULL`,
      [`{${[...earliestByTenant.keys()].join(",")}}`],
    )
  ).rows as { tenant_id: number; id: number; zone: string; sealed_until: string | Date }[];
  for (const z of zones) {
    const earliest = earliestByTenant.get(Number(z.tenant_id));
    if (!earliest || earliest.getTime() >= new Date(z.sealed_until).getTime()) continue;
    const day = localDate(earliest, z.zone);
    await trx.raw(
      "DELETE FROM zone_user_day WHERE tenant_id = ? AND zone_id = ? AND local_day >= ?",
      [z.tenant_id, z.id, day],
    );
    await trx.raw(
      "DELETE FROM zone_site_day WHERE tenant_id = ? AND zone_id = ? AND local_day >= ?",
      [z.tenant_id, z.id, day],
    );
    const previous = addDays(day, -1);
    await trx.raw(
      `UPDATE report_zone SET sealed_through = ?::date, sealed_until = ?
       WHERE tenant_id = ? AND id = ?`,
      [previous, localDayStart(day, z.zone).toISOString(), z.tenant_id, z.id],
    );
  }
}

const COLS = [
  "view",
  "create",
  "edit",
  "delete",
  "comment",
  "like",
  "attachment",
  "label",
  "space",
  "other",
];

/**
 * Seals up to `maxDays` (at most MAX_SEAL_DAYS_PER_RUN) more local days of one zone, each in
 * its own short transaction. A day is sealed once it ended more than SEAL_GRACE_MS ago.
 * Returns the days sealed.
 */
export async function sealZone(
  db: Db,
  tenantId: number,
  zone: { id: number; zone: string },
  now: Date = new Date(),
  maxDays = 31,
): Promise<number> {
  const limit = Math.min(maxDays, MAX_SEAL_DAYS_PER_RUN);
  let sealed = 0;
  while (sealed < limit) {
    const done = await db.transaction(async (trx) => {
      await trx.raw("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, tenantId]);
      const state = (
        await trx.raw(
          "SELECT sealed_through::text AS sealed_through FROM report_zone WHERE tenant_id = ? AND id = ? FOR UPDATE",
          [tenantId, zone.id],
        )
      ).rows[0] as { sealed_through: string | null } | undefined;
      if (!state) return true;
      let day: string;
      if (state.sealed_through) {
        day = addDays(state.sealed_through, 1);
      } else {
        const first = (
          await trx.raw("SELECT min(occurred_at) AS first FROM event WHERE tenant_id = ?", [
            tenantId,
          ])
        ).rows[0] as { first: string | Date | null };
        if (!first?.first) return true;
        day = localDate(new Date(first.first), zone.zone);
      }
      const start = localDayStart(day, zone.zone);
      const end = localDayStart(addDays(day, 1), zone.zone);
      if (end.getTime() > now.getTime() - SEAL_GRACE_MS) return true;

      const previous = addDays(day, -1);
      await trx.raw(
        `WITH d AS (
           SELECT actor_id, count(*)::int AS events, ${RAW_TYPE_COUNTS}
           FROM event WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
           GROUP BY actor_id
         ),
         p AS (
           SELECT * FROM zone_user_day WHERE tenant_id = ? AND zone_id = ? AND local_day = ?::date
         )
         INSERT INTO zone_user_day (tenant_id, zone_id, local_day, actor_id, events,
           ${COLS.map((c) => `c_${c}`).join(", ")}, active_days)
         SELECT ?, ?, ?::date, coalesce(d.actor_id, p.actor_id), coalesce(d.events, 0),
           ${COLS.map((c) => `coalesce(p.c_${c}, 0) + coalesce(d.n_${c}, 0)`).join(", ")},
           coalesce(p.active_days, 0) + (CASE WHEN d.actor_id IS NULL THEN 0 ELSE 1 END)
         FROM p FULL JOIN d ON p.actor_id = d.actor_id`,
        [
          tenantId,
          start.toISOString(),
          end.toISOString(),
          tenantId,
          zone.id,
          previous,
          tenantId,
          zone.id,
          day,
        ],
      );
      await trx.raw(
        `INSERT INTO zone_site_day (tenant_id, zone_id, local_day, users, events)
         SELECT ?, ?, ?::date, count(*) FILTER (WHERE events > 0)::int, coalesce(sum(events), 0)::int
         FROM zone_user_day WHERE tenant_id = ? AND zone_id = ? AND local_day = ?::date`,
        [tenantId, zone.id, day, tenantId, zone.id, day],
      );
      await trx.raw(
        "UPDATE report_zone SET sealed_through = ?::date, sealed_until = ? WHERE tenant_id = ? AND id = ?",
        [day, end.toISOString(), tenantId, zone.id],
      );
      return false;
    });
    if (done) break;
    sealed++;
  }
  return sealed;
}

/**
 * Seals every zone used in the last 30 days, in small steps, until all are up to date or
 * MAX_SEAL_DAYS_PER_RUN days of a zone are sealed (the next run goes on from there).
 * Safe with several app instances (the advisory lock serialises them per tenant).
 */
export async function sealAll(db: Db, logger: Logger, now: Date = new Date()): Promise<number> {
  const zones = (
    await db.raw(
      // At most MAX_ZONES_PER_SITE zones a site (the most recently used): each costs a pass over
      // the site's history, and a report in any other zone is still exact, from the rollups.
      `SELECT tenant_id, id, zone FROM (
         SELECT tenant_id, id, zone,
           row_number() OVER (PARTITION BY tenant_id ORDER BY last_used_at DESC) AS rank
         FROM report_zone WHERE last_used_at > now() - interval '30 days'
       ) z WHERE rank <= ? ORDER BY tenant_id, id`,
      [MAX_ZONES_PER_SITE],
    )
  ).rows as { tenant_id: number; id: number; zone: string }[];
  let total = 0;
  for (const z of zones) {
    // Each step seals at least one day, or ends the loop: at most MAX_SEAL_DAYS_PER_RUN steps.
    for (let done = 0; done < MAX_SEAL_DAYS_PER_RUN;) {
      const n = await sealZone(
        db,
        Number(z.tenant_id),
        { id: Number(z.id), zone: z.zone },
        now,
        Math.min(31, MAX_SEAL_DAYS_PER_RUN - done),
      );
      total += n;
      done += n;
      if (n === 0) break;
    }
  }
  if (total > 0) logger.debug({ days: total }, "sealed report days");
  return total;
}

/** Runs sealAll every `intervalMs` until stopped; one run at a time. */
export function startSealer(db: Db, logger: Logger, intervalMs = 60_000): Periodic {
  return startPeriodic("sealing", () => sealAll(db, logger), {
    intervalMs,
    firstDelayMs: 1000,
    logger,
  });
}
