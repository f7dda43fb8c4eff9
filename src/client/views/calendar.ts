/** The activity calendar: a column per week (Monday first), a cell per day, shaded by events. */
import type { CalendarDay } from "../contract.js";
import { el } from "../dom.js";
import { formatDay, formatMonth, formatNumber } from "../format.js";

/** The shade of a day: 0 without events, else 1 to 4 by the quartile it falls in. */
export function level(events: number, thresholds: readonly number[]): number {
  if (events <= 0) return 0;
  return 1 + thresholds.filter((t) => events > t).length;
}

/** The quartiles of the days with events (zeros left out, so a quiet range still shades). */
export function quartiles(values: readonly number[]): [number, number, number] {
  const sorted = values.filter((v) => v > 0).sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return [at(0.25), at(0.5), at(0.75)];
}

/**
 * Draws `days` into `container`, scrolled to the latest week: month labels over the weeks, and a label per cell (with the
 * active users for the site's calendar, events only for one person's).
 */
export function renderCalendar(
  container: HTMLElement,
  days: readonly CalendarDay[],
  what: "events" | "user" = "events",
): void {
  container.replaceChildren();
  const first = days[0];
  if (!first) return;
  const thresholds = quartiles(days.map((d) => d.events));
  const lead = (new Date(`${first.date}T00:00:00Z`).getUTCDay() + 6) % 7;
  const cells: (CalendarDay | null)[] = [...Array.from({ length: lead }, () => null), ...days];
  let lastMonth = "";
  for (let i = 0; i < cells.length; i += 7) {
    const week = el("div", { className: "week" });
    const firstDay = cells.slice(i, i + 7).find((c) => c !== null);
    const month = firstDay ? firstDay.date.slice(0, 7) : "";
    // The first month and every January carry their year: long ranges read unambiguously.
    const label =
      month !== lastMonth ? formatMonth(month, lastMonth === "" || month.endsWith("-01")) : "";
    week.append(el("div", { className: "month", text: label }));
    lastMonth = month;
    for (let j = i; j < i + 7; j++) week.append(dayCell(cells[j] ?? null, thresholds, what));
    container.append(week);
  }
  scrollToLatest(container);
}

/**
 * A long range opens at its recent end (the oldest weeks a scroll away). Needs the calendar
 * in the document: call it again once a calendar built aside is placed.
 */
export function scrollToLatest(container: HTMLElement): void {
  container.scrollLeft = container.scrollWidth;
}

function dayCell(
  d: CalendarDay | null,
  thresholds: readonly number[],
  what: "events" | "user",
): HTMLElement {
  if (!d) return el("div", { className: "day pad", "aria-hidden": "true" });
  const events = `${formatDay(d.date)}: ${formatNumber(d.events)} events`;
  const label = what === "events" ? `${events}, ${formatNumber(d.users)} active users` : events;
  return el("div", {
    className: `day level-${level(d.events, thresholds)}`,
    role: "img",
    "aria-label": label,
    title: label,
    tabindex: "-1",
  });
}

/** "Less", the five shades, "More". */
export function renderLegend(legend: HTMLElement): void {
  legend.replaceChildren(el("span", { text: "Less" }));
  for (let i = 0; i <= 4; i++) legend.append(el("span", { className: `day level-${i}` }));
  legend.append(el("span", { text: "More" }));
}
