import { existsSync } from "node:fs";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Frame,
  type Page,
} from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Debian's Chromium, headless; background networking off (this machine's network is closed). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Opens the demo host's page for `query` in `context` and returns the app's frame once
 * `ready` (a selector) is on it.
 */
export async function openAppFrame(
  context: BrowserContext,
  hostUrl: string,
  query: string,
  ready = "#kpis .kpi:not(.skeleton)",
): Promise<{ page: Page; frame: Frame }> {
  const page = await context.newPage();
  await page.goto(`${hostUrl}?${query}`);
  const frame = await (await page.waitForSelector("iframe")).contentFrame();
  if (!frame) throw new Error("the host page has no app frame");
  await frame.waitForSelector(ready, { timeout: 30_000 });
  return { page, frame };
}

/** Dates of the browser tests' default range (the last 30 days in UTC) as the API takes them. */
export const utcDaysAgo = (n: number) =>
  new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
