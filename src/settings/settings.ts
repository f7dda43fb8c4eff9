import { z } from "zod";
import { CLEAN_TEXT_RULE, isCleanText, MAX_ACCOUNT_ID } from "../text/identifier.js";
import { GROUP_ID, GROUP_ID_RULE, SPACE_KEY, SPACE_KEY_RULE } from "../confluence/keys.js";
import type { ConfluenceClient } from "../confluence/client.js";
import { findGroups, findPeople, findSpaces, type FoundPerson } from "../confluence/lookup.js";
import type { Db } from "../db/knex.js";
import { type ErrorDetail, InvalidInput } from "../errors.js";

/**
 * A site's tracking settings: who and what is excluded (account ids, group ids, space keys),
 * whether app accounts are tracked, and how long raw events are kept. Every excluded id must
 * name something that exists in Confluence (checked on save, see `checkWithConfluence`).
 */
export const settingsSchema = z.strictObject({
  excludedUsers: z
    .array(z.string().trim().min(1).max(MAX_ACCOUNT_ID).refine(isCleanText, "is not an account id"))
    .max(1000),
  excludedGroups: z.array(z.string().trim().regex(GROUP_ID, GROUP_ID_RULE)).max(200),
  excludedSpaces: z.array(z.string().trim().regex(SPACE_KEY, SPACE_KEY_RULE)).max(1000),
  trackAppAccounts: z.boolean(),
  /** Days raw events are kept (null: kept while installed); rollups keep counts either way. */
  retentionDays: z.number().int().min(30).max(3650).nullable(),
});

export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  excludedUsers: [],
  excludedGroups: [],
  excludedSpaces: [],
  trackAppAccounts: false,
  retentionDays: null,
};

const unique = (xs: string[]) => [...new Set(xs)].sort();

