/**
 * Fuzz: every API route and every parameter. Each case is a signed-in viewer (mostly a site's
 * Confluence admin, sometimes a space admin or a plain user, of either site) calling one route
 * with arbitrary values for each known parameter, repeated and bracketed parameters, unknown
 * ones and hostile text (NUL, lone surrogates, invalid UTF-8, dates past 9999, huge numbers);
 * PUT /api/settings with arbitrary bodies. Properties: never a 5xx, never over 2 s, a JSON error
 * body `{"error":{"code","message"}}` with every 4xx, JSON (or CSV) with every 2xx, and the
 * process still answers /healthz after each route's run.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { EVENT_TYPE_NAMES } from "../../src/events/types.js";
import { type FuzzApp, type FuzzSite } from "../support/fuzz-app.js";
import {
  FUZZ_ACTIVE,
  FUZZ_GROUP_IDS,
  FUZZ_GROUPS,
  FUZZ_SPACES,
  FUZZ_USERS,
} from "../support/fuzz-fixtures.js";
import {
  anyChar,
  dateValue,
  encodeComponent,
  hostileJson,
  hostileKey,
  longRun,
  nastyString,
  numberText,
  type QueryValue,
  rawGarbage,
  TIME_ZONES,
  toQuery,
} from "./arbitraries.js";
import {
  abbreviate,
  checkAnswer,
  checkProperty,
  checkStillHealthy,
  describeExchange,
  failureSummary,
  FuzzFailure,
  show,
  startFuzzApp,
} from "./fuzz.js";

const SORT_KEYS = ["name", "total", "activeDays", "lastActive", ...EVENT_TYPE_NAMES];
const ACCOUNTS = [...Object.values(FUZZ_USERS), ...FUZZ_ACTIVE, "nobody"];

const text = (known: string[]): fc.Arbitrary<QueryValue> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 5 },
    { arbitrary: nastyString, weight: 3 },
    { arbitrary: rawGarbage, weight: 1 },
  );

/** Values for each known parameter: valid often enough to reach the queries, hostile often. */
const VALUES: Record<string, fc.Arbitrary<QueryValue>> = {
  from: dateValue,
  to: dateValue,
  tz: text(TIME_ZONES),
  space: text([...FUZZ_SPACES, "eng", "NOPE", "~alice"]),
  q: text(["alice", "ali", "ADMIN", "%", "_", "\\", "a'b", "<b>", "=cmd", ""]),
  group: text([...FUZZ_GROUPS, ...FUZZ_GROUP_IDS, "nope", "group-zz"]),
  sort: text([...SORT_KEYS, "NAME", "total;", "__proto__"]),
  order: text(["asc", "desc", "ASC", "up"]),
  limit: numberText,
  offset: numberText,
  include: text(["inactive", "INACTIVE", "active", "all"]),
  inactiveGroup: text([...FUZZ_GROUPS, ...FUZZ_GROUP_IDS, "nope"]),
  accountId: text(ACCOUNTS),
};
const PARAMS = Object.keys(VALUES);

/** How a parameter's name is written: plain mostly; qs turns the others into arrays/objects. */
const nameForm = fc.oneof(
  { arbitrary: fc.constant((n: string) => n), weight: 24 },
  {
    arbitrary: fc.constantFrom(
      (n: string) => `${n}[]`,
      (n: string) => `${n}[0]`,
      (n: string) => `${n}[1]`,
      (n: string) => `${n}[a]`,
      (n: string) => `${n}[__proto__]`,
      (n: string) => `${n}[][]`,
      (n: string) => `${n}[a][b][c][d][e][f][g]`,
      (n: string) => `${n}.x`,
      (n: string) => n.toUpperCase(),
      (n: string) => ` ${n}`,
    ),
    weight: 1,
  },
);

const unknownName = fc
  .oneof(
    fc.constantFrom(
      "__proto__",
      "constructor",
      "__proto__[polluted]",
      "constructor[prototype][polluted]",
      "a[b][c][d][e][f][g]",
      "x[]",
      "toString",
      "hasOwnProperty",
      "callback",
      "",
      "utf8",
      "FROM",
      "a".repeat(300),
    ),
    fc.string({ unit: anyChar, maxLength: 12 }),
  )
  .filter((n) => n !== "jwt" && n !== "acpt"); // token slots: the token matrix's business

/** Bits of query text that are not `name=value`. */
const oddPiece = fc.constantFrom("", "&", "&&", "from", "=x", "=", "a&b=", "%26", "&=&=", "to&to");

interface Query {
  known: ({ form: (n: string) => string; values: QueryValue[] } | null)[];
  unknown: [string, QueryValue][];
  odd: string;
  reversed: boolean;
}

