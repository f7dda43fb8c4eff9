/**
 * Fuzz: webhook bodies. Every request is signed by an installed site (so it reaches
 * validation); the bodies are arbitrary JSON, Confluence-shaped payloads with hostile values,
 * raw bytes under any content type and encoding. Properties:
 * - never a 5xx, every answer within 2 s, a JSON error body with every 4xx;
 * - a refused request (4xx) stores no row (the event count does not move, and no row carries
 *   the request's own account id marker); a 204 stores at most one;
 * - valid webhooks sent at the same time as invalid ones, from both sites, are all answered 204
 *   and each stored exactly once, under its own site.
 */
import { randomUUID } from "node:crypto";
import { deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { WEBHOOKS } from "../../src/events/types.js";
import { type Answer, type FuzzApp, type FuzzSite } from "../support/fuzz-app.js";
import { FUZZ_SPACES } from "../support/fuzz-fixtures.js";
import {
  anyChar,
  EDGE_NUMBERS,
  encodeComponent,
  hostileJson,
  hostileKey,
  longRun,
  nastyString,
} from "./arbitraries.js";
import {
  abbreviate,
  checkAnswer,
  checkProperty,
  checkStillHealthy,
  describeExchange,
  failureSummary,
  FUZZ_RUNS,
  FuzzFailure,
  show,
  startFuzzApp,
} from "./fuzz.js";

const EVENTS = WEBHOOKS.map((w) => w.event);

/** A webhook name: mostly subscribed ones, sometimes unknown, odd or percent-encoded. */
const eventName: fc.Arbitrary<{ name: string; path: string }> = fc.oneof(
  { arbitrary: fc.constantFrom(...EVENTS).map((name) => ({ name, path: name })), weight: 12 },
  {
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "page_started",
          "page_snapshotted",
          "Page_Viewed",
          "page_viewed ",
          "page_viewed\u0000",
          "page_viewed.json",
          "__proto__",
          "constructor",
          "toString",
          "hasOwnProperty",
          "\ud800",
        ),
        fc.stringMatching(/^[a-z_]{1,30}$/),
        nastyString.filter((s) => s.length > 0 && s.length <= 300 && s !== "." && s !== ".."),
      )
      .map((name) => ({ name, path: encodeComponent(name) })),
    weight: 2,
  },
  {
    arbitrary: fc
      .constantFrom("%70age_viewed", "page_viewed%00", "page%5Fviewed", "%zz", "page_viewed%2F")
      .map((raw) => ({ name: raw, path: raw })),
    weight: 1,
  },
);

const site = fc.integer({ min: 0, max: 1 });

/** A fresh account id marker per request: rows are found by prefix, so none is another's. */
let markerSeq = 0;
const runId = randomUUID().slice(0, 8);
function marker(): string {
  return `fz${runId}n${++markerSeq}:`;
}

// ---- 1. Arbitrary JSON ----

const jsonBody: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.json({ maxDepth: 3, stringUnit: anyChar }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        userAccountId: fc.oneof(fc.string({ unit: anyChar, maxLength: 20 }), hostileJson),
        accountType: hostileJson,
        timestamp: fc.oneof(fc.constantFrom(...EDGE_NUMBERS), hostileJson),
        page: fc.dictionary(hostileKey, hostileJson, { maxKeys: 4 }),
      },
      { requiredKeys: [] },
    )
    .chain((r) =>
      fc.dictionary(hostileKey, hostileJson, { maxKeys: 3 }).map((extra) => ({ ...extra, ...r })),
    )
    .map((v) => JSON.stringify(v)),
);

// ---- 2. Payload-shaped bodies with hostile values ----

type AccountSpec =
  | { kind: "clean" }
  | { kind: "wrapped"; pre: string; post: string }
  | { kind: "hostile"; value: unknown };

interface Mutation {
  pick: number;
  op: "set" | "delete" | "ownKey" | "wrap";
  key: string;
  value: unknown;
}

interface PayloadCase {
  site: number;
  event: { name: string; path: string };
  spaceKey: string;
  contentId: string;
  title: string;
  timestamp: unknown;
  account: AccountSpec;
  accountType: unknown;
  mutations: Mutation[];
  duplicate: { key: string; value: unknown; first: boolean } | null;
}

