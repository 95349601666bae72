import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { matchMaker } from "@colyseus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { type RunningNode, startNode } from "../../server/node.js";
import { counterActor } from "../support/counterActor.js";

/**
 * Regression (issue #9, found by test/faults/redisRestart.test.ts): a Redis restart empties the
 * room directory while actors still run. A call from another node then asks the actor's own node
 * to create it again (rendezvous placement picks the same node), which made a second instance
 * there. Colyseus keys a process's rooms, IPC channel and listing by id, so the first instance to
 * dispose unregistered the other: a live, leased, unreachable instance left behind for good.
 * Here the lost listing is simulated on one in-process node, and the creation request is the one
 * a remote node's IPC runs (`handleCreateRoom`).
 */
describe("actor runtime: one instance per actor per process", () => {
  let dir: string;
  let node: RunningNode;
  const ref = { kind: "counter", id: "solo" };
  const roomId = "counter_solo";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-one-instance-"));
    const config = loadConfig({ PORT: "0", DATA_DIR: dir, SEED_CONTENT: "false", LOG_LEVEL: "silent" });
    node = await startNode(config, createLogger({ level: "silent" }), { actorDefinitions: [counterActor] });
  }, 60_000);

  afterAll(async () => {
    await node?.stop("test done");
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to create a running actor again when its listing is lost, and lists the running one again", async () => {
    expect((await node.actors.call(ref, { type: "add", amount: 1 }, { key: "a1" })).ok).toBe(true);
    const running = matchMaker.getLocalRoomById(roomId);
    expect(running).toBeDefined();

    await matchMaker.driver.remove(roomId); // what a Redis restart does to every listing
    expect(await matchMaker.getRoomById(roomId)).toBeUndefined();

    await expect(matchMaker.handleCreateRoom("counter", { actorId: "solo" })).rejects.toThrow(
      /already active on this process/,
    );
    // Still the one instance, registered and listed again: calls reach it, with its state.
    expect(matchMaker.getLocalRoomById(roomId)).toBe(running);
    expect([...node.actors.localActors()]).toEqual([running]);
    expect((await matchMaker.getRoomById(roomId))?.processId).toBe(matchMaker.processId);
    const after = await node.actors.call(ref, { type: "add", amount: 1 }, { key: "a2" });
    expect(after).toEqual({ ok: true, value: { total: 2 } });
  });
});
