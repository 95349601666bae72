import { RedisPresence } from "@colyseus/redis-presence";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresenceInfo } from "../../protocol/realtime.js";
import { PresenceBook } from "../../server/rooms/PresenceBook.js";
import { waitFor } from "../support/realtimeUsers.js";
import { type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";

const { run } = redisAvailability();

interface Connections {
  readonly sub: Redis;
  readonly pub: Redis;
}

/**
 * The presence sweep's rules against a real redis-server, with three "processes" A, B, C in one
 * test process (each its own RedisPresence and id). A process counts as dead only when its IPC
 * channel `p:<id>` is gone from pub/sub AND Colyseus' health check left `swept:<id>`.
 */
describe.runIf(run)("PresenceBook sweep (real redis-server)", () => {
  let redis: RunningRedis;
  let client: Redis;
  const presences: RedisPresence[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    // RedisPresence.shutdown() quits without handling the promises it gets back.
    for (const p of presences) {
      const { sub, pub } = p as unknown as Connections;
      sub.disconnect();
      pub.disconnect();
    }
    client?.disconnect();
    await redis?.stop();
  });

  const book = (processId: string) => {
    const presence = new RedisPresence(redis.url);
    presences.push(presence);
    return new PresenceBook({ presence: () => presence, processId: () => processId });
  };
  const online = (userId: string): PresenceInfo => ({ userId, online: true, lastSeen: 1 });

  it("turns offline only the users of processes that are gone and swept, and tells their followers", async () => {
    const [a, b, c] = [book("A"), book("B"), book("C")];
    await a.announce(online("u1"));
    await b.announce(online("u2"));
    await c.announce(online("u3"));
    await a.announce({ userId: "u4", online: false });
    // C is alive: its IPC channel is subscribed (as Colyseus does for every process).
    const cChannel = new Redis(redis.url);
    await cChannel.subscribe("p:C");
    const follower = new RedisPresence(redis.url);
    presences.push(follower);
    const heard: PresenceInfo[] = [];
    await follower.subscribe("presence:u1", (m: PresenceInfo) => heard.push(m));
    try {
      // A's channel is gone but nothing swept it yet: a Redis reconnect looks the same.
      expect(await b.sweep(client, 500)).toBe(0);
      expect((await b.read(["u1"]))[0]?.online).toBe(true);

      await client.set("swept:A", "1");
      await client.set("swept:C", "1");
      expect(await b.sweep(client, 500)).toBe(1);
      expect(await b.read(["u1", "u2", "u3", "u4"])).toEqual([
        { userId: "u1", online: false, lastSeen: 500 },
        { userId: "u2", online: true, lastSeen: 1 },
        { userId: "u3", online: true, lastSeen: 1 }, // C's channel is live: not dead, whatever the receipt says
        { userId: "u4", online: false },
      ]);
      await waitFor(() => heard.find((m) => !m.online), "the offline event for u1");
      expect(heard.at(-1)).toMatchObject({ type: "presence", userId: "u1", online: false, lastSeen: 500 });
      // Done once: a second sweep finds nothing left of A.
      expect(await b.sweep(client, 600)).toBe(0);
    } finally {
      cChannel.disconnect();
    }
  });

  it("leaves a user who reconnected on another process online", async () => {
    const [dead, alive] = [book("D"), book("E")];
    await dead.announce(online("u5"));
    await alive.announce(online("u5")); // the device came back through another node
    await client.set("swept:D", "1");
    await alive.sweep(client, 700);
    expect((await alive.read(["u5"]))[0]?.online).toBe(true);
  });

  it("a live process swept by mistake announces its users again at its next sweep", async () => {
    const [f, g] = [book("F"), book("G")];
    await f.announce(online("u6"));
    await client.set("swept:F", "1");
    expect(await g.sweep(client, 800)).toBe(1);
    expect((await f.read(["u6"]))[0]?.online).toBe(false);
    // F was alive all along (say its pub/sub reconnected late): its own sweep repairs the record.
    await client.del("swept:F");
    await f.sweep(client, 900);
    expect((await f.read(["u6"]))[0]).toEqual({ userId: "u6", online: true, lastSeen: 1 });
  });
});
