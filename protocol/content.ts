import { z } from "zod";

/**
 * Wire and storage shapes of the read-mostly content served over REST: the store catalogue, the
 * blog, events and the forum. Shared by the server, the client SDK, the seed and the tests.
 */

/** Ids double as storage keys: lowercase slugs, safe for Azure keys and URLs. */
export const ContentId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,79}$/, "lowercase letters, digits and dashes");
const IsoDate = z.iso.datetime({ offset: true });
const HttpUrl = z.url({ protocol: /^https?$/ });
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/);

export const Money = z.object({
  /** Minor units (kopecks, cents) to avoid floating point. */
  amount: z.number().int().nonnegative(),
  currency: z.enum(["RUB", "USD", "EUR"]),
});

export const StoreItem = z.object({
  id: ContentId,
  title: z.string().min(1).max(200),
  description: z.string().max(4000),
  category: Slug,
  price: Money,
  imageUrl: HttpUrl,
  /** Purchases happen on the band's external shop; the app links out. */
  purchaseUrl: HttpUrl,
  tags: z.array(Slug).max(20),
  available: z.boolean(),
  createdAt: IsoDate,
});
export type StoreItem = z.infer<typeof StoreItem>;

export const BlogPost = z.object({
  id: ContentId,
  title: z.string().min(1).max(200),
  summary: z.string().max(1000),
  /** Markdown. */
  body: z.string().max(200_000),
  author: z.string().min(1).max(100),
  tags: z.array(Slug).max(20),
  coverImageUrl: HttpUrl,
  publishedAt: IsoDate,
});
export type BlogPost = z.infer<typeof BlogPost>;

export const EventCategory = z.enum(["concert", "meetup", "party", "festival", "workshop", "online"]);

export const Event = z.object({
  id: ContentId,
  title: z.string().min(1).max(200),
  description: z.string().max(8000),
  category: EventCategory,
  city: z.string().min(1).max(100),
  venue: z.string().max(200),
  address: z.string().max(300),
  startsAt: IsoDate,
  endsAt: IsoDate,
  /** Seats available in total; registrations beyond it are refused by the EventActor. */
  capacity: z.number().int().positive().max(100_000),
  price: Money.nullable(),
  imageUrl: HttpUrl,
  externalUrl: HttpUrl.nullable(),
});
export type Event = z.infer<typeof Event>;

export const ForumSection = z.object({
  id: ContentId,
  title: z.string().min(1).max(200),
  description: z.string().max(1000),
  order: z.number().int().nonnegative().max(9999),
});
export type ForumSection = z.infer<typeof ForumSection>;

export const ForumTopic = z.object({
  id: ContentId,
  sectionId: ContentId,
  title: z.string().min(1).max(200),
  authorId: z.string().min(1).max(64),
  authorName: z.string().min(1).max(100),
  createdAt: IsoDate,
  lastActivityAt: IsoDate,
  replyCount: z.number().int().nonnegative(),
  pinned: z.boolean(),
  locked: z.boolean(),
});
export type ForumTopic = z.infer<typeof ForumTopic>;

export const ForumReply = z.object({
  id: ContentId,
  topicId: ContentId,
  authorId: z.string().min(1).max(64),
  authorName: z.string().min(1).max(100),
  body: z.string().min(1).max(20_000),
  createdAt: IsoDate,
});
export type ForumReply = z.infer<typeof ForumReply>;
