import type { FakeConfluence } from "../../src/dev/fake-confluence.js";

export interface ApiResponse {
  status: number;
  body: string;
  headers: Headers;
  json<T = Record<string, unknown>>(): T;
}

/** GET the app's API as a viewer, with a context token like AP.context.getToken() gives. */
export async function apiGet(
  appUrl: string,
  fake: FakeConfluence,
  viewer: string,
  path: string,
  opts: { token?: string | null; via?: "header" | "query" } = {},
): Promise<ApiResponse> {
  const token = opts.token === undefined ? fake.contextToken(viewer) : opts.token;
  const url = new URL(path, appUrl);
  const headers: Record<string, string> = {};
  if (token && opts.via === "query") url.searchParams.set("jwt", token);
  else if (token) headers.authorization = `JWT ${token}`;
  const res = await fetch(url, { headers });
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, json: <T>() => JSON.parse(body) as T };
}

/** The settings a site starts with: nothing excluded, no app accounts, no retention period. */
export const DEFAULT_SETTINGS = {
  excludedUsers: [] as string[],
  excludedGroups: [] as string[],
  excludedSpaces: [] as string[],
  trackAppAccounts: false,
  retentionDays: null as number | null,
};

/** PUT /api/settings as a viewer: the defaults above, with `changes` over them. */
export async function putSettings(
  appUrl: string,
  fake: FakeConfluence,
  viewer: string,
  changes: Partial<typeof DEFAULT_SETTINGS>,
): Promise<ApiResponse> {
  const res = await fetch(new URL("/api/settings", appUrl), {
    method: "PUT",
    headers: {
      authorization: `JWT ${fake.contextToken(viewer)}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ ...DEFAULT_SETTINGS, ...changes }),
  });
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, json: <T>() => JSON.parse(body) as T };
}
