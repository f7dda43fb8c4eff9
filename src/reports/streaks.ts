import { dateOfDay, dayNumber, MAX_DAY_LOOP } from "./range.js";

/**
 * Longest run of consecutive dates in a sorted list of distinct YYYY-MM-DD dates (a range's
 * active days: at most MAX_DAY_LOOP of them; a longer list is a caller's bug and throws).
 */
export function longestStreak(dates: string[]): number {
  if (dates.length > MAX_DAY_LOOP) {
    throw new RangeError(`${dates.length} dates: more than a range holds (${MAX_DAY_LOOP})`);
  }
  let best = 0;
  let run = 0;
  let previous: number | null = null;
  for (const d of dates) {
    const n = dayNumber(d);
    run = previous !== null && n === previous + 1 ? run + 1 : 1;
    best = Math.max(best, run);
    previous = n;
  }
  return best;
}

/**
 * The run of consecutive active days ending today; if today has no event yet, the run ending
 * yesterday (a streak is not broken before the day is over); 0 when neither is active.
 * Each step needs one more active day, so it stops after at most `active.size` steps (and
 * never more than MAX_DAY_LOOP).
 */
export function currentStreak(active: Set<string>, today: string): number {
  const last = active.has(today) ? dayNumber(today) : dayNumber(today) - 1;
  const limit = Math.min(active.size, MAX_DAY_LOOP);
  let run = 0;
  while (run < limit && active.has(dateOfDay(last - run))) run++;
  return run;
}
