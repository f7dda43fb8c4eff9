/**
 * The Activity Report page: wiring only. Reads the page data, restores the state from the
 * history (deep links), mounts the views, and turns the controls into state changes; a
 * change that asks the API something new loads the open tab again, and goes into the history.
 */
import { Channel, createApi, errorText, isAbort } from "./api.js";
import * as confluence from "./confluence.js";
import type { PageData } from "./contract.js";
import { byId, debounce, optionalById, safeUrl, statusLine } from "./dom.js";
import { dateBounds, localToday, MAX_RANGE_DAYS, rangeProblem, shiftDate } from "./format.js";
import {
  createStore,
  filterChange,
  fromQuery,
  type Preset,
  PRESETS,
  presetRange,
  type QueryState,
  type ReportState,
  requestKey,
  type HistoryMode,
  type Tab,
  toQuery,
  withRange,
} from "./state.js";
import { mountDashboard } from "./views/dashboard.js";
import { mountDialog } from "./views/dialog.js";
import { mountExport } from "./views/export.js";
import { mountSpaceFilter } from "./views/space-filter.js";
import { mountSettings } from "./views/settings.js";
import { mountUsers } from "./views/users.js";
import type { View } from "./views/view.js";

function isPageData(data: unknown): data is PageData {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    (d.kind === "global" || d.kind === "space") &&
    (typeof d.spaceKey === "string" || d.spaceKey === null) &&
    typeof d.token === "string" &&
    typeof d.docsUrl === "string" &&
    (typeof d.supportUrl === "string" || d.supportUrl === undefined)
  );
}

