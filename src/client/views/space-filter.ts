/**
 * The space filter of the global page: a search box over the site's spaces by name or key
 * (Confluence's, through /api/lookup/spaces). Choosing a match filters every tab to that
 * space under its real key; an emptied box means all spaces. The box never disagrees with the
 * figures: text typed but not chosen is put back on leaving the box, and a space the site does
 * not have (a typo, an old link) is said so plainly.
 */
import type { Api } from "../api.js";
import { byId, type Status } from "../dom.js";
import { createCombobox, itemLabel, type PickerItem } from "./combobox.js";

export interface SpaceFilter {
  /** Shows the state's space (its key: the name once known). */
  show(spaceKey: string): void;
}

export function mountSpaceFilter(ctx: {
  api: Api;
  status: Status;
  /** The chosen space's key ("" for all spaces). */
  choose(spaceKey: string): void;
}): SpaceFilter {
  const input = byId("space", HTMLInputElement);
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
  const unknown = (text: string) =>
    ctx.status.set(`This site has no space “${text}”. Choose a space from the list.`, "error");

  const combobox = createCombobox({
    input,
    listbox: byId("space-results", HTMLUListElement),
    hint: byId("space-hint", HTMLElement),
    idPrefix: "space",
    noun: "spaces",
    search,
    choose(item) {
      input.value = itemLabel(item);
      ctx.choose(item.id);
    },
    otherKey(e) {
      if (e.key !== "Enter") return;
      const text = input.value.trim();
      if (!text) {
        ctx.choose("");
        return;
      }
      // Enter on typed text: the space whose key it is (any case), or the only match.
      void combobox.searchNow().then((found) => {
        const match =
          found.find((s) => s.id.toLowerCase() === text.toLowerCase()) ??
          (found.length === 1 ? found[0] : undefined);
        if (match) {
          combobox.close();
          input.value = itemLabel(match);
          ctx.choose(match.id);
        } else if (found.length === 0) unknown(text);
      });
    },
  });

  input.addEventListener("input", () => {
    // The clear button of a search box, or everything deleted: all spaces.
    if (input.value === "" && shown !== "") ctx.choose("");
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
      if (!changed || !spaceKey || names.has(spaceKey)) return;
      // A space from a link: its name, or a plain word that the site has no such space.
      const signal = new AbortController().signal;
      search(spaceKey, signal).then(
        (found) => {
          if (shown !== spaceKey) return;
          if (found.some((s) => s.id === spaceKey)) input.value = labelOf(spaceKey);
          else unknown(spaceKey);
        },
        () => {
          // Without the lookup the key stays shown: the figures are still the space's.
        },
      );
    },
  };
}
