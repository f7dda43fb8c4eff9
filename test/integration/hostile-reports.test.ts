import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeConfluence, groupIdFromName } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { type ChildApp, startChildApp, childAppEnv } from "../support/child-app.js";
import { BACKEND, freshDatabase } from "../support/harness.js";

/**
 * Report requests an attacker (any signed-in viewer) could send: dates at the ends of the
 * calendar, control characters and broken UTF-8 in every text parameter, and a space admin
 * asking for the site's inactive people. The app runs as its own process (with a small heap),
 * so a request that hangs its event loop fails these tests after a few seconds instead of
 * hanging the test run.
 */
const ADMIN = "admin-1";
const SPACE_ADMIN = "space-admin-1";
const MEMBER = "member-1";
const IDLE = "idle-1";
const DAY = "2026-11-10";
const RANGE = `from=${DAY}&to=${DAY}&tz=UTC`;
const LICENCE_GROUP_ID = groupIdFromName("confluence-users");
/** The slowest answer accepted for a refused request. */
const FAST_MS = 2000;

interface Answer {
  status: number;
  body: string;
  ms: number;
  json(): { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

describe(`hostile report requests (${BACKEND})`, () => {
  let fake: FakeConfluence;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let app: ChildApp | undefined;

  /** GET with a context token; `pathAndQuery` is sent as written (percent-escapes kept). */
  const call = async (
    viewer: string,
    pathAndQuery: string,
    opts: { via?: "header" | "query" } = {},
  ): Promise<Answer> => {
    const token = fake.contextToken(viewer);
    let url = `${(app as ChildApp).url}${pathAndQuery}`;
    const headers: Record<string, string> = {};
    if (opts.via === "query") url += `${url.includes("?") ? "&" : "?"}jwt=${token}`;
    else headers.authorization = `JWT ${token}`;
    const started = performance.now();
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    const ms = performance.now() - started;
    return { status: res.status, body, ms, json: () => JSON.parse(body) };
  };
  /** The CSV is fetched the way its download link does (`?jwt=`). */
  const callAny = (viewer: string, pathAndQuery: string) =>
    call(viewer, pathAndQuery, { via: pathAndQuery.includes(".csv") ? "query" : "header" });

  beforeAll(async () => {
    fake = await new FakeConfluence().start();
    fake.users.set(ADMIN, {
      accountId: ADMIN,
      displayName: "Ada Admin",
      admin: true,
      groups: ["confluence-users"],
    });
    fake.users.set(SPACE_ADMIN, {
      accountId: SPACE_ADMIN,
      displayName: "Sam Space",
      groups: ["confluence-users"],
    });
    fake.users.set(MEMBER, {
      accountId: MEMBER,
      displayName: "Mo Member",
      groups: ["confluence-users"],
    });
    fake.users.set(IDLE, {
      accountId: IDLE,
      displayName: "Ida Idle",
      groups: ["confluence-users"],
    });
    fake.spaces.set("ENG", {
      key: "ENG",
      name: "Engineering",
      admins: { users: [SPACE_ADMIN] },
    });
    database = await freshDatabase();
    app = await startChildApp({
      ...childAppEnv(fake, database.database),
      // A runaway loop dies of heap exhaustion in seconds, not minutes.
      NODE_OPTIONS: "--max-old-space-size=384",
      // The fixture's events are dated DAY: store them at that time, not at receipt.
      WEBHOOK_MAX_EVENT_AGE_H: "87600",
    });
    expect((await fake.install(app.url)).status).toBe(204);
    for (const [event, accountId] of [
      ["page_viewed", MEMBER],
      ["page_created", MEMBER],
      ["page_viewed", SPACE_ADMIN],
    ] as const) {
      const res = await fake.sendWebhook(
        app.url,
        event,
        payloadFor(event, {
          accountId,
          spaceKey: "ENG",
          timestamp: Date.parse(`${DAY}T10:00:00Z`),
        }),
      );
      expect(res.status).toBe(204);
    }
  }, 120_000);

  afterAll(async () => {
    await app?.kill();
    await fake?.stop();
    await database?.drop();
  });

  describe("dates outside 2000-01-01 .. one year after today are 400, at once", () => {
    const utcToday = DateTime.utc().startOf("day");
    const latest = utcToday.plus({ years: 1 }).toISODate() as string;
    const yearAndTwoDays = utcToday.plus({ years: 1, days: 2 }).toISODate() as string;
    const endpoints = [
      "/api/reports/users",
      "/api/reports/users.csv",
      "/api/reports/calendar",
      "/api/reports/breakdown",
      `/api/reports/users/${MEMBER}`,
      "/api/groups",
    ];
    const outside: [string, string][] = [
      ["the last day of year 9999", "from=9999-12-31&to=9999-12-31"],
      ["to in year 9999", "to=9999-12-31"],
      ["year 0", "from=0000-01-01&to=0000-01-01"],
      ["from in year 0", "from=0000-01-01"],
      ["the day before 2000", "from=1999-12-31&to=2000-01-05"],
      ["a year and two days ahead", `to=${yearAndTwoDays}`],
      ["from a year and two days ahead", `from=${yearAndTwoDays}&to=${yearAndTwoDays}`],
    ];
    const cases = endpoints.flatMap((e) =>
      outside.map(([name, query]) => [`${e} ${name}`, `${e}?${query}&tz=UTC`] as const),
    );

    it.each(cases)("%s", async (_name, path) => {
      const res = await callAny(ADMIN, path);
      expect(res.status, res.body).toBe(400);
      const error = res.json().error;
      expect(error?.code).toBe("invalid_parameter");
      expect(error?.message).toContain("2000-01-01");
      expect(error?.message).toContain(latest);
      expect(res.ms).toBeLessThan(FAST_MS);
    });

    it.each([
      ["a non-admin, year 9999", MEMBER, "/api/reports/calendar?from=9999-12-31&to=9999-12-31"],
      ["a non-admin, year 0", MEMBER, "/api/reports/calendar?from=0000-01-01&to=0000-01-01"],
      ["a five-digit year", ADMIN, "/api/reports/calendar?from=%2B010000-01-01&to=9999-12-31"],
      ["from after to", ADMIN, "/api/reports/calendar?from=2026-11-05&to=2026-11-02"],
      ["from after to (CSV)", ADMIN, "/api/reports/users.csv?from=2026-11-05&to=2026-11-02"],
      [
        "from after to (one user)",
        ADMIN,
        `/api/reports/users/${MEMBER}?from=2026-11-05&to=2026-11-02`,
      ],
      [
        "more than the longest range",
        ADMIN,
        "/api/reports/breakdown?from=2000-01-01&to=2010-01-01",
      ],
    ])("%s", async (_name, viewer, path) => {
      const res = await callAny(viewer, path);
      expect(res.status, res.body).toBe(400);
      expect(res.json().error?.code).toBe("invalid_parameter");
      expect(res.ms).toBeLessThan(FAST_MS);
    });

    it("the window's own edges answer", async () => {
      const first = await call(ADMIN, "/api/reports/calendar?from=2000-01-01&to=2000-01-02&tz=UTC");
      expect(first.status, first.body).toBe(200);
      expect((first.json().days as unknown[]).length).toBe(2);
      const last = await call(
        ADMIN,
        `/api/reports/calendar?from=${latest}&to=${latest}&tz=Pacific/Kiritimati`,
      );
      expect(last.status, last.body).toBe(200);
      expect(last.json().days).toEqual([{ date: latest, events: 0, users: 0 }]);
      const activity = await call(
        ADMIN,
        `/api/reports/users/${MEMBER}?from=2000-01-01&to=2000-01-01`,
      );
      expect(activity.status, activity.body).toBe(200);
      // Without `from`, the default 30 days start no earlier than the window.
      const clamped = await call(ADMIN, "/api/reports/calendar?to=2000-01-10&tz=UTC");
      expect(clamped.status, clamped.body).toBe(200);
      expect((clamped.json().days as { date: string }[])[0]?.date).toBe("2000-01-01");
    });

    it("the service still answers everyone afterwards", async () => {
      const res = await call(ADMIN, `/api/reports/users?${RANGE}`);
      expect(res.status).toBe(200);
      expect(res.json().total).toBe(2);
    });
  });

  describe("control characters in text parameters are 400", () => {
    const places = (v: string): [string, string][] => [
      ["q", `/api/reports/users?${RANGE}&q=${v}`],
      ["q (CSV)", `/api/reports/users.csv?${RANGE}&q=${v}`],
      ["space", `/api/reports/users?${RANGE}&space=${v}`],
      ["space (calendar)", `/api/reports/calendar?${RANGE}&space=${v}`],
      ["space (groups)", `/api/groups?space=${v}`],
      ["group", `/api/reports/users?${RANGE}&group=${v}`],
      ["inactiveGroup", `/api/reports/users?${RANGE}&include=inactive&inactiveGroup=${v}`],
      ["accountId (calendar)", `/api/reports/calendar?${RANGE}&accountId=${v}`],
      ["accountId (breakdown)", `/api/reports/breakdown?${RANGE}&accountId=${v}`],
      ["accountId (path)", `/api/reports/users/${v}?${RANGE}`],
      ["tz", `/api/reports/calendar?from=${DAY}&to=${DAY}&tz=${v}`],
    ];
    const values: [string, string][] = [
      ["NUL", "a%00b"],
      ["a lone NUL", "%00"],
      ["U+0001", "%01x"],
      ["U+001F", "x%1F"],
      ["a newline", "x%0Ay"],
      ["DEL", "x%7F"],
    ];
    const cases = values.flatMap(([vName, v]) =>
      places(v).map(([pName, path]) => [`${vName} in ${pName}`, path] as const),
    );
    it.each(cases)("%s", async (_name, path) => {
      const res = await callAny(ADMIN, path);
      expect(res.status, res.body).toBe(400);
      expect(res.json().error?.code).toBe("invalid_parameter");
      expect(res.ms).toBeLessThan(FAST_MS);
    });

    it("the same names without control characters still answer", async () => {
      expect((await call(ADMIN, `/api/reports/users?${RANGE}&q=Mo%20Mem`)).json().total).toBe(1);
      expect((await call(ADMIN, `/api/reports/users/${MEMBER}?${RANGE}`)).status).toBe(200);
      expect((await call(ADMIN, `/api/reports/calendar?${RANGE}&accountId=${MEMBER}`)).status).toBe(
        200,
      );
    });
  });

  describe("lone surrogates and broken UTF-8 never answer 5xx", () => {
    const values: [string, string][] = [
      ["a lone high surrogate (WTF-8)", "%ED%A0%80"],
      ["a lone low surrogate (WTF-8)", "a%ED%B0%80b"],
      ["a %u escape", "%uD800"],
      ["an invalid byte", "%FF"],
      ["an overlong NUL", "%C0%80"],
      ["a truncated sequence", "x%F0%9F"],
    ];
    const places = (v: string): [string, string][] => [
      ["q", `/api/reports/users?${RANGE}&q=${v}`],
      ["q (CSV)", `/api/reports/users.csv?${RANGE}&q=${v}`],
      ["space", `/api/reports/users?${RANGE}&space=${v}`],
      ["group", `/api/reports/users?${RANGE}&group=${v}`],
      ["inactiveGroup", `/api/reports/users?${RANGE}&include=inactive&inactiveGroup=${v}`],
      ["accountId", `/api/reports/calendar?${RANGE}&accountId=${v}`],
      ["accountId (path)", `/api/reports/users/${v}?${RANGE}`],
      ["tz", `/api/reports/breakdown?from=${DAY}&to=${DAY}&tz=${v}`],
      ["from", `/api/reports/breakdown?from=${v}&to=${DAY}`],
    ];
    const cases = values.flatMap(([vName, v]) =>
      places(v).map(([pName, path]) => [`${vName} in ${pName}`, path] as const),
    );
    it.each(cases)("%s", async (_name, path) => {
      const res = await callAny(ADMIN, path);
      expect(res.status, res.body).toBeLessThan(500);
      if (res.status >= 400) expect(res.json().error?.code).toEqual(expect.any(String));
      expect(res.ms).toBeLessThan(FAST_MS);
    });
  });

  describe("inactive people are for Confluence admins only", () => {
    const asked = [
      `/api/reports/users?${RANGE}&space=ENG&include=inactive`,
      `/api/reports/users?${RANGE}&space=ENG&include=inactive&inactiveGroup=${LICENCE_GROUP_ID}`,
      `/api/reports/users?${RANGE}&space=ENG&inactiveGroup=${LICENCE_GROUP_ID}`,
      `/api/reports/users.csv?${RANGE}&space=ENG&include=inactive`,
      `/api/reports/users.csv?${RANGE}&space=ENG&include=inactive&inactiveGroup=${LICENCE_GROUP_ID}`,
    ];
    it.each(asked)("a space admin gets 403: %s", async (path) => {
      const res = await callAny(SPACE_ADMIN, path);
      expect(res.status, res.body).toBe(403);
      const error = res.json().error;
      expect(error?.code).toBe("forbidden");
      expect(error?.message).toMatch(/Confluence admins/);
      expect(error?.message).toMatch(/inactive/);
      expect(res.body).not.toContain(IDLE);
    });

    it("the space admin still reads their space's active people", async () => {
      const res = await call(SPACE_ADMIN, `/api/reports/users?${RANGE}&space=ENG`);
      expect(res.status, res.body).toBe(200);
      const ids = (res.json().rows as { accountId: string }[]).map((r) => r.accountId).sort();
      expect(ids).toEqual([MEMBER, SPACE_ADMIN].sort());
      const csv = await call(SPACE_ADMIN, `/api/reports/users.csv?${RANGE}&space=ENG`, {
        via: "query",
      });
      expect(csv.status).toBe(200);
      expect(csv.body).not.toContain(IDLE);
    });

    it("a non-admin asking for inactive people is refused too", async () => {
      const res = await call(MEMBER, `/api/reports/users?${RANGE}&space=ENG&include=inactive`);
      expect(res.status).toBe(403);
      expect(res.json().error?.code).toBe("forbidden");
    });

    it("a Confluence admin still gets the inactive list, in a space and site-wide", async () => {
      for (const path of [
        `/api/reports/users?${RANGE}&space=ENG&include=inactive&inactiveGroup=${LICENCE_GROUP_ID}`,
        `/api/reports/users?${RANGE}&include=inactive`,
      ]) {
        const res = await call(ADMIN, path);
        expect(res.status, res.body).toBe(200);
        const idle = (res.json().rows as { accountId: string; total: number }[]).find(
          (r) => r.accountId === IDLE,
        );
        expect(idle, path).toMatchObject({ total: 0 });
      }
      const csv = await call(ADMIN, `/api/reports/users.csv?${RANGE}&space=ENG&include=inactive`, {
        via: "query",
      });
      expect(csv.status).toBe(200);
      expect(csv.body).toContain(`"${IDLE}","0","0","0","0"`);
    });
  });
});
