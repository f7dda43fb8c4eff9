/**
 * The app under fuzz, in its own process (started by fuzz-app.ts, never by vitest directly).
 *
 * Why a process of its own: an input that makes the app loop synchronously (say, a date range
 * that never ends) blocks the event loop it runs on. In the test's own process that would stop
 * the very timers meant to notice it; here, the parent notices, kills this process and starts
 * a fresh one, and the suite goes on.
 *
 * Starts the real app with startTestApp() (PGlite, or PostgreSQL with DATABASE_URL), installs a
 * second fake site into the same app, gives each site a Confluence admin, a space admin and a
 * plain user, seeds a little activity, then tells the parent (IPC) the URL and each site's
 * clientKey and shared secret, and answers the parent's database queries and log reads.
 */
import { pathToFileURL } from "node:url";
import { FakeConfluence } from "../../src/dev/fake-confluence.js";
import { payloadFor } from "../../src/dev/payloads.js";
import {
  type FromChild,
  FUZZ_ACTIVE,
  FUZZ_SPACES,
  FUZZ_USERS,
  type ToChild,
} from "./fuzz-fixtures.js";
import { startTestApp, type TestApp } from "./harness.js";

function populate(fake: FakeConfluence): void {
  const add = (accountId: string, displayName: string, extra: object = {}) =>
    fake.users.set(accountId, { accountId, displayName, groups: ["confluence-users"], ...extra });
  add(FUZZ_USERS.admin, "Site Admin", { admin: true });
  add(FUZZ_USERS.spaceAdmin, "Space Admin", { groups: ["confluence-users", "eng-leads"] });
  add(FUZZ_USERS.user, "Plain User");
  add("alice", "Alice Archer", { groups: ["confluence-users", "writers"] });
  add("bob", "Bob Builder");
  add("=cmd", "Formula Person");
  add("<b>mallory</b>", "<b>Mallory</b>");
  fake.spaces.set("ENG", {
    key: "ENG",
    name: "Engineering",
    admins: { users: [FUZZ_USERS.spaceAdmin], groups: ["eng-leads"] },
  });
  fake.spaces.set("HR", { key: "HR", name: "People", admins: { users: [] } });
  fake.spaces.set("DOCS", { key: "DOCS", name: "Docs", admins: { users: [] } });
}

/** A little activity in each site over the last 40 days, so the reports have rows to read. */
async function seed(appUrl: string, fake: FakeConfluence): Promise<void> {
  const events = ["page_viewed", "page_created", "page_updated", "comment_created", "blog_viewed"];
  const people = [...FUZZ_ACTIVE, FUZZ_USERS.spaceAdmin];
  const now = Date.now();
  // All at once: the group commit writes them in a few transactions (a faster restart).
  const sends = Array.from({ length: 60 }, (_, i) => {
    const event = events[i % events.length] ?? "page_viewed";
    return fake
      .sendWebhook(
        appUrl,
        event,
        payloadFor(event, {
          accountId: people[i % people.length] ?? "alice",
          spaceKey: FUZZ_SPACES[i % FUZZ_SPACES.length],
          contentId: String(1000 + (i % 7)),
          timestamp: now - ((i * 15.7) % 40) * 86_400_000,
        }),
      )
      .then((res) => {
        if (res.status !== 204) throw new Error(`seeding ${event}: ${res.status} ${res.body}`);
      });
  });
  await Promise.all(sends);
}

const send = (message: FromChild) => process.send?.(message);

/** Error lines kept while the log buffer was trimmed, not yet handed to the parent. */
const pending: string[] = [];

/** Error-level lines (pino level >= 50), trimmed, since the last call; empties the buffer. */
function drainErrors(app: TestApp): string[] {
  const lines = [
    ...pending.splice(0),
    ...app.logs.filter((l) => /"level":(5\d|60)/.test(l)).map((l) => l.slice(0, 1500)),
  ];
  app.logs.length = 0;
  return lines;
}

async function main(): Promise<void> {
  let t: TestApp | undefined;
  const others: FakeConfluence[] = [];
  try {
    t = await startTestApp();
    const second = await new FakeConfluence().start();
    others.push(second);
    const fakes = [t.fake, second];
    for (const fake of fakes) {
      populate(fake);
      const res = await fake.install(t.url);
      if (res.status !== 204) throw new Error(`install: ${res.status} ${res.body}`);
    }
    const appUrl = t.url;
    await Promise.all(fakes.map((fake) => seed(appUrl, fake)));
  } catch (error) {
    send({
      op: "failed",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    process.exit(1);
  }
  const app = t;
  process.on("message", async (message: ToChild) => {
    try {
      if (message.op === "query") {
        const result = await app.db.raw(message.sql, message.bindings as never);
        send({ id: message.id, ok: true, result: result.rows });
      } else if (message.op === "errors") {
        send({ id: message.id, ok: true, result: drainErrors(app) });
      } else if (message.op === "stop") {
        await app.stop();
        for (const fake of others) await fake.stop();
        send({ id: message.id, ok: true, result: null });
        process.exit(0);
      }
    } catch (error) {
      send({
        id: message.id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
  // Only error lines are ever asked for: keep the log buffer from growing over a long run.
  setInterval(() => {
    if (app.logs.length > 5000) pending.push(...drainErrors(app).slice(-200));
  }, 2000).unref();
  // The parent went away (crash or kill): do not outlive it.
  process.on("disconnect", () => process.exit(0));
  send({
    op: "ready",
    url: app.url,
    sites: [app.fake, ...others].map((f) => ({
      clientKey: f.clientKey,
      sharedSecret: f.sharedSecret,
    })),
  });
}

if (process.send && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
