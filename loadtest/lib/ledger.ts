/**
 * The delivery ledger: every acknowledged message must reach every other member of its chat
 * exactly once, under the seq its ack named, and be in the chat's history afterwards. Messages
 * are recognised by a unique id at the start of their text (`<id> padding…`), so a delivery is
 * matched by chat + seq + text. Pure bookkeeping: the scenarios feed it sends, acks, deliveries
 * and history pages; `result()` counts what went wrong.
 */

export type MessageState = "pending" | "acked" | "failed";

interface Entry {
  readonly chatId: string;
  readonly senderIndex: number;
  readonly sentAt: number;
  state: MessageState;
  seq?: number;
  /** The seq the first delivery carried (compared with the ack's). */
  deliveredSeq?: number;
  /** Deliveries per member of the chat (index into its member list). */
  readonly deliveries: Uint8Array;
}

interface Chat {
  readonly members: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Ids of the messages sent to it, in send order. */
  readonly messages: string[];
}

export interface LedgerResult {
  /** Messages handed to the transport. */
  readonly sent: number;
  readonly acked: number;
  /** Sends that failed (error, timeout, closed): not expected anywhere. */
  readonly failed: number;
  /** Sends with no answer when the result was taken. */
  readonly pending: number;
  /** Acked messages × other members. */
  readonly expectedDeliveries: number;
  /** Distinct (message, member) deliveries of acked messages. */
  readonly delivered: number;
  /** Expected deliveries that never came. Must be 0. */
  readonly lost: number;
  /** Deliveries beyond the first of the same message to the same member. Must be 0. */
  readonly duplicated: number;
  /** Deliveries whose seq differs from the ack's, or that arrived in another chat. Must be 0. */
  readonly mismatched: number;
  /** Deliveries of a message whose send failed or is pending (the effect happened anyway). */
  readonly unackedDelivered: number;
  /** Deliveries carrying this run's id prefix but an id never sent. */
  readonly unknown: number;
  readonly history: HistoryResult;
  /** lost, duplicated, mismatched and history.missing/duplicated all 0. */
  readonly ok: boolean;
}

export interface HistoryResult {
  readonly chatsChecked: number;
  /** Acked messages looked up in a history page. */
  readonly checked: number;
  /** Acked messages absent from the history (or under another seq). Must be 0. */
  readonly missing: number;
  /** Message ids found at more than one seq of a history. Must be 0. */
  readonly duplicated: number;
  /** Acked messages of checked chats older than the pages fetched (bounded check). */
  readonly notCovered: number;
}

/** The id a message text starts with (up to the first space). */
export const idOfText = (text: string): string => {
  const space = text.indexOf(" ");
  return space < 0 ? text : text.slice(0, space);
};

export class Ledger {
  private readonly chats = new Map<string, Chat>();
  private readonly entries = new Map<string, Entry>();
  private unknown = 0;
  private unexpectedChat = 0;
  private readonly historyCounts = { chatsChecked: 0, checked: 0, missing: 0, duplicated: 0, notCovered: 0 };

  /** @param idPrefix ids this run makes start with it; other texts (other runs) are ignored. */
  constructor(private readonly idPrefix: string) {}

  addChat(chatId: string, members: readonly string[]): void {
    this.chats.set(chatId, { members, index: new Map(members.map((m, i) => [m, i])), messages: [] });
  }

  chatIds(): string[] {
    return [...this.chats.keys()];
  }

  /** Records a send; call before handing the message to the transport. */
  sent(id: string, chatId: string, sender: string, sentAt: number): void {
    const chat = this.chats.get(chatId);
    if (!chat) throw new Error(`ledger: unknown chat ${chatId}`);
    const senderIndex = chat.index.get(sender) ?? -1;
    this.entries.set(id, {
      chatId,
      senderIndex,
      sentAt,
      state: "pending",
      deliveries: new Uint8Array(chat.members.length),
    });
    chat.messages.push(id);
  }

