import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWsBaseline } from "../../loadtest/baselines/wsServer.js";
import type { LoadTestResult } from "../../loadtest/lib/result.js";
import { runLoadTest } from "../../loadtest/runLoadTest.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

/**
 * The load generator end to end, small: 20 users in direct chats for 5 s through one worker
 * thread against a bench node, then the same traffic shape against the raw-`ws` baseline
 * (started in this process). Both must acknowledge messages and keep a clean ledger.
 */

let dir: string;
let node: ServerProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-loadtest-"));
  node = await startServerProcess({
    cwd: dir,
    script: "loadtest/bench/benchNode.ts",
    env: { DATA_DIR: join(dir, "data"), SEED_CONTENT: "false" },
  });
});

afterAll(async () => {
  if (node?.child.exitCode === null) await node.stop("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

function readResult(r: LoadTestResult): LoadTestResult {
  expect(existsSync(join(r.reportDir as string, "report.html"))).toBe(true);
  return JSON.parse(readFileSync(join(r.reportDir as string, "result.json"), "utf8")) as LoadTestResult;
}

describe("npm run loadtest, programmatically", () => {
  it("runs the dm scenario against a bench node with a clean ledger", async () => {
    const result = await runLoadTest(
      {
        scenario: "dm",
        users: 20,
        durationMs: 5_000,
        workers: 1,
        rate: 2,
        target: node.baseUrl,
        serverPid: node.child.pid as number,
        out: join(dir, "dm"),
        progress: false,
      },
      { log: () => undefined },
    );
    const json = readResult(result);
    expect(json.target).toEqual({ kind: "lovecraft", url: node.baseUrl, bench: true });
    expect(json.users).toMatchObject({ connected: 20, chats: 10, droppedChats: 0 });
    expect(json.messages.acked).toBeGreaterThan(0);
    expect(json.ledger).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(json.ledger.history).toMatchObject({ chatsChecked: 10, missing: 0, duplicated: 0 });
    expect(json.ledger.history.checked).toBe(json.ledger.acked);
    expect(json.latency.ack.p99).toBeGreaterThan(0);
    expect(json.server?.rssPeakMiB).toBeGreaterThan(0);
    expect(json.ok).toBe(true);
  }, 60_000);

  it("drives the raw ws baseline with the same traffic shape", async () => {
    const baseline = await startWsBaseline();
    try {
      const result = await runLoadTest(
        {
          baseline: "ws",
          scenario: "dm",
          users: 20,
          durationMs: 5_000,
          workers: 1,
          rate: 2,
          target: baseline.url,
          out: join(dir, "ws"),
          progress: false,
        },
        { log: () => undefined },
      );
      const json = readResult(result);
      expect(json.target.kind).toBe("ws");
      expect(json.messages.acked).toBeGreaterThan(0);
      expect(json.ledger).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
      expect(json.ledger.delivered).toBe(json.ledger.acked);
      expect(json.ok).toBe(true);
    } finally {
      await baseline.close();
    }
  }, 60_000);
});
