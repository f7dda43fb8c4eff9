// The Activity Report page: reads the JSON API with a context token and draws the dashboard,
// the users table and the activity dialog. Text from the API is only ever set as textContent.

const page = JSON.parse(document.getElementById("page-data").textContent);
const $ = (id) => document.getElementById(id);

const TYPES = [
  ["view", "Views"],
  ["create", "New content"],
  ["edit", "Edits"],
  ["comment", "Comments"],
  ["like", "Likes"],
  ["attachment", "Attachments"],
  ["label", "Labels"],
  ["delete", "Deletes"],
  ["space", "Space changes"],
  ["other", "Other"],
];
const PAGE_SIZE = 50;
const TABS = [
  "dashboard",
  "users",
  ...(document.getElementById("tab-settings") ? ["settings"] : []),
];

const state = {
  tab: "dashboard",
  preset: "30",
  from: "",
  to: "",
  tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  space: page.spaceKey ?? "",
  q: "",
  group: "",
  inactive: false,
  sort: "view",
  order: "desc",
  offset: 0,
  total: 0,
};

// ---- Confluence bridge (all.js), with fallbacks when it cannot load ----

function ap() {
  return typeof window.AP === "object" && window.AP ? window.AP : null;
}

function withTimeout(promise, ms, fallback) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(fallback), ms))]);
}

/** Asks all.js for something (callback style), or null when it is absent or slow. */
function askConfluence(call, ms) {
  const bridge = ap();
  if (!bridge) return Promise.resolve(null);
  const ask = call(bridge);
  if (!ask) return Promise.resolve(null);
  return withTimeout(new Promise(ask), ms, null);
}

async function token() {
  const fresh = await askConfluence(
    (b) => b.context?.getToken && ((r) => b.context.getToken(r)),
    2000,
  );
  return fresh || page.token;
}

async function viewerZone() {
  const tz = await askConfluence(
    (b) => b.user?.getTimeZone && ((r) => b.user.getTimeZone(r)),
    1500,
  );
  return tz || state.tz;
}

function resize() {
  ap()?.resize?.();
}

// ---- API ----

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function query(extra = {}) {
  const params = new URLSearchParams({ from: state.from, to: state.to, tz: state.tz });
  if (state.space) params.set("space", state.space);
  for (const [k, v] of Object.entries(extra)) if (v !== "" && v != null) params.set(k, String(v));
  return params;
}

async function api(path, params) {
  const res = await fetch(`${path}?${params}`, {
    headers: { authorization: `JWT ${await token()}` },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const message =
      res.status === 401
        ? "Your session has expired. Reload the page to continue."
        : (body?.error?.message ?? "Something went wrong while loading the report. Try Refresh.");
    throw new ApiError(res.status, message);
  }
  return body;
}

// ---- Dates ----

function localToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: state.tz }).format(new Date());
}

function shiftDate(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function applyPreset() {
  if (state.preset === "custom") return;
  state.to = localToday();
  state.from = shiftDate(state.to, -(Number(state.preset) - 1));
  $("from").value = state.from;
  $("to").value = state.to;
}

const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});
const monthFormat = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
const number = new Intl.NumberFormat();
const plural = new Intl.PluralRules("en");
/** "1 day", "2 days", "0 days". */
function dayCount(n) {
  return `${number.format(n)} ${plural.select(n) === "one" ? "day" : "days"}`;
}

function formatDay(iso) {
  return dayFormat.format(new Date(`${iso}T00:00:00Z`));
}

function formatInstant(iso) {
  if (!iso) return "Never";
  return new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: state.tz,
  }).format(new Date(iso));
}

// ---- Small DOM helpers ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
  } catch {
    return null;
  }
}

function setStatus(text, kind = "info") {
  const status = $("status");
  status.textContent = text;
  status.className = kind === "error" ? "status error" : "status";
}

// ---- Calendar ----

function level(events, thresholds) {
  if (events <= 0) return 0;
  return 1 + thresholds.filter((t) => events > t).length;
}

