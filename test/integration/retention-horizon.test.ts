import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { seededRandom } from "../../src/dev/random.js";
import { EVENT_TYPE_NAMES, type EventType, WEBHOOKS } from "../../src/events/types.js";
import { createLogger } from "../../src/log.js";
import { applyRetention } from "../../src/privacy/retention.js";
import { sealAll } from "../../src/reports/sealing.js";
import { apiGet, putSettings } from "../support/api.js";
import { BACKEND, eventCount, startTestApp, type TestApp } from "../support/harness.js";
import {
  expectedBreakdown,
  expectedCalendar,
  expectedUsers,
  type OracleEvent,
  type Query,
} from "../support/oracle.js";

/**
 * The retention horizon (src/privacy/horizon.ts): with a retention period of N days, every
 * figure covers the last N local days at most, whatever zone the viewer is in and whatever was
 * sealed before or after retention ran; late webhooks older than that are not stored. Checked
 * against the luxon oracle on the events of the days shown.
 */
const ADMIN = "horizon-admin";
const PEOPLE = ["h-ann", "h-bob", "h-cyd"];
const DAYS_BACK = 110;
/**
 * Long enough that the kept weeks hold an aligned four-week block whatever today's date (70 days
 * hold at least 8 whole weeks; a block needs at most 7), so compaction is tested every day.
 */
const RETENTION = 70;
const ZONES = ["UTC", "Pacific/Kiritimati", "America/New_York", "Pacific/Pago_Pago"];
const TYPE_EVENT = new Map<EventType, string[]>(
  EVENT_TYPE_NAMES.map((t) => [t, WEBHOOKS.filter((w) => w.type === t).map((w) => w.event)]),
);
const quiet = createLogger("silent");

interface Users {
  range: { from: string; to: string; keptFrom: string | null };
  rows: {
    accountId: string;
    counts: Record<EventType, number>;
    total: number;
    activeDays: number;
  }[];
  summary: { counts: Record<EventType, number> };
}