function readPageData(): PageData {
  const data: unknown = JSON.parse(byId("page-data", HTMLScriptElement).textContent ?? "");
  if (!isPageData(data)) throw new Error("The page data is missing or malformed.");
  return data;
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

async function main() {
  const page = readPageData();
  const status = statusLine(byId("status", HTMLElement));
  const api = createApi(() => confluence.token(page.token));

  // The user guide: a path on this app or an http(s) URL (DOCS_URL), never another scheme.
  byId("docs-link", HTMLAnchorElement).href = safeUrl(page.docsUrl, location.href) ?? "/docs";
  // The Support button exists only when the app's SUPPORT_URL is set (http(s) or mailto).
  const support =
    safeUrl(page.supportUrl) ?? (/^mailto:/i.test(page.supportUrl ?? "") ? page.supportUrl : null);
  if (support) {
    const link = byId("support-link", HTMLAnchorElement);
    link.href = support;
    link.hidden = false;
  }
  if (page.kind === "space") byId("space-field", HTMLElement).hidden = true;
  confluence.initializeTheming();

  const controls = {
    filters: byId("app", HTMLElement).querySelector<HTMLElement>(".filters"),
    preset: byId("preset", HTMLSelectElement),
    from: byId("from", HTMLInputElement),
    to: byId("to", HTMLInputElement),
    q: byId("q", HTMLInputElement),
    group: byId("group", HTMLSelectElement),
    inactive: optionalById("inactive", HTMLInputElement),
  };
  const settingsTab = optionalById("tab-settings", HTMLButtonElement);
  const tabs: Tab[] = ["dashboard", "users", ...(settingsTab ? (["settings"] as const) : [])];

  /** What this page allows of a restored state: its own space, its tabs, its filters. */
  const forPage = (s: QueryState): QueryState => ({
    ...s,
    tab: tabs.includes(s.tab) ? s.tab : "dashboard",
    space: page.kind === "space" ? (page.spaceKey ?? "") : s.space,
    inactive: controls.inactive ? s.inactive : false,
  });

  const tz = await confluence.viewerZone(browserZone());
  byId("zone-label", HTMLElement).textContent = `Days in ${tz}`;
  const restored = forPage(fromQuery(confluence.readHistory()));
  const store = createStore(withRange({ ...restored, tz, total: 0 }, localToday(tz)));

  const showError = (error: unknown) => {
    status.set(errorText(error), "error");
    confluence.resize();
  };

  const dialog = mountDialog({ api, state: store.get });
  const usersView = mountUsers({
    api,
    store,
    openUser: (accountId, name) => void dialog.open(accountId, name),
  });
  const views: Partial<Record<Tab, View>> = {
    dashboard: mountDashboard({ api, status }),
    users: usersView,
    settings: settingsTab
      ? mountSettings({ api, status, resize: confluence.resize, showError, state: store.get })
      : undefined,
  };
  // The space page is its space's report: no filter there.
  const spaceFilter =
    page.kind === "global"
      ? mountSpaceFilter({ api, choose: (space, mode) => change({ space }, mode) })
      : null;
  mountExport({ store, token: () => confluence.token(page.token), showError });

  // ---- Loading: one at a time, the latest state wins ----

  const loads = new Channel();
  /** The panel whose figures are being replaced (one at a time, as loads are). */
  let busy: HTMLElement | null = null;
  const setBusy = (panel: HTMLElement | null) => {
    busy?.removeAttribute("data-loading");
    busy = panel;
    panel?.setAttribute("data-loading", "true");
  };
  async function load(): Promise<void> {
    const state = store.get();
    const view = views[state.tab];
    const signal = loads.next();
    if (!view) return;
    const problem = state.tab === "settings" ? null : rangeProblem(state.from, state.to);
    if (problem) {
      setBusy(null);
      view.clear();
      status.set(problem, "error");
      confluence.resize();
      return;
    }
    status.set("Loading…");
    // The figures on screen are for the previous filters until the new ones arrive: dimmed.
    setBusy(byId(`panel-${state.tab}`, HTMLElement));
    const done = () => {
      if (!signal.aborted) setBusy(null);
    };
    try {
      await view.load(state, signal);
      done();
      if (signal.aborted) return;
      if (status.text === "Loading…") status.set("");
    } catch (error) {
      done();
      if (isAbort(error, signal)) return;
      // Never the previous range's figures under the error.
      view.clear();
      showError(error);
      return;
    }
    confluence.resize();
  }

  // ---- State -> controls ----

  /**
   * Shows `s` in the controls. Only what changed since `previous` is written: a box being
   * typed in (its value not yet in the state) is left alone.
   */
  function showState(s: Readonly<ReportState>, previous?: Readonly<ReportState>) {
    const changed = (key: keyof ReportState) => !previous || previous[key] !== s[key];
    const show = (key: "from" | "to" | "q" | "group", input: { value: string }) => {
      if (changed(key) && input.value.trim() !== s[key]) input.value = s[key];
    };
    // Settings has no filters: they keep their place (the tabs do not jump), out of reach.
    if (controls.filters) {
      controls.filters.classList.toggle("idle", s.tab === "settings");
      controls.filters.inert = s.tab === "settings";
    }
    controls.preset.value = s.preset;
    for (const f of document.querySelectorAll<HTMLElement>(".custom-range")) {
      f.hidden = s.preset !== "custom";
    }
    // Inside the API's window, and at most three years from the other end.
    const bounds = dateBounds();
    const span = MAX_RANGE_DAYS - 1;
    const later = (a: string, b: string) => (a > b ? a : b);
    const earlier = (a: string, b: string) => (a < b ? a : b);
    controls.from.min = later(bounds.min, shiftDate(s.to, -span));
    controls.from.max = earlier(bounds.max, s.to);
    controls.to.min = later(bounds.min, s.from);
    controls.to.max = earlier(bounds.max, shiftDate(s.from, span));
    show("from", controls.from);
    show("to", controls.to);
    spaceFilter?.show(s.space);
    show("q", controls.q);
    show("group", controls.group);
    if (controls.inactive) controls.inactive.checked = s.inactive;
    for (const name of tabs) {
      const selected = name === s.tab;
      const button = byId(`tab-${name}`, HTMLButtonElement);
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      byId(`panel-${name}`, HTMLElement).hidden = !selected;
    }
  }

  store.subscribe((state, previous, mode) => {
    showState(state, previous);
    const query = toQuery(state);
    if (mode !== "none" && query !== toQuery(previous)) confluence.writeHistory(query, mode);
    if (requestKey(state) !== requestKey(previous)) void load();
  });

  // Back and forward: the state the history entry holds (today's dates for a preset).
  confluence.onHistoryChange((query) => {
    const s = store.get();
    store.update(withRange(forPage(fromQuery(query)), localToday(s.tz)), "none");
  });

  // ---- Controls -> state ----

  /** A control's change: into the state; loaded again even when the state stays the same. */
  const change = (patch: Partial<QueryState>, mode: HistoryMode = "push") => {
    const before = requestKey(store.get());
    store.update(filterChange(patch), mode);
    // As ever, choosing a filter's current value again reloads (the subscriber did not).
    if (requestKey(store.get()) === before) void load();
  };

  const selectTab = (tab: Tab) => {
    // The open tab again: Refresh it, as clicking it always did.
    if (tab === store.get().tab) void load();
    else store.update({ tab }, "push");
  };
  tabs.forEach((name, i) => {
    const tab = byId(`tab-${name}`, HTMLButtonElement);
    tab.addEventListener("click", () => selectTab(name));
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const step = e.key === "ArrowRight" ? 1 : tabs.length - 1;
      const next = tabs[(i + step) % tabs.length];
      if (!next) return;
      byId(`tab-${next}`, HTMLButtonElement).focus();
      selectTab(next);
    });
  });

  byId("refresh", HTMLButtonElement).addEventListener("click", () => void load());
  controls.preset.addEventListener("change", () => {
    const preset = PRESETS.find((p): p is Preset => p === controls.preset.value) ?? "30";
    // Custom starts from the dates shown; a preset counts back from today.
    const range = preset === "custom" ? {} : presetRange(preset, localToday(store.get().tz));
    change({ preset, ...range });
  });
  controls.from.addEventListener("change", () => change({ from: controls.from.value }));
  controls.to.addEventListener("change", () => change({ to: controls.to.value }));
  controls.q.addEventListener(
    "input",
    debounce(() => change({ q: controls.q.value.trim() }, "replace"), 300),
  );
  controls.group.addEventListener("change", () => change({ group: controls.group.value }));
  controls.inactive?.addEventListener("change", (e) => {
    if (e.currentTarget instanceof HTMLInputElement) {
      change({ inactive: e.currentTarget.checked });
    }
  });

  showState(store.get());
  await load();
  // After the first figures: the group filter's choices need not compete with them.
  void usersView.loadGroups(store.get());
}

void main();
