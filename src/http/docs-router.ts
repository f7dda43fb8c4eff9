import { readFile } from "node:fs/promises";
import path from "node:path";
import express from "express";
import helmet from "helmet";
import { Marked } from "marked";
import { ROOT_DIR } from "../config.js";
import { asyncHandler } from "./errors.js";

/** The user guide's source: our own markdown, rendered once and cached. */
export const GUIDE_FILE = path.join(ROOT_DIR, "docs/user-guide.md");

/** Where the "Getting help" section gets this site's support link (an HTML comment in the md). */
const SUPPORT_MARKER = "<!-- support-link -->";

export interface RenderedGuide {
  /** The markdown's `# title`, as text. */
  title: string;
  /** The `##` sections: anchor and heading (inline HTML from our own markdown). */
  toc: { id: string; html: string }[];
  /** The guide's HTML before and after the support marker. */
  before: string;
  after: string;
}

/**
 * Markdown to HTML with an id on every heading (a slug of its text, or an explicit
 * `## Title {#id}`), the `#` title taken out for the page header, tables wrapped to scroll.
 */
export function renderGuide(markdown: string): RenderedGuide {
  const used = new Set<string>();
  const toc: RenderedGuide["toc"] = [];
  let title = "User guide";
  const marked = new Marked({ gfm: true });
  marked.use({
    renderer: {
      heading({ tokens, depth }) {
        let html = this.parser.parseInline(tokens);
        const explicit = /\s*\{#([A-Za-z][\w-]*)\}\s*$/.exec(html);
        if (explicit) html = html.slice(0, explicit.index);
        if (depth === 1) {
          title = plainText(html);
          return "";
        }
        const id = unique(explicit?.[1] ?? slug(plainText(html)), used);
        if (depth === 2) toc.push({ id, html });
        return `<h${depth} id="${id}">${html}</h${depth}>\n`;
      },
    },
  });
  // Tables scroll sideways on narrow screens (code spans escape `<`: only tables make these).
  const html = marked
    .parse(markdown, { async: false })
    .replace(/<table>/g, '<div class="table-wrap"><table>')
    .replace(/<\/table>/g, "</table></div>");
  const at = html.indexOf(SUPPORT_MARKER);
  return {
    title,
    toc,
    before: at < 0 ? html : html.slice(0, at),
    after: at < 0 ? "" : html.slice(at + SUPPORT_MARKER.length),
  };
}

function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&(#39|quot|lt|gt|amp);/g, (_m, e: string) =>
      e === "#39" ? "'" : e === "quot" ? '"' : e === "lt" ? "<" : e === "gt" ? ">" : "&",
    )
    .trim();
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/['’]/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "section"
  );
}

function unique(id: string, used: Set<string>): string {
  let candidate = id;
  for (let n = 2; used.has(candidate); n++) candidate = `${id}-${n}`;
  used.add(candidate);
  return candidate;
}

/** A support address worth linking: http(s) or mailto only (config accepts any URL). */
export function supportLink(url: string | undefined): { href: string; text: string } | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === "mailto:") return { href: url, text: parsed.pathname };
  if (parsed.protocol === "https:" || parsed.protocol === "http:") return { href: url, text: url };
  return null;
}

/** Where pages may be framed: Confluence Cloud, and local hosts outside production. */
export function pageFrameAncestors(env: "development" | "production" | "test"): string[] {
  return env === "production"
    ? ["https://*.atlassian.net"]
    : ["https://*.atlassian.net", "http://127.0.0.1:*", "http://localhost:*"];
}

/**
 * `GET /docs`: the user guide the utility bar's Documentation button opens (in a new tab; it
 * may also be framed). Public: it holds nothing personal. The support link is the app's
 * SUPPORT_URL, or, when none is configured, advice to ask whoever runs the app.
 */
export function docsRouter(deps: {
  links: { docs: string; support: string | undefined };
  env: "development" | "production" | "test";
}): express.Router {
  let cached: Promise<RenderedGuide> | undefined;
  const guide = () => {
    cached ??= readFile(GUIDE_FILE, "utf8")
      .then(renderGuide)
      .catch((error: unknown) => {
        cached = undefined; // try again on the next request
        throw error;
      });
    return cached;
  };
  const support = supportLink(deps.links.support);
  const csp = helmet.contentSecurityPolicy({
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "https://connect-cdn.atl-paas.net"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      frameAncestors: pageFrameAncestors(deps.env),
    },
  });

  const router = express.Router();
  router.get(
    "/docs",
    csp,
    asyncHandler(async (_req, res, next) => {
      const g = await guide();
      const data = { ...g, stylesheet: "/guide.css", support };
      res.render("guide", data, (error: unknown, html?: string) => {
        if (error) return next(error);
        // Standards mode. The doctype cannot live in views/layouts/main.hbs: Prettier's
        // Handlebars printer deletes it (prettier/prettier#11223).
        res.set("Cache-Control", "public, max-age=300");
        res.type("html").send(`<!doctype html>\n${html ?? ""}`);
      });
    }),
  );
  return router;
}
