/**
 * Typed storage failures. Adapters translate backend-specific errors (HTTP 409/412/404 from Azure,
 * constraint violations from SQLite) into these, so callers never inspect vendor errors.
 */

export type ConcurrencyReason = "exists" | "etag-mismatch" | "missing";

/** A conditional write lost a race: the row exists, changed, or vanished since it was read. */
export class ConcurrencyError extends Error {
  override readonly name = "ConcurrencyError";
  constructor(
    readonly reason: ConcurrencyReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request that would break a storage limit (key characters, property or entity size, batch). */
export class StorageLimitError extends Error {
  override readonly name = "StorageLimitError";
}

/** The backend did not answer or failed; the operation may be retried. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Stored data contradicts itself (a head pointing at a missing snapshot, a gap in a log). */
export class StorageCorruptionError extends Error {
  override readonly name = "StorageCorruptionError";
}

/** A writer whose activation was superseded: it must stop acknowledging and deactivate. */
export class FencedError extends ConcurrencyError {
  constructor(actorKey: string, options?: { cause?: unknown }) {
    super("etag-mismatch", `actor ${actorKey} was claimed by a newer activation`, options);
  }
}
