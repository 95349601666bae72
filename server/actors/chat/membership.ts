import { ErrorCode } from "../../../protocol/errors.js";
import { directChatId } from "../channels.js";
import type { TurnContext } from "../runtime/types.js";
import type { ChatCommand } from "./ChatActor.js";
import { type ChatState, isMember, MAX_GROUP_MEMBERS, memberOf, type NewEntry } from "./chatState.js";
import { append, type ChatDecision, joined, left, notFound, reject } from "./decisions.js";

/** Who is in a chat: opening a direct chat, creating a group, and the group's member changes. */

export function openDirect(
  state: Readonly<ChatState>,
  members: [string, string],
  ctx: TurnContext,
): ChatDecision {
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

export function createGroup(
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

export function groupChange(
  state: Readonly<ChatState>,
  c: ChatCommand & { by: string },
  now: number,
): ChatDecision {
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
