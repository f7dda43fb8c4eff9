/** The Users tab: the sortable, paged table of people, its summary, and the group filter. */
import type { Api } from "../api.js";
import type { UserRow, UsersAnswer } from "../contract.js";
import { byId, el, safeUrl, skeleton } from "../dom.js";
import { formatInstant, formatNumber, licenceNote, TYPES } from "../format.js";
import type { UserSortKey } from "../../reports/params.js";
import {
  filterChange,
  PAGE_SIZE,
  type ReportState,
  reportParams,
  sortBy,
  type Store,
  usersParams,
} from "../state.js";
import type { View } from "./view.js";

const COLUMNS: readonly (readonly [UserSortKey, string])[] = [
  ["name", "User"],
  ...TYPES,
  ["total", "All events"],
  ["lastActive", "Last active"],
  ["activeDays", "Active days"],
];

export interface UsersContext {
  api: Api;
  store: Store;
  openUser(accountId: string, displayName: string): void;
}

export interface UsersView extends View {
  /** Fills the group filter's choices (optional: without them the report still works). */
  loadGroups(state: Readonly<ReportState>): Promise<void>;
}

export function mountUsers(ctx: UsersContext): UsersView {
  const table = byId("users-table", HTMLTableElement);
  const pager = byId("pager", HTMLElement);
  const summary = byId("summary", HTMLElement);
  const exportButton = byId("export", HTMLButtonElement);
  const groupSelect = byId("group", HTMLSelectElement);
  const caption = () =>
    el("caption", { className: "visually-hidden", text: "Users and their activity" });

  function headerCell(state: Readonly<ReportState>, key: UserSortKey, label: string) {
    const active = state.sort === key;
    const arrow = state.order === "asc" ? " ▲" : " ▼";
    const th = el("th", {
      scope: "col",
      "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : null,
    });
    const button = el("button", {
      type: "button",
      className: "sort",
      "data-active": active ? "true" : "false",
      "data-sort": key,
      text: `${label}${active ? arrow : ""}`,
    });
    button.addEventListener("click", () =>
      ctx.store.update(sortBy(ctx.store.get(), key), "replace"),
    );
    th.append(button);
    return th;
  }

  /**
   * The person: avatar and name linked to their Confluence profile (a new tab, as the product
   * says), and an Activity button for the dialog of their figures.
   */
  function userCell(row: UserRow) {
    const avatarUrl = safeUrl(row.avatarUrl);
    const avatar = avatarUrl
      ? el("img", { className: "avatar", src: avatarUrl, alt: "" })
      : el("span", { className: "avatar", "aria-hidden": "true" });
    const name = el("span", { className: "user-name", text: row.displayName });
    const profile = safeUrl(row.profileUrl);
    const person = profile
      ? el(
          "a",
          {
            className: "user-profile",
            href: profile,
            target: "_blank",
            rel: "noopener noreferrer",
            title: "Profile (opens a new tab)",
          },
          avatar,
          name,
        )
      : el("span", { className: "user-profile" }, avatar, name);
    const activity = el("button", {
      type: "button",
      className: "button button-subtle user-activity",
      text: "Activity",
      "aria-label": `Activity of ${row.displayName}`,
      "data-account-id": row.accountId,
    });
    activity.addEventListener("click", () => ctx.openUser(row.accountId, row.displayName));
    return el(
      "th",
      { scope: "row", className: "sticky-col" },
      el("div", { className: "user-cell" }, person, activity),
    );
  }

  function renderTable(state: Readonly<ReportState>, body: UsersAnswer) {
    const head = el("thead", {}, el("tr", {}, ...COLUMNS.map(([k, l]) => headerCell(state, k, l))));
    const rows = body.rows.map((r) =>
      el(
        "tr",
        { "data-account-id": r.accountId },
        userCell(r),
        ...TYPES.map(([k]) => el("td", { text: formatNumber(r.counts[k]) })),
        el("td", { text: formatNumber(r.total) }),
        el("td", { text: formatInstant(r.lastActive, state.tz) }),
        el("td", { text: formatNumber(r.activeDays) }),
      ),
    );
    const tbody = el("tbody", {}, ...rows);
    if (rows.length === 0) {
      const empty =
        state.q || state.group
          ? "No users match these filters."
          : "No one has used Confluence in this range yet.";
      tbody.append(
        el("tr", {}, el("td", { colspan: COLUMNS.length, className: "empty", text: empty })),
      );
    }
    table.replaceChildren(caption(), head, tbody);
  }

  function renderPager(state: Readonly<ReportState>, total: number) {
    // Nothing to page through: no "0–0 of 0", no buttons that cannot be used.
    if (total === 0) {
      pager.replaceChildren();
      return;
    }
    const from = state.offset + 1;
    const to = Math.min(state.offset + PAGE_SIZE, total);
    const prev = el("button", {
      type: "button",
      className: "button",
      text: "Previous",
      disabled: state.offset === 0,
    });
    const next = el("button", {
      type: "button",
      className: "button",
      text: "Next",
      disabled: to >= total,
    });
    prev.addEventListener("click", () =>
      ctx.store.update({ offset: Math.max(0, ctx.store.get().offset - PAGE_SIZE) }),
    );
    next.addEventListener("click", () =>
      ctx.store.update({ offset: ctx.store.get().offset + PAGE_SIZE }),
    );
    const position = el("span", {
      text: `${formatNumber(from)}–${formatNumber(to)} of ${formatNumber(total)}`,
    });
    pager.replaceChildren(...(total > PAGE_SIZE ? [prev, position, next] : [position]));
  }

  function renderSummary(s: UsersAnswer["summary"]) {
    const note = licenceNote(s, "");
    const users = note == null ? formatNumber(s.users) : `${formatNumber(s.users)}: ${note}`;
    const pairs: [string, string][] = [
      ["Users listed", users],
      ["Views", formatNumber(s.counts.view)],
      ["New content", formatNumber(s.counts.create)],
      ["Edits", formatNumber(s.counts.edit)],
      ["Comments", formatNumber(s.counts.comment)],
    ];
    summary.replaceChildren(
      el(
        "dl",
        {},
        ...pairs.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]),
      ),
    );
  }

  return {
    async load(state, signal) {
      if (!table.tBodies.length) {
        table.replaceChildren(
          caption(),
          el(
            "tbody",
            {},
            ...Array.from({ length: 5 }, () =>
              el("tr", {}, el("td", { colspan: COLUMNS.length }, skeleton("row-skeleton"))),
            ),
          ),
        );
      }
      const body = await ctx.api.get("/api/reports/users", usersParams(state, true), signal);
      if (signal.aborted) return;
      ctx.store.update({ total: body.total }, "none");
      renderTable(state, body);
      renderPager(state, body.total);
      renderSummary(body.summary);
      exportButton.disabled = body.total === 0;
    },
    clear() {
      ctx.store.update({ total: 0 }, "none");
      table.replaceChildren(caption());
      pager.replaceChildren();
      summary.replaceChildren();
      exportButton.disabled = true;
    },
    async loadGroups(state) {
      try {
        const body = await ctx.api.get(
          "/api/groups",
          reportParams(state),
          new AbortController().signal,
        );
        for (const g of body.groups)
          groupSelect.append(el("option", { value: g.id, text: g.name }));
        // A group asked for by a link can only be shown once it is a choice; one the site
        // does not have is dropped, so the box and the figures agree.
        const asked = ctx.store.get().group;
        if (asked && !body.groups.some((g) => g.id === asked)) {
          ctx.store.update(filterChange({ group: "" }), "replace");
        }
        groupSelect.value = ctx.store.get().group;
      } catch {
        // The group filter is optional: without the list, the report still works.
      }
    },
  };
}