const payloadCase: fc.Arbitrary<PayloadCase> = fc.record({
  site,
  event: eventName,
  spaceKey: fc.oneof({ arbitrary: fc.constantFrom(...FUZZ_SPACES), weight: 3 }, nastyString),
  contentId: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 2 ** 40 }).map(String), weight: 3 },
    nastyString,
  ),
  title: fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    nastyString,
    longRun(1000, 200_000),
  ),
  timestamp: fc.oneof(
    {
      arbitrary: fc.integer({ min: 0, max: 30 * 86_400_000 }).map((ago) => Date.now() - ago),
      weight: 3,
    },
    fc.constantFrom<unknown>(...EDGE_NUMBERS),
    fc.constant<unknown>(undefined),
    hostileJson,
  ),
  account: fc.oneof(
    { arbitrary: fc.constant<AccountSpec>({ kind: "clean" }), weight: 5 },
    {
      arbitrary: fc
        .record({ pre: fc.constantFrom("", " ", "\u0000"), post: nastyString })
        .map((r): AccountSpec => ({ kind: "wrapped", ...r })),
      weight: 3,
    },
    { arbitrary: hostileJson.map((value): AccountSpec => ({ kind: "hostile", value })), weight: 1 },
  ),
  accountType: fc.oneof(
    { arbitrary: fc.constant<unknown>(undefined), weight: 4 },
    fc.constantFrom<unknown>("customer", "app", "atlassian", "APP", " app ", "app\u0000"),
    hostileJson,
  ),
  mutations: fc.array(
    fc.record({
      pick: fc.nat(),
      op: fc.constantFrom<Mutation["op"]>("set", "delete", "ownKey", "wrap"),
      key: hostileKey,
      value: hostileJson,
    }),
    { maxLength: 4 },
  ),
  duplicate: fc.option(fc.record({ key: hostileKey, value: hostileJson, first: fc.boolean() }), {
    nil: null,
    freq: 6,
  }),
});

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty: "__proto__" becomes an own key (as JSON.parse makes it), not the prototype.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Every (object, key) of the body down to depth 4, and every object (for new keys). */
function slots(root: Record<string, unknown>) {
  const keys: [Record<string, unknown>, string][] = [];
  const objects: Record<string, unknown>[] = [];
  const walk = (o: Record<string, unknown>, depth: number) => {
    objects.push(o);
    for (const k of Object.keys(o)) {
      keys.push([o, k]);
      const v = o[k];
      if (depth < 4 && v && typeof v === "object" && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, depth + 1);
      }
    }
  };
  walk(root, 0);
  return { keys, objects };
}

function accountValue(spec: AccountSpec, m: string): unknown {
  if (spec.kind === "clean") return m;
  if (spec.kind === "wrapped") return `${spec.pre}${m}${spec.post}`;
  return spec.value;
}

const TITLE = "\u{1F9EA}title\u{1F9EA}";

/** Every string in `o` with TITLE in it, with TITLE replaced by `title`. */
function putTitle(o: Record<string, unknown>, title: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "string" && v.includes(TITLE)) o[k] = v.split(TITLE).join(title);
    else if (v && typeof v === "object") putTitle(v as Record<string, unknown>, title);
  }
}

function buildPayload(c: PayloadCase, m: string): string {
  // payloadFor URL-encodes the title (which throws on a lone surrogate): put it in afterwards.
  const body = payloadFor(EVENTS.includes(c.event.name as never) ? c.event.name : "page_viewed", {
    accountId: m,
    spaceKey: c.spaceKey,
    contentId: c.contentId,
    title: TITLE,
  });
  putTitle(body, c.title);
  body.userAccountId = accountValue(c.account, m);
  if (c.timestamp === undefined) delete body.timestamp;
  else body.timestamp = c.timestamp;
  if (c.accountType !== undefined) body.accountType = c.accountType;
  for (const mu of c.mutations) {
    const { keys, objects } = slots(body);
    const slot = keys[mu.pick % Math.max(1, keys.length)];
    if (mu.op === "ownKey" || !slot) {
      const target = objects[mu.pick % objects.length] ?? body;
      setOwn(target, mu.key, mu.value);
    } else if (mu.op === "delete") delete slot[0][slot[1]];
    else if (mu.op === "set") setOwn(slot[0], slot[1], mu.value);
    else setOwn(slot[0], slot[1], mu.pick % 2 ? [slot[0][slot[1]]] : { value: slot[0][slot[1]] });
  }
  let text = JSON.stringify(body);
  if (c.duplicate) {
    const entry = `${JSON.stringify(c.duplicate.key)}:${JSON.stringify(c.duplicate.value) ?? "null"}`;
    text = c.duplicate.first ? `{${entry},${text.slice(1)}` : `${text.slice(0, -1)},${entry}}`;
  }
  return text;
}

