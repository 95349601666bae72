import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAzureStorage } from "../../server/persistence/azure/openAzureStorage.js";
import type { Storage } from "../../server/persistence/ports.js";
import { ActorJournal } from "../../server/persistence/stores/ActorJournal.js";
import { type RunningAzurite, startAzurite } from "../support/azurite.js";
import { getJson, type Json } from "../support/http.js";
import { type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const { run } = redisAvailability();

/**
 * The actor runtime across real processes: a real redis-server, Azurite as shared storage, and
 * three node processes running the test actor kind `counter`.
 */
describe.runIf(run)("actor runtime on a 3-node cluster", () => {
  let redis: RunningRedis;
  let azurite: RunningAzurite;
  let storage: Storage;
  let dir: string;
  const nodes: ServerProcess[] = [];
  let nodeCounter = 0;

  async function startNode(): Promise<ServerProcess> {
    const n = ++nodeCounter;
    const node = await startServerProcess({
      cwd: dir,
      script: "test/support/testNode.ts",
      env: {
        REDIS_URL: redis.url,
        STORAGE_CONNECTION_STRING: azurite.connectionString,
        PUBLIC_ADDRESS: `node${n}.test`,
        DATA_DIR: join(dir, `node${n}`),
        ACTOR_LEASE_MS: "1500",
        ACTOR_CALL_TIMEOUT_MS: "1000",
        ACTOR_IDLE_MS: "1500",
        DIRECTORY_SWEEP_MS: "1000",
        LOG_LEVEL: "info",
      },
    });
    nodes.push(node);
    return node;
  }

  const alive = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);

  async function call(node: ServerProcess, id: string, command: unknown, key?: string): Promise<Json> {
    const res = await fetch(`${node.baseUrl}/test/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "counter", id, command, ...(key ? { key } : {}) }),
    });
    return res.json();
  }

  /** Like a real client: re-sends the same key while the answer is a retryable error (bounded). */
  async function callUntilDone(
    node: ServerProcess,
    id: string,
    command: unknown,
    key: string,
  ): Promise<Json> {
    let answer: Json;
    for (let attempt = 0; attempt < 5; attempt++) {
      answer = await call(node, id, command, key);
      if (answer.ok || !answer.error.retryable) return answer;
      retried.push(answer.error.code);
    }
    return answer;
  }
  const retried: string[] = [];

  async function owners(id: string): Promise<{ node: ServerProcess; epoch: number }[]> {
    const found: { node: ServerProcess; epoch: number }[] = [];
    for (const node of alive()) {
      const { body } = await getJson(`${node.baseUrl}/test/actors`);
      for (const a of body as { roomId: string; epoch: number }[]) {
        if (a.roomId === `counter_${id}`) found.push({ node, epoch: a.epoch });
      }
    }
    return found;
  }

  /** Polls (bounded: 100 × 100 ms) until `check` holds. */
  async function eventually(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("condition not met within 10 s");
  }

  const storedEpoch = async (id: string) =>
    (await new ActorJournal(storage.tables, storage.blobs).read(`counter_${id}`))?.epoch;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-actors-"));
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    storage = await openAzureStorage({
      connectionString: azurite.connectionString,
      tables: [],
      containers: [],
    });
    for (let i = 0; i < 3; i++) await startNode();
  }, 120_000);

  afterAll(async () => {
    for (const node of nodes) {
      if (node.child.signalCode === "SIGSTOP" || node.child.exitCode === null) node.child.kill("SIGCONT");
      await node.stop("SIGKILL");
    }
    await Promise.all([redis?.stop(), azurite?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("100 concurrent first calls from all nodes make exactly one activation", async () => {
    const id = "storm";
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callUntilDone(alive()[i % 3] as ServerProcess, id, { type: "add", amount: 1 }, `storm-${i}`),
      ),
    );
    expect(JSON.stringify(results.filter((r) => !r.ok))).toBe("[]");
    if (retried.length > 0)
      console.info(`storm: ${retried.length} retryable answers (${[...new Set(retried)]})`);
    expect((await call(alive()[0] as ServerProcess, id, { type: "get" })).value.total).toBe(100);
    expect(await owners(id)).toHaveLength(1);
    expect(await storedEpoch(id)).toBe(1);
  });

  it("a re-sent key is applied once, from any node", async () => {
    const id = "dedup";
    const [a, b, c] = alive() as [ServerProcess, ServerProcess, ServerProcess];
    const answers = await Promise.all(
      [a, b, c, a].map((n) => callUntilDone(n, id, { type: "add", amount: 7 }, "same-key")),
    );
    expect(answers.map((r) => r.value.total)).toEqual([7, 7, 7, 7]);
    expect((await call(b, id, { type: "get" })).value.total).toBe(7);
  });

  it("delivers outbox commands across nodes exactly once", async () => {
    const sender = "sender";
    for (let i = 0; i < 10; i++) {
      expect(
        (await call(alive()[i % 3] as ServerProcess, sender, { type: "forward", to: "receiver", amount: 1 }))
          .ok,
      ).toBe(true);
    }
    await eventually(
      async () => (await call(alive()[1] as ServerProcess, "receiver", { type: "get" })).value.total === 10,
    );
    expect((await call(alive()[2] as ServerProcess, "receiver", { type: "get" })).value.history).toEqual(
      Array(10).fill(1),
    );
  });

  it("kill -9 of the owner: the next call re-activates on a survivor with every acknowledged effect", async () => {
    const id = "crash";
    const first = alive()[0] as ServerProcess;
    for (let i = 0; i < 20; i++) expect((await call(first, id, { type: "add", amount: 1 })).ok).toBe(true);
    const [owner] = await owners(id);
    expect(owner).toBeDefined();
    await owner?.node.stop("SIGKILL");
    // Nobody calls it: the survivors' directory sweep removes the dead owner's listing by itself.
    const listings = new Redis(redis.url);
    try {
      await eventually(async () => (await listings.hexists("roomcaches", `counter_${id}`)) === 0);
    } finally {
      listings.disconnect();
    }
    const survivor = alive()[0] as ServerProcess;
    const after = await call(survivor, id, { type: "get" });
    expect(after).toMatchObject({ ok: true, value: { total: 20 } });
    expect(await storedEpoch(id)).toBe(2);
    await startNode();
  });

  it("a paused owner whose lease expired is fenced: it cannot write after SIGCONT", async () => {
    const id = "paused";
    const caller = alive()[0] as ServerProcess;
    for (let i = 0; i < 5; i++) await call(caller, id, { type: "add", amount: 1 });
    const [owner] = await owners(id);
    const paused = owner?.node as ServerProcess;
    const others = alive().filter((n) => n !== paused);
    paused.child.kill("SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, 1_600)); // past the 1.5 s lease
      const moved = await call(others[0] as ServerProcess, id, { type: "add", amount: 100 });
      expect(moved).toMatchObject({ ok: true, value: { total: 105 } });
      expect(await storedEpoch(id)).toBe(2);
    } finally {
      paused.child.kill("SIGCONT");
    }
    // The resumed process finds its lease taken and deactivates; its final snapshot is refused.
    await eventually(async () => paused.output().includes('"msg":"actor lease lost; deactivating"'));
    await eventually(async () => !(await owners(id)).some((o) => o.node === paused));
    expect(await storedEpoch(id)).toBe(2);
    expect((await call(others[1] as ServerProcess, id, { type: "get" })).value.total).toBe(105);
  });

  it("idle deactivation then re-activation restores the state", async () => {
    const id = "idle";
    const node = alive()[1] as ServerProcess;
    await call(node, id, { type: "add", amount: 3 });
    await call(node, id, { type: "add", amount: 4 });
    await eventually(async () => (await owners(id)).length === 0);
    // Like a client: a retryable answer (the actor still moving on a loaded machine) is re-sent.
    expect(await callUntilDone(alive()[2] as ServerProcess, id, { type: "get" }, "idle-get")).toMatchObject({
      ok: true,
      value: { total: 7 },
    });
    expect(await storedEpoch(id)).toBe(2);
  });

  it("graceful SIGTERM of the owner loses nothing", async () => {
    const id = "drain";
    const caller = alive()[0] as ServerProcess;
    const adds = await Promise.all(
      Array.from({ length: 30 }, () => call(caller, id, { type: "add", amount: 1 })),
    );
    expect(adds.every((r) => r.ok)).toBe(true);
    const [owner] = await owners(id);
    expect(await owner?.node.stop("SIGTERM")).toBe(0);
    const other = alive()[0] as ServerProcess;
    expect(await call(other, id, { type: "get" })).toMatchObject({ ok: true, value: { total: 30 } });
    await startNode();
  });

  it("a durable reminder wakes a sleeping actor on some node", async () => {
    const id = "alarm";
    const node = alive()[0] as ServerProcess;
    expect((await call(node, id, { type: "remind", name: "wake-up", inMs: 2_500 })).ok).toBe(true);
    await eventually(async () => (await owners(id)).length === 0); // idle → deactivated
    expect(await storedEpoch(id)).toBe(1);
    // Nobody calls it: the reminder sweep must re-activate it (epoch 2) and fire the reminder.
    await eventually(async () => (await storedEpoch(id)) === 2);
    const state = await call(alive()[1] as ServerProcess, id, { type: "get" });
    expect(state.ok).toBe(true);
    expect(state.value.reminded).toEqual(["wake-up"]);
  });
});
