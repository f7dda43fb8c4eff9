export { seededRandom } from "../../src/dev/random.js";

/** An index in [0, n) skewed towards 0: a few users and pages get most of the activity. */
export function skewedIndex(random: () => number, n: number, skew: number): number {
  return Math.min(n - 1, Math.floor(n * random() ** skew));
}
