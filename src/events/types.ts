/**
 * The ten activity types the product reports on, and the Confluence webhooks that feed each.
 * The numeric codes are stored in the database: never renumber, only append.
 * See ../../../shared/docs/product.md ("The ten event types").
 */
export const EVENT_TYPES = {
  view: 1,
  create: 2,
  edit: 3,
  delete: 4,
  comment: 5,
  like: 6,
  attachment: 7,
  label: 8,
  space: 9,
  other: 10,
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export type EventTypeCode = (typeof EVENT_TYPES)[EventType];

export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

const TYPE_BY_CODE = new Map<number, EventType>(
  EVENT_TYPE_NAMES.map((name) => [EVENT_TYPES[name], name]),
);

export function typeFromCode(code: number): EventType {
  const type = TYPE_BY_CODE.get(code);
  if (!type) throw new Error(`Unknown event type code ${code}`);
  return type;
}

/**
 * Every webhook the app subscribes to: its Confluence event name, the activity type it counts
 * as, and the code stored in `event.webhook`. Codes are stored: never reuse or renumber one.
 *
 * Left out on purpose: `page_started`, `page_published`, `page_initialized` and
 * `page_snapshotted` (collaborative-editing bookkeeping that Confluence sends next to the
 * `page_created`/`page_updated` of the same action, so counting them would double the
 * Create and Edit figures).
 */
export const WEBHOOKS = [
  // View
  { event: "page_viewed", type: "view", code: 1 },
  { event: "blog_viewed", type: "view", code: 2 },
  { event: "attachment_viewed", type: "view", code: 3 },
  { event: "search_performed", type: "view", code: 4 },
  // Create
  { event: "page_created", type: "create", code: 10 },
  { event: "blog_created", type: "create", code: 11 },
  { event: "blueprint_page_created", type: "create", code: 12 },
  { event: "content_created", type: "create", code: 13 },
  // Edit
  { event: "page_updated", type: "edit", code: 20 },
  { event: "blog_updated", type: "edit", code: 21 },
  { event: "content_updated", type: "edit", code: 22 },
  { event: "page_moved", type: "edit", code: 23 },
  { event: "blog_moved", type: "edit", code: 24 },
  { event: "page_copied", type: "edit", code: 25 },
  { event: "page_children_reordered", type: "edit", code: 26 },
  { event: "page_restored", type: "edit", code: 27 },
  { event: "blog_restored", type: "edit", code: 28 },
  { event: "content_restored", type: "edit", code: 29 },
  { event: "content_permissions_updated", type: "edit", code: 30 },
  { event: "page_unarchived", type: "edit", code: 31 },
  // Delete
  { event: "page_trashed", type: "delete", code: 40 },
  { event: "page_removed", type: "delete", code: 41 },
  { event: "page_archived", type: "delete", code: 42 },
  { event: "blog_trashed", type: "delete", code: 43 },
  { event: "blog_removed", type: "delete", code: 44 },
  { event: "content_trashed", type: "delete", code: 45 },
  { event: "content_removed", type: "delete", code: 46 },
  // Comment
  { event: "comment_created", type: "comment", code: 50 },
  { event: "comment_updated", type: "comment", code: 51 },
  { event: "comment_removed", type: "comment", code: 52 },
  // Like (unconfirmed for Connect: subscribing costs nothing if Confluence never sends them)
  { event: "like_added", type: "like", code: 60 },
  { event: "like_removed", type: "like", code: 61 },
  { event: "like_created", type: "like", code: 62 },
  // Attachment
  { event: "attachment_created", type: "attachment", code: 70 },
  { event: "attachment_updated", type: "attachment", code: 71 },
  { event: "attachment_archived", type: "attachment", code: 72 },
  { event: "attachment_unarchived", type: "attachment", code: 73 },
  { event: "attachment_trashed", type: "attachment", code: 74 },
  { event: "attachment_restored", type: "attachment", code: 75 },
  { event: "attachment_removed", type: "attachment", code: 76 },
  // Label
  { event: "label_created", type: "label", code: 80 },
  { event: "label_added", type: "label", code: 81 },
  { event: "label_removed", type: "label", code: 82 },
  { event: "label_deleted", type: "label", code: 83 },
  // Space
  { event: "space_created", type: "space", code: 90 },
  { event: "space_updated", type: "space", code: 91 },
  { event: "space_removed", type: "space", code: 92 },
  { event: "space_trashed", type: "space", code: 93 },
  { event: "space_logo_updated", type: "space", code: 94 },
  { event: "space_permissions_updated", type: "space", code: 95 },
  // Other: user, group, relation and admin operations
  { event: "user_followed", type: "other", code: 100 },
  { event: "user_reactivated", type: "other", code: 101 },
  { event: "user_removed", type: "other", code: 102 },
  { event: "group_created", type: "other", code: 103 },
  { event: "group_removed", type: "other", code: 104 },
  { event: "relation_created", type: "other", code: 105 },
  { event: "relation_deleted", type: "other", code: 106 },
  { event: "theme_enabled", type: "other", code: 107 },
  { event: "connect_addon_enabled", type: "other", code: 108 },
  { event: "connect_addon_disabled", type: "other", code: 109 },
] as const satisfies readonly { event: string; type: EventType; code: number }[];

export type WebhookEvent = (typeof WEBHOOKS)[number]["event"];
export type Webhook = (typeof WEBHOOKS)[number];

const WEBHOOK_BY_EVENT = new Map<string, Webhook>(WEBHOOKS.map((w) => [w.event, w]));
const WEBHOOK_BY_CODE = new Map<number, Webhook>(WEBHOOKS.map((w) => [w.code, w]));

/** The webhook a URL segment names, or undefined for one the app never subscribed to. */
export function webhookByEvent(event: string): Webhook | undefined {
  return WEBHOOK_BY_EVENT.get(event);
}

export function webhookByCode(code: number): Webhook | undefined {
  return WEBHOOK_BY_CODE.get(code);
}

/** The descriptor's URL for a webhook: one URL per event, because the body names none. */
export function webhookPath(event: string): string {
  return `/webhooks/${event}`;
}
