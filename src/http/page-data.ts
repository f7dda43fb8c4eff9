import type { Tenant } from "../connect/knex-store.js";

/** What the report page's script needs, embedded in the page (src/client reads it). */
export interface PageData {
  kind: "global" | "space";
  spaceKey: string | null;
  /** The viewer's session token for the API (refreshed through Confluence when it can). */
  token: string;
  siteUrl: string;
  docsUrl: string;
  supportUrl: string | undefined;
}

/** The page data as JSON safe to embed in a <script type="application/json">. */
export function pageData(
  tenant: Tenant,
  kind: "global" | "space",
  spaceKey: string | null,
  token: string,
  links: { docs: string; support: string | undefined },
): string {
  const data: PageData = {
    kind,
    spaceKey,
    token,
    siteUrl: tenant.baseUrl,
    docsUrl: links.docs,
    supportUrl: links.support,
  };
  return JSON.stringify(data)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026");
}
