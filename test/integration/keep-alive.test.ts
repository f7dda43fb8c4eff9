import type http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpServer, type HttpTimeouts } from "../../src/server.js";

/**
 * Keep-alive connections and the server's timeouts, with the app's server factory and shorter
 * timeouts. The client is Node's fetch (undici), as in every test, in this same process.
 */
describe("keep-alive connections", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** Listens on a free port; counts the connections the server accepted. */
  const listen = async (timeouts: Partial<HttpTimeouts>) => {
    const s = createHttpServer((_req, res) => res.end("ok"), timeouts);
    server = s;
    const connections: { closedAt?: number }[] = [];
    s.on("connection", (socket: net.Socket) => {
      const c: { closedAt?: number } = {};
      connections.push(c);
      socket.on("close", () => (c.closedAt = performance.now()));
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    const { port } = s.address() as net.AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, port, connections };
  };

  /** Blocks the event loop, from its check phase, the way a long in-process query does. */
  const busyLoop = (ms: number) =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        const end = performance.now() + ms;
        while (performance.now() < end);
        resolve();
      }),
    );

  it("a request sent on a connection while the loop was busy past its idle timeout is answered", async () => {
    // Advertised timeout=3: undici reuses the connection for 1 s of idleness (by its own clock),
    // Node closes it after 4 s.
    const { url, connections } = await listen({ keepAliveTimeout: 3_000 });
    const first = await fetch(url);
    expect(await first.text()).toBe("ok");
    expect(first.headers.get("keep-alive")).toBe("timeout=3");
    // Busy for longer than Node's idle timer: undici's idle timer could not run, so it reuses
    // the connection; its request reaches the server before the server's timers run.
    await busyLoop(4_500);
    const second = await fetch(url).then(
      async (res) => ({ status: res.status, body: await res.text() }),
      (error: Error & { cause?: { code?: string } }) => ({ error: error.cause?.code ?? error }),
    );
    // Before the fix: { error: "ECONNRESET" }.
    expect(second).toEqual({ status: 200, body: "ok" });
    expect(connections).toHaveLength(1);
  }, 20_000);

  it("an idle connection is still closed once its idle timeout is over", async () => {
    const { port, connections } = await listen({ keepAliveTimeout: 1_000 });
    // A raw client that never closes on its own (undici would close it first).
    const socket = net.connect(port, "127.0.0.1");
    const answered = new Promise<number>((resolve) =>
      socket.once("data", () => resolve(performance.now())),
    );
    const ended = new Promise<number>((resolve) =>
      socket.once("end", () => resolve(performance.now())),
    );
    socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    const idleFrom = await answered;
    const closedAt = await ended;
    socket.destroy();
    // Node's timer is keepAliveTimeout + 1 s; the deferred check adds two loop turns.
    expect(closedAt - idleFrom).toBeGreaterThan(1_900);
    expect(closedAt - idleFrom).toBeLessThan(3_000);
    expect(connections).toHaveLength(1);
  }, 20_000);

  it("requestTimeout and headersTimeout do not close an idle keep-alive connection", async () => {
    // Node's connections checker only times requests under way: a connection idle for longer
    // than both, between two requests, is reused (undici reuses it for 8 s here).
    const { url, connections } = await listen({
      headersTimeout: 300,
      requestTimeout: 500,
      connectionsCheckingInterval: 100,
      keepAliveTimeout: 10_000,
    });
    expect(await (await fetch(url)).text()).toBe("ok");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await (await fetch(url)).text()).toBe("ok");
    expect(connections).toHaveLength(1);
    expect(connections[0]?.closedAt).toBeUndefined();
  }, 20_000);
});
