import type { Storage } from "../ports.js";
import { ACCOUNT_TABLES, AccountStore } from "./AccountStore.js";
import { ACTOR_TABLE, ActorJournal, SNAPSHOT_CONTAINER } from "./ActorJournal.js";
import { BlogStore, CatalogueStore, EventStore, ForumStore } from "./contentStores.js";
import { PHOTO_CONTAINER, PhotoStore } from "./PhotoStore.js";
import { PROFILE_TABLE, ProfileDirectory } from "./ProfileDirectory.js";
import { REFRESH_TABLES, RefreshTokenStore } from "./RefreshTokenStore.js";
import { REMINDER_TABLE, ReminderIndex } from "./ReminderIndex.js";

/** Every table the stores use, created at boot on Azure. */
export const ALL_TABLES: readonly string[] = [
  ACTOR_TABLE,
  REMINDER_TABLE,
  ...Object.values(ACCOUNT_TABLES),
  ...Object.values(REFRESH_TABLES),
  "catalogue",
  "blog",
  "events",
  "forumSections",
  "forumTopics",
  "forumReplies",
  "meta",
  PROFILE_TABLE,
];

export const ALL_CONTAINERS: readonly string[] = [PHOTO_CONTAINER, SNAPSHOT_CONTAINER];

/** The domain stores the rest of the server uses, built over one storage backend. */
export interface Stores {
  readonly storage: Storage;
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly journal: ActorJournal;
  readonly reminders: ReminderIndex;
  readonly catalogue: CatalogueStore;
  readonly blog: BlogStore;
  readonly events: EventStore;
  readonly forum: ForumStore;
  readonly photos: PhotoStore;
  readonly profiles: ProfileDirectory;
}

export function createStores(storage: Storage): Stores {
  return {
    storage,
    accounts: new AccountStore(storage.tables),
    refreshTokens: new RefreshTokenStore(storage.tables),
    journal: new ActorJournal(storage.tables, storage.blobs),
    reminders: new ReminderIndex(storage.tables),
    catalogue: new CatalogueStore(storage.tables),
    blog: new BlogStore(storage.tables),
    events: new EventStore(storage.tables),
    forum: new ForumStore(storage.tables),
    photos: new PhotoStore(storage.blobs),
    profiles: new ProfileDirectory(storage.tables),
  };
}
