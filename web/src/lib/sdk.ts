/**
 * The only door to the server: the public SDK (client/) and its types. Everything else in the app
 * imports from here, so swapping the SDK's location is a one-line change.
 */
export {
  type ChatEntry,
  type ChatMembership,
  type ChatSummary,
  type ClientEvents,
  type CommandResults,
  LovecraftClient,
  LovecraftError,
  type Me,
  type MessageView,
  type Preferences,
  type PresenceInfo,
  type Privacy,
  type Profile,
  type PublicProfile,
  type Session,
  type Status,
  withNotification,
} from "../../../client/index.js";
export type { BlogPost, Event as LiveEvent, StoreItem } from "../../../protocol/content.js";
