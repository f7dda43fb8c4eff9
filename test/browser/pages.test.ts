import { AxeBuilder } from "@axe-core/playwright";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { launchChromium } from "../support/browser.js";
import { startTestApp, type TestApp } from "../support/harness.js";
import { signedModuleUrl } from "../support/iframe-url.js";

describe("page modules in a real browser", () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    expect((await t.fake.install(t.url)).status).toBe(204);
    for (const [i, event] of ["page_viewed", "page_viewed", "comment_created"].entries()) {
      await t.fake.sendWebhook(
        t.url,
        event,
        payloadFor(event, { accountId: `u${i}`, spaceKey: "ENG" }),
      );
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it("when Confluence loads the global page with a signed URL, then it renders what was recorded", async () => {
    const page = await (await browser.newContext()).newPage();
    const res = await page.goto(
      signedModuleUrl(t.fake, t.url, "/pages/activity-report", "admin-1"),
    );
    expect(res?.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toContain("Activity Report");
    await expect(page.locator("main").textContent()).resolves.toContain("3");
    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(serious.map((v) => v.id)).toEqual([]);
    await page.close();
  });

  it("when the page URL is not signed, then the browser gets 401", async () => {
    const page = await (await browser.newContext()).newPage();
    const res = await page.goto(`${t.url}/pages/activity-report`);
    expect(res?.status()).toBe(401);
    await page.close();
  });
});
