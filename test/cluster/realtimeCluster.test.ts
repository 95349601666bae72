import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode, type LovecraftClient } from "../../client/index.js";
import { type RunningAzurite, startAzurite } from "../support/azurite.js";
import { getJson } from "../support/http.js";
import { connectedUser, matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";
import { freePort, type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";
import { type RestBalancer, startRestBalancer } from "../support/restBalancer.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const { run } = redisAvailability();

/**
 * The realtime product on 3 nodes (real redis-server, Azurite): users' rooms and their chat's
 * actor spread over the nodes, REST through a round-robin balancer, websockets straight to each
 * room's node. The chat's node is killed mid-conversation.
 */
describe.runIf(run)("realtime on a 3-node cluster", () => {
  let redis: RunningRedis;
  let azurite: RunningAzurite;
  let balancer: RestBalancer;
  let dir: string;
  const nodes: ServerProcess[] = [];
  const clients: LovecraftClient[] = [];

  const alive = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);

  async function startNode(n: number): Promise<ServerProcess> {
    const port = await freePort();
    const node = await startServerProcess({
      cwd: dir,
      script: "test/support/testNode.ts",
      env: {
        PORT: String(port),
        PUBLIC_ADDRESS: `127.0.0.1:${port}`,
        REDIS_URL: redis.url,
        STORAGE_CONNECTION_STRING: azurite.connectionString,
        DATA_DIR: join(dir, `node${n}`),
        ACTOR_LEASE_MS: "1500",
        ACTOR_CALL_TIMEOUT_MS: "1000",
        DIRECTORY_SWEEP_MS: "1000",
      },
      timeoutMs: 60_000,
    });
    nodes.push(node);
    return node;
  }

  /** The node hosting an actor's room, if any live node does. */
  async function ownerOf(roomId: string): Promise<ServerProcess | undefined> {
    for (const node of alive()) {
      const { body } = await getJson(`${node.baseUrl}/test/actors`);
      if ((body as { roomId: string }[]).some((a) => a.roomId === roomId)) return node;
    }
    return undefined;
  }

  const user = async (name: string): Promise<TestUser> => {
    const u = await connectedUser(balancer.url, name);
    clients.push(u.client);
    return u;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-rt-cluster-"));
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    for (let i = 1; i <= 3; i++) await startNode(i);
    balancer = await startRestBalancer(() => alive().map((n) => n.baseUrl));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await balancer?.close();
    for (const node of nodes) await node.stop("SIGKILL");
    await Promise.all([redis?.stop(), azurite?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("matches and chats across nodes; killing the chat's node loses and duplicates nothing", async () => {
    const alice = await user("Alice");
    const bob = await user("Bob");
    const chatId = await matchUsers(alice, bob);
    const placement = {
      alice: (await ownerOf(`user_${alice.id}`))?.port,
      bob: (await ownerOf(`user_${bob.id}`))?.port,
    };
    const first = await alice.client.send("chat.send", { chatId, text: "m0" });
    expect(first.seq).toBe(1);
    const chatNode = await ownerOf(`chat_${chatId}`);
    expect(chatNode).toBeDefined();
    console.info(
      `placement: alice on ${placement.alice}, bob on ${placement.bob}, chat on ${chatNode?.port} (nodes ${nodes.map((n) => n.port)})`,
    );

    const atBob = record(bob, "chat");
    const sends: Promise<{ seq: number }>[] = [];
    const TOTAL = 40;
    for (let i = 1; i < TOTAL; i++) {
      sends.push(alice.client.send("chat.send", { chatId, text: `m${i}` }));
      if (i % 5 === 0) await Promise.all(sends); // keep a few in flight at a time
      if (i === 15) await chatNode?.stop("SIGKILL");
    }
    const acks = await Promise.all(sends);
    const seqs = [1, ...acks.map((a) => a.seq)];
    expect(new Set(seqs).size).toBe(TOTAL);

    const { messages } = await bob.client.send("chat.history", { chatId, limit: 100 });
    // Every message exactly once. Commands in flight together may take seqs in any order (one
    // sent during the kill is retried and lands later), so the texts are compared as a set.
    expect(messages.map((m) => m.text).sort()).toEqual(
      Array.from({ length: TOTAL }, (_, i) => `m${i}`).sort(),
    );
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    // Bob saw each message once, in order (live or caught up after his own reconnect).
    await waitFor(() => bob.client.lastSeqs()[chatId] === TOTAL, "Bob caught up", 30_000);
    const seenSeqs = atBob.map((e) => e.seq);
    expect(new Set(seenSeqs).size).toBe(seenSeqs.length);
    expect(seenSeqs).toEqual([...seenSeqs].sort((a, b) => a - b));
    expect(await ownerOf(`chat_${chatId}`)).toBeDefined();
  }, 120_000);

  it("a draining node (SIGTERM) moves its users' devices and chats elsewhere without loss", async () => {
    while (alive().length < 3) await startNode(nodes.length + 1);
    const carol = await user("Carol");
    const dave = await user("Dave");
    const chatId = await matchUsers(carol, dave);
    await carol.client.send("chat.send", { chatId, text: "d0" });
    // Drain the node that hosts Dave's room (his device must move), chat wherever it is.
    const daveNode = await ownerOf(`user_${dave.id}`);
    expect(daveNode).toBeDefined();
    const daveStatus = record(dave, "status");
    const atDave = record(dave, "chat");
    const sends: Promise<{ seq: number }>[] = [];
    const TOTAL = 30;
    let drained: Promise<number | string> | undefined;
    for (let i = 1; i < TOTAL; i++) {
      sends.push(carol.client.send("chat.send", { chatId, text: `d${i}` }));
      if (i % 5 === 0) await Promise.all(sends);
      if (i === 10) drained = daveNode?.stop("SIGTERM");
    }
    await Promise.all(sends);
    expect(await drained).toBe(0); // a clean drain: every actor flushed and released
    expect(daveStatus.some((s) => s.code === CloseCode.MOVING)).toBe(true);
    await waitFor(() => dave.client.lastSeqs()[chatId] === TOTAL, "Dave caught up", 30_000);
    const { messages } = await dave.client.send("chat.history", { chatId, limit: 100 });
    expect(messages.map((m) => m.text).sort()).toEqual(
      Array.from({ length: TOTAL }, (_, i) => `d${i}`).sort(),
    );
    const seen = atDave.map((e) => e.seq);
    expect(new Set(seen).size).toBe(seen.length);
    expect(await ownerOf(`user_${dave.id}`)).not.toBe(daveNode);
  }, 120_000);
});