export function parseSettings(body: unknown): Settings {
  const result = settingsSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidInput(
      "invalid_settings",
      `${issue?.path.join(".") || "settings"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const s = result.data;
  return {
    ...s,
    excludedUsers: unique(s.excludedUsers),
    excludedGroups: unique(s.excludedGroups),
    excludedSpaces: unique(s.excludedSpaces),
  };
}

/** Names of the spaces and groups a settings change mentions, as stored with the audit line. */
export interface SavedNames {
  spaces: Record<string, string>;
  groups: Record<string, string>;
}

const NO_NAMES: SavedNames = { spaces: {}, groups: {} };

export interface CheckedSettings {
  /** The settings to save: spaces under their real keys (`hr` -> `HR`), lists deduplicated. */
  settings: Settings;
  names: SavedNames;
  /** The people looked up (the excluded ones and whoever saves), to remember their names. */
  people: FoundPerson[];
}

/** How many bad entries the error message names (`details` lists them all). */
const MESSAGE_ENTRIES = 5;

/**
 * Checks every excluded id against Confluence: each person must exist (an account id, not a
 * display name), each space must exist (a key typed in another case is saved under the space's
 * real key), each group must exist. Throws a 400 `invalid_settings` whose `details` name every
 * bad entry; a ConfluenceError (Confluence failing or unreachable) propagates, as a 503.
 * Entries already saved (`previous`) are never refused: a space or group deleted in Confluence
 * since must not block every later save (nor must removing it be the only way to save).
 */
export async function checkWithConfluence(
  client: ConfluenceClient,
  baseUrl: string,
  settings: Settings,
  savedBy: string,
  previous: Settings = DEFAULT_SETTINGS,
): Promise<CheckedSettings> {
  const [people, spaces, groups] = await Promise.all([
    findPeople(client, baseUrl, [...settings.excludedUsers, savedBy]),
    findSpaces(client, settings.excludedSpaces),
    findGroups(client, settings.excludedGroups),
  ]);
  const kept = {
    excludedUsers: new Set(previous.excludedUsers),
    excludedGroups: new Set(previous.excludedGroups),
    excludedSpaces: new Set(previous.excludedSpaces),
  };
  const details: ErrorDetail[] = [
    ...settings.excludedUsers
      .filter((id) => !people.has(id) && !kept.excludedUsers.has(id))
      .map((value) => ({ field: "excludedUsers", value, problem: "no such person" })),
    ...settings.excludedGroups
      .filter((id) => !groups.has(id) && !kept.excludedGroups.has(id))
      .map((value) => ({ field: "excludedGroups", value, problem: "no such group" })),
    ...settings.excludedSpaces
      .filter((key) => !spaces.has(key) && !kept.excludedSpaces.has(key))
      .map((value) => ({ field: "excludedSpaces", value, problem: "no such space" })),
  ];
  if (details.length > 0) {
    const named = details
      .slice(0, MESSAGE_ENTRIES)
      .map((d) => `${d.field} ${JSON.stringify(d.value)} (${d.problem})`)
      .join(", ");
    const more =
      details.length > MESSAGE_ENTRIES ? ` and ${details.length - MESSAGE_ENTRIES} more` : "";
    const hint = details.some((d) => d.field === "excludedUsers")
      ? " People are saved by account id (pick them by name in the Settings tab)."
      : "";
    throw new InvalidInput(
      "invalid_settings",
      `${details.length === 1 ? "1 entry does" : `${details.length} entries do`} not exist in Confluence: ${named}${more}.${hint}`,
      details,
    );
  }
  const realKeys = settings.excludedSpaces.map((k) => spaces.get(k)?.key ?? k);
  const names: SavedNames = { spaces: {}, groups: {} };
  for (const s of spaces.values()) names.spaces[s.key] = s.name;
  for (const g of groups.values()) names.groups[g.id] = g.name;
  return {
    settings: { ...settings, excludedSpaces: unique(realKeys) },
    names,
    people: [...people.values()],
  };
}

/**
 * Remembers the names and avatars of people Confluence just answered for, in the profile cache
 * the reports read (`user_profile`), so the audit and the pickers can show names.
 */
export async function rememberPeople(
  db: Db,
  tenantId: number,
  people: FoundPerson[],
): Promise<void> {
  if (people.length === 0) return;
  await db.raw(
    `INSERT INTO user_profile (tenant_id, account_id, known, display_name, avatar_url, profile_url, fetched_at)
     SELECT ?, account_id, true, display_name, avatar_url, profile_url, now()
     FROM json_to_recordset(?::json) AS t(account_id text, display_name text, avatar_url text,
       profile_url text)
     ON CONFLICT (tenant_id, account_id) DO UPDATE SET known = true,
       display_name = EXCLUDED.display_name, avatar_url = EXCLUDED.avatar_url,
       profile_url = EXCLUDED.profile_url, fetched_at = EXCLUDED.fetched_at`,
    [
      tenantId,
      JSON.stringify(
        people.map((p) => ({
          account_id: p.accountId,
          display_name: p.displayName,
          avatar_url: p.avatarUrl,
          profile_url: p.profileUrl,
        })),
      ),
    ],
  );
}

export async function readSettings(db: Db, tenantId: number): Promise<Settings> {
  const row = await db("tenant_settings").where({ tenant_id: tenantId }).first("settings");
  if (!row) return DEFAULT_SETTINGS;
  const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...row.settings });
  return parsed.success ? parsed.data : DEFAULT_SETTINGS;
}

/**
 * Saves settings and the audit line (who, before, after, and the names of the spaces and
 * groups either side mentions) in one transaction.
 */
export async function saveSettings(
  db: Db,
  tenantId: number,
  accountId: string,
  next: Settings,
  names: SavedNames = NO_NAMES,
): Promise<Settings> {
  await db.transaction(async (trx) => {
    const before =
      (
        await trx.raw("SELECT settings FROM tenant_settings WHERE tenant_id = ? FOR UPDATE", [
          tenantId,
        ])
      ).rows[0]?.settings ?? DEFAULT_SETTINGS;
    // The removed entries' names: as the previous change saved them.
    const last = (await trx("settings_audit")
      .where({ tenant_id: tenantId })
      .orderBy("id", "desc")
      .first("names")) as { names: SavedNames | null } | undefined;
    const all: SavedNames = {
      spaces: { ...last?.names?.spaces, ...names.spaces },
      groups: { ...last?.names?.groups, ...names.groups },
    };
    const b = { ...DEFAULT_SETTINGS, ...(before as Partial<Settings>) };
    const mentioned: SavedNames = {
      spaces: pick(all.spaces, [...b.excludedSpaces, ...next.excludedSpaces]),
      groups: pick(all.groups, [...b.excludedGroups, ...next.excludedGroups]),
    };
    await trx.raw(
      `INSERT INTO tenant_settings (tenant_id, settings, updated_at, updated_by)
       VALUES (?, ?::jsonb, now(), ?)
       ON CONFLICT (tenant_id) DO UPDATE SET settings = EXCLUDED.settings,
         updated_at = now(), updated_by = EXCLUDED.updated_by`,
      [tenantId, JSON.stringify(next), accountId],
    );
    await trx.raw(
      `INSERT INTO settings_audit (tenant_id, account_id, before, after, names)
       VALUES (?, ?, ?::jsonb, ?::jsonb, ?::jsonb)`,
      [
        tenantId,
        accountId,
        JSON.stringify(before),
        JSON.stringify(next),
        JSON.stringify(mentioned),
      ],
    );
  });
  return next;
}

function pick(names: Record<string, string>, ids: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of ids) if (Object.hasOwn(names, id)) out[id] = names[id] as string;
  return out;
}

/** An excluded person, group or space in an audit entry: its id, and its name when known. */
export interface NamedId {
  id: string;
  name: string | null;
}

export type AuditChange =
  | {
      field: "excludedUsers" | "excludedGroups" | "excludedSpaces";
      added: NamedId[];
      removed: NamedId[];
    }
  | { field: "trackAppAccounts"; from: boolean; to: boolean }
  | { field: "retentionDays"; from: number | null; to: number | null };

export interface AuditEntry {
  changedAt: string;
  /** Who saved, and their name when known (null otherwise). */
  accountId: string;
  displayName: string | null;
  /** What this save changed (empty when it changed nothing), with names where known. */
  changes: AuditChange[];
  before: Settings;
  after: Settings;
}

/** The names of people, spaces and groups the app knows, for ids it shows. */
export interface KnownNames {
  users: Record<string, string>;
  spaces: Record<string, string>;
  groups: Record<string, string>;
}

/** Display names from `user_profile` (people Confluence still knows), by account id. */
async function peopleNames(
  db: Db,
  tenantId: number,
  accountIds: string[],
): Promise<Record<string, string>> {
  const ids = [...new Set(accountIds)];
  if (ids.length === 0) return {};
  const rows = (await db("user_profile")
    .where({ tenant_id: tenantId, known: true })
    .whereIn("account_id", ids)
    .whereNotNull("display_name")
    .select("account_id", "display_name")) as { account_id: string; display_name: string }[];
  return Object.fromEntries(rows.map((r) => [r.account_id, r.display_name]));
}

const LIST_FIELDS = ["excludedUsers", "excludedGroups", "excludedSpaces"] as const;

function diff(before: Settings, after: Settings, names: KnownNames): AuditChange[] {
  const changes: AuditChange[] = [];
  const of = {
    excludedUsers: names.users,
    excludedGroups: names.groups,
    excludedSpaces: names.spaces,
  };
  for (const field of LIST_FIELDS) {
    const b = new Set(before[field]);
    const a = new Set(after[field]);
    const named = (id: string): NamedId => ({
      id,
      name: Object.hasOwn(of[field], id) ? (of[field][id] as string) : null,
    });
    const added = [...a]
      .filter((x) => !b.has(x))
      .sort()
      .map(named);
    const removed = [...b]
      .filter((x) => !a.has(x))
      .sort()
      .map(named);
    if (added.length || removed.length) changes.push({ field, added, removed });
  }
  if (before.trackAppAccounts !== after.trackAppAccounts) {
    changes.push({
      field: "trackAppAccounts",
      from: before.trackAppAccounts,
      to: after.trackAppAccounts,
    });
  }
  if (before.retentionDays !== after.retentionDays) {
    changes.push({ field: "retentionDays", from: before.retentionDays, to: after.retentionDays });
  }
  return changes;
}

/** Stored settings as saved, with any field an older version did not have at its default. */
const complete = (s: unknown): Settings => ({
  ...DEFAULT_SETTINGS,
  ...(typeof s === "object" && s !== null ? (s as Partial<Settings>) : {}),
});

/**
 * The latest settings changes, newest first: who (with their name), what changed (people,
 * groups and spaces added and removed, with names where known; flags from/to), and the whole
 * settings before and after.
 */
export async function readAudit(db: Db, tenantId: number, limit = 50): Promise<AuditEntry[]> {
  const rows = (await db("settings_audit")
    .where({ tenant_id: tenantId })
    .orderBy("id", "desc")
    .limit(limit)
    .select("changed_at", "account_id", "before", "after", "names")) as {
    changed_at: Date | string;
    account_id: string;
    before: unknown;
    after: unknown;
    names: SavedNames | null;
  }[];
  const entries = rows.map((r) => ({ ...r, before: complete(r.before), after: complete(r.after) }));
  const people = await peopleNames(db, tenantId, [
    ...entries.map((r) => r.account_id),
    ...entries.flatMap((r) => [...r.before.excludedUsers, ...r.after.excludedUsers]),
  ]);
  // A name saved with any of these changes serves the others (newest first wins).
  const spaces: Record<string, string> = {};
  const groups: Record<string, string> = {};
  for (const r of [...entries].reverse()) {
    Object.assign(spaces, r.names?.spaces);
    Object.assign(groups, r.names?.groups);
  }
  return entries.map((r) => ({
    changedAt: new Date(r.changed_at).toISOString(),
    accountId: r.account_id,
    displayName: people[r.account_id] ?? null,
    changes: diff(r.before, r.after, {
      users: people,
      spaces: { ...spaces, ...r.names?.spaces },
      groups: { ...groups, ...r.names?.groups },
    }),
    before: r.before,
    after: r.after,
  }));
}

/**
 * Names for the ids of the current settings, as far as the app knows them: people from the
 * profile cache, spaces and groups from the latest change that mentioned them. Unknown ids are
 * absent (the page shows the id).
 */
export async function readNames(db: Db, tenantId: number, settings: Settings): Promise<KnownNames> {
  const rows = (await db("settings_audit")
    .where({ tenant_id: tenantId })
    .whereNotNull("names")
    .orderBy("id", "desc")
    .limit(20)
    .select("names")) as { names: SavedNames }[];
  const spaces: Record<string, string> = {};
  const groups: Record<string, string> = {};
  for (const r of rows.reverse()) {
    Object.assign(spaces, r.names.spaces);
    Object.assign(groups, r.names.groups);
  }
  return {
    users: await peopleNames(db, tenantId, settings.excludedUsers),
    spaces: pick(spaces, settings.excludedSpaces),
    groups: pick(groups, settings.excludedGroups),
  };
}

/** Longest search the Settings tab's pickers accept (a name or a space key is far shorter). */
export const MAX_LOOKUP_QUERY = 100;

const lookupQuery = z.object({
  q: z
    .string({
      error: (issue) =>
        issue.input === undefined ? "is required (the text to search for)" : "must be given once",
    })
    .refine(isCleanText, CLEAN_TEXT_RULE)
    .transform((q) => q.trim())
    .pipe(
      z
        .string()
        .min(1, "must not be empty")
        .max(MAX_LOOKUP_QUERY, `must be at most ${MAX_LOOKUP_QUERY} characters`),
    ),
});

/**
 * `?q=` of the picker lookups (GET /api/lookup/people, /api/lookup/spaces): one value (a
 * repeated `q` is refused, not guessed), clean text, 1 to 100 characters once trimmed. Other
 * parameters (such as `jwt`) are ignored.
 */
export function parseLookup(query: unknown): { q: string } {
  const result = lookupQuery.safeParse(query);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidInput(
      "invalid_parameter",
      `${issue?.path.join(".") || "q"} ${issue?.message ?? "is invalid"}`,
    );
  }
  return result.data;
}
