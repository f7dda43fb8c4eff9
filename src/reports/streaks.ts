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
 * The streak at the end of a range: the run of consecutive active days that ends on the
 * range's last day or, when that day is today and has no event yet, on the day before (a
 * streak is not broken before the day is over), counting only days inside the range; 0 when
 * neither day is active. So it never exceeds the range's longest streak.
 * Each step needs one more active day: it stops after at most `active.size` steps.
 */
export function currentStreak(
  active: Set<string>,
  range: { from: string; to: string },
  today: string,
): number {
  // A range that ends after today: its streak ends today (no day after today has activity).
  const last = range.to > today ? today : range.to;
  const end = last === today && !active.has(today) ? dayNumber(today) - 1 : dayNumber(last);
  const first = dayNumber(range.from);
  const limit = Math.min(active.size, MAX_DAY_LOOP);
  let run = 0;
  while (run < limit && end - run >= first && active.has(dateOfDay(end - run))) run++;
  return run;
}

/** The streak is "current" while the range reaches yesterday; before, it is "at end of range". */
export function streakIsCurrent(range: { to: string }, today: string): boolean {
  return dayNumber(range.to) >= dayNumber(today) - 1;
}
