import {
  type ChatMembership,
  MAX_NOTIFICATIONS,
  type Me,
  type Notification,
  type NotificationKind,
  type Preferences,
  type Privacy,
  type Profile,
  type PublicProfile,
} from "../../../protocol/realtime.js";

/**
 * The state of one user actor and how journal events change it. JSON only; updated in place by
 * `evolve` (the runtime owns the state exclusively). Maps are keyed by the other user's id.
 */

export const MAX_PHOTOS = 6;
const MAX_REPORTS = 100;

export interface UserState {
  id: string;
  profile: Profile;
  preferences: Preferences;
  privacy: Privacy;
  photos: string[];
  likesSent: Record<string, number>;
  likesReceived: Record<string, number>;
  passes: Record<string, number>;
  matches: Record<string, { chatId: string; at: number }>;
  blocked: Record<string, number>;
  blockedBy: Record<string, number>;
  chats: Record<string, ChatMembership>;
  notifications: Notification[];
  nextNotificationId: number;
  /** Events this user registered for (id → start, ms), for reminders and live updates. */
  events: Record<string, number>;
  reports: { userId: string; reason: string; note?: string; at: number }[];
}

export type UserEvent =
  | { type: "profileUpdated"; profile: Partial<Profile> }
  | { type: "settingsUpdated"; preferences?: Preferences; privacy?: Partial<Privacy> }
  | { type: "liked" | "passed" | "likeReceived" | "blocked" | "blockedBy"; userId: string; at: number }
  | { type: "unliked" | "likeWithdrawn" | "unmatched" | "unblocked" | "unblockedBy"; userId: string }
  | { type: "matched"; userId: string; chatId: string; at: number }
  | { type: "reported"; userId: string; reason: string; note?: string; at: number }
  | { type: "chatJoined"; chat: ChatMembership }
  | { type: "chatLeft"; chatId: string }
  | { type: "notified"; kind: NotificationKind; data: Record<string, string | number>; at: number }
  | { type: "notificationsRead"; ids: number[] | null }
  | { type: "photosSynced"; photoIds: string[] }
  | { type: "erased" }
  | { type: "eventJoined"; eventId: string; startsAt: number }
  | { type: "eventLeft"; eventId: string };

export function initialUserState(id: string): UserState {
  return {
    id,
    profile: { displayName: "", bio: "", birthYear: null, gender: null, city: "", interests: [] },
    preferences: { genders: [], minAge: 18, maxAge: 120, city: "" },
    privacy: { discoverable: true, profileVisibility: "everyone", showOnline: true, showLastSeen: true },
    photos: [],
    likesSent: {},
    likesReceived: {},
    passes: {},
    matches: {},
    blocked: {},
    blockedBy: {},
    chats: {},
    notifications: [],
    nextNotificationId: 1,
    events: {},
    reports: [],
  };
}

/** A match by the other user's id (`hasOwn`: "constructor" is a valid id, not a match). */
export const matchOf = (state: Readonly<UserState>, other: string) =>
  Object.hasOwn(state.matches, other) ? state.matches[other] : undefined;

const has = (record: Record<string, unknown>, key: string) => Object.hasOwn(record, key);

export { has as hasKey };

/** Ends everything between this user and `other` except blocks (unmatch, block). */
function forgetRelation(state: UserState, other: string): void {
  delete state.matches[other];
  delete state.likesSent[other];
  delete state.likesReceived[other];
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case "profileUpdated":
      state.profile = { ...state.profile, ...event.profile };
      break;
    case "settingsUpdated":
      if (event.preferences) state.preferences = event.preferences;
      if (event.privacy) state.privacy = { ...state.privacy, ...event.privacy };
      break;
    case "liked":
      state.likesSent[event.userId] = event.at;
      delete state.passes[event.userId];
      break;
    case "passed":
      state.passes[event.userId] = event.at;
      break;
    case "likeReceived":
      state.likesReceived[event.userId] = event.at;
      break;
    case "unliked":
      delete state.likesSent[event.userId];
      break;
    case "likeWithdrawn":
      delete state.likesReceived[event.userId];
      break;
    case "matched":
      state.matches[event.userId] = { chatId: event.chatId, at: event.at };
      break;
    case "unmatched":
      forgetRelation(state, event.userId);
      break;
    case "blocked":
      state.blocked[event.userId] = event.at;
      forgetRelation(state, event.userId);
      break;
    case "blockedBy":
      state.blockedBy[event.userId] = event.at;
      forgetRelation(state, event.userId);
      break;
    case "unblocked":
      delete state.blocked[event.userId];
      break;
    case "unblockedBy":
      delete state.blockedBy[event.userId];
      break;
    case "reported":
      state.reports.push({
        userId: event.userId,
        reason: event.reason,
        ...(event.note !== undefined ? { note: event.note } : {}),
        at: event.at,
      });
      if (state.reports.length > MAX_REPORTS) state.reports.shift();
      break;
    case "chatJoined":
      state.chats[event.chat.chatId] = event.chat;
      break;
    case "chatLeft":
      delete state.chats[event.chatId];
      break;
    case "notified":
      state.notifications.push({
        id: state.nextNotificationId++,
        kind: event.kind,
        at: event.at,
        read: false,
        data: event.data,
      });
      if (state.notifications.length > MAX_NOTIFICATIONS) state.notifications.shift();
      break;
    case "notificationsRead": {
      const ids = event.ids === null ? null : new Set(event.ids);
      state.notifications = state.notifications.map((n) =>
        n.read || (ids !== null && !ids.has(n.id)) ? n : { ...n, read: true },
      );
      break;
    }
    case "photosSynced":
      state.photos = [...event.photoIds];
      break;
    case "erased":
      return initialUserState(state.id);
    case "eventJoined":
      state.events[event.eventId] = event.startsAt;
      break;
    case "eventLeft":
      delete state.events[event.eventId];
      break;
  }
  return state;
}

/** The next notification's id if `decide` adds one now (replies and publications carry it). */
export function nextNotification(
  state: Readonly<UserState>,
  kind: NotificationKind,
  data: Record<string, string | number>,
  at: number,
): Notification {
  return { id: state.nextNotificationId, kind, at, read: false, data };
}

export const unreadNotifications = (state: Readonly<UserState>) =>
  state.notifications.reduce((n, x) => n + (x.read ? 0 : 1), 0);

/** The owner's view (copies: it leaves the actor while later turns keep changing the state). */
export function meOf(state: Readonly<UserState>): Me {
  return structuredClone({
    userId: state.id,
    profile: state.profile,
    preferences: state.preferences,
    privacy: state.privacy,
    photos: state.photos,
    matches: Object.entries(state.matches).map(([userId, m]) => ({ userId, chatId: m.chatId, at: m.at })),
    likesSent: Object.keys(state.likesSent),
    blocked: Object.keys(state.blocked),
    chats: Object.values(state.chats),
    notifications: state.notifications,
    unreadNotifications: unreadNotifications(state),
  });
}

export function publicProfileOf(state: Readonly<UserState>): PublicProfile {
  return structuredClone({ userId: state.id, ...state.profile, photos: state.photos });
}

/**
 * Whether `viewer` may see this user at all (profile, presence, discovery): never across a
 * block in either direction; "matches only" profiles are hidden from everyone else.
 */
export function visibleTo(state: Readonly<UserState>, viewer: string): boolean {
  if (viewer === state.id) return true;
  if (has(state.blocked, viewer) || has(state.blockedBy, viewer)) return false;
  if (state.profile.displayName === "") return false;
  return state.privacy.profileVisibility === "everyone" || has(state.matches, viewer);
}
