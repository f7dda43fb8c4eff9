import { describe, expect, it } from "vitest";
import { safeUrl } from "../../src/client/dom.js";
import { level, quartiles } from "../../src/client/views/calendar.js";

describe("calendar shades", () => {
  it("quartiles leave out days without events, so a quiet range still shades", () => {
    expect(quartiles([0, 0, 0, 4, 0, 8, 2, 6])).toEqual([4, 6, 8]);
    expect(quartiles([0, 0, 0])).toEqual([0, 0, 0]);
    expect(quartiles([5])).toEqual([5, 5, 5]);
    expect(quartiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])).toEqual([4, 7, 10]);
  });

  it("a day's shade: 0 without events, else 1 to 4 by the quartile it falls above", () => {
    const t = quartiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([0, 1, 4, 5, 7, 8, 10, 11, 12].map((n) => level(n, t))).toEqual([
      0, 1, 1, 2, 2, 3, 3, 4, 4,
    ]);
    // Every day alike: each day with events gets the first shade, none the darkest.
    expect(level(3, quartiles([3, 3, 3]))).toBe(1);
    expect(level(-1, t)).toBe(0);
  });
});

describe("safeUrl", () => {
  it("keeps http(s) URLs, resolves a path against a base, refuses other schemes", () => {
    expect(safeUrl("https://example.com/a b")).toBe("https://example.com/a%20b");
    expect(safeUrl("/docs/guide", "https://app.example.com/page?x=1")).toBe(
      "https://app.example.com/docs/guide",
    );
    expect(safeUrl("/docs")).toBeNull(); // a path without a base
    expect(safeUrl("javascript:alert(1)", "https://app.example.com/")).toBeNull();
    expect(safeUrl("data:text/html,x")).toBeNull();
    expect(safeUrl(null)).toBeNull();
  });
});
