import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import type { Scope } from "./calendar.js";

/** Scope id for a space key or account the site has no events of: matches no row. */
export const NO_SUCH_ID = -1;

/**
 * A report's filters as the ids the queries use: the space (by key) and the person (by
 * account id); null when not filtered, NO_SUCH_ID when the site has never seen it.
 */
export async function resolveScope(
  db: Db | Knex.Transaction,
  tenantId: number,
  spaceKey: string | null,
  accountId: string | null,
): Promise<Scope> {
  const space =
    spaceKey === null
      ? null
      : await db("space").where({ tenant_id: tenantId, space_key: spaceKey }).first("id");
  const actor =
    accountId === null
      ? null
      : await db("actor").where({ tenant_id: tenantId, account_id: accountId }).first("id");
  const id = (filter: string | null, row: { id: number } | undefined | null) =>
    filter === null ? null : row ? Number(row.id) : NO_SUCH_ID;
  return { spaceId: id(spaceKey, space), actorId: id(accountId, actor) };
}