function quartiles(values) {
  const sorted = values.filter((v) => v > 0).sort((a, b) => a - b);
  if (sorted.length === 0) return [0, 0, 0];
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return [at(0.25), at(0.5), at(0.75)];
}

/** One column per week (Monday first), a cell per day, month labels, a label per cell. */
function renderCalendar(container, days, what = "events") {
  container.replaceChildren();
  if (days.length === 0) return;
  const thresholds = quartiles(days.map((d) => d.events));
  const first = new Date(`${days[0].date}T00:00:00Z`);
  const lead = (first.getUTCDay() + 6) % 7;
  const cells = [...Array.from({ length: lead }, () => null), ...days];
  let lastMonth = "";
  for (let i = 0; i < cells.length; i += 7) {
    const week = el("div", { className: "week" });
    const firstDay = cells.slice(i, i + 7).find((c) => c);
    const month = firstDay ? firstDay.date.slice(0, 7) : "";
    week.append(
      el("div", {
        className: "month",
        text: month !== lastMonth ? monthFormat.format(new Date(`${month}-01T00:00:00Z`)) : "",
      }),
    );
    lastMonth = month;
    for (let j = i; j < i + 7; j++) {
      const d = cells[j];
      if (!d) {
        week.append(el("div", { className: "day pad", "aria-hidden": "true" }));
        continue;
      }
      const label =
        what === "events"
          ? `${formatDay(d.date)}: ${number.format(d.events)} events, ${number.format(d.users)} active users`
          : `${formatDay(d.date)}: ${number.format(d.events)} events`;
      week.append(
        el("div", {
          className: `day level-${level(d.events, thresholds)}`,
          role: "img",
          "aria-label": label,
          title: label,
          tabindex: "-1",
        }),
      );
    }
    container.append(week);
  }
}

function renderLegend() {
  const legend = $("legend");
  legend.replaceChildren(el("span", { text: "Less" }));
  for (let i = 0; i <= 4; i++) legend.append(el("span", { className: `day level-${i}` }));
  legend.append(el("span", { text: "More" }));
}

// ---- Breakdown ----

let breakdownChart = null;

function chartColors() {
  const style = getComputedStyle(document.documentElement);
  return {
    bar: style.getPropertyValue("--ds-chart-brand").trim() || "#1d7afc",
    text: style.getPropertyValue("--ds-text-subtle").trim() || "#44546f",
    grid: style.getPropertyValue("--ds-border").trim() || "#091e4224",
  };
}

/** Caption, head and body of a "type / events" table. */
function typeTableParts(counts) {
  return [
    el("caption", { className: "visually-hidden", text: "Events by type" }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", text: "Type" }),
        el("th", { scope: "col", text: "Events" }),
      ),
    ),
    el(
      "tbody",
      {},
      ...TYPES.map(([key, label]) =>
        el(
          "tr",
          {},
          el("td", { text: label }),
          el("td", { text: number.format(counts[key] ?? 0) }),
        ),
      ),
    ),
  ];
}

function renderBreakdown(counts) {
  const labels = TYPES.map(([, label]) => label);
  const values = TYPES.map(([key]) => counts[key] ?? 0);
  $("breakdown-table").replaceChildren(...typeTableParts(counts));
  if (!window.Chart) return;
  const colors = chartColors();
  const data = {
    labels,
    datasets: [{ label: "Events", data: values, backgroundColor: colors.bar, borderRadius: 3 }],
  };
  if (breakdownChart) {
    breakdownChart.data = data;
    breakdownChart.update();
    return;
  }
  breakdownChart = new window.Chart($("breakdown-chart"), {
    type: "bar",
    data,
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { ticks: { color: colors.text }, grid: { display: false } },
        y: {
          beginAtZero: true,
          ticks: { color: colors.text, precision: 0 },
          grid: { color: colors.grid },
        },
      },
    },
  });
}

// ---- Dashboard ----

