/**
 * The embedded store's database thread. It owns the only SQLite connection and runs every read
 * and write the main thread's `SqliteTableStore` sends it, so a commit's fsync
 * (`synchronous=FULL`) blocks this thread, never the event loop serving sockets. Writes that
 * arrive while a commit is on disk queue up and go into the next transaction together: the
 * slower the disk, the larger the group commit.
 *
 * Self-contained on purpose (only `node:` imports, erasable type syntax): it runs as a worker
 * under tsx, under vitest and from the compiled build alike. Properties arrive and leave as
 * V8-serialized bytes; the main thread (de)serializes them.
 */
import { randomBytes } from "node:crypto";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

export interface WorkerRow {
  rk: string;
  etag: string;
  props: Uint8Array;
}

/** One write as the worker applies it (`props` already serialized). */
export type WorkerWrite =
  | { kind: "insert"; table: string; pk: string; rk: string; props: Uint8Array }
  | { kind: "replace"; table: string; pk: string; rk: string; props: Uint8Array; etag: string }
  | { kind: "upsert"; table: string; pk: string; rk: string; props: Uint8Array }
  | { kind: "delete"; table: string; pk: string; rk: string; etag?: string }
  | { kind: "transact"; table: string; pk: string; ops: WorkerWrite[] };

export type WorkerRequest =
  | { id: number; op: "get"; table: string; pk: string; rk: string }
  | { id: number; op: "query"; table: string; pk: string; where: string[]; params: string[]; limit: number }
  | { id: number; op: "write"; write: WorkerWrite }
  | { id: number; op: "ping" }
  | { id: number; op: "close" };

/** `concurrency` carries the `ConcurrencyError` reason; anything else is an engine failure. */
export type WorkerError =
  | { kind: "concurrency"; reason: "exists" | "missing" | "etag-mismatch"; message: string }
  | { kind: "engine"; message: string };

export type WorkerResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WorkerError };

class Conflict extends Error {
  readonly reason: "exists" | "missing" | "etag-mismatch";
  constructor(reason: "exists" | "missing" | "etag-mismatch", message: string) {
    super(message);
    this.reason = reason;
  }
}

const newEtag = (): string => `W/"${randomBytes(9).toString("base64url")}"`;

