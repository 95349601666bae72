import { z } from "zod";
import { ErrorCode } from "../../../protocol/errors.js";
import { ChatId, Preferences, Privacy, Profile, UserId } from "../../../protocol/realtime.js";
import type { ActorDefinition, Outgoing } from "../runtime/types.js";
import { accept, chat, match, reject, type UserDecision, user } from "./decisions.js";
import { ACTOR_COMMANDS, fromActor } from "./fromActors.js";
import {
  evolveUser,
  hasKey,
  initialUserState,
  MAX_PHOTOS,
  matchOf,
  nextNotification,
  publicProfileOf,
  type UserEvent,
  type UserState,
  visibleTo,
} from "./userState.js";

/**
 * One user (room `user_<userId>`): profile, settings, likes and matches, blocks, chat memberships,
 * the notification inbox. The owner's devices reach it through their room (commands with no
 * `ctx.from`); other actors reach it through their outbox (identified by `ctx.from`, never by a
 * field of the command). A mutual like makes exactly one match: each side records the match when
 * it learns of the other's like, and the direct chat's id is derived from the pair, so both sides
 * (however the likes race) open the same chat, which opens once.
 */

const Other = { userId: UserId };
const EVENT_REMINDER_LEAD_MS = 60 * 60_000;
const eventReminder = (eventId: string) => `event:${eventId}`;

export const UserCommand = z.discriminatedUnion("type", [
  // from the owner (through their room) or REST
  z.object({ type: z.literal("profile.update"), profile: Profile.partial().strict() }).strict(),
  z
    .object({
      type: z.literal("settings.update"),
      preferences: Preferences.optional(),
      privacy: Privacy.partial().optional(),
    })
    .strict(),
  z.object({ type: z.literal("like"), ...Other }).strict(),
  z.object({ type: z.literal("pass"), ...Other }).strict(),
  z.object({ type: z.literal("unlike"), ...Other }).strict(),
  z.object({ type: z.literal("unmatch"), ...Other }).strict(),
  z.object({ type: z.literal("block"), ...Other }).strict(),
  z.object({ type: z.literal("unblock"), ...Other }).strict(),
  z
    .object({
      type: z.literal("report"),
      ...Other,
      reason: z.string().max(20),
      note: z.string().max(1000).optional(),
    })
    .strict(),
  z
    .object({ type: z.literal("notifications.read"), ids: z.array(z.number().int()).max(100).optional() })
    .strict(),
  z.object({ type: z.literal("profile.view"), viewer: UserId }).strict(),
  /** Data rights (REST, password-confirmed there): everything held, and erasure. */
  z.object({ type: z.literal("export") }).strict(),
  z.object({ type: z.literal("erase") }).strict(),
  /** From the photo routes after an upload or delete: the stored photos, in upload order. */
  z
    .object({ type: z.literal("photosSynced"), photoIds: z.array(z.string().max(64)).max(MAX_PHOTOS) })
    .strict(),
  z
    .object({ type: z.literal("eventJoined"), eventId: z.string().max(80), startsAt: z.number().int() })
    .strict(),
  z.object({ type: z.literal("eventLeft"), eventId: z.string().max(80) }).strict(),
  // from other actors (identity from ctx.from)
  z.object({ type: z.literal("likeReceived") }).strict(),
  z.object({ type: z.literal("likeWithdrawn") }).strict(),
  z.object({ type: z.literal("unmatchedBy") }).strict(),
  z.object({ type: z.literal("blockedBy") }).strict(),
  z.object({ type: z.literal("unblockedBy") }).strict(),
  z
    .object({
      type: z.literal("chatJoined"),
      chatId: ChatId,
      kind: z.enum(["direct", "group"]),
      fromSeq: z.number().int().min(0),
      title: z.string().max(100).optional(),
      peer: UserId.optional(),
    })
    .strict(),
  z.object({ type: z.literal("chatLeft"), chatId: ChatId, reason: z.string().max(20) }).strict(),
  z.object({ type: z.literal("chatActivity"), chatId: ChatId, seq: z.number().int(), by: UserId }).strict(),
]);
export type UserCommand = z.infer<typeof UserCommand>;