function kpi(label, value, note) {
  return el(
    "div",
    { className: "kpi" },
    el("div", { className: "label", text: label }),
    el("div", { className: "value", text: value }),
    note ? el("div", { className: "note", text: note }) : null,
  );
}

/** "1 tracked day", "42 tracked days". */
function trackedDayCount(n) {
  return `${number.format(n)} tracked ${plural.select(n) === "one" ? "day" : "days"}`;
}

/**
 * How the listed people relate to the site's user accounts (the members of confluence-users),
 * or null when Confluence cannot say: "120 active of 135 licensed user accounts (members of
 * confluence-users) · 16 active accounts outside it". The first figure counts only listed
 * members of the group, so it never exceeds the second.
 */
function licenceNote(summary, qualifier) {
  if (summary.siteUsers == null || summary.outsideSiteUsers == null) return null;
  const inside = summary.users - summary.outsideSiteUsers;
  const q = qualifier ? `${qualifier} ` : "";
  const note = `${number.format(inside)} ${q}of ${number.format(summary.siteUsers)} licensed user accounts (members of confluence-users)`;
  const outside = summary.outsideSiteUsers;
  if (outside === 0) return note;
  const accounts = plural.select(outside) === "one" ? "account" : "accounts";
  return `${note} · ${number.format(outside)} ${q}${accounts} outside it`;
}

/** Averaged by the server over the days of the range the site was tracked (since install). */
function perDayKpi(calendar) {
  if (calendar.activeUsersPerDay == null) {
    return kpi("Active users per day", "None yet", "the app was not tracking this range");
  }
  const since =
    calendar.trackedFrom && calendar.trackedFrom !== calendar.range.from
      ? `, since ${formatDay(calendar.trackedFrom)}`
      : "";
  return kpi(
    "Active users per day",
    number.format(Math.round(calendar.activeUsersPerDay * 10) / 10),
    `on average over ${trackedDayCount(calendar.trackedDays)}${since}`,
  );
}

async function loadDashboard() {
  const [calendar, breakdown, users] = await Promise.all([
    api("/api/reports/calendar", query()),
    api("/api/reports/breakdown", query()),
    api("/api/reports/users", query({ limit: 1 })),
  ]);
  const events = calendar.days.reduce((sum, d) => sum + d.events, 0);
  const busiest = calendar.days.reduce(
    (best, d) => (d.events > (best?.events ?? 0) ? d : best),
    null,
  );
  $("kpis").replaceChildren(
    kpi(
      "Active users",
      number.format(users.summary.users),
      licenceNote(users.summary, "active") ?? "with at least one event in the range",
    ),
    kpi("Events", number.format(events)),
    kpi(
      "Busiest day",
      busiest ? formatDay(busiest.date) : "None yet",
      busiest ? `${number.format(busiest.events)} events` : null,
    ),
    perDayKpi(calendar),
  );
  renderCalendar($("calendar"), calendar.days);
  renderLegend();
  renderBreakdown(breakdown.counts);
  if (calendar.range.keptFrom && calendar.range.from > state.from) {
    setStatus(
      `This site keeps its history from ${formatDay(calendar.range.keptFrom)} on (its retention setting): every figure covers ${formatDay(calendar.range.from)} to ${formatDay(calendar.range.to)}.`,
    );
  } else if (events === 0) {
    setStatus(
      "No activity recorded in this range yet. The app records what people do from the moment it is installed: once people view, create, edit or comment on pages, press Refresh.",
    );
  }
}

// ---- Users ----

const COLUMNS = [
  ["name", "User"],
  ...TYPES,
  ["total", "All events"],
  ["lastActive", "Last active"],
  ["activeDays", "Active days"],
];

function headerCell(key, label) {
  const active = state.sort === key;
  const th = el("th", {
    scope: "col",
    "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : null,
  });
  const button = el("button", {
    type: "button",
    className: "sort",
    "data-active": active ? "true" : "false",
    "data-sort": key,
    text: `${label}${active ? (state.order === "asc" ? " ▲" : " ▼") : ""}`,
  });
  button.addEventListener("click", () => {
    if (state.sort === key) state.order = state.order === "asc" ? "desc" : "asc";
    else {
      state.sort = key;
      state.order = key === "name" ? "asc" : "desc";
    }
    state.offset = 0;
    loadUsers().catch(showError);
  });
  th.append(button);
  return th;
}

