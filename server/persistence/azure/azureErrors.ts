import { ConcurrencyError, StorageLimitError, StorageUnavailableError } from "../errors.js";

/** The HTTP status of an Azure SDK `RestError`, if the failure got that far. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * Translates an Azure SDK failure into the storage port's typed errors: 409 → row exists,
 * 412 → ETag mismatch, 404 on a conditional write → row missing, 400/413 → a limit the adapter
 * failed to pre-check, anything else (network, 5xx, throttling) → retryable unavailability.
 */
export function mapAzureError(err: unknown, what: string): Error {
  const status = statusOf(err);
  switch (status) {
    case 409:
      return new ConcurrencyError("exists", `${what}: already exists`, { cause: err });
    case 412:
      return new ConcurrencyError("etag-mismatch", `${what}: changed since read`, { cause: err });
    case 404:
      return new ConcurrencyError("missing", `${what}: does not exist`, { cause: err });
    case 400:
    case 413:
      return new StorageLimitError(`${what}: rejected by storage (${status})`, { cause: err });
    default:
      return new StorageUnavailableError(`${what}: storage unavailable${status ? ` (${status})` : ""}`, {
        cause: err,
      });
  }
}
