import type { ChatEntry, ChatMembership, ChatSummary, MessageView } from "./sdk";

/** A message typed here that has no seq yet (sending), or that the server refused. */
export interface PendingMessage {
  readonly id: string;
  readonly text: string;
  readonly error?: string;
}

/** One chat as this device knows it: the summary, the loaded messages and live state. */
export interface ChatState {
  readonly chatId: string;
  readonly kind: "direct" | "group";
  readonly title: string;
  readonly peer?: string;
  readonly open: boolean;
  readonly since: number;
  readonly lastSeq: number;
  readonly unread: number;
  readonly memberIds: readonly string[];
  /** Read watermark per member. */
  readonly readSeqs: Readonly<Record<string, number>>;
  readonly lastMessage: MessageView | null;
  /** Loaded messages, ascending by seq (history pages + live entries). */
  readonly messages: readonly MessageView[];
  /** Whether the newest page of history was fetched. */
  readonly historyLoaded: boolean;
  /** Whether older messages exist before the oldest loaded one. */
  readonly more: boolean;
  /** Typing indicators: user id → until (local clock, ms). */
  readonly typing: Readonly<Record<string, number>>;
  readonly pending: readonly PendingMessage[];
}

export function emptyChat(chatId: string): ChatState {
  return {
    chatId,
    kind: chatId.startsWith("g-") ? "group" : "direct",
    title: "",
    open: true,
    since: 0,
    lastSeq: 0,
    unread: 0,
    memberIds: [],
    readSeqs: {},
    lastMessage: null,
    messages: [],
    historyLoaded: false,
    more: false,
    typing: {},
    pending: [],
  };
}

export function withMembership(chat: ChatState, m: ChatMembership): ChatState {
  return {
    ...chat,
    kind: m.kind,
    title: m.title ?? chat.title,
    since: m.since,
    ...(m.peer ? { peer: m.peer } : {}),
    lastSeq: Math.max(chat.lastSeq, m.fromSeq),
  };
}

export function withSummary(chat: ChatState, s: ChatSummary, me: string): ChatState {
  const readSeqs: Record<string, number> = { ...chat.readSeqs };
  for (const member of s.members)
    readSeqs[member.userId] = Math.max(readSeqs[member.userId] ?? 0, member.readSeq);
  const peer = s.kind === "direct" ? s.members.find((m) => m.userId !== me)?.userId : undefined;
  const newer = chat.lastMessage && s.lastMessage && chat.lastMessage.seq > s.lastMessage.seq;
  return {
    ...chat,
    kind: s.kind,
    title: s.title,
    open: s.open,
    ...(peer ? { peer } : {}),
    lastSeq: Math.max(chat.lastSeq, s.lastSeq),
    unread: s.unread,
    memberIds: s.members.map((m) => m.userId),
    readSeqs,
    lastMessage: newer ? chat.lastMessage : (s.lastMessage ?? chat.lastMessage),
  };
}

const bySeq = (a: MessageView, b: MessageView) => a.seq - b.seq;

function updateMessage(
  chat: ChatState,
  seq: number,
  change: (m: MessageView) => MessageView,
): Pick<ChatState, "messages" | "lastMessage"> {
  const messages = chat.messages.map((m) => (m.seq === seq ? change(m) : m));
  const lastMessage =
    chat.lastMessage && chat.lastMessage.seq === seq ? change(chat.lastMessage) : chat.lastMessage;
  return { messages, lastMessage };
}

function toggleReaction(m: MessageView, emoji: string, userId: string, on: boolean): MessageView {
  const users = (m.reactions[emoji] ?? []).filter((u) => u !== userId);
  if (on) users.push(userId);
  const reactions = { ...m.reactions };
  if (users.length > 0) reactions[emoji] = users;
  else delete reactions[emoji];
  return { ...m, reactions };
}

/**
 * Folds one chat entry into the chat. Idempotent (the same entry twice changes nothing), so live
 * entries, catch-up and history pages can overlap freely.
 */
export function applyEntry(chat: ChatState, entry: ChatEntry): ChatState {
  const lastSeq = Math.max(chat.lastSeq, entry.seq);
  switch (entry.kind) {
    case "message": {
      const readSeqs = { ...chat.readSeqs, [entry.by]: Math.max(chat.readSeqs[entry.by] ?? 0, entry.seq) };
      const { [entry.by]: _stopped, ...typing } = chat.typing;
      if (chat.messages.some((m) => m.seq === entry.seq)) return { ...chat, lastSeq, readSeqs };
      const view: MessageView = {
        seq: entry.seq,
        at: entry.at,
        by: entry.by,
        text: entry.text,
        reactions: {},
        ...(entry.photoId ? { photoId: entry.photoId } : {}),
        ...(entry.replyTo ? { replyTo: entry.replyTo } : {}),
      };
      const messages = [...chat.messages, view].sort(bySeq);
      const lastMessage = !chat.lastMessage || chat.lastMessage.seq < view.seq ? view : chat.lastMessage;
      return { ...chat, lastSeq, readSeqs, typing, messages, lastMessage };
    }
    case "edit":
      return {
        ...chat,
        lastSeq,
        ...updateMessage(chat, entry.target, (m) =>
          m.deleted ? m : { ...m, text: entry.text, editedAt: entry.at },
        ),
      };
    case "delete":
      return {
        ...chat,
        lastSeq,
        ...updateMessage(chat, entry.target, (m) => ({ ...m, text: null, deleted: true, reactions: {} })),
      };
    case "reaction":
      return {
        ...chat,
        lastSeq,
        ...updateMessage(chat, entry.target, (m) => toggleReaction(m, entry.emoji, entry.by, entry.on)),
      };
    case "closed":
      return { ...chat, lastSeq, open: false };
    case "member": {
      const memberIds =
        entry.change === "joined"
          ? [...new Set([...chat.memberIds, entry.userId])]
          : entry.change === "role"
            ? chat.memberIds
            : chat.memberIds.filter((id) => id !== entry.userId);
      return { ...chat, lastSeq, memberIds };
    }
  }
}

/** Merges a history page (messages as they read now) into the loaded ones. */
export function mergeHistory(chat: ChatState, page: readonly MessageView[], more: boolean): ChatState {
  const bySeqMap = new Map(chat.messages.map((m) => [m.seq, m]));
  // Live entries already applied are at least as new as the page; keep them for seqs we hold.
  for (const m of page) if (!bySeqMap.has(m.seq)) bySeqMap.set(m.seq, m);
  const messages = [...bySeqMap.values()].sort(bySeq);
  const newest = messages[messages.length - 1];
  const lastMessage =
    newest && (!chat.lastMessage || chat.lastMessage.seq <= newest.seq) ? newest : chat.lastMessage;
  return { ...chat, messages, more, historyLoaded: true, lastMessage };
}

/** The other member of a direct chat. */
export function peerOf(chat: ChatState, me: string | undefined): string | undefined {
  return chat.peer ?? chat.memberIds.find((id) => id !== me);
}

/** The seq of the oldest loaded message (where the next history page ends). */
export function oldestLoadedSeq(chat: ChatState): number | undefined {
  return chat.messages[0]?.seq;
}
