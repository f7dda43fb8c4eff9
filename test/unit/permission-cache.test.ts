import { describe, expect, it } from "vitest";
import type { ConfluenceClient } from "../../src/confluence/client.js";
import { Permissions } from "../../src/confluence/permissions.js";

/** A client whose answers wait for `release()`, counting the calls per path prefix. */
function gatedClient(answer: (path: string) => { status: number; body: unknown }) {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const respond = async (path: string) => {
    calls.push(path);
    await gate;
    const a = answer(path);
    return { status: a.status, headers: {}, body: a.body };
  };
  const client = {
    get: respond,
    getJson: async (path: string) => {
      const res = await respond(path);
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
      return res.body;
    },
  } as unknown as ConfluenceClient;
  return { client, calls, release };
}

describe("permission caches (lru-cache): concurrent misses share one load", () => {
  it("five concurrent admin checks of one person make one call", async () => {
    const { client, calls, release } = gatedClient(() => ({
      status: 200,
      body: { operations: [{ operation: "administer", targetType: "application" }] },
    }));
    const permissions = new Permissions();
    const checks = Array.from({ length: 5 }, () =>
      permissions.isSiteAdmin(client, "site-1", "acc-1"),
    );
    release();
    expect(await Promise.all(checks)).toEqual([true, true, true, true, true]);
    expect(calls).toHaveLength(1);
    // Within the minute: answered from the cache.
    expect(await permissions.isSiteAdmin(client, "site-1", "acc-1")).toBe(true);
    expect(calls).toHaveLength(1);
    // Another person or site is another key.
    await permissions.isSiteAdmin(client, "site-2", "acc-1");
    expect(calls).toHaveLength(2);
  });

  it("concurrent space checks share the space call and the person's groups", async () => {
    const { client, calls, release } = gatedClient((path) =>
      path.startsWith("/rest/api/space/")
        ? {
            status: 200,
            body: {
              permissions: [
                {
                  operation: { operation: "administer", targetType: "space" },
                  subjects: { group: { results: [{ name: "eng-leads", id: "g-1" }] } },
                },
              ],
            },
          }
        : { status: 200, body: { results: [{ name: "eng-leads", id: "g-1" }] } },
    );
    const permissions = new Permissions();
    const checks = Array.from({ length: 4 }, () =>
      permissions.isSpaceAdmin(client, "site-1", "acc-1", "ENG"),
    );
    release();
    expect(await Promise.all(checks)).toEqual([true, true, true, true]);
    expect(calls.filter((p) => p.startsWith("/rest/api/space/"))).toHaveLength(1);
    expect(calls.filter((p) => p.startsWith("/rest/api/user/memberof"))).toHaveLength(1);
  });

  it("a failed check is not kept: the next one asks again", async () => {
    let fail = true;
    const { client, calls, release } = gatedClient(() =>
      fail ? { status: 500, body: {} } : { status: 200, body: { operations: [] } },
    );
    release();
    const permissions = new Permissions();
    await expect(permissions.isSiteAdmin(client, "site-1", "acc-1")).rejects.toThrow();
    fail = false;
    expect(await permissions.isSiteAdmin(client, "site-1", "acc-1")).toBe(false);
    expect(calls).toHaveLength(2);
  });
});
