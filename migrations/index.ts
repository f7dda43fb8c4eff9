import type { Knex } from "knex";
import * as foundation from "./20261121000000_foundation.js";
import * as reports from "./20261121010000_reports.js";
import * as zonePrefix from "./20261121020000_zone_prefix.js";
import * as settings from "./20261121030000_settings.js";
import * as privacy from "./20261121040000_privacy.js";
import * as lifecycleTokens from "./20261122000000_lifecycle_tokens.js";
import * as forgeSettings from "./20261203000000_forge_settings.js";
import * as firstInstalled from "./20261203010000_first_installed.js";
import * as settingsAuditNames from "./20261211000000_settings_audit_names.js";
import * as sealingPeriods from "./20261212000000_sealing_periods.js";
import * as historyFrom from "./20261212010000_history_from.js";
import * as siteDaysWatermark from "./20261212020000_site_days_watermark.js";
import * as dayResolvedWeeks from "./20261213000000_day_resolved_weeks.js";
import * as personDayTotals from "./20261214000000_person_day_totals.js";
import * as actorIndexCovers from "./20261215000000_actor_index_covers.js";

/**
 * Every migration, oldest first. Listed explicitly (not discovered on disk) so they load the
 * same way under tsx, vitest and any bundler. Add new ones at the end; never rename one.
 */
const MIGRATIONS: [name: string, migration: Knex.Migration][] = [
  ["20261121000000_foundation", foundation],
  ["20261121010000_reports", reports],
  ["20261121020000_zone_prefix", zonePrefix],
  ["20261121030000_settings", settings],
  ["20261121040000_privacy", privacy],
  ["20261122000000_lifecycle_tokens", lifecycleTokens],
  ["20261203000000_forge_settings", forgeSettings],
  ["20261203010000_first_installed", firstInstalled],
  ["20261211000000_settings_audit_names", settingsAuditNames],
  ["20261212000000_sealing_periods", sealingPeriods],
  ["20261212010000_history_from", historyFrom],
  ["20261212020000_site_days_watermark", siteDaysWatermark],
  ["20261213000000_day_resolved_weeks", dayResolvedWeeks],
  ["20261214000000_person_day_totals", personDayTotals],
  ["20261215000000_actor_index_covers", actorIndexCovers],
];

export const migrationSource: Knex.MigrationSource<[string, Knex.Migration]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