function userCell(row) {
  const avatarUrl = safeUrl(row.avatarUrl);
  const avatar = avatarUrl
    ? el("img", { className: "avatar", src: avatarUrl, alt: "" })
    : el("span", { className: "avatar", "aria-hidden": "true" });
  const name = el("button", {
    type: "button",
    className: "user-link",
    text: row.displayName,
    "data-account-id": row.accountId,
  });
  name.addEventListener("click", () => openUser(row.accountId, row.displayName).catch(showError));
  const profile = safeUrl(row.profileUrl);
  const link = profile
    ? el("a", {
        className: "profile-link",
        href: profile,
        target: "_blank",
        rel: "noopener noreferrer",
        text: "Profile",
        "aria-label": `Profile of ${row.displayName} (opens a new tab)`,
      })
    : null;
  return el("td", {}, el("div", { className: "user-cell" }, avatar, name, link));
}

async function loadUsers() {
  const body = await api(
    "/api/reports/users",
    query({
      q: state.q,
      group: state.group,
      include: state.inactive ? "inactive" : "",
      // Inactive people come from the chosen group (Confluence's default: confluence-users).
      inactiveGroup: state.inactive ? state.group : "",
      sort: state.sort,
      order: state.order,
      limit: PAGE_SIZE,
      offset: state.offset,
    }),
  );
  state.total = body.total;
  const table = $("users-table");
  const head = el("thead", {}, el("tr", {}, ...COLUMNS.map(([k, l]) => headerCell(k, l))));
  const rows = body.rows.map((r) =>
    el(
      "tr",
      { "data-account-id": r.accountId },
      userCell(r),
      ...TYPES.map(([k]) => el("td", { text: number.format(r.counts[k]) })),
      el("td", { text: number.format(r.total) }),
      el("td", { text: formatInstant(r.lastActive) }),
      el("td", { text: number.format(r.activeDays) }),
    ),
  );
  const bodyEl = el("tbody", {}, ...rows);
  if (rows.length === 0) {
    bodyEl.append(
      el(
        "tr",
        {},
        el("td", {
          colspan: String(COLUMNS.length),
          className: "empty",
          text:
            state.q || state.group
              ? "No users match these filters."
              : "No one has used Confluence in this range yet.",
        }),
      ),
    );
  }
  table.replaceChildren(
    el("caption", { className: "visually-hidden", text: "Users and their activity" }),
    head,
    bodyEl,
  );

  const pager = $("pager");
  const from = body.total === 0 ? 0 : state.offset + 1;
  const to = Math.min(state.offset + PAGE_SIZE, body.total);
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
    disabled: to >= body.total,
  });
  prev.addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    loadUsers().catch(showError);
  });
  next.addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    loadUsers().catch(showError);
  });
  pager.replaceChildren(
    prev,
    el("span", {
      text: `${number.format(from)}–${number.format(to)} of ${number.format(body.total)}`,
    }),
    next,
  );

  const s = body.summary;
  const note = licenceNote(s, "");
  const users = note == null ? number.format(s.users) : `${number.format(s.users)}: ${note}`;
  $("summary").replaceChildren(
    el(
      "dl",
      {},
      el("dt", { text: "Users listed" }),
      el("dd", { text: users }),
      el("dt", { text: "Views" }),
      el("dd", { text: number.format(s.counts.view) }),
      el("dt", { text: "New content" }),
      el("dd", { text: number.format(s.counts.create) }),
      el("dt", { text: "Edits" }),
      el("dd", { text: number.format(s.counts.edit) }),
      el("dt", { text: "Comments" }),
      el("dd", { text: number.format(s.counts.comment) }),
    ),
  );
  $("export").disabled = body.total === 0;
}

