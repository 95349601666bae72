/**
 * Storage benchmark (`npm run bench`): durable write throughput and latency of the embedded store
 * and of the Azure adapters against Azurite, through the same ports the server uses. Every loop is
 * bounded in count; results go to stdout and to BENCHMARKS.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAzureStorage } from "../../server/persistence/azure/openAzureStorage.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores } from "../../server/persistence/stores/index.js";
import { startAzurite } from "../../test/support/azurite.js";
import { writeSection } from "./report.js";
import { fmt, type LatencySummary, summarize } from "./stats.js";

interface Row {
  readonly backend: string;
  readonly scenario: string;
  readonly opsPerSecond: number;
  readonly latency: LatencySummary;
  readonly note: string;
}

const payload = () => ({ body: randomBytes(512).toString("base64") }); // ≈1 KiB entity

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function sequentialUpserts(storage: Storage, count: number): Promise<Omit<Row, "backend">> {
  const samples: number[] = [];
  const total = await timed(async () => {
    for (let i = 0; i < count; i++) {
      samples.push(
        await timed(async () => {
          await storage.tables.upsert("benchrows", {
            partitionKey: "p",
            rowKey: `r${i}`,
            properties: payload(),
          });
        }),
      );
    }
  });
  return {
    scenario: `upsert 1 KiB, one at a time (${count})`,
    opsPerSecond: (count / total) * 1000,
    latency: summarize(samples),
    note: "",
  };
}

async function transactions(storage: Storage, count: number): Promise<Omit<Row, "backend">> {
  const samples: number[] = [];
  const total = await timed(async () => {
    for (let t = 0; t < count; t++) {
      const ops = Array.from({ length: 100 }, (_, i) => ({
        op: "upsert" as const,
        entity: { partitionKey: `tx${t}`, rowKey: `r${i}`, properties: payload() },
      }));
      samples.push(await timed(async () => void (await storage.tables.transact("benchtx", `tx${t}`, ops))));
    }
  });
  return {
    scenario: `transaction of 100 × 1 KiB (${count})`,
    opsPerSecond: ((count * 100) / total) * 1000,
    latency: summarize(samples),
    note: `${fmt((count / total) * 1000)} transactions/s`,
  };
}

/** Appends to `actors` actors with up to `inFlight` unacknowledged appends each (group commit). */
async function journalAppends(storage: Storage, actors: number, perActor: number, inFlight: number) {
  const journal = createStores(storage).journal;
  const writers = await Promise.all(
    Array.from({ length: actors }, (_, i) => journal.open(`bench_${Date.now()}_${i}`).then((o) => o.writer)),
  );
  const samples: number[] = [];
  let batches = 0;
  let events = 0;
  for (const w of writers) {
    w.onCommit = (s) => {
      batches++;
      events += s.events;
    };
  }
  const message = Buffer.from(
    JSON.stringify({ text: "hello, this is a typical chat message", at: Date.now() }),
  );
  const total = await timed(async () => {
    await Promise.all(
      writers.map(async (writer) => {
        const window: Promise<void>[] = [];
        for (let i = 0; i < perActor; i++) {
          const started = performance.now();
          const { durable } = writer.append(message);
          window.push(durable.then(() => void samples.push(performance.now() - started)));
          if (window.length >= inFlight) await window.shift();
        }
        await Promise.all(window);
      }),
    );
  });
  const count = actors * perActor;
  return {
    scenario: `journal append, ${actors} actor(s) × ${perActor}, ≤${inFlight} in flight each`,
    opsPerSecond: (count / total) * 1000,
    latency: summarize(samples),
    note: `avg batch ${fmt(events / batches)} events`,
  };
}

async function runBackend(backend: string, storage: Storage, scale: number): Promise<Row[]> {
  const rows: Omit<Row, "backend">[] = [];
  rows.push(await sequentialUpserts(storage, Math.round(2000 * scale)));
  rows.push(await transactions(storage, Math.round(50 * scale)));
  rows.push(await journalAppends(storage, 1, Math.round(5000 * scale), 1));
  rows.push(await journalAppends(storage, 1, Math.round(10000 * scale), 256));
  rows.push(await journalAppends(storage, 50, Math.round(200 * scale), 16));
  return rows.map((r) => ({ backend, ...r }));
}

function report(rows: Row[]): string {
  const header =
    "| backend | scenario | ops/s | p50 ms | p99 ms | max ms | note |\n|---|---|---:|---:|---:|---:|---|";
  const lines = rows.map(
    (r) =>
      `| ${r.backend} | ${r.scenario} | ${fmt(r.opsPerSecond, 0)} | ${fmt(r.latency.p50, 2)} | ${fmt(r.latency.p99, 2)} | ${fmt(r.latency.max, 1)} | ${r.note} |`,
  );
  return [header, ...lines].join("\n");
}

const dir = mkdtempSync(join(tmpdir(), "lovecraft-bench-"));
const azurite = await startAzurite();
try {
  const embedded = openEmbeddedStorage(dir);
  const azure = await openAzureStorage({
    connectionString: azurite.connectionString,
    tables: [],
    containers: [],
  });
  const rows = [
    ...(await runBackend("embedded (SQLite WAL, FULL sync)", embedded, 1)),
    ...(await runBackend("azure (Azurite)", azure, 0.5)),
  ];
  await embedded.close();
  const table = report(rows);
  console.log(table);
  writeSection(
    "Storage",
    "Durable write throughput through the server's storage ports. Latency of a journal append is " +
      "from `append()` to its durable acknowledgement.\n\n" +
      table,
  );
} finally {
  await azurite.stop();
  rmSync(dir, { recursive: true, force: true });
}
