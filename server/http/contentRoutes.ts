import { createHash } from "node:crypto";
import { type Request, type Response, Router } from "express";
import { z } from "zod";
import { ContentId } from "../../protocol/content.js";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import type { Page } from "../persistence/stores/DocumentCollection.js";
import type { Stores } from "../persistence/stores/index.js";
import { sendData } from "./envelope.js";

/** Cursors are opaque to clients: base64url of the storage row key. */
const Cursor = z
  .string()
  .max(1500)
  .regex(/^[A-Za-z0-9_-]+$/, "invalid cursor")
  .transform((c) => Buffer.from(c, "base64url").toString("utf8"));

const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Cursor.optional(),
});

const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes");
const ItemQuery = Paging.extend({ category: Slug.optional() });
const PostQuery = Paging.extend({ tag: Slug.optional() });
const EventQuery = Paging.extend({
  city: z.string().min(1).max(100).optional(),
  /** ISO date-time; defaults to now, so the list shows upcoming events. */
  from: z.iso.datetime({ offset: true }).optional(),
});
const IdParam = z.object({ id: ContentId });

const PUBLIC_MAX_AGE_S = 60;

/** Sends a public, cacheable read with an ETag over the data, so revalidation can answer 304. */
function sendCacheable(res: Response, data: unknown): void {
  const etag = `W/"${createHash("sha1").update(JSON.stringify(data)).digest("base64url")}"`;
  res.setHeader("ETag", etag);
  res.setHeader("Cache-Control", `public, max-age=${PUBLIC_MAX_AGE_S}`);
  sendData(res, data);
}

function sendPage<T>(res: Response, page: Page<T>): void {
  sendCacheable(res, {
    items: page.items,
    nextCursor: page.next !== undefined ? Buffer.from(page.next, "utf8").toString("base64url") : null,
  });
}

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
  return value;
}

function paging(q: { limit: number; cursor?: string | undefined }) {
  return { limit: q.limit, ...(q.cursor !== undefined ? { after: q.cursor } : {}) };
}

const id = (req: Request) => IdParam.parse(req.params).id;

/** Public reads of the catalogue, blog, events and forum (`/api/v1/...`). */
export function contentRoutes(stores: Stores): Router {
  const router = Router();

  router.get("/store/items", async (req, res) => {
    const q = ItemQuery.parse(req.query);
    sendPage(
      res,
      await stores.catalogue.list({ ...paging(q), ...(q.category ? { category: q.category } : {}) }),
    );
  });
  router.get("/store/items/:id", async (req, res) => {
    sendCacheable(res, found(await stores.catalogue.get(id(req)), "store item"));
  });

  router.get("/blog/posts", async (req, res) => {
    const q = PostQuery.parse(req.query);
    sendPage(res, await stores.blog.list({ ...paging(q), ...(q.tag ? { tag: q.tag } : {}) }));
  });
  router.get("/blog/posts/:id", async (req, res) => {
    sendCacheable(res, found(await stores.blog.get(id(req)), "blog post"));
  });

  router.get("/events", async (req, res) => {
    const q = EventQuery.parse(req.query);
    const from = q.from ? new Date(q.from).toISOString() : new Date().toISOString();
    sendPage(res, await stores.events.list({ ...paging(q), from, ...(q.city ? { city: q.city } : {}) }));
  });
  router.get("/events/:id", async (req, res) => {
    sendCacheable(res, found(await stores.events.get(id(req)), "event"));
  });

  router.get("/forum/sections", async (req, res) => {
    sendPage(res, await stores.forum.listSections(paging(Paging.parse(req.query))));
  });
  router.get("/forum/sections/:id/topics", async (req, res) => {
    const sectionId = id(req);
    found(await stores.forum.getSection(sectionId), "forum section");
    sendPage(res, await stores.forum.listTopics(sectionId, paging(Paging.parse(req.query))));
  });
  router.get("/forum/topics/:id", async (req, res) => {
    sendCacheable(res, found(await stores.forum.getTopic(id(req)), "forum topic"));
  });
  router.get("/forum/topics/:id/replies", async (req, res) => {
    const topicId = id(req);
    found(await stores.forum.getTopic(topicId), "forum topic");
    sendPage(res, await stores.forum.listReplies(topicId, paging(Paging.parse(req.query))));
  });

  return router;
}
