import { z } from "zod";
import type { ErrorBody } from "./errors.js";

/**
 * The realtime wire protocol: every command a device sends over its one socket, every ack and
 * event the server sends back. Shared by the server, the client SDK, the tests and the load test;
 * it imports nothing of the server. See docs/PROTOCOL.md for the sequence of a send.
 */

/** Bumped on any incompatible change; a device with another version is refused at connect. */
export const PROTOCOL_VERSION = 1;

/** Colyseus message types on the socket. */
export const MessageType = {
  /** client → server: one command (`ClientCommand`). */
  COMMAND: "cmd",
  /** server → client: the answer to one command (`Ack`). */
  ACK: "ack",
  /** server → client: something happened (`ServerEvent`). */
  EVENT: "ev",
  /** server → client: a frame that could not be matched to a command (`ProtocolError`). */
  ERROR: "err",
} as const;

/**
 * Close codes the server uses (4000–4010 belong to Colyseus: 4000 consented leave, 4001 server
 * shutdown, 4010 may-try-reconnect). The SDK reconnects after every code except REVOKED and
 * PROTOCOL_MISMATCH, refreshing its access token first after TOKEN_EXPIRED.
 */
export const CloseCode = {
  /** The access token the socket was opened with expired: refresh, then reconnect. */
  TOKEN_EXPIRED: 4401,
  /** Logged out, account erased or all sessions revoked: do not reconnect. */
  REVOKED: 4403,
  /** The device speaks another protocol version: do not reconnect. */
  PROTOCOL_MISMATCH: 4409,
  /** Too many invalid or rate-limited frames: reconnect after a pause. */
  ABUSE: 4429,
  /** The user's actor is moving to another node (drain, lease lost): reconnect now. */
  MOVING: 4503,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Limits the server enforces per socket (documented so clients can stay inside them). */
export const SocketLimits = {
  /** Sustained commands per second per socket, with a burst allowance. */
  commandsPerSecond: 20,
  burst: 40,
  /** Refused frames (invalid or over the rate) within one minute before the socket is closed. */
  violationsPerMinute: 30,
  /** Frames above this size are refused by the transport. */
  maxPayloadBytes: 64 * 1024,
  /** How long a typing indicator lasts unless renewed. */
  typingMs: 5_000,
} as const;

// --- identifiers ------------------------------------------------------------------------------

/** User ids are the account ids: UUIDs, or any key-safe string of letters, digits and dashes. */
export const UserId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "1-64 letters, digits and dashes");
/** Chat ids are made by the server: `d-…` for direct chats, `g-…` for groups. */
export const ChatId = z.string().regex(/^[dg]-[a-f0-9]{32}$/, "a chat id (d-… or g-…)");
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Client command id: unique per device and command, reused when the same command is re-sent. */
export const Cid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -");
const EventId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/);
const PhotoId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
const Text = z.string().trim().min(1).max(4000);

// --- profile and settings ---------------------------------------------------------------------

export const Gender = z.enum(["woman", "man", "nonbinary"]);
export const Profile = z
  .object({
    displayName: z.string().trim().min(1).max(60),
    bio: z.string().max(1000),
    birthYear: z.number().int().min(1900).max(2100).nullable(),
    gender: Gender.nullable(),
    city: z.string().trim().max(80),
    interests: z.array(z.string().trim().min(1).max(40)).max(20),
  })
  .strict();
export type Profile = z.infer<typeof Profile>;

export const Preferences = z
  .object({
    genders: z.array(Gender).max(3),
    minAge: z.number().int().min(18).max(120),
    maxAge: z.number().int().min(18).max(120),
    /** Empty: anywhere. */
    city: z.string().trim().max(80),
  })
  .strict();
export type Preferences = z.infer<typeof Preferences>;

export const Privacy = z
  .object({
    /** Appear in other users' discovery feeds. */
    discoverable: z.boolean(),
    /** Who may read the profile: anyone signed in, or matches only. */
    profileVisibility: z.enum(["everyone", "matches"]),
    /** Matches and chat partners see when this user is online. */
    showOnline: z.boolean(),
    /** Matches and chat partners see when this user was last online. */
    showLastSeen: z.boolean(),
  })
  .strict();
export type Privacy = z.infer<typeof Privacy>;

/** What other users may see of a profile (discovery cards, `GET /users/:id`). */
export interface PublicProfile extends Profile {
  readonly userId: string;
  readonly photos: readonly string[];
}

export interface PresenceInfo {
  readonly userId: string;
  readonly online: boolean;
  /** Absent when the user hides it. */
  readonly lastSeen?: number;
}

export type NotificationKind = "match" | "message" | "event";
export interface Notification {
  readonly id: number;
  readonly kind: NotificationKind;
  readonly at: number;
  readonly read: boolean;
  readonly data: Record<string, string | number>;
}

