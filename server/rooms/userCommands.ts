import { setTimeout as delay } from "node:timers/promises";
import { ErrorCode } from "../../protocol/errors.js";
import {
  type ChatSummary,
  type ClientCommand,
  type CommandResults,
  type PublicProfile,
  SocketLimits,
} from "../../protocol/realtime.js";
import { chatChannel, groupChatId } from "../actors/channels.js";
import { changeRegistration } from "../actors/eventAttendance.js";
import { failure } from "../actors/runtime/ActorHost.js";
import type { ActorCaller } from "../actors/runtime/ActorRuntime.js";
import type { ActorRef, CallResult } from "../actors/runtime/types.js";
import { hasKey, meOf, type UserState } from "../actors/user/userState.js";
import type { EventStore } from "../persistence/stores/contentStores.js";
import type { ProfileCard, ProfileDirectory } from "../persistence/stores/ProfileDirectory.js";
import type { UserSession } from "./UserSession.js";

/** What one user's command handlers need; built by the user room. */
export interface CommandContext {
  readonly userId: string;
  state(): UserState;
  /** Calls this user's own actor (hosted by the room: a local call). */
  callSelf(command: unknown, key?: string): Promise<CallResult>;
  readonly actors: ActorCaller;
  readonly profiles: ProfileDirectory;
  readonly events: EventStore;
  readonly session: UserSession;
  publish(channel: string, message: unknown): void;
  now(): number;
}

const ok = (value: unknown): CallResult => ({ ok: true, value });
const chat = (id: string): ActorRef => ({ kind: "chat", id });
const notFound = () => failure(ErrorCode.NOT_FOUND, "chat not found", false);
const DISCOVER_SCAN = 500;
const OPENING_RETRIES = 10;

/** The discovery card of a user as their actor's state has it now. */
export function cardOf(s: UserState, now: number): ProfileCard {
  return {
    id: s.id,
    ...s.profile,
    photos: s.photos,
    discoverable: s.privacy.discoverable && s.privacy.profileVisibility === "everyone",
    updatedAt: now,
  };
}

/** Projects the discovery card after a profile or privacy change (before the ack). */
async function project(ctx: CommandContext): Promise<CallResult | undefined> {
  try {
    await ctx.profiles.put(cardOf(ctx.state(), ctx.now()));
    return undefined;
  } catch {
    return failure(ErrorCode.STORAGE_UNAVAILABLE, "profile saved; discovery update failed, retry", true);
  }
}

/** Whether a card suits the viewer's preferences and is not excluded by their history. */
function suits(viewer: UserState, card: ProfileCard, year: number): boolean {
  const id = card.id;
  if (id === viewer.id || !card.discoverable) return false;
  for (const seen of [viewer.likesSent, viewer.passes, viewer.matches, viewer.blocked, viewer.blockedBy]) {
    if (hasKey(seen, id)) return false;
  }
  const p = viewer.preferences;
  if (p.genders.length > 0 && (card.gender === null || !p.genders.includes(card.gender))) return false;
  if (card.birthYear !== null) {
    const age = year - card.birthYear;
    if (age < p.minAge || age > p.maxAge) return false;
  }
  return p.city === "" || card.city.toLowerCase() === p.city.toLowerCase();
}

async function discover(ctx: CommandContext, cursor: string | undefined, limit: number): Promise<CallResult> {
  const viewer = ctx.state();
  const year = new Date(ctx.now()).getUTCFullYear();
  const profiles: PublicProfile[] = [];
  let after = cursor;
  let scanned = 0;
  // Bounded: a page scans at most DISCOVER_SCAN cards, then hands back a cursor.
  for (;;) {
    const page = await ctx.profiles.page({ ...(after !== undefined ? { after } : {}), limit: 100 });
    let i = 0;
    for (; i < page.items.length && profiles.length < limit; i++) {
      const card = page.items[i] as ProfileCard;
      scanned++;
      after = ctx.profiles.cursorAfter(card);
      if (!suits(viewer, card, year)) continue;
      const { discoverable: _d, updatedAt: _u, id, ...rest } = card;
      profiles.push({ userId: id, ...rest });
    }
    if (i === page.items.length && page.next === undefined) return ok({ profiles });
    if (profiles.length >= limit || scanned >= DISCOVER_SCAN) return ok({ profiles, next: after });
  }
}

/** Users exist for others once they have a profile card (written on their first connect). */
async function exists(ctx: CommandContext, userId: string): Promise<boolean> {
  return (await ctx.profiles.get(userId)) !== undefined;
}

const withoutCid = <T extends { cid: string }>(c: T): Omit<T, "cid"> => {
  const { cid: _cid, ...rest } = c;
  return rest;
};

/** Chats this user may address: their chats, plus matched chats still opening. */
function mayUseChat(state: UserState, chatId: string): boolean {
  if (hasKey(state.chats, chatId)) return true;
  return Object.values(state.matches).some((m) => m.chatId === chatId);
}

/** A call to a chat, retried while a just-matched direct chat is still opening. */
async function callChat(ctx: CommandContext, chatId: string, command: object, key?: string) {
  let result = await ctx.actors.call(chat(chatId), { ...command, by: ctx.userId }, key ? { key } : {});
  for (let i = 0; i < OPENING_RETRIES && !result.ok && result.error.code === ErrorCode.NOT_READY; i++) {
    await delay(100 * (i + 1));
    result = await ctx.actors.call(chat(chatId), { ...command, by: ctx.userId }, key ? { key } : {});
  }
  return result;
}

