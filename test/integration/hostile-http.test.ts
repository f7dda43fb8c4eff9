import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/harness.js";

const ADMIN = "u-admin";

/** Requests malformed below the application's own parameters: the URL, the encoding. */
describe("hostile HTTP: malformed URLs and encodings answer 4xx, never 5xx", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  const get = (path: string) =>
    fetch(`${t.url}${path}`, {
      headers: { authorization: `JWT ${t.fake.contextToken(ADMIN)}` },
    });

  it.each([
    "/api/reports/users/%E0%A4%A",
    "/api/reports/users/%",
    "/api/reports/users/%00",
    "/api/reports/users?q[a]=1&space[]=x",
    "/api/reports/calendar?tz=%FF",
  ])("GET %s answers a JSON 4xx", async (path) => {
    const res = await get(path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toEqual(expect.any(String));
    expect(JSON.stringify(body)).not.toMatch(/SELECT|INSERT|at \w+ \(/);
  });

  it("a query value that is not valid percent-encoding is searched for as typed", async () => {
    const res = await get("/api/reports/users?q=%E0%A4%A");
    expect(res.status).toBe(200);
  });

  it.each([
    "/api/reports/calendar?space=%3B",
    "/api/reports/breakdown?space=%24",
    "/api/reports/users?group=%3D",
    "/api/reports/users?include=inactive&inactiveGroup=a%26b%3Dc",
    "/api/groups?space=a%40b",
  ])(
    "GET %s: a key or id Confluence cannot have is a 400, not a failed call to Confluence",
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "invalid_parameter",
      );
    },
  );

  it("settings refuse group ids and space keys Confluence cannot have", async () => {
    const token = t.fake.contextToken(ADMIN);
    const res = await fetch(`${t.url}/api/settings`, {
      method: "PUT",
      headers: { authorization: `JWT ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        excludedUsers: [],
        excludedGroups: ["' OR '1'='1"],
        excludedSpaces: [],
        trackAppAccounts: false,
        retentionDays: null,
      }),
    });
    expect(res.status).toBe(400);
  });

  it("the service still answers afterwards", async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
