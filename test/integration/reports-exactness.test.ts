import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { seededRandom } from "../../src/dev/random.js";
import { EVENT_TYPE_NAMES, type EventType, WEBHOOKS } from "../../src/events/types.js";
import { createLogger } from "../../src/log.js";
import { localDayStart } from "../../src/reports/range.js";
import { sealAll } from "../../src/reports/sealing.js";
import { apiGet } from "../support/api.js";
import { BACKEND, startTestApp, type TestApp } from "../support/harness.js";
import {
  expectedBreakdown,
  expectedCalendar,
  expectedStreaks,
  expectedUsers,
  type OracleEvent,
  type Query,
} from "../support/oracle.js";

/**
 * Property test: random events (two sites, several users and spaces, all ten types) with
 * timestamps crowded around local midnights and DST changes, checked endpoint by endpoint
 * against a plain luxon computation, in zones with DST, :30 and :45 offsets and the date line.
 */
const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/London",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
];
const SEED = Number(process.env.PROPERTY_SEED ?? 20261121);
const EVENTS_PER_SITE = Number(process.env.PROPERTY_EVENTS ?? 300);

const today = DateTime.utc().toISODate() as string;
const shift = (d: string, n: number) =>
  DateTime.fromISO(d, { zone: "UTC" }).plus({ days: n }).toISODate() as string;
// Windows around the 2026 DST changes (US 8 Mar / 1 Nov, EU 29 Mar / 25 Oct,
// Lord Howe and Chatham 5 Apr / 4 Oct and 27 Sep), and the last days up to now.
const WINDOWS: [string, string][] = [
  ["2026-03-05", "2026-04-08"],
  ["2026-09-24", "2026-11-03"],
  [shift(today, -4), today],
];
const RANGES: [string, string][] = [
  ["2026-03-06", "2026-04-07"],
  ["2026-03-29", "2026-03-29"],
  ["2026-09-26", "2026-11-02"],
  [shift(today, -3), today],
];
const TYPE_EVENT = new Map<EventType, string[]>(
  EVENT_TYPE_NAMES.map((t) => [t, WEBHOOKS.filter((w) => w.type === t).map((w) => w.event)]),
);

interface Site {
  fake: FakeConfluence;
  events: OracleEvent[];
  users: string[];
}

function generate(rand: () => number, users: string[], spaces: string[]): OracleEvent[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const events: OracleEvent[] = [];
  const now = Date.now();
  while (events.length < EVENTS_PER_SITE) {
    const [from, to] = pick(WINDOWS);
    const days = DateTime.fromISO(to).diff(DateTime.fromISO(from), "days").days;
    const date = shift(from, Math.floor(rand() * (days + 1)));
    const zone = pick(ZONES);
    const midnight = localDayStart(date, zone).getTime();
    const delta = pick([
      -1, 0, 1, -60_000, 60_000, -900_000, 899_999, 900_000, -3_600_000, 3_600_000,
    ]);
    const at = rand() < 0.7 ? midnight + delta : midnight + Math.floor(rand() * 86_400_000);
    if (at > now - 1000) continue;
    const type = pick(EVENT_TYPE_NAMES);
    // "other" events (user, group, relation admin operations) carry no space.
    events.push({
      accountId: pick(users),
      type,
      spaceKey: type === "other" ? "" : pick(spaces),
      at,
    });
  }
  // A run of consecutive days up to today for one user, so current streaks are non-trivial.
  for (let i = 0; i < 4; i++) {
    const at = Math.min(now - 1000, Date.parse(`${shift(today, -i)}T12:00:00Z`));
    events.push({ accountId: users[0] as string, type: "view", spaceKey: spaces[0] as string, at });
  }
  return events;
}

