import { describe, expect, it } from "vitest";
import { occurredAt, PayloadError, parseWebhookBody } from "../../src/events/payload.js";

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

  it("prefers the comment over its parent page, and finds the space on the parent", () => {
    const facts = parse({
      userAccountId: "u",
      comment: { id: 5, contentType: "comment", parent: { id: 4, spaceKey: "ENG" } },
    });
    expect(facts).toMatchObject({ contentId: "5", contentType: "comment", spaceKey: "ENG" });
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

  it("accepts a numeric-string timestamp and ignores a non-numeric one", () => {
    expect(parse({ userAccountId: "u", timestamp: "1700000000000" }).timestamp).toBe(1700000000000);
    expect(parse({ userAccountId: "u", timestamp: "yesterday" }).timestamp).toBeNull();
  });
});

describe("occurredAt", () => {
  const now = new Date("2026-11-21T12:00:00Z");
  it("uses the payload time when plausible", () => {
    expect(occurredAt(now.getTime() - 1000, now).getTime()).toBe(now.getTime() - 1000);
    expect(occurredAt(now.getTime() + 4 * 60_000, now).getTime()).toBe(now.getTime() + 4 * 60_000);
  });
  it("falls back to receipt time when absent, over 5 minutes ahead, or absurdly old", () => {
    expect(occurredAt(null, now)).toBe(now);
    expect(occurredAt(now.getTime() + 6 * 60_000, now)).toBe(now);
    expect(occurredAt(0, now)).toBe(now);
  });
});
