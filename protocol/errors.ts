/**
 * Every error code a client can receive, over HTTP (`error.code` in the envelope) and over the
 * socket. Codes are stable API: add new ones, never repurpose old ones.
 */
export const ErrorCode = {
  BAD_REQUEST: "BAD_REQUEST",
  VALIDATION_FAILED: "VALIDATION_FAILED",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  OVERLOADED: "OVERLOADED",
  STORAGE_UNAVAILABLE: "STORAGE_UNAVAILABLE",
  NOT_READY: "NOT_READY",
  /** The actor is moving (deactivating, superseded, or its node died); retry with the same key. */
  ACTOR_UNAVAILABLE: "ACTOR_UNAVAILABLE",
  /** No answer in time; the effect may or may not have happened — retry with the same key. */
  TIMEOUT: "TIMEOUT",
  INTERNAL: "INTERNAL",
  /** The device speaks another realtime protocol version (see protocol/realtime.ts). */
  PROTOCOL_MISMATCH: "PROTOCOL_MISMATCH",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The HTTP status each code is answered with. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  STORAGE_UNAVAILABLE: 503,
  NOT_READY: 503,
  ACTOR_UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
  PROTOCOL_MISMATCH: 400,
};

/** Codes after which the same request may succeed if retried later (with the same idempotency key). */
export const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.RATE_LIMITED,
  ErrorCode.OVERLOADED,
  ErrorCode.STORAGE_UNAVAILABLE,
  ErrorCode.NOT_READY,
  ErrorCode.ACTOR_UNAVAILABLE,
  ErrorCode.TIMEOUT,
]);

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
  readonly retryable?: boolean;
}

/** The REST envelope. */
export type ApiResponse<T> =
  | { readonly success: true; readonly data: T; readonly timestamp: string }
  | { readonly success: false; readonly error: ErrorBody; readonly timestamp: string };
