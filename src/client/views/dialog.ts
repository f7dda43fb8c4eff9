/** The Activity dialog of one person: KPIs, calendar, breakdown and recent events. */
import { type Api, Channel, errorText, isAbort } from "../api.js";
import type { ActivityAnswer } from "../contract.js";
import { byId, el, safeUrl } from "../dom.js";
import { dayCount, formatInstant, formatNumber, recentEventText } from "../format.js";
import { reportParams, type ReportState } from "../state.js";
import { typeTableParts } from "./breakdown.js";
import { renderCalendar, scrollToLatest } from "./calendar.js";
import { kpi } from "./dashboard.js";

export interface UserDialog {
  open(accountId: string, displayName: string): Promise<void>;
}

function recentList(u: ActivityAnswer, tz: string): HTMLElement {
  const recent = el("ul", { className: "recent" });
  for (const e of u.recent) {
    const href = safeUrl(e.url);
    const what = recentEventText(e);
    recent.append(
      el(
        "li",
        {},
        el("time", { datetime: e.occurredAt, text: formatInstant(e.occurredAt, tz) }),
        href
          ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: what })
          : el("span", { text: what }),
      ),
    );
  }
  if (u.recent.length === 0) recent.append(el("li", { text: "No events in this range." }));
  return recent;
}

function activity(u: ActivityAnswer, tz: string): HTMLElement[] {
  const calendar = el("div", { className: "calendar" });
  renderCalendar(calendar, u.days, "user");
  return [
    el(
      "div",
      { className: "kpis" },
      kpi("Active Days", formatNumber(u.activeDays)),
      kpi("Longest Streak", dayCount(u.longestStreak)),
      // All three describe the range; before yesterday the streak is the one at its end.
      kpi(
        u.currentStreakIsLive ? "Current Streak" : "Streak at end of range",
        dayCount(u.currentStreak),
      ),
    ),
    el("h3", { text: "Calendar" }),
    calendar,
    el("h3", { text: "By type" }),
    el("table", { className: "data-table compact" }, ...typeTableParts(u.counts)),
    el("h3", { text: "Recent events" }),
    recentList(u, tz),
  ];
}

export function mountDialog(ctx: { api: Api; state: () => Readonly<ReportState> }): UserDialog {
  const dialog = byId("user-dialog", HTMLDialogElement);
  const title = byId("dialog-title", HTMLElement);
  const body = byId("dialog-body", HTMLElement);
  // Opening another person (or closing) drops the answer for the previous one.
  const loads = new Channel();
  byId("dialog-close", HTMLButtonElement).addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => loads.abort());

  return {
    async open(accountId, displayName) {
      const state = ctx.state();
      const signal = loads.next();
      title.textContent = `Activity of ${displayName}`;
      body.replaceChildren(el("p", { text: "Loading…" }));
      if (!dialog.open) dialog.showModal();
      try {
        const u = await ctx.api.activity(accountId, reportParams(state), signal);
        if (signal.aborted) return;
        body.replaceChildren(...activity(u, state.tz));
        for (const c of body.querySelectorAll<HTMLElement>(".calendar")) scrollToLatest(c);
      } catch (error) {
        if (isAbort(error, signal)) return;
        body.replaceChildren(el("p", { className: "status error", text: errorText(error) }));
      }
    },
  };
}