/** A payload every version of the app must store: clean marker, a customer, nothing odd. */
function mustStoreWhenAccepted(c: PayloadCase): boolean {
  return (
    c.account.kind === "clean" &&
    (c.accountType === undefined || c.accountType === "customer") &&
    c.mutations.length === 0 &&
    c.duplicate === null &&
    EVENTS.includes(c.event.path as never)
  );
}

// ---- 3. Raw bytes, content types, encodings ----

type RawBody =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "payload"; form: (typeof PAYLOAD_FORMS)[number] }
  | { kind: "deep"; depth: number; open: string }
  | { kind: "huge"; size: number }
  | { kind: "empty" };

const PAYLOAD_FORMS = [
  "utf8",
  "utf8-bom",
  "utf16le",
  "utf16le-bom",
  "latin1",
  "gzip",
  "deflate",
  "truncated",
  "trailing-garbage",
  "invalid-utf8-in-title",
  "raw-nul-in-title",
  "overlong-nul-in-account",
  "cesu-surrogate-in-title",
] as const;

interface RawCase {
  site: number;
  event: { name: string; path: string };
  body: RawBody;
  contentType: string | null;
  contentEncoding: string | null;
}

const rawCase: fc.Arbitrary<RawCase> = fc.record({
  site,
  event: fc.oneof(
    { arbitrary: eventName, weight: 1 },
    {
      arbitrary: fc.constantFrom(...EVENTS).map((name) => ({ name, path: name })),
      weight: 3,
    },
  ),
  body: fc.oneof(
    {
      arbitrary: fc
        .uint8Array({ maxLength: 3000 })
        .map((bytes): RawBody => ({ kind: "bytes", bytes })),
      weight: 3,
    },
    {
      arbitrary: fc
        .constantFrom(...PAYLOAD_FORMS)
        .map((form): RawBody => ({ kind: "payload", form })),
      weight: 4,
    },
    {
      arbitrary: fc
        .record({
          depth: fc.integer({ min: 100, max: 300_000 }),
          open: fc.constantFrom("[", '{"a":', '{"userAccountId":"x","page":'),
        })
        .map((r): RawBody => ({ kind: "deep", ...r })),
      weight: 1,
    },
    {
      arbitrary: fc
        .integer({ min: 900_000, max: 1_300_000 })
        .map((size): RawBody => ({ kind: "huge", size })),
      weight: 1,
    },
    { arbitrary: fc.constant<RawBody>({ kind: "empty" }), weight: 1 },
  ),
  contentType: fc.option(
    fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=utf-16",
      "application/json; charset=latin1",
      "application/json; charset=nope",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=zz",
      "application/octet-stream",
      "application/xml",
      "*/*",
      ";;;",
      "",
    ),
    { nil: null, freq: 6 },
  ),
  contentEncoding: fc.option(
    fc.constantFrom("gzip", "deflate", "br", "identity", "x-unknown", "gzip, gzip", "GZIP"),
    { nil: null, freq: 3 },
  ),
});

function utf8(s: string): Buffer {
  return Buffer.from(s, "utf8");
}

