import { LRUCache } from "lru-cache";
import type { Db } from "../db/knex.js";

/** What Confluence sends in the signed `installed` lifecycle call (the fields the app reads). */
export interface ClientInfo {
  clientKey: string;
  baseUrl: string;
  sharedSecret: string;
  [key: string]: unknown;
}

export interface Tenant {
  id: number;
  clientKey: string;
  baseUrl: string;
  clientInfo: ClientInfo;
}

interface TenantRow {
  id: number;
  client_key: string;
  base_url: string;
  client_info: ClientInfo;
  uninstalled_at: Date | string | null;
  forge_installation_id: string | null;
}

const CACHE_TTL_MS = 5000;

/** A copy of an install payload that is safe to log or hand back to ACE (which logs it). */
export function redactClientInfo(info: ClientInfo): Record<string, unknown> {
  const { sharedSecret: _secret, publicKey: _key, ...rest } = info;
  return { ...rest, sharedSecret: "[redacted]" };
}

/**
 * The ACE store adapter: tenants live in the app's own database (`tenant`, `ace_setting`).
 * ACE reads `clientInfo` on every signed request, so installed tenants are cached for a few
 * seconds; an uninstall on this instance takes effect at once, on another within the TTL.
 * An uninstalled tenant keeps its row and history but is unknown to ACE, so its webhooks and
 * page loads are refused until it installs again.
 * Interface: https://bitbucket.org/atlassian/atlassian-connect-express (lib/store).
 */
export class KnexStore {
  /**
   * Bounded: the client key looked up comes from claims not yet verified, so a flood of forged
   * keys must not grow memory (least recently used entries go first).
   */
  private readonly cache = new LRUCache<string, { tenant: Tenant | null }>({
    max: 10_000,
    ttl: CACHE_TTL_MS,
  });

  constructor(private readonly db: Db) {}

  isMemoryStore(): boolean {
    return false;
  }

  /** The installed tenant for a client key, or null (unknown or uninstalled). */
  async getTenant(clientKey: string): Promise<Tenant | null> {
    if (clientKey === "" || clientKey.length > 255) return null;
    const hit = this.cache.get(clientKey);
    if (hit) return hit.tenant;
    const row = await this.db<TenantRow>("tenant")
      .where({ client_key: clientKey })
      .first("id", "client_key", "base_url", "client_info", "uninstalled_at");
    const tenant =
      row && row.uninstalled_at === null
        ? {
            id: row.id,
            clientKey: row.client_key,
            baseUrl: row.base_url,
            clientInfo: row.client_info,
          }
        : null;
    this.cache.set(clientKey, { tenant });
    return tenant;
  }

  async get(key: string, clientKey: string): Promise<unknown> {
    if (key === "clientInfo") return (await this.getTenant(clientKey))?.clientInfo ?? null;
    const row = await this.db("ace_setting as s")
      .join("tenant as t", "t.id", "s.tenant_id")
      .where({ "t.client_key": clientKey, "s.key": key })
      .first<{ val: unknown } | undefined>("s.val");
    return row ? row.val : null;
  }

  async set(key: string, value: unknown, clientKey: string): Promise<unknown> {
    if (key === "clientInfo") return this.saveInstallation(value as ClientInfo, clientKey);
    const val = typeof value === "string" ? safeJson(value) : value;
    await this.db.raw(
      `INSERT INTO ace_setting (tenant_id, key, val)
       SELECT id, ?, ?::jsonb FROM tenant WHERE client_key = ?
       ON CONFLICT (tenant_id, key) DO UPDATE SET val = EXCLUDED.val`,
      [key, JSON.stringify(val), clientKey],
    );
    return val;
  }

  /**
   * Install or reinstall: the same client key keeps its tenant id, so history resumes. Under
   * Connect on Forge the install carries the Forge `installationId`, linked here to the site
   * (a site moved from its Connect install to the Forge registration is installed again, with
   * no uninstall in between: same client key, same tenant, same data).
   */
  async saveInstallation(
    info: ClientInfo,
    clientKey: string,
    trx: Db = this.db,
  ): Promise<Record<string, unknown>> {
    if (trx === this.db) {
      const saved = await this.db.transaction((t) => this.saveInstallation(info, clientKey, t));
      // Again after the commit: a request in between may have cached the old secret.
      this.cache.delete(clientKey);
      return saved;
    }
    // first_installed_at is set on insert only: reports count tracked days from it.
    const now = new Date();
    await trx.raw(
      `INSERT INTO tenant (client_key, base_url, client_info, installed_at, first_installed_at)
       VALUES (?, ?, ?::jsonb, ?, ?)
       ON CONFLICT (client_key) DO UPDATE SET
         base_url = EXCLUDED.base_url,
         client_info = EXCLUDED.client_info,
         installed_at = EXCLUDED.installed_at,
         uninstalled_at = NULL`,
      [clientKey, info.baseUrl, JSON.stringify(info), now, now],
    );
    if (typeof info.installationId === "string" && info.installationId !== "") {
      await this.associateInstallations(info.installationId, clientKey, trx);
    }
    this.cache.delete(clientKey);
    // ACE logs what this returns (outside production): hand back no secret.
    return redactClientInfo(info);
  }

