import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PresenceInfo } from "../../client/index.js";
import { type LocalCluster, type LocalClusterNode, startLocalCluster } from "../../scripts/localCluster.js";
import { reportFault } from "../support/faultReport.js";
import { nginxAvailability } from "../support/nginx.js";
import { connectedUser, matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";
import { redisAvailability } from "../support/redisServer.js";

const needs = [nginxAvailability(), redisAvailability()];
const run = needs.every((n) => n.run);

/** Sweeps every second here (15 s by default), so the test waits seconds, not half a minute. */
const SWEEP_MS = 1_000;

/**
 * A node killed with SIGKILL never announces that its users went offline. Their partners must
 * still see them go offline (a presence event, and `sync`), within a few sweeps — unless they
 * reconnected elsewhere, which keeps them online.
 */
describe.runIf(run)("faults: presence after kill -9 of a user's node", () => {
  let cluster: LocalCluster;
  let redis: Redis;
  const users: TestUser[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({
      nodes: 2,
      env: { LOG_LEVEL: "warn", DIRECTORY_SWEEP_MS: String(SWEEP_MS) },
      startTimeoutMs: 150_000,
    });
    redis = new Redis(cluster.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(users.map((u) => u.client.close()));
    redis?.disconnect();
    await cluster?.stop();
  }, 90_000);

  /** The node hosting a user's actor (and so their devices' sockets). */
  async function nodeOf(user: TestUser): Promise<string | undefined> {
    const raw = await redis.hget("roomcaches", `user_${user.id}`);
    const address = raw ? (JSON.parse(raw) as { publicAddress?: string }).publicAddress : undefined;
    return address?.split("/").at(-1);
  }

  const presenceIn = (events: PresenceInfo[], user: TestUser) => events.filter((e) => e.userId === user.id);

  it("the partner sees the user go offline; a user who moved to another node stays online", async () => {
    // Users until one node hosts two of them and the other one (rendezvous placement; bounded).
    const byNode = new Map<string, TestUser[]>();
    const placed = () => {
      const [x, y] = [...byNode.values()];
      if (!x || !y) return undefined;
      return x.length >= 2 ? { doomed: x, other: y } : y.length >= 2 ? { doomed: y, other: x } : undefined;
    };
    for (let i = 0; i < 16 && !placed(); i++) {
      const u = await connectedUser(cluster.lbUrl, `P${i}`);
      users.push(u);
      const node = (await nodeOf(u)) as string;
      byNode.set(node, [...(byNode.get(node) ?? []), u]);
    }
    const placement = placed();
    if (!placement) throw new Error("16 users did not land two on one node and one on the other");
    // `gone`: their node dies and they do not come back; `mover`: on the same node, their device
    // reconnects elsewhere; `watcher`: on the other node, matched with both.
    const [gone, mover] = placement.doomed as [TestUser, TestUser];
    const watcher = placement.other[0] as TestUser;
    const goneNode = (await nodeOf(gone)) as string;
    const seen = record(watcher, "presence");
    await matchUsers(gone, watcher);
    await matchUsers(mover, watcher);
    await waitFor(
      () => presenceIn(seen, gone).at(-1)?.online === true,
      `${watcher.name} sees ${gone.name} online`,
    );

    const victim = cluster.nodes.find((n) => n.name === goneNode) as LocalClusterNode;
    victim.process.kill("SIGKILL");
    const killedAt = Date.now();
    // The user's app is gone too: no reconnect will announce anything for them.
    await gone.client.close();

    const offline = await waitFor(
      () => presenceIn(seen, gone).find((e) => !e.online),
      `${watcher.name} sees ${gone.name} offline`,
      30_000,
    );
    const recoveryMs = Date.now() - killedAt;
    // Reads agree with the event (what a reconnecting device gets in `sync`).
    const { presence } = await watcher.client.send("sync", {});
    expect(presence.find((p) => p.userId === gone.id)?.online).toBe(false);
    expect(offline.userId).toBe(gone.id);

    // The mover's device reconnected through the balancer to the surviving node: online there.
    await waitFor(async () => (await nodeOf(mover)) !== goneNode, `${mover.name} re-homed`, 30_000);
    const moverOnline = async () =>
      (await watcher.client.send("sync", {})).presence.find((p) => p.userId === mover.id)?.online;
    await waitFor(async () => (await moverOnline()) === true, `${mover.name} online after moving`, 30_000);
    // Several sweeps later, still online: the sweep leaves records of live nodes alone.
    await new Promise((r) => setTimeout(r, 3 * SWEEP_MS));
    expect(await moverOnline()).toBe(true);
    expect(presenceIn(seen, mover).at(-1)?.online).toBe(true);
    reportFault({
      fault: "kill -9 of a user's node (presence)",
      recoveryMs,
      acked: 0,
      lost: 0,
      duplicated: 0,
      extra: { "sweep ms": SWEEP_MS },
    });
  }, 180_000);
});
