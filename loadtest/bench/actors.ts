/**
 * Actor runtime benchmark (`npm run bench:actors`): activation and join rates, idle CPU and
 * memory with 10,000 activated actors each holding one connected client, cold activation from
 * snapshot + log, durable appends per actor and per node, and call latency local vs cross-node.
 * Servers are child processes on loopback; every loop is bounded. Results go to BENCHMARKS.md.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, type Room } from "@colyseus/sdk";
import { startAzurite } from "../../test/support/azurite.js";
import { getJson } from "../../test/support/http.js";
import { startRedis } from "../../test/support/redisServer.js";
import { type ServerProcess, startServerProcess } from "../../test/support/serverProcess.js";
import { writeSection } from "./report.js";
import { fmt, summarize } from "./stats.js";
import { compiledBenchNode } from "./target.js";

const ACTORS = Number(process.env.BENCH_ACTORS ?? 10_000);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};

// biome-ignore lint/suspicious/noExplicitAny: benchmark routes answer loosely typed JSON
async function post(node: ServerProcess, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${node.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.json();
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

async function idleCpu(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return ((cpuSeconds(pid) - before) / seconds) * 100;
}

async function joinAll(
  node: ServerProcess,
  count: number,
  concurrency: number,
): Promise<{ rooms: Room[]; perSecond: number; p99: number }> {
  const client = new Client(node.baseUrl);
  const rooms: Room[] = [];
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        rooms.push(await client.joinById(`counter_idle-${i}`));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rooms, perSecond: (count / (performance.now() - started)) * 1000, p99: summarize(latencies).p99 };
}

async function singleNode(dir: string): Promise<void> {
  const env = {
    DATA_DIR: join(dir, "single"),
    LOG_LEVEL: "info",
    ACTOR_IDLE_MS: "3600000",
    SEED_CONTENT: "false",
  };
  let node = await startServerProcess({ cwd: dir, script: compiledBenchNode(), env });
  const pid = node.child.pid as number;
  await new Promise((r) => setTimeout(r, 1000));
  const rssBefore = rssMiB(pid);
  const heapBefore = (await getJson(`${node.baseUrl}/bench/memory`)).body.heapUsed as number;
  say(`- empty node: RSS ${fmt(rssBefore)} MiB, idle CPU ${fmt(await idleCpu(pid, 5))} % of a core`);

  const activated = await post(node, "/bench/activate", { prefix: "idle", count: ACTORS, concurrency: 200 });
  say(
    `- activated ${fmt(ACTORS, 0)} actors (first call each, 200 in flight): ${fmt(activated.perSecond, 0)}/s, ` +
      `p50 ${fmt(activated.latency.p50, 2)} ms, p99 ${fmt(activated.latency.p99, 2)} ms, failed ${activated.failed}`,
  );
  const heapAfter = (await getJson(`${node.baseUrl}/bench/memory`)).body.heapUsed as number;
  const rssActors = rssMiB(pid);
  say(
    `- memory per idle activated actor: ${fmt((heapAfter - heapBefore) / ACTORS / 1024, 1)} KiB heap, ` +
      `${fmt(((rssActors - rssBefore) * 1024) / ACTORS, 1)} KiB RSS`,
  );
  // Let the collector settle after the activation burst, then sample a quiet period.
  await new Promise((r) => setTimeout(r, 20_000));
  say(
    `- ${fmt(ACTORS, 0)} idle actors, no clients: idle CPU ${fmt(await idleCpu(pid, 20))} % of a core (20 s sample)`,
  );

  const joined = await joinAll(node, ACTORS, 100);
  say(
    `- joined one websocket client to each actor (100 in flight): ${fmt(joined.perSecond, 0)} joins/s, p99 ${fmt(joined.p99, 1)} ms`,
  );
  const rssClients = rssMiB(pid);
  say(
    `- RSS with ${fmt(ACTORS, 0)} actors + ${fmt(ACTORS, 0)} sockets: ${fmt(rssClients)} MiB (${fmt(((rssClients - rssActors) * 1024) / ACTORS, 1)} KiB per socket)`,
  );
  await new Promise((r) => setTimeout(r, 20_000));
  say(
    `- ${fmt(ACTORS, 0)} idle actors with one connected client each: idle CPU ${fmt(await idleCpu(pid, 30))} % of a core ` +
      "(30 s sample, includes one 25 s keep-alive ping sweep)",
  );
  await Promise.all(joined.rooms.map((r) => r.leave(true).catch(() => undefined)));

  const one = await post(node, "/bench/appends", {
    prefix: "append1",
    actorCount: 1,
    n: 5000,
    inflight: 256,
  });
  say(
    `- durable appends, 1 actor, 256 in flight: ${fmt(one.perSecond, 0)}/s (p50 ${fmt(one.latency.p50, 2)} ms, p99 ${fmt(one.latency.p99, 2)} ms)`,
  );
  const many = await post(node, "/bench/appends", {
    prefix: "append100",
    actorCount: 100,
    n: 100,
    inflight: 8,
  });
  say(`- durable appends, 100 actors × 8 in flight: ${fmt(many.perSecond, 0)}/s per node`);

  await post(node, "/bench/appends", { prefix: "cold", actorCount: 300, n: 125, inflight: 1 });
  expectExit(await node.stop("SIGTERM"));
  node = await startServerProcess({ cwd: dir, script: compiledBenchNode(), env });
  const cold = await post(node, "/bench/activate", { prefix: "cold", count: 300, concurrency: 1 });
  say(
    `- cold activation from snapshot + log (125 turns: snapshot at 100 + 25 replayed), one at a time: ` +
      `p50 ${fmt(cold.latency.p50, 2)} ms, p99 ${fmt(cold.latency.p99, 2)} ms`,
  );
  expectExit(await node.stop("SIGTERM"));
}

function expectExit(code: number | string): void {
  if (code !== 0) throw new Error(`node exited with ${code}`);
}

async function twoNodes(dir: string): Promise<void> {
  const [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
  const env = (n: number) => ({
    REDIS_URL: redis.url,
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    PUBLIC_ADDRESS: `node${n}.bench`,
    DATA_DIR: join(dir, `cluster${n}`),
    LOG_LEVEL: "info",
    SEED_CONTENT: "false",
  });
  const a = await startServerProcess({ cwd: dir, script: compiledBenchNode(), env: env(1) });
  const b = await startServerProcess({ cwd: dir, script: compiledBenchNode(), env: env(2) });
  try {
    // Find an id that lands on node A (placement goes to the least-loaded process).
    let id = "";
    for (let i = 0; i < 20 && !id; i++) {
      await post(a, "/bench/activate", { prefix: `latency${i}`, count: 1, concurrency: 1 });
      const { body: memory } = await getJson(`${a.baseUrl}/bench/memory`);
      if (memory.actors.counter > 0) id = `latency${i}-0`;
    }
    if (!id) throw new Error("no actor was placed on node A");
    const local = await post(a, "/bench/calls", { id, n: 2000 });
    const remote = await post(b, "/bench/calls", { id, n: 2000 });
    if (!local.latency || !remote.latency)
      throw new Error(`bench calls failed: ${JSON.stringify({ local, remote })}`);
    say(
      `- call latency, local (same node): p50 ${fmt(local.latency.p50, 3)} ms, p99 ${fmt(local.latency.p99, 3)} ms`,
    );
    say(
      `- call latency, cross-node (Redis IPC): p50 ${fmt(remote.latency.p50, 3)} ms, p99 ${fmt(remote.latency.p99, 3)} ms`,
    );
    const cluster = await post(a, "/bench/appends", {
      prefix: "azure",
      actorCount: 20,
      n: 100,
      inflight: 16,
    });
    say(`- durable appends on Azurite, 20 actors × 16 in flight: ${fmt(cluster.perSecond, 0)}/s per node`);
  } finally {
    await Promise.all([a.stop("SIGKILL"), b.stop("SIGKILL")]);
    await Promise.all([redis.stop(), azurite.stop()]);
  }
}

const dir = mkdtempSync(join(tmpdir(), "lovecraft-bench-actors-"));
try {
  say("Single node, embedded store:");
  await singleNode(dir);
  say("Two nodes, Redis + Azurite:");
  await twoNodes(dir);
  writeSection("Actor runtime", lines.map((l) => (l.startsWith("-") ? l : `\n${l}\n`)).join("\n"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
