import type { ChatEntry } from "../protocol/realtime.js";

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

  /** Starts (or restarts, after a resync) a chat at `seq`, dropping anything held. */
  reset(chatId: string, seq: number): void {
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
      // First sight of a chat this device never synced: start here.
      this.last.set(chatId, entry.seq);
      return { deliver: [entry, ...this.drain(chatId)] };
    }
    if (entry.seq <= last) return { deliver: [] };
    if (entry.seq === last + 1) {
      this.last.set(chatId, entry.seq);
      return { deliver: [entry, ...this.drain(chatId)] };
    }
    let held = this.held.get(chatId);
    if (!held) {
      held = new Map();
      this.held.set(chatId, held);
    }
    held.set(entry.seq, entry);
    return { deliver: [], gapAfter: last };
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