const query: fc.Arbitrary<Query> = fc.record({
  known: fc.tuple(
    ...PARAMS.map((p) =>
      fc.option(
        fc.record({
          form: nameForm,
          values: fc.array(VALUES[p] as fc.Arbitrary<QueryValue>, { minLength: 1, maxLength: 3 }),
        }),
        { nil: null, freq: 2 },
      ),
    ),
  ),
  unknown: fc.array(fc.tuple(unknownName, fc.oneof(nastyString, rawGarbage)), { maxLength: 3 }),
  odd: fc.oneof({ arbitrary: fc.constant(""), weight: 6 }, oddPiece),
  reversed: fc.boolean(),
});

function queryString(q: Query): string {
  const pairs: [string, QueryValue][] = [];
  q.known.forEach((entry, i) => {
    if (!entry) return;
    const name = entry.form(PARAMS[i] as string);
    for (const v of entry.values) pairs.push([name, v]);
  });
  pairs.push(...q.unknown);
  if (q.reversed) pairs.reverse();
  const s = [toQuery(pairs.map(([k, v]) => [{ raw: encodeKey(k) }, v])), q.odd]
    .filter(Boolean)
    .join("&");
  return s ? `?${s}` : "";
}

/** Brackets stay brackets (qs reads them); everything else is encoded. */
function encodeKey(k: string): string {
  return encodeComponent(k).replace(/%5B/g, "[").replace(/%5D/g, "]");
}

type Role = "admin" | "spaceAdmin" | "user";
const viewer = fc.record({
  site: fc.integer({ min: 0, max: 1 }),
  role: fc.oneof(
    { arbitrary: fc.constant<Role>("admin"), weight: 8 },
    { arbitrary: fc.constant<Role>("spaceAdmin"), weight: 1 },
    { arbitrary: fc.constant<Role>("user"), weight: 1 },
  ),
});

/** The /api/reports/users/:accountId segment. */
const accountSegment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...ACCOUNTS).map(encodeComponent), weight: 4 },
  { arbitrary: nastyString.filter((s) => s !== "").map(encodeComponent), weight: 3 },
  { arbitrary: rawGarbage.map((r) => r.raw), weight: 1 },
  {
    arbitrary: fc.constantFrom(
      "%2F",
      "%2e%2e",
      "a%2Fb",
      "%00",
      "%20",
      "~",
      "%5B%5D",
      "x".repeat(129),
    ),
    weight: 1,
  },
);

// ---- PUT /api/settings bodies ----

const arrayOf = (item: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { arbitrary: fc.array(item, { maxLength: 5 }), weight: 8 },
    {
      arbitrary: fc
        .tuple(item, fc.integer({ min: 190, max: 1200 }))
        .map(([x, n]) =>
          Array.from({ length: n }, (_, i) => (typeof x === "string" ? `${x}${i}` : x)),
        ),
      weight: 1,
    },
    { arbitrary: hostileJson, weight: 1 },
  );

const settingsShaped = fc
  .tuple(
    fc.record(
      {
        excludedUsers: arrayOf(fc.oneof(fc.constantFrom(...ACCOUNTS), nastyString)),
        excludedGroups: arrayOf(
          fc.oneof(fc.constantFrom(...FUZZ_GROUP_IDS, "group-zz"), nastyString),
        ),
        excludedSpaces: arrayOf(fc.oneof(fc.constantFrom(...FUZZ_SPACES), nastyString)),
        trackAppAccounts: fc.oneof({ arbitrary: fc.boolean(), weight: 4 }, hostileJson),
        retentionDays: fc.oneof(
          { arbitrary: fc.constant(null), weight: 2 },
          { arbitrary: fc.integer({ min: -10, max: 4000 }), weight: 3 },
          hostileJson,
        ),
      },
      { requiredKeys: [] },
    ),
    fc.array(fc.tuple(hostileKey, hostileJson), { maxLength: 2 }),
  )
  .map(([s, extra]) => {
    const o: Record<string, unknown> = { ...s };
    for (const [k, v] of extra) {
      Object.defineProperty(o, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return JSON.stringify(o);
  });

const settingsBody = fc.record({
  body: fc.oneof(
    { arbitrary: settingsShaped, weight: 8 },
    { arbitrary: fc.json({ maxDepth: 3, stringUnit: anyChar }), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        "",
        "{",
        "null",
        "[]",
        '"x"',
        "0",
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        '{"excludedUsers":[],"excludedUsers":"x"}',
        '{"excludedUsers":[],"excludedGroups":[],"excludedSpaces":[],"trackAppAccounts":false,"retentionDays":null}',
        '{"excludedUsers":["a\\u0000b"],"excludedGroups":[],"excludedSpaces":[],"trackAppAccounts":false,"retentionDays":null}',
        '{"excludedUsers":["\\ud800"],"excludedGroups":[],"excludedSpaces":["\\udfff"],"trackAppAccounts":false,"retentionDays":null}',
        '{"excludedUsers":[],"excludedGroups":["\\u0000"],"excludedSpaces":[],"trackAppAccounts":false,"retentionDays":null}',
      ),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 100, max: 300_000 }), fc.boolean())
        .map(([d, o]) =>
          o ? '{"a":'.repeat(d) + "1" + "}".repeat(d) : "[".repeat(d) + "]".repeat(d),
        ),
      weight: 1,
    },
    {
      arbitrary: longRun(1_000_000, 1_200_000).map((s) => JSON.stringify({ excludedUsers: [s] })),
      weight: 1,
    },
  ),
  contentType: fc.oneof(
    { arbitrary: fc.constant<string | null>("application/json"), weight: 8 },
    fc.constantFrom<string | null>(
      null,
      "application/json; charset=utf-8",
      "application/json; charset=latin1",
      "application/json; charset=utf-16",
      "application/json; charset=nope",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=zz",
      "application/merge-patch+json",
      "",
    ),
  ),
  contentEncoding: fc.option(
    fc.constantFrom("gzip", "deflate", "br", "identity", "x-unknown", "GZIP"),
    { nil: null, freq: 8 },
  ),
});

