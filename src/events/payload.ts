import { z } from "zod";
import { isCleanText, MAX_ACCOUNT_ID } from "../text/identifier.js";

/**
 * What the app keeps of a webhook body. Confluence's payloads come in several shapes
 * (`page`, `blog`, `comment`, `attachment`, `label` + `labeled`, `space`, `content`, ...), and
 * new ones appear without notice, so only `userAccountId` is required; everything else is taken
 * where the body has it.
 * See ../../../shared/docs/platform-notes.md ("Confluence webhooks").
 */
export interface WebhookFacts {
  accountId: string;
  accountType: string;
  /** Epoch ms from the payload's `timestamp`, when it has a usable one. */
  timestamp: number | null;
  spaceKey: string | null;
  contentId: string | null;
  contentType: string | null;
  title: string | null;
}

export class PayloadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_ID = MAX_ACCOUNT_ID;
const MAX_KEY = 255;
const MAX_TITLE = 1000;

/**
 * What makes a string storable, and what is done when it is not (issue 8: one unstorable
 * webhook must not fail the batch it shares with other sites' webhooks):
 * - Free text (title, contentType, accountType) is repaired: a lone UTF-16 surrogate (JSON
 *   `"\ud800"`, which PostgreSQL's JSON input refuses) becomes U+FFFD, NUL is removed, and the
 *   cap never cuts a surrogate pair in two.
 * - Identifiers (userAccountId, space key, content id) are refused (400 invalid_body) when they
 *   hold a control character or a lone surrogate, or are longer than their cap: they name
 *   things, so a repaired or shortened one would name something else, or merge two different
 *   ones. Confluence's own identifiers never hold such characters.
 */
function unstorableIdentifier(value: string): boolean {
  return !isCleanText(value);
}

const bodySchema = z.looseObject({
  userAccountId: z
    .string({ error: "userAccountId must be a string" })
    .trim()
    .min(1, "userAccountId must not be empty")
    .max(MAX_ID, "userAccountId is too long")
    .refine(
      (id) => !unstorableIdentifier(id),
      "userAccountId holds a control character or an invalid UTF-16 sequence",
    ),
  accountType: z.unknown().optional(),
  timestamp: z.unknown().optional(),
});

/** Content-bearing keys: the first the body has names what the event is about. */
const CONTENT_KEYS = ["comment", "attachment", "page", "blog", "content", "labeled"] as const;

/**
 * Where a comment or an attachment lives: an event on it counts toward that page or blog post
 * (a like or a label already names the content itself). Confluence sends `parent` on comments
 * and `container` on attachments; either may be missing (or name something that is not a page
 * or blog post), and then the item itself is the content.
 */
const HOLDER_KEYS = { comment: ["parent", "container"], attachment: ["container", "parent"] };
const NOT_HOLDERS = new Set(["comment", "attachment"]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** At most `max` UTF-16 units of well-formed text, never ending in half a surrogate pair. */
function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Free text: repaired to what PostgreSQL stores (see above), trimmed and capped. */
function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const text = value
    .toWellFormed()
    .replace(/\u0000/g, "")
    .trim();
  if (text === "") return null;
  return cap(text, max);
}

/** An identifier: taken as it is, or refused (see above); absent when not a string. */
function cleanIdentifier(value: unknown, max: number, name: string): string | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (text === "") return null;
  if (unstorableIdentifier(text)) {
    throw new PayloadError(
      "invalid_body",
      `${name} holds a control character or an invalid UTF-16 sequence`,
    );
  }
  if (text.length > max) throw new PayloadError("invalid_body", `${name} is too long`);
  return text;
}

function cleanId(value: unknown): string | null {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return cleanIdentifier(value, MAX_ID, "The content id");
}

function cleanKey(value: unknown): string | null {
  return cleanIdentifier(value, MAX_KEY, "The space key");
}

