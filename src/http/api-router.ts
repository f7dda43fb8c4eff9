import { stringify } from "csv-stringify";
import express, { type Response } from "express";
import type { ConfluenceClient } from "../confluence/client.js";
import { refreshGroupMembers } from "../confluence/groups.js";
import type { Db } from "../db/knex.js";
import { searchPeople, searchSpaces } from "../confluence/lookup.js";
import {
  checkWithConfluence,
  parseLookup,
  parseSettings,
  readAudit,
  readNames,
  readSettings,
  rememberPeople,
  saveSettings,
} from "../settings/settings.js";
import type { TrackingPolicies } from "../settings/tracking-policies.js";
import type { Addon } from "../connect/addon.js";
import type { KnexStore, Tenant } from "../connect/knex-store.js";
import type { Logger } from "../log.js";
import { neutraliseCell } from "../reports/csv.js";
import {
  parseCommon,
  parseUserActivity,
  parseUsers,
  parseWithAccount,
  type UsersParams,
} from "../reports/params.js";
import type { ReportService } from "../reports/service.js";
import type { Authorise } from "./authorise.js";
import { asyncHandler, HttpError } from "./errors.js";
import { viewerAuth, viewerOf } from "./viewer-auth.js";

interface Deps {
  db: Db;
  policies: TrackingPolicies;
  clientFor: (tenant: Tenant) => ConfluenceClient;
  addon: Addon;
  store: KnexStore;
  reports: ReportService;
  authorise: Authorise;
  logger: Logger;
}

export const CSV_HEADER = ["Account Id", "Views", "Creates", "Edits", "Comments"];

/**
 * The JSON API the pages and customers' scripts use (documented in the README). Each handler:
 * parse (400) -> authorise (403) -> one service call -> answer.
 * Site-wide figures: Confluence admins. With `space`: Confluence admins and that space's admins.
 * Inactive people (`include=inactive`, `inactiveGroup`) are drawn from site-wide groups:
 * Confluence admins only, with or without `space`.
 */
