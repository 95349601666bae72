import {
  BlogPost,
  Event,
  ForumReply,
  ForumSection,
  ForumTopic,
  StoreItem,
} from "../../../protocol/content.js";
import type { TableStore } from "../ports.js";
import { DocumentCollection, keySlug, newestFirst, type Page } from "./DocumentCollection.js";

/** Paging options shared by every listing: an opaque cursor from a previous page and a size. */
export interface PageRequest {
  readonly after?: string;
  readonly limit: number;
}

/** The store catalogue: items by title, overall and per category. */
export class CatalogueStore {
  private readonly docs: DocumentCollection<typeof StoreItem>;
  constructor(tables: TableStore) {
    this.docs = new DocumentCollection(tables, "catalogue", StoreItem, (item) => [
      { partition: "all", sortKey: keySlug(item.title) },
      { partition: `category_${item.category}`, sortKey: keySlug(item.title) },
    ]);
  }
  get(id: string): Promise<StoreItem | undefined> {
    return this.docs.get(id);
  }
  put(item: StoreItem): Promise<StoreItem> {
    return this.docs.put(item);
  }
  list(page: PageRequest & { category?: string }): Promise<Page<StoreItem>> {
    return this.docs.list(page.category ? `category_${page.category}` : "all", page);
  }
}

/** Blog posts, newest first, overall and per tag. */
export class BlogStore {
  private readonly docs: DocumentCollection<typeof BlogPost>;
  constructor(tables: TableStore) {
    this.docs = new DocumentCollection(tables, "blog", BlogPost, (post) => [
      { partition: "all", sortKey: newestFirst(post.publishedAt) },
      ...post.tags.map((tag) => ({ partition: `tag_${tag}`, sortKey: newestFirst(post.publishedAt) })),
    ]);
  }
  get(id: string): Promise<BlogPost | undefined> {
    return this.docs.get(id);
  }
  put(post: BlogPost): Promise<BlogPost> {
    return this.docs.put(post);
  }
  list(page: PageRequest & { tag?: string }): Promise<Page<BlogPost>> {
    return this.docs.list(page.tag ? `tag_${page.tag}` : "all", page);
  }
}

/** Events in start order, overall and per city; `from` skips events that started earlier. */
export class EventStore {
  private readonly docs: DocumentCollection<typeof Event>;
  constructor(tables: TableStore) {
    this.docs = new DocumentCollection(tables, "events", Event, (event) => [
      { partition: "all", sortKey: utc(event.startsAt) },
      { partition: `city_${keySlug(event.city)}`, sortKey: utc(event.startsAt) },
    ]);
  }
  get(id: string): Promise<Event | undefined> {
    return this.docs.get(id);
  }
  put(event: Event): Promise<Event> {
    return this.docs.put(event);
  }
  list(page: PageRequest & { city?: string; from?: string }): Promise<Page<Event>> {
    const partition = page.city ? `city_${keySlug(page.city)}` : "all";
    return this.docs.list(partition, { limit: page.limit, ...cursorOrFrom(page) });
  }
}

