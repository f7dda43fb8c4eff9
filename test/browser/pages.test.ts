import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT_DIR } from "../../src/config.js";
import { DEMO_ADMIN, type Demo, MARKUP_NAME, startDemo } from "../../src/dev/demo.js";
import { groupIdFromName } from "../../src/dev/fake-confluence.js";
import { apiGet } from "../support/api.js";
import { launchChromium, openAppFrame, utcDaysAgo } from "../support/browser.js";

/**
 * Where the screenshots go: the gitignored scratch/screenshots, so that a test run leaves the
 * tracked files alone. `npm run screenshots` sets SCREENSHOTS_DIR=docs/screenshots to update
 * the documentation's pictures on purpose.
 */
const DOCS_SCREENSHOTS = path.join(ROOT_DIR, "docs/screenshots");
const SCREENSHOTS = path.resolve(ROOT_DIR, process.env.SCREENSHOTS_DIR || "scratch/screenshots");
const UPDATING_DOCS = SCREENSHOTS === DOCS_SCREENSHOTS;

/** Each file's size and modification time, to tell whether a run wrote into the folder. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir).catch(() => [])) {
    const s = await stat(path.join(dir, name));
    out[name] = `${s.size}@${s.mtimeMs}`;
  }
  return out;
}

/** axe-core's serious and critical findings inside the app's iframe. */
async function seriousViolations(page: Page): Promise<string[]> {
  const axe = await new AxeBuilder({ page }).include("iframe").analyze();
  return axe.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id);
}
const TZ = "UTC";

interface UsersBody {
  total: number;
  rows: {
    accountId: string;
    displayName: string;
    counts: Record<string, number>;
    activeDays: number;
  }[];
  summary: { users: number; counts: Record<string, number> };
}

