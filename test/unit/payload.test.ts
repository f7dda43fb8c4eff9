import { describe, expect, it } from "vitest";
import {
  EVENT_WINDOW_AHEAD_MS,
  eventTime,
  PayloadError,
  parseWebhookBody,
} from "../../src/events/payload.js";

const parse = (body: unknown) => parseWebhookBody(JSON.stringify(body));

describe("parseWebhookBody", () => {
  it("takes the page's id, space, title and type from a real page_updated capture", () => {
    const facts = parse({
      userAccountId: "557058:abc",
      accountType: "customer",
      updateTrigger: "edit_page",
      page: {
        id: 1188560897,
        idAsString: "1188560897",
        spaceKey: "~323528440",
        title: "Plan",
        contentType: "page",
      },
      timestamp: 1631606188983,
    });
    expect(facts).toEqual({
      accountId: "557058:abc",
      accountType: "customer",
      timestamp: 1631606188983,
      spaceKey: "~323528440",
      contentId: "1188560897",
      contentType: "page",
      title: "Plan",
    });
  });

  it("counts a comment or an attachment toward the page it is on, its space from either", () => {
    expect(
      parse({
        userAccountId: "u",
        comment: { id: 5, contentType: "comment", parent: { id: 4, spaceKey: "ENG" } },
      }),
    ).toMatchObject({ contentId: "4", contentType: null, spaceKey: "ENG" });
    expect(
      parse({
        userAccountId: "u",
        attachment: {
          id: "att9",
          spaceKey: "OPS",
          contentType: "attachment",
          container: { id: "77", contentType: "blogpost", title: "Launch" },
        },
      }),
    ).toMatchObject({ contentId: "77", contentType: "blogpost", title: "Launch", spaceKey: "OPS" });
    // Without a holder (or one without an id, or a holder that is a comment itself) the item
    // itself is the content.
    expect(
      parse({ userAccountId: "u", comment: { id: 5, contentType: "comment", parent: { x: 1 } } }),
    ).toMatchObject({ contentId: "5", contentType: "comment" });
    expect(
      parse({
        userAccountId: "u",
        comment: { id: 6, contentType: "comment", parent: { id: 5, contentType: "comment" } },
      }),
    ).toMatchObject({ contentId: "6", contentType: "comment" });
    // An attachment's container comes before any parent.
    expect(
      parse({
        userAccountId: "u",
        attachment: { id: "a1", parent: { id: "1" }, container: { id: "2", type: "page" } },
      }),
    ).toMatchObject({ contentId: "2", contentType: "page" });
  });

  it("reads REST-shaped content (space.key, type) and label events (labeled)", () => {
    expect(
      parse({ userAccountId: "u", content: { id: "9", type: "whiteboard", space: { key: "D" } } }),
    ).toMatchObject({ contentId: "9", contentType: "whiteboard", spaceKey: "D" });
    expect(
      parse({
        userAccountId: "u",
        label: { name: "x" },
        labeled: { id: 3, spaceKey: "L", contentType: "page" },
      }),
    ).toMatchObject({ contentId: "3", spaceKey: "L", contentType: "page" });
  });

  it("reads a space event's key", () => {
    expect(parse({ userAccountId: "u", space: { key: "HR", name: "People" } })).toMatchObject({
      spaceKey: "HR",
      contentId: null,
    });
  });

  it.each([
    ["not JSON", "{", "invalid_json"],
    ["a string", '"x"', "invalid_body"],
    ["null", "null", "invalid_body"],
    ["missing account", "{}", "invalid_body"],
    ["numeric account", '{"userAccountId": 1}', "invalid_body"],
    ["blank account", '{"userAccountId": "  "}', "invalid_body"],
    ["huge account", JSON.stringify({ userAccountId: "x".repeat(500) }), "invalid_body"],
  ])("refuses %s", (_name, raw, code) => {
    expect(() => parseWebhookBody(raw)).toThrow(PayloadError);
    try {
      parseWebhookBody(raw);
    } catch (e) {
      expect((e as PayloadError).code).toBe(code);
    }
  });

  it("caps titles and strips NUL", () => {
    const facts = parse({
      userAccountId: "u",
      page: { id: 1, title: `a\u0000${"t".repeat(5000)}` },
    });
    expect(facts.title?.length).toBe(1000);
    expect(facts.title?.includes("\u0000")).toBe(false);
  });

  it("replaces lone surrogates in free text with U+FFFD, and keeps well-formed pairs", () => {
    const facts = parse({
      userAccountId: "u",
      accountType: "cust\udc00omer",
      page: { id: 1, title: "a\ud800b\udfffc 😀", contentType: "pa\ud83dge" },
    });
    expect(facts.title).toBe("a\ufffdb\ufffdc 😀");
    expect(facts.contentType).toBe("pa\ufffdge");
    expect(facts.accountType).toBe("cust\ufffdomer");
    for (const v of [facts.title, facts.contentType, facts.accountType]) {
      expect(v?.isWellFormed()).toBe(true);
    }
  });

  it("never cuts a surrogate pair in two when capping", () => {
    for (const pad of [998, 999, 1000]) {
      const facts = parse({ userAccountId: "u", page: { id: 1, title: `${"t".repeat(pad)}😀😀` } });
      expect(facts.title?.isWellFormed()).toBe(true);
      expect(facts.title?.length).toBeLessThanOrEqual(1000);
    }
    const long = parse({ userAccountId: "u", page: { id: 1, title: `${"t".repeat(999)}😀` } });
    expect(long.title).toBe("t".repeat(999));
  });

  it.each([
    ["NUL in userAccountId", { userAccountId: "u\u0000x" }],
    ["a control character in userAccountId", { userAccountId: "u\u001bx" }],
    ["DEL in userAccountId", { userAccountId: "u\u007f" }],
    ["a lone surrogate in userAccountId", { userAccountId: "u\ud800" }],
    [
      "a lone surrogate in a space key",
      { userAccountId: "u", page: { id: 1, spaceKey: "K\ud800" } },
    ],
    ["NUL in a space key", { userAccountId: "u", space: { key: "K\u0000" } }],
    ["a lone surrogate in a content id", { userAccountId: "u", page: { id: "1\udc00" } }],
    ["NUL in a content id", { userAccountId: "u", comment: { id: "5\u0000" } }],
    ["an over-long space key", { userAccountId: "u", spaceKey: "K".repeat(256) }],
    ["an over-long content id", { userAccountId: "u", page: { id: "9".repeat(129) } }],
  ])("refuses an identifier that cannot be stored as given: %s", (_name, body) => {
    expect(() => parse(body)).toThrow(PayloadError);
    try {
      parse(body);
    } catch (e) {
      expect((e as PayloadError).code).toBe("invalid_body");
      expect((e as PayloadError).message.length).toBeLessThan(200);
    }
  });

  it("keeps well-formed non-ASCII identifiers as they are", () => {
    expect(parse({ userAccountId: "557058:ü😀", space: { key: "~Jörg😀" } })).toMatchObject({
      accountId: "557058:ü😀",
      spaceKey: "~Jörg😀",
    });
  });

  it("accepts a numeric-string timestamp and ignores a non-numeric one", () => {
    expect(parse({ userAccountId: "u", timestamp: "1700000000000" }).timestamp).toBe(1700000000000);
    expect(parse({ userAccountId: "u", timestamp: "yesterday" }).timestamp).toBeNull();
  });
});

describe("eventTime: payload timestamps are used only within the window", () => {
  const now = new Date("2026-11-21T12:00:00Z");
  const H = 3_600_000;
  const maxAgeMs = 72 * H;
  it("keeps a timestamp inside the window", () => {
    for (const at of [now.getTime(), now.getTime() - 71 * H, now.getTime() + 4 * 60_000]) {
      expect(eventTime(at, now, maxAgeMs)).toEqual({ at: new Date(at), outOfWindow: null });
    }
  });
  it("uses receipt time for a missing timestamp, silently", () => {
    expect(eventTime(null, now, maxAgeMs)).toEqual({ at: now, outOfWindow: null });
  });
  it.each([
    ["too old", now.getTime() - maxAgeMs - 1, "old"],
    ["from 2001", Date.UTC(2001, 0, 1), "old"],
    ["zero", 0, "old"],
    ["negative", -1e15, "old"],
    ["ahead", now.getTime() + EVENT_WINDOW_AHEAD_MS + 1, "future"],
    ["far ahead", 8.64e15 + 1, "future"],
  ])("uses receipt time, and says why, for a timestamp %s", (_name, at, why) => {
    expect(eventTime(at, now, maxAgeMs)).toEqual({ at: now, outOfWindow: why });
  });
});
