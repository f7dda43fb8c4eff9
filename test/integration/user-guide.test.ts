import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPE_NAMES, WEBHOOKS } from "../../src/events/types.js";
import { CSV_HEADER } from "../../src/http/api-router.js";
import { supportLink } from "../../src/http/docs-router.js";
import { startTestApp, type TestApp } from "../support/harness.js";

/** A support address with every character an attribute must escape. */
const SUPPORT_URL = 'https://help.example.com/desk?site=a&q="><script>alert(1)</script>';

/** The few entities Handlebars and marked write, decoded. */
const decode = (html: string) =>
  html
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&#x3D;/g, "=")
    .replace(/&#x60;/g, "`")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

const getGuide = async (url: string) => {
  const res = await fetch(`${url}/docs`);
  return { res, html: await res.text() };
};

describe("the user guide at /docs", () => {
  let plain: TestApp;
  let withSupport: TestApp;

  beforeAll(async () => {
    [plain, withSupport] = await Promise.all([
      startTestApp(),
      startTestApp({ env: { SUPPORT_URL } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), withSupport?.stop()]);
  });

  it("is an HTML page for anyone, with the pages' security headers", async () => {
    const { res, html } = await getGuide(plain.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8/i);
    expect(html.trimStart()).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<link rel="stylesheet" href="/vendor/tokens.css"');
    expect(html).toContain('<link rel="stylesheet" href="/guide.css"');
    expect(html).toContain('<script src="/theme.js">');
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors https://*.atlassian.net");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeNull(); // it may be framed by Confluence
  });

  it("has the sections, each heading with an id, and a table of contents linking to them", async () => {
    const { html } = await getGuide(plain.url);
    expect(html).toMatch(/<h1>[^<]*user guide<\/h1>/i);
    const sections = [
      "what-is-tracked",
      "definitions",
      "exclusions",
      "retention-and-privacy",
      "who-can-see-what",
      "exports",
      "faq",
      "support",
    ];
    for (const id of sections) {
      expect(html, id).toMatch(new RegExp(`<h2 id="${id}">`));
      expect(html, id).toContain(`<a href="#${id}">`);
    }
    expect(html).toMatch(/<h2 id="support">Getting help<\/h2>/);
    expect(html).toMatch(/<h3 id="warm-up">/);
    // Every heading of the guide has an id, and no id is used twice.
    const headings = html.match(/<h[1-6]\b[^>]*>/g) ?? [];
    expect(headings.filter((h) => !h.startsWith("<h1") && !/ id="[a-z0-9-]+"/.test(h))).toEqual([]);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is true to the code: every type, every webhook, the CSV header", async () => {
    const { html } = await getGuide(plain.url);
    for (const type of EVENT_TYPE_NAMES) {
      const name = type[0]?.toUpperCase() + type.slice(1);
      expect(html, type).toContain(`<td><strong>${name}</strong></td>`);
    }
    for (const w of WEBHOOKS) expect(html, w.event).toContain(`<code>${w.event}</code>`);
    expect(decode(html)).toContain(CSV_HEADER.map((c) => `"${c}"`).join(","));
  });

  it("leaks no markdown", async () => {
    const { html } = await getGuide(plain.url);
    const text = decode(html.replace(/<pre>[\s\S]*?<\/pre>/g, ""));
    expect(text).not.toMatch(/^\s*#{1,6} /m);
    expect(text).not.toContain("{#");
    expect(text).not.toContain("**");
    expect(text).not.toContain("```");
    expect(text).not.toMatch(/^\s*\|.*\|\s*$/m);
    expect(text).not.toMatch(/\]\(#/);
  });

  it("without SUPPORT_URL: no support link, and advice to ask whoever runs the app", async () => {
    const { html } = await getGuide(plain.url);
    expect(html).not.toContain('id="guide-support-link"');
    expect(html).toContain("Ask the person who runs Activity Report for your site");
    const help = html.slice(html.indexOf('<h2 id="support">'));
    expect(help).not.toMatch(/<a [^>]*href="(https?|mailto):/);
  });

  it("with SUPPORT_URL: the link, escaped", async () => {
    const { html } = await getGuide(withSupport.url);
    const link = /<a\s+id="guide-support-link"\s+href="([^"]*)"[^>]*>([^<]*)<\/a>/.exec(html);
    expect(link).not.toBeNull();
    expect(decode(link?.[1] ?? "")).toBe(SUPPORT_URL);
    expect(decode(link?.[2] ?? "")).toBe(SUPPORT_URL);
    expect(html).not.toContain("<script>alert(1)");
    expect(html.indexOf('id="guide-support-link"')).toBeGreaterThan(
      html.indexOf('<h2 id="support">'),
    );
    expect(html).not.toContain("Ask the person who runs Activity Report for your site");
  });

  it("links only http(s) and mailto support addresses", () => {
    expect(supportLink(undefined)).toBeNull();
    expect(supportLink("javascript:alert(1)")).toBeNull();
    expect(supportLink("mailto:help@example.com")).toEqual({
      href: "mailto:help@example.com",
      text: "help@example.com",
    });
    expect(supportLink("https://help.example.com/")?.href).toBe("https://help.example.com/");
  });
});