async function loadGroups() {
  try {
    const body = await api("/api/groups", query());
    const select = $("group");
    for (const g of body.groups) select.append(el("option", { value: g.id, text: g.name }));
  } catch {
    // The group filter is optional: without the list, the report still works.
  }
}

// ---- Activity dialog ----

async function openUser(accountId, name) {
  const dialog = $("user-dialog");
  $("dialog-title").textContent = `Activity of ${name}`;
  const bodyEl = $("dialog-body");
  bodyEl.replaceChildren(el("p", { text: "Loading…" }));
  if (!dialog.open) dialog.showModal();
  const u = await api(`/api/reports/users/${encodeURIComponent(accountId)}`, query());
  const calendar = el("div", { className: "calendar" });
  renderCalendar(calendar, u.days, "user");
  const recent = el("ul", { className: "recent" });
  for (const e of u.recent) {
    const href = safeUrl(e.url);
    const what = `${e.event.replaceAll("_", " ")}${e.title ? `: ${e.title}` : ""}${e.spaceKey ? ` (${e.spaceKey})` : ""}`;
    recent.append(
      el(
        "li",
        {},
        el("time", { datetime: e.occurredAt, text: formatInstant(e.occurredAt) }),
        href
          ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: what })
          : el("span", { text: what }),
      ),
    );
  }
  if (u.recent.length === 0) recent.append(el("li", { text: "No events in this range." }));
  bodyEl.replaceChildren(
    el(
      "div",
      { className: "kpis" },
      kpi("Active Days", number.format(u.activeDays)),
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
    recent,
  );
}

// ---- Settings (global page, Confluence admins) ----

/**
 * A picker: chips for what is chosen (name, × to remove) and a combobox that searches
 * (`search(q, signal)` answers [{id, name, detail}]). Typing searches after a pause; a newer
 * search aborts the older one, so the latest answer wins. Arrow keys move through the matches,
 * Enter adds the highlighted one, Escape closes the list, Backspace in an empty box removes the
 * last chip.
 */
