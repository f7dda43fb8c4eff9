/**
 * Realistic Confluence webhook bodies, one family per shape Confluence sends
 * (see ../../../shared/docs/platform-notes.md, "Payload shape"). For tests and demos only.
 */
export interface PayloadInput {
  accountId: string;
  accountType?: "customer" | "app";
  timestamp?: number;
  spaceKey?: string;
  contentId?: string;
  /** The page a comment or an attachment is on (default 42). */
  parentId?: string;
  title?: string;
  baseUrl?: string;
}

export type PayloadFamily =
  | "page"
  | "blog"
  | "comment"
  | "attachment"
  | "label"
  | "space"
  | "content"
  | "like"
  | "search"
  | "admin";

/** Which body shape Confluence uses for an event name. */
export function familyOf(event: string): PayloadFamily {
  if (event.startsWith("page_") || event === "blueprint_page_created") return "page";
  if (event.startsWith("blog_")) return "blog";
  if (event.startsWith("comment_")) return "comment";
  if (event.startsWith("attachment_")) return "attachment";
  if (event.startsWith("label_")) return "label";
  if (event.startsWith("space_")) return "space";
  if (event.startsWith("content_")) return "content";
  if (event.startsWith("like_")) return "like";
  if (event === "search_performed") return "search";
  return "admin";
}

function contentObject(
  kind: "page" | "blogpost",
  input: PayloadInput,
  id: string,
  numericId: boolean,
) {
  const now = input.timestamp ?? Date.now();
  const base = input.baseUrl ?? "https://example.atlassian.net/wiki";
  const title = input.title ?? `${kind === "page" ? "Page" : "Post"} ${id}`;
  return {
    id: numericId ? Number(id) : id,
    idAsString: id,
    spaceKey: input.spaceKey ?? "DOCS",
    spaceId: 20000001,
    title,
    contentType: kind,
    version: 2,
    creationDate: now - 3_600_000,
    modificationDate: now,
    creatorAccountId: input.accountId,
    lastModifierAccountId: input.accountId,
    self: `${base}/spaces/${input.spaceKey ?? "DOCS"}/pages/${id}/${encodeURIComponent(title)}`,
  };
}

/** A webhook body for `event` in the shape Confluence sends it. */
export function payloadFor(event: string, input: PayloadInput): Record<string, unknown> {
  const head = {
    userAccountId: input.accountId,
    accountType: input.accountType ?? "customer",
    timestamp: input.timestamp ?? Date.now(),
  };
  const id = input.contentId ?? String(1_000_000 + Math.floor(Math.random() * 9_000_000));
  const spaceKey = input.spaceKey ?? "DOCS";
  switch (familyOf(event)) {
    case "page":
      return { ...head, updateTrigger: "edit_page", page: contentObject("page", input, id, true) };
    case "blog":
      return { ...head, blog: contentObject("blogpost", input, id, false) };
    case "like":
      return { ...head, page: contentObject("page", input, id, false) };
    case "comment":
      return {
        ...head,
        comment: {
          id: Number(id),
          spaceKey,
          title: input.title ?? `Re: Page ${id}`,
          contentType: "comment",
          version: 1,
          creatorAccountId: input.accountId,
          parent: contentObject(
            "page",
            { ...input, title: undefined },
            input.parentId ?? "42",
            true,
          ),
        },
      };
    case "attachment":
      return {
        ...head,
        attachment: {
          id,
          spaceKey,
          title: input.title ?? `diagram-${id}.png`,
          fileName: input.title ?? `diagram-${id}.png`,
          contentType: "attachment",
          mediaType: "image/png",
          version: 1,
          container: contentObject(
            "page",
            { ...input, title: undefined },
            input.parentId ?? "42",
            true,
          ),
        },
      };
    case "label":
      return {
        ...head,
        label: { id: "7001", name: "how-to", prefix: "global", labelOwner: input.accountId },
        labeled: contentObject("page", input, id, true),
      };
    case "space":
      return {
        ...head,
        space: {
          key: spaceKey,
          name: input.title ?? `Space ${spaceKey}`,
          id: 20000001,
          isPersonalSpace: false,
          creatorAccountId: input.accountId,
          creationDate: head.timestamp,
          self: `${input.baseUrl ?? "https://example.atlassian.net/wiki"}/spaces/${spaceKey}`,
        },
      };
    case "content":
      return {
        ...head,
        content: {
          id,
          type: "whiteboard",
          status: "current",
          title: input.title ?? `Whiteboard ${id}`,
          space: { key: spaceKey, name: `Space ${spaceKey}` },
          version: { number: 1 },
        },
      };
    case "search":
      return { ...head, query: "release notes", results: 12, spaceKey: input.spaceKey };
    case "admin":
      return { ...head, group: { name: "confluence-users" } };
  }
}

/** What the app should extract from `payloadFor(event, input)`. */
export function expectedFacts(event: string, input: PayloadInput & { contentId: string }) {
  const family = familyOf(event);
  const spaceKey = input.spaceKey ?? "DOCS";
  switch (family) {
    case "page":
    case "like":
    case "label":
      return { spaceKey, contentKey: input.contentId, contentType: "page" };
    case "blog":
      return { spaceKey, contentKey: input.contentId, contentType: "blogpost" };
    case "comment":
    case "attachment":
      // Counted toward the page they are on.
      return { spaceKey, contentKey: input.parentId ?? "42", contentType: "page" };
    case "content":
      return { spaceKey, contentKey: input.contentId, contentType: "whiteboard" };
    case "space":
      return { spaceKey, contentKey: null, contentType: null };
    case "search":
      return { spaceKey: input.spaceKey ?? null, contentKey: null, contentType: null };
    case "admin":
      return { spaceKey: null, contentKey: null, contentType: null };
  }
}
