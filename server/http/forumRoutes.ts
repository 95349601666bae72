import { createHash, randomUUID } from "node:crypto";
import { Router } from "express";
import { z } from "zod";
import { ContentId, ForumReply, ForumTopic } from "../../protocol/content.js";
import { ErrorCode } from "../../protocol/errors.js";
import type { TokenService } from "../auth/TokenService.js";
import { AppError } from "../errors.js";
import type { AccountStore } from "../persistence/stores/AccountStore.js";
import type { ForumStore } from "../persistence/stores/contentStores.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

const IdParams = z.object({ id: ContentId });
export const NewTopic = z
  .object({ title: z.string().trim().min(3).max(200), body: z.string().trim().min(1).max(20_000) })
  .strict();
export const NewReply = z.object({ body: z.string().trim().min(1).max(20_000) }).strict();
const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "8-64 letters, digits, _ or -");

/**
 * Ids are derived from the caller and their `Idempotency-Key` when one is sent, so a retried post
 * lands on the same id and is stored once; otherwise they are random.
 */
function contentIdFor(prefix: string, userId: string, key: string | undefined): string {
  if (key === undefined) return `${prefix}-${randomUUID()}`;
  const digest = createHash("sha256")
    .update(`${prefix}:${userId}:${IdempotencyKey.parse(key)}`)
    .digest("hex");
  return `${prefix}-${digest.slice(0, 32)}`;
}

/** Forum writes: new topics (with their opening post) and replies. Authors come from the token. */
export function forumRoutes(forum: ForumStore, accounts: AccountStore, tokens: TokenService): Router {
  const router = Router();
  const auth = requireAuth(tokens);

  async function author(userId: string): Promise<{ authorId: string; authorName: string }> {
    const stored = await accounts.getById(userId);
    if (!stored) throw new AppError(ErrorCode.UNAUTHORIZED, "account no longer exists");
    return { authorId: userId, authorName: stored.account.displayName };
  }

  router.post("/forum/sections/:id/topics", auth, async (req, res) => {
    const { id: sectionId } = IdParams.parse(req.params);
    const input = NewTopic.parse(req.body);
    const { userId } = authOf(res);
    if (!(await forum.getSection(sectionId)))
      throw new AppError(ErrorCode.NOT_FOUND, "forum section not found");
    const topicId = contentIdFor("t", userId, req.get("Idempotency-Key"));
    const existing = await forum.getTopic(topicId);
    if (existing) {
      sendData(res, { topic: existing }, 201);
      return;
    }
    const now = new Date().toISOString();
    const who = await author(userId);
    const topic = await forum.putTopic({
      id: topicId,
      sectionId,
      title: input.title,
      ...who,
      createdAt: now,
      lastActivityAt: now,
      replyCount: 0,
      pinned: false,
      locked: false,
    });
    const opening = await forum.addReply({
      id: `${topicId}-0`,
      topicId,
      ...who,
      body: input.body,
      createdAt: now,
    });
    sendData(res, { topic: opening.topic ?? topic }, 201);
  });

  router.post("/forum/topics/:id/replies", auth, async (req, res) => {
    const { id: topicId } = IdParams.parse(req.params);
    const input = NewReply.parse(req.body);
    const { userId } = authOf(res);
    const topic = await forum.getTopic(topicId);
    if (!topic) throw new AppError(ErrorCode.NOT_FOUND, "forum topic not found");
    if (topic.locked) throw new AppError(ErrorCode.CONFLICT, "topic is locked");
    const result = await forum.addReply({
      id: contentIdFor("r", userId, req.get("Idempotency-Key")),
      topicId,
      ...(await author(userId)),
      body: input.body,
      createdAt: new Date().toISOString(),
    });
    sendData(res, result.reply, 201);
  });

  return router;
}

export const forumRouteDocs: RouteDoc[] = [
  {
    method: "post",
    path: "/forum/sections/{id}/topics",
    summary: "Start a topic with its opening post (optional Idempotency-Key)",
    tags: ["forum"],
    auth: true,
    params: IdParams,
    body: NewTopic,
    response: z.object({ topic: ForumTopic }),
    status: 201,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND],
  },
  {
    method: "post",
    path: "/forum/topics/{id}/replies",
    summary: "Reply to a topic (409 when the topic is locked; optional Idempotency-Key)",
    tags: ["forum"],
    auth: true,
    params: IdParams,
    body: NewReply,
    response: ForumReply,
    status: 201,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND, ErrorCode.CONFLICT],
  },
];
