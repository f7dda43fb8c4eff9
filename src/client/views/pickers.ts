/**
 * A picker of the Settings form: chips for what is chosen (name, × to remove) and a combobox
 * that searches (./combobox.ts); Enter adds the highlighted match, Backspace in an empty box
 * removes the last chip.
 */
import { byId, el } from "../dom.js";
import {
  createCombobox,
  itemLabel as label,
  type PickerItem,
  type PickerSearch,
} from "./combobox.js";

export type { PickerItem, PickerSearch } from "./combobox.js";

export interface Picker {
  /** Shows `items` as the chosen ones (no problems marked). */
  set(items: PickerItem[]): void;
  ids(): string[];
  /** Marks chosen ids as refused, with the problem: [id, problem] pairs. */
  markInvalid(problems: [string, string][]): void;
}

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
  const chips = byId(`${field}-chips`, HTMLUListElement);
  const errors = byId(`${field}-errors`, HTMLElement);
  let chosen = new Map<string, PickerItem>();
  let invalid = new Map<string, string>();

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

  const combobox = createCombobox({
    input,
    listbox: byId(`${field}-results`, HTMLUListElement),
    hint: byId(`${field}-hint`, HTMLElement),
    idPrefix: field,
    noun,
    search,
    matchesText: "arrow keys and Enter to add",
    hidden: (item) => chosen.has(item.id),
    choose(item) {
      chosen.set(item.id, item);
      invalid.delete(item.id);
      input.value = "";
      combobox.say(`Added ${label(item)}.`);
      renderChips();
    },
    otherKey(e) {
      if (e.key !== "Backspace" || input.value !== "") return;
      const last = [...chosen.values()].at(-1);
      if (!last) return;
      remove(last);
      combobox.say(`Removed ${label(last)}.`);
      renderChips();
    },
  });

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
