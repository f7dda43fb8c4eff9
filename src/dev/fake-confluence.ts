/**
 * A local stand-in for Confluence Cloud, for tests and demos only (never imported by the app):
 * - the install-key server (RS256 public keys by `kid`, like connect-install-keys.atlassian.com),
 * - signed lifecycle calls and webhooks, signed exactly as Confluence signs them (atlassian-jwt),
 * - the REST endpoints the app calls, with the payload shapes of the platform notes.
 * Point the app at it with CONNECT_KEYS_CDN_URL=<url>/connect-keys and AC_HOST_WHITELIST=127.0.0.1.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as jwt from "atlassian-jwt";

export interface FakeUser {
  accountId: string;
  displayName: string;
  accountType?: "atlassian" | "app";
  /** Confluence admin (`administer` on `application`). */
  admin?: boolean;
  groups?: string[];
}

export interface FakeSpace {
  key: string;
  name: string;
  /** Account ids and group names with `administer` on the space. */
  admins?: { users?: string[]; groups?: string[] };
}

export interface SignedResponse {
  status: number;
  body: string;
  json(): unknown;
}

/** Marks a handled response (every branch of the router must answer). */
const SENT = Symbol("sent");
type Sent = typeof SENT;

/** Public keys of every fake in this process, so one key server can serve several tenants. */
const KEY_RING = new Map<string, string>();

export class FakeConfluence {
  readonly clientKey: string;
  sharedSecret: string;
  readonly kid = `fake-kid-${randomUUID()}`;
  private readonly privateKey: string;
  private readonly publicKey: string;
  private server?: http.Server;
  url = "";
  users = new Map<string, FakeUser>();
  spaces = new Map<string, FakeSpace>();
  /** Personal data reporting: what Confluence answers for these accounts. */
  accountStatuses = new Map<string, "closed" | "updated">();
  /**
   * While set, REST paths it matches (e.g. /^\/wiki\/rest\/api\/user\/bulk$/) answer 503, as
   * in a Confluence outage: the app's retries fail too.
   */
  unavailable: RegExp | null = null;
  /** Answer this many next report-accounts calls with 429 (Retry-After: 1). */
  rateLimitNext = 0;
  /** Bodies the app posted to report-accounts, oldest first. */
  readonly reportedAccounts: { accountId: string; updatedAt: string }[][] = [];
  private lastBody = "";
  /** Requests the app made to the REST API, newest last (for assertions on paging, retries). */
  readonly requests: { method: string; path: string }[] = [];
  /**
   * Set when the site has the app through its Forge registration (Connect on Forge): lifecycle
   * bodies then carry the Forge `installationId`. Unset: a plain Connect install.
   */
  forgeInstallationId: string | undefined;
  /** The app key installed on this site; the app's REST calls must be issued by it. */
  appKey = "activity-report-for-confluence";

  constructor(opts: { clientKey?: string; sharedSecret?: string } = {}) {
    this.clientKey = opts.clientKey ?? `fake-client-${randomUUID()}`;
    this.sharedSecret = opts.sharedSecret ?? randomBytes(32).toString("hex");
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.publicKey = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    KEY_RING.set(this.kid, this.publicKey);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.lastBody = Buffer.concat(chunks).toString("utf8");
        this.handle(req, res);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** What the app sets as CONNECT_KEYS_CDN_URL. */
  get keysUrl(): string {
    return `${this.url}/connect-keys`;
  }

  /** The tenant's base URL (REST calls from the app land on this fake). */
  get baseUrl(): string {
    return `${this.url}/wiki`;
  }

  installPayload(eventType: "installed" | "uninstalled" = "installed") {
    return {
      key: this.appKey,
      clientKey: this.clientKey,
      sharedSecret: this.sharedSecret,
      serverVersion: "6452",
      pluginsVersion: "1001.0.0-SNAPSHOT",
      baseUrl: this.baseUrl,
      displayUrl: this.baseUrl,
      productType: "confluence",
      description: "Fake Confluence",
      eventType,
      ...(this.forgeInstallationId ? { installationId: this.forgeInstallationId } : {}),
    };
  }

  /** An RS256 lifecycle token, as Confluence signs installs (key served at keysUrl/kid). */
  lifecycleToken(
    appBaseUrl: string,
    path: string,
    overrides: { iss?: string; aud?: string; kid?: string; privateKey?: string; exp?: number } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    return jwt.encodeAsymmetric(
      {
        iss: overrides.iss ?? this.clientKey,
        aud: [overrides.aud ?? appBaseUrl],
        iat: now,
        exp: overrides.exp ?? now + 180,
        qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl("POST", path)),
        // Two lifecycle calls never share a token, even within one second.
        jti: randomUUID(),
      },
      overrides.privateKey ?? this.privateKey,
      jwt.AsymmetricAlgorithm.RS256,
      { kid: overrides.kid ?? this.kid },
    );
  }

