/**
 * Hostile values for the fuzz suite: characters that break naive code (NUL, lone UTF-16
 * surrogates, controls, bidi marks), words that mean something to some layer (`__proto__`,
 * SQL, formulas, dates past 9999), numbers at the edges, deep nesting, huge strings.
 */
import fc from "fast-check";

export const NASTY_CHARS = [
  "\u0000",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\u0001",
  "\u0008",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u200b",
  "\ufeff",
  "\ufffe",
  "\uffff",
  "\ufffd",
  "%",
  "\\",
  '"',
  "'",
  "`",
  "<",
  ">",
  "&",
  "=",
  "+",
  "#",
  "?",
  "/",
  ";",
  ",",
  "[",
  "]",
  "{",
  "}",
  " ",
  "\t",
  "\n",
  "\r",
  "_",
  "*",
  ".",
];

export const nastyChar = fc.constantFrom(...NASTY_CHARS);

/** One character: printable ASCII, any grapheme, any code point, or a nasty one. */
export const anyChar: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: nastyChar, weight: 3 },
);

export const NASTY_WORDS = [
  "",
  " ",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-Infinity",
  "true",
  "0",
  "-0",
  "-1",
  "1e309",
  "0x1F",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "'; DROP TABLE event; --",
  "' OR '1'='1",
  "$1",
  "%00",
  "%",
  "%zz",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  '=HYPERLINK("http://x")',
  "${7*7}",
  "{{7*7}}",
  "\u0000",
  "\ud800",
  "a\u0000b",
  "x\udfffy",
  "\ud83d\ude00",
  "\ud83d",
  "e\u0301",
  "İ",
  "ß",
  "ﬃ",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "\u202eevil",
  "عربى",
  "confluence-users",
  "ENG",
  "UTC",
  "2026-01-01",
  "9999-12-31",
  "0000-01-01",
  "+010000-01-01",
];

export const nastyWord = fc.constantFrom(...NASTY_WORDS);

/** `c` repeated up to about `maxUnits` UTF-16 units. */
export const longRun = (minUnits: number, maxUnits: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.oneof(anyChar, fc.constantFrom("x", "\u0000", "\ud800", "é", "😀", "ab")),
      fc.integer({ min: minUnits, max: maxUnits }),
    )
    .map(([c, n]) => c.repeat(Math.max(1, Math.floor(n / c.length))));

/** A short-to-long hostile string. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: anyChar, maxLength: 24 }), weight: 5 },
  { arbitrary: nastyWord, weight: 4 },
  {
    arbitrary: fc
      .tuple(nastyWord, fc.string({ unit: anyChar, maxLength: 8 }))
      .map(([a, b]) => a + b),
    weight: 2,
  },
  { arbitrary: longRun(129, 3000), weight: 1 },
);

export const EDGE_NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 31,
  -(2 ** 63),
  8.64e15,
  8.64e15 + 1,
  -8.64e15,
  978307200000, // 2001-01-01
  946684799999, // 1999-12-31T23:59:59.999Z
];

/** Nested `depth` times, as arrays or objects. */
export function nest(depth: number, asObject: boolean, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = asObject ? { a: v } : [v];
  return v;
}

/** A value to put where the payload expects something else. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: nastyString, weight: 8 },
  { arbitrary: fc.constantFrom<unknown>(...EDGE_NUMBERS, true, false, null), weight: 4 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.array(nastyString, { maxLength: 4 }), weight: 1 },
  { arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 4 }), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 2, max: 1000 }), fc.boolean())
      .map(([d, o]) => nest(d, o)),
    weight: 1,
  },
  { arbitrary: longRun(10_000, 300_000), weight: 1 },
);

/** Keys with a meaning to JavaScript objects or to the payload parser. */
export const hostileKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "userAccountId",
    "accountType",
    "timestamp",
    "page",
    "comment",
    "space",
    "spaceKey",
    "id",
    "idAsString",
    "title",
    "contentType",
    "jwt",
  ),
  nastyString,
);

/**
 * A URL component byte-exactly: UTF-8 percent-encoding, a lone surrogate as the three bytes
 * a careless encoder writes (ED A0 80 for U+D800: invalid UTF-8), which encodeURIComponent
 * refuses to produce.
 */
