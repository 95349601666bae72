import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { StorageUnavailableError } from "../errors.js";
import type { Storage } from "../ports.js";
import { FileBlobStore } from "./FileBlobStore.js";
import { SqliteTableStore } from "./SqliteTableStore.js";
import { openDatabase } from "./sqliteWorker.js";

/**
 * Opens the embedded, crash-safe store under `dataDir`: tables in `lovecraft.db` (SQLite, WAL,
 * `synchronous=FULL` so a resolved write is on disk, on its own thread) and blobs as files in
 * `blobs/`.
 *
 * The database is opened with an exclusive lock: a second process pointed at the same directory
 * fails here, at start, instead of silently sharing (and corrupting assumptions about) one store.
 * The check opens the database once on this thread, then hands it to the store's thread.
 */
export function openEmbeddedStorage(dataDir: string): Storage {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "lovecraft.db");
  try {
    openDatabase(file).close();
  } catch (err) {
    throw new StorageUnavailableError(
      `cannot open the embedded store in ${dataDir} (is another Lovecraft process using it?)`,
      { cause: err },
    );
  }
  const tables = new SqliteTableStore(file);
  const blobs = new FileBlobStore(join(dataDir, "blobs"));
  return {
    kind: "embedded",
    tables,
    blobs,
    ping: () => tables.ping(),
    close: () => tables.close(),
  };
}