describe("the report pages in Chromium, through the demo host", () => {
  let demo: Demo;
  let browser: Browser;
  let context: BrowserContext;
  let dataDir: string;
  let docsBefore: Record<string, string>;
  let startedAt: number;

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await apiGet(demo.appUrl, demo.fake, DEMO_ADMIN, pathAndQuery);
    expect(res.status, res.body).toBe(200);
    return res.json<T>();
  };
  const today = () => new Date().toISOString().slice(0, 10);
  const daysAgo = utcDaysAgo;
  const range = () => `from=${daysAgo(29)}&to=${today()}&tz=${TZ}`;

  /** Opens the host page and returns the app's frame once its data has loaded. */
  const open = (query: string, ready = "#kpis .kpi:not(.skeleton)") =>
    openAppFrame(context, demo.hostUrl, query, ready);

  beforeAll(async () => {
    startedAt = Date.now();
    docsBefore = await fingerprint(DOCS_SCREENSHOTS);
    dataDir = await mkdtemp(path.join(tmpdir(), "activity-demo-"));
    demo = await startDemo({ port: 0, hostPort: 0, dataDir, events: 900 });
    browser = await launchChromium();
    context = await browser.newContext({
      timezoneId: TZ,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("the dashboard shows the API's figures: events, active users, calendar, breakdown", async () => {
    const { page, frame } = await open("module=global");
    const calendar = await api<{ days: { date: string; events: number; users: number }[] }>(
      `/api/reports/calendar?${range()}`,
    );
    const breakdown = await api<{ counts: Record<string, number> }>(
      `/api/reports/breakdown?${range()}`,
    );
    const users = await api<UsersBody>(`/api/reports/users?${range()}&limit=1`);
    const events = calendar.days.reduce((s, d) => s + d.events, 0);
    expect(events).toBeGreaterThan(0);

    const kpis = await frame.locator("#kpis .kpi").allTextContents();
    expect(kpis.find((k) => k.startsWith("Events"))).toContain(events.toLocaleString("en-US"));
    expect(kpis.find((k) => k.startsWith("Active users"))).toContain(String(users.summary.users));

    const cells = frame.locator("#calendar .day:not(.pad)");
    expect(await cells.count()).toBe(30);
    const busiest = calendar.days.reduce((a, b) => (b.events > a.events ? b : a));
    const labels = await cells.evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute("aria-label") ?? ""),
    );
    expect(
      labels.some((l) => l.includes(`${busiest.events} events, ${busiest.users} active users`)),
    ).toBe(true);

    const table = await frame.locator("#breakdown-table tbody tr").allTextContents();
    expect(table[0]).toBe(`Views${breakdown.counts.view?.toLocaleString("en-US")}`);
    expect(await frame.locator("#breakdown-chart").count()).toBe(1);

    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("the per-day average says over how many tracked days; no summary reads 'more of fewer'", async () => {
    const { page, frame } = await open("module=global");
    const calendar = await api<{ trackedDays: number; activeUsersPerDay: number }>(
      `/api/reports/calendar?${range()}`,
    );
    const kpis = await frame.locator("#kpis .kpi").allTextContents();
    const perDay = kpis.find((k) => k.startsWith("Active users per day")) ?? "";
    expect(perDay).toContain(
      (Math.round(calendar.activeUsersPerDay * 10) / 10).toLocaleString("en-US"),
    );
    expect(perDay).toContain(`on average over ${calendar.trackedDays} tracked day`);
    const cleanup = await api<UsersBody>(`/api/reports/users?${range()}&include=inactive&limit=1`);
    await frame.click("#tab-users");
    await frame.check("#inactive");
    await frame.waitForFunction(
      (n) => document.querySelector("#pager")?.textContent?.includes(`of ${n}`),
      cleanup.total.toLocaleString("en-US"),
    );
    const texts = [
      ...(await frame.locator("#kpis .note").allTextContents()),
      ...(await frame.locator("#summary dd").allTextContents()),
    ];
    const pairs = texts.flatMap((t) => [
      ...t.matchAll(/([\d,]+) (?:active )?of ([\d,]+) licensed user accounts/g),
    ]);
    expect(pairs.length).toBe(2);
    for (const [, listed, accounts] of pairs) {
      expect(Number(listed?.replace(/,/g, ""))).toBeLessThanOrEqual(
        Number(accounts?.replace(/,/g, "")),
      );
    }
    await page.close();
  });

  it("the users table follows the API; sorting and filtering change it", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-users");
    await frame.waitForSelector("#users-table tbody tr");
    const byViews = await api<UsersBody>(`/api/reports/users?${range()}&limit=50`);
    const firstRow = frame.locator("#users-table tbody tr").first();
    expect(await firstRow.getAttribute("data-account-id")).toBe(byViews.rows[0]?.accountId);
    expect(await frame.locator("#pager").textContent()).toContain(`of ${byViews.total}`);
    expect(await frame.locator("#summary").textContent()).toContain(
      byViews.summary.counts.view?.toLocaleString("en-US"),
    );

    await frame.click('button[data-sort="edit"]');
    const byEdits = await api<UsersBody>(`/api/reports/users?${range()}&limit=50&sort=edit`);
    await frame.waitForFunction(
      (id) =>
        document.querySelector("#users-table tbody tr")?.getAttribute("data-account-id") === id,
      byEdits.rows[0]?.accountId,
    );
    expect(await frame.locator('th[aria-sort="descending"]').textContent()).toContain("Edits");

    await frame.selectOption("#group", groupIdFromName("engineering"));
    const engineering = await api<UsersBody>(
      `/api/reports/users?${range()}&limit=50&sort=edit&group=${groupIdFromName("engineering")}`,
    );
    await frame.waitForFunction(
      (n) => document.querySelectorAll("#users-table tbody tr").length === n,
      engineering.rows.length,
    );

    await frame.selectOption("#group", "");
    await frame.check("#inactive");
    const withInactive = await api<UsersBody>(
      `/api/reports/users?${range()}&limit=50&sort=edit&include=inactive`,
    );
    await frame.waitForFunction(
      (n) => document.querySelector("#pager")?.textContent?.includes(`of ${n}`),
      withInactive.total,
    );
    await frame.uncheck("#inactive");
    await frame.fill("#q", "Lovelace");
    const searched = await api<UsersBody>(`/api/reports/users?${range()}&q=Lovelace`);
    expect(searched.total).toBeGreaterThan(0);
    await frame.waitForFunction(
      (n) => document.querySelectorAll("#users-table tbody tr").length === n,
      searched.rows.length,
    );
    for (const name of await frame.locator("#users-table tbody .user-name").allTextContents()) {
      expect(name).toContain("Lovelace");
    }
    await page.close();
  });

  it("a display name with markup is shown as text, never as HTML", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-users");
    await frame.fill("#q", "Mallory");
    await frame.waitForFunction(
      () => document.querySelectorAll("#users-table tbody .user-name").length === 1,
    );
    expect(await frame.locator("#users-table tbody .user-name").textContent()).toBe(MARKUP_NAME);
    expect(await frame.locator('#users-table img[src="x"], #users-table b').count()).toBe(0);
    await page.close();
  });

  it("clicking a user opens the Activity dialog with the API's KPIs and recent events", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-users");
    await frame.waitForSelector("#users-table tbody .user-name");
    const first = frame.locator("#users-table tbody tr").first();
    const accountId = (await first.getAttribute("data-account-id")) as string;
    await first.locator(".user-activity").click();
    await frame.waitForSelector("#dialog-body .kpi");
    const u = await api<{
      activeDays: number;
      longestStreak: number;
      currentStreak: number;
      recent: unknown[];
    }>(`/api/reports/users/${encodeURIComponent(accountId)}?${range()}`);
    const kpis = await frame.locator("#dialog-body .kpi").allTextContents();
    const days = (n: number) => `${n} ${n === 1 ? "day" : "days"}`;
    expect(kpis).toEqual([
      `Active Days${u.activeDays}`,
      `Longest Streak${days(u.longestStreak)}`,
      `Current Streak${days(u.currentStreak)}`,
    ]);
    expect(u.currentStreak).toBeLessThanOrEqual(u.longestStreak);
    expect(u.longestStreak).toBeLessThanOrEqual(u.activeDays);
    expect(await frame.locator("#dialog-body .recent li").count()).toBe(
      Math.max(1, u.recent.length),
    );
    expect(await frame.locator("#dialog-body .recent a").first().getAttribute("target")).toBe(
      "_blank",
    );
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("Export CSV confirms the row count and downloads exactly the report's rows", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-users");
    await frame.waitForSelector("#users-table tbody tr");
    const users = await api<UsersBody>(`/api/reports/users?${range()}&limit=1`);
    await frame.click("#export");
    expect(await frame.locator("#export-text").textContent()).toContain(`${users.total} rows`);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      frame.click("#export-confirm"),
    ]);
    const file = await download.path();
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(lines[0]).toBe('"Account Id","Views","Creates","Edits","Comments"');
    expect(lines).toHaveLength(users.total + 1);
    await page.close();
  });

  it("Settings: an admin saves exclusions, sees the change in the audit, and the API has them", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-settings");
    await frame.waitForSelector("#settings-audit li");
    // The pickers (see the next test): type, then Enter adds the highlighted match.
    for (const [picker, text] of [
      ["excluded-spaces", "HR"],
      ["excluded-spaces", "SALES"],
      ["excluded-groups", "support"],
    ] as const) {
      await frame.fill(`#${picker}-search`, text);
      await frame.waitForSelector(`#${picker}-results [role=option][aria-selected=true]`);
      await frame.press(`#${picker}-search`, "Enter");
    }
    await frame.click("#save-settings");
    await frame.waitForFunction(() =>
      document.querySelector("#status")?.textContent?.includes("Settings saved"),
    );
    expect(await frame.locator("#settings-audit li").first().textContent()).toContain("Dana Admin");
    const saved = await api<{ settings: { excludedSpaces: string[]; excludedGroups: string[] } }>(
      "/api/settings",
    );
    expect(saved.settings.excludedSpaces).toEqual(["HR", "SALES"]);
    expect(saved.settings.excludedGroups).toEqual([groupIdFromName("support")]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("Settings pickers: an admin adds a person and a space by name, removes a chip, and saves ids", async () => {
    const { page, frame } = await open("module=global");
    await frame.click("#tab-settings");
    await frame.waitForSelector("#settings-audit li");
    const person = demo.users.find(
      (u) =>
        u.accountId.startsWith("557058:demo-0") &&
        demo.users.filter((v) => v.displayName === u.displayName).length === 1,
    );
    if (!person) throw new Error("no demo person with a unique name");
    const other = demo.users.find((u) => u.accountId === "557058:demo-10");
    if (!other) throw new Error("no second demo person");
    const chips = (picker: string) => frame.locator(`#${picker}-chips .chip`).allTextContents();

    // A person by name: the match shows the name, Enter adds it as a chip with the name.
    await frame.fill("#excluded-users-search", person.displayName);
    const option = frame.locator("#excluded-users-results [role=option][aria-selected=true]");
    await option.waitFor();
    expect(await option.textContent()).toBe(person.displayName);
    await frame.press("#excluded-users-search", "Enter");
    expect((await chips("excluded-users")).join()).toContain(person.displayName);
    // Another one, then Backspace in the empty box takes the last chip away again.
    await frame.fill("#excluded-users-search", other.displayName);
    await option.waitFor();
    await frame.press("#excluded-users-search", "Enter");
    expect(await chips("excluded-users")).toHaveLength(2);
    await frame.press("#excluded-users-search", "Backspace");
    expect(await chips("excluded-users")).toHaveLength(1);

    // A space by name (any case), with the mouse; × removes a chip.
    await frame.fill("#excluded-spaces-search", "desi");
    const space = frame.locator("#excluded-spaces-results [role=option]", { hasText: "DESIGN" });
    await space.waitFor();
    await space.dispatchEvent("mousedown");
    expect((await chips("excluded-spaces")).join()).toContain("Design (DESIGN)");
    await frame.fill("#excluded-spaces-search", "product");
    await frame.waitForSelector("#excluded-spaces-results [role=option][aria-selected=true]");
    await frame.press("#excluded-spaces-search", "Enter");
    await frame.click('#excluded-spaces-chips button[aria-label="Remove Product (PRODUCT)"]');
    expect((await chips("excluded-spaces")).join()).not.toContain("PRODUCT");

    await frame.click("#save-settings");
    await frame.waitForFunction(() =>
      document.querySelector("#status")?.textContent?.includes("Settings saved"),
    );
    // Saved as ids and keys; the audit says in names what changed.
    const saved = await api<{ settings: { excludedUsers: string[]; excludedSpaces: string[] } }>(
      "/api/settings",
    );
    expect(saved.settings.excludedUsers).toEqual([person.accountId]);
    expect(saved.settings.excludedSpaces).toContain("DESIGN");
    expect(saved.settings.excludedSpaces).not.toContain("PRODUCT");
    const change = await frame.locator("#settings-audit > li").first().textContent();
    expect(change).toContain("Dana Admin");
    expect(change).toContain(`Excluded people: added ${person.displayName}`);
    expect(change).toContain("Excluded spaces: added Design");
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("the space report works for that space's admin; the global page refuses them", async () => {
    const { page, frame } = await open("module=space&as=space-admin");
    expect(await frame.locator("h1").textContent()).toContain("ENG");
    await page.close();
    const refused = await open("module=global&as=space-admin", ".message");
    expect(await refused.frame.locator(".message h1").textContent()).toContain(
      "cannot see this report",
    );
    await refused.page.close();
  });

  it("the utility bar: Documentation opens the user guide; no Support button without SUPPORT_URL", async () => {
    // The demo runs without SUPPORT_URL: the button must not be there (never a placeholder).
    const { page, frame } = await open("module=global");
    expect(await frame.locator("#support-link").isHidden()).toBe(true);
    expect(await frame.locator("#support-link").getAttribute("href")).toBeNull();
    const [guide] = await Promise.all([context.waitForEvent("page"), frame.click("#docs-link")]);
    await guide.waitForLoadState();
    expect(guide.url()).toBe(`${demo.appUrl}/docs`);
    expect(await guide.locator("h1").textContent()).toContain("user guide");
    expect(await guide.locator("h2#support").isVisible()).toBe(true);
    expect(await guide.locator("#guide-support-link").count()).toBe(0);
    await guide.close();
    await page.close();
  });

  it("the user guide reads well in light and dark: contrast, theme, line length", async () => {
    const page = await context.newPage();
    const check = async (mode: "light" | "dark") => {
      await page.emulateMedia({ colorScheme: mode });
      await page.goto(`${demo.appUrl}/docs`);
      await page.waitForSelector("h2#support");
      expect(await page.evaluate(() => document.documentElement.dataset.colorMode)).toBe(mode);
      // The tokens really apply: a dark page on dark, a light one on light.
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r = 0, g = 0, b = 0] = (background.match(/\d+/g) ?? []).map(Number);
      expect((r + g + b) / 3 > 128, background).toBe(mode === "light");
      // Prose keeps a readable measure on a wide screen.
      const width = await page
        .locator(".guide-body > p")
        .first()
        .evaluate((p) => p.clientWidth);
      expect(width).toBeLessThan(760);
      await page.screenshot({ path: path.join(SCREENSHOTS, `guide-${mode}.png`) });
      const axe = await new AxeBuilder({ page }).analyze();
      const serious = axe.violations.filter(
        (v) => v.impact === "serious" || v.impact === "critical",
      );
      expect(serious.map((v) => v.id)).toEqual([]);
    };
    await check("light");
    await check("dark");
    await page.close();
  });

  it("screenshots of every tab and the dialog, light and dark, 1280 and 760 px wide, with no serious axe finding", async () => {
    for (const width of [1280, 760]) {
      const ctx = await browser.newContext({ timezoneId: TZ, viewport: { width, height: 900 } });
      for (const mode of ["light", "dark"] as const) {
        const shot = (page: Page, name: string, fullPage = true) =>
          page.screenshot({
            path: path.join(SCREENSHOTS, `${name}-${mode}-${width}.png`),
            fullPage,
          });
        const page = await ctx.newPage();
        await page.goto(`${demo.hostUrl}?module=global&theme=${mode}`);
        const frame = await (await page.waitForSelector("iframe")).contentFrame();
        if (!frame) throw new Error("no frame");
        await frame.waitForSelector("#kpis .kpi:not(.skeleton)", { timeout: 30_000 });
        expect(await frame.evaluate(() => document.documentElement.dataset.colorMode)).toBe(mode);
        await shot(page, "dashboard");
        expect(await seriousViolations(page), `dashboard ${mode} ${width}`).toEqual([]);
        await frame.click("#tab-users");
        await frame.waitForSelector("#users-table tbody .user-name");
        await shot(page, "users");
        expect(await seriousViolations(page), `users ${mode} ${width}`).toEqual([]);
        await frame.locator("#users-table tbody .user-activity").first().click();
        await frame.waitForSelector("#dialog-body .kpi");
        await shot(page, "user-dialog", false);
        expect(await seriousViolations(page), `dialog ${mode} ${width}`).toEqual([]);
        await frame.click("#dialog-close");
        await frame.click("#tab-settings");
        await frame.waitForSelector("#settings-audit > li", { timeout: 30_000 });
        await shot(page, "settings");
        expect(await seriousViolations(page), `settings ${mode} ${width}`).toEqual([]);
        await page.close();
        const space = await ctx.newPage();
        await space.goto(`${demo.hostUrl}?module=space&theme=${mode}`);
        const spaceFrame = await (await space.waitForSelector("iframe")).contentFrame();
        await spaceFrame?.waitForSelector("#kpis .kpi:not(.skeleton)", { timeout: 30_000 });
        await shot(space, "space-report");
        await space.close();
      }
      await ctx.close();
    }
  }, 300_000);

  // Last in the file: every screenshot above has been taken by now.
  it.skipIf(UPDATING_DOCS)(
    "screenshots go to the scratch folder, not docs/screenshots",
    async () => {
      const written = await stat(path.join(SCREENSHOTS, "dashboard-dark-760.png"));
      expect(written.mtimeMs).toBeGreaterThanOrEqual(startedAt - 1_000);
      expect(await fingerprint(DOCS_SCREENSHOTS)).toEqual(docsBefore);
    },
  );
});
