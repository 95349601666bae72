import { type AddressInfo, createServer, type Server, Socket } from "node:net";

export type FaultMode = "pass" | "blackhole" | "reset" | { delayMs: number };

export interface FaultProxy {
  readonly port: number;
  /** Changes what happens to traffic from now on (existing connections included). */
  set(mode: FaultMode): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy for fault tests: passes traffic, delays it, holds it while keeping
 * connections open (a partition as TCP sees it: no RST, no FIN, nothing delivered until it
 * heals), or resets every connection and refuses new ones.
 */
export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  let mode: FaultMode = "pass";
  const pairs = new Set<[Socket, Socket]>();

  const forward = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (mode === "reset") return;
      if (mode === "pass" || mode === "blackhole") to.write(chunk);
      else setTimeout(() => to.writable && to.write(chunk), mode.delayMs);
    });
    // A blackholed connection stops reading: bytes wait (as TCP retransmits them) and flow in
    // order once the partition heals — a partition delays a stream, it never drops bytes from it.
    if (mode === "blackhole") from.pause();
    from.on("error", () => to.destroy());
    from.on("close", () => to.destroy());
  };

  const server: Server = createServer((client) => {
    if (mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(upstreamPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("close", () => pairs.delete(pair));
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    set(next) {
      mode = next;
      for (const [a, b] of pairs) {
        if (next === "blackhole") {
          a.pause();
          b.pause();
        } else if (next !== "reset") {
          a.resume();
          b.resume();
        }
      }
      if (next !== "reset") return;
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