export function encodeComponent(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
    } else out += encodeURIComponent(ch);
  }
  return out;
}

/** A query value: text (encoded by encodeComponent) or bytes already in URL form. */
export type QueryValue = string | { raw: string };

/** Percent-encodings that do not decode: truncated, non-hex, invalid or overlong UTF-8. */
export const rawGarbage: fc.Arbitrary<{ raw: string }> = fc
  .constantFrom(
    "%",
    "%0",
    "%zz",
    "%00",
    "%C0%80",
    "%FF",
    "%FE%FF",
    "%ED%A0%80",
    "%E2%82",
    "%F4%90%80%80",
    "+",
    "%2B",
    "a%26b%3Dc",
    "%25",
    "%u0041",
    "%%32%35",
  )
  .map((raw) => ({ raw }));

export function encodeValue(v: QueryValue): string {
  return typeof v === "string" ? encodeComponent(v) : v.raw;
}

/** A query string (no leading "?"), keys and values as given, in order. */
export function toQuery(pairs: [string | { raw: string }, QueryValue][]): string {
  return pairs.map(([k, v]) => `${encodeValue(k)}=${encodeValue(v)}`).join("&");
}

/** ISO dates at and beyond the edges of what Date and luxon can do, and malformed ones. */
export const EDGE_DATES = [
  "9999-12-31",
  "9999-12-30",
  "0000-01-01",
  "0001-01-01",
  "+010000-01-01",
  "-000001-01-01",
  "+275760-09-13",
  "275760-09-13",
  "1970-01-01",
  "1969-12-31",
  "1999-12-31",
  "2000-01-01",
  "2000-02-29",
  "2001-02-29",
  "2100-02-29",
  "2024-02-29",
  "2026-13-01",
  "2026-00-10",
  "2026-02-30",
  "9999-99-99",
  "2026-1-1",
  "20260101",
  "2026-01-01T00:00:00Z",
  "2026-01-01 ",
  " 2026-01-01",
  "２０２６-０１-０１",
  "2026-01-01\u0000",
];

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Dates for `from` and `to`: near today (often valid), at the edges, or garbage. */
export const dateValue: fc.Arbitrary<QueryValue> = fc.oneof(
  {
    arbitrary: fc.integer({ min: -1200, max: 400 }).map((n) => isoDay(Date.now() + n * 86_400_000)),
    weight: 6,
  },
  { arbitrary: fc.constantFrom(...EDGE_DATES), weight: 4 },
  {
    arbitrary: fc
      .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, d.toISOString().indexOf("T"))),
    weight: 1,
  },
  {
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 99999 }),
        fc.integer({ min: 0, max: 19 }),
        fc.integer({ min: 0, max: 39 }),
      )
      .map(
        ([y, m, d]) =>
          `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`,
      ),
    weight: 1,
  },
  { arbitrary: nastyString, weight: 1 },
  { arbitrary: rawGarbage, weight: 1 },
);

export const TIME_ZONES = [
  "UTC",
  "Europe/Paris",
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
  "Pacific/Apia",
  "Australia/Lord_Howe",
  "America/St_Johns",
  "Etc/GMT+12",
  "Etc/GMT-14",
  "EST5EDT",
  "utc",
  "Utc",
  "Z",
  "+05:30",
  "UTC+5",
  "GMT+0",
  "Etc/Unknown",
  "local",
  "system",
  "America/Argentina/ComodRivadavia",
  "Europe/Kyiv",
  "Europe/Kiev",
];

/** Numbers as query text, at the edges of what a parser accepts. */
export const numberText: fc.Arbitrary<QueryValue> = fc.oneof(
  { arbitrary: fc.integer({ min: -5, max: 2000 }).map(String), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "1",
      "1000",
      "1001",
      "10000000",
      "10000001",
      "1e3",
      "1e309",
      "0x10",
      "0b11",
      "1.5",
      "NaN",
      "Infinity",
      "-Infinity",
      "-0",
      "",
      " 5",
      "5 ",
      "9".repeat(30),
      "9007199254740993",
      "٣",
    ),
    weight: 3,
  },
  { arbitrary: fc.double().map(String), weight: 1 },
  { arbitrary: nastyString, weight: 1 },
  { arbitrary: rawGarbage, weight: 1 },
);