/** Forum sections (by order), topics per section (latest activity first) and replies per topic. */
export class ForumStore {
  private readonly sections: DocumentCollection<typeof ForumSection>;
  private readonly topics: DocumentCollection<typeof ForumTopic>;
  private readonly replies: DocumentCollection<typeof ForumReply>;
  constructor(tables: TableStore) {
    this.sections = new DocumentCollection(tables, "forumSections", ForumSection, (s) => [
      { partition: "all", sortKey: String(s.order).padStart(4, "0") },
    ]);
    this.topics = new DocumentCollection(tables, "forumTopics", ForumTopic, (t) => [
      {
        partition: `section_${t.sectionId}`,
        sortKey: `${t.pinned ? "0" : "1"}${newestFirst(t.lastActivityAt)}`,
      },
      { partition: authorPartition(t.authorId), sortKey: t.createdAt },
    ]);
    this.replies = new DocumentCollection(tables, "forumReplies", ForumReply, (r) => [
      { partition: `topic_${r.topicId}`, sortKey: r.createdAt },
      { partition: authorPartition(r.authorId), sortKey: r.createdAt },
    ]);
  }
  getSection(id: string): Promise<ForumSection | undefined> {
    return this.sections.get(id);
  }
  putSection(section: ForumSection): Promise<ForumSection> {
    return this.sections.put(section);
  }
  listSections(page: PageRequest): Promise<Page<ForumSection>> {
    return this.sections.list("all", page);
  }
  getTopic(id: string): Promise<ForumTopic | undefined> {
    return this.topics.get(id);
  }
  putTopic(topic: ForumTopic): Promise<ForumTopic> {
    return this.topics.put(topic);
  }
  listTopics(sectionId: string, page: PageRequest): Promise<Page<ForumTopic>> {
    return this.topics.list(`section_${sectionId}`, page);
  }
  putReply(reply: ForumReply): Promise<ForumReply> {
    return this.replies.put(reply);
  }
  listReplies(topicId: string, page: PageRequest): Promise<Page<ForumReply>> {
    return this.replies.list(`topic_${topicId}`, page);
  }

  /**
   * Adds a reply and counts it on its topic. The reply id is the idempotency key: adding the same
   * reply again (a client retry) stores it once and does not count it twice.
   */
  async addReply(reply: ForumReply): Promise<{ reply: ForumReply; topic: ForumTopic | undefined }> {
    const existing = await this.replies.get(reply.id);
    if (existing) return { reply: existing, topic: await this.topics.get(reply.topicId) };
    const stored = await this.replies.put(reply);
    const topic = await this.topics.update(reply.topicId, (t) => ({
      ...t,
      replyCount: t.replyCount + 1,
      lastActivityAt:
        Date.parse(t.lastActivityAt) >= Date.parse(reply.createdAt) ? t.lastActivityAt : reply.createdAt,
    }));
    return { reply: stored, topic };
  }

  /** Everything one author wrote (for data export). */
  async listByAuthor(authorId: string): Promise<{ topics: ForumTopic[]; replies: ForumReply[] }> {
    const [topics, replies] = await Promise.all([
      drain((after) =>
        this.topics.list(authorPartition(authorId), { limit: 500, ...(after ? { after } : {}) }),
      ),
      drain((after) =>
        this.replies.list(authorPartition(authorId), { limit: 500, ...(after ? { after } : {}) }),
      ),
    ]);
    return { topics, replies };
  }

  /** Keeps an erased user's posts readable in shared threads but no longer attributable to them. */
  async anonymizeAuthor(authorId: string): Promise<number> {
    const { topics, replies } = await this.listByAuthor(authorId);
    const anonymous = { authorId: ANONYMOUS_ID, authorName: ANONYMOUS_NAME };
    for (const t of topics) await this.topics.update(t.id, (doc) => ({ ...doc, ...anonymous }));
    for (const r of replies) await this.replies.update(r.id, (doc) => ({ ...doc, ...anonymous }));
    return topics.length + replies.length;
  }
}

export const ANONYMOUS_ID = "deleted-user";
export const ANONYMOUS_NAME = "Deleted user";

function authorPartition(authorId: string): string {
  return `author_${keySlug(authorId)}`;
}

/** Reads every page of a listing (bounded by what one author can write). */
async function drain<T>(page: (after?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  do {
    const next = await page(after);
    items.push(...next.items);
    after = next.next;
  } while (after);
  return items;
}

function cursorOrFrom(page: { after?: string; from?: string }): { after?: string; from?: string } {
  if (page.after !== undefined) return { after: page.after };
  return page.from !== undefined ? { from: page.from } : {};
}

/** Sort keys compare as strings: normalize any offset to UTC so order is chronological. */
function utc(iso: string): string {
  return new Date(iso).toISOString();
}
