import type { Db } from "../../db/knex.js";
import { type EventType, typeFromCode, webhookByCode } from "../../events/types.js";
import { type Exclusions, keepIncludedSql, NO_EXCLUSIONS } from "../exclusions.js";
import type { ReportRange } from "../range.js";
import { MASKS_CTE, masksJson, overlappingUtcDays, ZERO_MASK } from "./sql.js";

/** The local dates on which one user was active, in order (from user_day's quarter bits). */
export async function getActiveDates(
  db: Db,
  tenantId: number,
  actorId: number,
  range: ReportRange,
): Promise<string[]> {
  const { first, last } = overlappingUtcDays(range);
  const rows = (
    await db.raw(
      `WITH ${MASKS_CTE}
       SELECT DISTINCT m.local_day::text AS day
       FROM user_day u JOIN masks m ON u.day = m.utc_day
       WHERE u.tenant_id = ? AND u.actor_id = ? AND u.day >= ?::date AND u.day <= ?::date
         AND (u.quarters & m.mask) <> ?::bit(96)
       ORDER BY 1`,
      [masksJson(range), tenantId, actorId, first, last, ZERO_MASK],
    )
  ).rows as { day: string }[];
  return rows.map((r) => r.day);
}

export interface RecentEvent {
  type: EventType;
  event: string;
  occurredAt: string;
  spaceKey: string | null;
  contentId: string | null;
  contentType: string | null;
  title: string | null;
}

/** One user's most recent events in the range (newest first), with their content. */
export async function getRecentEvents(
  db: Db,
  tenantId: number,
  actorId: number,
  range: ReportRange,
  spaceId: number | null,
  ex: Exclusions = NO_EXCLUSIONS,
  limit = 20,
): Promise<RecentEvent[]> {
  const bindings: (string | number)[] = [
    tenantId,
    actorId,
    range.start.toISOString(),
    range.end.toISOString(),
  ];
  let space = "";
  if (spaceId !== null) {
    space = "AND e.space_id = ?";
    bindings.push(spaceId);
  }
  const keep = keepIncludedSql(ex, "e.");
  bindings.push(...keep.bindings, limit);
  const rows = (
    await db.raw(
      `SELECT e.type, e.webhook, e.occurred_at, s.space_key, c.content_key, c.content_type, c.title
       FROM event e
       LEFT JOIN space s ON s.tenant_id = e.tenant_id AND s.id = e.space_id
       LEFT JOIN content c ON c.tenant_id = e.tenant_id AND c.id = e.content_id
       WHERE e.tenant_id = ? AND e.actor_id = ? AND e.occurred_at >= ? AND e.occurred_at < ? ${space}
         ${keep.sql}
       ORDER BY e.occurred_at DESC, e.id DESC
       LIMIT ?`,
      bindings,
    )
  ).rows as Record<string, unknown>[];
  return rows.map((r) => ({
    type: typeFromCode(Number(r.type)),
    event: webhookByCode(Number(r.webhook))?.event ?? "unknown",
    occurredAt: new Date(r.occurred_at as string).toISOString(),
    spaceKey: (r.space_key as string | null) ?? null,
    contentId: (r.content_key as string | null) ?? null,
    contentType: (r.content_type as string | null) ?? null,
    title: (r.title as string | null) ?? null,
  }));
}
