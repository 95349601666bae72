import { extname } from "node:path";
import { deserialize, serialize } from "node:v8";
import { Worker } from "node:worker_threads";
import { ConcurrencyError, StorageUnavailableError } from "../errors.js";
import { assertEntity, assertKey, assertTableName, assertTransaction } from "../limits.js";
import type {
  Entity,
  EntityKey,
  EntityProperties,
  QueryPage,
  RowRange,
  StoredEntity,
  TableOperation,
  TableStore,
} from "../ports.js";
import { prefixUpperBound } from "../rowRange.js";
import {
  WORKER_MARK,
  type WorkerError,
  type WorkerRequest,
  type WorkerResponse,
  type WorkerRow,
  type WorkerWrite,
} from "./sqliteWorker.js";

const DEFAULT_LIMIT = 1000;

/** Binary values come back as Buffers from both adapters. */
function decodeProps(bytes: Uint8Array): EntityProperties {
  const props = deserialize(bytes) as EntityProperties;
  for (const [k, v] of Object.entries(props)) {
    if (v instanceof Uint8Array && !Buffer.isBuffer(v))
      props[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return props;
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/**
 * The embedded table store: every logical table in one SQLite table keyed by
 * (table, partition, row), properties serialized with V8's structured clone (keeps bigint, Date
 * and binary types). The database lives on its own thread (`sqliteWorker.ts`): with
 * `synchronous=FULL` each commit waits for an fsync, which on the event loop stalled every
 * socket of the node for its duration (profiled: ≈19 % of the main thread in `COMMIT` in a
 * 50-member group chat load, and ack p99 above a second). Here the loop only posts requests;
 * writes resolve after their transaction's COMMIT, so a resolved write survives a crash as before.
 */
export class SqliteTableStore implements TableStore {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private nextId = 1;
  private failure: StorageUnavailableError | undefined;
  private readonly worker: Worker;

  constructor(path: string) {
    const self = fileURLExt(import.meta.url);
    this.worker = new Worker(new URL(`./sqliteWorker${self}`, import.meta.url), {
      workerData: { [WORKER_MARK]: path },
    });
    // The thread keeps the process alive only while an answer is owed (scripts that never close
    // the store still exit; one awaiting a write does not exit before it is durable).
    this.worker.unref();
    this.worker.on("message", (message: WorkerResponse[] | { ready: boolean; message?: string }) => {
      if (!Array.isArray(message)) {
        if (!message.ready) this.fail(`cannot open the embedded store: ${message.message}`);
        return;
      }
      for (const answer of message) {
        const waiter = this.pending.get(answer.id);
        if (!waiter) continue;
        this.pending.delete(answer.id);
        if (answer.ok) waiter.resolve(answer.value);
        else waiter.reject(errorFrom(answer.error));
      }
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on("error", (err) => this.fail(`embedded store thread failed: ${err.message}`));
    this.worker.on("exit", () => this.fail("embedded store thread stopped"));
  }

  async get(table: string, partitionKey: string, rowKey: string): Promise<StoredEntity | undefined> {
    assertTableName(table);
    assertKey("partition", partitionKey);
    assertKey("row", rowKey);
    const row = (await this.send({ op: "get", table, pk: partitionKey, rk: rowKey })) as
      | WorkerRow
      | undefined;
    return row ? { partitionKey, rowKey, etag: row.etag, properties: decodeProps(row.props) } : undefined;
  }

  async insert(table: string, entity: Entity): Promise<string> {
    assertTableName(table);
    assertEntity(entity);
    return this.write({ kind: "insert", ...target(table, entity) });
  }

  async replace(table: string, entity: Entity, etag: string): Promise<string> {
    assertTableName(table);
    assertEntity(entity);
    return this.write({ kind: "replace", ...target(table, entity), etag });
  }

  async upsert(table: string, entity: Entity): Promise<string> {
    assertTableName(table);
    assertEntity(entity);
    return this.write({ kind: "upsert", ...target(table, entity) });
  }

  async delete(table: string, key: EntityKey, etag?: string): Promise<void> {
    assertTableName(table);
    assertKey("partition", key.partitionKey);
    assertKey("row", key.rowKey);
    await this.write({
      kind: "delete",
      table,
      pk: key.partitionKey,
      rk: key.rowKey,
      ...(etag !== undefined ? { etag } : {}),
    });
  }

  async transact(
    table: string,
    partitionKey: string,
    operations: readonly TableOperation[],
  ): Promise<string[]> {
    assertTableName(table);
    assertTransaction(partitionKey, operations);
    const ops = operations.map((op): WorkerWrite => {
      switch (op.op) {
        case "insert":
        case "upsert":
          return { kind: op.op, ...target(table, { ...op.entity, partitionKey }) };
        case "replace":
          return { kind: "replace", ...target(table, { ...op.entity, partitionKey }), etag: op.etag };
        default:
          // Deleting a missing row fails the whole transaction (as on Azure).
          return { kind: "delete", table, pk: partitionKey, rk: op.rowKey, etag: "*" };
      }
    });
    return this.write({ kind: "transact", table, pk: partitionKey, ops });
  }

  async query(table: string, partitionKey: string, range: RowRange = {}): Promise<QueryPage> {
    assertTableName(table);
    assertKey("partition", partitionKey);
    const limit = range.limit ?? DEFAULT_LIMIT;
    const where = ["tbl = ?", "pk = ?"];
    const params: string[] = [table, partitionKey];
    if (range.after !== undefined) where.push("rk > ?") && params.push(range.after);
    if (range.from !== undefined) where.push("rk >= ?") && params.push(range.from);
    if (range.before !== undefined) where.push("rk < ?") && params.push(range.before);
    if (range.prefix) {
      where.push("rk >= ?");
      params.push(range.prefix);
      const upper = prefixUpperBound(range.prefix);
      if (upper !== undefined) where.push("rk < ?") && params.push(upper);
    }
    const rows = (await this.send({
      op: "query",
      table,
      pk: partitionKey,
      where,
      params,
      limit: limit + 1,
    })) as WorkerRow[];
    const items = rows.slice(0, limit).map((row) => ({
      partitionKey,
      rowKey: row.rk,
      etag: row.etag,
      properties: decodeProps(row.props),
    }));
    const last = items.at(-1);
    return rows.length > limit && last ? { items, next: last.rowKey } : { items };
  }

  async ping(): Promise<void> {
    await this.send({ op: "ping" });
  }

  /** Commits writes already sent, closes the database and stops its thread. */
  async close(): Promise<void> {
    if (this.failure) return;
    await this.send({ op: "close" }).catch(() => undefined);
    this.failure = new StorageUnavailableError("the embedded store is closed");
    await this.worker.terminate();
  }

  private write<T>(write: WorkerWrite): Promise<T> {
    return this.send({ op: "write", write }) as Promise<T>;
  }

  private send(request: Request): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.outbox.push({ ...request, id } as WorkerRequest);
      this.transfer.push(...transferable(request));
      if (this.outbox.length === 1) setImmediate(() => this.post());
    });
  }

  /**
   * Requests of one event-loop turn travel as one message: posting costs tens of µs each (a
   * structured clone and a wake-up of the thread), so a fan-out's hundred appends pay it once.
   */
  private readonly outbox: WorkerRequest[] = [];
  private transfer: ArrayBuffer[] = [];

  private post(): void {
    const requests = this.outbox.splice(0, this.outbox.length);
    const transfer = this.transfer;
    this.transfer = [];
    if (requests.length > 0 && !this.failure) this.worker.postMessage(requests, transfer);
  }

  private fail(message: string): void {
    this.failure ??= new StorageUnavailableError(message);
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}

function target(table: string, entity: Entity) {
  return { table, pk: entity.partitionKey, rk: entity.rowKey, props: serialize(entity.properties) };
}

/**
 * The serialized properties of a write, moved to the database thread instead of copied (a chat
 * snapshot is tens of KiB; copying one cost ≈0.5 ms of the event loop). `serialize` gives each
 * value its own buffer; anything sharing a buffer is copied as usual.
 */
function transferable(request: Request): ArrayBuffer[] {
  if (request.op !== "write") return [];
  const writes = request.write.kind === "transact" ? request.write.ops : [request.write];
  const out: ArrayBuffer[] = [];
  for (const w of writes) {
    if (!("props" in w)) continue;
    const { buffer, byteOffset, byteLength } = w.props;
    if (buffer instanceof ArrayBuffer && byteOffset === 0 && buffer.byteLength === byteLength)
      out.push(buffer);
  }
  return out;
}

function errorFrom(error: WorkerError): Error {
  return error.kind === "concurrency"
    ? new ConcurrencyError(error.reason, error.message)
    : new StorageUnavailableError(`embedded store failed: ${error.message}`);
}

/** `.ts` when running from source (tsx, vitest), `.js` from the compiled build. */
function fileURLExt(url: string): string {
  return extname(new URL(url).pathname);
}