/** Opens the database with the store's pragmas; throws when another process holds it. */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA busy_timeout = 0");
    // Takes the exclusive lock now rather than on the first write.
    db.exec("BEGIN EXCLUSIVE; COMMIT");
    db.exec(`CREATE TABLE IF NOT EXISTS entities (
      tbl TEXT NOT NULL, pk TEXT NOT NULL, rk TEXT NOT NULL, etag TEXT NOT NULL, props BLOB NOT NULL,
      PRIMARY KEY (tbl, pk, rk)) WITHOUT ROWID`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Row blobs are moved to the main thread, not copied (a journal replay reads many). */
function ownBuffers(value: unknown): ArrayBuffer[] {
  const rows = Array.isArray(value) ? value : value && typeof value === "object" ? [value] : [];
  const out: ArrayBuffer[] = [];
  for (const row of rows as Partial<WorkerRow>[]) {
    const props = row.props;
    if (
      props &&
      props.buffer instanceof ArrayBuffer &&
      props.byteOffset === 0 &&
      props.buffer.byteLength === props.byteLength
    ) {
      out.push(props.buffer);
    }
  }
  return out;
}

function serve(db: DatabaseSync, port: NonNullable<typeof parentPort>): void {
  const s: Record<string, StatementSync> = {
    get: db.prepare("SELECT rk, etag, props FROM entities WHERE tbl = ? AND pk = ? AND rk = ?"),
    insert: db.prepare("INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?)"),
    update: db.prepare("UPDATE entities SET etag = ?, props = ? WHERE tbl = ? AND pk = ? AND rk = ?"),
    upsert: db.prepare(
      "INSERT INTO entities (tbl, pk, rk, etag, props) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (tbl, pk, rk) DO UPDATE SET etag = excluded.etag, props = excluded.props",
    ),
    delete: db.prepare("DELETE FROM entities WHERE tbl = ? AND pk = ? AND rk = ?"),
    // Prepared once: a batch runs these per write, and `exec` would parse them every time.
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    savepoint: db.prepare("SAVEPOINT w"),
    release: db.prepare("RELEASE w"),
    rollbackTo: db.prepare("ROLLBACK TO w"),
  };
  const stmt = (name: string): StatementSync => s[name] as StatementSync;
  const queries = new Map<string, StatementSync>();

  const current = (w: { table: string; pk: string; rk: string }) =>
    stmt("get").get(w.table, w.pk, w.rk) as WorkerRow | undefined;
  const assertEtag = (w: { table: string; pk: string; rk: string }, etag: string) => {
    const row = current(w);
    if (!row) throw new Conflict("missing", `row ${w.pk}/${w.rk} does not exist in ${w.table}`);
    if (etag !== "*" && row.etag !== etag) {
      throw new Conflict("etag-mismatch", `row ${w.pk}/${w.rk} in ${w.table} changed since read`);
    }
  };

  const apply = (w: WorkerWrite): unknown => {
    switch (w.kind) {
      case "insert": {
        if (current(w)) throw new Conflict("exists", `row ${w.pk}/${w.rk} already exists in ${w.table}`);
        const etag = newEtag();
        stmt("insert").run(w.table, w.pk, w.rk, etag, w.props);
        return etag;
      }
      case "replace": {
        assertEtag(w, w.etag);
        const etag = newEtag();
        stmt("update").run(etag, w.props, w.table, w.pk, w.rk);
        return etag;
      }
      case "upsert": {
        const etag = newEtag();
        stmt("upsert").run(w.table, w.pk, w.rk, etag, w.props);
        return etag;
      }
      case "delete":
        if (w.etag !== undefined) assertEtag(w, w.etag);
        stmt("delete").run(w.table, w.pk, w.rk);
        return "";
      case "transact":
        // All or none: the caller's savepoint rolls back every operation if one fails.
        return w.ops.map(apply);
    }
  };

  const errorOf = (err: unknown): WorkerError =>
    err instanceof Conflict
      ? { kind: "concurrency", reason: err.reason, message: err.message }
      : { kind: "engine", message: err instanceof Error ? err.message : String(err) };

  let queue: { id: number; write: WorkerWrite }[] = [];
  let closed = false;

  /**
   * Group commit: every write queued since the last commit in ONE transaction, each under its
   * own savepoint so one write's conflict rolls back only that write. Answers leave after COMMIT.
   */
  const flush = () => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const answers: WorkerResponse[] = [];
    try {
      stmt("begin").run();
      for (const { id, write } of batch) {
        stmt("savepoint").run();
        try {
          answers.push({ id, ok: true, value: apply(write) });
          stmt("release").run();
        } catch (err) {
          stmt("rollbackTo").run();
          stmt("release").run();
          answers.push({ id, ok: false, error: errorOf(err) });
        }
      }
      stmt("commit").run();
    } catch (err) {
      // The transaction as a whole failed (I/O, disk full): nothing of it is durable.
      try {
        db.exec("ROLLBACK");
      } catch {
        // already rolled back by SQLite
      }
      const error = errorOf(err);
      port.postMessage(batch.map(({ id }): WorkerResponse => ({ id, ok: false, error })));
      return;
    }
    port.postMessage(answers);
  };

  const read = (req: WorkerRequest): unknown => {
    switch (req.op) {
      case "get":
        return stmt("get").get(req.table, req.pk, req.rk);
      case "query": {
        const sql = `SELECT rk, etag, props FROM entities WHERE ${req.where.join(" AND ")} ORDER BY rk LIMIT ?`;
        let q = queries.get(sql);
        if (!q) {
          q = db.prepare(sql);
          queries.set(sql, q);
        }
        return q.all(...req.params, req.limit);
      }
      case "ping":
        return db.prepare("SELECT 1").get() !== undefined;
      default:
        throw new Error(`unexpected request ${req.op}`);
    }
  };

  /** The main thread sends the requests of one of its turns as one message; answers go back the same way. */
  port.on("message", (requests: WorkerRequest[]) => {
    const answers: WorkerResponse[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const req of requests) {
      if (closed) {
        answers.push({ id: req.id, ok: false, error: { kind: "engine", message: "store closed" } });
      } else if (req.op === "write") {
        queue.push({ id: req.id, write: req.write });
        if (queue.length === 1) setImmediate(flush);
      } else if (req.op === "close") {
        flush();
        closed = true;
        db.close();
        answers.push({ id: req.id, ok: true, value: null });
      } else {
        // Reads run at once, outside any transaction: they see committed writes only.
        try {
          const value = read(req);
          transfer.push(...ownBuffers(value));
          answers.push({ id: req.id, ok: true, value });
        } catch (err) {
          answers.push({ id: req.id, ok: false, error: errorOf(err) });
        }
      }
    }
    if (answers.length > 0) port.postMessage(answers, transfer);
  });
}

/** Set in `workerData` by the store: this module also loads on the main thread (for its types). */
export const WORKER_MARK = "lovecraftSqlitePath";

const path = (workerData as Record<string, unknown> | null)?.[WORKER_MARK];
if (parentPort && typeof path === "string") {
  try {
    const db = openDatabase(path);
    serve(db, parentPort);
    parentPort.postMessage({ ready: true });
  } catch (err) {
    parentPort.postMessage({ ready: false, message: err instanceof Error ? err.message : String(err) });
  }
}
