import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadFor } from "../../src/dev/payloads.js";
import { BACKEND, eventCount, startTestApp, type TestApp } from "../support/harness.js";

/**
 * A TCP proxy in front of the real PostgreSQL: closing it is a database outage as the app
 * sees one (connections reset, new ones refused), without touching the shared server.
 */
class PgProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  async up(): Promise<void> {
    if (this.server?.listening) return;
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, "127.0.0.1", resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) =>
      server?.listening ? server.close(() => resolve()) : resolve(),
    );
  }
}

async function listenPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(BACKEND !== "postgres")("database outage (PostgreSQL)", () => {
  let t: TestApp;
  let proxy: PgProxy;

  beforeAll(async () => {
    const real = new URL(process.env.DATABASE_URL ?? "");
    proxy = new PgProxy(
      { host: real.hostname, port: Number(real.port || 5432) },
      await listenPort(),
    );
    await proxy.up();
    t = await startTestApp({ viaPort: proxy.port });
    expect((await t.fake.install(t.url)).status).toBe(204);
  });
  afterAll(async () => {
    await proxy?.up();
    await t?.stop();
    await proxy?.down();
  });

  it("while the database is down webhooks answer 503 and nothing half-written remains; afterwards ingestion resumes by itself", async () => {
    const send = (id: string) =>
      t.fake.sendWebhook(
        t.url,
        "page_viewed",
        payloadFor("page_viewed", { accountId: "u1", contentId: id }),
      );
    expect((await send("1")).status).toBe(204);
    const before = await eventCount(t.db);

    await proxy.down();
    const during = await Promise.all(["2", "3", "4"].map(send));
    for (const res of during) {
      expect(res.status).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: "storage_unavailable" } });
    }
    expect(t.logs.some((l) => l.includes("storage_unavailable"))).toBe(true);

    await proxy.up();
    let status = 0;
    for (let i = 0; i < 50 && status !== 204; i++) {
      status = (await send("5")).status;
      if (status !== 204) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(204);
    expect(await eventCount(t.db)).toBe(before + 1);
  });
});
