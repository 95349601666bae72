import type { ChatEntry, ChatSummary, MessageView, Role } from "../../../protocol/realtime.js";

/**
 * The state of one chat and how journal events change it. JSON only (the runtime snapshots it
 * with `JSON.stringify`); updated in place by `evolve`, which the runtime allows because it owns
 * the state exclusively.
 */

/** Entries kept in the actor (and its snapshot); older ones answer `resync`/truncated history. */
export const RETAINED_ENTRIES = 1000;
export const MAX_GROUP_MEMBERS = 50;

export interface Member {
  role: Role;
  joinedAt: number;
  /** Highest seq this member has read; only moves forward. */
  readSeq: number;
  /** Messages by others after `readSeq` (within the retained window). */
  unread: number;
  /** Seq of the last "new messages" notification sent to this member. */
  notifiedSeq: number;
  /** The chat's seq when this member (last) joined: what came before is not theirs to read. */
  fromSeq?: number;
}

export interface ChatState {
  id: string;
  kind: "direct" | "group" | null;
  title: string;
  open: boolean;
  createdAt: number;
  members: Record<string, Member>;
  lastSeq: number;
  /** The retained entries, ascending by seq, gap-free. */
  entries: ChatEntry[];
  /** Retained messages as they read now, by seq. */
  messages: Record<string, MessageView>;
}

/** An entry as `decide` proposes it: `evolve` gives it the next seq. */
export type NewEntry = ChatEntry extends infer E ? (E extends ChatEntry ? Omit<E, "seq"> : never) : never;

export type ChatEvent =
  | {
      type: "opened";
      kind: "direct" | "group";
      title: string;
      members: Record<string, Role>;
      at: number;
    }
  | { type: "appended"; entry: NewEntry }
  | { type: "read"; userId: string; seq: number }
  /** The user's account was erased: their entries stay, attributed to nobody. */
  | { type: "forgotten"; userId: string };

/** Who erased users' messages are attributed to. */
export const ERASED_USER = "deleted-user";

export function initialChatState(id: string): ChatState {
  return {
    id,
    kind: null,
    title: "",
    open: false,
    createdAt: 0,
    members: {},
    lastSeq: 0,
    entries: [],
    messages: {},
  };
}

export const isMember = (state: Readonly<ChatState>, userId: string): boolean =>
  Object.hasOwn(state.members, userId);

/**
 * A member by user id. `hasOwn` first: ids like "constructor" are valid, and a plain index would
 * find `Object.prototype`'s function instead of "no such member".
 */
export const memberOf = (state: Readonly<ChatState>, userId: string): Member | undefined =>
  Object.hasOwn(state.members, userId) ? state.members[userId] : undefined;

/** The first retained seq (lastSeq + 1 when nothing is retained). */
export const oldestSeq = (state: Readonly<ChatState>): number => state.entries[0]?.seq ?? state.lastSeq + 1;

/**
 * Who gets a "new messages" notification for a message: members other than the author with no
 * notification pending since they last read. One per member per read cycle, however many
 * messages arrive while they are away.
 */
export function membersToNotify(state: Readonly<ChatState>, author: string): string[] {
  return Object.entries(state.members)
    .filter(([id, m]) => id !== author && m.notifiedSeq <= m.readSeq)
    .map(([id]) => id);
}

export function unreadAfter(state: Readonly<ChatState>, userId: string, readSeq: number): number {
  let unread = 0;
  for (let i = state.entries.length - 1; i >= 0; i--) {
    const entry = state.entries[i] as ChatEntry;
    if (entry.seq <= readSeq) break;
    if (entry.kind === "message" && entry.by !== userId) unread++;
  }
  return unread;
}

