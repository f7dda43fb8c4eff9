import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { seededRandom } from "../../src/dev/random.js";
import { EVENT_TYPE_NAMES, type EventType, WEBHOOKS } from "../../src/events/types.js";
import { createLogger } from "../../src/log.js";
import { sealAll } from "../../src/reports/sealing.js";
import { apiGet, DEFAULT_SETTINGS, putSettings } from "../support/api.js";
import { BACKEND, startTestApp, type TestApp } from "../support/harness.js";
import {
  expectedBreakdown,
  expectedCalendar,
  expectedUsers,
  type OracleEvent,
  type Query,
} from "../support/oracle.js";

/**
 * Exclusions (people, spaces, app accounts) leave out every figure of the calendar, breakdown
 * and Activity dialog, past events included, for as long as they stand; lifting them brings the
 * figures back (../shared/docs/product.md). Checked against the luxon oracle on the events no
 * exclusion covers, from the live rollups and again from the sealed prefix sums.
 */
const ADMIN = "excl-admin";
const PEOPLE = ["p-ann", "p-bob", "p-cyd", "p-dee"];
const BOT = "bot-1";
const SPACES = ["S1", "S2", "S3"];
const DAYS_BACK = 20;
const TYPE_EVENT = new Map<EventType, string[]>(
  EVENT_TYPE_NAMES.map((t) => [t, WEBHOOKS.filter((w) => w.type === t).map((w) => w.event)]),
);
const today = DateTime.utc().toISODate() as string;
const shift = (d: string, n: number) =>
  DateTime.fromISO(d, { zone: "UTC" }).plus({ days: n }).toISODate() as string;

interface Stored extends OracleEvent {
  app: boolean;
}

