import { z } from "zod";
import { ErrorCode } from "../../../protocol/errors.js";
import { type ChatEntry, type MessageView, Seq, UserId } from "../../../protocol/realtime.js";
import { chatChannel, directChatId } from "../channels.js";
import type { ActorDefinition, Decision, Outgoing, Publication, TurnContext } from "../runtime/types.js";
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
  oldestSeq,
  summaryFor,
  unreadAfter,
} from "./chatState.js";

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

type ChatDecision = Decision<ChatEvent, unknown>;

const reject = (code: ErrorCode, message: string): ChatDecision => ({ ok: false, code, message });
/** Non-members learn nothing, not even whether the chat exists (BOLA). */
const notFound = () => reject(ErrorCode.NOT_FOUND, "chat not found");
const user = (id: string) => ({ kind: "user", id });

/** Appends entries, publishing each after it is durable, with the seqs `evolve` will give them. */
function append(
  state: Readonly<ChatState>,
  entries: NewEntry[],
  reply: unknown,
  extra: { send?: Outgoing[]; events?: ChatEvent[] } = {},
): ChatDecision {
  const publish: Publication[] = entries.map((entry, i) => {
    const seq = state.lastSeq + 1 + i;
    return {
      channel: chatChannel(state.id),
      message: { type: "chat", chatId: state.id, seq, entry: { ...entry, seq } as ChatEntry },
    };
  });
  return {
    ok: true,
    reply,
    events: [...(extra.events ?? []), ...entries.map((entry): ChatEvent => ({ type: "appended", entry }))],
    publish,
    ...(extra.send ? { send: extra.send } : {}),
  };
}

const joined = (chatId: string, state: Readonly<ChatState>, userId: string, peer?: string) => ({
  to: user(userId),
  command: {
    type: "chatJoined",
    chatId,
    kind: state.kind ?? "group",
    // Entries after this seq are the new member's: their devices start delivering there.
    fromSeq: state.lastSeq,
    ...(state.title ? { title: state.title } : {}),
    ...(peer ? { peer } : {}),
  },
});
const left = (chatId: string, userId: string, reason: string) => ({
  to: user(userId),
  command: { type: "chatLeft", chatId, reason },
});

function openDirect(state: Readonly<ChatState>, members: [string, string], ctx: TurnContext): ChatDecision {
  const [a, b] = members;
  const caller = ctx.from;
  if (caller?.kind !== "user" || !members.includes(caller.id) || a === b || directChatId(a, b) !== state.id) {
    return reject(ErrorCode.FORBIDDEN, "not a direct chat of the caller");
  }
  if (state.open) return { ok: true, reply: { status: "open" } };
  const withPeer = { ...state, kind: "direct" as const, title: "" };
  return {
    ok: true,
    reply: { status: "opened" },
    events: [
      { type: "opened", kind: "direct", title: "", members: { [a]: "member", [b]: "member" }, at: ctx.now },
    ],
    send: [joined(state.id, withPeer, a, b), joined(state.id, withPeer, b, a)],
  };
}

function createGroup(
  state: Readonly<ChatState>,
  c: Extract<ChatCommand, { type: "createGroup" }>,
  now: number,
) {
  if (!state.id.startsWith("g-")) return reject(ErrorCode.BAD_REQUEST, "not a group chat id");
  if (state.kind !== null) {
    // A re-sent create (same cid → same id) answers like the first; anyone else learns nothing.
    return memberOf(state, c.by)?.role === "owner"
      ? { ok: true as const, reply: { chatId: state.id } }
      : notFound();
  }
  const others = [...new Set(c.members)].filter((m) => m !== c.by);
  const roles: Record<string, "owner" | "member"> = { [c.by]: "owner" };
  for (const m of others) roles[m] = "member";
  const after = { ...state, kind: "group" as const, title: c.title };
  return {
    ok: true as const,
    reply: { chatId: state.id },
    events: [{ type: "opened" as const, kind: "group" as const, title: c.title, members: roles, at: now }],
    send: Object.keys(roles).map((m) => joined(state.id, after, m)),
  };
}

