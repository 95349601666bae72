import { z } from "zod";
import { ErrorCode } from "../../../protocol/errors.js";
import { Seq, UserId } from "../../../protocol/realtime.js";
import { chatChannel } from "../channels.js";
import type { ActorDefinition } from "../runtime/types.js";
import {
  type ChatEvent,
  type ChatState,
  ERASED_USER,
  evolveChat,
  initialChatState,
  isMember,
  MAX_GROUP_MEMBERS,
  memberOf,
  membersToNotify,
  type NewEntry,
  summaryFor,
  unreadAfter,
} from "./chatState.js";
import { append, type ChatDecision, left, notFound, reject, user } from "./decisions.js";
import { createGroup, groupChange, openDirect } from "./membership.js";
import { catchUp, history } from "./reads.js";

/**
 * One chat (room `chat_<chatId>`): members and roles, the gap-free seq, a window of recent
 * entries, read watermarks. Rooms call it on behalf of an authenticated user (`by`, set by the
 * server from the token, never by the client); user actors call it through their outbox
 * (`openDirect`, `close`, identified by `ctx.from`). Every accepted entry is published once on the
 * chat's channel after it is durable; member user rooms fan it out to their devices.
 */

const By = { by: UserId };
const Text = z.string().min(1).max(4000);

export const ChatCommand = z.discriminatedUnion("type", [
  z.object({ type: z.literal("openDirect"), members: z.tuple([UserId, UserId]) }).strict(),
  z.object({ type: z.literal("close") }).strict(),
  /** From a user actor being erased: anonymize its messages and remove it. */
  z.object({ type: z.literal("forget") }).strict(),
  z
    .object({
      type: z.literal("createGroup"),
      ...By,
      title: z.string().min(1).max(100),
      members: z.array(UserId).max(MAX_GROUP_MEMBERS - 1),
    })
    .strict(),
  z
    .object({
      type: z.literal("post"),
      ...By,
      text: Text,
      photoId: z.string().max(64).optional(),
      replyTo: Seq.optional(),
    })
    .strict(),
  z.object({ type: z.literal("edit"), ...By, seq: Seq, text: Text }).strict(),
  z.object({ type: z.literal("delete"), ...By, seq: Seq }).strict(),
  z
    .object({ type: z.literal("react"), ...By, seq: Seq, emoji: z.string().min(1).max(16), on: z.boolean() })
    .strict(),
  z.object({ type: z.literal("read"), ...By, seq: Seq }).strict(),
  z
    .object({
      type: z.literal("history"),
      ...By,
      before: Seq.optional(),
      limit: z.number().int().min(1).max(100).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("since"),
      ...By,
      after: Seq,
      limit: z.number().int().min(1).max(500).optional(),
    })
    .strict(),
  z.object({ type: z.literal("info"), ...By }).strict(),
  z.object({ type: z.literal("invite"), ...By, userId: UserId }).strict(),
  z.object({ type: z.literal("leave"), ...By }).strict(),
  z.object({ type: z.literal("kick"), ...By, userId: UserId }).strict(),
  z.object({ type: z.literal("role"), ...By, userId: UserId, role: z.enum(["admin", "member"]) }).strict(),
]);
export type ChatCommand = z.infer<typeof ChatCommand>;

/** The message `seq` refers to, if it is retained and still a message. */
const messageAt = (state: Readonly<ChatState>, seq: number) => state.messages[seq];