  /** Returns the send time, for the ack latency. */
  acked(id: string, seq: number): number | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.state = "acked";
    entry.seq = seq;
    return entry.sentAt;
  }

  failed(id: string): void {
    const entry = this.entries.get(id);
    if (entry && entry.state === "pending") entry.state = "failed";
  }

  /**
   * Records one delivery to `receiver`; returns the message's send time when this is its first
   * delivery to that member (for the end-to-end latency), undefined otherwise.
   */
  delivered(chatId: string, receiver: string, seq: number, text: string): number | undefined {
    const id = idOfText(text);
    if (!id.startsWith(this.idPrefix)) return undefined;
    const entry = this.entries.get(id);
    if (!entry) {
      this.unknown++;
      return undefined;
    }
    const chat = this.chats.get(entry.chatId) as Chat;
    const member = chat.index.get(receiver);
    if (entry.chatId !== chatId || member === undefined) {
      this.unexpectedChat++;
      return undefined;
    }
    if (member === entry.senderIndex) return undefined; // the sender's own copy
    if (entry.deliveredSeq === undefined) entry.deliveredSeq = seq;
    else if (entry.deliveredSeq !== seq) this.unexpectedChat++;
    const before = entry.deliveries[member] as number;
    entry.deliveries[member] = Math.min(255, before + 1);
    return before === 0 ? entry.sentAt : undefined;
  }

  /** The user id of the sender of the message `text` carries (for per-message samples). */
  senderOf(text: string): string | undefined {
    const entry = this.entries.get(idOfText(text));
    return entry && this.chats.get(entry.chatId)?.members[entry.senderIndex];
  }

  /** Deliveries still expected: pending sends, and acked messages some member has not received. */
  outstanding(): number {
    let n = 0;
    for (const entry of this.entries.values()) {
      if (entry.state === "pending") n++;
      else if (entry.state === "acked") n += this.missingOf(entry);
    }
    return n;
  }

  /** The lowest acked seq of a chat (where a history check must reach back to). */
  oldestAckedSeq(chatId: string): number | undefined {
    let oldest: number | undefined;
    for (const id of this.chats.get(chatId)?.messages ?? []) {
      const seq = this.entries.get(id)?.seq;
      if (seq !== undefined && (oldest === undefined || seq < oldest)) oldest = seq;
    }
    return oldest;
  }

  /**
   * Checks a chat's history (`seq` → text, from the newest back to `coveredFrom`): each acked
   * message of the chat at or after `coveredFrom` must be there under its seq, and no id twice.
   */
  checkHistory(
    chatId: string,
    history: readonly { seq: number; text: string | null }[],
    coveredFrom: number,
  ) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const seqsById = new Map<string, number[]>();
    for (const m of history) {
      if (m.text === null) continue;
      const id = idOfText(m.text);
      if (!id.startsWith(this.idPrefix)) continue;
      seqsById.set(id, [...(seqsById.get(id) ?? []), m.seq]);
    }
    const h = this.historyCounts;
    h.chatsChecked++;
    for (const seqs of seqsById.values()) if (seqs.length > 1) h.duplicated += seqs.length - 1;
    for (const id of chat.messages) {
      const entry = this.entries.get(id) as Entry;
      if (entry.state !== "acked" || entry.seq === undefined) continue;
      if (entry.seq < coveredFrom) {
        h.notCovered++;
        continue;
      }
      h.checked++;
      if (!seqsById.get(id)?.includes(entry.seq)) h.missing++;
    }
  }

  result(): LedgerResult {
    const r = {
      sent: this.entries.size,
      acked: 0,
      failed: 0,
      pending: 0,
      expectedDeliveries: 0,
      delivered: 0,
      lost: 0,
      duplicated: 0,
      mismatched: this.unexpectedChat,
      unackedDelivered: 0,
      unknown: this.unknown,
    };
    for (const entry of this.entries.values()) {
      const others = entry.deliveries.length - (entry.senderIndex >= 0 ? 1 : 0);
      let got = 0;
      for (let m = 0; m < entry.deliveries.length; m++) {
        const n = entry.deliveries[m] as number;
        if (m === entry.senderIndex || n === 0) continue;
        got++;
        r.duplicated += n - 1;
      }
      if (entry.state !== "acked") {
        r[entry.state]++;
        r.unackedDelivered += got;
        continue;
      }
      r.acked++;
      r.expectedDeliveries += others;
      r.delivered += got;
      r.lost += others - got;
      if (entry.deliveredSeq !== undefined && entry.deliveredSeq !== entry.seq) r.mismatched++;
    }
    const history = { ...this.historyCounts };
    const ok =
      r.lost === 0 &&
      r.duplicated === 0 &&
      r.mismatched === 0 &&
      history.missing === 0 &&
      history.duplicated === 0;
    return { ...r, history, ok };
  }

  private missingOf(entry: Entry): number {
    let missing = 0;
    for (let m = 0; m < entry.deliveries.length; m++)
      if (m !== entry.senderIndex && entry.deliveries[m] === 0) missing++;
    return missing;
  }
}

/** Sums ledger results of several workers (chats never span workers). */
export function mergeLedgerResults(results: readonly LedgerResult[]): LedgerResult {
  const sum = (pick: (r: LedgerResult) => number) => results.reduce((s, r) => s + pick(r), 0);
  const history: HistoryResult = {
    chatsChecked: sum((r) => r.history.chatsChecked),
    checked: sum((r) => r.history.checked),
    missing: sum((r) => r.history.missing),
    duplicated: sum((r) => r.history.duplicated),
    notCovered: sum((r) => r.history.notCovered),
  };
  return {
    sent: sum((r) => r.sent),
    acked: sum((r) => r.acked),
    failed: sum((r) => r.failed),
    pending: sum((r) => r.pending),
    expectedDeliveries: sum((r) => r.expectedDeliveries),
    delivered: sum((r) => r.delivered),
    lost: sum((r) => r.lost),
    duplicated: sum((r) => r.duplicated),
    mismatched: sum((r) => r.mismatched),
    unackedDelivered: sum((r) => r.unackedDelivered),
    unknown: sum((r) => r.unknown),
    history,
    ok: results.every((r) => r.ok),
  };
}