function applyEntry(state: ChatState, entry: ChatEntry): void {
  switch (entry.kind) {
    case "message": {
      state.messages[entry.seq] = {
        seq: entry.seq,
        at: entry.at,
        by: entry.by,
        text: entry.text,
        ...(entry.photoId !== undefined ? { photoId: entry.photoId } : {}),
        ...(entry.replyTo !== undefined ? { replyTo: entry.replyTo } : {}),
        reactions: {},
      };
      for (const [id, member] of Object.entries(state.members)) {
        if (id === entry.by) continue;
        member.unread++;
        if (member.notifiedSeq <= member.readSeq) member.notifiedSeq = entry.seq;
      }
      const author = memberOf(state, entry.by);
      // Writing is reading: the author has seen everything up to their own message.
      if (author) Object.assign(author, { readSeq: entry.seq, unread: 0, notifiedSeq: entry.seq });
      return;
    }
    case "edit": {
      const message = state.messages[entry.target];
      if (message) state.messages[entry.target] = { ...message, text: entry.text, editedAt: entry.at };
      return;
    }
    case "delete": {
      const message = state.messages[entry.target];
      if (!message) return;
      const { photoId: _p, editedAt: _e, ...rest } = message;
      state.messages[entry.target] = { ...rest, text: null, deleted: true, reactions: {} };
      return;
    }
    case "reaction": {
      const message = state.messages[entry.target];
      if (!message) return;
      // A new view object, never a mutation: replies already handed out must not change later.
      const reactions = { ...message.reactions };
      const who = (Object.hasOwn(reactions, entry.emoji) ? (reactions[entry.emoji] ?? []) : []).filter(
        (u) => u !== entry.by,
      );
      if (entry.on) who.push(entry.by);
      if (who.length > 0) setOwn(reactions, entry.emoji, who);
      else delete reactions[entry.emoji];
      state.messages[entry.target] = { ...message, reactions };
      return;
    }
    case "member":
      if (entry.change === "joined") {
        state.members[entry.userId] = {
          role: entry.role ?? "member",
          joinedAt: entry.at,
          readSeq: entry.seq,
          unread: 0,
          notifiedSeq: entry.seq,
          fromSeq: entry.seq - 1,
        };
      } else if (entry.change === "role") {
        const member = memberOf(state, entry.userId);
        if (member && entry.role) member.role = entry.role;
      } else {
        delete state.members[entry.userId];
      }
      return;
    case "closed":
      state.open = false;
      return;
  }
}

/** Sets an own property even for keys like "__proto__" (a plain assignment would set the prototype). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function evolveChat(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case "opened":
      state.kind = event.kind;
      state.title = event.title;
      state.open = true;
      if (state.createdAt === 0) state.createdAt = event.at;
      for (const [userId, role] of Object.entries(event.members)) {
        const existing = memberOf(state, userId);
        if (existing) existing.role = role;
        else {
          const at = state.lastSeq;
          state.members[userId] = {
            role,
            joinedAt: event.at,
            readSeq: at,
            unread: 0,
            notifiedSeq: at,
            fromSeq: at,
          };
        }
      }
      return state;
    case "appended": {
      const entry = { ...event.entry, seq: state.lastSeq + 1 } as ChatEntry;
      state.lastSeq = entry.seq;
      state.entries.push(entry);
      applyEntry(state, entry);
      while (state.entries.length > RETAINED_ENTRIES) {
        const dropped = state.entries.shift() as ChatEntry;
        delete state.messages[dropped.seq];
      }
      return state;
    }
    case "forgotten": {
      const gone = event.userId;
      state.entries = state.entries.map((e) => {
        const named = e.kind === "member" && e.userId === gone ? { ...e, userId: ERASED_USER } : e;
        return named.by === gone ? { ...named, by: ERASED_USER } : named;
      });
      for (const [seq, message] of Object.entries(state.messages)) {
        const reactions: Record<string, string[]> = {};
        for (const [emoji, who] of Object.entries(message.reactions)) {
          const kept = who.filter((u) => u !== gone);
          if (kept.length > 0) setOwn(reactions, emoji, kept);
        }
        state.messages[seq] = { ...message, by: message.by === gone ? ERASED_USER : message.by, reactions };
      }
      delete state.members[gone];
      return state;
    }
    case "read": {
      const member = memberOf(state, event.userId);
      if (member && event.seq > member.readSeq) {
        member.readSeq = event.seq;
        member.unread = unreadAfter(state, event.userId, event.seq);
      }
      return state;
    }
  }
}

export function summaryFor(state: Readonly<ChatState>, userId: string): ChatSummary {
  let lastMessage: MessageView | null = null;
  for (let i = state.entries.length - 1; i >= 0 && lastMessage === null; i--) {
    const entry = state.entries[i] as ChatEntry;
    if (entry.kind === "message") lastMessage = state.messages[entry.seq] ?? null;
  }
  return {
    chatId: state.id,
    kind: state.kind ?? "direct",
    title: state.title,
    open: state.open,
    lastSeq: state.lastSeq,
    members: Object.entries(state.members).map(([id, m]) => ({
      userId: id,
      role: m.role,
      readSeq: m.readSeq,
    })),
    unread: memberOf(state, userId)?.unread ?? 0,
    lastMessage,
  };
}
