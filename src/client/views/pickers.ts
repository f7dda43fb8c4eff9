/**
 * A picker of the Settings form: chips for what is chosen (name, × to remove) and a combobox
 * that searches. Typing searches after a pause; a newer search aborts the older one, so the
 * latest answer wins. Arrow keys move through the matches, Enter adds the highlighted one,
 * Escape closes the list, Backspace in an empty box removes the last chip.
 */
import { ApiError, Channel, isAbort } from "../api.js";
import { byId, debounce, el } from "../dom.js";

export interface PickerItem {
  id: string;
  name: string;
  detail?: string;
}

/** Finds the matches for `q`; aborting `signal` cancels the search. */
export type PickerSearch = (q: string, signal: AbortSignal) => Promise<PickerItem[]>;

export interface Picker {
  /** Shows `items` as the chosen ones (no problems marked). */
  set(items: PickerItem[]): void;
  ids(): string[];
  /** Marks chosen ids as refused, with the problem: [id, problem] pairs. */
  markInvalid(problems: [string, string][]): void;
}

const label = (item: PickerItem) => (item.detail ? `${item.name} (${item.detail})` : item.name);

/**
 * The picker whose elements are `${field}-search`, `-results`, `-chips`, `-hint` and
 * `-errors`; `noun` names what it picks in its messages; `changed` runs when the chips do.
 */
export function createPicker(
  field: string,
  noun: string,
  search: PickerSearch,
  changed: () => void,
): Picker {
  const input = byId(`${field}-search`, HTMLInputElement);
  const listbox = byId(`${field}-results`, HTMLUListElement);
  const chips = byId(`${field}-chips`, HTMLUListElement);
  const hint = byId(`${field}-hint`, HTMLElement);
  const errors = byId(`${field}-errors`, HTMLElement);
  const defaultHint = hint.textContent ?? "";
  let chosen = new Map<string, PickerItem>();
  let invalid = new Map<string, string>();
  let results: PickerItem[] = [];
  let active = -1;
  const searches = new Channel();

  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (i: number) => {
    active = i;
    for (const [j, li] of [...listbox.children].entries()) {
      li.setAttribute("aria-selected", String(j === i));
    }
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", `${field}-option-${i}`);
      listbox.children[i]?.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };

  const matchesHint = (n: number) => {
    if (!input.value.trim()) return defaultHint;
    if (n === 0) return `No ${noun} found.`;
    return `${n} ${n === 1 ? "match" : "matches"}: arrow keys and Enter to add.`;
  };

  const renderResults = () => {
    const fresh = results.filter((r) => !chosen.has(r.id));
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
    hint.textContent = matchesHint(fresh.length);
    highlight(fresh.length > 0 ? 0 : -1);
  };

  const remove = (item: PickerItem) => {
    chosen.delete(item.id);
    invalid.delete(item.id);
  };

  const chip = (item: PickerItem) => {
    const problem = invalid.get(item.id);
    const button = el("button", {
      type: "button",
      className: "chip-remove",
      "aria-label": `Remove ${label(item)}`,
      text: "×",
    });
    button.addEventListener("click", () => {
      remove(item);
      renderChips();
      input.focus();
    });
    return el(
      "li",
      { className: problem ? "chip invalid" : "chip", title: item.id, "data-id": item.id },
      el("span", { text: label(item) }),
      problem ? el("span", { className: "visually-hidden", text: `: ${problem}` }) : null,
      button,
    );
  };

  const renderChips = () => {
    chips.replaceChildren(...[...chosen.values()].map(chip));
    errors.replaceChildren(
      ...[...invalid].map(([id, problem]) => el("p", { text: `${id}: ${problem}` })),
    );
    changed();
  };

  const add = (item: PickerItem) => {
    chosen.set(item.id, item);
    invalid.delete(item.id);
    input.value = "";
    results = [];
    close();
    hint.textContent = `Added ${label(item)}.`;
    renderChips();
  };

  const run = debounce(async () => {
    const q = input.value.trim();
    if (!q) {
      searches.abort();
      results = [];
      close();
      hint.textContent = defaultHint;
      return;
    }
    const signal = searches.next();
    try {
      const found = await search(q, signal);
      if (signal.aborted) return; // a newer search is under way
      results = found;
      renderResults();
    } catch (error) {
      if (isAbort(error, signal)) return;
      results = [];
      close();
      hint.textContent =
        error instanceof ApiError ? error.message : `The ${noun} could not be searched.`;
    }
  }, 250);

  const onKey = (e: KeyboardEvent) => {
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
      const item = results[active];
      if (!listbox.hidden && item) add(item);
    } else if (e.key === "Escape") {
      if (!listbox.hidden) {
        e.preventDefault();
        close();
      }
    } else if (e.key === "Backspace" && input.value === "") {
      const last = [...chosen.values()].at(-1);
      if (!last) return;
      remove(last);
      hint.textContent = `Removed ${label(last)}.`;
      renderChips();
    }
  };

  input.addEventListener("input", () => run());
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => setTimeout(close, 100));

  return {
    set(items) {
      chosen = new Map(items.map((i) => [i.id, i]));
      invalid.clear();
      renderChips();
    },
    ids: () => [...chosen.keys()],
    markInvalid(problems) {
      invalid = new Map(problems);
      renderChips();
    },
  };
}
