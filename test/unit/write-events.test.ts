import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db, migrateLatest } from "../../src/db/knex.js";
import { EVENT_TYPES } from "../../src/events/types.js";
import { GroupCommitter } from "../../src/ingest/group-commit.js";
import { type NewEvent, UnstorableEventError, writeEvents } from "../../src/ingest/write-events.js";
import { freshDatabase } from "../support/harness.js";

/**
 * The storage path's answer for each row (issue 8): a row that cannot be stored fails alone,
 * with its own error; the rows around it, of any tenant, are committed once and reported so.
 * Bad rows are built here directly, past the webhook door's sanitising.
 */

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  const fresh = await freshDatabase();
  drop = fresh.drop;
  db = await createDb(fresh.database);
  await migrateLatest(db);
}, 120_000);
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

let seq = 0;
function event(tenantId: number, accountId: string, over: Partial<NewEvent> = {}): NewEvent {
  const now = new Date(Date.now() - 60_000);
  seq++;
  return {
    tenantId,
    accountId,
    accountType: "customer",
    type: EVENT_TYPES.view,
    webhook: 1,
    spaceKey: `S${seq % 3}`,
    contentKey: String(10_000 + (seq % 5)),
    contentType: "page",
    title: `Title ${seq}`,
    occurredAt: now,
    receivedAt: now,
    ...over,
  };
}

async function storedFor(accountId: string): Promise<number> {
  const r = await db.raw(
    `SELECT count(*)::int AS n FROM event e
     JOIN actor a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id WHERE a.account_id = ?`,
    [accountId],
  );
  return Number(r.rows[0].n);
}

async function actorsLike(prefix: string): Promise<number> {
  const r = await db.raw("SELECT count(*)::int AS n FROM actor WHERE account_id LIKE ?", [
    `${prefix}%`,
  ]);
  return Number(r.rows[0].n);
}

/** Rows PostgreSQL refuses although they got past the webhook door (which repairs most). */
const UNSTORABLE: [string, (id: string) => NewEvent][] = [
  ["a smallint out of range", (id) => event(1, id, { type: 40_000 as never })],
  ["a lone surrogate in a title", (id) => event(2, id, { title: "bad \ud800" })],
  ["a lone surrogate in a space key", (id) => event(1, id, { spaceKey: "\udfffK" })],
  ["a lone surrogate in a content key", (id) => event(2, id, { contentKey: "9\ud800" })],
  ["NUL in an account id", (id) => event(1, `${id}\u0000x`)],
  ["an invalid date", (id) => event(2, id, { occurredAt: new Date(Number.NaN) })],
];

