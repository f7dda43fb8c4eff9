import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/knex.js";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import { type ChildApp, startChildApp, childAppEnv } from "../support/child-app.js";
import { BACKEND, freshDatabase } from "../support/harness.js";

describe(`durability (${BACKEND}): what was acknowledged survives a SIGKILL`, () => {
  let fake: FakeConfluence;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let app: ChildApp | undefined;

  beforeAll(async () => {
    fake = await new FakeConfluence().start();
    database = await freshDatabase();
    env = {
      ...childAppEnv(fake, database.database),
    };
  });
  afterAll(async () => {
    await app?.kill();
    await fake?.stop();
    await database?.drop();
  });

  it("when the app is killed mid-stream and restarted, then every acknowledged event is stored", async () => {
    app = await startChildApp(env);
    expect((await fake.install(app.url)).status).toBe(204);

    const acknowledged = new Set<string>();
    const TOTAL = 3000;
    const CONCURRENCY = 32;
    let next = 0;
    let killed = false;
    const target = app;
    const worker = async () => {
      while (next < TOTAL) {
        const id = String(1_000_000 + next++);
        try {
          const res = await fake.sendWebhook(
            target.url,
            "page_viewed",
            payloadFor("page_viewed", { accountId: `u-${Number(id) % 50}`, contentId: id }),
          );
          if (res.status === 204) acknowledged.add(id);
        } catch {
          // connection reset by the kill: not acknowledged, may or may not be stored
        }
        if (!killed && acknowledged.size >= 600) {
          killed = true;
          void target.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await target.kill();
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(600);
    expect(acknowledged.size).toBeLessThan(TOTAL);

    // Restart on the same data: it must come up and keep ingesting.
    app = await startChildApp(env);
    const after = await fake.sendWebhook(
      app.url,
      "page_viewed",
      payloadFor("page_viewed", { accountId: "u-after", contentId: "42" }),
    );
    expect(after.status).toBe(204);
    await app.kill(); // PGlite allows one opener: read the data once the app is gone

    const db = await createDb(database.database);
    try {
      const rows = await db("event as e")
        .join("content as c", function () {
          this.on("c.tenant_id", "e.tenant_id").andOn("c.id", "e.content_id");
        })
        .select<{ content_key: string }[]>("c.content_key");
      const stored = new Set(rows.map((r) => r.content_key));
      const lost = [...acknowledged].filter((id) => !stored.has(id));
      const storedOfSent = [...acknowledged].filter((id) => stored.has(id)).length;
      console.log(
        `SIGKILL durability (${BACKEND}): acknowledged ${acknowledged.size}, of them stored ${storedOfSent}, lost ${lost.length}; ${stored.size - 1} events stored in all (unacknowledged ones may be)`,
      );
      expect(lost).toEqual([]);
      expect(stored.has("42")).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});
