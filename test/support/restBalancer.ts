import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RestBalancer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the load balancer's REST side: each request goes to the next upstream
 * in turn, skipping ones that refuse the connection (a killed node). Websockets do not pass
 * through it: seat reservations name each node's own address, as in production.
 */
export async function startRestBalancer(upstreams: () => readonly string[]): Promise<RestBalancer> {
  let next = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const targets = upstreams();
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(next + i) % targets.length] as string;
      try {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (typeof v === "string" && k !== "host" && k !== "connection" && k !== "content-length")
            headers[k] = v;
        }
        const answer = await fetch(`${target}${req.url}`, {
          method: req.method ?? "GET",
          headers,
          ...(body.length > 0 ? { body } : {}),
          signal: AbortSignal.timeout(15_000),
        });
        next = (next + i + 1) % targets.length;
        res.writeHead(answer.status, {
          "content-type": answer.headers.get("content-type") ?? "application/json",
        });
        res.end(Buffer.from(await answer.arrayBuffer()));
        return;
      } catch {
        // connection refused or timed out: try the next upstream
      }
    }
    res.writeHead(502).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
