import { generateKeyPairSync } from "node:crypto";
import * as jwt from "atlassian-jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/harness.js";

describe("lifecycle: signed install and uninstall", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.stop());

  it("serves the descriptor with baseUrl = the app's URL", async () => {
    const res = await fetch(`${t.url}/atlassian-connect.json`);
    expect(res.status).toBe(200);
    const descriptor = (await res.json()) as { baseUrl: string; key: string };
    expect(descriptor.baseUrl).toBe(t.url);
    expect(descriptor.key).toBe("activity-report-for-confluence");
  });

  it("when the install is signed by Confluence's key, then the tenant is stored", async () => {
    const res = await t.fake.install(t.url);
    expect(res.status).toBe(204);
    const row = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(row.base_url).toBe(t.fake.baseUrl);
    expect(row.uninstalled_at).toBeNull();
  });

  it("when the install is signed with a key Confluence does not publish, then it is refused", async () => {
    const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    // Right kid, wrong private key: the signature cannot verify.
    const token = t.fake.lifecycleToken(t.url, "/installed", { privateKey: foreign });
    const res = await t.fake.install(t.url, { token });
    expect(res.status).toBe(401);
    // A kid the key server does not know.
    const unknownKid = t.fake.lifecycleToken(t.url, "/installed", {
      privateKey: foreign,
      kid: "nobody",
    });
    expect((await t.fake.install(t.url, { token: unknownKid })).status).toBe(401);
  });

  it("when the install is signed HS256 or not signed, then it is refused", async () => {
    const hs = jwt.encodeSymmetric(
      {
        iss: t.fake.clientKey,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
        qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl("POST", "/installed")),
      },
      t.fake.sharedSecret,
    );
    expect((await t.fake.install(t.url, { token: hs })).status).toBe(401);
    expect((await t.fake.install(t.url, { token: null })).status).toBe(401);
  });

  it("when the install's audience is another app, then it is refused", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed", { aud: "https://evil.example.com" });
    expect((await t.fake.install(t.url, { token })).status).toBe(401);
  });

  it("when the install claims another site's client key, then it is refused", async () => {
    const token = t.fake.lifecycleToken(t.url, "/installed", { iss: "someone-else" });
    const res = await t.fake.install(t.url, { token });
    expect(res.status).toBe(401);
    expect(await t.db("tenant").where({ client_key: "someone-else" }).first()).toBeUndefined();
  });

  it("refusals answer JSON errors", async () => {
    const res = await t.fake.install(t.url, { token: null });
    expect(res.json()).toMatchObject({ error: { code: "unauthenticated" } });
  });

  it("when uninstall is signed, then the tenant is marked uninstalled and keeps its row", async () => {
    await t.fake.install(t.url);
    const res = await t.fake.uninstall(t.url);
    expect(res.status).toBe(204);
    const row = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(row.uninstalled_at).not.toBeNull();
  });

  it("when an unsigned uninstall arrives, then it is refused and changes nothing", async () => {
    await t.fake.install(t.url);
    const res = await fetch(`${t.url}/uninstalled`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(t.fake.installPayload("uninstalled")),
    });
    expect(res.status).toBe(401);
    const row = await t.db("tenant").where({ client_key: t.fake.clientKey }).first();
    expect(row.uninstalled_at).toBeNull();
  });

  it("a page load that fails authentication shows a page a person can read", async () => {
    const res = await fetch(`${t.url}/pages/activity-report`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("Reload the page");
  });

  it("serves the documentation the pages link to", async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain('id="support"');
  });
});
