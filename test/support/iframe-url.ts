import type { FakeConfluence } from "../../src/dev/fake-confluence.js";

/**
 * The URL Confluence loads a page module at: the module URL plus the context parameters it
 * appends, signed with the tenant's secret (qsh over the URL without `jwt`), `sub` = viewer.
 */
export function signedModuleUrl(
  fake: FakeConfluence,
  appUrl: string,
  modulePath: string,
  viewerAccountId: string,
): string {
  const url = new URL(modulePath, appUrl);
  url.searchParams.set("xdm_e", fake.url);
  url.searchParams.set("xdm_c", "channel-activity-report");
  url.searchParams.set("cp", "/wiki");
  url.searchParams.set("lic", "none");
  url.searchParams.set("cv", "1001.0.0-SNAPSHOT");
  const pathAndQuery = `${url.pathname}${url.search}`;
  const token = fake.signRequest("GET", pathAndQuery, { sub: viewerAccountId });
  url.searchParams.set("jwt", token);
  return url.toString();
}
