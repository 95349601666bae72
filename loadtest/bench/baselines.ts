/**
 * Lovecraft against the simplest possible servers (`npm run bench:baselines`): the raw `ws` and
 * Socket.IO room-broadcast baselines of loadtest/baselines and a Lovecraft bench node, each a
 * child process, driven back to back by the same generator with the same traffic shapes (dm and
 * 50-member groups). Figures are ratios against raw `ws` measured in the same run (the machine is
 * shared by generator and server, so absolute numbers drift; ratios hold). Bounded: fixed users,
 * rates and durations. Writes its section of BENCHMARKS.md.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/redisServer.js";
import { type ServerProcess, startServerProcess, waitForExit } from "../../test/support/serverProcess.js";
import type { LoadTestResult } from "../lib/result.js";
import { runLoadTest } from "../runLoadTest.js";
import { writeSection } from "./report.js";
import { fmt } from "./stats.js";
import { compiledBenchNode } from "./target.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const SHAPES = [
  { name: "dm", scenario: "dm" as const, users: 400, rate: 1, groupSize: 2 },
  { name: "group", scenario: "group" as const, users: 200, rate: 4, groupSize: 50 },
  // The issue's fan-out target: ≥ 25,000 deliveries/s in 50-member groups (10 groups × 50 msg/s).
  {
    name: "group-high",
    scenario: "group" as const,
    users: 500,
    rate: Number(process.env.BENCH_GROUP_HIGH_RATE ?? 50),
    groupSize: 50,
  },
];
type Target = "ws" | "socketio" | "lovecraft";

/**
 * Starts a baseline as its own process (so its CPU and RSS are its own) on a free port, compiled
 * like the Lovecraft node (plain `node`, no loader), so no side pays for tsx.
 */
async function startBaseline(kind: "ws" | "socketio") {
  const port = await freePort();
  compiledBenchNode(); // builds dist/ (once), baselines included
  const script =
    kind === "ws" ? "dist/loadtest/baselines/wsServer.js" : "dist/loadtest/baselines/socketioServer.js";
  const child = spawn(process.execPath, [join(ROOT, script), "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} baseline did not start`)), 30_000);
    child.stdout?.on("data", (c: Buffer) => {
      if (/listening/.test(c.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    pid: child.pid as number,
    target: `ws://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await waitForExit(child);
    },
  };
}

async function runOne(target: Target, shape: (typeof SHAPES)[number], dir: string): Promise<LoadTestResult> {
  const common = {
    scenario: shape.scenario,
    users: shape.users,
    rate: shape.rate,
    groupSize: shape.groupSize,
    durationMs: SECONDS * 1000,
    workers: 2,
    out: join(dir, `${target}-${shape.name}`),
  };
  if (target === "lovecraft") {
    const node: ServerProcess = await startServerProcess({
      cwd: dir,
      script: compiledBenchNode(),
      env: { DATA_DIR: join(dir, `node-${shape.name}`), SEED_CONTENT: "false", ACTOR_IDLE_MS: "3600000" },
    });
    try {
      return await runLoadTest(
        { ...common, target: node.baseUrl, serverPid: node.child.pid as number },
        { log: () => {} },
      );
    } finally {
      await node.stop("SIGTERM");
    }
  }
  const baseline = await startBaseline(target);
  try {
    return await runLoadTest(
      { ...common, baseline: target, target: baseline.target, serverPid: baseline.pid },
      { log: () => {} },
    );
  } finally {
    await baseline.stop();
  }
}

const cpuPerDelivery = (r: LoadTestResult) =>
  r.server && r.messages.deliveredPerSecond > 0
    ? ((r.server.cpuTrafficPercent / 100) * 1e6) / r.messages.deliveredPerSecond
    : Number.NaN;
const rssPerSocket = (r: LoadTestResult) =>
  r.server ? ((r.server.rssPeakMiB - r.server.rssStartMiB) * 1024) / r.users.connected : Number.NaN;

const dir = mkdtempSync(join(tmpdir(), "lovecraft-bench-baselines-"));
const lines: string[] = [];
try {
  for (const shape of SHAPES) {
    const results = new Map<Target, LoadTestResult>();
    for (const target of ["ws", "socketio", "lovecraft"] as const) {
      console.log(`${shape.name}: ${target}…`);
      results.set(target, await runOne(target, shape, dir));
    }
    lines.push(
      `### ${shape.name}: ${shape.users} users${shape.scenario === "group" ? ` in groups of ${shape.groupSize}` : " in pairs"}, ${shape.rate} msg/s per chat, ${SECONDS} s`,
      "",
      "| | raw ws | Socket.IO | Lovecraft | Lovecraft ÷ ws |",
      "|---|---|---|---|---|",
    );
    const row = (label: string, pick: (r: LoadTestResult) => number, digits = 1) => {
      const [a, b, c] = (["ws", "socketio", "lovecraft"] as const).map((t) =>
        pick(results.get(t) as LoadTestResult),
      );
      lines.push(
        `| ${label} | ${fmt(a as number, digits)} | ${fmt(b as number, digits)} | ${fmt(c as number, digits)} | ${(a as number) > 0 ? `${fmt((c as number) / (a as number), 2)}×` : "—"} |`,
      );
    };
    row("deliveries/s", (r) => r.messages.deliveredPerSecond, 0);
    row("ack p50 ms", (r) => r.latency.ack.p50);
    row("ack p99 ms", (r) => r.latency.ack.p99);
    row("end-to-end p50 ms", (r) => r.latency.e2e.p50);
    row("end-to-end p99 ms", (r) => r.latency.e2e.p99);
    row("server CPU µs per delivery", cpuPerDelivery);
    row("server RSS growth per socket KiB", rssPerSocket);
    row("lost + duplicated", (r) => r.ledger.lost + r.ledger.duplicated, 0);
    lines.push("");
  }
  lines.push(
    "Lovecraft's figures include what the baselines do not do (and at these moderate rates, CPU per delivery includes each server's idle cost; RSS growth includes the actors and their journals, not only sockets): an authenticated session per socket, a durable append (fsync) before every ack, per-chat sequence numbers, unread counters and presence. The baselines keep nothing.",
  );
  writeSection("Lovecraft vs raw ws and Socket.IO (npm run bench:baselines)", lines.join("\n"));
  console.log(lines.join("\n"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
