import { type AddressInfo, createServer, type Server, Socket } from "node:net";

/**
 * One HTTP request as a loopback TCP proxy saw it go by. The proxy does not parse HTTP: a
 * request starts with the first client bytes after the previous response began (HTTP/1.1
 * clients such as the Azure SDK's never pipeline), which is all a fault test needs to tell
 * "sent, unanswered" from "answered".
 */
export interface SnoopedRequest {
  readonly id: number;
  /** The connection it came on (requests on one connection are sequential). */
  readonly connection: number;
  /** When its first byte reached the proxy. */
  readonly sentAt: number;
  /** Its bytes so far as latin1 text (headers and body; enough to match on). */
  text: string;
  /** Bytes received from the client / passed on upstream so far. */
  bytesIn: number;
  bytesOut: number;
  /** When the first byte of its response came back from upstream (undefined: none yet). */
  respondedAt?: number;
  /** The response's first bytes (status line and headers), once there are any. */
  response: string;
  /** Response bytes passed on to the client. */
  responseBytesOut: number;
}

/**
 * What to do with a request the test picked: `request` holds every byte from `keepFrom` (an offset
 * into the request) on — the client has written them, the server never gets them; `response`
 * passes the request and holds its answer — the server acted on it, the client never learns.
 */
export type Hold = { readonly what: "request"; readonly keepFrom: number } | { readonly what: "response" };

export interface HttpSnoop {
  readonly port: number;
  readonly requests: readonly SnoopedRequest[];
  /**
   * Resolves with the first request for which `pick` returns a hold, asked again on each of its
   * chunks as they arrive from now on; from then on that exchange is held as asked (until the
   * connection closes). Bounded by `timeoutMs`.
   */
  holdFirst(
    pick: (request: SnoopedRequest) => Hold | undefined,
    timeoutMs: number,
  ): Promise<{ request: SnoopedRequest; held: () => number }>;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy that records HTTP requests and can freeze one exchange half-way, so a test
 * can kill a process at a moment it has checked rather than one it hopes for (e.g. "a snapshot
 * write is on the wire and unanswered"). Put it between the process and the real server (or a
 * `faultProxy` in front of it).
 */
export async function startHttpSnoop(upstreamPort: number): Promise<HttpSnoop> {
  const requests: SnoopedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let nextId = 1;
  let picker:
    | {
        pick: (r: SnoopedRequest) => Hold | undefined;
        found: (r: SnoopedRequest, hold: Hold) => void;
      }
    | undefined;
  /** Held state per connection: bytes kept back in each direction. */
  const holds = new Map<number, { hold: Hold; request: SnoopedRequest; kept: Buffer[] }>();

  const server: Server = createServer((client) => {
    const connection = ++connections;
    const upstream = new Socket();
    upstream.connect(upstreamPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    let current: SnoopedRequest | undefined;

    const consider = (request: SnoopedRequest): Hold | undefined => {
      if (!picker || holds.has(connection)) return undefined;
      const hold = picker.pick(request);
      if (!hold) return undefined;
      const found = picker.found;
      picker = undefined;
      holds.set(connection, { hold, request, kept: [] });
      found(request, hold);
      return hold;
    };

    client.on("data", (chunk: Buffer) => {
      if (!current || current.respondedAt !== undefined) {
        current = {
          id: nextId++,
          connection,
          sentAt: Date.now(),
          text: "",
          bytesIn: 0,
          bytesOut: 0,
          response: "",
          responseBytesOut: 0,
        };
        requests.push(current);
      }
      const request = current;
      const offset = request.bytesIn;
      request.text += chunk.toString("latin1");
      request.bytesIn += chunk.length;
      const held = holds.get(connection) ?? (consider(request) && holds.get(connection));
      if (held && held.request === request && held.hold.what === "request") {
        // Pass what comes before `keepFrom`, keep the rest: the server sees a torn request.
        const pass = Math.max(0, Math.min(chunk.length, held.hold.keepFrom - offset));
        if (pass > 0) {
          upstream.write(chunk.subarray(0, pass));
          request.bytesOut += pass;
        }
        if (pass < chunk.length) held.kept.push(chunk.subarray(pass));
        return;
      }
      upstream.write(chunk);
      request.bytesOut += chunk.length;
    });
    upstream.on("data", (chunk: Buffer) => {
      const request = current;
      if (request && request.respondedAt === undefined) {
        request.respondedAt = Date.now();
        request.response = chunk.subarray(0, 512).toString("latin1");
      }
      const held = holds.get(connection);
      if (held && held.hold.what === "response" && held.request === request) {
        held.kept.push(chunk);
        return;
      }
      if (request) request.responseBytesOut += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    port: (server.address() as AddressInfo).port,
    requests,
    holdFirst(pick, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          picker = undefined;
          reject(new Error(`no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const found = (request: SnoopedRequest) => {
          clearTimeout(timer);
          const kept = () => {
            const h = [...holds.values()].find((x) => x.request === request);
            return h ? h.kept.reduce((n, b) => n + b.length, 0) : 0;
          };
          resolve({ request, held: kept });
        };
        picker = { pick, found };
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
