/**
 * Small DOM helpers. Text from the API only ever goes in as textContent or an attribute
 * value, never as HTML.
 */

type AttrValue = string | number | boolean | null | undefined;
type Child = Node | string | null | undefined;

/**
 * An element with attributes (`text` sets its text, `className` its class; null, undefined
 * and false leave an attribute out, true sets it empty) and children (null ones skipped).
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "className") node.className = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** The element with `id`, checked to be a `type`: the page's markup is the script's contract. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return node;
}

/** Like byId, for elements only some pages have (the global page's Settings, for one). */
export function optionalById<T extends HTMLElement>(id: string, type: new () => T): T | null {
  const node = document.getElementById(id);
  return node instanceof type ? node : null;
}

/**
 * An http(s) URL as a string, or null for anything else (javascript:, data:, garbage). With
 * `base`, a relative URL (a path on this app) is resolved against it.
 */
export function safeUrl(url: string | null | undefined, base?: string): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url, base);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
  } catch {
    return null;
  }
}

/** The status line under the tabs (a polite live region). */
export interface Status {
  set(text: string, kind?: "info" | "error"): void;
  readonly text: string;
}

export function statusLine(node: HTMLElement): Status {
  return {
    set(text, kind = "info") {
      node.textContent = text;
      node.className = kind === "error" ? "status error" : "status";
    },
    get text() {
      return node.textContent ?? "";
    },
  };
}

/** `fn` once calls have paused for `ms`; `cancel()` drops a call still waiting. */
export function debounce<A extends unknown[]>(
  fn: (...args: A) => void,
  ms: number,
): ((...args: A) => void) & { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = (...args: A): void => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  return Object.assign(call, { cancel: () => clearTimeout(timer) });
}

/** A placeholder block while figures load (aria-hidden: the status line says "Loading…"). */
export function skeleton(className = ""): HTMLElement {
  return el("div", { className: `skeleton ${className}`.trim(), "aria-hidden": "true" });
}
