/** A small seeded PRNG (mulberry32), so every run sends the same workload. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An index in [0, n) skewed towards 0: a few users and pages get most of the activity. */
export function skewedIndex(random: () => number, n: number, skew: number): number {
  return Math.min(n - 1, Math.floor(n * random() ** skew));
}