  /** Uninstall: stop ingestion, keep the data (deleted later by the uninstall purge). */
  async markUninstalled(clientKey: string, trx: Db = this.db): Promise<void> {
    await trx("tenant").where({ client_key: clientKey }).update({ uninstalled_at: new Date() });
    this.cache.delete(clientKey);
  }

  /** Drops a site from the cache (after a lifecycle transaction commits). */
  forget(clientKey: string): void {
    this.cache.delete(clientKey);
  }

  /** `del(clientKey)` forgets a tenant's Connect settings; `del(key, clientKey)` one setting. */
  async del(keyOrClientKey: string, clientKey?: string): Promise<void> {
    if (clientKey === undefined) {
      await this.markUninstalled(keyOrClientKey);
      await this.db.raw(
        "DELETE FROM ace_setting WHERE tenant_id = (SELECT id FROM tenant WHERE client_key = ?)",
        [keyOrClientKey],
      );
      return;
    }
    if (keyOrClientKey === "clientInfo") return this.markUninstalled(clientKey);
    await this.db.raw(
      `DELETE FROM ace_setting
       WHERE tenant_id = (SELECT id FROM tenant WHERE client_key = ?) AND key = ?`,
      [clientKey, keyOrClientKey],
    );
  }

  async getAllClientInfos(): Promise<ClientInfo[]> {
    const rows = await this.db<TenantRow>("tenant")
      .whereNull("uninstalled_at")
      .orderBy("id")
      .select("client_info");
    return rows.map((r) => r.client_info);
  }

  // Connect on Forge (ACE's store interface, lib/store/*.js): a Forge installation id maps to
  // one Connect site; ACE also keeps a few settings per Forge installation.

  /** Links a Forge installation to a site (taking it from any site it was linked to). */
  async associateInstallations(
    forgeInstallationId: string,
    clientKey: string,
    trx: Db = this.db,
  ): Promise<void> {
    await trx.raw(
      `UPDATE tenant SET forge_installation_id = NULL
       WHERE forge_installation_id = ? AND client_key <> ?`,
      [forgeInstallationId, clientKey],
    );
    await trx("tenant")
      .where({ client_key: clientKey })
      .update({ forge_installation_id: forgeInstallationId });
  }

  async deleteAssociation(forgeInstallationId: string): Promise<void> {
    await this.db.raw(
      "UPDATE tenant SET forge_installation_id = NULL WHERE forge_installation_id = ?",
      [forgeInstallationId],
    );
  }

  /** The install payload (`clientInfo`) of the site a Forge installation belongs to, or null. */
  async getClientSettingsForForgeInstallation(
    forgeInstallationId: string,
  ): Promise<ClientInfo | null> {
    const row = await this.db<TenantRow>("tenant")
      .where({ forge_installation_id: forgeInstallationId })
      .whereNull("uninstalled_at")
      .first("client_info");
    return row ? row.client_info : null;
  }

  /** Settings kept per Forge installation, whether or not it is linked to a site yet. */
  forForgeInstallation(installationId: string) {
    const db = this.db;
    return {
      async get(key: string): Promise<unknown> {
        const row = await db("forge_setting")
          .where({ installation_id: installationId, key })
          .first<{ val: unknown } | undefined>("val");
        return row ? row.val : null;
      },
      async set(key: string, value: unknown): Promise<unknown> {
        const val = typeof value === "string" ? safeJson(value) : value;
        await db.raw(
          `INSERT INTO forge_setting (installation_id, key, val) VALUES (?, ?, ?::jsonb)
           ON CONFLICT (installation_id, key) DO UPDATE SET val = EXCLUDED.val`,
          [installationId, key, JSON.stringify(val)],
        );
        return val;
      },
      async del(key: string): Promise<void> {
        await db("forge_setting").where({ installation_id: installationId, key }).delete();
      },
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
