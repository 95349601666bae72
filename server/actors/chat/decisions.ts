import { ErrorCode } from "../../../protocol/errors.js";
import type { ChatEntry } from "../../../protocol/realtime.js";
import { chatChannel } from "../channels.js";
import type { Decision, Outgoing, Publication } from "../runtime/types.js";
import type { ChatEvent, ChatState, NewEntry } from "./chatState.js";

/** Building blocks of the chat actor's decisions: refusals, appends and member notices. */

export type ChatDecision = Decision<ChatEvent, unknown>;

export const reject = (code: ErrorCode, message: string): ChatDecision => ({ ok: false, code, message });
/** Non-members learn nothing, not even whether the chat exists (BOLA). */
export const notFound = () => reject(ErrorCode.NOT_FOUND, "chat not found");
export const user = (id: string) => ({ kind: "user", id });

/** Appends entries, publishing each after it is durable, with the seqs `evolve` will give them. */
export function append(
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

export const joined = (chatId: string, state: Readonly<ChatState>, userId: string, peer?: string) => ({
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
export const left = (chatId: string, userId: string, reason: string) => ({
  to: user(userId),
  command: { type: "chatLeft", chatId, reason },
});
