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

export function eventNames(): string[] {
  return EVENT_MIX.map(([event]) => event);
}

/**
 * `count` realistic webhook bodies: 2,000 users, 300 spaces (SP1..SP300), 20,000 pieces of
 * content (each in one space), timestamps over the last 30 days. Users and content are skewed
 * (some are much busier than others), like real usage.
 */
export function generateRequests(count: number, seed: number, now = Date.now()): BenchRequest[] {
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
    const content = skewedIndex(random, CONTENT, 1.5);
    // Content belongs to one space; space_updated names a space directly.
    const space = event === "space_updated" ? skewedIndex(random, SPACES, 1.5) : content % SPACES;
    const contentId = String(10_000_000 + content);
    const body = payloadFor(event, {
      accountId: `557058:bench-user-${String(user).padStart(5, "0")}`,
      spaceKey: `SP${space + 1}`,
      contentId,
      title:
        event === "space_updated" ? `Space ${space + 1}` : `Page ${contentId} of SP${space + 1}`,
      timestamp: now - Math.floor(random() * 30 * DAY_MS),
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