function spaceKeyOf(obj: Json): string | null {
  const direct = cleanKey(obj.spaceKey);
  if (direct) return direct;
  if (isObject(obj.space)) return cleanKey(obj.space.key);
  return null;
}

function parseTimestamp(value: unknown): number | null {
  const ms = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) return null;
  return ms;
}

/** Parses and validates a raw webhook body. Throws PayloadError for anything not storable. */
export function parseWebhookBody(raw: Buffer | string): WebhookFacts {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
  } catch {
    throw new PayloadError("invalid_json", "The request body is not valid JSON.");
  }
  if (!isObject(json)) {
    throw new PayloadError("invalid_body", "The request body must be a JSON object.");
  }
  const result = bodySchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message =
      issue?.path[0] === "userAccountId" && issue.code === "invalid_type"
        ? "userAccountId is required and must be a string"
        : (issue?.message ?? "invalid body");
    throw new PayloadError("invalid_body", message);
  }
  const body = result.data;

  const contentKey = CONTENT_KEYS.find((key) => isObject(body[key]));
  const item = contentKey ? (body[contentKey] as Json) : null;
  const holder =
    item && (contentKey === "comment" || contentKey === "attachment")
      ? HOLDER_KEYS[contentKey]
          .map((k) => item[k])
          .find(
            (h): h is Json =>
              isObject(h) &&
              (cleanId(h.idAsString) ?? cleanId(h.id)) !== null &&
              !NOT_HOLDERS.has(String(h.contentType ?? h.type ?? "")),
          )
      : undefined;
  const content = holder ?? item;
  const space = isObject(body.space) ? body.space : null;

  let spaceKey = item ? spaceKeyOf(item) : null;
  if (!spaceKey && holder) spaceKey = spaceKeyOf(holder);
  if (!spaceKey && item && isObject(item.parent)) spaceKey = spaceKeyOf(item.parent);
  if (!spaceKey && space) spaceKey = cleanKey(space.key);
  if (!spaceKey) spaceKey = cleanKey(body.spaceKey);

  return {
    accountId: body.userAccountId,
    accountType: cleanText(body.accountType, 32) ?? "customer",
    timestamp: parseTimestamp(body.timestamp),
    spaceKey,
    contentId: content ? (cleanId(content.idAsString) ?? cleanId(content.id)) : null,
    contentType: content
      ? (cleanText(content.contentType, 64) ??
        cleanText(content.type, 64) ??
        (holder || contentKey === "labeled" || contentKey === undefined ? null : contentKey))
      : null,
    title: content
      ? (cleanText(content.title, MAX_TITLE) ?? cleanText(content.name, MAX_TITLE))
      : null,
  };
}

/** How far ahead of receipt a payload timestamp may be (clocks differ a little). */
export const EVENT_WINDOW_AHEAD_MS = 5 * 60 * 1000;

export interface EventTime {
  at: Date;
  /** Why the payload's timestamp was not used: null when it was, or when there was none. */
  outOfWindow: "old" | "future" | null;
}

/**
 * An event's time: the payload's `timestamp` when it lies in the window
 * [receipt - maxAgeMs, receipt + EVENT_WINDOW_AHEAD_MS], otherwise the receipt time.
 * Confluence sends webhooks as things happen and never retries them, so a timestamp far from
 * now is a wrong clock or a forged body. Storing it as given would also cost unbounded work:
 * every sealed report day since that time is reopened and sealed again, per zone.
 */
export function eventTime(timestamp: number | null, receivedAt: Date, maxAgeMs: number): EventTime {
  if (timestamp === null) return { at: receivedAt, outOfWindow: null };
  const now = receivedAt.getTime();
  if (timestamp < now - maxAgeMs) return { at: receivedAt, outOfWindow: "old" };
  if (timestamp > now + EVENT_WINDOW_AHEAD_MS) return { at: receivedAt, outOfWindow: "future" };
  return { at: new Date(timestamp), outOfWindow: null };
}
