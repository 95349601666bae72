import { LocalPresence, type MatchMakerDriver, type Presence, Server } from "@colyseus/core";
import { RedisPresence } from "@colyseus/redis-presence";
import type { Express } from "express";
import type { ActorRuntime, RoomClass } from "./actors/runtime/ActorRuntime.js";
import { AtomicRedisDriver } from "./actors/runtime/AtomicRedisDriver.js";
import { IndexedLocalDriver } from "./actors/runtime/IndexedLocalDriver.js";
import { placeActor } from "./actors/runtime/placement.js";
import type { Logger } from "./logger.js";
import { roomDefinitions } from "./rooms/index.js";
import { StaggeredPingTransport } from "./rooms/StaggeredPingTransport.js";

export interface RealtimeOptions {
  readonly redisUrl: string | undefined;
  readonly publicAddress: string | undefined;
  readonly httpApp: Express;
  readonly logger: Logger;
  readonly actorRuntime: ActorRuntime;
  /** Browser origins allowed to open sockets (`*`: any); clients without `Origin` are apps. */
  readonly corsOrigins: readonly string[];
  /** Room adapters of client-facing actor kinds (the user room). */
  readonly roomAdapters: ReadonlyMap<string, RoomClass>;
}

/**
 * Transport settings chosen deliberately (shared/notes/colyseus-0.18.md): the stock 3 s ping
 * walks every socket at once and froze the loop for ≈200 ms at 10,000 clients; 25 s is what load
 * balancers assume, and the pings are spread over those 25 s (StaggeredPingTransport). Payloads
 * above 64 KiB are refused at the frame level.
 */
const TRANSPORT = { pingInterval: 25_000, pingMaxRetries: 2, maxPayload: 64 * 1024 } as const;

/** Same rule as the REST CORS allowlist; native apps and servers send no `Origin`. */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  return origin === undefined || origin === "" || allowed.includes("*") || allowed.includes(origin);
}

/**
 * Colyseus' in-process presence. Every member of a group chat (and everyone following a user's
 * presence) listens on one channel, so a channel has as many listeners as members: lift Node's
 * "possible leak" warning at 10, as RedisPresence does for its own emitter.
 */
function localPresence(): LocalPresence {
  const presence = new LocalPresence();
  (
    presence as unknown as { subscriptions: { setMaxListeners(n: number): void } }
  ).subscriptions.setMaxListeners(0);
  return presence;
}

/** Builds (but does not start) the Colyseus server with the REST app mounted under it. */
export function createRealtimeServer(options: RealtimeOptions): Server {
  const presence: Presence = options.redisUrl ? new RedisPresence(options.redisUrl) : localPresence();
  const driver: MatchMakerDriver = options.redisUrl
    ? new AtomicRedisDriver(options.redisUrl)
    : new IndexedLocalDriver();
  const server = new Server({
    transport: new StaggeredPingTransport({
      ...TRANSPORT,
      // A browser page from another site must not open a socket with a user's token (CSWSH).
      verifyClient: ({ origin }: { origin?: string }) => originAllowed(options.corsOrigins, origin),
    }),
    presence,
    driver,
    ...(options.publicAddress ? { publicAddress: options.publicAddress } : {}),
    selectProcessIdToCreateRoom: placeActor,
    gracefullyShutdown: false,
    greet: false,
    logger: options.logger.child({ component: "colyseus" }),
    express: (app) => {
      app.use(options.httpApp);
    },
  });
  for (const [name, handler] of Object.entries(roomDefinitions())) server.define(name, handler.klass);
  options.actorRuntime.registerRooms(server, options.roomAdapters);
  return server;
}
