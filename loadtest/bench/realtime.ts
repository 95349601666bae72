/**
 * Realtime benchmark (`npm run bench:realtime`): memory per connected user (SDK clients holding
 * their one socket), and chat fan-out latency — send → durable → ack, and send → delivered at
 * the other member — on one node (embedded storage) and across two nodes (Redis + Azurite).
 * Servers are child processes on loopback; clients live in this process (one clock for both
 * ends). Every loop is bounded. Results go to BENCHMARKS.md.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LovecraftClient, type Session } from "../../client/index.js";
import { startAzurite } from "../../test/support/azurite.js";
import { getJson } from "../../test/support/http.js";
import { freePort, startRedis } from "../../test/support/redisServer.js";
import { type ServerProcess, startServerProcess } from "../../test/support/serverProcess.js";
import { writeSection } from "./report.js";
import { fmt, summarize } from "./stats.js";
import { compiledBenchNode } from "./target.js";

const USERS = Number(process.env.BENCH_USERS ?? 2_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 100);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};

async function post<T>(node: ServerProcess, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${node.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await res.json()) as T;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

/** Runs `count` tasks, `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function connectAll(
  urls: string[],
  sessions: Session[],
): Promise<{ clients: LovecraftClient[]; perSecond: number }> {
  const clients: LovecraftClient[] = new Array(sessions.length);
  const started = performance.now();
  await pool(sessions.length, 20, async (i) => {
    const client = new LovecraftClient({ url: urls[i % urls.length] as string, retries: 20 });
    client.useSession(sessions[i] as Session);
    await client.connect();
    clients[i] = client;
  });
  return { clients, perSecond: (sessions.length / (performance.now() - started)) * 1000 };
}

interface Pair {
  readonly sender: LovecraftClient;
  readonly receiver: LovecraftClient;
  readonly chatId: string;
}

/** Matches consecutive users into pairs and waits until both sides know their chat. */
async function pairUp(node: ServerProcess, clients: LovecraftClient[], sessions: Session[], pairs: number) {
  const out: Pair[] = [];
  for (let p = 0; p < pairs; p++) {
    const [a, b] = [clients[2 * p] as LovecraftClient, clients[2 * p + 1] as LovecraftClient];
    const chatOf = (c: LovecraftClient) =>
      new Promise<string>((resolve) => {
        const off = c.on("chat.added", (e) => {
          off();
          resolve(e.chat.chatId);
        });
      });
    const [chatA] = await Promise.all([
      chatOf(a),
      chatOf(b),
      post(node, "/bench/match", { a: sessions[2 * p]?.user.id, b: sessions[2 * p + 1]?.user.id }),
    ]);
    out.push({ sender: a, receiver: b, chatId: chatA });
  }
  return out;
}

/**
 * Sends `MESSAGES` messages round-robin over the pairs at `RATE`/s (paced, bounded) and measures
 * ack latency (durable) and delivery latency at the other member.
 */
