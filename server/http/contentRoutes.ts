import { createHash } from "node:crypto";
import { type Request, type Response, Router } from "express";
import { z } from "zod";
import {
  BlogPost,
  ContentId,
  Event,
  ForumReply,
  ForumSection,
  ForumTopic,
  StoreItem,
} from "../../protocol/content.js";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import type { Page } from "../persistence/stores/DocumentCollection.js";
import type { Stores } from "../persistence/stores/index.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";

/** Cursors are opaque to clients: base64url of the storage row key. */
const Cursor = z
  .string()
  .max(1500)
  .regex(/^[A-Za-z0-9_-]+$/, "invalid cursor")
  .transform((c) => Buffer.from(c, "base64url").toString("utf8"));

const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("Page size."),
  cursor: Cursor.optional().describe("`nextCursor` of the previous page; omit for the first page."),
});

const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes");
const ItemQuery = Paging.extend({ category: Slug.optional().describe("Only items of this category.") });
const PostQuery = Paging.extend({ tag: Slug.optional().describe("Only posts with this tag.") });
const EventQuery = Paging.extend({
  city: z.string().min(1).max(100).optional().describe("Only events in this city."),
  /** ISO date-time; defaults to now, so the list shows upcoming events. */
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Events starting at or after this ISO date-time; default now (upcoming events)."),
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

/** The `data` of a list answer: one page and the cursor of the next (`null` on the last page). */
function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last."),
  });
}

const LIST_ERRORS = [ErrorCode.VALIDATION_FAILED];
const GET_ERRORS = [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND];

/** OpenAPI descriptions of the routes above, built from the schemas they validate with. */
export const contentRouteDocs: RouteDoc[] = [
  {
    method: "get",
    path: "/store/items",
    summary: "List store items, sorted by title",
    tags: ["store"],
    query: ItemQuery,
    response: pageOf(StoreItem),
    errors: LIST_ERRORS,
  },
  {
    method: "get",
    path: "/store/items/{id}",
    summary: "Get one store item",
    tags: ["store"],
    params: IdParam,
    response: StoreItem,
    errors: GET_ERRORS,
  },
  {
    method: "get",
    path: "/blog/posts",
    summary: "List blog posts, newest first",
    tags: ["blog"],
    query: PostQuery,
    response: pageOf(BlogPost),
    errors: LIST_ERRORS,
  },
  {
    method: "get",
    path: "/blog/posts/{id}",
    summary: "Get one blog post",
    tags: ["blog"],
    params: IdParam,
    response: BlogPost,
    errors: GET_ERRORS,
  },
  {
    method: "get",
    path: "/events",
    summary: "List events in start order (upcoming by default)",
    tags: ["events"],
    query: EventQuery,
    response: pageOf(Event),
    errors: LIST_ERRORS,
  },
  {
    method: "get",
    path: "/events/{id}",
    summary: "Get one event",
    tags: ["events"],
    params: IdParam,
    response: Event,
    errors: GET_ERRORS,
  },
  {
    method: "get",
    path: "/forum/sections",
    summary: "List forum sections in order",
    tags: ["forum"],
    query: Paging,
    response: pageOf(ForumSection),
    errors: LIST_ERRORS,
  },
  {
    method: "get",
    path: "/forum/sections/{id}/topics",
    summary: "List a section's topics, pinned first then latest activity",
    tags: ["forum"],
    params: IdParam,
    query: Paging,
    response: pageOf(ForumTopic),
    errors: GET_ERRORS,
  },
  {
    method: "get",
    path: "/forum/topics/{id}",
    summary: "Get one forum topic",
    tags: ["forum"],
    params: IdParam,
    response: ForumTopic,
    errors: GET_ERRORS,
  },
  {
    method: "get",
    path: "/forum/topics/{id}/replies",
    summary: "List a topic's replies in creation order",
    tags: ["forum"],
    params: IdParam,
    query: Paging,
    response: pageOf(ForumReply),
    errors: GET_ERRORS,
  },
];
