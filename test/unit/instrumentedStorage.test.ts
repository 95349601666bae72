import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics } from "../../server/metrics.js";
import {
  ConcurrencyError,
  FencedError,
  StorageLimitError,
  StorageUnavailableError,
} from "../../server/persistence/errors.js";
import {
  instrumentBlobs,
  instrumentStorage,
  instrumentTables,
} from "../../server/persistence/instrumented.js";
import type { BlobStore, Storage, TableStore } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";

const entity = { partitionKey: "p", rowKey: "r", properties: { n: 1 } };

/** A table store whose every operation fails with `error` (or throws it synchronously). */
function failingTables(error: unknown, sync = false): TableStore {
  const fail = (): Promise<never> => {
    if (sync) throw error;
    return Promise.reject(error);
  };
  return { get: fail, insert: fail, replace: fail, upsert: fail, delete: fail, transact: fail, query: fail };
}

function failingBlobs(error: unknown): BlobStore {
  const fail = (): Promise<never> => Promise.reject(error);
  return { put: fail, get: fail, delete: fail, list: fail };
}

/** Runs every table operation once, swallowing the (expected) rejection. */
async function everyTableOp(tables: TableStore): Promise<void> {
  const ops: (() => Promise<unknown>)[] = [
    () => tables.get("t", "p", "r"),
    () => tables.insert("t", entity),
    () => tables.replace("t", entity, "etag"),
    () => tables.upsert("t", entity),
    () => tables.delete("t", entity),
    () => tables.transact("t", "p", [{ op: "upsert", entity }]),
    () => tables.query("t", "p"),
  ];
  for (const op of ops) await op().catch(() => undefined);
}

describe("instrumented storage", () => {
  it("reports each failed table operation by name and rethrows the very same error", async () => {
    const failures: string[] = [];
    const boom = new StorageUnavailableError("backend down");
    const tables = instrumentTables(failingTables(boom), (op) => failures.push(op));
    await expect(tables.get("t", "p", "r")).rejects.toBe(boom);
    failures.length = 0;
    await everyTableOp(tables);
    expect(failures).toEqual([
      "table.get",
      "table.insert",
      "table.replace",
      "table.upsert",
      "table.delete",
      "table.transact",
      "table.query",
    ]);
  });

  it("counts synchronous throws too, as rejections", async () => {
    const failures: string[] = [];
    const boom = new Error("sync");
    const tables = instrumentTables(failingTables(boom, true), (op) => failures.push(op));
    await expect(tables.upsert("t", entity)).rejects.toBe(boom);
    expect(failures).toEqual(["table.upsert"]);
  });

  it("does not count ConcurrencyError (nor its subclass FencedError): lost races are control flow", async () => {
    const failures: string[] = [];
    for (const error of [
      new ConcurrencyError("exists", "row exists"),
      new ConcurrencyError("etag-mismatch", "changed"),
      new FencedError("user:1"),
    ]) {
      const tables = instrumentTables(failingTables(error), (op) => failures.push(op));
      await expect(tables.insert("t", entity)).rejects.toBe(error);
      await everyTableOp(tables);
    }
    expect(failures).toEqual([]);
    // Other typed failures are real ones.
    const limited = instrumentTables(failingTables(new StorageLimitError("too big")), (op) =>
      failures.push(op),
    );
    await limited.insert("t", entity).catch(() => undefined);
    expect(failures).toEqual(["table.insert"]);
  });

  it("reports blob failures and passes results through unchanged", async () => {
    const failures: string[] = [];
    const blobs = instrumentBlobs(failingBlobs(new Error("io")), (op) => failures.push(op));
    await blobs.put("c", "a/b", new Uint8Array([1]), "image/jpeg").catch(() => undefined);
    await blobs.get("c", "a/b").catch(() => undefined);
    await blobs.delete("c", "a/b").catch(() => undefined);
    await blobs.list("c", "a/").catch(() => undefined);
    expect(failures).toEqual(["blob.put", "blob.get", "blob.delete", "blob.list"]);

    const content = { data: Buffer.from("x"), contentType: "text/plain" };
    const ok: BlobStore = {
      put: async () => undefined,
      get: async () => content,
      delete: async () => undefined,
      list: async () => ["a/b"],
    };
    const passing = instrumentBlobs(ok, () => failures.push("unexpected"));
    expect(await passing.get("c", "a/b")).toBe(content);
    expect(await passing.list("c", "a/")).toEqual(["a/b"]);
    expect(failures).not.toContain("unexpected");
  });

  it("keeps the caller's error even when the listener throws", async () => {
    const boom = new Error("io");
    const tables = instrumentTables(failingTables(boom), () => {
      throw new Error("listener broke");
    });
    await expect(tables.get("t", "p", "r")).rejects.toBe(boom);
  });

  it("wraps a whole Storage: kind kept, ping observed, close passed through", async () => {
    const failures: string[] = [];
    let closed = false;
    const inner: Storage = {
      kind: "azure",
      tables: failingTables(new Error("t")),
      blobs: failingBlobs(new Error("b")),
      ping: () => Promise.reject(new Error("no answer")),
      close: async () => {
        closed = true;
      },
    };
    const storage = instrumentStorage(inner, (op) => failures.push(op));
    expect(storage.kind).toBe("azure");
    await expect(storage.ping()).rejects.toThrow("no answer");
    await storage.close();
    expect(closed).toBe(true);
    expect(failures).toEqual(["ping"]);
  });
});

describe("lovecraft_storage_errors_total over the embedded store", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("counts real failures by op, not conflicts, and exposes them in the registry", async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-instr-"));
    const metrics = createMetrics();
    const storage = instrumentStorage(openEmbeddedStorage(dir), (op) => metrics.storageErrors.inc({ op }));
    await storage.tables.insert("meta", entity);
    // A conflict from the real adapter is not an error.
    await expect(storage.tables.insert("meta", entity)).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await metrics.registry.getSingleMetricAsString("lovecraft_storage_errors_total")).not.toMatch(
      /lovecraft_storage_errors_total\{/,
    );
    // A closed database fails every operation.
    await storage.close();
    await expect(storage.tables.get("meta", "p", "r")).rejects.toThrow();
    await expect(storage.tables.get("meta", "p", "r")).rejects.toThrow();
    await expect(storage.tables.upsert("meta", entity)).rejects.toThrow();
    const text = await metrics.registry.metrics();
    expect(text).toContain('lovecraft_storage_errors_total{op="table.get"} 2');
    expect(text).toContain('lovecraft_storage_errors_total{op="table.upsert"} 1');
    expect(text).not.toContain('op="table.insert"');
  });
});
