/**
 * The Confluence bridge: all.js (`window.AP`), which loads from Atlassian's CDN and may be
 * missing or slow (the demo host has none). Every call has a fallback, so the page works
 * without it: the page's own token, the browser's zone, the iframe's own history.
 */

/** The parts of all.js the page uses; any of them may be missing. */
interface Bridge {
  context?: { getToken?: (done: (token: string) => void) => void };
  user?: { getTimeZone?: (done: (zone: string) => void) => void };
  resize?: () => void;
  theming?: { initializeTheming?: () => void };
  history?: BridgeHistory;
}

/** AP.history (general pages): the state is a string Confluence keeps in its own URL. */
interface BridgeHistory {
  getState?: () => unknown;
  pushState?: (state: string) => void;
  replaceState?: (state: string) => void;
  popState?: (handler: () => void) => void;
  subscribeState?: (event: "change", handler: () => void) => void;
}

function bridge(): Bridge | null {
  const ap = (window as { AP?: unknown }).AP;
  // all.js's own object: only its shape is known, checked member by member below.
  return typeof ap === "object" && ap !== null ? (ap as Bridge) : null;
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Asks all.js for something (callback style), or null when it is absent, fails or is slow. */
function ask<T>(
  call: (b: Bridge) => ((done: (value: T) => void) => void) | undefined,
  ms: number,
): Promise<T | null> {
  const b = bridge();
  const asking = b ? call(b) : undefined;
  if (!asking) return Promise.resolve(null);
  const answer = new Promise<T | null>((resolve) => {
    try {
      asking(resolve);
    } catch {
      resolve(null);
    }
  });
  return withTimeout(answer, ms, null);
}

/** A fresh context token from Confluence, or the page's own. */
export async function token(fallback: string): Promise<string> {
  const fresh = await ask<string>(({ context }) => {
    // Called on its object: all.js's methods may use `this`.
    return context?.getToken ? (done) => context.getToken?.(done) : undefined;
  }, 2000);
  return fresh || fallback;
}

/** The zone of the viewer's Confluence profile, or `fallback` (the browser's). */
export async function viewerZone(fallback: string): Promise<string> {
  const zone = await ask<string>(
    ({ user }) => (user?.getTimeZone ? (done) => user.getTimeZone?.(done) : undefined),
    1500,
  );
  return zone || fallback;
}

/** Asks Confluence to fit the iframe to the content. */
export function resize(): void {
  bridge()?.resize?.();
}

export function initializeTheming(): void {
  bridge()?.theming?.initializeTheming?.();
}

// ---- History ----

/** AP.history when this module has it (general pages do), else null. */
function bridgeHistory(): BridgeHistory | null {
  const h = bridge()?.history;
  return h?.getState && h.pushState && h.replaceState ? h : null;
}

function stateString(value: unknown): string | null {
  if (typeof value === "string") return value;
  // getState("all") style answers: { hash, query, ... }.
  if (typeof value === "object" && value !== null && "hash" in value) {
    return typeof value.hash === "string" ? value.hash : null;
  }
  return null;
}

/**
 * The page's state as a query string: from Confluence's URL through AP.history, or from the
 * iframe's fragment. Never from the iframe's query: Confluence signs that one (its `jwt`
 * covers every parameter), so the state must stay out of it.
 */
export function readHistory(): string {
  try {
    const fromConfluence = stateString(bridgeHistory()?.getState?.());
    if (fromConfluence !== null) return fromConfluence;
  } catch {
    // all.js refused: the iframe's fragment is the fallback.
  }
  return location.hash;
}

/** Keeps `query` in the history: a new entry ("push") or in place of the current one. */
export function writeHistory(query: string, mode: "push" | "replace"): void {
  const h = bridgeHistory();
  if (h) {
    try {
      if (mode === "push") h.pushState?.(query);
      else h.replaceState?.(query);
      return;
    } catch {
      // Fall through to the iframe's own history.
    }
  }
  const url = new URL(location.href);
  url.hash = query;
  if (mode === "push") history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

/** Calls `handler` with the state's query when the viewer goes back or forward. */
export function onHistoryChange(handler: (query: string) => void): void {
  const notify = () => handler(readHistory());
  const h = bridgeHistory();
  try {
    if (h?.subscribeState) h.subscribeState("change", notify);
    else h?.popState?.(notify);
  } catch {
    // Without it, only the iframe's own history is followed.
  }
  window.addEventListener("popstate", notify);
}
