import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { StorageUnavailableError } from "../errors.js";
import type { Storage } from "../ports.js";
import { FileBlobStore } from "./FileBlobStore.js";
import { SqliteTableStore } from "./SqliteTableStore.js";

/**
 * Opens the embedded, crash-safe store under `dataDir`: tables in `lovecraft.db` (SQLite, WAL,
 * `synchronous=FULL` so a resolved write is on disk) and blobs as files in `blobs/`.
 *
 * The database is opened with an exclusive lock: a second process pointed at the same directory
 * fails at start instead of silently sharing (and corrupting assumptions about) one store.
 */
export function openEmbeddedStorage(dataDir: string): Storage {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, "lovecraft.db"));
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA busy_timeout = 0");
    // Takes the exclusive lock now rather than on the first write.
    db.exec("BEGIN EXCLUSIVE; COMMIT");
  } catch (err) {
    db.close();
    throw new StorageUnavailableError(
      `cannot open the embedded store in ${dataDir} (is another Lovecraft process using it?)`,
      { cause: err },
    );
  }
  const tables = new SqliteTableStore(db);
  const blobs = new FileBlobStore(join(dataDir, "blobs"));
  return {
    kind: "embedded",
    tables,
    blobs,
    async ping() {
      db.prepare("SELECT 1").get();
    },
    async close() {
      if (db.isOpen) tables.flushPending();
      if (db.isOpen) db.close();
    },
  };
}
