/**
 * A Lovecraft node with a test actor kind and a small HTTP surface to drive the runtime from
 * cluster tests: `POST /test/call {kind, id, command, key?}` and `GET /test/actors`.
 */
import express from "express";
import { type ConfigError, loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { startNode } from "../../server/node.js";
import { counterActor } from "./counterActor.js";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  process.stderr.write(`${(err as ConfigError).message}\n`);
  process.exit(1);
}
const logger = createLogger({ level: config.logLevel });
const node = await startNode(config, logger, {
  actorDefinitions: [counterActor],
  routes: (app, actors) => {
    app.post("/test/call", express.json(), async (req, res) => {
      const body = req.body as {
        kind: string;
        id: string;
        command: unknown;
        key?: string;
        timeoutMs?: number;
      };
      const options = {
        ...(body.key ? { key: body.key } : {}),
        ...(body.timeoutMs ? { timeoutMs: body.timeoutMs } : {}),
      };
      res.json(await actors.call({ kind: body.kind, id: body.id }, body.command, options));
    });
    app.get("/test/actors", (_req, res) => {
      res.json([...actors.localActors()].map((r) => ({ roomId: r.roomId, epoch: r.host?.epoch ?? 0 })));
    });
  },
});
process.once("SIGTERM", () => void node.stop("SIGTERM").then(() => process.exit(0)));
process.once("SIGINT", () => void node.stop("SIGINT").then(() => process.exit(0)));
