import { addDays } from "./range.js";

/** Longest run of consecutive dates in a sorted list of distinct YYYY-MM-DD dates. */
export function longestStreak(dates: string[]): number {
  let best = 0;
  let run = 0;
  let previous: string | null = null;
  for (const d of dates) {
    run = previous !== null && addDays(previous, 1) === d ? run + 1 : 1;
    best = Math.max(best, run);
    previous = d;
  }
  return best;
}

/**
 * The run of consecutive active days ending today; if today has no event yet, the run ending
 * yesterday (a streak is not broken before the day is over); 0 when neither is active.
 */
export function currentStreak(active: Set<string>, today: string): number {
  let day = active.has(today) ? today : addDays(today, -1);
  let run = 0;
  while (active.has(day)) {
    run++;
    day = addDays(day, -1);
  }
  return run;
}
