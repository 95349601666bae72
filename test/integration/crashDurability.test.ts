import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores } from "../../server/persistence/stores/index.js";
import { spawnTs, waitForExit } from "../support/serverProcess.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs the writer until it has acknowledged `minAcks` writes, then kill -9s it; returns the acks. */
async function killAfterAcks(mode: "table" | "journal", dataDir: string, minAcks: number): Promise<number[]> {
  const child = spawnTs("test/support/ackWriter.ts", {
    cwd: dataDir,
    env: { DATA_DIR: dataDir, MODE: mode },
  });
  const acks: number[] = [];
  let buffer = "";
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("ack ")) acks.push(Number(line.slice(4)));
      if (acks.length >= minAcks) {
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`writer exited (${code}) after ${acks.length} acks: ${stderr}`)),
    );
  });
  expect(await waitForExit(child)).toBe("SIGKILL");
  return acks;
}

describe("embedded store durability under kill -9", () => {
  it("keeps every acknowledged single-row write", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "lovecraft-crash-"));
    dirs.push(dataDir);
    const acks = await killAfterAcks("table", dataDir, 300);
    const storage = openEmbeddedStorage(dataDir);
    try {
      const rows = await storage.tables.query("crash", "p", { limit: 100_000 });
      const stored = new Set(rows.items.map((r) => Number(r.properties.i)));
      const lost = acks.filter((i) => !stored.has(i));
      expect(lost).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it("keeps every acknowledged journal append, gap-free", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "lovecraft-crash-"));
    dirs.push(dataDir);
    const acks = await killAfterAcks("journal", dataDir, 2_000);
    const storage = openEmbeddedStorage(dataDir);
    try {
      const recovery = await createStores(storage).journal.read("chat_crash");
      const seqs = recovery?.events.map((e) => e.seq) ?? [];
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(Math.max(...acks)).toBeLessThanOrEqual(recovery?.seq ?? 0);
      expect(recovery?.events[0]?.data.toString()).toBe("message 0");
    } finally {
      await storage.close();
    }
  });
});
