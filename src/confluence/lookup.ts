import { ConfluenceError, type ConfluenceClient, type ConfluenceResponse } from "./client.js";

/**
 * Looking people, spaces and groups up in Confluence: to check the identifiers an admin saves
 * in the settings (each must name something that exists; a space is saved under its real key),
 * and to search them by name for the Settings tab's pickers.
 *
 * Every call that Confluence fails (5xx or 429 after the client's retries, or no answer) throws
 * a ConfluenceError: the caller answers 503 and saves nothing. A 4xx about the identifier
 * itself (404, 400) means "no such thing".
 */

export interface FoundPerson {
  accountId: string;
  displayName: string;
  avatarUrl: string | null;
  profileUrl: string;
}

export interface FoundSpace {
  key: string;
  name: string;
}

export interface FoundGroup {
  id: string;
  name: string;
}

interface ApiUser {
  accountId?: string;
  displayName?: string | null;
  publicName?: string | null;
  profilePicture?: { path?: string } | null;
}

interface ApiSpace {
  key?: string;
  name?: string;
}

/** Most results a picker search answers. */
export const LOOKUP_LIMIT = 20;
const BULK_USERS = 100;
const KEYS_PER_CALL = 100;
/** Longest query string one call carries (URLs past a few KB are refused by servers). */
const MAX_QUERY_CHARS = 4000;
const GROUP_CONCURRENCY = 8;

function failed(res: ConfluenceResponse<unknown>, path: string): ConfluenceError {
  return new ConfluenceError(res.status, `GET ${path} answered ${res.status}`);
}

/** A 4xx that says the identifier names nothing (as opposed to Confluence failing us). */
const isNotFound = (status: number) => status === 404 || status === 400;

function toPerson(u: ApiUser, baseUrl: string): FoundPerson | null {
  if (!u.accountId) return null;
  const path = u.profilePicture?.path;
  const site = baseUrl.replace(/\/$/, "");
  return {
    accountId: u.accountId,
    displayName: u.displayName || u.publicName || u.accountId,
    avatarUrl: path ? new URL(path, new URL(baseUrl).origin).toString() : null,
    profileUrl: `${site}/people/${encodeURIComponent(u.accountId)}`,
  };
}

/**
 * The people among `accountIds` who exist, by account id, in bulk (100 a call). Should the bulk
 * endpoint refuse a chunk (an id that is not an account id at all can make it answer 400),
 * that chunk is checked one id at a time.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-bulk-get
 */
export async function findPeople(
  client: ConfluenceClient,
  baseUrl: string,
  accountIds: string[],
): Promise<Map<string, FoundPerson>> {
  const found = new Map<string, FoundPerson>();
  const params = [...new Set(accountIds)].map((id) => `accountId=${encodeURIComponent(id)}`);
  for (const part of chunks(params, BULK_USERS)) {
    const chunk = part.map((p) => decodeURIComponent(p.slice("accountId=".length)));
    const path = `/rest/api/user/bulk?${part.join("&")}&limit=${BULK_USERS}`;
    const res = await client.get<{ results?: ApiUser[] }>(path);
    if (res.status >= 200 && res.status < 300) {
      for (const u of res.body?.results ?? []) {
        const p = toPerson(u, baseUrl);
        if (p && chunk.includes(p.accountId)) found.set(p.accountId, p);
      }
      continue;
    }
    if (!isNotFound(res.status)) throw failed(res, path);
    await eachLimited(chunk, GROUP_CONCURRENCY, async (id) => {
      const one = `/rest/api/user?accountId=${encodeURIComponent(id)}`;
      const r = await client.get<ApiUser>(one);
      if (r.status >= 200 && r.status < 300) {
        const p = toPerson(r.body ?? {}, baseUrl);
        if (p && p.accountId === id) found.set(id, p);
      } else if (!isNotFound(r.status)) throw failed(r, one);
    });
  }
  return found;
}

/** The spaces Confluence answers for `keys` (v2, 100 keys a call), by their real key. */
async function spacesByKeys(
  client: ConfluenceClient,
  keys: string[],
): Promise<Map<string, FoundSpace>> {
  const found = new Map<string, FoundSpace>();
  for (const chunk of chunks(keys.map(encodeURIComponent), KEYS_PER_CALL)) {
    let path: string | null = `/api/v2/spaces?keys=${chunk.join(",")}&limit=250`;
    while (path) {
      const res: ConfluenceResponse<{ results?: ApiSpace[]; _links?: { next?: string } }> =
        await client.get(path);
      if (isNotFound(res.status)) break;
      if (res.status < 200 || res.status >= 300) throw failed(res, path);
      for (const s of res.body?.results ?? []) {
        if (s.key) found.set(s.key, { key: s.key, name: s.name || s.key });
      }
      path = nextPath(res.body?._links?.next, "/api/v2/spaces");
    }
  }
  return found;
}

/**
 * The real space behind each of `keys`, by the key as given (case differences forgiven: a key
 * not found as typed is looked up in upper and in lower case, so `hr` finds space `HR`).
 * Keys that name no space are absent from the answer.
 * https://developer.atlassian.com/cloud/confluence/rest/v2/api-group-space/#api-spaces-get
 */
