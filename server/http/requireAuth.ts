import type { RequestHandler, Response } from "express";
import { ErrorCode } from "../../protocol/errors.js";
import type { AccessClaims, TokenService } from "../auth/TokenService.js";
import { AppError } from "../errors.js";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/**
 * Requires a valid access token (`Authorization: Bearer …`) and exposes its claims as
 * `res.locals.auth`. Verification is stateless (signature, issuer, audience, type, expiry); routes
 * that must also honour "log out everywhere" check the token version against the account.
 */
export function requireAuth(tokens: TokenService): RequestHandler {
  return async (req, res, next) => {
    const match = BEARER.exec(req.headers.authorization ?? "");
    if (!match) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="lovecraft"');
      next(new AppError(ErrorCode.UNAUTHORIZED, "missing bearer token"));
      return;
    }
    try {
      res.locals.auth = await tokens.verifyAccess(match[1] as string);
      next();
    } catch {
      res.setHeader("WWW-Authenticate", 'Bearer realm="lovecraft", error="invalid_token"');
      next(new AppError(ErrorCode.UNAUTHORIZED, "invalid or expired access token"));
    }
  };
}

/** The verified claims of the caller (only on routes behind `requireAuth`). */
export function authOf(res: Response): AccessClaims {
  return res.locals.auth as AccessClaims;
}
