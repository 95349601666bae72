import { ZodError } from "zod";
import { type ErrorBody, ErrorCode, HTTP_STATUS, RETRYABLE } from "../protocol/errors.js";
import { ConcurrencyError, StorageLimitError, StorageUnavailableError } from "./persistence/errors.js";

/** An expected failure with a client-facing code; thrown by handlers, rendered at the edge. */
export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.details !== undefined ? { details: this.details } : {}),
      ...(RETRYABLE.has(this.code) ? { retryable: true } : {}),
    };
  }
}

/** Express/body-parser errors carry a `type` and `status`. */
interface HttpParserError {
  readonly type?: string;
  readonly status?: number;
}

/**
 * Maps any thrown value to an `AppError`. Unknown errors become `INTERNAL` with a generic
 * message (the original goes to the log, never to the client).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    const details = err.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    return new AppError(ErrorCode.VALIDATION_FAILED, "request failed validation", details, { cause: err });
  }
  if (err instanceof StorageUnavailableError) {
    return new AppError(ErrorCode.STORAGE_UNAVAILABLE, "storage is temporarily unavailable", undefined, {
      cause: err,
    });
  }
  if (err instanceof ConcurrencyError) {
    return new AppError(ErrorCode.CONFLICT, "the resource changed concurrently; retry", undefined, {
      cause: err,
    });
  }
  if (err instanceof StorageLimitError) {
    return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, "the data exceeds a storage limit", undefined, {
      cause: err,
    });
  }
  const parser = err as HttpParserError;
  switch (parser?.type) {
    case "entity.too.large":
      return new AppError(ErrorCode.PAYLOAD_TOO_LARGE, "request body too large", undefined, { cause: err });
    case "entity.parse.failed":
      return new AppError(ErrorCode.BAD_REQUEST, "malformed JSON body", undefined, { cause: err });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "unsupported body encoding", undefined, {
        cause: err,
      });
  }
  if (parser?.status === 400)
    return new AppError(ErrorCode.BAD_REQUEST, "bad request", undefined, { cause: err });
  return new AppError(ErrorCode.INTERNAL, "internal error", undefined, { cause: err });
}
