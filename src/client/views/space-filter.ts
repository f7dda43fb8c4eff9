/**
 * The space filter of the global page: a search box over the site's spaces by name or key
 * (Confluence's, through /api/lookup/spaces). Choosing a match filters every tab to that
 * space under its real key; an emptied box means all spaces. The box never disagrees with the
 * figures: text typed but not chosen is put back on leaving the box, a link's key in another
 * case becomes the real key, and a space the site does not have (a typo, an old link) is said
 * so under the box for as long as it is the filter.
 */
import type { Api } from "../api.js";
import { byId } from "../dom.js";
import type { HistoryMode } from "../state.js";
import { createCombobox, itemLabel, type PickerItem } from "./combobox.js";

export interface SpaceFilter {
  /** Shows the state's space (its key: the name once known). */
  show(spaceKey: string): void;
}

export function mountSpaceFilter(ctx: {
  api: Api;
  /** The chosen space's key ("" for all spaces). */
  choose(spaceKey: string, mode?: HistoryMode): void;
}): SpaceFilter {
  const input = byId("space", HTMLInputElement);
  const problem = byId("space-error", HTMLElement);
  const names = new Map<string, PickerItem>();
  let shown = "";

  const labelOf = (key: string) => {
    const item = names.get(key);
    return item ? itemLabel(item) : key;
  };
  const search = async (q: string, signal: AbortSignal) => {
    const answer = await ctx.api.get(
      "/api/lookup/spaces",
      new URLSearchParams({ q }),
      signal,
      "The spaces could not be searched.",
    );
    const items = answer.spaces.map((s) => ({ id: s.key, name: s.name, detail: s.key }));
    for (const item of items) names.set(item.id, item);
    return items;
  };
  const sameKey = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const say = (text: string) => {
    problem.textContent = text;
    problem.hidden = text === "";
  };
  const unknown = (text: string) =>
    say(`This site has no space “${text}”. Choose a space from the list.`);
  const choose = (item: PickerItem) => {
    say("");
    input.value = itemLabel(item);
    ctx.choose(item.id);
  };

  const combobox = createCombobox({
    input,
    listbox: byId("space-results", HTMLUListElement),
    hint: byId("space-hint", HTMLElement),
    idPrefix: "space",
    noun: "spaces",
    search,
    choose,
    otherKey(e) {
      if (e.key !== "Enter") return;
      const text = input.value.trim();
      if (!text) {
        say("");
        ctx.choose("");
        return;
      }
      // Enter on typed text: the space whose key it is (any case), or the only match.
      void combobox.searchNow().then((found) => {
        if (found === null) return; // failed (the hint says why) or overtaken
        const match =
          found.find((s) => sameKey(s.id, text)) ?? (found.length === 1 ? found[0] : undefined);
        if (match) {
          combobox.close();
          choose(match);
        } else if (found.length === 0) unknown(text);
      });
    },
  });

  input.addEventListener("input", () => {
    // The clear button of a search box, or everything deleted: all spaces.
    if (input.value === "" && shown !== "") {
      say("");
      ctx.choose("");
    }
  });
  input.addEventListener("blur", () => {
    setTimeout(() => {
      if (document.activeElement !== input) input.value = labelOf(shown);
    }, 150);
  });

  return {
    show(spaceKey) {
      const changed = spaceKey !== shown;
      shown = spaceKey;
      if (document.activeElement !== input || changed) input.value = labelOf(spaceKey);
      if (!changed) return;
      if (!spaceKey || names.has(spaceKey)) {
        say("");
        return;
      }
      // A space from a link: its name and real key, or plain words that the site lacks it.
      search(spaceKey, new AbortController().signal).then(
        (found) => {
          if (shown !== spaceKey) return;
          const real = found.find((s) => sameKey(s.id, spaceKey));
          if (!real) unknown(spaceKey);
          else if (real.id !== spaceKey) ctx.choose(real.id, "replace");
          else {
            say("");
            input.value = labelOf(spaceKey);
          }
        },
        () => {
          // Without the lookup the key stays shown: the figures are still the space's.
        },
      );
    },
  };
}