function buildRaw(c: RawCase, m: string): Uint8Array {
  const b = c.body;
  if (b.kind === "bytes") return b.bytes;
  if (b.kind === "empty") return new Uint8Array(0);
  if (b.kind === "huge") {
    const head = `{"userAccountId":"${m}","page":{"title":"`;
    return utf8(head + "x".repeat(Math.max(0, b.size - head.length - 4)) + '"}}');
  }
  if (b.kind === "deep") {
    const close = b.open === "[" ? "]" : "}";
    return utf8(b.open.repeat(b.depth) + "1" + close.repeat(b.depth));
  }
  const payload = payloadFor("page_viewed", { accountId: m, spaceKey: "ENG", title: "Tïtle" });
  const text = JSON.stringify(payload);
  switch (b.form) {
    case "utf8":
      return utf8(text);
    case "utf8-bom":
      return utf8(`\ufeff${text}`);
    case "utf16le":
      return Buffer.from(text, "utf16le");
    case "utf16le-bom":
      return Buffer.from(`\ufeff${text}`, "utf16le");
    case "latin1":
      return Buffer.from(text, "latin1");
    case "gzip":
      return gzipSync(utf8(text));
    case "deflate":
      return deflateSync(utf8(text));
    case "truncated":
      return utf8(text.slice(0, Math.floor(text.length / 2)));
    case "trailing-garbage":
      return utf8(`${text} }{ garbage`);
    case "invalid-utf8-in-title":
      return splice(text, "Tïtle", Buffer.from([0x54, 0xff, 0xfe, 0xc3]));
    case "raw-nul-in-title":
      return splice(text, "Tïtle", Buffer.from([0x54, 0x00, 0x74]));
    case "overlong-nul-in-account":
      return splice(text, m, Buffer.concat([utf8(m), Buffer.from([0xc0, 0x80])]));
    case "cesu-surrogate-in-title":
      return splice(text, "Tïtle", Buffer.from([0x54, 0xed, 0xa0, 0x80]));
  }
}

/** `text` as UTF-8 with every `find` replaced by the given bytes. */
function splice(text: string, find: string, bytes: Buffer): Buffer {
  const parts = text.split(find).map(utf8);
  const out: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(bytes);
    out.push(p);
  });
  return Buffer.concat(out);
}

function rawHeaders(c: RawCase): Record<string, string> {
  const h: Record<string, string> = {};
  if (c.contentType !== null) h["content-type"] = c.contentType;
  if (c.contentEncoding !== null) h["content-encoding"] = c.contentEncoding;
  return h;
}

function describeRaw(c: RawCase, bytes: Uint8Array): string {
  const b = c.body;
  const what =
    b.kind === "bytes"
      ? `bytes ${Buffer.from(b.bytes).toString("hex").slice(0, 120)}${b.bytes.length > 60 ? "…" : ""} (${b.bytes.length} B)`
      : b.kind === "payload"
        ? `a page_viewed payload as ${b.form} (${bytes.length} B)`
        : b.kind === "deep"
          ? `${JSON.stringify(b.open)} nested ${b.depth} deep (${bytes.length} B)`
          : b.kind === "huge"
            ? `a ${bytes.length} B JSON body`
            : "an empty body";
  return `POST /webhooks/${c.event.path} [site ${c.site}] content-type=${show(c.contentType)} content-encoding=${show(c.contentEncoding)} body=${what}`;
}

// ---- the suite ----

