import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DomainError,
  type ErrorDetail,
  InvalidInput,
  Unavailable,
  UpstreamFailed,
} from "../../src/errors.js";
import { errorHandler, HttpError, statusFor } from "../../src/http/errors.js";
import { createLogger } from "../../src/log.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const DETAILS: ErrorDetail[] = [
  { field: "excludedSpaces", value: "NOPE", problem: "no such space" },
  { field: "excludedGroups", value: "g-1", problem: "no such group" },
];

/**
 * Each domain error, and the HttpError the same throw site threw before domain errors: the
 * answer (status, body bytes) and the log line must be the same.
 */
const CASES: { name: string; domain: DomainError; before: HttpError; status: number }[] = [
  {
    name: "InvalidInput",
    domain: new InvalidInput("invalid_parameter", "from must not be after to"),
    before: new HttpError(400, "invalid_parameter", "from must not be after to"),
    status: 400,
  },
  {
    name: "InvalidInput with details",
    domain: new InvalidInput("invalid_settings", "2 entries do not exist", DETAILS),
    before: new HttpError(400, "invalid_settings", "2 entries do not exist", DETAILS),
    status: 400,
  },
  {
    name: "UpstreamFailed",
    domain: new UpstreamFailed("confluence_unavailable", "Confluence did not list the group"),
    before: new HttpError(502, "confluence_unavailable", "Confluence did not list the group"),
    status: 502,
  },
  {
    name: "Unavailable",
    domain: new Unavailable("confluence_unavailable", "Confluence is still listing groups"),
    before: new HttpError(503, "confluence_unavailable", "Confluence is still listing groups"),
    status: 503,
  },
];

describe("domain errors answered by the one error handler", () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const app = express();
  let thrown: unknown;
  app.get("/throw", (_req, _res, next) => next(thrown));
  app.use(errorHandler(createLogger("debug", sink)));
  let server: ReturnType<typeof app.listen>;
  let base = "";

  beforeAll(async () => {
    server = app.listen(0, "127.0.0.1");
    await new Promise((ok) => server.once("listening", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((ok) => server.close(ok)));

  async function answer(error: unknown) {
    thrown = error;
    lines.length = 0;
    const res = await fetch(`${base}/throw`);
    const body = await res.text();
    const { time: _t, reqId: _r, err, ...line } = lines[0] ?? {};
    const { status: _s, stack: _st, ...errShape } = (err ?? {}) as Record<string, unknown>;
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      body,
      line,
      err: err === undefined ? undefined : errShape,
    };
  }

  it.each(CASES)("$name: status $status", async ({ domain, status }) => {
    expect(statusFor(domain)).toBe(status);
    const got = await answer(domain);
    expect(got.status).toBe(status);
    const details = domain instanceof InvalidInput ? domain.details : undefined;
    expect(JSON.parse(got.body)).toEqual({
      error: {
        code: domain.code,
        message: domain.message,
        ...(details ? { details } : {}),
      },
    });
  });

  it.each(CASES)("$name: the same answer and log line as before", async ({ domain, before }) => {
    const now = await answer(domain);
    const then = await answer(before);
    // Byte for byte: key order, no `details` key when there are none.
    expect(now.body).toBe(then.body);
    expect(now.status).toBe(then.status);
    expect(now.type).toBe(then.type);
    expect(now.line).toEqual(then.line);
    expect(now.err).toEqual(then.err);
  });

  it("logs 4xx as warnings without the error, 5xx as errors with it", async () => {
    const invalid = await answer(CASES[0]?.domain);
    expect(invalid.line).toMatchObject({ level: 40, status: 400, code: "invalid_parameter" });
    expect(invalid.err).toBeUndefined();
    const unavailable = await answer(CASES[3]?.domain);
    expect(unavailable.line).toMatchObject({ level: 50, status: 503 });
    expect(unavailable.err).toMatchObject({ message: "Confluence is still listing groups" });
  });
});

/** Every .ts file under a folder of src/. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The repository paths (src/...) a file imports from, static or dynamic, relative only. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specifiers = [
    ...text.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g),
    ...text.matchAll(/\bexport\s[^;]*?\bfrom\s*["']([^"']+)["']/g),
  ].map((m) => m[1] ?? "");
  return specifiers
    .filter((s) => s.startsWith("."))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

describe("domain modules know nothing of HTTP", () => {
  it.each(["src/reports", "src/settings", "src/confluence", "src/jobs"])(
    "no file under %s imports from src/http/",
    (dir) => {
      const files = sources(dir);
      expect(files.length).toBeGreaterThan(0);
      const offending = files.flatMap((file) =>
        importsOf(file)
          .filter((target) => target === "src/http" || target.startsWith("src/http/"))
          .map((target) => `${file} -> ${target}`),
      );
      expect(offending).toEqual([]);
    },
  );
});
