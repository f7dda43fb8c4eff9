import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { createLogger } from "../../src/log.js";
import { runPrivacyJobs } from "../../src/privacy/jobs.js";
import { sealAll } from "../../src/reports/sealing.js";
import { apiGet } from "../support/api.js";
import { type TestApp, startTestApp } from "../support/harness.js";

const ADMIN = "admin-1";
const CLOSED = "u-closed-7f3a";
const UPDATED = "u-updated";
const quiet = createLogger("silent");

/** Rows of every table of the database whose text contains `needle`. */
async function tablesMentioning(t: TestApp, needle: string): Promise<string[]> {
  const tables = (
    await t.db.raw(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
         AND table_name NOT LIKE 'knex_%'`,
    )
  ).rows as { table_name: string }[];
  const found: string[] = [];
  for (const { table_name } of tables) {
    const n = (
      await t.db.raw(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE ?`, [
        `%${needle}%`,
      ])
    ).rows[0].n;
    if (Number(n) > 0) found.push(table_name);
  }
  return found;
}

describe("data lifecycle: personal data reporting and uninstall purge", () => {
  let t: TestApp;
  let closedActor: number;

  beforeAll(async () => {
    // Events are sent 3 days old: widen the webhook time window (WEBHOOK_MAX_EVENT_AGE_H,
    // 72 h by default) just enough for them to be stored as sent.
    t = await startTestApp({
      env: { REPORT_SEAL_INTERVAL_S: "0", WEBHOOK_MAX_EVENT_AGE_H: String(4 * 24) },
    });
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Admin", admin: true });
    t.fake.users.set(CLOSED, { accountId: CLOSED, displayName: "Soon Gone", groups: ["team"] });
    t.fake.users.set(UPDATED, { accountId: UPDATED, displayName: "Old Name" });
    expect((await t.fake.install(t.url)).status).toBe(204);
    const day = Date.now() - 3 * 86_400_000;
    // 95 people, so reporting takes two calls of at most 90 accounts.
    const people = [CLOSED, UPDATED, ...Array.from({ length: 93 }, (_, i) => `u-${i}`)];
    for (const [i, accountId] of people.entries()) {
      for (const event of ["page_viewed", "comment_created"]) {
        const res = await t.fake.sendWebhook(
          t.url,
          event,
          payloadFor(event, { accountId, spaceKey: "ENG", timestamp: day + i * 1000 }),
        );
        expect(res.status).toBe(204);
      }
    }
    // Profiles, group members, zones and sealed days now hold the people too.
    const today = new Date().toISOString().slice(0, 10);
    const report = await apiGet(
      t.url,
      t.fake,
      ADMIN,
      `/api/reports/users?from=2026-01-01&to=${today}&tz=Europe/Berlin&limit=1000`,
    );
    expect(report.status).toBe(200);
    // Sealed as if two weeks had passed: the events' week is over, so it is sealed.
    await sealAll(t.db, quiet, {
      now: new Date(Date.now() + 14 * 86_400_000),
      minPersonDays: 0,
    });
    await t.db.raw(
      "INSERT INTO group_member (tenant_id, group_id, account_id) SELECT id, 'g', ? FROM tenant",
      [CLOSED],
    );
    closedActor = Number((await t.db("actor").where({ account_id: CLOSED }).first("id")).id);
    expect(await tablesMentioning(t, CLOSED)).toEqual(
      expect.arrayContaining(["actor", "user_profile", "group_member"]),
    );
    expect(
      Number(
        (await t.db("zone_user_period").where({ actor_id: closedActor }).count("* as n"))[0]?.n,
      ),
    ).toBeGreaterThan(0);
  }, 120_000);
  afterAll(() => t?.stop());

  it("reports every stored account in calls of at most 90, through a 429, and applies the answers", async () => {
    t.fake.accountStatuses.set(CLOSED, "closed");
    t.fake.accountStatuses.set(UPDATED, "updated");
    t.fake.rateLimitNext = 1;
    const result = await runPrivacyJobs(t.db, quiet, t.clientFor);
    expect(result.reported).toBe(1);
    expect(t.fake.rateLimitNext).toBe(0);
    const calls = t.fake.reportedAccounts;
    expect(calls.every((c) => c.length <= 90)).toBe(true);
    const reported = new Set(calls.flat().map((a) => a.accountId));
    expect(reported.size).toBe(95); // everyone the site stores data of
    expect(calls.flat().every((a) => !Number.isNaN(Date.parse(a.updatedAt)))).toBe(true);
  });

  it("a closed account is erased from every table", async () => {
    expect(await tablesMentioning(t, CLOSED)).toEqual([]);
    for (const table of ["event", "user_day", "zone_user_period", "space_actor"]) {
      const n = (await t.db(table).where({ actor_id: closedActor }).count("* as n"))[0]?.n;
      expect(Number(n), table).toBe(0);
    }
    // Everyone else is untouched.
    expect(Number((await t.db("event").count("* as n"))[0]?.n)).toBe(94 * 2);
  });

  it("an updated account's cached profile is dropped, to be fetched again", async () => {
    expect(await t.db("user_profile").where({ account_id: UPDATED }).first()).toBeUndefined();
    expect(await t.db("actor").where({ account_id: UPDATED }).first()).toBeDefined();
  });

  it("the next report waits for the cycle Confluence asked for (Cycle-Period)", async () => {
    const state = await t.db("privacy_state").first("next_report_at", "cycle_seconds");
    expect(Number(state.cycle_seconds)).toBe(604800);
    expect(new Date(state.next_report_at).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const again = await runPrivacyJobs(t.db, quiet, t.clientFor);
    expect(again.reported).toBe(0);
  });

  it("a site uninstalled over 30 days ago is deleted, all of it; a recent uninstall is kept", async () => {
    expect((await t.fake.uninstall(t.url)).status).toBe(204);
    const tenant = await t.db("tenant").first("id");
    await runPrivacyJobs(t.db, quiet, t.clientFor);
    expect(await t.db("tenant").where({ id: tenant.id }).first()).toBeDefined();

    await t
      .db("tenant")
      .where({ id: tenant.id })
      .update({ uninstalled_at: new Date(Date.now() - 31 * 86_400_000) });
    const result = await runPrivacyJobs(t.db, quiet, t.clientFor);
    expect(result.purged).toBe(1);
    const tables = (
      await t.db.raw(
        `SELECT table_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_name = 'tenant_id'`,
      )
    ).rows as { table_name: string }[];
    for (const { table_name } of tables) {
      const n = (await t.db(table_name).where({ tenant_id: tenant.id }).count("* as n"))[0]?.n;
      expect(Number(n), table_name).toBe(0);
    }
    expect(await t.db("tenant").where({ id: tenant.id }).first()).toBeUndefined();
  });
});