async function fanOut(pairs: Pair[], classify?: (p: Pair) => string) {
  const delivered = new Map<string, number[]>();
  const acks: number[] = [];
  const sentAt = new Map<string, { t: number; cls: string }>();
  for (const pair of pairs) {
    pair.receiver.on("chat", (e) => {
      if (e.entry.kind !== "message") return;
      const sent = sentAt.get(e.entry.text);
      if (!sent) return;
      const list = delivered.get(sent.cls) ?? [];
      list.push(performance.now() - sent.t);
      delivered.set(sent.cls, list);
    });
  }
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const pair = pairs[i % pairs.length] as Pair;
    const text = `bench-${i}`;
    const t = performance.now();
    sentAt.set(text, { t, cls: classify?.(pair) ?? "all" });
    inflight.push(
      pair.sender.send("chat.send", { chatId: pair.chatId, text }).then(() => {
        acks.push(performance.now() - t);
      }),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 10_000;
  const count = () => [...delivered.values()].reduce((n, l) => n + l.length, 0);
  while (count() < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return {
    acks: summarize(acks),
    delivered,
    lost: MESSAGES - count(),
    seconds: (performance.now() - started) / 1000,
  };
}

function report(label: string, result: Awaited<ReturnType<typeof fanOut>>) {
  say(
    `- ${label}: ${fmt(MESSAGES, 0)} messages at ${RATE}/s over ${PAIRS} chats — ack (durable) p50 ${fmt(result.acks.p50, 1)} ms, p99 ${fmt(result.acks.p99, 1)} ms`,
  );
  for (const [cls, list] of result.delivered) {
    const s = summarize(list);
    say(
      `  - delivered to the other member${cls === "all" ? "" : ` (${cls})`}: p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms, max ${fmt(s.max, 1)} ms (n=${s.count})`,
    );
  }
  if (result.lost > 0) say(`  - NOT delivered within 10 s: ${result.lost}`);
}

async function singleNode(dir: string): Promise<void> {
  const env = { DATA_DIR: join(dir, "single"), ACTOR_IDLE_MS: "3600000", SEED_CONTENT: "false" };
  const node = await startServerProcess({ cwd: dir, script: compiledBenchNode(), env });
  const pid = node.child.pid as number;
  const sessions = await post<Session[]>(node, "/bench/sessions", { count: USERS, prefix: "rt" });
  await new Promise((r) => setTimeout(r, 1000));
  const rssBefore = rssMiB(pid);
  const { clients, perSecond } = await connectAll([node.baseUrl], sessions);
  await new Promise((r) => setTimeout(r, 3000));
  const rssAfter = rssMiB(pid);
  const memory = (await getJson(`${node.baseUrl}/bench/memory`)).body as { actors: Record<string, number> };
  say(
    `- connected ${fmt(USERS, 0)} users through the SDK (connect route + socket + sync, 20 at a time): ${fmt(perSecond, 0)}/s`,
  );
  say(
    `- memory per connected user (user actor + room + socket + session): ${fmt(((rssAfter - rssBefore) * 1024) / USERS, 1)} KiB RSS (${fmt(rssAfter, 0)} MiB total, ${memory.actors.user ?? 0} user actors)`,
  );
  const pairs = await pairUp(node, clients, sessions, PAIRS);
  report("one node, embedded storage", await fanOut(pairs));
  await Promise.all(clients.map((c) => c.close()));
  await node.stop("SIGTERM");
}

async function twoNodes(dir: string): Promise<void> {
  const [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
  const nodes: ServerProcess[] = [];
  try {
    for (let n = 1; n <= 2; n++) {
      const port = await freePort();
      nodes.push(
        await startServerProcess({
          cwd: dir,
          script: compiledBenchNode(),
          env: {
            PORT: String(port),
            PUBLIC_ADDRESS: `127.0.0.1:${port}`,
            REDIS_URL: redis.url,
            STORAGE_CONNECTION_STRING: azurite.connectionString,
            DATA_DIR: join(dir, `cluster${n}`),
            ACTOR_IDLE_MS: "3600000",
            SEED_CONTENT: "false",
          },
          timeoutMs: 60_000,
        }),
      );
    }
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const users = PAIRS * 2;
    const sessions = await post<Session[]>(a, "/bench/sessions", { count: users, prefix: "rtc" });
    const { clients } = await connectAll([a.baseUrl, b.baseUrl], sessions);
    const pairs = await pairUp(a, clients, sessions, PAIRS);
    const hosted = new Map<string, string>();
    for (const node of nodes) {
      for (const roomId of (await getJson(`${node.baseUrl}/bench/actors`)).body as string[])
        hosted.set(roomId, node.baseUrl);
    }
    const ids = new Map(clients.map((c, i) => [c, sessions[i]?.user.id as string]));
    const classify = (p: Pair) =>
      hosted.get(`user_${ids.get(p.sender)}`) === hosted.get(`user_${ids.get(p.receiver)}`)
        ? "both users on one node"
        : "users on different nodes";
    report("two nodes, Redis + Azurite", await fanOut(pairs, classify));
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    for (const node of nodes) await node.stop("SIGTERM");
    await Promise.all([redis.stop(), azurite.stop()]);
  }
}

const dir = mkdtempSync(join(tmpdir(), "lovecraft-bench-rt-"));
try {
  say("### One node");
  await singleNode(dir);
  say("");
  say("### Two nodes");
  await twoNodes(dir);
  writeSection(
    "Realtime (npm run bench:realtime)",
    `${lines.join("\n")}\n\nClients and servers share this machine's 2 cores; latency is measured in the client process (send → ack, send → delivery event at the other member). Azurite is the storage in the two-node run, so durable appends cost more there than on the embedded store.`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
