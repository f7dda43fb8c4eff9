import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import forgeManifestLib from "@forge/manifest";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DESCRIPTOR_PATH } from "../../src/connect/addon.js";
import { APP_KEY, connectDescriptor, UNREGISTERED_APP_ID } from "../../src/connect/app-modules.js";
import {
  checkBaseUrl,
  deploymentFromManifest,
  descriptorText,
  MANIFEST_PATH,
  manifestText,
} from "../../src/dev/app-files.js";

const { validate, ManifestParserBuilder } = forgeManifestLib;

/** The manifest as `forge deploy` reads it: variables resolved from the environment given. */
function resolved(text: string, env: Record<string, string> = {}) {
  const names = ["CONNECT_KEY", "APP_BASE_URL"] as const;
  const saved = names.map((name) => process.env[name]);
  for (const name of names) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return new ManifestParserBuilder()
      .withInterpolators()
      .build()
      .parseManifest({ content: text, filePath: MANIFEST_PATH }) as unknown as ResolvedManifest;
  } finally {
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    });
  }
}

interface ResolvedManifest {
  app: { id: string; connect: { key: string; remote: string; authentication?: string } };
  remotes: { key: string; baseUrl: string }[];
  permissions: { scopes: string[] };
  connectModules: Record<string, Record<string, unknown>[]>;
}

const tmp = await mkdtemp(path.join(tmpdir(), "manifest-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function validateText(text: string) {
  const file = path.join(tmp, `manifest-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, text);
  return validate(false, file);
}

const committedManifest = await readFile(MANIFEST_PATH, "utf8");
const descriptor = connectDescriptor();

describe("atlassian-connect.json and manifest.yml come from one module list", () => {
  it("atlassian-connect.json is exactly what `npm run generate` writes", async () => {
    expect(await readFile(DESCRIPTOR_PATH, "utf8")).toBe(descriptorText());
  });

  it("manifest.yml is exactly what `npm run generate` writes (keeping the operator's app id and URL)", () => {
    expect(committedManifest).toBe(manifestText(deploymentFromManifest(committedManifest)));
  });

  it("the generator keeps a registered app id and base URL, and takes only https base URLs", () => {
    const registered = manifestText({
      appId: "ari:cloud:ecosystem::app/406d303d-0393-4ec4-ad7c-1435be94583a",
      baseUrl: "https://reports.example.org",
    });
    expect(deploymentFromManifest(registered)).toEqual({
      appId: "ari:cloud:ecosystem::app/406d303d-0393-4ec4-ad7c-1435be94583a",
      baseUrl: "https://reports.example.org",
    });
    expect(deploymentFromManifest(committedManifest).appId).toBe(UNREGISTERED_APP_ID);
    expect(checkBaseUrl("https://reports.example.org/")).toBe("https://reports.example.org");
    for (const bad of ["http://reports.example.org", "reports.example.org", "https://x.org/?a=1"]) {
      expect(() => checkBaseUrl(bad)).toThrow(/https/);
    }
  });
});

// Atlassian's validator loads a large JSON schema: seconds, more on a busy machine.
describe("manifest.yml (Connect on Forge)", { timeout: 60_000 }, () => {
  it("passes Atlassian's own validator (@forge/manifest, offline)", async () => {
    const result = await validate(false, MANIFEST_PATH);
    expect(result.errors ?? []).toEqual([]);
    expect(result.success).toBe(true);
  });

  it("the validator is really checking: an unknown module type or scope fails", async () => {
    const badModule = await validateText(
      committedManifest.replace("confluence:spaceToolsTabs", "confluence:spaceToolTabs"),
    );
    expect(badModule.success).toBe(false);
    const badScope = await validateText(
      committedManifest.replace("read:connect-confluence", "read:everything"),
    );
    expect(badScope.success).toBe(false);
  });

  it("app.connect.key is the descriptor's key; remote names this server, over https", () => {
    const manifest = resolved(committedManifest);
    expect(manifest.app.connect.key).toBe(APP_KEY);
    expect(manifest.app.connect.key).toBe(descriptor.key);
    expect(manifest.app.connect.authentication).toBe("jwt");
    const remote = manifest.remotes.find((r) => r.key === manifest.app.connect.remote);
    expect(remote?.baseUrl).toMatch(/^https:\/\/[^/?#]+$/);
  });

  it("another Forge environment gets its own key and URL from the deploy environment", () => {
    const staging = resolved(committedManifest, {
      CONNECT_KEY: `${APP_KEY}-staging`,
      APP_BASE_URL: "https://staging.reports.example.org",
    });
    expect(staging.app.connect.key).toBe(`${APP_KEY}-staging`);
    expect(staging.remotes[0]?.baseUrl).toBe("https://staging.reports.example.org");
  });

  it("asks for read:connect-confluence only (the descriptor's READ)", () => {
    expect(descriptor.scopes).toEqual(["READ"]);
    expect(resolved(committedManifest).permissions.scopes).toEqual(["read:connect-confluence"]);
  });

  it("registers the descriptor's modules 1:1, each keyed, and only installed/uninstalled", () => {
    const { connectModules } = resolved(committedManifest);
    expect(Object.keys(connectModules).sort()).toEqual([
      "confluence:generalPages",
      "confluence:lifecycle",
      "confluence:spaceToolsTabs",
      "confluence:webhooks",
    ]);
    const strip = (items: Record<string, unknown>[] = []) =>
      items.map(({ key: _key, ...rest }) => rest);
    expect(connectModules["confluence:lifecycle"]).toEqual([
      { key: "lifecycle-events", installed: "/installed", uninstalled: "/uninstalled" },
    ]);
    expect(strip(connectModules["confluence:webhooks"])).toEqual(descriptor.modules.webhooks);
    expect(connectModules["confluence:generalPages"]).toEqual(descriptor.modules.generalPages);
    expect(connectModules["confluence:spaceToolsTabs"]).toEqual(descriptor.modules.spaceToolsTabs);
    const keys = Object.values(connectModules).flatMap((items) => items.map((m) => m.key));
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key).toMatch(/^[a-z0-9-]{1,100}$/);
  });

  it("declares no enabled/disabled lifecycle calls anywhere (Forge sends none)", () => {
    expect(Object.keys(descriptor.lifecycle).sort()).toEqual(["installed", "uninstalled"]);
    expect(JSON.stringify(parse(committedManifest))).not.toMatch(/"(enabled|disabled)"/);
  });
});
