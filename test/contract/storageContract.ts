import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { ConcurrencyError, StorageLimitError } from "../../server/persistence/errors.js";
import type { Storage } from "../../server/persistence/ports.js";

let tableCounter = 0;

/**
 * The storage port contract: every adapter must pass this suite unchanged. Each test uses a fresh
 * table name so implementations that keep state between tests (a shared Azurite) stay isolated.
 */
export function describeStorageContract(name: string, storage: () => Storage): void {
  describe(`${name}: TableStore`, () => {
    let table: string;
    beforeEach(() => {
      table = `contract${process.pid}t${++tableCounter}`;
    });

    it("round-trips every property type", async () => {
      const { tables } = storage();
      const props = {
        text: "héllo ✓",
        int: 42,
        negative: -7,
        big: 1_700_000_000_123,
        fraction: 0.25,
        flag: true,
        off: false,
        int64: 9_007_199_254_740_993n,
        when: new Date("2026-11-26T10:00:00.123Z"),
        bytes: Buffer.from([0, 1, 2, 250, 255]),
      };
      await tables.insert(table, { partitionKey: "p", rowKey: "r", properties: props });
      const got = await tables.get(table, "p", "r");
      expect(got?.properties).toEqual(props);
      expect(Buffer.isBuffer(got?.properties.bytes)).toBe(true);
      expect(typeof got?.etag).toBe("string");
    });

    it("returns undefined for a missing row", async () => {
      expect(await storage().tables.get(table, "p", "nope")).toBeUndefined();
    });

    it("insert refuses an existing row with ConcurrencyError(exists)", async () => {
      const { tables } = storage();
      await tables.insert(table, { partitionKey: "p", rowKey: "r", properties: { v: 1 } });
      const err = await tables
        .insert(table, { partitionKey: "p", rowKey: "r", properties: { v: 2 } })
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect(err.reason).toBe("exists");
      expect((await tables.get(table, "p", "r"))?.properties.v).toBe(1);
    });

    it("replace succeeds with the current ETag and fails with a stale one", async () => {
      const { tables } = storage();
      const first = await tables.insert(table, { partitionKey: "p", rowKey: "r", properties: { v: 1 } });
      const second = await tables.replace(
        table,
        { partitionKey: "p", rowKey: "r", properties: { v: 2 } },
        first,
      );
      expect(second).not.toBe(first);
      const err = await tables
        .replace(table, { partitionKey: "p", rowKey: "r", properties: { v: 3 } }, first)
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect(err.reason).toBe("etag-mismatch");
      expect((await tables.get(table, "p", "r"))?.properties).toEqual({ v: 2 });
    });

    it("replace of a missing row fails with ConcurrencyError", async () => {
      const { tables } = storage();
      const etag = await tables.insert(table, { partitionKey: "p", rowKey: "r", properties: {} });
      await tables.delete(table, { partitionKey: "p", rowKey: "r" });
      const err = await tables
        .replace(table, { partitionKey: "p", rowKey: "r", properties: {} }, etag)
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
    });

    it("upsert ignores ETags and replaces all properties", async () => {
      const { tables } = storage();
      await tables.upsert(table, { partitionKey: "p", rowKey: "r", properties: { a: 1, b: "x" } });
      await tables.upsert(table, { partitionKey: "p", rowKey: "r", properties: { a: 2 } });
      expect((await tables.get(table, "p", "r"))?.properties).toEqual({ a: 2 });
    });

    it("delete is conditional only when given an ETag", async () => {
      const { tables } = storage();
      const etag = await tables.insert(table, { partitionKey: "p", rowKey: "r", properties: {} });
      await tables.replace(table, { partitionKey: "p", rowKey: "r", properties: { v: 1 } }, etag);
      await expect(tables.delete(table, { partitionKey: "p", rowKey: "r" }, etag)).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      await tables.delete(table, { partitionKey: "p", rowKey: "r" });
      await tables.delete(table, { partitionKey: "p", rowKey: "r" });
      expect(await tables.get(table, "p", "r")).toBeUndefined();
    });

    it("transactions apply all operations and return their ETags", async () => {
      const { tables } = storage();
      const etag = await tables.insert(table, { partitionKey: "p", rowKey: "head", properties: { n: 0 } });
      await tables.insert(table, { partitionKey: "p", rowKey: "gone", properties: {} });
      const etags = await tables.transact(table, "p", [
        { op: "replace", entity: { partitionKey: "p", rowKey: "head", properties: { n: 2 } }, etag },
        { op: "insert", entity: { partitionKey: "p", rowKey: "a", properties: { v: "a" } } },
        { op: "upsert", entity: { partitionKey: "p", rowKey: "b", properties: { v: "b" } } },
        { op: "delete", rowKey: "gone" },
      ]);
      expect(etags).toHaveLength(4);
      const head = await tables.get(table, "p", "head");
      expect(head?.etag).toBe(etags[0]);
      expect(head?.properties.n).toBe(2);
      const rows = await tables.query(table, "p");
      expect(rows.items.map((r) => r.rowKey)).toEqual(["a", "b", "head"]);
    });

    it("a conflicting operation rolls the whole transaction back", async () => {
      const { tables } = storage();
      const etag = await tables.insert(table, { partitionKey: "p", rowKey: "head", properties: { n: 0 } });
      await tables.replace(table, { partitionKey: "p", rowKey: "head", properties: { n: 1 } }, etag);
      const err = await tables
        .transact(table, "p", [
          { op: "insert", entity: { partitionKey: "p", rowKey: "log1", properties: {} } },
          { op: "replace", entity: { partitionKey: "p", rowKey: "head", properties: { n: 2 } }, etag },
        ])
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect(await tables.get(table, "p", "log1")).toBeUndefined();
      expect((await tables.get(table, "p", "head"))?.properties.n).toBe(1);
    });

    it("concurrent writers fail or succeed each on their own (one conflict spoils no other write)", async () => {
      const { tables } = storage();
      const other = await tables.insert(table, { partitionKey: "q", rowKey: "x", properties: { n: 0 } });
      const results = await Promise.allSettled([
        tables.insert(table, { partitionKey: "p", rowKey: "a", properties: { n: 1 } }),
        tables.insert(table, { partitionKey: "p", rowKey: "a", properties: { n: 2 } }),
        tables.transact(table, "p", [
          { op: "insert", entity: { partitionKey: "p", rowKey: "b", properties: {} } },
        ]),
        tables.transact(table, "q", [
          { op: "insert", entity: { partitionKey: "q", rowKey: "y", properties: {} } },
          {
            op: "replace",
            entity: { partitionKey: "q", rowKey: "x", properties: { n: 9 } },
            etag: 'W/"stale"',
          },
        ]),
        tables.replace(table, { partitionKey: "q", rowKey: "x", properties: { n: 1 } }, other),
        tables.upsert(table, { partitionKey: "p", rowKey: "c", properties: {} }),
      ]);
      expect(results.map((r) => r.status)).toEqual([
        "fulfilled",
        "rejected",
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      expect((await tables.get(table, "p", "a"))?.properties.n).toBe(1);
      expect(await tables.get(table, "p", "b")).toBeDefined();
      expect(await tables.get(table, "q", "y")).toBeUndefined();
      expect((await tables.get(table, "q", "x"))?.properties.n).toBe(1);
      expect(await tables.get(table, "p", "c")).toBeDefined();
    });

    it("a transaction deleting a missing row fails as a whole", async () => {
      const { tables } = storage();
      const err = await tables
        .transact(table, "p", [
          { op: "insert", entity: { partitionKey: "p", rowKey: "a", properties: {} } },
          { op: "delete", rowKey: "never-written" },
        ])
        .catch((e) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect(await tables.get(table, "p", "a")).toBeUndefined();
    });

    it("queries one partition in row-key order with ranges, prefixes and pages", async () => {
      const { tables } = storage();
      const keys = ["a1", "a2", "a3", "b1", "b2", "c1"];
      await tables.transact(
        table,
        "p",
        keys.map((k) => ({
          op: "insert" as const,
          entity: { partitionKey: "p", rowKey: k, properties: { k } },
        })),
      );
      await tables.insert(table, { partitionKey: "other", rowKey: "a0", properties: {} });
      const rowKeys = async (range: Parameters<Storage["tables"]["query"]>[2]) =>
        (await tables.query(table, "p", range)).items.map((e) => e.rowKey);
      expect(await rowKeys({})).toEqual(keys);
      expect(await rowKeys({ prefix: "a" })).toEqual(["a1", "a2", "a3"]);
      expect(await rowKeys({ after: "a2", before: "b2" })).toEqual(["a3", "b1"]);
      expect(await rowKeys({ from: "b1" })).toEqual(["b1", "b2", "c1"]);
      const first = await tables.query(table, "p", { limit: 4 });
      expect(first.items.map((e) => e.rowKey)).toEqual(["a1", "a2", "a3", "b1"]);
      expect(first.next).toBe("b1");
      const second = await tables.query(table, "p", { limit: 4, after: first.next });
      expect(second.items.map((e) => e.rowKey)).toEqual(["b2", "c1"]);
      expect(second.next).toBeUndefined();
      expect((await tables.query(table, "empty")).items).toEqual([]);
    });

    it("enforces Azure's limits before writing", async () => {
      const { tables } = storage();
      const write = (rowKey: string, properties: Record<string, unknown>) =>
        tables.upsert(table, { partitionKey: "p", rowKey, properties: properties as never });
      await expect(write("a/b", {})).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("a#b", {})).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("x".repeat(1025), {})).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("r", { big: Buffer.alloc(60_001) })).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("r", { text: "x".repeat(30_001) })).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("r", { "bad-name": 1 })).rejects.toBeInstanceOf(StorageLimitError);
      await expect(write("r", { nan: Number.NaN })).rejects.toBeInstanceOf(StorageLimitError);
      const many = Object.fromEntries(Array.from({ length: 253 }, (_, i) => [`p${i}`, i]));
      await expect(write("r", many)).rejects.toBeInstanceOf(StorageLimitError);
      const chunks = Object.fromEntries(
        Array.from({ length: 18 }, (_, i) => [`c${i}`, Buffer.alloc(60_000)]),
      );
      await expect(write("r", chunks)).rejects.toBeInstanceOf(StorageLimitError);
      const ops = Array.from({ length: 101 }, (_, i) => ({
        op: "upsert" as const,
        entity: { partitionKey: "p", rowKey: `r${i}`, properties: {} },
      }));
      await expect(tables.transact(table, "p", ops)).rejects.toBeInstanceOf(StorageLimitError);
      await expect(
        tables.transact(table, "p", [
          { op: "upsert", entity: { partitionKey: "q", rowKey: "r", properties: {} } },
        ]),
      ).rejects.toBeInstanceOf(StorageLimitError);
      expect((await tables.query(table, "p")).items).toEqual([]);
    });

    it("accepts an entity near the 1 MiB limit with 60,000-byte chunks", async () => {
      const { tables } = storage();
      const properties = Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`c${i}`, randomBytes(60_000)]),
      );
      await tables.upsert(table, { partitionKey: "p", rowKey: "big", properties });
      const got = (await tables.get(table, "p", "big"))?.properties ?? {};
      // Buffer.equals, not toEqual: a deep compare of 600 KB takes seconds.
      for (const [k, v] of Object.entries(properties)) expect(v.equals(got[k] as Buffer), k).toBe(true);
    });
  });

  describe(`${name}: BlobStore`, () => {
    it("puts, gets, lists and deletes blobs", async () => {
      const { blobs } = storage();
      const prefix = `t${process.pid}-${++tableCounter}`;
      const data = randomBytes(100_000);
      await blobs.put("contract", `${prefix}/a/one.bin`, data, "application/octet-stream");
      await blobs.put("contract", `${prefix}/b.jpg`, Buffer.from("jpeg"), "image/jpeg");
      const got = await blobs.get("contract", `${prefix}/a/one.bin`);
      expect(got?.contentType).toBe("application/octet-stream");
      expect(Buffer.compare(got?.data ?? Buffer.alloc(0), data)).toBe(0);
      await blobs.put("contract", `${prefix}/b.jpg`, Buffer.from("jpeg2"), "image/jpeg");
      expect((await blobs.get("contract", `${prefix}/b.jpg`))?.data.toString()).toBe("jpeg2");
      expect(await blobs.list("contract", `${prefix}/`)).toEqual([`${prefix}/a/one.bin`, `${prefix}/b.jpg`]);
      await blobs.delete("contract", `${prefix}/b.jpg`);
      await blobs.delete("contract", `${prefix}/b.jpg`);
      expect(await blobs.get("contract", `${prefix}/b.jpg`)).toBeUndefined();
      expect(await blobs.list("contract", `${prefix}/`)).toEqual([`${prefix}/a/one.bin`]);
    });

    it("refuses unsafe names", async () => {
      const { blobs } = storage();
      await expect(blobs.put("contract", "../escape", Buffer.from("x"), "text/plain")).rejects.toBeInstanceOf(
        StorageLimitError,
      );
      await expect(blobs.put("Bad_Container", "x", Buffer.from("x"), "text/plain")).rejects.toBeInstanceOf(
        StorageLimitError,
      );
    });

    it("answers ping", async () => {
      await expect(storage().ping()).resolves.toBeUndefined();
    });
  });
}