export const chatActor: ActorDefinition<ChatState, ChatCommand, ChatEvent, unknown> = {
  kind: "chat",
  commands: ChatCommand,
  snapshotEvery: 200,
  initialState: initialChatState,
  evolve: evolveChat,

  decide(state, c, ctx): ChatDecision {
    switch (c.type) {
      case "openDirect":
        return openDirect(state, c.members, ctx);
      case "close": {
        const caller = ctx.from;
        if (caller?.kind !== "user" || !isMember(state, caller.id))
          return reject(ErrorCode.FORBIDDEN, "not a member");
        if (!state.open) return { ok: true, reply: { status: "closed" } };
        const send = Object.keys(state.members).map((m) => left(state.id, m, "closed"));
        return append(
          state,
          [{ by: caller.id, at: ctx.now, kind: "closed" }],
          { status: "closed" },
          { send },
        );
      }
      case "forget": {
        const caller = ctx.from;
        if (caller?.kind !== "user") return reject(ErrorCode.FORBIDDEN, "only a user actor can be forgotten");
        const wrote = state.entries.some((e) => e.by === caller.id);
        if (!isMember(state, caller.id) && !wrote) return { ok: true, reply: { status: "unknown" } };
        const forgotten: ChatEvent[] = [{ type: "forgotten", userId: caller.id }];
        const closing: NewEntry[] =
          state.kind === "direct" && state.open ? [{ by: ERASED_USER, at: ctx.now, kind: "closed" }] : [];
        return append(state, closing, { status: "forgotten" }, { events: forgotten });
      }
      case "createGroup":
        return createGroup(state, c, ctx.now);
      case "invite":
      case "kick":
      case "role":
      case "leave":
        return groupChange(state, c, ctx.now);
      default:
        break;
    }
    if (!isMember(state, c.by)) {
      // A matched user may write before the chat's opening (sent by the other side) lands here.
      if (state.kind === null && state.id.startsWith("d-"))
        return reject(ErrorCode.NOT_READY, "chat is opening; retry");
      return notFound();
    }
    switch (c.type) {
      case "post": {
        if (!state.open) return reject(ErrorCode.CONFLICT, "chat is closed");
        if (c.replyTo !== undefined && (c.replyTo < 1 || c.replyTo > state.lastSeq)) {
          return reject(ErrorCode.VALIDATION_FAILED, "replyTo must be an earlier seq");
        }
        const entry: NewEntry = {
          by: c.by,
          at: ctx.now,
          kind: "message",
          text: c.text,
          ...(c.photoId !== undefined ? { photoId: c.photoId } : {}),
          ...(c.replyTo !== undefined ? { replyTo: c.replyTo } : {}),
        };
        const send = membersToNotify(state, c.by).map((m) => ({
          to: user(m),
          command: { type: "chatActivity", chatId: state.id, seq: state.lastSeq + 1, by: c.by },
        }));
        return append(
          state,
          [entry],
          { seq: state.lastSeq + 1, at: ctx.now },
          send.length > 0 ? { send } : {},
        );
      }
      case "edit":
      case "delete": {
        if (!state.open) return reject(ErrorCode.CONFLICT, "chat is closed");
        const target = messageAt(state, c.seq);
        if (!target) return reject(ErrorCode.NOT_FOUND, "no such message (or past retention)");
        if (target.by !== c.by) return reject(ErrorCode.FORBIDDEN, "only the author can change a message");
        if (target.deleted) return reject(ErrorCode.CONFLICT, "message was deleted");
        const entry: NewEntry =
          c.type === "edit"
            ? { by: c.by, at: ctx.now, kind: "edit", target: c.seq, text: c.text }
            : { by: c.by, at: ctx.now, kind: "delete", target: c.seq };
        return append(state, [entry], { seq: state.lastSeq + 1 });
      }
      case "react": {
        if (!state.open) return reject(ErrorCode.CONFLICT, "chat is closed");
        const target = messageAt(state, c.seq);
        if (!target || target.deleted)
          return reject(ErrorCode.NOT_FOUND, "no such message (or past retention)");
        const has =
          Object.hasOwn(target.reactions, c.emoji) && (target.reactions[c.emoji]?.includes(c.by) ?? false);
        if (has === c.on) return { ok: true, reply: { seq: null } };
        const entry: NewEntry = {
          by: c.by,
          at: ctx.now,
          kind: "reaction",
          target: c.seq,
          emoji: c.emoji,
          on: c.on,
        };
        return append(state, [entry], { seq: state.lastSeq + 1 });
      }
      case "read": {
        const member = memberOf(state, c.by);
        const seq = Math.min(c.seq, state.lastSeq);
        if (!member || seq <= member.readSeq) {
          return { ok: true, reply: { readSeq: member?.readSeq ?? 0, unread: member?.unread ?? 0 } };
        }
        const unread = unreadAfter(state, c.by, seq);
        // `unread` is for the reader's own devices (other devices' badges); rooms strip it for others.
        const message = { type: "read", chatId: state.id, userId: c.by, seq, unread };
        return {
          ok: true,
          reply: { readSeq: seq, unread },
          events: [{ type: "read", userId: c.by, seq }],
          publish: [{ channel: chatChannel(state.id), message }],
        };
      }
      case "history": {
        const floor = memberOf(state, c.by)?.fromSeq ?? 0;
        return { ok: true, reply: history(state, c.before ?? state.lastSeq + 1, c.limit ?? 50, floor) };
      }
      case "since": {
        const floor = memberOf(state, c.by)?.fromSeq ?? 0;
        return { ok: true, reply: catchUp(state, c.after, c.limit ?? 500, floor) };
      }
      case "info":
        return { ok: true, reply: summaryFor(state, c.by) };
      default: {
        const never: never = c;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
};
