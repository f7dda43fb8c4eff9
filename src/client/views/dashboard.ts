/** The Activity Dashboard tab: KPIs, the calendar and the breakdown. */
import type { Api } from "../api.js";
import type { CalendarAnswer } from "../contract.js";
import { byId, el, skeleton, type Status } from "../dom.js";
import { formatDay, formatNumber, licenceNote, trackedDayCount } from "../format.js";
import { reportParams } from "../state.js";
import { mountBreakdown } from "./breakdown.js";
import { renderCalendar, renderLegend } from "./calendar.js";
import type { View } from "./view.js";

/** A KPI tile: label, value, and an optional note under it. */
export function kpi(label: string, value: string, note?: string | null): HTMLElement {
  return el(
    "div",
    { className: "kpi" },
    el("div", { className: "label", text: label }),
    el("div", { className: "value", text: value }),
    note ? el("div", { className: "note", text: note }) : null,
  );
}

/** Averaged by the server over the days of the range the site was tracked (since install). */
function perDayKpi(calendar: CalendarAnswer): HTMLElement {
  if (calendar.activeUsersPerDay == null) {
    return kpi("Active users per day", "None yet", "the app was not tracking this range");
  }
  const since =
    calendar.trackedFrom && calendar.trackedFrom !== calendar.range.from
      ? `, since ${formatDay(calendar.trackedFrom)}`
      : "";
  return kpi(
    "Active users per day",
    formatNumber(Math.round(calendar.activeUsersPerDay * 10) / 10),
    `on average over ${trackedDayCount(calendar.trackedDays)}${since}`,
  );
}

function busiestDay(days: CalendarAnswer["days"]) {
  return days.reduce<(typeof days)[number] | null>(
    (best, d) => (d.events > (best?.events ?? 0) ? d : best),
    null,
  );
}

export function mountDashboard(ctx: { api: Api; status: Status }): View {
  const kpis = byId("kpis", HTMLElement);
  const calendarBox = byId("calendar", HTMLElement);
  const legend = byId("legend", HTMLElement);
  const breakdown = mountBreakdown(
    byId("breakdown-table", HTMLTableElement),
    byId("breakdown-chart", HTMLCanvasElement),
  );

  return {
    async load(state, signal) {
      // The first load: placeholders where the figures will be, so nothing jumps.
      if (!kpis.hasChildNodes()) {
        kpis.replaceChildren(...Array.from({ length: 4 }, () => skeleton("kpi")));
        calendarBox.replaceChildren(skeleton("calendar-skeleton"));
      }
      const [calendar, counts, users] = await Promise.all([
        ctx.api.get("/api/reports/calendar", reportParams(state), signal),
        ctx.api.get("/api/reports/breakdown", reportParams(state), signal),
        ctx.api.get("/api/reports/users", reportParams(state, { limit: 1 }), signal),
      ]);
      if (signal.aborted) return;
      const events = calendar.days.reduce((sum, d) => sum + d.events, 0);
      const busiest = busiestDay(calendar.days);
      kpis.replaceChildren(
        kpi(
          "Active users",
          formatNumber(users.summary.users),
          licenceNote(users.summary, "active") ?? "with at least one event in the range",
        ),
        kpi("Events", formatNumber(events)),
        kpi(
          "Busiest day",
          busiest ? formatDay(busiest.date) : "None yet",
          busiest ? `${formatNumber(busiest.events)} events` : null,
        ),
        perDayKpi(calendar),
      );
      renderCalendar(calendarBox, calendar.days);
      renderLegend(legend);
      breakdown.render(counts.counts);
      // For the page's budget test: when the figures are on screen.
      performance.mark("figures-drawn");
      const { range } = calendar;
      if (range.keptFrom && range.from > state.from) {
        ctx.status.set(
          `This site keeps its history from ${formatDay(range.keptFrom)} on (its retention setting): every figure covers ${formatDay(range.from)} to ${formatDay(range.to)}.`,
        );
      } else if (events === 0 && state.space) {
        ctx.status.set("No activity recorded in this space in this range.");
      } else if (events === 0) {
        ctx.status.set(
          "No activity recorded in this range yet. The app records what people do from the moment it is installed: once people view, create, edit or comment on pages, press Refresh.",
        );
      }
    },
    clear() {
      kpis.replaceChildren();
      calendarBox.replaceChildren();
      legend.replaceChildren();
      breakdown.clear();
    },
  };
}