function createPicker(field, noun, search) {
  const input = $(`${field}-search`);
  const listbox = $(`${field}-results`);
  const chips = $(`${field}-chips`);
  const hint = $(`${field}-hint`);
  const errors = $(`${field}-errors`);
  const defaultHint = hint.textContent;
  const picker = { chosen: new Map(), invalid: new Map() };
  let results = [];
  let active = -1;
  let controller = null;

  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    for (const [j, li] of [...listbox.children].entries())
      li.setAttribute("aria-selected", String(j === i));
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", `${field}-option-${i}`);
      listbox.children[i]?.scrollIntoView?.({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  const label = (item) => (item.detail ? `${item.name} (${item.detail})` : item.name);
  const renderResults = () => {
    const fresh = results.filter((r) => !picker.chosen.has(r.id));
    listbox.replaceChildren(
      ...fresh.map((r, i) => {
        const li = el("li", {
          id: `${field}-option-${i}`,
          role: "option",
          "aria-selected": "false",
          text: label(r),
        });
        // mousedown, not click: the box keeps its focus.
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          add(r);
        });
        return li;
      }),
    );
    results = fresh;
    listbox.hidden = fresh.length === 0;
    input.setAttribute("aria-expanded", String(fresh.length > 0));
    hint.textContent = input.value.trim()
      ? fresh.length === 0
        ? `No ${noun} found.`
        : `${fresh.length} ${fresh.length === 1 ? "match" : "matches"}: arrow keys and Enter to add.`
      : defaultHint;
    highlight(fresh.length > 0 ? 0 : -1);
  };
  const renderChips = () => {
    chips.replaceChildren(
      ...[...picker.chosen.values()].map((item) => {
        const problem = picker.invalid.get(item.id);
        const remove = el("button", {
          type: "button",
          className: "chip-remove",
          "aria-label": `Remove ${label(item)}`,
          text: "×",
        });
        remove.addEventListener("click", () => {
          picker.chosen.delete(item.id);
          picker.invalid.delete(item.id);
          renderChips();
          input.focus();
        });
        return el(
          "li",
          {
            className: problem ? "chip invalid" : "chip",
            title: item.id,
            "data-id": item.id,
          },
          el("span", { text: label(item) }),
          problem ? el("span", { className: "visually-hidden", text: `: ${problem}` }) : null,
          remove,
        );
      }),
    );
    errors.replaceChildren(
      ...[...picker.invalid].map(([id, problem]) => el("p", { text: `${id}: ${problem}` })),
    );
    resize();
  };
  const add = (item) => {
    picker.chosen.set(item.id, item);
    picker.invalid.delete(item.id);
    input.value = "";
    results = [];
    close();
    hint.textContent = `Added ${label(item)}.`;
    renderChips();
  };
  const run = debounce(async () => {
    const q = input.value.trim();
    controller?.abort();
    if (!q) {
      results = [];
      close();
      hint.textContent = defaultHint;
      return;
    }
    const mine = new AbortController();
    controller = mine;
    try {
      const found = await search(q, mine.signal);
      if (controller !== mine) return; // a newer search is under way
      results = found;
      renderResults();
    } catch (error) {
      if (mine.signal.aborted) return;
      results = [];
      close();
      hint.textContent =
        error instanceof ApiError ? error.message : `The ${noun} could not be searched.`;
    }
  }, 250);

  input.addEventListener("input", run);
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (listbox.hidden) {
        if (results.length) renderResults();
        else run();
        return;
      }
      const n = listbox.children.length;
      if (n) highlight((active + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
    } else if (e.key === "Enter") {
      // Enter adds the highlighted match; it never submits the form from here.
      e.preventDefault();
      if (!listbox.hidden && results[active]) add(results[active]);
    } else if (e.key === "Escape") {
      if (!listbox.hidden) {
        e.preventDefault();
        close();
      }
    } else if (e.key === "Backspace" && input.value === "" && picker.chosen.size > 0) {
      const last = [...picker.chosen.values()].at(-1);
      picker.chosen.delete(last.id);
      picker.invalid.delete(last.id);
      hint.textContent = `Removed ${label(last)}.`;
      renderChips();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));

  picker.set = (items) => {
    picker.chosen = new Map(items.map((i) => [i.id, i]));
    picker.invalid.clear();
    renderChips();
  };
  picker.ids = () => [...picker.chosen.keys()];
  picker.markInvalid = (problems) => {
    picker.invalid = new Map(problems);
    renderChips();
  };
  return picker;
}

