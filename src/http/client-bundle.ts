import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RequestHandler } from "express";
import { ROOT_DIR } from "../config.js";

/**
 * The report page's script: `src/client/main.ts` and what it imports (chart.js included),
 * bundled by esbuild into one ES module. `npm run build` writes it to `dist/public/`, which the
 * compiled server serves (the production image has no esbuild); run from the sources
 * (`npm start`, the demo, the tests) it is bundled in memory on first use, once per process.
 */
export const CLIENT_ENTRY = path.join(ROOT_DIR, "src/client/main.ts");
export const BUILT_CLIENT_DIR = path.join(ROOT_DIR, "dist/public");
const SCRIPT = "app.js";

export interface ClientFiles {
  script: string;
  map: string;
}

/** Bundles the client with esbuild (a dev dependency, loaded only here). */
export async function bundleClient(): Promise<ClientFiles> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [CLIENT_ENTRY],
    bundle: true,
    format: "esm",
    target: ["chrome109", "firefox115", "safari16"],
    minify: true,
    sourcemap: "external",
    outfile: SCRIPT,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const file = (suffix: string) => {
    const out = result.outputFiles.find((f) => f.path.endsWith(suffix));
    if (!out) throw new Error(`esbuild wrote no ${suffix}`);
    return out.text;
  };
  return { script: file(".js"), map: file(".js.map") };
}

/** Whether this is the compiled server (dist/): only it serves the built script. */
const FROM_BUILD = fileURLToPath(import.meta.url)
  .split(path.sep)
  .includes("dist");

async function loadClient(): Promise<ClientFiles> {
  // From the sources (npm start, the demo, the tests) the script is always bundled afresh:
  // a dist/ left by an earlier build must not serve an old page.
  if (!FROM_BUILD) return bundleClient();
  try {
    const [script, map] = await Promise.all([
      readFile(path.join(BUILT_CLIENT_DIR, SCRIPT), "utf8"),
      readFile(path.join(BUILT_CLIENT_DIR, `${SCRIPT}.map`), "utf8"),
    ]);
    return { script, map };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return bundleClient();
  }
}

let client: Promise<ClientFiles> | null = null;

/** Serves `/app.js` and `/app.js.map` (built or bundled once, then from memory). */
export function clientScript(): RequestHandler {
  return (req, res, next) => {
    if (req.path !== `/${SCRIPT}` && req.path !== `/${SCRIPT}.map`) return next();
    if (!client) {
      client = loadClient();
      client.catch(() => {
        client = null;
      });
    }
    client.then((files) => {
      const map = req.path.endsWith(".map");
      res.type(map ? "application/json" : "text/javascript");
      // Short: a new release must reach open pages soon; the ETag makes a reload cheap.
      res.set("Cache-Control", "public, max-age=300");
      if (!map) res.set("SourceMap", `/${SCRIPT}.map`);
      res.send(map ? files.map : files.script);
    }, next);
  };
}
