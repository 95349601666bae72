import type { Response } from "express";
import type { ApiResponse } from "../../protocol/errors.js";
import type { AppError } from "../errors.js";

/** Sends `{ success: true, data, timestamp }`. */
export function sendData<T>(res: Response, data: T, status = 200): void {
  const body: ApiResponse<T> = { success: true, data, timestamp: new Date().toISOString() };
  res.status(status).json(body);
}

/** Sends `{ success: false, error: { code, message, details }, timestamp }` with the code's status. */
export function sendError(res: Response, error: AppError): void {
  const body: ApiResponse<never> = {
    success: false,
    error: error.toBody(),
    timestamp: new Date().toISOString(),
  };
  if (error.toBody().retryable && !res.headersSent) {
    const after = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    res.setHeader("Retry-After", String(typeof after === "number" && after > 0 ? after : 1));
  }
  res.status(error.status).json(body);
}
