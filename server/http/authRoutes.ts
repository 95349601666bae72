import { Router } from "express";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import type { AuthService } from "../auth/AuthService.js";
import type { TokenService } from "../auth/TokenService.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

/** NIST SP 800-63B: at least 8 characters, allow long passphrases, no composition rules. */
export const Password = z.string().min(8, "at least 8 characters").max(128, "at most 128 characters");
export const RegisterBody = z
  .object({
    email: z.email().max(254),
    password: Password,
    displayName: z.string().trim().min(1).max(50),
  })
  .strict();
export const LoginBody = z
  .object({ email: z.string().min(3).max(254), password: z.string().min(1).max(128) })
  .strict();
export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();

export const PublicAccountSchema = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  createdAt: z.string(),
});
export const TokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe("access token lifetime in seconds"),
});
export const SessionSchema = TokenPairSchema.extend({ user: PublicAccountSchema });

/** `/api/v1/auth/*`: register, login, refresh (rotation), logout, me. */
export function authRoutes(auth: AuthService, tokens: TokenService): Router {
  const router = Router();
  // Tokens must never be cached by a browser or a proxy.
  router.use("/auth", (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });
  const clientIp = (req: { ip?: string | undefined }) => req.ip ?? "unknown";

  router.post("/auth/register", async (req, res) => {
    sendData(res, await auth.register(RegisterBody.parse(req.body), clientIp(req)), 201);
  });
  router.post("/auth/login", async (req, res) => {
    sendData(res, await auth.login(LoginBody.parse(req.body), clientIp(req)));
  });
  router.post("/auth/refresh", async (req, res) => {
    sendData(res, await auth.refresh(RefreshBody.parse(req.body).refreshToken));
  });
  router.post("/auth/logout", async (req, res) => {
    await auth.logout(RefreshBody.parse(req.body).refreshToken);
    sendData(res, { loggedOut: true });
  });
  router.get("/auth/me", requireAuth(tokens), async (_req, res) => {
    sendData(res, await auth.me(authOf(res)));
  });
  return router;
}

export const authRouteDocs: RouteDoc[] = [
  {
    method: "post",
    path: "/auth/register",
    summary: "Create an account and start a session",
    tags: ["auth"],
    body: RegisterBody,
    response: SessionSchema,
    status: 201,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.CONFLICT, ErrorCode.RATE_LIMITED, ErrorCode.OVERLOADED],
  },
  {
    method: "post",
    path: "/auth/login",
    summary: "Start a session with email and password",
    tags: ["auth"],
    body: LoginBody,
    response: SessionSchema,
    errors: [
      ErrorCode.VALIDATION_FAILED,
      ErrorCode.UNAUTHORIZED,
      ErrorCode.RATE_LIMITED,
      ErrorCode.OVERLOADED,
    ],
  },
  {
    method: "post",
    path: "/auth/refresh",
    summary: "Rotate a refresh token into a new token pair (reuse of a rotated token revokes the session)",
    tags: ["auth"],
    body: RefreshBody,
    response: TokenPairSchema,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED],
  },
  {
    method: "post",
    path: "/auth/logout",
    summary: "Revoke the session the refresh token belongs to",
    tags: ["auth"],
    body: RefreshBody,
    response: z.object({ loggedOut: z.literal(true) }),
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.UNAUTHORIZED],
  },
  {
    method: "get",
    path: "/auth/me",
    summary: "The caller's account",
    tags: ["auth"],
    auth: true,
    response: PublicAccountSchema,
  },
];
