import { readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LovecraftClient } from "../../client/index.js";
import { type LocalCluster, startLocalCluster } from "../../scripts/localCluster.js";
import { nginxAvailability } from "../support/nginx.js";
import { connectedUser, matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";
import { redisAvailability } from "../support/redisServer.js";

// Both checks run (and may throw under REQUIRE_NGINX=1 / REQUIRE_REDIS=1) before deciding.
const needs = [nginxAvailability(), redisAvailability()];
const run = needs.every((n) => n.run);

interface AccessLine {
  uri: string;
  status: number;
  upstream: string;
}

/**
 * The local cluster of `npm run cluster` (real nginx, redis-server, Azurite, 3 nodes), used only
 * through the load balancer's URL, as a client would.
 */
describe.runIf(run)("nginx load balancer in front of a 3-node cluster", () => {
  let cluster: LocalCluster;
  const clients: LovecraftClient[] = [];

  const accessLog = (): AccessLine[] =>
    readFileSync(cluster.nginx.accessLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AccessLine);
  const rawLogs = () =>
    readFileSync(cluster.nginx.accessLog, "utf8") + readFileSync(cluster.nginx.errorLog, "utf8");
  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${cluster.lbUrl}${path}`, { timeout: 5_000 }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on("error", reject);
      req.end();
    });
  const user = async (name: string): Promise<TestUser> => {
    const u = await connectedUser(cluster.lbUrl, name);
    clients.push(u.client);
    return u;
  };

  beforeAll(async () => {
    cluster = await startLocalCluster({ nodes: 3, env: { LOG_LEVEL: "warn" }, startTimeoutMs: 150_000 });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  }, 60_000);

  it("answers readiness through the balancer and spreads requests over every node", async () => {
    const ready = await fetch(`${cluster.lbUrl}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { data: { status: string } }).data.status).toBe("ready");

    const before = accessLog().length;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${cluster.lbUrl}/health/live`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
    }
    const upstreams = new Set(
      accessLog()
        .slice(before)
        .map((l) => l.upstream),
    );
    expect(upstreams).toEqual(new Set(cluster.nodes.map((n) => `127.0.0.1:${n.port}`)));
  });

  it("matches two SDK users and delivers a message, each socket through nginx to its own node", async () => {
    const alice = await user("Alice");
    const bob = await user("Bob");
    const chatId = await matchUsers(alice, bob);
    const atBob = record(bob, "chat");
    const { seq } = await alice.client.send("chat.send", { chatId, text: "hello through nginx" });
    const delivered = await waitFor(
      () => atBob.find((e) => e.seq === seq),
      "Bob receives Alice's message",
      15_000,
    );
    expect(delivered.entry.kind === "message" && delivered.entry.text).toBe("hello through nginx");

    // The websocket URLs the SDK built from each node's PUBLIC_ADDRESS went through the balancer
    // (101 Switching Protocols) to the node named in their first path segment. nginx logs a
    // websocket when it closes.
    await Promise.all([alice.client.close(), bob.client.close()]);
    const portOf = new Map(cluster.nodes.map((n) => [n.name, `127.0.0.1:${n.port}`]));
    for (const u of [alice, bob]) {
      const upgrades = await waitFor(
        () => {
          const lines = accessLog().filter((l) => l.status === 101 && l.uri.endsWith(`/user_${u.id}`));
          return lines.length > 0 && lines;
        },
        `${u.name}'s socket in the access log`,
        10_000,
      );
      for (const line of upgrades) {
        const m = /^\/(node\d+)\/[A-Za-z0-9_-]+\/user_[A-Za-z0-9_-]+$/.exec(line.uri);
        expect(m, line.uri).not.toBeNull();
        expect(line.upstream).toBe(portOf.get(m?.[1] as string));
      }
    }
    // The query (sessionId, and the token when the SDK sends one) is never logged.
    expect(rawLogs()).not.toMatch(/sessionId|_authToken/);
  }, 90_000);

  it("keeps /metrics and /admin off the balancer, in any spelling", async () => {
    const get = (path: string, init?: RequestInit) =>
      fetch(`${cluster.lbUrl}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
    for (const path of [
      "/metrics",
      "/metrics/",
      "/METRICS",
      "/Metrics/",
      "/metrics?x=1",
      "/admin",
      "/admin/cluster",
      "/ADMIN/monitor",
      "/node1/metrics",
    ]) {
      const res = await get(path);
      expect([403, 404], path).toContain(res.status);
      expect(await res.text(), path).not.toContain("lovecraft_");
    }
    // Dot segments and encodings, sent as they are (fetch would normalize them away), do not
    // climb out of /api/ or around the block.
    for (const path of [
      "/api/../metrics",
      "/api/%2e%2e/metrics",
      "/api/..%2fmetrics",
      "/health/..%2F..%2Fmetrics",
      "/%4detrics",
      "//metrics",
    ]) {
      const res = await rawGet(path);
      expect([400, 403, 404], path).toContain(res.status); // 400: nginx refuses to climb above /
      expect(res.body, path).not.toContain("lovecraft_");
    }
    // Two segments after a node's prefix are a websocket path: without an upgrade nginx answers
    // 426 itself, so /<node>/health/ready and the like never reach the node.
    for (const path of ["/node1/someProcess/someRoom", "/node2/health/ready", "/node3/api/metrics"]) {
      const res = await get(path);
      expect(res.status, path).toBe(426);
    }
    const refused = accessLog().filter(
      (l) => l.status === 426 || /^\/(?:metrics|admin)(?:\/|$)/i.test(l.uri),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((l) => l.upstream !== "")).toEqual([]);
    // The route exists: it is the balancer that hides it.
    const direct = await fetch(`${cluster.nodes[0]?.url}/metrics/`, { signal: AbortSignal.timeout(5_000) });
    expect(direct.status).toBe(200);
    expect(await direct.text()).toContain("lovecraft_");
  });

  it("serves the web client's pages (GET only) from the nodes", async () => {
    const direct = await fetch(`${cluster.nodes[0]?.url}/`, { signal: AbortSignal.timeout(5_000) });
    const viaLb = await fetch(`${cluster.lbUrl}/`, { signal: AbortSignal.timeout(5_000) });
    expect(viaLb.status).toBe(direct.status); // 200, or 503 where web/dist is not built
    expect(viaLb.headers.get("content-type")).toMatch(/text\/html/);
    const post = await fetch(`${cluster.lbUrl}/somewhere`, {
      method: "POST",
      signal: AbortSignal.timeout(5_000),
    });
    expect(post.status).toBe(403);
  });

  it("does not write a websocket's _authToken into nginx's logs, even when the upgrade fails", async () => {
    const canary = `canary${Date.now()}`;
    const wsUrl = `${cluster.lbUrl.replace(/^http/, "ws")}/node2/noSuchProcess/noSuchRoom?_authToken=${canary}`;
    await new Promise<void>((resolve) => {
      const socket = new WebSocket(wsUrl);
      const timer = setTimeout(() => {
        socket.close();
        resolve();
      }, 5_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.addEventListener("error", done);
      socket.addEventListener("close", done);
    });
    await waitFor(
      () => accessLog().some((l) => l.uri === "/node2/noSuchProcess/noSuchRoom"),
      "the attempt in the access log",
      5_000,
    );
    expect(rawLogs()).not.toContain(canary);
  });

  it("a rolling restart of every node, during a conversation, loses and duplicates nothing", async () => {
    const carol = await user("Carol");
    const dave = await user("Dave");
    const chatId = await matchUsers(carol, dave);
    const atDave = record(dave, "chat");
    const moved = record(dave, "status");
    const sends: Promise<{ seq: number }>[] = [];
    let stop = false;
    // Carol keeps talking (bounded: at most 400 messages) while every node restarts in turn.
    const talker = (async () => {
      for (let i = 0; i < 400 && !stop; i++) {
        sends.push(carol.client.send("chat.send", { chatId, text: `r${i}` }));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await cluster.rollingRestart();
    stop = true;
    await talker;
    const acks = await Promise.all(sends);
    const total = acks.length;
    expect(new Set(acks.map((a) => a.seq)).size).toBe(total);
    // Every node restarted, so both users' devices moved at least once (4503 or 4001).
    expect(moved.some((s) => s.status === "offline")).toBe(true);
    await waitFor(() => dave.client.lastSeqs()[chatId] === total, "Dave caught up", 30_000);
    const seen = atDave.map((e) => e.seq);
    expect(new Set(seen).size).toBe(seen.length);
    const { messages } = await dave.client.send("chat.history", { chatId, limit: 100 });
    // The last 100 of them, each once (history pages are at most 100).
    expect(new Set(messages.map((m) => m.text)).size).toBe(messages.length);
    expect(messages.at(-1)?.seq).toBe(total);
  }, 240_000);
});
