import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { KnexStore } from "../../src/connect/knex-store.js";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { createLogger } from "../../src/log.js";
import { start } from "../../src/server.js";
import { apiGet } from "../support/api.js";
import { eventCount, freshDatabase, startTestApp, type TestApp } from "../support/harness.js";

const ADMIN = "forge-admin";
const today = new Date().toISOString().slice(0, 10);
const REPORT = `/api/reports/users?from=${today}&to=${today}&tz=UTC`;
type UsersReport = { rows: { accountId: string; counts: { view: number } }[] };
const forgeInstallationId = () => `ari:cloud:ecosystem::installation/${randomUUID()}`;

async function usersReport(t: TestApp) {
  const res = await apiGet(t.url, t.fake, ADMIN, REPORT);
  expect(res.status).toBe(200);
  return res.json<UsersReport>().rows;
}

/**
 * What changes when a site has the app through its Forge registration (Connect on Forge,
 * ../shared/docs/platform-notes.md): no enabled/disabled calls, `installed` is not sent again on
 * minor updates, and moving a site from its Connect install to the Forge registration removes
 * the Connect install WITHOUT an uninstall event.
 */
describe("Connect on Forge: lifecycle differences", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Forge Admin", admin: true });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(() => t?.stop());

  it("when a site moves from its Connect install to the Forge registration (no uninstall), then it keeps its data and its webhooks", async () => {
    expect((await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-1" })).status).toBe(
      204,
    );
    const before = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    const eventsBefore = await eventCount(t.db);

    // The Forge registration installs again: same site, a Forge installation id, maybe a new
    // secret; the Connect install is gone without any uninstall call.
    const oldSecret = t.fake.sharedSecret;
    t.fake.forgeInstallationId = forgeInstallationId();
    t.fake.sharedSecret = randomBytes(32).toString("hex");
    expect((await t.fake.install(t.url)).status).toBe(204);

    const after = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(after.id).toBe(before.id);
    expect(after.uninstalled_at).toBeNull();
    expect(after.forge_installation_id).toBe(t.fake.forgeInstallationId);
    expect(await eventCount(t.db)).toBe(eventsBefore);

    // Webhooks keep arriving, signed with the secret of the Forge install only.
    expect((await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-1" })).status).toBe(
      204,
    );
    const stale = t.fake.signRequest("POST", "/webhooks/page_viewed", { secret: oldSecret });
    const refused = await t.fake.sendWebhook(
      t.url,
      "page_viewed",
      { userAccountId: "u-1" },
      { token: stale },
    );
    expect(refused.status).toBe(401);
    const u1 = (await usersReport(t)).find((u) => u.accountId === "u-1");
    expect(u1?.counts.view).toBe(2);
  });

  it("when the Forge app is uninstalled and genuinely reinstalled, then the reinstall is accepted and history resumes", async () => {
    const id = (await t.db("tenant").where({ client_key: t.fake.clientKey }).first()).id;
    expect((await t.fake.uninstall(t.url)).status).toBe(204);
    expect((await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-1" })).status).toBe(
      401,
    );
    // A new installation: new Forge installation id and secret, a freshly signed token.
    t.fake.forgeInstallationId = forgeInstallationId();
    t.fake.sharedSecret = randomBytes(32).toString("hex");
    expect((await t.fake.install(t.url)).status).toBe(204);
    const row = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(row).toMatchObject({ id, uninstalled_at: null });
    expect(row.forge_installation_id).toBe(t.fake.forgeInstallationId);
    expect((await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-1" })).status).toBe(
      204,
    );
    expect((await usersReport(t)).find((u) => u.accountId === "u-1")?.counts.view).toBe(3);
  });

  it("when an install is for another app key (a Forge environment's own CONNECT_KEY), then it is refused, loudly", async () => {
    const before = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    const res = await t.fake.install(t.url, {
      body: { ...t.fake.installPayload(), key: "activity-report-for-confluence-staging" },
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: "wrong_app_key" } });
    const after = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(after.client_info).toEqual(before.client_info);
    expect(t.logs.join("")).toContain("install refused: it is for another app key");
  });

  it("when the install's Forge installation id cannot be stored, then it is a 400 and nothing changes", async () => {
    const before = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    for (const installationId of ["x".repeat(300), "a\u0000b", 42, ""]) {
      const res = await t.fake.install(t.url, {
        body: { ...t.fake.installPayload(), installationId },
      });
      expect(res.status).toBe(400);
    }
    const after = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(after.forge_installation_id).toBe(before.forge_installation_id);
  });
});

describe("Connect on Forge: a Forge environment with its own Connect key (APP_KEY)", () => {
  const STAGING_KEY = "activity-report-for-confluence-staging";
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { APP_KEY: STAGING_KEY } });
    t.fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Forge Admin", admin: true });
    t.fake.appKey = STAGING_KEY;
    t.fake.forgeInstallationId = forgeInstallationId();
  });
  afterAll(() => t?.stop());

  it("serves its key in the descriptor, installs with it, and signs its REST calls with it", async () => {
    const descriptor = (await (await fetch(`${t.url}/atlassian-connect.json`)).json()) as {
      key: string;
    };
    expect(descriptor.key).toBe(STAGING_KEY);
    const production = await t.fake.install(t.url, {
      body: { ...t.fake.installPayload(), key: "activity-report-for-confluence" },
    });
    expect(production.status).toBe(400);
    expect((await t.fake.install(t.url)).status).toBe(204);
    // The report checks the viewer's permissions in Confluence: REST calls the fake accepts
    // only when issued by the key the site installed.
    expect((await t.fake.sendWebhook(t.url, "page_viewed", { userAccountId: "u-s" })).status).toBe(
      204,
    );
    const rows = await usersReport(t);
    expect(rows.find((u) => u.accountId === "u-s")?.counts.view).toBe(1);
    expect(t.fake.requests.length).toBeGreaterThan(0);
  });
});