export interface ChatMembership {
  readonly chatId: string;
  readonly kind: "direct" | "group";
  /** The other member of a direct chat. */
  readonly peer?: string;
  readonly title?: string;
  readonly since: number;
  /** The chat's last seq before this user joined: the entries after it are theirs to receive. */
  readonly fromSeq: number;
}

/** Notifications a user actor keeps (the oldest is dropped beyond this). */
export const MAX_NOTIFICATIONS = 100;

/**
 * The owner's view of their user actor, sent after `sync` and on every change (`me` event)
 * except a new notification alone, which comes as a `notification` event: apply it with
 * `withNotification`.
 */
export interface Me {
  readonly userId: string;
  readonly profile: Profile;
  readonly preferences: Preferences;
  readonly privacy: Privacy;
  readonly photos: readonly string[];
  readonly matches: readonly { userId: string; chatId: string; at: number }[];
  readonly likesSent: readonly string[];
  readonly blocked: readonly string[];
  readonly chats: readonly ChatMembership[];
  readonly notifications: readonly Notification[];
  readonly unreadNotifications: number;
}

/** `me` after a `notification` event: what the server's next `me` would hold. */
export function withNotification(me: Me, notification: Notification): Me {
  if (me.notifications.some((n) => n.id === notification.id)) return me;
  const notifications = [...me.notifications, notification].slice(-MAX_NOTIFICATIONS);
  return {
    ...me,
    notifications,
    unreadNotifications: notifications.filter((n) => !n.read).length,
  };
}

// --- chats ------------------------------------------------------------------------------------

export type Role = "owner" | "admin" | "member";

/** One entry of a chat's gap-free sequence. Events on the socket carry `{chatId, seq}`. */
export type ChatEntry = { readonly seq: number; readonly at: number; readonly by: string } & (
  | {
      readonly kind: "message";
      readonly text: string;
      readonly photoId?: string;
      readonly replyTo?: number;
    }
  | { readonly kind: "edit"; readonly target: number; readonly text: string }
  | { readonly kind: "delete"; readonly target: number }
  | { readonly kind: "reaction"; readonly target: number; readonly emoji: string; readonly on: boolean }
  | {
      readonly kind: "member";
      readonly userId: string;
      readonly change: "joined" | "left" | "kicked" | "role";
      readonly role?: Role;
    }
  | { readonly kind: "closed" }
);

/** A message as it reads now (edits applied, deleted text gone, reactions tallied). */
export interface MessageView {
  readonly seq: number;
  readonly at: number;
  readonly by: string;
  /** Null once deleted (a tombstone keeps the place in the history). */
  readonly text: string | null;
  readonly photoId?: string;
  readonly replyTo?: number;
  readonly editedAt?: number;
  readonly deleted?: true;
  /** emoji → user ids that reacted with it. */
  readonly reactions: Record<string, string[]>;
}

export interface ChatSummary {
  readonly chatId: string;
  readonly kind: "direct" | "group";
  readonly title: string;
  readonly open: boolean;
  readonly lastSeq: number;
  readonly members: readonly { userId: string; role: Role; readSeq: number }[];
  readonly unread: number;
  readonly lastMessage: MessageView | null;
}

/** Entries after a seq: everything missed, or a resync when it is older than the retained window. */
export type CatchUp =
  | { readonly chatId: string; readonly entries: readonly ChatEntry[]; readonly more: boolean }
  | { readonly chatId: string; readonly resync: true; readonly lastSeq: number; readonly oldestSeq: number };

// --- commands (client → server) ---------------------------------------------------------------

const cmd = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ cid: Cid, type: z.literal(type), ...shape }).strict();