/** GET a picker lookup; aborting `signal` cancels it. */
async function lookup(path, q, signal) {
  const res = await fetch(`${path}?${new URLSearchParams({ q })}`, {
    headers: { authorization: `JWT ${await token()}` },
    signal,
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body?.error?.message ?? "The search failed.");
  return body;
}

const settingsState = { pickers: null, groups: [] };

function settingsPickers() {
  if (settingsState.pickers) return settingsState.pickers;
  settingsState.pickers = {
    excludedUsers: createPicker("excluded-users", "people", async (q, signal) =>
      (await lookup("/api/lookup/people", q, signal)).people.map((p) => ({
        id: p.accountId,
        name: p.displayName,
      })),
    ),
    excludedGroups: createPicker("excluded-groups", "groups", async (q) => {
      const words = q.toLowerCase();
      return settingsState.groups
        .filter((g) => g.name.toLowerCase().includes(words))
        .slice(0, 50)
        .map((g) => ({ id: g.id, name: g.name }));
    }),
    excludedSpaces: createPicker("excluded-spaces", "spaces", async (q, signal) =>
      (await lookup("/api/lookup/spaces", q, signal)).spaces.map((s) => ({
        id: s.key,
        name: s.name,
        detail: s.key,
      })),
    ),
  };
  return settingsState.pickers;
}

/** Chips for saved ids, named as the API knows them (the id itself otherwise). */
function showSettings(settings, names) {
  const pickers = settingsPickers();
  const groupNames = new Map(settingsState.groups.map((g) => [g.id, g.name]));
  pickers.excludedUsers.set(
    settings.excludedUsers.map((id) => ({ id, name: names?.users?.[id] ?? id })),
  );
  pickers.excludedGroups.set(
    settings.excludedGroups.map((id) => ({
      id,
      name: names?.groups?.[id] ?? groupNames.get(id) ?? id,
    })),
  );
  pickers.excludedSpaces.set(
    settings.excludedSpaces.map((key) => ({
      id: key,
      name: names?.spaces?.[key] ?? key,
      detail: names?.spaces?.[key] ? key : "",
    })),
  );
  $("track-apps").checked = settings.trackAppAccounts;
  $("retention-days").value = settings.retentionDays == null ? "" : String(settings.retentionDays);
}

const AUDIT_FIELDS = {
  excludedUsers: "Excluded people",
  excludedGroups: "Excluded groups",
  excludedSpaces: "Excluded spaces",
  trackAppAccounts: "Track app accounts",
  retentionDays: "Keep raw events",
};

function auditValue(field, value) {
  if (field === "trackAppAccounts") return value ? "on" : "off";
  if (value == null) return "while installed";
  return dayCount(value);
}

function auditChange(c) {
  const title = AUDIT_FIELDS[c.field] ?? c.field;
  if ("from" in c) return `${title}: ${auditValue(c.field, c.from)} → ${auditValue(c.field, c.to)}`;
  const names = (items) => items.map((i) => i.name ?? i.id).join(", ");
  const parts = [];
  if (c.added.length) parts.push(`added ${names(c.added)}`);
  if (c.removed.length) parts.push(`removed ${names(c.removed)}`);
  return `${title}: ${parts.join("; ")}`;
}

function renderAudit(audit) {
  const list = $("settings-audit");
  list.replaceChildren(
    ...audit.map((a) => {
      const changes = a.changes ?? [];
      return el(
        "li",
        {},
        el("time", { datetime: a.changedAt, text: formatInstant(a.changedAt) }),
        el("span", {
          text: `${a.displayName ?? a.accountId} ${changes.length ? "changed:" : "saved without changes"}`,
        }),
        changes.length
          ? el(
              "ul",
              { className: "audit-changes" },
              ...changes.map((c) => el("li", { text: auditChange(c) })),
            )
          : null,
      );
    }),
  );
  if (audit.length === 0) list.append(el("li", { text: "No changes yet." }));
}

async function loadSettings() {
  const [body, groups] = await Promise.all([
    api("/api/settings", new URLSearchParams()),
    api("/api/groups", new URLSearchParams()).catch(() => ({ groups: [] })),
  ]);
  settingsState.groups = groups.groups;
  showSettings(body.settings, body.names);
  renderAudit(body.audit);
}

async function saveSettingsForm(event) {
  event.preventDefault();
  const pickers = settingsPickers();
  const body = {
    excludedUsers: pickers.excludedUsers.ids(),
    excludedGroups: pickers.excludedGroups.ids(),
    excludedSpaces: pickers.excludedSpaces.ids(),
    trackAppAccounts: $("track-apps").checked,
    retentionDays: $("retention-days").value === "" ? null : Number($("retention-days").value),
  };
  const res = await fetch("/api/settings", {
    method: "PUT",
    headers: { authorization: `JWT ${await token()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  const details = json?.error?.details ?? [];
  for (const [field, picker] of Object.entries(pickers)) {
    picker.markInvalid(details.filter((d) => d.field === field).map((d) => [d.value, d.problem]));
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      details.length
        ? `Not saved: ${details.length === 1 ? "1 entry does" : `${details.length} entries do`} not exist in Confluence (marked below). Remove ${details.length === 1 ? "it" : "them"} and save again.`
        : (json?.error?.message ?? "The settings could not be saved."),
    );
  }
  showSettings(json.settings, json.names);
  renderAudit(json.audit);
  setStatus("Settings saved.");
}

// ---- Export ----

async function openExport() {
  $("export-text").textContent =
    `Download ${number.format(state.total)} ${state.total === 1 ? "row" : "rows"} (account id, views, creates, edits, comments) for ${formatDay(state.from)} – ${formatDay(state.to)} as CSV?`;
  const params = query({
    q: state.q,
    group: state.group,
    include: state.inactive ? "inactive" : "",
    inactiveGroup: state.inactive ? state.group : "",
    sort: state.sort,
    order: state.order,
    jwt: await token(),
  });
  $("export-confirm").href = `/api/reports/users.csv?${params}`;
  $("export-dialog").showModal();
}

// ---- Wiring ----

function showError(error) {
  setStatus(
    error instanceof ApiError
      ? error.message
      : "Something went wrong while loading the report. Try Refresh.",
    "error",
  );
  resize();
}

async function load() {
  setStatus("Loading…");
  try {
    if (state.tab === "dashboard") await loadDashboard();
    else if (state.tab === "settings") await loadSettings();
    else await loadUsers();
    if ($("status").textContent === "Loading…") setStatus("");
  } catch (error) {
    showError(error);
  }
  resize();
}

function selectTab(tab) {
  state.tab = tab;
  document.querySelector(".filters").hidden = tab === "settings";
  for (const name of TABS) {
    const selected = name === tab;
    const button = $(`tab-${name}`);
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${name}`).hidden = !selected;
  }
  load();
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

async function main() {
  $("docs-link").href = page.docsUrl;
  // The Support button exists only when the app's SUPPORT_URL is set (http(s) or mailto).
  const support =
    safeUrl(page.supportUrl) ?? (/^mailto:/i.test(page.supportUrl ?? "") ? page.supportUrl : null);
  if (support) {
    $("support-link").href = support;
    $("support-link").hidden = false;
  }
  if (page.kind === "space") $("space-field").hidden = true;
  ap()?.theming?.initializeTheming?.();
  state.tz = await viewerZone();
  $("zone-label").textContent = `Days in ${state.tz}`;
  applyPreset();

  TABS.forEach((name, i) => {
    const tab = $(`tab-${name}`);
    tab.addEventListener("click", () => selectTab(name));
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const next = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
      $(`tab-${next}`).focus();
      selectTab(next);
    });
  });
  $("settings-form")?.addEventListener("submit", (e) => saveSettingsForm(e).catch(showError));
  $("refresh").addEventListener("click", () => load());
  $("preset").addEventListener("change", (e) => {
    state.preset = e.target.value;
    for (const f of document.querySelectorAll(".custom-range"))
      f.hidden = state.preset !== "custom";
    applyPreset();
    state.offset = 0;
    load();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", (e) => {
      state[id] = e.target.value;
      if (state.from && state.to && state.from <= state.to) {
        state.offset = 0;
        load();
      } else setStatus("Choose a start date on or before the end date.", "error");
    });
  }
  $("space").addEventListener(
    "input",
    debounce((e) => {
      state.space = e.target.value.trim();
      state.offset = 0;
      load();
    }, 400),
  );
  $("q").addEventListener(
    "input",
    debounce((e) => {
      state.q = e.target.value.trim();
      state.offset = 0;
      loadUsers().catch(showError);
    }, 300),
  );
  $("group").addEventListener("change", (e) => {
    state.group = e.target.value;
    state.offset = 0;
    loadUsers().catch(showError);
  });
  $("inactive")?.addEventListener("change", (e) => {
    state.inactive = e.target.checked;
    state.offset = 0;
    loadUsers().catch(showError);
  });
  $("export").addEventListener("click", () => openExport().catch(showError));
  $("export-cancel").addEventListener("click", () => $("export-dialog").close());
  $("export-confirm").addEventListener("click", () =>
    setTimeout(() => $("export-dialog").close(), 0),
  );
  $("dialog-close").addEventListener("click", () => $("user-dialog").close());

  loadGroups();
  await load();
}

main();
