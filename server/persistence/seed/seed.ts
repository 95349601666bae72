import type { Logger } from "../../logger.js";
import type { TableStore } from "../ports.js";
import type { Stores } from "../stores/index.js";
import { seedContent } from "./seedContent.js";

/** Bump when the seed content changes, so existing stores receive it once. */
export const SEED_VERSION = 1;
const MARKER = { table: "meta", partitionKey: "seed", rowKey: "content" } as const;

async function seededVersion(tables: TableStore): Promise<number> {
  const row = await tables.get(MARKER.table, MARKER.partitionKey, MARKER.rowKey);
  return row ? Number(row.properties.version) : 0;
}

/**
 * Loads the catalogue, blog, events and forum on first start of an empty store. Idempotent:
 * every write is an upsert by id and the version marker is written last, so a start interrupted
 * half-way simply seeds again, and several nodes starting at once write the same rows.
 */
export async function seedIfEmpty(stores: Stores, logger: Logger, now = new Date()): Promise<boolean> {
  const { tables } = stores.storage;
  if ((await seededVersion(tables)) >= SEED_VERSION) return false;
  const content = seedContent(now);
  for (const item of content.storeItems) await stores.catalogue.put(item);
  for (const post of content.blogPosts) await stores.blog.put(post);
  for (const event of content.events) await stores.events.put(event);
  for (const section of content.forumSections) await stores.forum.putSection(section);
  for (const topic of content.forumTopics) await stores.forum.putTopic(topic);
  for (const reply of content.forumReplies) await stores.forum.putReply(reply);
  await tables.upsert(MARKER.table, {
    partitionKey: MARKER.partitionKey,
    rowKey: MARKER.rowKey,
    properties: { version: SEED_VERSION, seededAt: now },
  });
  logger.info(
    {
      storeItems: content.storeItems.length,
      blogPosts: content.blogPosts.length,
      events: content.events.length,
      forumTopics: content.forumTopics.length,
    },
    "seeded content",
  );
  return true;
}
