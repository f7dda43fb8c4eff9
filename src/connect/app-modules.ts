import { WEBHOOKS, webhookPath } from "../events/types.js";

/**
 * What the app registers in Confluence, in one place. Both registration files are generated
 * from it by `npm run generate` (src/dev/app-files.ts) and committed:
 * - `atlassian-connect.json`, the Connect descriptor ACE serves and reads its key from;
 * - `manifest.yml`, the Forge manifest that registers the same modules as "Connect on Forge"
 *   (the only way a site can install the app since Connect's end of support).
 * A test fails when either file differs from what the generator writes.
 * https://developer.atlassian.com/platform/adopting-forge-from-connect/how-to-adopt/
 */

/** The app's key: the descriptor's `key`, the manifest's `app.connect.key` (never changes). */
export const APP_KEY = "activity-report-for-confluence";

const APP = {
  name: "Activity Report for Confluence",
  description:
    "Who uses Confluence, how much, and what they do in it: per-user and per-space activity, calendar, breakdown and CSV export.",
  vendor: { name: "Activity Report", url: "https://github.com/activity-report-for-confluence" },
} as const;

/** Only `installed` and `uninstalled`: on Forge there are no `enabled`/`disabled` calls. */
export const LIFECYCLE = { installed: "/installed", uninstalled: "/uninstalled" } as const;

/** Connect scopes, and the Forge scope each becomes under Connect on Forge. */
const SCOPES = [{ connect: "READ", forge: "read:connect-confluence" }] as const;

const GENERAL_PAGES = [
  {
    key: "activity-report",
    name: { value: "Activity Report" },
    url: "/pages/activity-report",
    location: "system.header/left",
    conditions: [{ condition: "user_is_confluence_administrator" }],
  },
];

const SPACE_TOOLS_TABS = [
  {
    key: "space-activity-report",
    name: { value: "Activity Report" },
    url: "/pages/space-activity-report?spaceKey={space.key}",
    location: "contenttools",
  },
];

const WEBHOOK_MODULES = WEBHOOKS.map((w) => ({ event: w.event, url: webhookPath(w.event) }));

/** The Connect descriptor; ACE replaces `{{localBaseUrl}}` with the app's public URL. */
export function connectDescriptor() {
  return {
    key: APP_KEY,
    name: APP.name,
    description: APP.description,
    vendor: APP.vendor,
    baseUrl: "{{localBaseUrl}}",
    links: {
      self: "{{localBaseUrl}}/atlassian-connect.json",
      homepage: "{{localBaseUrl}}/atlassian-connect.json",
    },
    authentication: { type: "jwt" },
    lifecycle: LIFECYCLE,
    apiVersion: 1,
    apiMigrations: { "signed-install": true, "context-qsh": true, gdpr: true },
    scopes: SCOPES.map((s) => s.connect),
    modules: {
      generalPages: GENERAL_PAGES,
      spaceToolsTabs: SPACE_TOOLS_TABS,
      webhooks: WEBHOOK_MODULES,
    },
  };
}

/**
 * What the operator owns in the manifest: the Forge app id (`forge register` writes it) and the
 * public URL of this server for the production environment. Other Forge environments take
 * theirs, and their own Connect key, from variables at deploy time:
 * `APP_BASE_URL=https://staging.example.com CONNECT_KEY=<key>-staging forge deploy -e staging`.
 */
export interface ForgeDeployment {
  appId: string;
  baseUrl: string;
}

/** Until `forge register` replaces it: the shape Forge expects, no real app. */
export const UNREGISTERED_APP_ID = "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000";

export const DEFAULT_DEPLOYMENT: ForgeDeployment = {
  appId: UNREGISTERED_APP_ID,
  baseUrl: "https://activity-report.example.com",
};

/** The `remotes` entry Confluence calls: this Express server. */
export const REMOTE_KEY = "activity-report";
/** Forge variables resolved at `forge deploy` (shell environment first, then the default). */
export const FORGE_VARIABLES = { connectKey: "CONNECT_KEY", baseUrl: "APP_BASE_URL" } as const;
/** Forge asks for a runtime even when, as here, all code runs on the remote. */
const FORGE_RUNTIME = "nodejs22.x";

/**
 * The Forge manifest for Connect on Forge: the same modules under `connectModules`, keyed,
 * with `remotes` pointing at this server. Converter mapping (Atlassian's `connect-to-forge`):
 * scope READ -> read:connect-confluence, each module type -> `confluence:<type>`.
 * https://developer.atlassian.com/platform/adopting-forge-from-connect/devloop/
 */
export function forgeManifest(deployment: ForgeDeployment = DEFAULT_DEPLOYMENT) {
  return {
    app: {
      id: deployment.appId,
      runtime: { name: FORGE_RUNTIME },
      connect: {
        key: `\${${FORGE_VARIABLES.connectKey}}`,
        remote: REMOTE_KEY,
        authentication: "jwt",
      },
    },
    environment: {
      variables: [
        { key: FORGE_VARIABLES.connectKey, default: APP_KEY },
        { key: FORGE_VARIABLES.baseUrl, default: deployment.baseUrl },
      ],
    },
    remotes: [{ key: REMOTE_KEY, baseUrl: `\${${FORGE_VARIABLES.baseUrl}}` }],
    permissions: { scopes: SCOPES.map((s) => s.forge) },
    connectModules: {
      "confluence:lifecycle": [{ key: "lifecycle-events", ...LIFECYCLE }],
      "confluence:webhooks": WEBHOOK_MODULES.map((w) => ({
        key: `webhook-${w.event.replaceAll("_", "-")}`,
        ...w,
      })),
      "confluence:generalPages": GENERAL_PAGES,
      "confluence:spaceToolsTabs": SPACE_TOOLS_TABS,
    },
  };
}
