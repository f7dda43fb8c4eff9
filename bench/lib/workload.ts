import { payloadFor } from "../../src/dev/payloads.js";
import { webhookByEvent, webhookPath } from "../../src/events/types.js";
import { seededRandom, skewedIndex } from "./random.js";

/** One pre-serialised webhook: the generator only adds the (shared, pre-signed) token. */
export interface BenchRequest {
  event: string;
  path: string;
  body: Buffer;
  contentLength: string;
}

/** The event mix in percent: page views dominate, as on a real site. */
export const EVENT_MIX: readonly (readonly [event: string, percent: number])[] = [
  ["page_viewed", 70],
  ["blog_viewed", 7],
  ["page_updated", 6],
  ["comment_created", 4],
  ["like_added", 3],
  ["search_performed", 3],
  ["page_created", 2],
  ["attachment_created", 2],
  ["label_added", 2],
  ["space_updated", 1],
];

export const USERS = 2000;
export const SPACES = 300;
export const CONTENT = 20_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The content pool, split by kind so that one id always names the same kind of content (a
 * comment id is never also a page id): [first index, size, title prefix].
 */
const CONTENT_KINDS = {
  page: [0, 14_000, "Page"],
  blog: [14_000, 2_000, "Blog post"],
  comment: [16_000, 2_000, "Re: Page"],
  attachment: [18_000, 2_000, "diagram"],
} as const satisfies Record<string, readonly [number, number, string]>;

function contentKindOf(event: string): keyof typeof CONTENT_KINDS {
  if (event.startsWith("blog_")) return "blog";
  if (event.startsWith("comment_")) return "comment";
  if (event.startsWith("attachment_")) return "attachment";
  return "page";
}

export function eventNames(): string[] {
  return EVENT_MIX.map(([event]) => event);
}

/**
 * `count` realistic webhook bodies: 2,000 users, 300 spaces (SP1..SP300), 20,000 pieces of
 * content (each of one kind, in one space, with a stable title), timestamps over the last
 * `spreadMs` (default 30 days). Users and content are skewed (some are much busier than
 * others), like real usage.
 */
export function generateRequests(
  count: number,
  seed: number,
  now = Date.now(),
  spreadMs = 30 * DAY_MS,
): BenchRequest[] {
  const total = EVENT_MIX.reduce((sum, [, percent]) => sum + percent, 0);
  for (const [event] of EVENT_MIX) {
    if (!webhookByEvent(event)) throw new Error(`${event} is not a webhook the app subscribes to`);
  }
  const random = seededRandom(seed);
  const pick = (): string => {
    let r = random() * total;
    for (const [event, percent] of EVENT_MIX) {
      r -= percent;
      if (r < 0) return event;
    }
    return EVENT_MIX[0]?.[0] ?? "page_viewed";
  };
  const requests: BenchRequest[] = [];
  for (let i = 0; i < count; i++) {
    const event = pick();
    const user = skewedIndex(random, USERS, 2);
    const [first, size, prefix] = CONTENT_KINDS[contentKindOf(event)];
    const content = first + skewedIndex(random, size, 1.5);
    const contentId = String(10_000_000 + content);
    // Content belongs to one space; space_updated names a space directly.
    const space = event === "space_updated" ? skewedIndex(random, SPACES, 1.5) : content % SPACES;
    const spaceKey = `SP${space + 1}`;
    const body = payloadFor(event, {
      accountId: `557058:bench-user-${String(user).padStart(5, "0")}`,
      spaceKey,
      contentId,
      title: event === "space_updated" ? `Space ${spaceKey}` : `${prefix} ${contentId}`,
      timestamp: now - Math.floor(random() * spreadMs),
      baseUrl: "https://bench.atlassian.net/wiki",
    });
    const bytes = Buffer.from(JSON.stringify(body));
    requests.push({
      event,
      path: webhookPath(event),
      body: bytes,
      contentLength: String(bytes.length),
    });
  }
  return requests;
}