// ---- the routes ----

interface Route {
  name: string;
  method: "GET" | "PUT";
  csv?: boolean;
  segment?: boolean;
  body?: boolean;
  path: string;
}

const ROUTES: Route[] = [
  { name: "GET /api/reports/users", method: "GET", path: "/api/reports/users" },
  { name: "GET /api/reports/users.csv", method: "GET", path: "/api/reports/users.csv", csv: true },
  { name: "GET /api/reports/calendar", method: "GET", path: "/api/reports/calendar" },
  { name: "GET /api/reports/breakdown", method: "GET", path: "/api/reports/breakdown" },
  {
    name: "GET /api/reports/users/:accountId",
    method: "GET",
    path: "/api/reports/users/",
    segment: true,
  },
  { name: "GET /api/groups", method: "GET", path: "/api/groups" },
  { name: "GET /api/lookup/people", method: "GET", path: "/api/lookup/people" },
  { name: "GET /api/lookup/spaces", method: "GET", path: "/api/lookup/spaces" },
  { name: "GET /api/settings", method: "GET", path: "/api/settings" },
  { name: "PUT /api/settings", method: "PUT", path: "/api/settings", body: true },
];

/** Node answers 431 itself past 16 KB of request head; stay below it. */
const MAX_URL = 12_000;

describe("fuzz: API parameters", () => {
  let app: FuzzApp;
  const siteOf = (i: number): FuzzSite => app.sites[i] ?? (app.sites[0] as FuzzSite);

  beforeAll(async () => {
    app = await startFuzzApp("api");
  });
  afterAll(async () => {
    const failed = failureSummary();
    console.log(
      `fuzz api: ${failed.length} failing properties, app replaced ${app?.restarts ?? 0} times` +
        failed.map((f) => `\n  ✗ ${f.split("\n")[0]}`).join(""),
    );
    await app?.stop();
  });

  for (const route of ROUTES) {
    const arb = fc
      .record({
        viewer,
        query,
        segment: route.segment ? accountSegment : fc.constant(""),
        body: route.body ? settingsBody : fc.constant(null),
      })
      .map((c) => ({ ...c, url: `${route.path}${c.segment}${queryString(c.query)}` }))
      .filter((c) => c.url.length <= MAX_URL);

    it(`${route.name}: never 5xx, never over 2 s, a JSON error when refused`, async () => {
      let failure: unknown;
      try {
        await checkProperty(route.name, arb, async (c) => {
          const site = siteOf(c.viewer.site);
          const accountId = FUZZ_USERS[c.viewer.role];
          const headers: Record<string, string> = {};
          let body: string | undefined;
          if (c.body) {
            body = c.body.body;
            if (c.body.contentType !== null) headers["content-type"] = c.body.contentType;
            if (c.body.contentEncoding !== null)
              headers["content-encoding"] = c.body.contentEncoding;
          }
          const request =
            `${route.method} ${c.url} as ${c.viewer.role} of site ${c.viewer.site}` +
            (c.body
              ? ` content-type=${show(c.body.contentType)} content-encoding=${show(c.body.contentEncoding)} body=${abbreviate(c.body.body, 500)}`
              : "");
          const a = await app.api(site, accountId, route.method, c.url, { headers, body });
          await checkAnswer(app, request, a, {
            bodyBytes: body === undefined ? 0 : Buffer.byteLength(body),
          });
          if (a.status >= 200 && a.status < 300) {
            const ok = route.csv ? /^text\/csv/.test(a.contentType) : parsesAsJson(a.body);
            if (!ok) {
              throw new FuzzFailure(
                `a 2xx that is not ${route.csv ? "CSV" : "JSON"} (${a.contentType}): ${describeExchange(request, a)}`,
              );
            }
          }
        });
      } catch (error) {
        failure = error;
      }
      try {
        await checkStillHealthy(app, route.name);
      } catch (error) {
        failure ??= error;
      }
      if (failure) throw failure;
    });
  }
});

function parsesAsJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}