describe(`reports are exact in every zone (${BACKEND}, seed ${SEED})`, () => {
  let t: TestApp;
  const sites: Site[] = [];
  const ADMIN = "oracle-admin";

  beforeAll(async () => {
    // Sealing is driven by the test: first every answer comes from the live rollups, then
    // from the sealed prefix sums, then after a late event has reopened sealed days.
    // Events go back to the March DST windows: widen the webhook time window
    // (WEBHOOK_MAX_EVENT_AGE_H, 72 h by default) just enough for them to be stored as sent.
    const hours = Math.ceil((Date.now() - Date.parse("2026-03-04T00:00:00Z")) / 3_600_000);
    t = await startTestApp({
      env: { REPORT_SEAL_INTERVAL_S: "0", WEBHOOK_MAX_EVENT_AGE_H: String(hours) },
    });
    const rand = seededRandom(SEED);
    const second = await new FakeConfluence().start();
    for (const [fake, users] of [
      [t.fake, ["u-ann", "u-bob", "u-cyd", "u-dee", "shared-1", "u-eve"]],
      [second, ["v-fay", "v-gus", "shared-1", "v-hal"]],
    ] as const) {
      fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Oracle Admin", admin: true });
      expect((await fake.install(t.url)).status).toBe(204);
      const events = generate(rand, [...users], ["S1", "S2", "S3"]);
      sites.push({ fake, events, users: [...users] });
      // Send concurrently, like Confluence does.
      for (let i = 0; i < events.length; i += 25) {
        const statuses = await Promise.all(
          events.slice(i, i + 25).map((e, j) => {
            const event = TYPE_EVENT.get(e.type)?.[
              (i + j) % (TYPE_EVENT.get(e.type)?.length ?? 1)
            ] as string;
            const body = payloadFor(event, {
              accountId: e.accountId,
              spaceKey: e.spaceKey,
              timestamp: e.at,
            });
            return fake.sendWebhook(t.url, event, body).then((r) => r.status);
          }),
        );
        expect(statuses.every((s) => s === 204)).toBe(true);
      }
    }
  }, 300_000);
  afterAll(async () => {
    await sites[1]?.fake.stop();
    await t?.stop();
  });

  const get = async (site: Site, path: string) => {
    const res = await apiGet(t.url, site.fake, ADMIN, path);
    expect(res.status, res.body).toBe(200);
    return res.json<Record<string, unknown>>();
  };
  const qs = (q: Query) =>
    new URLSearchParams(
      Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][],
    ).toString();

  const checkZone = async (tz: string) => {
    for (const [siteIndex, site] of sites.entries()) {
      for (const [from, to] of RANGES) {
        const base: Query = { from, to, tz };
        const spaced: Query = { ...base, space: "S2" };
        const one = site.users[0] as string;
        const label = `site ${siteIndex} ${from}..${to} ${tz}`;

        const [users, usersSpace, cal, calSpace, calUser, br, brSpace, brUser, act, actSpace] =
          await Promise.all([
            get(site, `/api/reports/users?${qs(base)}&limit=1000`),
            get(site, `/api/reports/users?${qs(spaced)}&limit=1000`),
            get(site, `/api/reports/calendar?${qs(base)}`),
            get(site, `/api/reports/calendar?${qs(spaced)}`),
            get(site, `/api/reports/calendar?${qs({ ...base, accountId: one })}`),
            get(site, `/api/reports/breakdown?${qs(base)}`),
            get(site, `/api/reports/breakdown?${qs(spaced)}`),
            get(site, `/api/reports/breakdown?${qs({ ...spaced, accountId: one })}`),
            get(site, `/api/reports/users/${one}?${qs(base)}`),
            get(site, `/api/reports/users/${one}?${qs(spaced)}`),
          ]);
        const pick = (rows: unknown) =>
          (rows as Record<string, unknown>[]).map((r) => ({
            accountId: r.accountId,
            counts: r.counts,
            total: r.total,
            activeDays: r.activeDays,
            lastActive: r.lastActive,
          }));
        expect(pick(users.rows), `users ${label}`).toEqual(expectedUsers(site.events, base));
        expect(pick(usersSpace.rows), `users S2 ${label}`).toEqual(
          expectedUsers(site.events, spaced),
        );
        expect(cal.days, `calendar ${label}`).toEqual(expectedCalendar(site.events, base));
        expect(calSpace.days, `calendar S2 ${label}`).toEqual(
          expectedCalendar(site.events, spaced),
        );
        expect(calUser.days, `calendar ${one} ${label}`).toEqual(
          expectedCalendar(site.events, { ...base, accountId: one }),
        );
        expect(br.counts, `breakdown ${label}`).toEqual(expectedBreakdown(site.events, base));
        expect(brSpace.counts, `breakdown S2 ${label}`).toEqual(
          expectedBreakdown(site.events, spaced),
        );
        expect(brUser.counts, `breakdown S2 ${one} ${label}`).toEqual(
          expectedBreakdown(site.events, { ...spaced, accountId: one }),
        );
        const localToday = DateTime.now().setZone(tz).toISODate() as string;
        for (const [a, q] of [
          [act, { ...base, accountId: one }],
          [actSpace, { ...spaced, accountId: one }],
        ] as const) {
          expect(
            {
              activeDays: a.activeDays,
              longestStreak: a.longestStreak,
              currentStreak: a.currentStreak,
            },
            `activity ${q.space ?? "site"} ${label}`,
          ).toEqual(expectedStreaks(site.events, q, localToday));
          expect(a.counts).toEqual(expectedBreakdown(site.events, q));
          expect(a.days).toEqual(expectedCalendar(site.events, q));
        }
      }
    }
  };

  describe("from the live rollups", () => {
    it.each(ZONES)("users, calendar, breakdown and one user's activity match in %s", checkZone);
  });

  describe("from sealed prefix sums", () => {
    it("seals every day that is over, for every zone a viewer used", async () => {
      // Small sites: site-wide days only (per-person periods pay on big sites).
      expect(await sealAll(t.db, createLogger("silent"))).toBeGreaterThan(ZONES.length * 30);
      expect(await t.db("report_zone").whereNull("site_sealed_through")).toEqual([]);
      expect(await t.db("report_zone").whereNotNull("sealed_through")).toEqual([]);
      const periods = await t.db("zone_user_period").count({ n: "*" });
      expect(Number(periods[0]?.n)).toBe(0);
      const sealed = await sealAll(t.db, createLogger("silent"), { minPersonDays: 0 });
      expect(sealed).toBeGreaterThan(ZONES.length * 30);
      const zones = await t.db("report_zone").whereNull("sealed_through");
      expect(zones).toEqual([]);
      // The current week is sealed day by day: up to the last local day over (plus an hour).
      for (const z of await t
        .db("report_zone")
        .select("zone", t.db.raw("sealed_through::text AS through"))) {
        const local = DateTime.now().setZone(z.zone as string);
        const lastOver = local.minus({ hours: 1 }).startOf("day").minus({ days: 1 }).toISODate();
        expect(z.through, z.zone).toBe(lastOver);
      }
    }, 300_000);
    it.each(ZONES)("users, calendar, breakdown and one user's activity match in %s", checkZone);
  });

  describe("after a late event lands in sealed days", () => {
    it("reopens the sealed days and stays exact", async () => {
      const site = sites[0] as Site;
      const late: OracleEvent = {
        accountId: "u-late",
        type: "edit",
        spaceKey: "S2",
        at: Date.parse("2026-03-29T00:30:00Z"),
      };
      const res = await site.fake.sendWebhook(
        t.url,
        "page_updated",
        payloadFor("page_updated", {
          accountId: late.accountId,
          spaceKey: late.spaceKey,
          timestamp: late.at,
        }),
      );
      expect(res.status).toBe(204);
      site.events.push(late);
      const reopened = await t.db("report_zone").where("sealed_through", "<", "2026-03-30");
      expect(reopened.length).toBe(ZONES.length);
      for (const tz of ZONES) await checkZone(tz);
      await sealAll(t.db, createLogger("silent"), { minPersonDays: 0 });
      for (const tz of ZONES) await checkZone(tz);
    }, 300_000);
  });

  describe("with every sealed row's events per day (one person's calendar reads them)", () => {
    it("seals again keeping day totals in blocks too, and they add up to the rows' counts", async () => {
      await t.db("zone_user_period").delete();
      await t.db("zone_period").delete();
      await t.db("report_zone").update({ sealed_through: null, sealed_until: null });
      await sealAll(t.db, createLogger("silent"), { minPersonDays: 0, dayTotalsMin: 0 });
      const rows = (
        await t.db.raw(
          `SELECT p.last_day - p.first_day + 1 AS days, cardinality(r.day_events) AS slots,
             (SELECT sum(x) FROM unnest(r.day_events) x)::int AS per_day,
             (r.n_view + r.n_create + r.n_edit + r.n_delete + r.n_comment + r.n_like
               + r.n_attachment + r.n_label + r.n_space + r.n_other) AS total
           FROM zone_user_period r
           JOIN zone_period p ON p.tenant_id = r.tenant_id AND p.zone_id = r.zone_id
             AND p.first_day = r.first_day`,
        )
      ).rows as { days: number; slots: number | null; per_day: number | null; total: number }[];
      expect(rows.some((r) => Number(r.days) === 28)).toBe(true); // blocks were made
      for (const r of rows) {
        expect(r.slots).toBe(Number(r.days) === 28 ? 28 : 7);
        expect(r.per_day).toBe(r.total);
      }
    }, 300_000);
    it.each(ZONES)("users, calendar, breakdown and one user's activity match in %s", checkZone);
  });
});