  /** Signs an app-bound request with the tenant's shared secret (HS256, with `qsh`). */
  signRequest(
    method: string,
    pathAndQuery: string,
    opts: { secret?: string; iss?: string; sub?: string; exp?: number; qshPath?: string } = {},
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: opts.iss ?? this.clientKey,
      iat: now,
      exp: opts.exp ?? now + 180,
      qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, opts.qshPath ?? pathAndQuery)),
    };
    if (opts.sub) claims.sub = opts.sub;
    return jwt.encodeSymmetric(claims, opts.secret ?? this.sharedSecret);
  }

  /** A context token as `AP.context.getToken()` returns it (qsh = "context-qsh"). */
  contextToken(accountId: string, opts: { secret?: string; exp?: number } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    return jwt.encodeSymmetric(
      {
        iss: this.clientKey,
        sub: accountId,
        iat: now,
        exp: opts.exp ?? now + 900,
        qsh: "context-qsh",
      },
      opts.secret ?? this.sharedSecret,
    );
  }

  /** POST /installed to the app, signed (RS256). */
  install(appBaseUrl: string, opts: { token?: string | null; body?: object } = {}) {
    const token =
      opts.token === undefined ? this.lifecycleToken(appBaseUrl, "/installed") : opts.token;
    return post(`${appBaseUrl}/installed`, opts.body ?? this.installPayload(), token);
  }

  /** POST /uninstalled to the app, signed (RS256). */
  uninstall(appBaseUrl: string) {
    const token = this.lifecycleToken(appBaseUrl, "/uninstalled");
    return post(`${appBaseUrl}/uninstalled`, this.installPayload("uninstalled"), token);
  }

  /** POST /webhooks/<event> to the app, signed like Confluence (HS256, iss = clientKey). */
  sendWebhook(
    appBaseUrl: string,
    event: string,
    body: unknown,
    opts: { token?: string | null; rawBody?: string } = {},
  ) {
    const path = `/webhooks/${event}`;
    const token = opts.token === undefined ? this.signRequest("POST", path) : opts.token;
    return post(`${appBaseUrl}${path}`, opts.rawBody ?? body, token);
  }

  // ---- REST API (what the app calls; signed by the app as itself) ----

  private handle(req: http.IncomingMessage, res: http.ServerResponse): Sent {
    const url = new URL(req.url ?? "/", this.url);
    this.requests.push({ method: req.method ?? "GET", path: `${url.pathname}${url.search}` });
    const send = (status: number, body: unknown): Sent => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
      return SENT;
    };
    if (url.pathname.startsWith("/connect-keys/")) {
      const kid = decodeURIComponent(url.pathname.slice("/connect-keys/".length));
      const key = KEY_RING.get(kid);
      if (!key) return send(404, { message: "no such key" });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(key);
      return SENT;
    }
    if (url.pathname.startsWith("/wiki/aa-avatar/")) {
      // Avatars load in the browser without a token, as Confluence's do.
      const id = decodeURIComponent(url.pathname.slice("/wiki/aa-avatar/".length));
      const name = this.users.get(id)?.displayName ?? id;
      const initials = name
        .replace(/<[^>]*>/g, "")
        .split(/\s+/)
        .filter(Boolean)
        .slice(0, 2)
        .map((w) => w[0]?.toUpperCase())
        .join("");
      const hue = [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
      res.writeHead(200, { "content-type": "image/svg+xml", "cache-control": "max-age=3600" });
      res.end(
        `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><circle cx="24" cy="24" r="24" fill="hsl(${hue},55%,45%)"/><text x="24" y="30" font-family="sans-serif" font-size="18" fill="#fff" text-anchor="middle">${initials.replace(/[<&>"]/g, "")}</text></svg>`,
      );
      return SENT;
    }
    if (!this.verifyAppToken(req, url)) return send(401, { message: "Unauthorized" });

    const path = url.pathname;
    if (this.unavailable?.test(path)) {
      return send(503, { statusCode: 503, message: "Service Unavailable" });
    }
    if (path === "/wiki/rest/api/user/bulk") {
      const ids = url.searchParams.getAll("accountId");
      if (ids.length > 100) return send(400, { message: "at most 100 accountIds" });
      const results = ids.flatMap((id) => {
        const u = this.users.get(id);
        return u ? [this.userJson(u)] : [];
      });
      return send(200, { results, start: 0, limit: 100, size: results.length });
    }
    if (path === "/wiki/rest/api/user") {
      const u = this.users.get(url.searchParams.get("accountId") ?? "");
      if (!u) return send(404, { statusCode: 404, message: "No user found" });
      const json: Record<string, unknown> = this.userJson(u);
      if (url.searchParams.get("expand")?.includes("operations")) {
        json.operations = [
          { operation: "use", targetType: "application" },
          ...(u.admin ? [{ operation: "administer", targetType: "application" }] : []),
        ];
      }
      return send(200, json);
    }
    if (path === "/wiki/rest/api/user/memberof") {
      const u = this.users.get(url.searchParams.get("accountId") ?? "");
      if (!u) return send(404, { statusCode: 404, message: "No user found" });
      return send(
        200,
        this.page(
          (u.groups ?? []).map((g) => this.groupJson(g)),
          url,
        ),
      );
    }
    if (path === "/wiki/rest/api/group") {
      const names = [...new Set([...this.users.values()].flatMap((u) => u.groups ?? []))].sort();
      return send(
        200,
        this.page(
          names.map((g) => this.groupJson(g)),
          url,
        ),
      );
    }
    const members = path.match(/^\/wiki\/rest\/api\/group\/([^/]+)\/membersByGroupId$/);
    if (members) {
      const name = groupNameFromId(decodeURIComponent(members[1] ?? ""));
      const users = [...this.users.values()].filter((u) => (u.groups ?? []).includes(name));
      if (users.length === 0) return send(404, { statusCode: 404, message: "No group found" });
      return send(
        200,
        this.page(
          users.map((u) => this.userJson(u)),
          url,
        ),
      );
    }
    if (path === "/wiki/rest/api/group/by-id") {
      // https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-group/#api-wiki-rest-api-group-by-id-get
      const id = url.searchParams.get("id") ?? "";
      const name = groupNameFromId(id);
      const exists = [...this.users.values()].some((u) => (u.groups ?? []).includes(name));
      if (!exists || groupIdFromName(name) !== id) {
        return send(404, { statusCode: 404, message: "No group found" });
      }
      return send(200, { ...this.groupJson(name), _links: { self: `${this.baseUrl}${path}` } });
    }
    if (path === "/wiki/api/v2/spaces") {
      // https://developer.atlassian.com/cloud/confluence/rest/v2/api-group-space/#api-spaces-get
      // `keys` match exactly, as the fake's keys are stored; paged with an opaque cursor.
      const keys = (url.searchParams.get("keys") ?? "").split(",").filter(Boolean);
      const all = [...this.spaces.values()].filter((s) => !keys.length || keys.includes(s.key));
      const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 25) || 25, 1), 250);
      const start = Number(url.searchParams.get("cursor") ?? 0) || 0;
      const results = all.slice(start, start + limit).map((s) => this.spaceV2Json(s));
      const next = new URLSearchParams(url.searchParams);
      next.set("cursor", String(start + limit));
      return send(200, {
        results,
        _links: {
          ...(start + limit < all.length ? { next: `/wiki/api/v2/spaces?${next}` } : {}),
          base: this.baseUrl,
        },
      });
    }
    if (path === "/wiki/rest/api/search/user") {
      // https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-search/#api-wiki-rest-api-search-user-get
      // Understands `user.fullname~"words"`: each word starts a word of the name, any case.
      const cql = url.searchParams.get("cql") ?? "";
      const m = cql.match(/^user\.fullname\s*~\s*"([^"\\]*)"$/);
      if (!m) return send(400, { statusCode: 400, message: `Could not parse cql : ${cql}` });
      const users = [...this.users.values()].filter((u) => wordsStart(u.displayName, m[1] ?? ""));
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 25) || 25, 1000);
      const results = users.slice(0, limit).map((u) => ({
        user: this.userJson(u),
        title: u.displayName,
        excerpt: "",
        url: `/people/${encodeURIComponent(u.accountId)}`,
        breadcrumbs: [],
        entityType: "user",
        iconCssClass: "aui-icon content-type-profile",
        lastModified: "2026-11-01T00:00:00.000Z",
        score: 0,
      }));
      return send(200, {
        results,
        start: 0,
        limit,
        size: results.length,
        totalSize: users.length,
        cqlQuery: cql,
        searchDuration: 3,
        _links: { base: this.baseUrl, context: "/wiki" },
      });
    }
    if (path === "/wiki/rest/api/search") {
      // https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-search/#api-wiki-rest-api-search-get
      // Understands `type=space AND space.title~"words*"` (each word starts a word of the name).
      const cql = url.searchParams.get("cql") ?? "";
      const m = cql.match(/^type\s*=\s*space\s+AND\s+space\.title\s*~\s*"([^"\\]*)"$/i);
      if (!m) return send(400, { statusCode: 400, message: `Could not parse cql : ${cql}` });
      const words = (m[1] ?? "").replace(/\*$/, "");
      const spaces = [...this.spaces.values()].filter((s) => wordsStart(s.name, words));
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 25) || 25, 1000);
      const results = spaces.slice(0, limit).map((s) => ({
        space: {
          id: this.spaceId(s),
          key: s.key,
          name: s.name,
          type: "global",
          status: "current",
          _links: { webui: `/spaces/${s.key}`, self: `${this.baseUrl}/rest/api/space/${s.key}` },
        },
        title: s.name,
        excerpt: "",
        url: `/spaces/${s.key}`,
        resultGlobalContainer: { title: s.name, displayUrl: `/spaces/${s.key}` },
        breadcrumbs: [],
        entityType: "space",
        iconCssClass: "aui-icon content-type-space",
        lastModified: "2026-11-01T00:00:00.000Z",
        score: 0,
      }));
      return send(200, {
        results,
        start: 0,
        limit,
        size: results.length,
        totalSize: spaces.length,
        cqlQuery: cql,
        searchDuration: 5,
        _links: { base: this.baseUrl, context: "/wiki" },
      });
    }
    const space = path.match(/^\/wiki\/rest\/api\/space\/([^/]+)$/);
    if (space) {
      const s = this.spaces.get(decodeURIComponent(space[1] ?? ""));
      if (!s) return send(404, { statusCode: 404, message: "No space found" });
      const permissions = [
        ...(s.admins?.users ?? []).map((accountId) => ({
          operation: { operation: "administer", targetType: "space" },
          subjects: {
            user: {
              results: [
                this.userJson(this.users.get(accountId) ?? { accountId, displayName: accountId }),
              ],
              size: 1,
            },
          },
        })),
        ...(s.admins?.groups ?? []).map((g) => ({
          operation: { operation: "administer", targetType: "space" },
          subjects: { group: { results: [this.groupJson(g)], size: 1 } },
        })),
      ];
      return send(200, { id: 1, key: s.key, name: s.name, type: "global", permissions });
    }
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      res.writeHead(429, { "content-type": "application/json", "Retry-After": "1" });
      res.end(JSON.stringify({ message: "Rate limit exceeded" }));
      return SENT;
    }
    if (path === "/wiki/rest/atlassian-connect/latest/report-accounts" && req.method === "POST") {
      // https://developer.atlassian.com/cloud/confluence/user-privacy-developer-guide/
      let accounts: { accountId: string; updatedAt: string }[] = [];
      try {
        accounts = (JSON.parse(this.lastBody) as { accounts: typeof accounts }).accounts ?? [];
      } catch {
        return send(400, { message: "bad body" });
      }
      if (accounts.length > 90) return send(400, { message: "at most 90 accounts" });
      this.reportedAccounts.push(accounts);
      const changed = accounts.flatMap((a) => {
        const status = this.accountStatuses.get(a.accountId);
        return status ? [{ accountId: a.accountId, status }] : [];
      });
      if (changed.length === 0) {
        res.writeHead(204, { "Cycle-Period": "604800" });
        res.end();
        return SENT;
      }
      res.writeHead(200, { "content-type": "application/json", "Cycle-Period": "604800" });
      res.end(JSON.stringify({ accounts: changed }));
      return SENT;
    }
    return send(404, { statusCode: 404, message: `Fake Confluence has no ${req.method} ${path}` });
  }

  /** REST calls from the app are JWT-signed with the shared secret, qsh over the path after /wiki. */
  private verifyAppToken(req: http.IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("JWT ")) return false;
    try {
      const claims = jwt.decodeSymmetric(
        header.slice(4),
        this.sharedSecret,
        jwt.SymmetricAlgorithm.HS256,
      );
      const method = req.method ?? "GET";
      const full = `${url.pathname}${url.search}`;
      const candidates = [full, full.replace(/^\/wiki/, "")].map((p) =>
        jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, p)),
      );
      return claims.iss === this.appKey && candidates.includes(claims.qsh);
    } catch {
      return false;
    }
  }

  private page<T>(all: T[], url: URL) {
    const start = Number(url.searchParams.get("start") ?? 0);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 25), 200);
    const results = all.slice(start, start + limit);
    return {
      results,
      start,
      limit,
      size: results.length,
      _links: start + limit < all.length ? { next: "more" } : {},
    };
  }

  private userJson(u: FakeUser) {
    return {
      type: "known",
      accountId: u.accountId,
      accountType: u.accountType ?? "atlassian",
      email: "",
      publicName: u.displayName,
      displayName: u.displayName,
      profilePicture: {
        path: `/wiki/aa-avatar/${encodeURIComponent(u.accountId)}`,
        width: 48,
        height: 48,
        isDefault: false,
      },
      _links: {
        self: `${this.baseUrl}/rest/api/user?accountId=${encodeURIComponent(u.accountId)}`,
      },
    };
  }

  private spaceId(s: FakeSpace): number {
    return 98_300 + [...this.spaces.keys()].indexOf(s.key);
  }

  private spaceV2Json(s: FakeSpace) {
    return {
      id: String(this.spaceId(s)),
      key: s.key,
      name: s.name,
      type: "global",
      status: "current",
      authorId: "557058:fake-author",
      createdAt: "2026-01-01T00:00:00.000Z",
      homepageId: String(this.spaceId(s) * 10),
      description: null,
      icon: null,
      _links: { webui: `/spaces/${s.key}` },
    };
  }

  private groupJson(name: string) {
    return { type: "group", name, id: groupIdFromName(name) };
  }
}

export function groupIdFromName(name: string): string {
  return `group-${Buffer.from(name).toString("hex")}`;
}

/** Whether each of the search's words starts a word of `text`, any case (as Confluence's "~"). */
function wordsStart(text: string, query: string): boolean {
  const words = text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
  const wanted = query
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
  return wanted.length > 0 && wanted.every((w) => words.some((x) => x.startsWith(w)));
}

function groupNameFromId(id: string): string {
  return Buffer.from(id.replace(/^group-/, ""), "hex").toString();
}

async function post(url: string, body: unknown, token: string | null): Promise<SignedResponse> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `JWT ${token}`;
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text, json: () => JSON.parse(text) };
}
