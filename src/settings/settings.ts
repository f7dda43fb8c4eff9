import { z } from "zod";
import { isCleanText, MAX_ACCOUNT_ID } from "../text/identifier.js";
import { GROUP_ID, GROUP_ID_RULE, SPACE_KEY, SPACE_KEY_RULE } from "../confluence/keys.js";
import type { Db } from "../db/knex.js";
import { HttpError } from "../http/errors.js";

/**
 * A site's tracking settings. Exclusions apply to events from the moment they are saved (data
 * already collected is kept) and hide excluded people from the users report.
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
    throw new HttpError(
      400,
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

export async function readSettings(db: Db, tenantId: number): Promise<Settings> {
  const row = await db("tenant_settings").where({ tenant_id: tenantId }).first("settings");
  if (!row) return DEFAULT_SETTINGS;
  const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...row.settings });
  return parsed.success ? parsed.data : DEFAULT_SETTINGS;
}

/** Saves settings and the audit line (who, before, after) in one transaction. */
export async function saveSettings(
  db: Db,
  tenantId: number,
  accountId: string,
  next: Settings,
): Promise<Settings> {
  await db.transaction(async (trx) => {
    const before =
      (
        await trx.raw("SELECT settings FROM tenant_settings WHERE tenant_id = ? FOR UPDATE", [
          tenantId,
        ])
      ).rows[0]?.settings ?? DEFAULT_SETTINGS;
    await trx.raw(
      `INSERT INTO tenant_settings (tenant_id, settings, updated_at, updated_by)
       VALUES (?, ?::jsonb, now(), ?)
       ON CONFLICT (tenant_id) DO UPDATE SET settings = EXCLUDED.settings,
         updated_at = now(), updated_by = EXCLUDED.updated_by`,
      [tenantId, JSON.stringify(next), accountId],
    );
    await trx.raw(
      `INSERT INTO settings_audit (tenant_id, account_id, before, after)
       VALUES (?, ?, ?::jsonb, ?::jsonb)`,
      [tenantId, accountId, JSON.stringify(before), JSON.stringify(next)],
    );
  });
  return next;
}

export interface AuditEntry {
  changedAt: string;
  accountId: string;
  before: Settings;
  after: Settings;
}

export async function readAudit(db: Db, tenantId: number, limit = 50): Promise<AuditEntry[]> {
  const rows = (await db("settings_audit")
    .where({ tenant_id: tenantId })
    .orderBy("id", "desc")
    .limit(limit)
    .select("changed_at", "account_id", "before", "after")) as {
    changed_at: Date | string;
    account_id: string;
    before: Settings;
    after: Settings;
  }[];
  return rows.map((r) => ({
    changedAt: new Date(r.changed_at).toISOString(),
    accountId: r.account_id,
    before: r.before,
    after: r.after,
  }));
}