const chatCommands = [
  cmd("chat.send", {
    chatId: ChatId,
    text: Text,
    photoId: PhotoId.optional(),
    replyTo: Seq.optional(),
  }),
  cmd("chat.edit", { chatId: ChatId, seq: Seq, text: Text }),
  cmd("chat.delete", { chatId: ChatId, seq: Seq }),
  cmd("chat.react", { chatId: ChatId, seq: Seq, emoji: z.string().min(1).max(16), on: z.boolean() }),
  cmd("chat.read", { chatId: ChatId, seq: Seq }),
  cmd("chat.typing", { chatId: ChatId }),
  cmd("chat.history", {
    chatId: ChatId,
    before: Seq.optional(),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  cmd("chat.since", { chatId: ChatId, after: Seq, limit: z.number().int().min(1).max(500).optional() }),
  cmd("chat.info", { chatId: ChatId }),
  cmd("group.create", {
    title: z.string().trim().min(1).max(100),
    members: z.array(UserId).max(49),
  }),
  cmd("group.invite", { chatId: ChatId, userId: UserId }),
  cmd("group.leave", { chatId: ChatId }),
  cmd("group.kick", { chatId: ChatId, userId: UserId }),
  cmd("group.role", { chatId: ChatId, userId: UserId, role: z.enum(["admin", "member"]) }),
] as const;

const userCommands = [
  /** After (re)connecting: the last seen seq of each chat the device knows. */
  cmd("sync", { chats: z.record(ChatId, Seq).optional() }),
  cmd("profile.update", { profile: Profile.partial().strict() }),
  cmd("settings.update", { preferences: Preferences.optional(), privacy: Privacy.partial().optional() }),
  cmd("discover", {
    cursor: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(50).optional(),
  }),
  cmd("profile.view", { userId: UserId }),
  cmd("like", { userId: UserId }),
  cmd("pass", { userId: UserId }),
  cmd("unlike", { userId: UserId }),
  cmd("unmatch", { userId: UserId }),
  cmd("block", { userId: UserId }),
  cmd("unblock", { userId: UserId }),
  cmd("report", {
    userId: UserId,
    reason: z.enum(["spam", "abuse", "fake", "underage", "other"]),
    note: z.string().max(1000).optional(),
  }),
  cmd("notifications.read", { ids: z.array(z.number().int().min(0)).max(100).optional() }),
  cmd("event.register", { eventId: EventId }),
  cmd("event.unregister", { eventId: EventId }),
] as const;

export const ClientCommand = z.discriminatedUnion("type", [...userCommands, ...chatCommands]);
export type ClientCommand = z.infer<typeof ClientCommand>;
export type CommandType = ClientCommand["type"];
export type CommandOf<T extends CommandType> = Extract<ClientCommand, { type: T }>;
/** A command as the SDK's `send` takes it: the SDK adds the `cid`. */
export type CommandInput<T extends CommandType> = Omit<CommandOf<T>, "cid">;

/** What each command answers on success. */
export interface CommandResults {
  sync: {
    me: Me;
    chats: (ChatSummary & { catchUp?: CatchUp })[];
    /** Matches and chat partners who share their presence. */
    presence: PresenceInfo[];
    serverTime: number;
  };
  "profile.update": { me: Me };
  "settings.update": { me: Me };
  discover: { profiles: PublicProfile[]; next?: string };
  "profile.view": PublicProfile;
  like: { status: "liked" | "already-liked" | "matched" };
  pass: { status: "passed" };
  unlike: { status: "unliked" | "not-liked" };
  unmatch: { status: "unmatched" | "not-matched" };
  block: { status: "blocked" | "already-blocked" };
  unblock: { status: "unblocked" | "not-blocked" };
  report: { status: "reported" };
  "notifications.read": { unread: number };
  "event.register": { status: string; attendees: number; capacity: number; remaining: number };
  "event.unregister": { status: string; attendees: number; capacity: number; remaining: number };
  "chat.send": { seq: number; at: number };
  "chat.edit": { seq: number };
  "chat.delete": { seq: number };
  "chat.react": { seq: number | null };
  "chat.read": { readSeq: number; unread: number };
  "chat.typing": { until: number };
  "chat.history": { messages: MessageView[]; more: boolean; oldestSeq: number };
  "chat.since": CatchUp;
  "chat.info": ChatSummary;
  "group.create": { chatId: string };
  "group.invite": { seq: number | null };
  "group.leave": { seq: number | null };
  "group.kick": { seq: number | null };
  "group.role": { seq: number | null };
}

// --- acks and events (server → client) --------------------------------------------------------

export type Ack =
  | { readonly cid: string; readonly ok: true; readonly result: unknown }
  | { readonly cid: string; readonly ok: false; readonly error: ErrorBody };

/** A frame the server could not attribute to a command id (malformed, unknown type). */
export interface ProtocolError {
  readonly error: ErrorBody;
}

export type ServerEvent =
  | { readonly type: "chat"; readonly chatId: string; readonly seq: number; readonly entry: ChatEntry }
  | { readonly type: "read"; readonly chatId: string; readonly userId: string; readonly seq: number }
  | { readonly type: "typing"; readonly chatId: string; readonly userId: string; readonly until: number }
  | {
      readonly type: "unread";
      readonly chatId: string;
      readonly unread: number;
      readonly total: number;
    }
  | {
      readonly type: "presence";
      readonly userId: string;
      readonly online: boolean;
      readonly lastSeen?: number;
    }
  | { readonly type: "match"; readonly userId: string; readonly chatId: string; readonly at: number }
  | { readonly type: "unmatched"; readonly userId: string; readonly chatId: string }
  | { readonly type: "chat.added"; readonly chat: ChatMembership }
  | { readonly type: "chat.removed"; readonly chatId: string; readonly reason: string }
  | { readonly type: "notification"; readonly notification: Notification }
  | { readonly type: "me"; readonly me: Me }
  | {
      readonly type: "event";
      readonly eventId: string;
      readonly attendees: number;
      readonly capacity: number;
      readonly remaining: number;
    };
export type ServerEventType = ServerEvent["type"];

/** Options a device sends when it asks for a socket (`POST /api/v1/realtime/connect`). */
export const ConnectRequest = z.object({ protocol: z.number().int() }).strict();