describe("Connect on Forge: ACE's Forge methods on the store", () => {
  let t: TestApp;
  let store: KnexStore;
  beforeAll(async () => {
    t = await startTestApp();
    t.fake.forgeInstallationId = forgeInstallationId();
    expect((await t.fake.install(t.url)).status).toBe(204);
    store = new KnexStore(t.db);
  });
  afterAll(() => t?.stop());

  it("getClientSettingsForForgeInstallation gives the site's install payload, as ACE expects", async () => {
    // ACE's associate-connect middleware reads clientKey, baseUrl and key from it.
    const settings = await store.getClientSettingsForForgeInstallation(
      t.fake.forgeInstallationId ?? "",
    );
    expect(settings).toMatchObject({
      clientKey: t.fake.clientKey,
      baseUrl: t.fake.baseUrl,
      key: "activity-report-for-confluence",
    });
    expect(await store.getClientSettingsForForgeInstallation(forgeInstallationId())).toBeNull();
  });

  it("forForgeInstallation keeps settings per installation, linked to a site or not yet", async () => {
    const unlinked = store.forForgeInstallation(forgeInstallationId());
    expect(await unlinked.get("forgeAppToken")).toBeNull();
    await unlinked.set("forgeAppToken", { token: "t-1", apiBaseUrl: "https://api.example" });
    expect(await unlinked.get("forgeAppToken")).toEqual({
      token: "t-1",
      apiBaseUrl: "https://api.example",
    });
    await unlinked.set("forgeAppToken", JSON.stringify({ token: "t-2" }));
    expect(await unlinked.get("forgeAppToken")).toEqual({ token: "t-2" });
    await unlinked.del("forgeAppToken");
    expect(await unlinked.get("forgeAppToken")).toBeNull();
  });

  it("associateInstallations moves an installation to another site; deleteAssociation unlinks it", async () => {
    const other = new FakeConfluence();
    await other.start();
    try {
      expect((await other.install(t.url)).status).toBe(204);
      const id = t.fake.forgeInstallationId ?? "";
      await store.associateInstallations(id, other.clientKey);
      expect((await store.getClientSettingsForForgeInstallation(id))?.clientKey).toBe(
        other.clientKey,
      );
      const first = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
      expect(first.forge_installation_id).toBeNull();
      await store.deleteAssociation(id);
      expect(await store.getClientSettingsForForgeInstallation(id)).toBeNull();
    } finally {
      await other.stop();
    }
  });

  it("an uninstalled site is not found by its Forge installation", async () => {
    const id = forgeInstallationId();
    t.fake.forgeInstallationId = id;
    expect((await t.fake.install(t.url)).status).toBe(204);
    expect(await store.getClientSettingsForForgeInstallation(id)).not.toBeNull();
    expect((await t.fake.uninstall(t.url)).status).toBe(204);
    expect(await store.getClientSettingsForForgeInstallation(id)).toBeNull();
  });
});

describe("Connect on Forge: `installed` is not sent again on an update", () => {
  it("when the app restarts on a new version with no new install, then the site's webhooks and reports work", async () => {
    const fake = await new FakeConfluence().start();
    fake.forgeInstallationId = forgeInstallationId();
    fake.users.set(ADMIN, { accountId: ADMIN, displayName: "Forge Admin", admin: true });
    process.env.CONNECT_KEYS_CDN_URL = fake.keysUrl;
    const { database, drop } = await freshDatabase();
    const config = {
      ...loadConfig({
        NODE_ENV: "test",
        PORT: "0",
        AC_HOST_WHITELIST: "127.0.0.1",
        PRIVACY_JOBS_INTERVAL_S: "0",
      }),
      database,
    };
    const logger = createLogger("silent");
    try {
      const first = await start(config, logger);
      expect((await fake.install(first.url)).status).toBe(204);
      expect(
        (await fake.sendWebhook(first.url, "page_viewed", { userAccountId: "u-9" })).status,
      ).toBe(204);
      await first.stop();

      // The next version: same database, no lifecycle call at all.
      const second = await start(config, logger);
      try {
        const hook = await fake.sendWebhook(second.url, "page_viewed", { userAccountId: "u-9" });
        expect(hook.status).toBe(204);
        const res = await apiGet(second.url, fake, ADMIN, REPORT);
        expect(res.status).toBe(200);
        expect(res.json<UsersReport>().rows.find((u) => u.accountId === "u-9")?.counts.view).toBe(
          2,
        );
      } finally {
        await second.stop();
      }
    } finally {
      await fake.stop();
      await drop();
    }
  });
});
