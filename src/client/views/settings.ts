/** The Settings tab (global page, Confluence admins): exclusions, retention, and the audit. */
import { type Api, ApiError } from "../api.js";
import type {
  AuditChangeAnswer,
  AuditEntryAnswer,
  Group,
  SettingsAnswer,
  SettingsBody,
} from "../contract.js";
import { byId, el, type Status } from "../dom.js";
import { dayCount, formatInstant } from "../format.js";
import type { ReportState } from "../state.js";
import { createPicker, type Picker, type PickerItem } from "./pickers.js";
import type { View } from "./view.js";

type ListField = "excludedUsers" | "excludedGroups" | "excludedSpaces";

const AUDIT_FIELDS: Record<AuditChangeAnswer["field"], string> = {
  excludedUsers: "Excluded people",
  excludedGroups: "Excluded groups",
  excludedSpaces: "Excluded spaces",
  trackAppAccounts: "Track app accounts",
  retentionDays: "Keep raw events",
};

const keptFor = (days: number | null) => (days == null ? "while installed" : dayCount(days));

/** One change of an audit entry: "Excluded spaces: added Design; removed HR". */
export function auditChange(c: AuditChangeAnswer): string {
  const title = AUDIT_FIELDS[c.field] ?? c.field;
  if (c.field === "trackAppAccounts") {
    return `${title}: ${c.from ? "on" : "off"} → ${c.to ? "on" : "off"}`;
  }
  if (c.field === "retentionDays") return `${title}: ${keptFor(c.from)} → ${keptFor(c.to)}`;
  const names = (items: { id: string; name: string | null }[]) =>
    items.map((i) => i.name ?? i.id).join(", ");
  const parts: string[] = [];
  if (c.added.length) parts.push(`added ${names(c.added)}`);
  if (c.removed.length) parts.push(`removed ${names(c.removed)}`);
  return `${title}: ${parts.join("; ")}`;
}

/** "Not saved: 2 entries do not exist in Confluence (marked below)...". */
function refusedMessage(n: number): string {
  return `Not saved: ${n === 1 ? "1 entry does" : `${n} entries do`} not exist in Confluence (marked below). Remove ${n === 1 ? "it" : "them"} and save again.`;
}

export interface SettingsContext {
  api: Api;
  status: Status;
  resize(): void;
  showError(error: unknown): void;
  state(): Readonly<ReportState>;
}

export function mountSettings(ctx: SettingsContext): View {
  const form = byId("settings-form", HTMLFormElement);
  const trackApps = byId("track-apps", HTMLInputElement);
  const retention = byId("retention-days", HTMLInputElement);
  const save = byId("save-settings", HTMLButtonElement);
  const auditList = byId("settings-audit", HTMLElement);
  // Until the saved settings are shown, saving would overwrite them with an empty form.
  save.disabled = true;
  let groups: Group[] = [];

  const pickers: Record<ListField, Picker> = {
    excludedUsers: createPicker(
      "excluded-users",
      "people",
      async (q, signal) =>
        (
          await ctx.api.get(
            "/api/lookup/people",
            new URLSearchParams({ q }),
            signal,
            "The search failed.",
          )
        ).people.map((p) => ({ id: p.accountId, name: p.displayName })),
      ctx.resize,
    ),
    excludedGroups: createPicker(
      "excluded-groups",
      "groups",
      async (q) => {
        const words = q.toLowerCase();
        return groups
          .filter((g) => g.name.toLowerCase().includes(words))
          .slice(0, 50)
          .map((g) => ({ id: g.id, name: g.name }));
      },
      ctx.resize,
    ),
    excludedSpaces: createPicker(
      "excluded-spaces",
      "spaces",
      async (q, signal) =>
        (
          await ctx.api.get(
            "/api/lookup/spaces",
            new URLSearchParams({ q }),
            signal,
            "The search failed.",
          )
        ).spaces.map((s) => ({ id: s.key, name: s.name, detail: s.key })),
      ctx.resize,
    ),
  };

  /** Chips for saved ids, named as the API knows them (the id itself otherwise). */
  function show({ settings, names }: SettingsAnswer) {
    const groupNames = new Map(groups.map((g) => [g.id, g.name]));
    const named = (ids: string[], name: (id: string) => PickerItem): PickerItem[] => ids.map(name);
    pickers.excludedUsers.set(
      named(settings.excludedUsers, (id) => ({ id, name: names.users[id] ?? id })),
    );
    pickers.excludedGroups.set(
      named(settings.excludedGroups, (id) => ({
        id,
        name: names.groups[id] ?? groupNames.get(id) ?? id,
      })),
    );
    pickers.excludedSpaces.set(
      named(settings.excludedSpaces, (key) => ({
        id: key,
        name: names.spaces[key] ?? key,
        detail: names.spaces[key] ? key : "",
      })),
    );
    trackApps.checked = settings.trackAppAccounts;
    retention.value = settings.retentionDays == null ? "" : String(settings.retentionDays);
  }

  function auditItem(a: AuditEntryAnswer): HTMLElement {
    const changes = a.changes ?? [];
    return el(
      "li",
      {},
      el("time", { datetime: a.changedAt, text: formatInstant(a.changedAt, ctx.state().tz) }),
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
  }

  function renderAudit(audit: AuditEntryAnswer[]) {
    auditList.replaceChildren(...audit.map(auditItem));
    if (audit.length === 0) auditList.append(el("li", { text: "No changes yet." }));
  }

  function markRefused(details: readonly { field: string; value: string; problem: string }[]) {
    for (const [field, picker] of Object.entries(pickers)) {
      picker.markInvalid(details.filter((d) => d.field === field).map((d) => [d.value, d.problem]));
    }
  }

  async function submit() {
    const body: SettingsBody = {
      excludedUsers: pickers.excludedUsers.ids(),
      excludedGroups: pickers.excludedGroups.ids(),
      excludedSpaces: pickers.excludedSpaces.ids(),
      trackAppAccounts: trackApps.checked,
      retentionDays: retention.value === "" ? null : Number(retention.value),
    };
    let answer: SettingsAnswer;
    try {
      answer = await ctx.api.saveSettings(body, new AbortController().signal);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      markRefused(error.details);
      const n = error.details.length;
      throw n ? new ApiError(error.status, error.code, refusedMessage(n), error.details) : error;
    }
    markRefused([]);
    show(answer);
    renderAudit(answer.audit);
    ctx.status.set("Settings saved.");
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit().catch(ctx.showError);
  });

  return {
    async load(_state, signal) {
      const [answer, groupList] = await Promise.all([
        ctx.api.get("/api/settings", new URLSearchParams(), signal),
        ctx.api.get("/api/groups", new URLSearchParams(), signal).catch(() => ({ groups: [] })),
      ]);
      if (signal.aborted) return;
      groups = groupList.groups;
      show(answer);
      renderAudit(answer.audit);
      save.disabled = false;
    },
    clear() {
      // The form keeps what the admin typed; only saving is held back until a load succeeds.
      save.disabled = true;
      auditList.replaceChildren();
    },
  };
}
