import { applyEntry, mergeHistory, oldestLoadedSeq } from "./chatModel";
import { describeError } from "./errors";
import type { AppModel } from "./model";

const HISTORY_PAGE = 30;
/** Re-send `chat.typing` at most this often while the person keeps typing (it lasts 5 s). */
const TYPING_EVERY_MS = 3_000;
let pendingId = 0;

/** What the chat screens do: open, page history, send, edit, delete, react, type. */
export class ChatActions {
  private typingSent = new Map<string, number>();

  constructor(private readonly model: AppModel) {}

  async open(chatId: string): Promise<void> {
    this.model.store.update({ activeChat: chatId });
    const chat = this.model.state.chats[chatId];
    if (!chat?.historyLoaded) await this.loadHistory(chatId, false);
    void this.model.markRead(chatId);
  }

  close(chatId: string): void {
    if (this.model.state.activeChat === chatId) this.model.store.update({ activeChat: undefined });
  }

  /** The newest page (`older: false`) or the page before the oldest loaded message. */
  async loadHistory(chatId: string, older: boolean): Promise<void> {
    const chat = this.model.state.chats[chatId];
    const before = older && chat ? oldestLoadedSeq(chat) : undefined;
    const result = await this.model.run(
      older ? "Loading earlier messages" : "Loading messages",
      this.model.client.send("chat.history", {
        chatId,
        limit: HISTORY_PAGE,
        ...(before !== undefined ? { before } : {}),
      }),
    );
    if (!result) return;
    this.model.updateChat(chatId, (c) => mergeHistory(c, result.messages, result.more));
  }

  /** Sends a message; it shows as "sending" until the durable ack, or with its error. */
  async send(chatId: string, text: string): Promise<void> {
    const id = `p${++pendingId}`;
    const me = this.model.userId;
    this.model.updateChat(chatId, (c) => ({ ...c, pending: [...c.pending, { id, text }] }));
    this.typingSent.delete(chatId);
    try {
      const { seq, at } = await this.model.client.send("chat.send", { chatId, text });
      this.model.updateChat(chatId, (c) => {
        const pending = c.pending.filter((p) => p.id !== id);
        // The entry itself may not have arrived yet: show it now (applying it again is a no-op).
        return me
          ? { ...applyEntry(c, { kind: "message", seq, at, by: me, text }), pending }
          : { ...c, pending };
      });
    } catch (err) {
      const error = describeError(err);
      this.model.updateChat(chatId, (c) => ({
        ...c,
        pending: c.pending.map((p) => (p.id === id ? { ...p, error } : p)),
      }));
      this.model.notify(`Sending a message failed — ${error}`);
    }
  }

  /** Sends a failed message again (a new command: the first one was refused). */
  async resend(chatId: string, pendingMessageId: string): Promise<void> {
    const failed = this.model.state.chats[chatId]?.pending.find((p) => p.id === pendingMessageId);
    if (!failed) return;
    this.discard(chatId, pendingMessageId);
    await this.send(chatId, failed.text);
  }

  discard(chatId: string, pendingMessageId: string): void {
    this.model.updateChat(chatId, (c) => ({
      ...c,
      pending: c.pending.filter((p) => p.id !== pendingMessageId),
    }));
  }

  /** Called on each keystroke; tells the others at most every few seconds. */
  typing(chatId: string): void {
    const now = Date.now();
    if (now - (this.typingSent.get(chatId) ?? 0) < TYPING_EVERY_MS) return;
    this.typingSent.set(chatId, now);
    void this.model.run("Sending the typing indicator", this.model.client.send("chat.typing", { chatId }));
  }

  async edit(chatId: string, seq: number, text: string): Promise<boolean> {
    return (
      (await this.model.run(
        "Editing a message",
        this.model.client.send("chat.edit", { chatId, seq, text }),
      )) !== undefined
    );
  }

  async remove(chatId: string, seq: number): Promise<boolean> {
    return (
      (await this.model.run("Deleting a message", this.model.client.send("chat.delete", { chatId, seq }))) !==
      undefined
    );
  }

  async react(chatId: string, seq: number, emoji: string, on: boolean): Promise<void> {
    await this.model.run("Reacting", this.model.client.send("chat.react", { chatId, seq, emoji, on }));
  }
}