export async function findSpaces(
  client: ConfluenceClient,
  keys: string[],
): Promise<Map<string, FoundSpace>> {
  const unique = [...new Set(keys)];
  const answer = new Map<string, FoundSpace>();
  /** The space `k` names among those found: its exact key, else the same key in another case. */
  const match = (k: string, found: Map<string, FoundSpace>) =>
    found.get(k) ?? [...found.values()].find((s) => s.key.toLowerCase() === k.toLowerCase());
  const first = await spacesByKeys(client, unique);
  for (const k of unique) {
    const s = match(k, first);
    if (s) answer.set(k, s);
  }
  const missing = unique.filter((k) => !answer.has(k));
  const variants = (k: string) =>
    [...new Set([k.toUpperCase(), k.toLowerCase()])].filter((v) => v !== k);
  const other = [...new Set(missing.flatMap(variants))];
  if (other.length > 0) {
    const second = await spacesByKeys(client, other);
    for (const k of missing) {
      const s = match(k, second);
      if (s) answer.set(k, s);
    }
  }
  return answer;
}

/**
 * The groups among `ids` that exist, with their names (one call a group, a few at a time).
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-group/#api-wiki-rest-api-group-by-id-get
 */
export async function findGroups(
  client: ConfluenceClient,
  ids: string[],
): Promise<Map<string, FoundGroup>> {
  const found = new Map<string, FoundGroup>();
  await eachLimited([...new Set(ids)], GROUP_CONCURRENCY, async (id) => {
    const path = `/rest/api/group/by-id?id=${encodeURIComponent(id)}`;
    const res = await client.get<{ id?: string; name?: string }>(path);
    if (res.status >= 200 && res.status < 300) {
      if (res.body?.id === id && res.body.name) found.set(id, { id, name: res.body.name });
    } else if (!isNotFound(res.status)) throw failed(res, path);
  });
  return found;
}

/**
 * The words of a search as CQL can take them inside a quoted string: letters, digits and a few
 * name characters; CQL and Lucene operators (quotes, backslashes, wildcards, brackets) become
 * spaces, so what a person types is never read as query syntax.
 */
export function searchWords(q: string): string {
  return q
    .normalize("NFC")
    .replace(/[^\p{L}\p{M}\p{N}'._@-]+/gu, " ")
    .trim()
    .replace(/\s+/g, " ")
    .slice(0, 100);
}

/**
 * People whose name starts with the words searched (Confluence's own user search), at most 20.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-search/#api-wiki-rest-api-search-user-get
 */
export async function searchPeople(
  client: ConfluenceClient,
  baseUrl: string,
  q: string,
  limit = LOOKUP_LIMIT,
): Promise<FoundPerson[]> {
  const words = searchWords(q);
  if (!words) return [];
  const cql = `user.fullname~"${words}"`;
  const path = `/rest/api/search/user?cql=${encodeURIComponent(cql)}&limit=${limit}`;
  const res = await client.get<{ results?: { user?: ApiUser }[] }>(path);
  if (res.status === 400) return []; // a search Confluence cannot read finds nobody
  if (res.status < 200 || res.status >= 300) throw failed(res, path);
  const people: FoundPerson[] = [];
  for (const r of res.body?.results ?? []) {
    const p = r.user ? toPerson(r.user, baseUrl) : null;
    if (p && !people.some((x) => x.accountId === p.accountId)) people.push(p);
  }
  return people.slice(0, limit);
}

/**
 * Spaces by name (words starting the title) or by key (exact, any case), at most 20, a key
 * match first.
 * https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-search/#api-wiki-rest-api-search-get
 */
export async function searchSpaces(
  client: ConfluenceClient,
  q: string,
  limit = LOOKUP_LIMIT,
): Promise<FoundSpace[]> {
  const words = searchWords(q);
  if (!words) return [];
  const spaces: FoundSpace[] = [];
  const add = (s: FoundSpace) => {
    if (!spaces.some((x) => x.key === s.key)) spaces.push(s);
  };
  const key = q.trim();
  if (/^~?[A-Za-z0-9]{1,255}$/.test(key)) {
    for (const s of (await findSpaces(client, [key])).values()) add(s);
  }
  const cql = `type=space AND space.title~"${words}*"`;
  const path = `/rest/api/search?cql=${encodeURIComponent(cql)}&limit=${limit}`;
  const res = await client.get<{ results?: { space?: ApiSpace }[] }>(path);
  if (res.status !== 400) {
    if (res.status < 200 || res.status >= 300) throw failed(res, path);
    for (const r of res.body?.results ?? []) {
      if (r.space?.key) add({ key: r.space.key, name: r.space.name || r.space.key });
    }
  }
  return spaces.slice(0, limit);
}

/** Confluence's `_links.next` as a path the client can call, or null. */
function nextPath(next: string | undefined, prefix: string): string | null {
  if (!next) return null;
  const at = next.indexOf(prefix);
  return at >= 0 ? next.slice(at) : null;
}

/** `items` (already URL-encoded) in runs of at most `max` and MAX_QUERY_CHARS characters. */
function chunks(items: string[], max: number): string[][] {
  const out: string[][] = [];
  let run: string[] = [];
  let chars = 0;
  for (const item of items) {
    if (run.length > 0 && (run.length >= max || chars + item.length + 1 > MAX_QUERY_CHARS)) {
      out.push(run);
      run = [];
      chars = 0;
    }
    run.push(item);
    chars += item.length + 1;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure rejects. */
async function eachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
