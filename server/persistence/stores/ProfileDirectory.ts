import { z } from "zod";
import { Gender } from "../../../protocol/realtime.js";
import type { TableStore } from "../ports.js";
import { DocumentCollection, type Page } from "./DocumentCollection.js";

export const PROFILE_TABLE = "profiles";
const DISCOVER = "discover";

/** The public part of a profile, projected from the user actor for discovery feeds. */
export const ProfileCard = z.object({
  id: z.string(),
  displayName: z.string(),
  bio: z.string(),
  birthYear: z.number().int().nullable(),
  gender: Gender.nullable(),
  city: z.string(),
  interests: z.array(z.string()),
  photos: z.array(z.string()),
  discoverable: z.boolean(),
  updatedAt: z.number().int(),
});
export type ProfileCard = z.infer<typeof ProfileCard>;

/**
 * A read model of profiles for discovery: the user actors are the source of truth and write
 * their card here after every profile or privacy change (before acknowledging it, so a retried
 * command re-projects). Discoverable cards also sit in one index partition read in id order.
 */
export class ProfileDirectory {
  private readonly docs: DocumentCollection<typeof ProfileCard>;

  constructor(tables: TableStore) {
    this.docs = new DocumentCollection(tables, PROFILE_TABLE, ProfileCard, (card) =>
      card.discoverable && card.displayName !== "" ? [{ partition: DISCOVER, sortKey: card.id }] : [],
    );
  }

  put(card: ProfileCard): Promise<ProfileCard> {
    return this.docs.put(card);
  }

  get(id: string): Promise<ProfileCard | undefined> {
    return this.docs.get(id);
  }

  /** One page of discoverable cards in id order. */
  page(options: { after?: string; limit: number }): Promise<Page<ProfileCard>> {
    return this.docs.list(DISCOVER, options);
  }

  /** The continuation cursor just after `card` (its row key in the discovery index). */
  cursorAfter(card: ProfileCard): string {
    return `${card.id}~${card.id}`;
  }

  /** Erasure: the card and its index row go. */
  delete(id: string): Promise<void> {
    return this.docs.delete(id);
  }
}
