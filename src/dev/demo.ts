/**
 * npm run demo: the app on its embedded database with a fake Confluence, a demo site installed
 * through the real signed lifecycle, a month of activity replayed through signed webhooks, and
 * a host page that embeds each page module in an iframe with a freshly signed JWT, as
 * Confluence does. Development only: it refuses to run with NODE_ENV=production.
 */
import { rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { loadConfig, ROOT_DIR } from "../config.js";
import { createLogger } from "../log.js";
import { start } from "../server.js";
import { FakeConfluence, type FakeUser } from "./fake-confluence.js";
import { payloadFor } from "./payloads.js";
import { seededRandom } from "./random.js";

export const DEMO_ADMIN = "557058:demo-admin";
export const DEMO_SPACE_ADMIN = "557058:demo-space-admin";

const FIRST = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "Ken",
  "Margaret",
  "Linus",
  "Radia",
  "Tim",
  "Katherine",
  "Dennis",
  "Hedy",
  "John",
  "Sophie",
  "Niklaus",
  "Anita",
  "Guido",
];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Allen",
  "Thompson",
  "Hamilton",
  "Torvalds",
  "Perlman",
  "Berners-Lee",
  "Johnson",
  "Ritchie",
  "Lamarr",
  "McCarthy",
  "Wilson",
  "Wirth",
  "Borg",
  "van Rossum",
];
export const DEMO_SPACES = ["ENG", "PRODUCT", "SUPPORT", "HR", "SALES", "DESIGN"];
/** A display name with markup: pages must show it as text. */
export const MARKUP_NAME = '<img src=x onerror="alert(1)"> Mallory <b>Bold</b>';

const MIX: [string, number][] = [
  ["page_viewed", 58],
  ["blog_viewed", 6],
  ["search_performed", 4],
  ["page_updated", 10],
  ["page_created", 4],
  ["comment_created", 6],
  ["like_added", 4],
  ["attachment_created", 2],
  ["label_added", 2],
  ["page_moved", 1],
  ["page_trashed", 1],
  ["space_updated", 1],
  ["group_created", 1],
];

export interface Demo {
  appUrl: string;
  hostUrl: string;
  fake: FakeConfluence;
  users: FakeUser[];
  events: number;
  stop(): Promise<void>;
}

/** People of the demo site, with groups and roles. */
function demoUsers(): FakeUser[] {
  const users: FakeUser[] = [
    {
      accountId: DEMO_ADMIN,
      displayName: "Dana Admin",
      admin: true,
      groups: ["confluence-users", "site-admins"],
    },
    {
      accountId: DEMO_SPACE_ADMIN,
      displayName: "Sam Spaceadmin",
      groups: ["confluence-users", "eng-leads"],
    },
    { accountId: "557058:demo-markup", displayName: MARKUP_NAME, groups: ["confluence-users"] },
  ];
  for (let i = 0; i < 37; i++) {
    users.push({
      accountId: `557058:demo-${String(i).padStart(2, "0")}`,
      displayName: `${FIRST[i % FIRST.length]} ${LAST[(i * 7 + Math.floor(i / FIRST.length)) % LAST.length]}`,
      groups: [
        "confluence-users",
        i % 3 === 0 ? "engineering" : i % 3 === 1 ? "product" : "support",
      ],
    });
  }
  return users;
}