/** Entries after `after` — never from before the member joined (`floor`). */
function catchUp(state: Readonly<ChatState>, requested: number, limit: number, floor: number) {
  const after = Math.max(requested, floor);
  const oldest = oldestSeq(state);
  if (after < oldest - 1)
    return { chatId: state.id, resync: true as const, lastSeq: state.lastSeq, oldestSeq: oldest };
  const from = Math.max(0, after + 1 - oldest);
  const entries = state.entries.slice(from, from + limit);
  return { chatId: state.id, entries, more: from + limit < state.entries.length };
}

function history(state: Readonly<ChatState>, before: number, limit: number, floor: number) {
  const messages: MessageView[] = [];
  let i = state.entries.length - 1;
  for (; i >= 0 && messages.length < limit; i--) {
    const entry = state.entries[i] as ChatEntry;
    if (entry.seq <= floor) break;
    if (entry.seq >= before || entry.kind !== "message") continue;
    const view = state.messages[entry.seq];
    if (view) messages.push(view);
  }
  let more = false;
  for (; i >= 0 && !more; i--) {
    const entry = state.entries[i] as ChatEntry;
    if (entry.seq <= floor) break;
    more = entry.kind === "message";
  }
  return { messages: messages.reverse(), more, oldestSeq: oldestSeq(state) };
}

/** The message `seq` refers to, if it is retained and still a message. */
const messageAt = (state: Readonly<ChatState>, seq: number) => state.messages[seq];

function groupChange(state: Readonly<ChatState>, c: ChatCommand & { by: string }, now: number): ChatDecision {
  if (state.kind !== "group") return reject(ErrorCode.FORBIDDEN, "direct chats have exactly two members");
  if (!state.open) return reject(ErrorCode.CONFLICT, "chat is closed");
  const me = memberOf(state, c.by);
  if (!me) return notFound();
  const base = { by: c.by, at: now, kind: "member" as const };
  switch (c.type) {
    case "invite": {
      if (me.role === "member") return reject(ErrorCode.FORBIDDEN, "only owners and admins invite");
      if (isMember(state, c.userId)) return { ok: true, reply: { seq: null } };
      if (Object.keys(state.members).length >= MAX_GROUP_MEMBERS) {
        return reject(ErrorCode.CONFLICT, `groups have at most ${MAX_GROUP_MEMBERS} members`);
      }
      return append(
        state,
        [{ ...base, userId: c.userId, change: "joined", role: "member" }],
        { seq: state.lastSeq + 1 },
        {
          send: [joined(state.id, state, c.userId)],
        },
      );
    }
    case "kick": {
      const target = memberOf(state, c.userId);
      if (!target) return { ok: true, reply: { seq: null } };
      const outranks = me.role === "owner" || (me.role === "admin" && target.role === "member");
      if (!outranks || c.userId === c.by) return reject(ErrorCode.FORBIDDEN, "cannot remove this member");
      return append(
        state,
        [{ ...base, userId: c.userId, change: "kicked" }],
        { seq: state.lastSeq + 1 },
        {
          send: [left(state.id, c.userId, "kicked")],
        },
      );
    }
    case "role": {
      if (me.role !== "owner") return reject(ErrorCode.FORBIDDEN, "only the owner changes roles");
      const target = memberOf(state, c.userId);
      if (!target || c.userId === c.by) return reject(ErrorCode.NOT_FOUND, "no such member");
      if (target.role === c.role) return { ok: true, reply: { seq: null } };
      return append(state, [{ ...base, userId: c.userId, change: "role", role: c.role }], {
        seq: state.lastSeq + 1,
      });
    }
    case "leave": {
      const entries: NewEntry[] = [{ ...base, userId: c.by, change: "left" }];
      const rest = Object.entries(state.members).filter(([id]) => id !== c.by);
      if (me.role === "owner" && rest.length > 0) {
        // The group keeps an owner: the longest-standing admin, else the longest-standing member.
        const rank = (r: string) => (r === "admin" ? 0 : 1);
        rest.sort(([, x], [, y]) => rank(x.role) - rank(y.role) || x.joinedAt - y.joinedAt);
        entries.push({ ...base, userId: rest[0]?.[0] as string, change: "role", role: "owner" });
      }
      if (rest.length === 0) entries.push({ by: c.by, at: now, kind: "closed" });
      return append(state, entries, { seq: state.lastSeq + 1 }, { send: [left(state.id, c.by, "left")] });
    }
    default:
      return reject(ErrorCode.BAD_REQUEST, "not a group change");
  }
}

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
