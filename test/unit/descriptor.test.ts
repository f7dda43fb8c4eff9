import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DESCRIPTOR_PATH } from "../../src/connect/addon.js";
import { WEBHOOKS, webhookPath } from "../../src/events/types.js";

/**
 * The parts of Atlassian's Connect descriptor schema this app uses
 * (https://developer.atlassian.com/cloud/confluence/connect-app-descriptor/). ACE's own
 * validator fetches the schema from the network, which is unreachable here and in CI.
 */
const CONFLUENCE_EVENTS = new Set(
  `page_created page_updated page_viewed page_moved page_copied page_children_reordered
  page_restored page_trashed page_removed page_archived page_unarchived page_started
  page_published page_initialized page_snapshotted blueprint_page_created blog_created
  blog_updated blog_viewed blog_moved blog_restored blog_trashed blog_removed content_created
  content_updated content_restored content_trashed content_removed content_permissions_updated
  comment_created comment_updated comment_removed attachment_created attachment_updated
  attachment_viewed attachment_archived attachment_unarchived attachment_trashed
  attachment_restored attachment_removed label_created label_added label_removed label_deleted
  space_created space_updated space_removed space_trashed space_logo_updated
  space_permissions_updated user_followed user_reactivated user_removed group_created
  group_removed relation_created relation_deleted search_performed theme_enabled
  connect_addon_enabled connect_addon_disabled like_added like_removed like_created`.split(/\s+/),
);
const CONDITIONS = [
  "user_is_admin",
  "user_is_confluence_administrator",
  "user_is_logged_in",
  "space_function_permission",
];
const moduleKey = z
  .string()
  .regex(/^[a-z0-9-]+$/, "module keys are lowercase letters, digits, dashes")
  .max(100);
const i18n = z.strictObject({ value: z.string().min(1).max(255) });
const relativeUrl = z.string().regex(/^\/[^\s]*$/, "module URLs are relative to baseUrl");
const condition = z.strictObject({
  condition: z.enum(CONDITIONS),
  invert: z.boolean().optional(),
  params: z.record(z.string(), z.string()).optional(),
});
const schema = z.strictObject({
  key: z
    .string()
    .regex(/^[a-zA-Z0-9-._]+$/)
    .max(64),
  name: z.string().min(1).max(80),
  description: z.string().max(1000),
  vendor: z.strictObject({ name: z.string().min(1), url: z.url() }),
  baseUrl: z.url(),
  links: z.strictObject({ self: z.url(), homepage: z.url() }),
  authentication: z.strictObject({ type: z.literal("jwt") }),
  lifecycle: z.strictObject({ installed: relativeUrl, uninstalled: relativeUrl }),
  apiVersion: z.literal(1),
  apiMigrations: z.strictObject({
    "signed-install": z.literal(true),
    "context-qsh": z.boolean(),
    gdpr: z.literal(true),
  }),
  scopes: z.array(z.enum(["READ", "WRITE", "DELETE", "SPACE_ADMIN", "ADMIN", "ACT_AS_USER"])),
  modules: z.strictObject({
    generalPages: z.array(
      z.strictObject({
        key: moduleKey,
        name: i18n,
        url: relativeUrl,
        location: z.string().min(1),
        conditions: z.array(condition).optional(),
      }),
    ),
    spaceToolsTabs: z.array(
      z.strictObject({
        key: moduleKey,
        name: i18n,
        url: relativeUrl,
        location: z.enum(["contenttools", "contenttools/", "system.space.tools/overview"]),
        conditions: z.array(condition).optional(),
      }),
    ),
    webhooks: z.array(
      z.strictObject({
        event: z.string().refine((e) => CONFLUENCE_EVENTS.has(e)),
        url: relativeUrl,
      }),
    ),
  }),
});

const raw = readFileSync(DESCRIPTOR_PATH, "utf8");
const descriptor = JSON.parse(raw.replaceAll("{{localBaseUrl}}", "https://app.example.com"));

describe("atlassian-connect.json", () => {
  it("is a valid Connect descriptor for the modules it declares", () => {
    const result = schema.safeParse(descriptor);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });

  it("signs in with JWT, installs signed, asks only for READ", () => {
    expect(descriptor.authentication).toEqual({ type: "jwt" });
    expect(descriptor.apiMigrations["signed-install"]).toBe(true);
    expect(descriptor.scopes).toEqual(["READ"]);
  });

  it("has the two page modules: activity-report (admins) and space-activity-report", () => {
    const global = descriptor.modules.generalPages.find(
      (m: { key: string }) => m.key === "activity-report",
    );
    expect(global.conditions).toContainEqual({ condition: "user_is_confluence_administrator" });
    const space = descriptor.modules.spaceToolsTabs.find(
      (m: { key: string }) => m.key === "space-activity-report",
    );
    expect(space.url).toContain("{space.key}");
  });

  it("subscribes to every classified webhook, each on its own URL", () => {
    const hooks: { event: string; url: string }[] = descriptor.modules.webhooks;
    expect(hooks).toEqual(WEBHOOKS.map((w) => ({ event: w.event, url: webhookPath(w.event) })));
    expect(new Set(hooks.map((h) => h.url)).size).toBe(hooks.length);
  });

  it("covers every type of the product's table", () => {
    const types = new Set(WEBHOOKS.map((w) => w.type));
    expect([...types].sort()).toEqual([
      "attachment",
      "comment",
      "create",
      "delete",
      "edit",
      "label",
      "like",
      "other",
      "space",
      "view",
    ]);
  });

  it("module keys are unique", () => {
    const keys = [...descriptor.modules.generalPages, ...descriptor.modules.spaceToolsTabs].map(
      (m: { key: string }) => m.key,
    );
    expect(new Set(keys).size).toBe(keys.length);
  });
});
