import type { ChatEntry, MessageView } from "../../../protocol/realtime.js";
import { type ChatState, oldestSeq } from "./chatState.js";

/** Reading a chat: catch-up after a seq, and history pages backwards. */

export function catchUp(state: Readonly<ChatState>, requested: number, limit: number, floor: number) {
  const after = Math.max(requested, floor);
  const oldest = oldestSeq(state);
  if (after < oldest - 1)
    return { chatId: state.id, resync: true as const, lastSeq: state.lastSeq, oldestSeq: oldest };
  const from = Math.max(0, after + 1 - oldest);
  const entries = state.entries.slice(from, from + limit);
  return { chatId: state.id, entries, more: from + limit < state.entries.length };
}

export function history(state: Readonly<ChatState>, before: number, limit: number, floor: number) {
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
