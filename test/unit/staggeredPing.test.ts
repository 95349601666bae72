import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { StaggeredPingTransport } from "../../server/rooms/StaggeredPingTransport.js";
import { waitFor } from "../support/realtimeUsers.js";

/**
 * The transport's keep-alive alone: connections are kept as plain sockets (no room), so only
 * the ping sweep acts on them. Colyseus would close a room-less socket after 1 s.
 */
class KeepAliveOnly extends StaggeredPingTransport {
  protected override async onConnection(raw: WebSocket & { pingCount?: number }): Promise<void> {
    raw.pingCount = 0;
    // What Colyseus' own pong handler does.
    raw.on("pong", () => {
      raw.pingCount = 0;
    });
  }
}

const INTERVAL_MS = 600;

describe("staggered keep-alive pings", () => {
  let transport: KeepAliveOnly | undefined;
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    transport?.shutdown();
  });

  async function start(): Promise<string> {
    transport = new KeepAliveOnly({ pingInterval: INTERVAL_MS, pingMaxRetries: 2 });
    const server = transport.server as NonNullable<typeof transport.server>;
    await new Promise<void>((resolve) => transport?.listen(0, "127.0.0.1", undefined, () => resolve()));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  async function open(url: string, autoPong = true): Promise<WebSocket> {
    const ws = new WebSocket(url, { autoPong });
    sockets.push(ws);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return ws;
  }

  it("pings every socket once per interval, spread over the interval instead of all at once", async () => {
    const url = await start();
    const clients = await Promise.all(Array.from({ length: 60 }, () => open(url)));
    const pings = new Map<WebSocket, number[]>(clients.map((c) => [c, []]));
    for (const c of clients) c.on("ping", () => pings.get(c)?.push(performance.now()));
    // Two full rounds: every socket answered, so none is dropped, and each got its pings.
    await waitFor(() => [...pings.values()].every((p) => p.length >= 2), "two pings each", 10 * INTERVAL_MS);
    expect(clients.every((c) => c.readyState === WebSocket.OPEN)).toBe(true);
    // The stock sweep pings all 60 in one callback (one arrival instant, within a few ms); spread,
    // the first pings of a round arrive over many separate moments of the interval.
    const firsts = [...pings.values()].map((p) => Math.floor((p[0] as number) / 10));
    expect(new Set(firsts).size).toBeGreaterThanOrEqual(10);
    // One per interval per socket, not more (a slice is pinged once per round).
    for (const p of pings.values()) {
      const gaps = p.slice(1).map((t, i) => t - (p[i] as number));
      for (const gap of gaps) expect(gap).toBeGreaterThan(INTERVAL_MS / 2);
    }
  });

  it("terminates a socket that stops answering pings and keeps the ones that answer", async () => {
    const url = await start();
    const alive = await open(url);
    const silent = await open(url, false);
    const closed = new Promise<number>((resolve) => silent.once("close", (code) => resolve(code)));
    // Two unanswered pings, then termination on its third turn: about three intervals.
    const code = await closed;
    expect(code).toBe(1006); // terminated: no close frame
    expect(alive.readyState).toBe(WebSocket.OPEN);
  }, 15_000);
});
