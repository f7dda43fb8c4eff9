import * as jwt from "atlassian-jwt";
import { describe, expect, it } from "vitest";
import { loggedUrl, requestId } from "../../src/http/request-log.js";

const TOKEN = jwt.encodeSymmetric({ iss: "site", sub: "u", exp: 2e9, qsh: "context-qsh" }, "k");

describe("the URL as logged", () => {
  it.each([
    ["/api/reports/users.csv", { path: "/api/reports/users.csv" }],
    ["/healthz?", { path: "/healthz" }],
    [`/x?jwt=${TOKEN}&tz=UTC`, { path: "/x", query: "jwt=[redacted]&tz=UTC" }],
    [`/x?tz=UTC&JWT=${TOKEN}`, { path: "/x", query: "tz=UTC&JWT=[redacted]" }],
    [
      "/x?access_token=abc&password=p&acpt=a",
      {
        path: "/x",
        query: "access_token=[redacted]&password=[redacted]&acpt=[redacted]",
      },
    ],
    [`/x?next=${TOKEN}`, { path: "/x", query: "next=[redacted]" }],
    ["/x?q=caf%C3%A9&space=ENG", { path: "/x", query: "q=caf%C3%A9&space=ENG" }],
  ])("%s", (url, expected) => {
    expect(loggedUrl(url)).toEqual(expected);
  });

  it("is bounded", () => {
    const { path, query } = loggedUrl(`/${"p".repeat(10_000)}?q=${"v".repeat(10_000)}`);
    expect(path.length).toBeLessThan(600);
    expect(query?.length).toBeLessThan(600);
  });
});

describe("the request id", () => {
  it("keeps a sane incoming id", () => {
    expect(requestId("edge-7f3a.2026:11/req_42")).toBe("edge-7f3a.2026:11/req_42");
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["too long", "a".repeat(129)],
    ["with a control character", "a\u0001b"],
    ["with a newline", "a\nb"],
    ["with spaces", "a b"],
    ["with quotes", 'a"b'],
    ["repeated", ["a", "b"]],
  ])("replaces one %s by a UUID", (_what, incoming) => {
    expect(requestId(incoming)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
