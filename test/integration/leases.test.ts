import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisLeaseManager } from "../../server/actors/runtime/leases.js";
import { type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";

const { run } = redisAvailability();

describe.runIf(run)("Redis actor leases (real redis-server)", () => {
  let redis: RunningRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("hands out increasing epochs, and jumps past a floor when the counter was lost", async () => {
    const leases = new RedisLeaseManager(client, "node-a", 5_000);
    try {
      expect(await leases.acquire("counter_e")).toBe(1);
      expect(await leases.acquire("counter_e")).toBe(2);
      // A Redis restart without persistence resets counters; storage still holds epoch 7.
      await client.del("actor:counter_e:epoch");
      expect(await leases.acquire("counter_e", 7)).toBe(8);
      expect(await leases.acquire("counter_e", 3)).toBe(9);
    } finally {
      leases.close();
    }
  });

  it("reports a lease taken over by another node at the next renewal", async () => {
    const a = new RedisLeaseManager(client, "node-a", 300);
    const b = new RedisLeaseManager(client, "node-b", 300);
    const lost = vi.fn();
    a.onLost = lost;
    try {
      await a.acquire("counter_l");
      await b.acquire("counter_l");
      await vi.waitFor(() => expect(lost).toHaveBeenCalledWith("counter_l"), { timeout: 2_000 });
      // Releasing a lease we no longer hold must not delete the new owner's.
      await a.release("counter_l", 1);
      expect(await client.get("actor:counter_l:lease")).toBe("node-b:2");
    } finally {
      a.close();
      b.close();
    }
  });
});
