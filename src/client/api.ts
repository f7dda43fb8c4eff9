/**
 * The one way the page talks to the API: adds the context token, builds the query string,
 * turns a non-2xx answer into an ApiError with plain words, and cancels through an
 * AbortSignal. A Channel aborts a view's previous load when it starts a new one, so an answer
 * for older filters is never drawn.
 */
import type {
  ActivityAnswer,
  BreakdownAnswer,
  CalendarAnswer,
  ErrorDetailAnswer,
  GroupsAnswer,
  PeopleLookupAnswer,
  SettingsAnswer,
  SettingsBody,
  SpacesLookupAnswer,
  UsersAnswer,
} from "./contract.js";
import { plainMessage } from "./format.js";

export const LOAD_FAILED = "Something went wrong while loading the report. Try Refresh.";

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    /** The API's `error.code`, e.g. "invalid_parameter". */
    readonly code: string,
    message: string,
    /** The API's `error.details`: one entry per bad value (empty when it sent none). */
    readonly details: readonly ErrorDetailAnswer[] = [],
  ) {
    super(message);
  }
}

/** Whether `error` is a cancelled request (never shown: a newer one is on its way). */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof DOMException && error.name === "AbortError");
}

/** The text to show for a failure: the API's (plain) words, or a general one. */
export function errorText(error: unknown, fallback = LOAD_FAILED): string {
  return error instanceof ApiError ? error.message : fallback;
}

/** What the GET endpoints answer, by path. */
interface Answers {
  "/api/reports/calendar": CalendarAnswer;
  "/api/reports/breakdown": BreakdownAnswer;
  "/api/reports/users": UsersAnswer;
  "/api/groups": GroupsAnswer;
  "/api/settings": SettingsAnswer;
  "/api/lookup/people": PeopleLookupAnswer;
  "/api/lookup/spaces": SpacesLookupAnswer;
}

export interface Api {
  get<P extends keyof Answers>(
    path: P,
    query: URLSearchParams,
    signal: AbortSignal,
    /** Shown when a failure's answer says nothing. */
    fallback?: string,
  ): Promise<Answers[P]>;
  activity(accountId: string, query: URLSearchParams, signal: AbortSignal): Promise<ActivityAnswer>;
  saveSettings(body: SettingsBody, signal: AbortSignal): Promise<SettingsAnswer>;
  /** The token for a link the browser follows itself (the CSV download). */
  token(): Promise<string>;
}

/** The `error` of an answer, read defensively: a proxy may answer anything. */
function readError(body: unknown): {
  code?: string;
  message?: string;
  details: ErrorDetailAnswer[];
} {
  const error = typeof body === "object" && body !== null && "error" in body ? body.error : null;
  if (typeof error !== "object" || error === null) return { details: [] };
  const text = (key: string) => {
    const value: unknown = Reflect.get(error, key);
    return typeof value === "string" ? value : undefined;
  };
  const details: unknown = Reflect.get(error, "details");
  return {
    code: text("code"),
    message: text("message"),
    details: Array.isArray(details) ? details.filter(isDetail) : [],
  };
}

function isDetail(d: unknown): d is ErrorDetailAnswer {
  return (
    typeof d === "object" &&
    d !== null &&
    "field" in d &&
    typeof d.field === "string" &&
    "value" in d &&
    typeof d.value === "string" &&
    "problem" in d &&
    typeof d.problem === "string"
  );
}

export function createApi(
  token: () => Promise<string>,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Api {
  async function request(
    url: string,
    init: RequestInit & { signal: AbortSignal },
    fallback: string,
  ): Promise<unknown> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `JWT ${await token()}`);
    const res = await fetchImpl(url, { ...init, headers });
    const body: unknown = await res.json().catch(() => null);
    // Aborted while the body was read: the caller has moved on.
    init.signal.throwIfAborted();
    if (!res.ok) {
      const error = readError(body);
      const code = error.code ?? (res.status === 401 ? "unauthenticated" : "error");
      const message = plainMessage({
        status: res.status,
        code,
        message: error.message ?? fallback,
      });
      throw new ApiError(res.status, code, message, error.details);
    }
    if (body === null) throw new ApiError(res.status, "bad_answer", fallback);
    return body;
  }

  const withQuery = (path: string, query: URLSearchParams) => {
    const q = query.toString();
    return q ? `${path}?${q}` : path;
  };

  return {
    async get(path, query, signal, fallback = LOAD_FAILED) {
      // The server's answer for this path (src/client/contract.ts derives it from its types).
      return (await request(withQuery(path, query), { signal }, fallback)) as Answers[typeof path];
    },
    async activity(accountId, query, signal) {
      const path = `/api/reports/users/${encodeURIComponent(accountId)}`;
      return (await request(withQuery(path, query), { signal }, LOAD_FAILED)) as ActivityAnswer;
    },
    async saveSettings(body, signal) {
      const answer = await request(
        "/api/settings",
        {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal,
        },
        "The settings could not be saved.",
      );
      return answer as SettingsAnswer;
    },
    token,
  };
}

/**
 * One load at a time: `next()` aborts the previous load's signal and hands out a fresh one,
 * so the latest filters always win and an older answer is dropped.
 */
export class Channel {
  private current: AbortController | null = null;

  next(): AbortSignal {
    this.current?.abort();
    this.current = new AbortController();
    return this.current.signal;
  }

  abort(): void {
    this.current?.abort();
    this.current = null;
  }
}
