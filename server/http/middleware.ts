import type { ErrorRequestHandler, RequestHandler } from "express";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError, toAppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { sendError } from "./envelope.js";

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * Requests with a body must declare JSON. Express 5 leaves `req.body` undefined for other types,
 * which naive handlers turn into a 500; answer 415 instead (shared/notes/security.md).
 * Multipart upload routes are mounted before this middleware.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (METHODS_WITH_BODY.has(req.method) && hasBody && !req.is("application/json")) {
    next(new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "request body must be application/json"));
    return;
  }
  next();
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError(ErrorCode.NOT_FOUND, `no route for ${req.method} ${req.path}`));
};

/** Renders every error as the envelope; logs unexpected ones with their cause. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appError = toAppError(err);
    if (appError.code === ErrorCode.INTERNAL || appError.code === ErrorCode.STORAGE_UNAVAILABLE) {
      logger.error({ err, method: req.method, path: req.path }, "request failed");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, appError);
  };
}
