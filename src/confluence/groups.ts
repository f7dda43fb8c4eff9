import type { Db } from "../db/knex.js";
import { HttpError } from "../http/errors.js";
import type { ConfluenceClient } from "./client.js";

const MEMBERS_MAX_AGE_MS = 10 * 60 * 1000;
const PAGE = 200;

interface Paged<T> {
  results?: T[];
  _links?: { next?: string };
}

/**
 * Current members of a group, cached in `group_member` and refreshed when older than ten
 * minutes (the users report filters by current membership, as Confluence shows it).
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-group/#api-wiki-rest-api-group-groupid-membersbygroupid-get
 */
export async function refreshGroupMembers(
  db: Db,
  client: ConfluenceClient,
  tenantId: number,
  groupId: string,
  maxAgeMs = MEMBERS_MAX_AGE_MS,
): Promise<void> {
  const cached = await db("group_cache")
    .where({ tenant_id: tenantId, group_id: groupId })
    .first("fetched_at");
  if (cached && Date.now() - new Date(cached.fetched_at).getTime() < maxAgeMs) return;

  const members: string[] = [];
  for (let start = 0; ;) {
    const res = await client.get<Paged<{ accountId?: string }>>(
      `/rest/api/group/${encodeURIComponent(groupId)}/membersByGroupId?start=${start}&limit=${PAGE}`,
    );
    if (res.status === 404)
      throw new HttpError(400, "invalid_parameter", `group ${groupId} does not exist`);
    if (res.status !== 200)
      throw new HttpError(502, "confluence_unavailable", "Confluence did not list the group");
    const results = res.body.results ?? [];
    for (const m of results) if (m.accountId) members.push(m.accountId);
    if (results.length === 0 || !res.body._links?.next) break;
    start += results.length;
  }
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
      `INSERT INTO group_cache (tenant_id, group_id, fetched_at) VALUES (?, ?, now())
       ON CONFLICT (tenant_id, group_id) DO UPDATE SET fetched_at = now()`,
      [tenantId, groupId],
    );
  });
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
