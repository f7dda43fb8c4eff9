import { inspect } from "node:util";
import { Writable } from "node:stream";
import * as jwt from "atlassian-jwt";
import { describe, expect, it } from "vitest";
import { createLogger, scrub } from "../../src/log.js";

const SECRET = "s3cr3t-Value_0123456789abcdef";
const TOKEN = jwt.encodeSymmetric({ iss: "site", sub: "u", exp: 2e9, qsh: "context-qsh" }, SECRET);

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger("debug", sink), lines };
}

describe("log scrubbing: no secret or token in any form", () => {
  it.each([
    ["JSON", JSON.stringify({ sharedSecret: SECRET })],
    ["escaped JSON", JSON.stringify(JSON.stringify({ sharedSecret: SECRET }))],
    ["a canonical request", `POST&/installed&baseUrl=x&clientKey=k&sharedSecret=${SECRET}&z=1`],
    ["percent-encoded JSON", encodeURIComponent(JSON.stringify({ sharedSecret: SECRET }))],
    ["an inspected object", inspect({ clientInfo: { sharedSecret: SECRET } })],
    ["single quotes", `{'sharedSecret': '${SECRET}'}`],
    ["a password field", `password=${SECRET}`],
    ["a JWT in prose", `token was ${TOKEN} and more`],
    [
      "a JWT's signed part in an error",
      `Signature verification failed for input: ${TOKEN.split(".").slice(0, 2).join(".")}`,
    ],
    ["an Authorization header", `authorization: JWT ${TOKEN}`],
    ["a Bearer credential", `Bearer ${SECRET}`],
    ["a jwt query parameter", `/api/reports/users.csv?jwt=${TOKEN}&tz=UTC`],
    ["an acpt header", `x-acpt: ${TOKEN}`],
  ])("scrubs %s", (_form, text) => {
    const out = scrub(text);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(TOKEN.split(".")[1]);
    expect(out).toContain("[redacted");
  });

  it("keeps ordinary text as it is", () => {
    const text =
      '{"msg":"webhook stored","code":"invalid_token","tokenCount":3,"path":"/webhooks/page_viewed"}';
    expect(scrub(text)).toBe(text);
  });

  it("every line the logger writes is scrubbed, whatever field holds the secret", () => {
    const { logger, lines } = capture();
    logger.info({ body: { nested: { sharedSecret: SECRET } } }, "install");
    logger.warn(`canonical request: sharedSecret=${SECRET}`);
    logger.error({ err: new Error(`failed for ${TOKEN}`) }, "boom");
    logger.info({ anything: `JWT ${TOKEN}` }, "header");
    const all = lines.join("");
    expect(lines).toHaveLength(4);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(TOKEN);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("an error is logged as one bounded line (no 15 KB statements)", () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error(`insert into event ${"x".repeat(20_000)}`), {
      code: "22P05",
    });
    logger.error({ err: error }, "request failed");
    expect(lines[0]?.length).toBeLessThan(3000);
    expect(JSON.parse(lines[0] ?? "{}").err.code).toBe("22P05");
  });
});

describe("log scrubbing keeps what is needed to diagnose", () => {
  it.each([
    "JWT claim did not contain the issuer (iss) claim",
    "JWT token can only appear in either query parameter or request body.",
    "Basic plan selected",
    "Saved tenant https://eyeglasses-online.atlassian.net/wiki",
    '{"msg":"webhook stored","code":"invalid_token","tokenCount":3}',
  ])("leaves %s as it is", (text) => {
    expect(scrub(text)).toBe(text);
  });

  it.each([
    [
      "a Map as Node prints it",
      `Map(1) { 'sharedSecret' => '${"s3cr3t-Value_0123456789abcdef"}' }`,
    ],
    ["a key/value pair array", JSON.stringify([["sharedSecret", "s3cr3t-Value_0123456789abcdef"]])],
    ["HTML-escaped JSON", `{&quot;sharedSecret&quot;:&quot;s3cr3t-Value_0123456789abcdef&quot;}`],
    [
      "\\u0022-escaped JSON",
      String.raw`{\u0022sharedSecret\u0022:\u0022s3cr3t-Value_0123456789abcdef\u0022}`,
    ],
  ])("scrubs %s", (_form, text) => {
    expect(scrub(text)).not.toContain("s3cr3t-Value_0123456789abcdef");
  });
});