function fromOwner(state: Readonly<UserState>, c: UserCommand, now: number): UserDecision {
  const self = state.id;
  if ("userId" in c && c.userId === self) return reject(ErrorCode.VALIDATION_FAILED, "that is you");
  switch (c.type) {
    case "profile.update":
      return accept(state, { status: "updated" }, [{ type: "profileUpdated", profile: c.profile }]);
    case "settings.update": {
      const prefs = c.preferences;
      if (prefs && prefs.minAge > prefs.maxAge)
        return reject(ErrorCode.VALIDATION_FAILED, "minAge is above maxAge");
      const event: UserEvent = {
        type: "settingsUpdated",
        ...(prefs ? { preferences: prefs } : {}),
        ...(c.privacy ? { privacy: c.privacy } : {}),
      };
      return accept(state, { status: "updated" }, [event]);
    }
    case "like": {
      const other = c.userId;
      if (hasKey(state.blocked, other) || hasKey(state.blockedBy, other))
        return reject(ErrorCode.NOT_FOUND, "user not found");
      if (hasKey(state.matches, other)) return { ok: true, reply: { status: "matched" } };
      if (hasKey(state.likesSent, other)) return { ok: true, reply: { status: "already-liked" } };
      const liked: UserEvent = { type: "liked", userId: other, at: now };
      const tell = { to: user(other), command: { type: "likeReceived" } };
      if (hasKey(state.likesReceived, other))
        return match(state, other, now, { status: "matched" }, [liked], [tell]);
      return accept(state, { status: "liked" }, [liked], { send: [tell] });
    }
    case "pass":
      return accept(state, { status: "passed" }, [{ type: "passed", userId: c.userId, at: now }]);
    case "unlike":
      if (hasKey(state.matches, c.userId)) return reject(ErrorCode.CONFLICT, "already matched: use unmatch");
      if (!hasKey(state.likesSent, c.userId)) return { ok: true, reply: { status: "not-liked" } };
      return accept(state, { status: "unliked" }, [{ type: "unliked", userId: c.userId }], {
        send: [{ to: user(c.userId), command: { type: "likeWithdrawn" } }],
      });
    case "unmatch": {
      const m = matchOf(state, c.userId);
      if (!m) return { ok: true, reply: { status: "not-matched" } };
      return accept(state, { status: "unmatched" }, [{ type: "unmatched", userId: c.userId }], {
        send: [
          { to: user(c.userId), command: { type: "unmatchedBy" } },
          { to: chat(m.chatId), command: { type: "close" } },
        ],
        notify: [{ type: "unmatched", userId: c.userId, chatId: m.chatId }],
      });
    }
    case "block": {
      if (hasKey(state.blocked, c.userId)) return { ok: true, reply: { status: "already-blocked" } };
      const m = matchOf(state, c.userId);
      const send: Outgoing[] = [{ to: user(c.userId), command: { type: "blockedBy" } }];
      if (m) send.push({ to: chat(m.chatId), command: { type: "close" } });
      return accept(state, { status: "blocked" }, [{ type: "blocked", userId: c.userId, at: now }], {
        send,
        notify: m ? [{ type: "unmatched", userId: c.userId, chatId: m.chatId }] : [],
      });
    }
    case "unblock":
      if (!hasKey(state.blocked, c.userId)) return { ok: true, reply: { status: "not-blocked" } };
      return accept(state, { status: "unblocked" }, [{ type: "unblocked", userId: c.userId }], {
        send: [{ to: user(c.userId), command: { type: "unblockedBy" } }],
      });
    case "report": {
      const event: UserEvent = {
        type: "reported",
        userId: c.userId,
        reason: c.reason,
        at: now,
        ...(c.note ? { note: c.note } : {}),
      };
      return accept(state, { status: "reported" }, [event]);
    }
    case "notifications.read": {
      const ids = c.ids ?? null;
      const unread = state.notifications.filter((n) => !n.read && ids !== null && !ids.includes(n.id)).length;
      return accept(state, { unread }, [{ type: "notificationsRead", ids }]);
    }
    case "profile.view":
      if (!visibleTo(state, c.viewer)) return reject(ErrorCode.NOT_FOUND, "user not found");
      return { ok: true, reply: publicProfileOf(state) };
    case "export":
      return { ok: true, reply: structuredClone(state) };
    case "erase": {
      // Partners learn of the unmatch; every chat anonymizes this user's messages and drops them.
      const send: Outgoing[] = [
        ...Object.keys(state.matches).map((other) => ({ to: user(other), command: { type: "unmatchedBy" } })),
        ...Object.keys(state.chats).map((chatId) => ({ to: chat(chatId), command: { type: "forget" } })),
      ];
      const reply = { chats: Object.keys(state.chats).length, matches: Object.keys(state.matches).length };
      return accept(state, reply, [{ type: "erased" }], { send });
    }
    case "photosSynced": {
      const same =
        c.photoIds.length === state.photos.length && c.photoIds.every((p, i) => state.photos[i] === p);
      if (same) return { ok: true, reply: { photos: c.photoIds } };
      return accept(state, { photos: c.photoIds }, [{ type: "photosSynced", photoIds: c.photoIds }]);
    }
    case "eventJoined": {
      const at = c.startsAt - EVENT_REMINDER_LEAD_MS;
      return accept(
        state,
        { status: "joined" },
        [{ type: "eventJoined", eventId: c.eventId, startsAt: c.startsAt }],
        {
          reminders: at > now ? { set: [{ name: eventReminder(c.eventId), at }] } : {},
        },
      );
    }
    case "eventLeft":
      if (!hasKey(state.events, c.eventId)) return { ok: true, reply: { status: "left" } };
      return accept(state, { status: "left" }, [{ type: "eventLeft", eventId: c.eventId }], {
        reminders: { cancel: [eventReminder(c.eventId)] },
      });
    default:
      return reject(ErrorCode.FORBIDDEN, `${c.type} comes from actors only`);
  }
}

export const userActor: ActorDefinition<UserState, UserCommand, UserEvent, unknown> = {
  kind: "user",
  commands: UserCommand,
  initialState: initialUserState,
  evolve: evolveUser,
  decide: (state, command, ctx) =>
    ACTOR_COMMANDS.has(command.type) ? fromActor(state, command, ctx) : fromOwner(state, command, ctx.now),

  onReminder(state, name, ctx) {
    const eventId = name.startsWith("event:") ? name.slice("event:".length) : undefined;
    if (eventId === undefined || !hasKey(state.events, eventId)) return { ok: true, reply: null };
    const data = { eventId, startsAt: state.events[eventId] as number };
    const notification = nextNotification(state, "event", data, ctx.now);
    return accept(state, null, [{ type: "notified", kind: "event", data, at: ctx.now }], {
      notify: [{ type: "notification", notification }],
    });
  },
};