export function apiRouter(deps: Deps): express.Router {
  const router = express.Router();
  router.use(viewerAuth(deps.addon, deps.store));
  router.use((_req, res, next) => {
    res.set("Cache-Control", "private, no-store");
    next();
  });

  const authorise = deps.authorise;

  /** The users report: as any report, and Confluence admin rights to list inactive people. */
  const authoriseUsers = async (viewer: Viewer, params: UsersParams): Promise<void> => {
    await authorise(viewer, params.space);
    if (!params.inactive && params.inactiveGroup === null) return;
    try {
      await authorise(viewer, null);
    } catch (error) {
      if (error instanceof HttpError && error.status === 403) {
        throw new HttpError(
          403,
          "forbidden",
          "Only Confluence admins can list inactive users (include=inactive, inactiveGroup): they are drawn from site-wide groups.",
        );
      }
      throw error;
    }
  };

  router.get(
    "/reports/users",
    asyncHandler(async (req, res) => {
      const params = parseUsers(req.query);
      const viewer = viewerOf(res);
      await authoriseUsers(viewer, params);
      res.json(await deps.reports.users(viewer.tenant, params));
    }),
  );

  router.get(
    "/reports/users.csv",
    asyncHandler(async (req, res) => {
      const params = parseUsers(req.query);
      const viewer = viewerOf(res);
      await authoriseUsers(viewer, params);
      const rows = await deps.reports.usersStream(viewer.tenant, params);
      sendCsv(
        res,
        rows,
        `activity-users-${params.range.from}-to-${params.range.to}.csv`,
        deps.logger,
      );
    }),
  );

  router.get(
    "/reports/calendar",
    asyncHandler(async (req, res) => {
      const params = parseWithAccount(req.query);
      const viewer = viewerOf(res);
      await authorise(viewer, params.space);
      res.json(await deps.reports.calendar(viewer.tenant, params));
    }),
  );

  router.get(
    "/reports/breakdown",
    asyncHandler(async (req, res) => {
      const params = parseWithAccount(req.query);
      const viewer = viewerOf(res);
      await authorise(viewer, params.space);
      res.json(await deps.reports.breakdown(viewer.tenant, params));
    }),
  );

  router.get(
    "/reports/users/:accountId",
    asyncHandler(async (req, res) => {
      const params = parseUserActivity(req.query, req.params.accountId);
      const viewer = viewerOf(res);
      await authorise(viewer, params.space);
      res.json(await deps.reports.userActivity(viewer.tenant, params.accountId, params));
    }),
  );

  // The group filter's choices (group names are not personal data).
  router.get(
    "/groups",
    asyncHandler(async (req, res) => {
      const { space } = parseCommon(req.query);
      const viewer = viewerOf(res);
      await authorise(viewer, space);
      const list = await deps.reports.groups(viewer.tenant);
      res.json({ groups: list });
    }),
  );

  // Settings: Confluence admins only. Saving checks every excluded person, group and space with
  // Confluence (400 naming each that does not exist; 503, nothing saved, when Confluence cannot
  // answer), saves spaces under their real keys, refreshes the members of excluded groups, and
  // writes an audit line.
  router.get(
    "/settings",
    asyncHandler(async (_req, res) => {
      const viewer = viewerOf(res);
      await authorise(viewer, null);
      const settings = await readSettings(deps.db, viewer.tenant.id);
      res.json({
        settings,
        names: await readNames(deps.db, viewer.tenant.id, settings),
        audit: await readAudit(deps.db, viewer.tenant.id, 20),
      });
    }),
  );
  router.put(
    "/settings",
    asyncHandler(async (req, res) => {
      const viewer = viewerOf(res);
      await authorise(viewer, null);
      const parsed = parseSettings(req.body);
      const client = deps.clientFor(viewer.tenant);
      const checked = await checkWithConfluence(
        client,
        viewer.tenant.baseUrl,
        parsed,
        viewer.accountId,
        await readSettings(deps.db, viewer.tenant.id),
      );
      const next = checked.settings;
      for (const group of next.excludedGroups) {
        await refreshGroupMembers(deps.db, client, viewer.tenant.id, group, 0);
      }
      await rememberPeople(deps.db, viewer.tenant.id, checked.people);
      await saveSettings(deps.db, viewer.tenant.id, viewer.accountId, next, checked.names);
      deps.policies.invalidate(viewer.tenant.id);
      deps.logger.info({ tenantId: viewer.tenant.id, by: viewer.accountId }, "settings changed");
      res.json({
        settings: next,
        names: await readNames(deps.db, viewer.tenant.id, next),
        audit: await readAudit(deps.db, viewer.tenant.id, 20),
      });
    }),
  );

  // The Settings tab's pickers: people and spaces by name (Confluence admins only, as settings).
  router.get(
    "/lookup/people",
    asyncHandler(async (req, res) => {
      const { q } = parseLookup(req.query);
      const viewer = viewerOf(res);
      await authorise(viewer, null);
      const client = deps.clientFor(viewer.tenant);
      const people = await searchPeople(client, viewer.tenant.baseUrl, q);
      res.json({
        people: people.map((p) => ({
          accountId: p.accountId,
          displayName: p.displayName,
          avatarUrl: p.avatarUrl,
        })),
      });
    }),
  );
  router.get(
    "/lookup/spaces",
    asyncHandler(async (req, res) => {
      const { q } = parseLookup(req.query);
      const viewer = viewerOf(res);
      await authorise(viewer, null);
      const spaces = await searchSpaces(deps.clientFor(viewer.tenant), q);
      res.json({ spaces });
    }),
  );

  return router;
}

type Viewer = Parameters<Authorise>[0];

/** Streams the users report as CSV: exactly the product's header, formula cells neutralised. */
function sendCsv(
  res: Response,
  rows: NodeJS.ReadableStream,
  filename: string,
  logger: Logger,
): void {
  res.status(200);
  res.set("Content-Type", "text/csv; charset=utf-8");
  res.set("Content-Disposition", `attachment; filename="${filename}"`);
  const csv = stringify({
    header: true,
    columns: CSV_HEADER,
    quoted: true,
    cast: { number: String },
  });
  csv.on("error", (error) => {
    logger.error({ err: error }, "CSV export failed");
    res.destroy(error);
  });
  rows.on("error", (error: Error) => {
    logger.error({ err: error }, "CSV export query failed");
    res.destroy(error);
  });
  rows.on("data", (r: Record<string, unknown>) => {
    const ok = csv.write([
      neutraliseCell(String(r.account_id)),
      Number(r.n_view),
      Number(r.n_create),
      Number(r.n_edit),
      Number(r.n_comment),
    ]);
    if (!ok) {
      rows.pause();
      csv.once("drain", () => rows.resume());
    }
  });
  rows.on("end", () => csv.end());
  // A client that goes away must release the database cursor.
  res.on("close", () => {
    const destroyable = rows as NodeJS.ReadableStream & { destroy?: () => void };
    if (!res.writableFinished) destroyable.destroy?.();
  });
  csv.pipe(res);
}