describe("writeEvents: one outcome per row", () => {
  it("one bad row among 64 costs a logarithmic number of writes, not one per row", async () => {
    const tag = `log${seq}`;
    const batch = Array.from({ length: 64 }, (_, i) =>
      i === 37 ? event(1, `${tag}-bad`, { type: 40_000 as never }) : event(1, `${tag}-${i}`),
    );
    let writes = 0;
    const count = (q: { sql?: string }) => {
      if (q.sql?.includes("json_to_recordset")) writes++;
    };
    db.on("query", count);
    try {
      const outcomes = await writeEvents(db, batch);
      expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
      expect(outcomes[37]).toBeInstanceOf(UnstorableEventError);
    } finally {
      db.removeListener("query", count);
    }
    // The whole batch, then two halves per level down to the row: 1 + 2 * log2(64) = 13.
    expect(writes).toBeLessThanOrEqual(13);
    expect(await actorsLike(`${tag}-`)).toBe(63);
  });

  it.each(UNSTORABLE)("%s fails its own row only, in a batch of two tenants", async (_n, bad) => {
    const tag = `w${seq}`;
    const good = Array.from({ length: 10 }, (_, i) => event(1 + (i % 2), `${tag}-good-${i}`));
    const batch = [...good.slice(0, 5), bad(`${tag}-bad`), ...good.slice(5)];
    const outcomes = await writeEvents(db, batch);
    expect(outcomes).toHaveLength(batch.length);
    expect(outcomes[5]).toBeInstanceOf(UnstorableEventError);
    expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
    for (const e of good) expect(await storedFor(e.accountId)).toBe(1);
    expect(await actorsLike(`${tag}-bad`)).toBe(0);
  });

  it("a lone unstorable row returns its error instead of throwing", async () => {
    const outcomes = await writeEvents(db, [event(1, "lone-bad", { type: 40_000 as never })]);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toBeInstanceOf(UnstorableEventError);
    expect(await actorsLike("lone-bad")).toBe(0);
  });

  it("several unstorable rows in one batch each get their own error", async () => {
    const batch = [
      event(1, "multi-good-1"),
      event(1, "multi-bad-1", { type: 40_000 as never }),
      event(2, "multi-good-2"),
      event(2, "multi-bad-2", { title: "\ud800" }),
      event(1, "multi-good-3"),
    ];
    const outcomes = await writeEvents(db, batch);
    expect(outcomes.map((o) => o === null)).toEqual([true, false, true, false, true]);
    for (const id of ["multi-good-1", "multi-good-2", "multi-good-3"]) {
      expect(await storedFor(id)).toBe(1);
    }
  });

  it("storage down fails the whole batch (thrown, as before)", async () => {
    const down = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
      code: "ECONNREFUSED",
    });
    const dead = {
      transaction: async () => {
        throw down;
      },
    } as unknown as Db;
    await expect(writeEvents(dead, [event(1, "down-1"), event(2, "down-2")])).rejects.toBe(down);
  });

  it("storage down with a row refused up front: that row keeps its own error", async () => {
    const down = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const dead = {
      transaction: async () => {
        throw down;
      },
    } as unknown as Db;
    const outcomes = await writeEvents(dead, [
      event(1, "down-3"),
      event(2, "down-bad", { title: "\ud800" }),
    ]);
    expect(outcomes[0]).toBe(down);
    expect(outcomes[1]).toBeInstanceOf(UnstorableEventError);
  });

  it("storage lost while halves are written: written rows null, the rest its error", async () => {
    // The batch fails on its bad row; the database goes away once the bad row is isolated.
    let calls = 0;
    const down = Object.assign(new Error("Connection terminated unexpectedly"), {
      code: "ECONNRESET",
    });
    const flaky = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === "transaction") {
          return (fn: never) => {
            calls++;
            if (calls > 4) return Promise.reject(down);
            return target.transaction(fn);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const batch = [
      event(1, "flaky-1"),
      event(2, "flaky-bad", { type: 40_000 as never }),
      event(1, "flaky-2"),
      event(2, "flaky-3"),
    ];
    const outcomes = await writeEvents(flaky, batch);
    // 1: the batch; 2: [flaky-1, flaky-bad] fails; 3: flaky-1 stored; 4: flaky-bad its own
    // error; 5: [flaky-2, flaky-3]: storage is down.
    expect(outcomes[0]).toBeNull();
    expect(outcomes[1]).toBeInstanceOf(UnstorableEventError);
    expect(outcomes[2]).toBe(down);
    expect(outcomes[3]).toBe(down);
    expect(await storedFor("flaky-1")).toBe(1);
    expect(await storedFor("flaky-2")).toBe(0);
    expect(await storedFor("flaky-3")).toBe(0);
  });
});

describe("group commit over writeEvents, two tenants, concurrent", () => {
  it("every valid event resolves and is stored once; each bad one rejects alone", async () => {
    const committer = new GroupCommitter<NewEvent>((batch) => writeEvents(db, batch), {
      maxBatch: 50,
      maxInFlight: 1,
      maxQueued: 10_000,
    });
    const items: { e: NewEvent; bad: boolean }[] = [];
    for (let i = 0; i < 200; i++) {
      const tenant = 1 + (i % 2);
      if (i % 37 === 5) {
        const [, make] = UNSTORABLE[((i / 37) % UNSTORABLE.length) | 0] as (typeof UNSTORABLE)[0];
        items.push({ e: { ...make(`gc-bad-${i}`), tenantId: tenant }, bad: true });
      } else {
        items.push({ e: event(tenant, `gc-good-${i}`), bad: false });
      }
    }
    const results = await Promise.allSettled(items.map((x) => committer.submit(x.e)));
    results.forEach((r, i) => {
      const item = items[i] as (typeof items)[0];
      if (item.bad) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UnstorableEventError);
      } else {
        expect(r.status).toBe("fulfilled");
      }
    });
    for (const x of items.filter((y) => !y.bad)) expect(await storedFor(x.e.accountId)).toBe(1);
    expect(await actorsLike("gc-bad-")).toBe(0);
  });
});