describe(`exclusions apply to every figure, past included (${BACKEND})`, () => {
  let t: TestApp;
  const events: Stored[] = [];

  const settings = async (body: Partial<typeof DEFAULT_SETTINGS>) => {
    const res = await putSettings(t.url, t.fake, ADMIN, { trackAppAccounts: true, ...body });
    expect(res.status, res.body).toBe(200);
  };
  const get = async <T>(path: string) => {
    const res = await apiGet(t.url, t.fake, ADMIN, path);
    expect(res.status, res.body).toBe(200);
    return res.json<T>();
  };
  const qs = (q: Query) =>
    new URLSearchParams(
      Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][],
    ).toString();

  beforeAll(async () => {
    t = await startTestApp({
      env: { REPORT_SEAL_INTERVAL_S: "0", WEBHOOK_MAX_EVENT_AGE_H: String((DAYS_BACK + 2) * 24) },
    });
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    // Settings take only people and spaces Confluence has.
    for (const id of PEOPLE) t.fake.users.set(id, { accountId: id, displayName: id });
    for (const key of SPACES) t.fake.spaces.set(key, { key, name: `Space ${key}` });
    expect((await t.fake.install(t.url)).status).toBe(204);
    await settings({ trackAppAccounts: true });
    const rand = seededRandom(20261203);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const now = Date.now();
    while (events.length < 400) {
      const at = now - 60_000 - Math.floor(rand() * DAYS_BACK * 86_400_000);
      const type = pick(EVENT_TYPE_NAMES);
      const app = rand() < 0.1;
      events.push({
        accountId: app ? BOT : pick(PEOPLE),
        type,
        spaceKey: type === "other" ? "" : pick(SPACES),
        at,
        app,
      });
    }
    for (let i = 0; i < events.length; i += 25) {
      const statuses = await Promise.all(
        events.slice(i, i + 25).map((e, j) => {
          const event = pick(TYPE_EVENT.get(e.type) ?? []) ?? "page_viewed";
          void j;
          const body = payloadFor(event, {
            accountId: e.accountId,
            spaceKey: e.spaceKey,
            timestamp: e.at,
            accountType: e.app ? "app" : undefined,
          });
          return t.fake.sendWebhook(t.url, event, body).then((r) => r.status);
        }),
      );
      expect(statuses.every((s) => s === 204)).toBe(true);
    }
  }, 120_000);
  afterAll(() => t?.stop());

  /** Every figure against the oracle over the events `kept` lets through. */
  const checkFigures = async (kept: (e: Stored) => boolean, label: string) => {
    const visible = events.filter(kept);
    for (const tz of ["UTC", "Asia/Kolkata", "America/New_York"]) {
      for (const [from, to] of [
        [shift(today, -DAYS_BACK - 1), today],
        [shift(today, -3), shift(today, -1)],
      ] as const) {
        const base: Query = { from, to, tz };
        const at = `${label} ${from}..${to} ${tz}`;
        const cal = await get<{ days: unknown[] }>(`/api/reports/calendar?${qs(base)}`);
        expect(cal.days, `calendar ${at}`).toEqual(expectedCalendar(visible, base));
        const br = await get<{ counts: unknown }>(`/api/reports/breakdown?${qs(base)}`);
        expect(br.counts, `breakdown ${at}`).toEqual(expectedBreakdown(visible, base));
        for (const space of SPACES) {
          const q = { ...base, space };
          const c = await get<{ days: unknown[] }>(`/api/reports/calendar?${qs(q)}`);
          expect(c.days, `calendar ${space} ${at}`).toEqual(expectedCalendar(visible, q));
          const b = await get<{ counts: unknown }>(`/api/reports/breakdown?${qs(q)}`);
          expect(b.counts, `breakdown ${space} ${at}`).toEqual(expectedBreakdown(visible, q));
        }
        for (const accountId of [...PEOPLE, BOT]) {
          const q = { ...base, accountId };
          const c = await get<{ days: unknown[] }>(`/api/reports/calendar?${qs(q)}`);
          expect(c.days, `calendar ${accountId} ${at}`).toEqual(expectedCalendar(visible, q));
          const a = await get<{
            counts: unknown;
            activeDays: number;
            lastActive: string | null;
            recent: { spaceKey: string | null }[];
          }>(`/api/reports/users/${accountId}?${qs(base)}`);
          expect(a.counts, `activity ${accountId} ${at}`).toEqual(expectedBreakdown(visible, q));
          const mine = visible.filter((e) => e.accountId === accountId);
          const last = Math.max(...mine.map((e) => e.at));
          expect(a.lastActive, `last active ${accountId}`).toBe(
            mine.length ? new Date(last).toISOString() : null,
          );
          const recentSpaces = new Set(mine.map((e) => e.spaceKey || null));
          for (const r of a.recent) expect(recentSpaces.has(r.spaceKey)).toBe(true);
        }
      }
    }
  };

  /** Same filters, same totals: calendar = breakdown = users summary = the users rows. */
  const checkTotalsAgree = async (kept: (e: Stored) => boolean) => {
    const base: Query = { from: shift(today, -DAYS_BACK - 1), to: today, tz: "Europe/Berlin" };
    const cal = await get<{ days: { events: number }[] }>(`/api/reports/calendar?${qs(base)}`);
    const br = await get<{ counts: Record<string, number> }>(`/api/reports/breakdown?${qs(base)}`);
    const users = await get<{
      rows: {
        accountId: string;
        counts: unknown;
        total: number;
        activeDays: number;
        lastActive: string | null;
      }[];
      summary: { counts: Record<string, number> };
    }>(`/api/reports/users?${qs(base)}&limit=1000`);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const calendarTotal = sum(cal.days.map((d) => d.events));
    expect(sum(Object.values(br.counts))).toBe(calendarTotal);
    expect(sum(Object.values(users.summary.counts))).toBe(calendarTotal);
    expect(sum(users.rows.map((r) => r.total))).toBe(calendarTotal);
    const figures = (
      rows: { accountId: string; counts: unknown; activeDays: number; lastActive: unknown }[],
    ) =>
      rows
        .map((r) => ({
          accountId: r.accountId,
          counts: r.counts,
          activeDays: r.activeDays,
          lastActive: r.lastActive,
        }))
        .sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
    expect(figures(users.rows)).toEqual(figures(expectedUsers(events.filter(kept), base)));
    // The CSV lists the same people with the same counts, in the page's order, whatever the
    // sort (the export computes active days and last activity only when its sort needs them).
    for (const sort of ["view", "total", "activeDays", "lastActive", "name"]) {
      for (const order of ["asc", "desc"]) {
        const q = `${qs(base)}&sort=${sort}&order=${order}`;
        const page = await get<{
          rows: { accountId: string; counts: Record<string, number> }[];
        }>(`/api/reports/users?${q}&limit=1000`);
        const csv = await apiGet(t.url, t.fake, ADMIN, `/api/reports/users.csv?${q}`);
        expect(csv.status).toBe(200);
        const lines = csv.body
          .trim()
          .split(/\r?\n/)
          .slice(1)
          .map((line) => line.split(",").map((cell) => JSON.parse(cell) as string));
        expect(lines, `${sort} ${order}`).toEqual(
          page.rows.map((r) =>
            [r.accountId, r.counts.view, r.counts.create, r.counts.edit, r.counts.comment].map(
              String,
            ),
          ),
        );
      }
    }
    // A space's own report: its people and figures, without excluded people.
    for (const space of SPACES) {
      const q = { ...base, space };
      const inSpace = await get<{
        rows: {
          accountId: string;
          counts: unknown;
          total: number;
          activeDays: number;
          lastActive: string | null;
        }[];
      }>(`/api/reports/users?${qs(q)}&limit=1000`);
      expect(figures(inSpace.rows), `users ${space}`).toEqual(
        figures(expectedUsers(events.filter(kept), q)),
      );
    }
  };

  const excludedPerson = "p-bob";
  const withoutPeople = (e: Stored) => e.accountId !== excludedPerson && !e.app;
  const withoutAll = (e: Stored) => withoutPeople(e) && e.spaceKey !== "S2";

  it("before any exclusion, every event counts", async () => {
    await checkFigures(() => true, "none");
  });

  it("when a person and app accounts are excluded, they leave every figure, and all totals agree", async () => {
    await settings({ excludedUsers: [excludedPerson], trackAppAccounts: false });
    await checkFigures(withoutPeople, "people");
    await checkTotalsAgree(withoutPeople);
  });

  it("when a space is excluded too, its past events leave every figure, and all totals agree", async () => {
    await settings({
      excludedUsers: [excludedPerson],
      excludedSpaces: ["S2"],
      trackAppAccounts: false,
    });
    await checkFigures(withoutAll, "people+space");
    await checkTotalsAgree(withoutAll);
  });

  it("from the sealed prefix sums, the same", async () => {
    await sealAll(t.db, createLogger("silent"), { minPersonDays: 0 });
    await checkFigures(withoutAll, "people+space, sealed");
    await checkTotalsAgree(withoutAll);
  });

  it("when an excluded space is deleted in Confluence, then later saves still work and keep it", async () => {
    const s2 = t.fake.spaces.get("S2");
    t.fake.spaces.delete("S2");
    try {
      await settings({
        excludedUsers: [excludedPerson],
        excludedSpaces: ["S2"],
        trackAppAccounts: false,
        retentionDays: 3650,
      });
      await checkTotalsAgree(withoutAll);
    } finally {
      if (s2) t.fake.spaces.set("S2", s2);
    }
  });

  it("when the exclusions are lifted, the figures come back", async () => {
    await settings({ trackAppAccounts: true });
    await checkFigures(() => true, "lifted");
    await checkTotalsAgree(() => true);
  });
});