export async function startDemo(
  opts: { port?: number; hostPort?: number; dataDir?: string; days?: number; events?: number } = {},
): Promise<Demo> {
  const config0 = loadConfig();
  if (config0.env === "production")
    throw new Error("The demo is for development only (NODE_ENV=production).");
  const dataDir = opts.dataDir ?? path.join(ROOT_DIR, ".data-demo");
  await rm(dataDir, { recursive: true, force: true });

  const fake = await new FakeConfluence({ clientKey: "demo-site" }).start();
  const users = demoUsers();
  for (const u of users) fake.users.set(u.accountId, u);
  for (const key of DEMO_SPACES) {
    fake.spaces.set(key, {
      key,
      name: key[0] + key.slice(1).toLowerCase(),
      admins: key === "ENG" ? { users: [DEMO_SPACE_ADMIN], groups: ["eng-leads"] } : { users: [] },
    });
  }
  process.env.CONNECT_KEYS_CDN_URL = fake.keysUrl;
  const days = opts.days ?? 30;
  const config = {
    ...config0,
    // The demo's history is sent as webhooks dated in the past: keep their dates.
    ingest: { ...config0.ingest, maxEventAgeMs: (days + 1) * 86_400_000 },
    port: opts.port ?? config0.port,
    hostWhitelist: "127.0.0.1",
    database: { kind: "pglite" as const, dataDir },
  };
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const app = await start(config, logger);
  const installed = await fake.install(app.url);
  if (installed.status !== 204)
    throw new Error(`demo install failed: ${installed.status} ${installed.body}`);

  // A month of activity: a few busy people, many occasional ones, working hours, quiet weekends.
  const rand = seededRandom(7);
  const total = opts.events ?? 2500;
  const weights = users.map((_, i) => 1 / (i + 2) ** 0.9);
  const sum = weights.reduce((a, b) => a + b, 0);
  const mixTotal = MIX.reduce((a, [, w]) => a + w, 0);
  const now = Date.now();
  const jobs: { event: string; body: Record<string, unknown> }[] = [];
  while (jobs.length < total) {
    let x = rand() * sum - (weights[0] as number);
    let u = 0;
    while (u < users.length - 1 && x > 0) {
      u++;
      x -= weights[u] as number;
    }
    const dayAgo = Math.floor(rand() * days);
    const at = now - dayAgo * 86_400_000 - Math.floor(rand() * 9 * 3_600_000) - 3_600_000;
    const weekday = new Date(at).getUTCDay();
    if ((weekday === 0 || weekday === 6) && rand() < 0.8) continue;
    const pickMix = rand() * mixTotal;
    let acc = 0;
    let event = MIX[0]?.[0] as string;
    for (const [name, w] of MIX) {
      acc += w;
      if (acc > pickMix) {
        event = name;
        break;
      }
    }
    const user = users[u] as FakeUser;
    const spaceIndex = Math.floor(rand() ** 1.5 * DEMO_SPACES.length);
    const space = DEMO_SPACES[spaceIndex] as string;
    const page = 10_000 * (spaceIndex + 1) + Math.floor(rand() * 40);
    jobs.push({
      event,
      body: payloadFor(event, {
        accountId: user.accountId,
        spaceKey: space,
        contentId: String(page),
        title:
          event.startsWith("page_") || event.startsWith("like")
            ? `${space} page ${page}`
            : undefined,
        timestamp: at,
        baseUrl: fake.baseUrl,
      }),
    });
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as (typeof jobs)[number];
        const res = await fake.sendWebhook(app.url, job.event, job.body);
        if (res.status !== 204)
          throw new Error(`demo webhook ${job.event} answered ${res.status}: ${res.body}`);
      }
    }),
  );

  const host = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const viewer = url.searchParams.get("as") === "space-admin" ? DEMO_SPACE_ADMIN : DEMO_ADMIN;
    const module = url.searchParams.get("module") === "space" ? "space" : "global";
    const theme = url.searchParams.get("theme") === "dark" ? "dark" : "light";
    const modulePath =
      module === "space" ? "/pages/space-activity-report?spaceKey=ENG" : "/pages/activity-report";
    // A deep link's view (filters, tab) goes to the frame's fragment, as Confluence hands
    // AP.history's state to the app: never into the signed query.
    const view = url.searchParams.get("view");
    const src = `${signedModuleUrl(fake, app.url, modulePath, viewer, theme)}${view ? `#${view}` : ""}`;
    const link = (label: string, q: string) => `<a href="/?${q}">${label}</a>`;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo Confluence</title>
<style>body{margin:0;font-family:system-ui,sans-serif;background:${theme === "dark" ? "#1d2125" : "#f7f8f9"};color:${theme === "dark" ? "#b6c2cf" : "#172b4d"}}
nav{display:flex;gap:16px;padding:12px 20px;background:#0c66e4;color:#fff}nav a{color:#fff}
iframe{display:block;width:100%;height:calc(100vh - 46px);border:0}</style></head><body>
<nav aria-label="Demo"><strong>Demo Confluence</strong>
${link("Apps → Activity Report", "module=global")}
${link("Space ENG → Activity Report", "module=space")}
${link("As a space admin (ENG)", "module=space&as=space-admin")}
${link("Global as space admin (refused)", "module=global&as=space-admin")}
${link("Dark", `module=${module}&theme=dark`)}</nav>
<iframe title="Activity Report" src="${src.replace(/"/g, "&quot;")}"></iframe></body></html>`);
  });
  await new Promise<void>((resolve) => host.listen(opts.hostPort ?? 0, "127.0.0.1", resolve));
  const hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/`;

  return {
    appUrl: app.url,
    hostUrl,
    fake,
    users,
    events: jobs.length,
    async stop() {
      await new Promise<void>((resolve) => {
        host.close(() => resolve());
        host.closeAllConnections();
      });
      await app.stop();
      await fake.stop();
    },
  };
}

/**
 * The URL Confluence loads a module at: the module URL plus the context parameters it
 * appends, signed with the tenant's secret (qsh over the URL without `jwt`), `sub` = viewer.
 */
export function signedModuleUrl(
  fake: FakeConfluence,
  appUrl: string,
  modulePath: string,
  viewer: string,
  theme?: "light" | "dark",
): string {
  const url = new URL(modulePath, appUrl);
  url.searchParams.set("xdm_e", fake.url);
  url.searchParams.set("xdm_c", "channel-activity-report");
  url.searchParams.set("cp", "/wiki");
  url.searchParams.set("lic", "none");
  url.searchParams.set("cv", "1001.0.0-SNAPSHOT");
  if (theme) url.searchParams.set("theme", theme);
  const token = fake.signRequest("GET", `${url.pathname}${url.search}`, { sub: viewer });
  url.searchParams.set("jwt", token);
  return url.toString();
}

async function main() {
  const demo = await startDemo({
    port: Number(process.env.PORT ?? 3000),
    hostPort: Number(process.env.DEMO_HOST_PORT ?? 3001),
  });
  process.stdout.write(
    `\nDemo ready: ${demo.events} events replayed for ${demo.users.length} people.\n` +
      `Open ${demo.hostUrl} (a stand-in for Confluence that embeds the app's pages).\n` +
      `App: ${demo.appUrl}  Fake Confluence: ${demo.fake.url}\nCtrl+C to stop.\n`,
  );
  const stop = () => demo.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
