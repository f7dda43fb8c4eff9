import { z } from "zod";

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

const MAX_ID = 128;
const MAX_KEY = 255;
const MAX_TITLE = 1000;

const bodySchema = z.looseObject({
  userAccountId: z
    .string({ error: "userAccountId must be a string" })
    .trim()
    .min(1, "userAccountId must not be empty")
    .max(MAX_ID, "userAccountId is too long"),
  accountType: z.unknown().optional(),
  timestamp: z.unknown().optional(),
});

/** Content-bearing keys, most specific first: a comment's own id beats its parent page's. */
const CONTENT_KEYS = ["comment", "attachment", "page", "blog", "content", "labeled"] as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** PostgreSQL text cannot hold NUL; trim and cap so one odd payload cannot fail a batch. */
function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  // NUL is exactly what must go (PostgreSQL text cannot hold it).
  const text = value.replace(/\u0000/g, "").trim();
  if (text === "") return null;
  return text.length > max ? text.slice(0, max) : text;
}

function cleanId(value: unknown): string | null {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return cleanText(value, MAX_ID);
}

function spaceKeyOf(obj: Json): string | null {
  const direct = cleanText(obj.spaceKey, MAX_KEY);
  if (direct) return direct;
  if (isObject(obj.space)) return cleanText(obj.space.key, MAX_KEY);
  return null;
}

function parseTimestamp(value: unknown): number | null {
  const ms = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
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
  const content = contentKey ? (body[contentKey] as Json) : null;
  const space = isObject(body.space) ? body.space : null;

  let spaceKey = content ? spaceKeyOf(content) : null;
  if (!spaceKey && content && isObject(content.parent)) spaceKey = spaceKeyOf(content.parent);
  if (!spaceKey && space) spaceKey = cleanText(space.key, MAX_KEY);
  if (!spaceKey) spaceKey = cleanText(body.spaceKey, MAX_KEY);

  return {
    accountId: body.userAccountId,
    accountType: cleanText(body.accountType, 32) ?? "customer",
    timestamp: parseTimestamp(body.timestamp),
    spaceKey,
    contentId: content ? (cleanId(content.idAsString) ?? cleanId(content.id)) : null,
    contentType: content
      ? (cleanText(content.contentType, 64) ??
        cleanText(content.type, 64) ??
        (contentKey === "labeled" || contentKey === undefined ? null : contentKey))
      : null,
    title: content
      ? (cleanText(content.title, MAX_TITLE) ?? cleanText(content.name, MAX_TITLE))
      : null,
  };
}

/** An event's time: the payload's, unless missing, absurd or more than 5 minutes ahead. */
export function occurredAt(timestamp: number | null, receivedAt: Date): Date {
  const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;
  const EARLIEST = Date.UTC(2000, 0, 1);
  if (timestamp === null) return receivedAt;
  if (timestamp > receivedAt.getTime() + FUTURE_TOLERANCE_MS || timestamp < EARLIEST) {
    return receivedAt;
  }
  return new Date(timestamp);
}