describe(`the retention horizon: every figure starts there, whatever is sealed (${BACKEND})`, () => {
  let t: TestApp;
  let tenantId: number;
  const events: OracleEvent[] = [];

  const get = async <T>(path: string) => {
    const res = await apiGet(t.url, t.fake, ADMIN, path);
    expect(res.status, res.body).toBe(200);
    return res.json<T>();
  };
  const qs = (q: Query) =>
    new URLSearchParams(
      Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][],
    ).toString();
  const send = async (e: OracleEvent) => {
    const names = TYPE_EVENT.get(e.type) ?? [];
    const event = names[Math.floor(e.at / 1000) % names.length] as string;
    return t.fake.sendWebhook(
      t.url,
      event,
      payloadFor(event, { accountId: e.accountId, spaceKey: e.spaceKey, timestamp: e.at }),
    );
  };
  const localToday = (tz: string) => DateTime.now().setZone(tz).toISODate() as string;
  const back = (date: string, n: number) =>
    DateTime.fromISO(date, { zone: "UTC" }).minus({ days: n }).toISODate() as string;

  /** A 90-day request in `tz`: answered over the horizon's days only, and exact there. */
  const checkZone = async (tz: string, retention: number | null, firstKept?: string) => {
    const to = localToday(tz);
    const asked: Query = { from: back(to, 89), to, tz };
    const shown: Query =
      firstKept !== undefined
        ? { ...asked, from: firstKept }
        : retention === null
          ? asked
          : { ...asked, from: back(to, retention - 1) };
    const users = await get<Users>(`/api/reports/users?${qs(asked)}&limit=1000`);
    expect(users.range.from, tz).toBe(shown.from);
    expect(users.range.keptFrom, tz).toBe(
      retention === null && firstKept === undefined ? null : shown.from,
    );
    const byId = (a: { accountId: string }, b: { accountId: string }) =>
      a.accountId < b.accountId ? -1 : 1;
    expect(
      users.rows
        .map((r) => ({
          accountId: r.accountId,
          counts: r.counts,
          total: r.total,
          activeDays: r.activeDays,
        }))
        .sort(byId),
      `users ${tz}`,
    ).toEqual(
      expectedUsers(events, shown)
        .map(({ lastActive: _, ...r }) => r)
        .sort(byId),
    );
    const calendar = await get<{ range: { from: string }; days: unknown[] }>(
      `/api/reports/calendar?${qs(asked)}`,
    );
    expect(calendar.range.from).toBe(shown.from);
    expect(calendar.days, `calendar ${tz}`).toEqual(expectedCalendar(events, shown));
    const breakdown = await get<{ counts: unknown }>(`/api/reports/breakdown?${qs(asked)}`);
    expect(breakdown.counts, `breakdown ${tz}`).toEqual(expectedBreakdown(events, shown));
    expect(users.summary.counts).toEqual(expectedBreakdown(events, shown));
    const one = PEOPLE[0] as string;
    const activity = await get<{ counts: unknown; activeDays: number; days: unknown[] }>(
      `/api/reports/users/${one}?${qs(asked)}`,
    );
    expect(activity.counts, `activity ${tz}`).toEqual(
      expectedBreakdown(events, { ...shown, accountId: one }),
    );
    expect(activity.days).toEqual(expectedCalendar(events, { ...shown, accountId: one }));
  };

  const setRetention = async (retentionDays: number | null) => {
    const res = await putSettings(t.url, t.fake, ADMIN, { trackAppAccounts: true, retentionDays });
    expect(res.status, res.body).toBe(200);
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        REPORT_SEAL_INTERVAL_S: "0",
        PRIVACY_JOBS_INTERVAL_S: "0",
        WEBHOOK_MAX_EVENT_AGE_H: String((DAYS_BACK + 2) * 24),
      },
    });
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    expect((await t.fake.install(t.url)).status).toBe(204);
    tenantId = Number((await t.db("tenant").first("id")).id);
    const rand = seededRandom(61);
    const now = Date.now();
    for (let d = DAYS_BACK - 1; d >= 0; d--) {
      for (const accountId of PEOPLE) {
        if (rand() < 0.35) continue;
        const at = now - d * 86_400_000 - Math.floor(rand() * 20) * 3_600_000 - 60_000;
        const type = EVENT_TYPE_NAMES[Math.floor(rand() * EVENT_TYPE_NAMES.length)] as EventType;
        const e: OracleEvent = { accountId, type, spaceKey: rand() < 0.5 ? "S1" : "S2", at };
        expect((await send(e)).status).toBe(204);
        events.push(e);
      }
    }
    // Viewers in every zone, and their weeks sealed, before any retention.
    for (const tz of ZONES) await checkZone(tz, null);
    expect(await sealAll(t.db, quiet, { minPersonDays: 0 })).toBeGreaterThan(0);
    for (const tz of ZONES) await checkZone(tz, null);
  }, 180_000);
  afterAll(() => t?.stop());

  it("once retention is set and has run, every figure covers its last days only, exactly", async () => {
    await setRetention(RETENTION);
    const before = await eventCount(t.db);
    await applyRetention(t.db, tenantId, RETENTION);
    expect(await eventCount(t.db)).toBeLessThan(before);
    for (const tz of ZONES) await checkZone(tz, RETENTION);
  });

  it("a zone sealed for the first time after retention ran, and zones sealed again, agree", async () => {
    const fresh = "Asia/Kathmandu";
    ZONES.push(fresh);
    await checkZone(fresh, RETENTION);
    await sealAll(t.db, quiet, { compactAfterWeeks: 0, minPersonDays: 0 });
    // Old weeks were merged into four-week blocks; the figures are the same.
    const blocks = await t.db("zone_period").whereRaw("last_day - first_day = 27").count("* as n");
    expect(Number(blocks[0]?.n)).toBeGreaterThan(0);
    for (const tz of ZONES) await checkZone(tz, RETENTION);
  });

  it("a zone no viewer used for 30 days loses its sealed rows, and its reports stay exact", async () => {
    const zone = await t.db("report_zone").where({ zone: "Pacific/Pago_Pago" }).first("id");
    const rows = () =>
      t
        .db("zone_user_period")
        .where({ zone_id: zone.id })
        .count("* as n")
        .then((r) => Number(r[0]?.n));
    expect(await rows()).toBeGreaterThan(0);
    await t
      .db("report_zone")
      .where({ id: zone.id })
      .update({ last_used_at: new Date(Date.now() - 31 * 86_400_000) });
    await sealAll(t.db, quiet, { minPersonDays: 0 });
    expect(await rows()).toBe(0);
    expect(await t.db("zone_period").where({ zone_id: zone.id }).first()).toBeUndefined();
    await checkZone("Pacific/Pago_Pago", RETENTION);
  });

  it("a webhook older than the retention period is not stored and changes no figure", async () => {
    const before = await eventCount(t.db);
    const late: OracleEvent = {
      accountId: "h-late",
      type: "edit",
      spaceKey: "S1",
      at: Date.now() - (RETENTION + 5) * 86_400_000,
    };
    expect((await send(late)).status).toBe(204);
    expect(await eventCount(t.db)).toBe(before);
    for (const tz of ZONES) await checkZone(tz, RETENTION);
  });

  it("a range wholly before the horizon is refused, naming the first day kept", async () => {
    const to = back(localToday("UTC"), RETENTION + 1);
    const res = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/users?from=${back(to, 10)}&to=${to}&tz=UTC`,
    );
    expect(res.status).toBe(400);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: "before_retention",
      message: expect.stringContaining(back(localToday("UTC"), RETENTION - 1)),
    });
  });

  it("per-person rollups and sealed periods from before the cutoff are deleted with the events", async () => {
    const cutoff = back(localToday("UTC"), RETENTION + 4);
    const oldDays = await t.db("user_day").where("day", "<", cutoff).count("* as n");
    expect(Number(oldDays[0]?.n)).toBe(0);
    const oldPeriods = await t
      .db("zone_period")
      .where("last_day", "<", back(cutoff, 1))
      .count("* as n");
    expect(Number(oldPeriods[0]?.n)).toBe(0);
  });

  it("raising or clearing the retention period later shows no day whose history is gone", async () => {
    const cut = (await t.db("tenant").where({ id: tenantId }).first("history_from")) as {
      history_from: Date | string;
    };
    const historyFrom = new Date(cut.history_from);
    const firstKept = (tz: string) =>
      DateTime.fromJSDate(historyFrom, { zone: tz }).plus({ days: 1 }).toISODate() as string;
    for (const retention of [365, null]) {
      await setRetention(retention);
      for (const tz of ZONES) await checkZone(tz, retention, firstKept(tz));
      // And a webhook from before the cut is still not stored.
      const before = await eventCount(t.db);
      const late: OracleEvent = {
        accountId: "h-late",
        type: "edit",
        spaceKey: "S1",
        at: historyFrom.getTime() - 86_400_000,
      };
      expect((await send(late)).status).toBe(204);
      expect(await eventCount(t.db)).toBe(before);
    }
  });
});
