import type { ConfluenceClient } from "../confluence/client.js";
import type { Permissions } from "../confluence/permissions.js";
import type { Tenant } from "../connect/knex-store.js";
import type { Logger } from "../log.js";
import { HttpError } from "./errors.js";

export type Authorise = (
  viewer: { tenant: Tenant; accountId: string },
  space: string | null,
) => Promise<void>;

/**
 * Who may see what, checked on the server for pages and API alike: site-wide figures for
 * Confluence admins; a space's figures for Confluence admins and that space's admins.
 */
export function makeAuthorise(
  permissions: Permissions,
  clientFor: (tenant: Tenant) => ConfluenceClient,
  logger: Logger,
): Authorise {
  return async (viewer, space) => {
    const client = clientFor(viewer.tenant);
    const key = viewer.tenant.clientKey;
    let allowed: boolean;
    try {
      allowed =
        (await permissions.isSiteAdmin(client, key, viewer.accountId)) ||
        (space !== null && (await permissions.isSpaceAdmin(client, key, viewer.accountId, space)));
    } catch (error) {
      logger.warn({ err: error }, "permission check failed");
      throw new HttpError(
        503,
        "confluence_unavailable",
        "Could not check your permissions with Confluence; try again.",
      );
    }
    if (!allowed) {
      throw new HttpError(
        403,
        "forbidden",
        space === null
          ? "Only Confluence admins can see site-wide activity."
          : `Only Confluence admins and admins of space ${space} can see its activity.`,
      );
    }
  };
}