async function sync(ctx: CommandContext, known: Record<string, number>): Promise<CallResult> {
  const state = ctx.state();
  const chats = await Promise.all(
    Object.keys(state.chats).map(async (chatId) => {
      const info = await callChat(ctx, chatId, { type: "info" });
      if (!info.ok) return undefined;
      // A chat this device has not seen yet (joined while it was offline): from the join on.
      const after = known[chatId] ?? state.chats[chatId]?.fromSeq ?? 0;
      const missed = await callChat(ctx, chatId, { type: "since", after });
      return { ...(info.value as ChatSummary), ...(missed.ok ? { catchUp: missed.value } : {}) };
    }),
  );
  const present = chats.filter((c) => c !== undefined);
  ctx.session.setUnread(present.map((c) => [c.chatId, c.unread, c.lastSeq]));
  const result: CommandResults["sync"] = {
    me: meOf(state),
    chats: present as CommandResults["sync"]["chats"],
    presence: await ctx.session.presenceOf(ctx.session.partners()),
    serverTime: ctx.now(),
  };
  return ok(result);
}

/** Group members must be people the inviter is matched with (no cold invitations). */
function invitable(state: UserState, userId: string): boolean {
  return hasKey(state.matches, userId) && !hasKey(state.blocked, userId) && !hasKey(state.blockedBy, userId);
}

/**
 * Runs one validated client command for the user and returns the answer for the ack. Every
 * identity in a command to an actor comes from the socket's token (`ctx.userId`), never from the
 * client; chat commands are refused here, before any chat actor is touched, unless the chat is
 * one of the user's (BOLA), and again by the chat actor itself.
 */
export async function runCommand(ctx: CommandContext, c: ClientCommand): Promise<CallResult> {
  const self = ctx.userId;
  const key = `${self}:${c.cid}`;
  switch (c.type) {
    case "sync":
      return sync(ctx, c.chats ?? {});
    case "profile.update":
    case "settings.update": {
      const { cid: _cid, ...command } = c;
      const result = await ctx.callSelf(command, key);
      if (!result.ok) return result;
      if (c.type === "settings.update") await ctx.session.announce();
      return (await project(ctx)) ?? ok({ me: meOf(ctx.state()) });
    }
    case "discover":
      return discover(ctx, c.cursor, c.limit ?? 20);
    case "profile.view":
      if (!(await exists(ctx, c.userId))) return failure(ErrorCode.NOT_FOUND, "user not found", false);
      return ctx.actors.call({ kind: "user", id: c.userId }, { type: "profile.view", viewer: self });
    case "like":
    case "block":
    case "pass":
    case "report":
      // Only real users: a like or block of a made-up id must not wake (and store) an actor for it.
      if (!(await exists(ctx, c.userId))) return failure(ErrorCode.NOT_FOUND, "user not found", false);
      return ctx.callSelf(withoutCid(c), key);
    case "unlike":
    case "unmatch":
    case "unblock":
    case "notifications.read": {
      const { cid: _cid, ...command } = c;
      return ctx.callSelf(command, key);
    }
    case "event.register":
    case "event.unregister": {
      const action = c.type === "event.register" ? "register" : "unregister";
      return changeRegistration(ctx, self, c.eventId, action, key);
    }
    case "group.create": {
      const state = ctx.state();
      const members = [...new Set(c.members)];
      if (!members.every((m) => invitable(state, m))) {
        return failure(ErrorCode.FORBIDDEN, "group members must be your matches", false);
      }
      const chatId = groupChatId(self, c.cid);
      return ctx.actors.call(
        chat(chatId),
        { type: "createGroup", by: self, title: c.title, members },
        { key },
      );
    }
    default:
      break;
  }
  const state = ctx.state();
  if (!mayUseChat(state, c.chatId)) return notFound();
  switch (c.type) {
    case "chat.typing": {
      const until = ctx.now() + SocketLimits.typingMs;
      ctx.publish(chatChannel(c.chatId), { type: "typing", chatId: c.chatId, userId: self, until });
      return ok({ until });
    }
    case "chat.send":
      return callChat(
        ctx,
        c.chatId,
        {
          type: "post",
          text: c.text,
          ...(c.photoId !== undefined ? { photoId: c.photoId } : {}),
          ...(c.replyTo !== undefined ? { replyTo: c.replyTo } : {}),
        },
        key,
      );
    case "chat.edit":
      return callChat(ctx, c.chatId, { type: "edit", seq: c.seq, text: c.text }, key);
    case "chat.delete":
      return callChat(ctx, c.chatId, { type: "delete", seq: c.seq }, key);
    case "chat.react":
      return callChat(ctx, c.chatId, { type: "react", seq: c.seq, emoji: c.emoji, on: c.on }, key);
    case "chat.read":
      // No key: a watermark is idempotent, and keyed reads would crowd the chat's dedup memory.
      return callChat(ctx, c.chatId, { type: "read", seq: c.seq });
    case "chat.history":
      return callChat(ctx, c.chatId, {
        type: "history",
        ...(c.before !== undefined ? { before: c.before } : {}),
        ...(c.limit !== undefined ? { limit: c.limit } : {}),
      });
    case "chat.since":
      return callChat(ctx, c.chatId, {
        type: "since",
        after: c.after,
        ...(c.limit ? { limit: c.limit } : {}),
      });
    case "chat.info":
      return callChat(ctx, c.chatId, { type: "info" });
    case "group.invite":
      if (!invitable(state, c.userId))
        return failure(ErrorCode.FORBIDDEN, "you can invite your matches", false);
      return callChat(ctx, c.chatId, { type: "invite", userId: c.userId }, key);
    case "group.leave":
      return callChat(ctx, c.chatId, { type: "leave" }, key);
    case "group.kick":
      return callChat(ctx, c.chatId, { type: "kick", userId: c.userId }, key);
    case "group.role":
      return callChat(ctx, c.chatId, { type: "role", userId: c.userId, role: c.role }, key);
  }
}
