import { Router } from "express";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import type { AccountRights } from "../auth/AccountRights.js";
import type { TokenService } from "../auth/TokenService.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

export const EraseBody = z.object({ password: z.string().min(1).max(128) }).strict();

/** `/api/v1/users/me/export` and `DELETE /api/v1/users/me`: the caller's data rights. */
export function userRoutes(rights: AccountRights, tokens: TokenService): Router {
  const router = Router();
  const auth = requireAuth(tokens);

  router.get("/users/me/export", auth, async (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Content-Disposition", 'attachment; filename="lovecraft-export.json"');
    sendData(res, await rights.export(authOf(res).userId));
  });

  router.delete("/users/me", auth, async (req, res) => {
    const { password } = EraseBody.parse(req.body);
    sendData(res, { deleted: true, ...(await rights.erase(authOf(res).userId, password)) });
  });

  return router;
}

export const userRouteDocs: RouteDoc[] = [
  {
    method: "get",
    path: "/users/me/export",
    summary: "Everything held about the caller: account, sessions, photos, forum posts",
    tags: ["account"],
    auth: true,
    errors: [ErrorCode.NOT_FOUND],
  },
  {
    method: "delete",
    path: "/users/me",
    summary:
      "Erase the account (password confirmation): sessions revoked, photos deleted, forum posts anonymized",
    tags: ["account"],
    auth: true,
    body: EraseBody,
    response: z.object({
      deleted: z.literal(true),
      photos: z.number().int(),
      forumPosts: z.number().int(),
      chats: z.number().int(),
      matches: z.number().int(),
    }),
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND],
  },
];
