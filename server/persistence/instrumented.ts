import { ConcurrencyError } from "./errors.js";
import type { BlobStore, Storage, TableStore } from "./ports.js";

/**
 * Told about each storage operation that failed, with its name (`table.insert`, `blob.put`,
 * `ping`…). A `ConcurrencyError` (a conditional write that lost a race, a fenced writer) is how
 * the stores coordinate, not a failure: it is never reported.
 */
export type StorageFailureListener = (op: string, err: unknown) => void;

/** Wraps one operation: same arguments, same result, same error; failures are reported first. */
function observed<A extends unknown[], R>(
  op: string,
  call: (...args: A) => Promise<R>,
  onFailure: StorageFailureListener,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await call(...args);
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) {
        try {
          onFailure(op, err);
        } catch {
          // Counting must never change what the caller sees.
        }
      }
      throw err;
    }
  };
}

export function instrumentTables(tables: TableStore, onFailure: StorageFailureListener): TableStore {
  return {
    get: observed("table.get", (...a) => tables.get(...a), onFailure),
    insert: observed("table.insert", (...a) => tables.insert(...a), onFailure),
    replace: observed("table.replace", (...a) => tables.replace(...a), onFailure),
    upsert: observed("table.upsert", (...a) => tables.upsert(...a), onFailure),
    delete: observed("table.delete", (...a) => tables.delete(...a), onFailure),
    transact: observed("table.transact", (...a) => tables.transact(...a), onFailure),
    query: observed("table.query", (...a) => tables.query(...a), onFailure),
  };
}

export function instrumentBlobs(blobs: BlobStore, onFailure: StorageFailureListener): BlobStore {
  return {
    put: observed("blob.put", (...a) => blobs.put(...a), onFailure),
    get: observed("blob.get", (...a) => blobs.get(...a), onFailure),
    delete: observed("blob.delete", (...a) => blobs.delete(...a), onFailure),
    list: observed("blob.list", (...a) => blobs.list(...a), onFailure),
  };
}

/**
 * The same storage with every table, blob and ping operation observed: a thin decorator for the
 * `lovecraft_storage_errors_total{op}` counter. `close` is passed through unobserved.
 */
export function instrumentStorage(storage: Storage, onFailure: StorageFailureListener): Storage {
  return {
    kind: storage.kind,
    tables: instrumentTables(storage.tables, onFailure),
    blobs: instrumentBlobs(storage.blobs, onFailure),
    ping: observed("ping", () => storage.ping(), onFailure),
    close: () => storage.close(),
  };
}
