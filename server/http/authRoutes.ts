import { Router } from "express";
import { z } from "zod";
import type { AuthService } from "../auth/AuthService.js";
import type { TokenService } from "../auth/TokenService.js";
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
