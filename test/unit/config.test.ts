import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configWarnings, findRootDir, loadConfig, ROOT_DIR } from "../../src/config.js";

const PG = "postgres://app@db.internal:5432/activity";
const PUBLIC = "https://activity.example.com";

describe("production needs a real database", () => {
  it("refuses NODE_ENV=production without DATABASE_URL, naming the way out", () => {
    expect(() => loadConfig({ NODE_ENV: "production", AC_LOCAL_BASE_URL: PUBLIC })).toThrow(
      /NODE_ENV=production needs DATABASE_URL.*ALLOW_EMBEDDED_DB_IN_PRODUCTION=1/,
    );
  });

  it("starts in production with DATABASE_URL", () => {
    const config = loadConfig({ NODE_ENV: "production", DATABASE_URL: PG });
    expect(config.database).toMatchObject({ kind: "postgres", url: PG });
  });

  it.each(["1", "true"])("runs production on PGlite when opted in (=%s), with a warning", (v) => {
    const config = loadConfig({
      NODE_ENV: "production",
      AC_LOCAL_BASE_URL: PUBLIC,
      ALLOW_EMBEDDED_DB_IN_PRODUCTION: v,
    });
    expect(config.database.kind).toBe("pglite");
    expect(configWarnings(config)).toEqual([expect.stringMatching(/embedded database/)]);
  });

  it.each(["0", "false", ""])("=%s is no opt-in", (v) => {
    expect(() =>
      loadConfig({ NODE_ENV: "production", ALLOW_EMBEDDED_DB_IN_PRODUCTION: v }),
    ).toThrow(/needs DATABASE_URL/);
  });

  it("rejects a value that is not a flag", () => {
    expect(() => loadConfig({ ALLOW_EMBEDDED_DB_IN_PRODUCTION: "yes" })).toThrow(
      /ALLOW_EMBEDDED_DB_IN_PRODUCTION/,
    );
  });

  it.each(["development", "test"] as const)("%s runs on PGlite without DATABASE_URL", (env) => {
    expect(loadConfig({ NODE_ENV: env }).database.kind).toBe("pglite");
  });
});

describe("production warns about a base URL Confluence cannot reach", () => {
  const warnings = (base?: string) =>
    configWarnings(
      loadConfig({
        NODE_ENV: "production",
        DATABASE_URL: PG,
        ...(base ? { AC_LOCAL_BASE_URL: base } : {}),
      }),
    );

  it("no warning for a public HTTPS URL", () => {
    expect(warnings(PUBLIC)).toEqual([]);
    expect(warnings("https://203.0.113.7:8443/app")).toEqual([]);
  });

  it("warns when AC_LOCAL_BASE_URL is not set", () => {
    expect(warnings()).toEqual([expect.stringMatching(/AC_LOCAL_BASE_URL is not set/)]);
  });

  it.each([
    ["http://activity.example.com", /not HTTPS/],
    ["https://localhost:3000", /local or private/],
    ["https://127.0.0.1:3000", /local or private/],
    ["https://[::1]:3000", /local or private/],
    ["https://0.0.0.0", /local or private/],
    ["https://192.168.1.20", /local or private/],
    ["https://10.0.0.5", /local or private/],
    ["https://172.20.0.3", /local or private/],
    ["https://app.localhost", /local or private/],
  ])("warns for %s", (base, pattern) => {
    const found = warnings(base);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toMatch(pattern);
  });

  it("http://localhost gets both warnings", () => {
    expect(warnings("http://localhost:3000")).toHaveLength(2);
  });

  it("never repeats credentials from the URL", () => {
    expect(warnings("http://user:hunter2secret@localhost:3000").join("\n")).not.toContain(
      "hunter2secret",
    );
  });

  it("no warnings outside production", () => {
    expect(configWarnings(loadConfig({ NODE_ENV: "development" }))).toEqual([]);
    expect(configWarnings(loadConfig({ NODE_ENV: "test", AC_LOCAL_BASE_URL: "http://x" }))).toEqual(
      [],
    );
  });
});

describe("root directory", () => {
  it("is the directory holding package.json and the descriptor", () => {
    expect(existsSync(path.join(ROOT_DIR, "package.json"))).toBe(true);
    expect(existsSync(path.join(ROOT_DIR, "atlassian-connect.json"))).toBe(true);
  });

  it("is found from a compiled module two levels down (dist/src), as from src", () => {
    const root = mkdtempSync(path.join(tmpdir(), "root-dir-"));
    try {
      writeFileSync(path.join(root, "package.json"), "{}");
      mkdirSync(path.join(root, "dist/src"), { recursive: true });
      expect(findRootDir(path.join(root, "dist/src"))).toBe(root);
      expect(findRootDir(root)).toBe(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("links from the utility bar", () => {
  it("SUPPORT_URL takes http(s) and mailto only; DOCS_URL a path or an http(s) URL", () => {
    expect(loadConfig({ SUPPORT_URL: "mailto:help@example.com" }).links.support).toBe(
      "mailto:help@example.com",
    );
    expect(loadConfig({}).links.support).toBeUndefined();
    for (const bad of ["javascript:alert(1)", "data:text/html,x", "not a url"]) {
      expect(() => loadConfig({ SUPPORT_URL: bad })).toThrow(/SUPPORT_URL/);
    }
    expect(loadConfig({ DOCS_URL: "https://docs.example.com/guide" }).links.docs).toBe(
      "https://docs.example.com/guide",
    );
    for (const bad of [
      "javascript:alert(1)",
      "//evil.example.com",
      "/\\evil.example.com",
      "docs",
    ]) {
      expect(() => loadConfig({ DOCS_URL: bad })).toThrow(/DOCS_URL/);
    }
  });

  it("a variable set to the empty string counts as unset (compose passes SUPPORT_URL= through)", () => {
    const config = loadConfig({ SUPPORT_URL: "", APP_KEY: "", DATABASE_URL: "", PORT: "" });
    expect(config.links.support).toBeUndefined();
    expect(config.appKey).toBeUndefined();
    expect(config.database.kind).toBe("pglite");
    expect(config.port).toBe(3000);
  });

  it("APP_KEY is a Connect key or refused", () => {
    expect(loadConfig({ APP_KEY: "activity-report-for-confluence-staging" }).appKey).toBe(
      "activity-report-for-confluence-staging",
    );
    expect(loadConfig({}).appKey).toBeUndefined();
    expect(() => loadConfig({ APP_KEY: "bad key/with spaces" })).toThrow(/APP_KEY/);
  });
});
