import { describe, expect, it } from "vitest";
import { GroupCommitter, QueueFullError } from "../../src/ingest/group-commit.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("GroupCommitter", () => {
  it("flushes a lone item at once, and batches what arrives while a flush runs", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const committer = new GroupCommitter<number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map(() => null);
      },
      { maxBatch: 100, maxInFlight: 1, maxQueued: 1000 },
    );
    const first = committer.submit(0);
    const rest = [1, 2, 3, 4].map((i) => committer.submit(i));
    await tick();
    expect(batches).toEqual([[0]]);
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[0], [1, 2, 3, 4]]);
  });

  it("settles each item only after its flush, with that item's own outcome", async () => {
    const committer = new GroupCommitter<number>(
      async (items) => items.map((i) => (i === 2 ? new Error("bad row") : null)),
      { maxBatch: 10, maxInFlight: 1, maxQueued: 100 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => committer.submit(i)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });

  it("rejects every item of a batch whose transaction failed", async () => {
    const committer = new GroupCommitter<number>(
      async () => {
        throw new Error("connection refused");
      },
      { maxBatch: 10, maxInFlight: 1, maxQueued: 100 },
    );
    const results = await Promise.allSettled([1, 2].map((i) => committer.submit(i)));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
  });

  it("rejects every item when the flush answers with the wrong number of outcomes", async () => {
    const answers = [
      () => [],
      (items: number[]) => items.slice(1).map(() => null),
      (items: number[]) => [...items.map(() => null), null],
    ];
    for (const answer of answers) {
      const committer = new GroupCommitter<number>(async (items) => answer(items), {
        maxBatch: 10,
        maxInFlight: 1,
        maxQueued: 100,
      });
      const results = await Promise.allSettled([1, 2, 3].map((i) => committer.submit(i)));
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    }
  });

  it("refuses new items when the queue is full", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const committer = new GroupCommitter<number>(
      async (items) => {
        await gate;
        return items.map(() => null);
      },
      { maxBatch: 1, maxInFlight: 1, maxQueued: 2 },
    );
    const accepted = [committer.submit(1), committer.submit(2), committer.submit(3)];
    await expect(committer.submit(4)).rejects.toBeInstanceOf(QueueFullError);
    release();
    await Promise.all(accepted);
    await committer.drain();
  });

  it("never exceeds maxBatch or maxInFlight", async () => {
    let inFlight = 0;
    let peak = 0;
    const sizes: number[] = [];
    const committer = new GroupCommitter<number>(
      async (items) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        sizes.push(items.length);
        await tick();
        inFlight--;
        return items.map(() => null);
      },
      { maxBatch: 7, maxInFlight: 2, maxQueued: 1000 },
    );
    await Promise.all(Array.from({ length: 100 }, (_, i) => committer.submit(i)));
    expect(peak).toBeLessThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
  });
});