describe("fuzz: webhooks", () => {
  let app: FuzzApp;
  const siteOf = (i: number): FuzzSite => app.sites[i] ?? (app.sites[0] as FuzzSite);

  beforeAll(async () => {
    app = await startFuzzApp("webhooks");
  });
  afterAll(async () => {
    const failed = failureSummary();
    console.log(
      `fuzz webhooks: ${failed.length} failing properties, app replaced ${app?.restarts ?? 0} times` +
        failed.map((f) => `\n  ✗ ${f.split("\n")[0]}`).join(""),
    );
    await app?.stop();
  });

  /** Sends one webhook and checks the answer and what it stored. */
  async function sendOne(
    request: string,
    send: () => Promise<Answer>,
    opts: { marker?: string; mustStore?: boolean; bodyBytes: number },
  ): Promise<void> {
    const before = await app.eventCount();
    const restartsBefore = app.restarts;
    const a = await send();
    await checkAnswer(app, request, a, { bodyBytes: opts.bodyBytes });
    if (app.restarts !== restartsBefore) return;
    const after = await app.eventCount();
    const mine = opts.marker
      ? ((await app.eventsByPrefix([opts.marker])).get(opts.marker) ?? [])
      : [];
    const stored = `${after - before} new row(s), ${mine.length} under the marker`;
    if ((a.status >= 400 || a.status === 0) && (after !== before || mine.length > 0)) {
      throw new FuzzFailure(
        `a refused request stored a row (${stored}): ${describeExchange(request, a)}`,
      );
    }
    if (a.status >= 200 && a.status < 300 && (after - before > 1 || mine.length > 1)) {
      throw new FuzzFailure(
        `one request stored several rows (${stored}): ${describeExchange(request, a)}`,
      );
    }
    if (a.status === 204 && opts.mustStore && mine.length !== 1) {
      throw new FuzzFailure(
        `an accepted valid webhook was not stored (${stored}): ${describeExchange(request, a)}`,
      );
    }
  }

  async function property(name: string, run: () => Promise<void>): Promise<void> {
    let failure: unknown;
    try {
      await run();
    } catch (error) {
      failure = error;
    }
    try {
      await checkStillHealthy(app, name);
    } catch (error) {
      failure ??= error;
    }
    if (failure) throw failure;
  }

  it("arbitrary JSON bodies: never 5xx, never over 2 s, nothing stored when refused", () =>
    property("webhooks: arbitrary JSON", () =>
      checkProperty(
        "webhooks: arbitrary JSON",
        fc.record({ site, event: eventName, body: jsonBody }),
        async ({ site: s, event, body }) => {
          const request = `POST /webhooks/${event.path} [site ${s}] body=${abbreviate(body, 400)}`;
          await sendOne(request, () => app.webhook(siteOf(s), event.path, body), {
            bodyBytes: Buffer.byteLength(body),
          });
        },
      ),
    ));

  it("payload-shaped bodies with hostile values: never 5xx, never over 2 s, a row only when accepted", () =>
    property("webhooks: hostile payloads", () =>
      checkProperty("webhooks: hostile payloads", payloadCase, async (c) => {
        const m = marker();
        const body = buildPayload(c, m);
        const request = `POST /webhooks/${c.event.path} [site ${c.site}] body=${abbreviate(body, 700)}`;
        await sendOne(request, () => app.webhook(siteOf(c.site), c.event.path, body), {
          marker: m,
          mustStore: mustStoreWhenAccepted(c),
          bodyBytes: Buffer.byteLength(body),
        });
      }),
    ));

  it("raw bytes, content types and encodings: never 5xx, never over 2 s, nothing stored when refused", () =>
    property("webhooks: raw bodies", () =>
      checkProperty("webhooks: raw bodies", rawCase, async (c) => {
        const m = marker();
        const bytes = buildRaw(c, m);
        const request = describeRaw(c, bytes);
        await sendOne(
          request,
          () => app.webhook(siteOf(c.site), c.event.path, bytes, rawHeaders(c)),
          { marker: m, bodyBytes: bytes.length },
        );
      }),
    ));

  const validCase = fc.record({
    site,
    event: fc.constantFrom(...EVENTS),
    spaceKey: fc.constantFrom(...FUZZ_SPACES),
    contentId: fc.integer({ min: 1, max: 1_000_000 }).map(String),
    title: fc.string({ unit: "grapheme", maxLength: 30 }),
    ageMs: fc.integer({ min: 0, max: 3 * 86_400_000 }),
  });
  const invalidCase = fc.oneof(
    payloadCase.map((c) => ({ kind: "payload" as const, c })),
    rawCase.map((c) => ({ kind: "raw" as const, c })),
    fc
      .record({ site, event: eventName, body: jsonBody })
      .map((c) => ({ kind: "json" as const, c })),
  );

  it("valid webhooks sent concurrently with invalid ones (both sites): all 204 and stored once", () =>
    property("webhooks: concurrent valid and invalid", () =>
      checkProperty(
        "webhooks: concurrent valid and invalid",
        fc.record({
          valid: fc.array(validCase, { minLength: 1, maxLength: 8 }),
          invalid: fc.array(invalidCase, { maxLength: 8 }),
          order: fc.nat(),
        }),
        async ({ valid, invalid, order }) => {
          const restartsBefore = app.restarts;
          type Job = {
            valid: boolean;
            marker: string;
            site: number;
            request: string;
            bodyBytes: number;
            send: () => Promise<Answer>;
          };
          const jobs: Job[] = [];
          for (const v of valid) {
            const m = marker();
            const body = JSON.stringify(
              payloadFor(v.event, {
                accountId: m,
                spaceKey: v.spaceKey,
                contentId: v.contentId,
                title: v.title,
                timestamp: Date.now() - v.ageMs,
              }),
            );
            jobs.push({
              valid: true,
              marker: m,
              site: v.site,
              request: `valid POST /webhooks/${v.event} [site ${v.site}] body=${abbreviate(body, 300)}`,
              bodyBytes: Buffer.byteLength(body),
              send: () => app.webhook(siteOf(v.site), v.event, body),
            });
          }
          for (const inv of invalid) {
            const m = marker();
            if (inv.kind === "payload") {
              const body = buildPayload(inv.c, m);
              jobs.push({
                valid: false,
                marker: m,
                site: inv.c.site,
                request: `POST /webhooks/${inv.c.event.path} [site ${inv.c.site}] body=${abbreviate(body, 500)}`,
                bodyBytes: Buffer.byteLength(body),
                send: () => app.webhook(siteOf(inv.c.site), inv.c.event.path, body),
              });
            } else if (inv.kind === "raw") {
              const bytes = buildRaw(inv.c, m);
              jobs.push({
                valid: false,
                marker: m,
                site: inv.c.site,
                request: describeRaw(inv.c, bytes),
                bodyBytes: bytes.length,
                send: () =>
                  app.webhook(siteOf(inv.c.site), inv.c.event.path, bytes, rawHeaders(inv.c)),
              });
            } else {
              jobs.push({
                valid: false,
                marker: m,
                site: inv.c.site,
                request: `POST /webhooks/${inv.c.event.path} [site ${inv.c.site}] body=${abbreviate(inv.c.body, 300)}`,
                bodyBytes: Buffer.byteLength(inv.c.body),
                send: () => app.webhook(siteOf(inv.c.site), inv.c.event.path, inv.c.body),
              });
            }
          }
          shuffle(jobs, order);
          const answers = await Promise.all(jobs.map((j) => j.send()));
          const batch = () =>
            jobs
              .map((j, i) => `\n      ${describeExchange(j.request, answers[i] as Answer)}`)
              .join("");
          // Every answer on its own first (5xx, time, error body).
          for (const [i, j] of jobs.entries()) {
            try {
              await checkAnswer(app, j.request, answers[i] as Answer, { bodyBytes: j.bodyBytes });
            } catch (error) {
              throw new FuzzFailure(
                `${(error as Error).message}\n    in a batch of ${jobs.length} sent at once:${batch()}`,
              );
            }
          }
          if (app.restarts !== restartsBefore) return;
          const rows = await app.eventsByPrefix(jobs.map((j) => j.marker));
          const problems: string[] = [];
          for (const [i, j] of jobs.entries()) {
            const a = answers[i] as Answer;
            const found = rows.get(j.marker) ?? [];
            const clientKey = siteOf(j.site).clientKey;
            if (j.valid) {
              if (a.status !== 204)
                problems.push(`valid webhook answered ${a.status}: ${j.request}`);
              if (
                found.length !== 1 ||
                found[0]?.clientKey !== clientKey ||
                found[0]?.accountId !== j.marker
              ) {
                problems.push(
                  `valid webhook stored ${found.length} time(s)${found.some((f) => f.clientKey !== clientKey) ? " (under the other site)" : ""}: ${j.request}`,
                );
              }
            } else if ((a.status >= 400 || a.status === 0) && found.length > 0) {
              problems.push(
                `refused (${a.status}) but stored ${found.length} row(s): ${j.request}`,
              );
            } else if (found.length > 1 || found.some((f) => f.clientKey !== clientKey)) {
              problems.push(`stored ${found.length} row(s), or under the other site: ${j.request}`);
            }
          }
          if (problems.length) {
            throw new FuzzFailure(
              `${problems.map((p) => abbreviate(p, 500)).join("\n    ")}\n    batch sent at once:${batch()}`,
            );
          }
        },
        { runs: Math.max(1, Math.round(FUZZ_RUNS / 5)) },
      ),
    ));
});

/** Deterministic Fisher-Yates from a seed (the property's own `order`). */
function shuffle<T>(xs: T[], seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = xs.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
}
