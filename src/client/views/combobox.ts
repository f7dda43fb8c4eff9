/**
 * A search box with a list of matches (the ARIA combobox pattern), shared by the Settings
 * pickers and the space filter. Typing searches after a pause; a newer search aborts the older
 * one, so the latest answer wins. Arrow keys move through the matches, Enter chooses the
 * highlighted one, Escape closes the list.
 */
import { ApiError, Channel, isAbort } from "../api.js";
import { debounce, el } from "../dom.js";

export interface PickerItem {
  id: string;
  name: string;
  detail?: string;
}

/** Finds the matches for `q`; aborting `signal` cancels the search. */
export type PickerSearch = (q: string, signal: AbortSignal) => Promise<PickerItem[]>;

export const itemLabel = (item: PickerItem) =>
  item.detail ? `${item.name} (${item.detail})` : item.name;

export interface ComboboxOptions {
  input: HTMLInputElement;
  listbox: HTMLUListElement;
  /** A polite live region under the box: how many matches, or why none. */
  hint: HTMLElement;
  /** The options' element ids start with it. */
  idPrefix: string;
  /** What is searched, in the hint's words ("spaces", "people"). */
  noun: string;
  search: PickerSearch;
  choose(item: PickerItem): void;
  /** Matches left out of the list (already chosen ones). */
  hidden?(item: PickerItem): boolean;
  /** Keys the combobox does not handle itself (Backspace in an empty box, for one). */
  otherKey?(e: KeyboardEvent): void;
  /** How the hint tells of matches (the default: "arrow keys and Enter to choose"). */
  matchesText?: string;
}

export interface Combobox {
  close(): void;
  /** Shows `text` in the hint (the default hint again for null). */
  say(text: string | null): void;
  /**
   * Searches now for what the box holds, and answers the matches (an empty box: none), or
   * null when the search failed (the hint says why) or a newer one took over.
   */
  searchNow(): Promise<PickerItem[] | null>;
}

export function createCombobox(o: ComboboxOptions): Combobox {
  const { input, listbox, hint } = o;
  const defaultHint = hint.textContent ?? "";
  const verb = o.matchesText ?? "arrow keys and Enter to choose";
  let results: PickerItem[] = [];
  /** The text `results` answer: Enter never chooses a match for older text. */
  let resultsFor = "";
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
      input.setAttribute("aria-activedescendant", `${o.idPrefix}-option-${i}`);
      listbox.children[i]?.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };

  const matchesHint = (n: number) => {
    if (!input.value.trim()) return defaultHint;
    if (n === 0) return `No ${o.noun} found.`;
    return `${n} ${n === 1 ? "match" : "matches"}: ${verb}.`;
  };

  const choose = (item: PickerItem) => {
    // No search still waiting or under way may reopen the list over the choice.
    run.cancel();
    searches.abort();
    results = [];
    close();
    o.choose(item);
  };

  const renderResults = () => {
    // The viewer has moved on: no list pops up over another field.
    if (document.activeElement !== input) return;
    const shown = results.filter((r) => !o.hidden?.(r));
    listbox.replaceChildren(
      ...shown.map((r, i) => {
        const li = el("li", {
          id: `${o.idPrefix}-option-${i}`,
          role: "option",
          "aria-selected": "false",
          text: itemLabel(r),
        });
        // mousedown, not click: the box keeps its focus.
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          choose(r);
        });
        return li;
      }),
    );
    results = shown;
    listbox.hidden = shown.length === 0;
    input.setAttribute("aria-expanded", String(shown.length > 0));
    hint.textContent = matchesHint(shown.length);
    highlight(shown.length > 0 ? 0 : -1);
  };

  /** The matches for the box's text (null when a newer search took over, or it failed). */
  const searchNow = async (): Promise<PickerItem[] | null> => {
    run.cancel();
    const q = input.value.trim();
    if (!q) {
      searches.abort();
      results = [];
      close();
      hint.textContent = defaultHint;
      return [];
    }
    const signal = searches.next();
    try {
      const found = await o.search(q, signal);
      if (signal.aborted) return null;
      results = found;
      resultsFor = q;
      renderResults();
      return found;
    } catch (error) {
      if (isAbort(error, signal)) return null;
      results = [];
      close();
      hint.textContent =
        error instanceof ApiError ? error.message : `The ${o.noun} could not be searched.`;
      return null;
    }
  };
  const run = debounce(() => void searchNow(), 250);

  input.addEventListener("input", () => run());
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
      // Enter chooses the highlighted match; it never submits a form from here.
      e.preventDefault();
      const item = results[active];
      if (!listbox.hidden && item && resultsFor === input.value.trim()) choose(item);
      else o.otherKey?.(e);
    } else if (e.key === "Escape" && !listbox.hidden) {
      e.preventDefault();
      close();
    } else o.otherKey?.(e);
  });
  input.addEventListener("blur", () => setTimeout(close, 100));

  return {
    close,
    say: (text) => {
      hint.textContent = text ?? defaultHint;
    },
    searchNow,
  };
}
