import { ErrorCode } from "../../../protocol/errors.js";
import type { TurnContext } from "../runtime/types.js";
import { accept, chat, match, reject, type UserDecision, user } from "./decisions.js";
import type { UserCommand } from "./UserActor.js";
import { hasKey, matchOf, nextNotification, type UserEvent, type UserState } from "./userState.js";

/**
 * Commands other actors send a user (through their outbox): the sender is `ctx.from`, never a
 * field of the command, and each kind is accepted only from the kind of actor that sends it.
 */

export function fromActor(state: Readonly<UserState>, c: UserCommand, ctx: TurnContext): UserDecision {
  const from = ctx.from;
  if (!from) return reject(ErrorCode.FORBIDDEN, `${c.type} comes from actors only`);
  const other = from.id;
  const now = ctx.now;
  if (from.kind === "user") {
    if (other === state.id) return reject(ErrorCode.FORBIDDEN, "not from oneself");
    switch (c.type) {
      case "likeReceived": {
        if (hasKey(state.blocked, other) || hasKey(state.blockedBy, other) || hasKey(state.matches, other)) {
          return { ok: true, reply: null };
        }
        const received: UserEvent = { type: "likeReceived", userId: other, at: now };
        if (hasKey(state.likesSent, other)) return match(state, other, now, null, [received], []);
        return accept(state, null, [received]);
      }
      case "likeWithdrawn":
        if (matchOf(state, other)) {
          // The unlike raced our like-back: the other side has no match, so neither do we.
          const m = matchOf(state, other);
          return accept(state, null, [{ type: "unmatched", userId: other }], {
            // Our like goes too: tell the other side, or their next like would match one-sidedly.
            send: [
              { to: chat(m?.chatId as string), command: { type: "close" } },
              { to: user(other), command: { type: "likeWithdrawn" } },
            ],
            notify: [{ type: "unmatched", userId: other, chatId: m?.chatId }],
          });
        }
        return hasKey(state.likesReceived, other)
          ? accept(state, null, [{ type: "likeWithdrawn", userId: other }])
          : { ok: true, reply: null };
      case "unmatchedBy": {
        const m = matchOf(state, other);
        if (!m) return { ok: true, reply: null };
        return accept(state, null, [{ type: "unmatched", userId: other }], {
          notify: [{ type: "unmatched", userId: other, chatId: m.chatId }],
        });
      }
      case "blockedBy": {
        const m = matchOf(state, other);
        return accept(state, null, [{ type: "blockedBy", userId: other, at: now }], {
          notify: m ? [{ type: "unmatched", userId: other, chatId: m.chatId }] : [],
        });
      }
      case "unblockedBy":
        return hasKey(state.blockedBy, other)
          ? accept(state, null, [{ type: "unblockedBy", userId: other }])
          : { ok: true, reply: null };
      default:
        break;
    }
  }
  if (from.kind === "chat" && "chatId" in c && c.chatId === other) {
    switch (c.type) {
      case "chatJoined": {
        const membership = {
          chatId: c.chatId,
          kind: c.kind,
          since: now,
          fromSeq: c.fromSeq,
          ...(c.title ? { title: c.title } : {}),
          ...(c.peer ? { peer: c.peer } : {}),
        };
        return accept(state, null, [{ type: "chatJoined", chat: membership }], {
          notify: [{ type: "chat.added", chat: membership }],
        });
      }
      case "chatLeft":
        if (!hasKey(state.chats, c.chatId)) return { ok: true, reply: null };
        return accept(state, null, [{ type: "chatLeft", chatId: c.chatId }], {
          notify: [{ type: "chat.removed", chatId: c.chatId, reason: c.reason }],
        });
      case "chatActivity": {
        const data = { chatId: c.chatId, seq: c.seq, by: c.by };
        const notification = nextNotification(state, "message", data, now);
        return accept(state, null, [{ type: "notified", kind: "message", data, at: now }], {
          notify: [{ type: "notification", notification }],
        });
      }
      default:
        break;
    }
  }
  return reject(ErrorCode.FORBIDDEN, `${c.type} is not accepted from ${from.kind} ${other}`);
}

export const ACTOR_COMMANDS = new Set<string>([
  "likeReceived",
  "likeWithdrawn",
  "unmatchedBy",
  "blockedBy",
  "unblockedBy",
  "chatJoined",
  "chatLeft",
  "chatActivity",
]);
