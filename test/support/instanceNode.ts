/**
 * A Lovecraft node for fault tests that must see every live actor *instance*, not only the one
 * the runtime currently maps an id to. `GET /test/actors` (testNode.ts) lists the runtime's
 * `active` map, which is keyed by room id: a second instance of the same actor on the same
 * process would replace the first there and stay invisible. This node records every room that
 * got an actor host and serves `GET /test/instances`: each instance whose host is still active,
 * with its epoch and whether it is the room Colyseus routes that id to on this process
 * (`registered`; an active instance that is not registered is unreachable — an orphan).
 */
import { matchMaker } from "@colyseus/core";
import type { ActorRoom } from "../../server/actors/runtime/ActorRoom.js";
import { type ConfigError, loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { startNode } from "../../server/node.js";

export interface InstanceView {
  readonly roomId: string;
  readonly epoch: number;
  readonly registered: boolean;
  /** Sockets connected to this instance (user rooms). */
  readonly clients: number;
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  process.stderr.write(`${(err as ConfigError).message}\n`);
  process.exit(1);
}
const logger = createLogger({ level: config.logLevel });
const rooms = new Set<ActorRoom>();
const node = await startNode(config, logger, {
  routes: (app, actors) => {
    // Every activation goes through `hostFor` (first call, first socket, reminder wake).
    const hostFor = actors.hostFor.bind(actors);
    actors.hostFor = (room: ActorRoom) => {
      rooms.add(room);
      return hostFor(room);
    };
    app.get("/test/instances", (_req, res) => {
      const live: InstanceView[] = [];
      for (const room of rooms) {
        const host = room.host;
        if (!host) continue;
        if (!host.isActive) {
          // Activating instances are kept (they may become active); stopped ones are dropped.
          host.whenReady().then(
            () => {
              if (!host.isActive) rooms.delete(room);
            },
            () => rooms.delete(room),
          );
          continue;
        }
        live.push({
          roomId: room.roomId,
          epoch: host.epoch,
          registered: matchMaker.getLocalRoomById(room.roomId) === room,
          clients: room.clients.length,
        });
      }
      res.json(live);
    });
  },
});
process.once("SIGTERM", () => void node.stop("SIGTERM").then(() => process.exit(0)));
process.once("SIGINT", () => void node.stop("SIGINT").then(() => process.exit(0)));
