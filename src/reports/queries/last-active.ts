import type { Db } from "../../db/knex.js";
import { type Exclusions, intArray } from "../exclusions.js";
import type { Person } from "./person.js";

/**
 * When a person was last active, whatever the range: on the site, or in one space. What
 * exclusions cover does not count: an excluded person or space has none; with excluded
 * spaces, the latest event left (one backwards index probe), or the stored time when
 * retention removed them all. Site-wide without excluded spaces: the person's stored time,
 * with no query.
 */
export async function getLastActive(
  db: Db,
  tenantId: number,
  person: Pick<Person, "actorId" | "lastActiveAt">,
  spaceId: number | null,
  ex: Exclusions,
): Promise<string | null> {
  const { actorId } = person;
  if (ex.actorIds.includes(actorId) || (spaceId !== null && ex.spaceIds.includes(spaceId))) {
    return null;
  }
  if (spaceId === null && ex.spaceIds.length > 0) {
    const left = (
      await db.raw(
        `SELECT occurred_at FROM event
         WHERE tenant_id = ? AND actor_id = ? AND (space_id IS NULL OR space_id <> ALL(?::int[]))
         ORDER BY occurred_at DESC LIMIT 1`,
        [tenantId, actorId, intArray(ex.spaceIds)],
      )
    ).rows[0] as { occurred_at: string | Date } | undefined;
    if (left) return new Date(left.occurred_at).toISOString();
    // Raw events left, all in excluded spaces: never active as far as the figures go.
    const any = await db("event").where({ tenant_id: tenantId, actor_id: actorId }).first("id");
    if (any) return null;
  }
  if (spaceId === null) return person.lastActiveAt;
  const row = await db("space_actor")
    .where({ tenant_id: tenantId, space_id: spaceId, actor_id: actorId })
    .first("last_active_at");
  return row?.last_active_at ? new Date(row.last_active_at).toISOString() : null;
}
