import type { Presence } from "@colyseus/core";
import { CloseCode, type PresenceInfo, type ServerEvent } from "../../protocol/realtime.js";
import { chatChannel, eventChannel, presenceChannel, userChannel } from "../actors/channels.js";
import { meOf, type UserState } from "../actors/user/userState.js";
import type { PresenceBook } from "./PresenceBook.js";

export interface SessionPorts {
  readonly userId: string;
  readonly presence: Presence;
  /** Where presence is recorded (one per process). */
  readonly book: PresenceBook;
  /** The user actor's current state (the room hosts the actor, so this is a local read). */
  state(): UserState;
  /** Sends one event to every device of this user. */
  broadcast(event: ServerEvent): void;
  /** Closes the devices of one session family (or all) with a close code. */
  closeDevices(code: number, familyId?: string): void;
}

type Listener = (message: unknown) => void;

/**
 * The realtime side of a user while at least one device is connected: the pub/sub channels it
 * listens to (its own, its chats', its partners' presence, its events') and the unread counters
 * it keeps for the badges. Chats publish each entry once per chat; this is where it fans out to
 * the user's devices. Subscriptions follow the actor's state: after any change (`me` marker,
 * match, chat added or removed) the wanted set is recomputed and the difference (un)subscribed.
 */
export class UserSession {
  private readonly listeners = new Map<string, Listener>();
  /** Unread count per chat, and the seq it counts up to (live messages at or below are in it). */
  private readonly unread = new Map<string, { count: number; seq: number }>();
  private closed = false;

  constructor(private readonly ports: SessionPorts) {}

  async open(): Promise<void> {
    await this.sync();
    await this.announce();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.announce().catch(() => undefined);
    for (const [channel, listener] of this.listeners) this.unsubscribe(channel, listener);
    this.listeners.clear();
  }

  /** Unread counts from a `sync` (count, up to seq): the baseline live messages then add to. */
  setUnread(counts: Iterable<[string, number, number]>): void {
    for (const [chatId, count, seq] of counts) {
      const current = this.unread.get(chatId);
      // A live message may have been counted while the baseline was on its way: keep the newer.
      if (!current || seq >= current.seq) this.unread.set(chatId, { count, seq });
    }
  }

  totalUnread(): number {
    let total = 0;
    for (const { count } of this.unread.values()) total += count;
    return total;
  }

  /** Last published presence of users this user may see (matches, chat partners). */
  presenceOf(userIds: readonly string[]): Promise<PresenceInfo[]> {
    return this.ports.book.read(userIds);
  }

  /** Users whose presence this user follows: matches and direct-chat peers. */
  partners(): string[] {
    const state = this.ports.state();
    const ids = new Set(Object.keys(state.matches));
    for (const chat of Object.values(state.chats)) if (chat.peer) ids.add(chat.peer);
    return [...ids];
  }

  /** Brings the subscriptions in line with the actor's state (never throws: logged by presence). */
  async sync(): Promise<void> {
    try {
      await this.resubscribe();
    } catch {
      // Redis unavailable: the next state change or reconnect subscribes again.
    }
  }

  private unsubscribe(channel: string, listener: Listener): void {
    Promise.resolve()
      .then(() => this.ports.presence.unsubscribe(channel, listener))
      .catch(() => undefined);
  }

  private async resubscribe(): Promise<void> {
    if (this.closed) return;
    const state = this.ports.state();
    const wanted = new Map<string, Listener>();
    const keep = (channel: string, make: () => Listener) =>
      wanted.set(channel, this.listeners.get(channel) ?? make());
    keep(userChannel(state.id), () => (m) => this.onUserMessage(m));
    for (const chatId of Object.keys(state.chats)) {
      keep(chatChannel(chatId), () => (m) => this.onChatMessage(chatId, m));
    }
    for (const peer of this.partners()) {
      keep(presenceChannel(peer), () => (m) => this.ports.broadcast(m as ServerEvent));
    }
    for (const eventId of Object.keys(state.events)) {
      keep(eventChannel(eventId), () => (m) => this.ports.broadcast(m as ServerEvent));
    }
    for (const [channel, listener] of this.listeners) {
      if (!wanted.has(channel)) {
        this.unsubscribe(channel, listener);
        this.listeners.delete(channel);
        if (channel.startsWith("chat:")) this.unread.delete(channel.slice("chat:".length));
      }
    }
    const added = [...wanted].filter(([channel]) => !this.listeners.has(channel));
    for (const [channel, listener] of added) {
      this.listeners.set(channel, listener);
      // A chat joined while online starts with nothing unread; a `sync` sets the real baseline.
      const chatId = channel.startsWith("chat:") ? channel.slice("chat:".length) : undefined;
      if (chatId !== undefined && !this.unread.has(chatId)) {
        this.unread.set(chatId, { count: 0, seq: this.ports.state().chats[chatId]?.fromSeq ?? 0 });
      }
    }
    await Promise.all(added.map(([channel, listener]) => this.ports.presence.subscribe(channel, listener)));
  }

  private onUserMessage(message: unknown): void {
    const m = message as { type: string; familyId?: string };
    if (m.type === "revoked") {
      this.ports.closeDevices(CloseCode.REVOKED, m.familyId);
      return;
    }
    if (m.type === "me") this.ports.broadcast({ type: "me", me: meOf(this.ports.state()) });
    else this.ports.broadcast(message as ServerEvent);
    // A new notification changes no chat, match or event: nothing to (un)subscribe. It comes
    // with nearly every message a user receives, and recomputing the wanted channels each time
    // was ≈3 KiB of garbage per direct message (allocation profile).
    if (m.type !== "notification") void this.sync();
    if (m.type === "match") void this.tellPresenceOf((message as { userId: string }).userId);
  }

  private onChatMessage(chatId: string, message: unknown): void {
    const m = message as ServerEvent;
    const self = this.ports.userId;
    if (m.type === "chat") {
      this.ports.broadcast(m);
      if (m.entry.kind !== "message") return;
      const current = this.unread.get(chatId);
      if (!current || m.seq <= current.seq) return; // already in the baseline
      this.setUnreadOf(chatId, m.entry.by === self ? 0 : current.count + 1, m.seq);
    } else if (m.type === "read") {
      const { unread, ...forOthers } = m as typeof m & { unread?: number };
      this.ports.broadcast(forOthers);
      const current = this.unread.get(chatId);
      if (m.userId === self && unread !== undefined && current) this.setUnreadOf(chatId, unread, current.seq);
    } else if (m.type === "typing") {
      if (m.userId !== self) this.ports.broadcast(m);
    }
  }

  private setUnreadOf(chatId: string, unread: number, seq: number): void {
    const changed = this.unread.get(chatId)?.count !== unread;
    this.unread.set(chatId, { count: unread, seq });
    if (changed) this.ports.broadcast({ type: "unread", chatId, unread, total: this.totalUnread() });
  }

  /** A new match: tell the devices whether the partner is online now. */
  private async tellPresenceOf(userId: string): Promise<void> {
    const [info] = await this.presenceOf([userId]).catch(() => []);
    if (info) this.ports.broadcast({ type: "presence", ...info });
  }

  /**
   * Publishes this user's presence as their privacy settings allow: online while the session is
   * open. Called on open and close, and after a privacy change.
   */
  async announce(): Promise<void> {
    const { privacy, id } = this.ports.state();
    const info: PresenceInfo = {
      userId: id,
      online: !this.closed && privacy.showOnline,
      ...(privacy.showLastSeen ? { lastSeen: Date.now() } : {}),
    };
    await this.ports.book.announce(info);
  }
}
