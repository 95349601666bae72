import type { ChatEntry } from "../protocol/realtime.js";

/** Entries held per chat while waiting for a gap to fill; beyond it, the fill brings them. */
const MAX_HELD = 1000;

/**
 * Per-chat delivery order on the client: every entry is handed to the app exactly once and in
 * `seq` order, however it arrived (live event, catch-up after reconnect, or both). An entry past
 * a gap is held back until the gap is filled (`gapAfter` tells the caller what to fetch).
 */
export class ChatCursors {
  private readonly last = new Map<string, number>();
  private readonly held = new Map<string, Map<number, ChatEntry>>();

  constructor(initial: Record<string, number> = {}) {
    for (const [chatId, seq] of Object.entries(initial)) this.last.set(chatId, seq);
  }

  /** Last delivered seq of each chat (what a reconnect sends as `sync.chats`). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.last);
  }

  lastSeq(chatId: string): number | undefined {
    return this.last.get(chatId);
  }

  /**
   * Starts a chat this device did not know at `seq` (its join, or where a catch-up begins) and
   * returns what was held for it meanwhile and is now deliverable. No-op for a known chat.
   */
  start(chatId: string, seq: number): ChatEntry[] {
    if (this.last.has(chatId)) return [];
    this.last.set(chatId, seq);
    return this.drain(chatId);
  }

  /** After a resync (history past retention): continue from `seq`, never moving backwards. */
  reset(chatId: string, seq: number): void {
    if ((this.last.get(chatId) ?? -1) >= seq) return;
    this.last.set(chatId, seq);
    this.held.delete(chatId);
  }

  forget(chatId: string): void {
    this.last.delete(chatId);
    this.held.delete(chatId);
  }

  /**
   * Takes one entry; returns the entries now deliverable in order (possibly none: a duplicate,
   * or held behind a gap) and, when there is a gap, the seq after which entries are missing.
   */
  accept(chatId: string, entry: ChatEntry): { deliver: ChatEntry[]; gapAfter?: number } {
    const last = this.last.get(chatId);
    if (last === undefined) {
      // A chat this device does not know yet: hold it until `start` says where the chat begins.
      this.hold(chatId, entry);
      return { deliver: [] };
    }
    if (entry.seq <= last) return { deliver: [] };
    if (entry.seq === last + 1) {
      this.last.set(chatId, entry.seq);
      return { deliver: [entry, ...this.drain(chatId)] };
    }
    this.hold(chatId, entry);
    return { deliver: [], gapAfter: last };
  }

  /** Whether entries are held for a chat behind a gap (a fill is still needed). */
  hasGap(chatId: string): boolean {
    return (this.held.get(chatId)?.size ?? 0) > 0;
  }

  private hold(chatId: string, entry: ChatEntry): void {
    let held = this.held.get(chatId);
    if (!held) {
      held = new Map();
      this.held.set(chatId, held);
    }
    if (held.size < MAX_HELD) held.set(entry.seq, entry);
  }

  private drain(chatId: string): ChatEntry[] {
    const held = this.held.get(chatId);
    const out: ChatEntry[] = [];
    if (!held) return out;
    let next = (this.last.get(chatId) ?? 0) + 1;
    for (let entry = held.get(next); entry; entry = held.get(next)) {
      out.push(entry);
      held.delete(next);
      this.last.set(chatId, next);
      next++;
    }
    for (const seq of held.keys()) if (seq < next) held.delete(seq);
    if (held.size === 0) this.held.delete(chatId);
    return out;
  }
}
