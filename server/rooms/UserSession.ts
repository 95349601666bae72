import type { Presence } from "@colyseus/core";
import { CloseCode, type PresenceInfo, type ServerEvent } from "../../protocol/realtime.js";
import { chatChannel, eventChannel, presenceChannel, userChannel } from "../actors/channels.js";
import { meOf, type UserState } from "../actors/user/userState.js";

/** Redis hash (or local map) of each user's last published presence. */
const PRESENCE_HASH = "lovecraft:presence";

export interface SessionPorts {
  readonly userId: string;
  readonly presence: Presence;
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
  private readonly unread = new Map<string, number>();
  private closed = false;

  constructor(private readonly ports: SessionPorts) {}

  async open(): Promise<void> {
    await this.sync();
    await this.announce(true);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.announce(false).catch(() => undefined);
    for (const [channel, listener] of this.listeners) this.ports.presence.unsubscribe(channel, listener);
    this.listeners.clear();
  }

  /** Unread counts from a `sync`, the baseline the live events then adjust. */
  setUnread(counts: Iterable<[string, number]>): void {
    for (const [chatId, n] of counts) this.unread.set(chatId, n);
  }

  totalUnread(): number {
    let total = 0;
    for (const n of this.unread.values()) total += n;
    return total;
  }

  /** Last published presence of users this user may see (matches, chat partners). */
  async presenceOf(userIds: readonly string[]): Promise<PresenceInfo[]> {
    const values = await Promise.all(userIds.map((id) => this.ports.presence.hget(PRESENCE_HASH, id)));
    return values.flatMap((raw, i) => {
      if (!raw) return [];
      const { online, lastSeen } = JSON.parse(raw) as { online: boolean; lastSeen?: number };
      return [{ userId: userIds[i] as string, online, ...(lastSeen !== undefined ? { lastSeen } : {}) }];
    });
  }

  /** Users whose presence this user follows: matches and direct-chat peers. */
  partners(): string[] {
    const state = this.ports.state();
    const ids = new Set(Object.keys(state.matches));
    for (const chat of Object.values(state.chats)) if (chat.peer) ids.add(chat.peer);
    return [...ids];
  }

  /** Brings the subscriptions in line with the actor's state. */
  async sync(): Promise<void> {
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
        this.ports.presence.unsubscribe(channel, listener);
        this.listeners.delete(channel);
        if (channel.startsWith("chat:")) this.unread.delete(channel.slice("chat:".length));
      }
    }
    const added = [...wanted].filter(([channel]) => !this.listeners.has(channel));
    for (const [channel, listener] of added) {
      this.listeners.set(channel, listener);
      // A chat joined while online starts with nothing unread; a `sync` sets the real baseline.
      if (channel.startsWith("chat:"))
        this.unread.set(channel.slice("chat:".length), this.unread.get(channel.slice("chat:".length)) ?? 0);
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
    void this.sync();
  }

  private onChatMessage(chatId: string, message: unknown): void {
    const m = message as ServerEvent;
    const self = this.ports.userId;
    if (m.type === "chat") {
      this.ports.broadcast(m);
      if (m.entry.kind !== "message") return;
      const count = this.unread.get(chatId);
      if (m.entry.by === self) this.setUnreadOf(chatId, 0);
      else if (count !== undefined) this.setUnreadOf(chatId, count + 1);
    } else if (m.type === "read") {
      const { unread, ...forOthers } = m as typeof m & { unread?: number };
      this.ports.broadcast(forOthers);
      if (m.userId === self && unread !== undefined) this.setUnreadOf(chatId, unread);
    } else if (m.type === "typing") {
      if (m.userId !== self) this.ports.broadcast(m);
    }
  }

  private setUnreadOf(chatId: string, unread: number): void {
    if (this.unread.get(chatId) === unread) return;
    this.unread.set(chatId, unread);
    this.ports.broadcast({ type: "unread", chatId, unread, total: this.totalUnread() });
  }

  /** Publishes this user's presence as their privacy settings allow. */
  private async announce(online: boolean): Promise<void> {
    const { privacy, id } = this.ports.state();
    const info: PresenceInfo = {
      userId: id,
      online: online && privacy.showOnline,
      ...(privacy.showLastSeen ? { lastSeen: Date.now() } : {}),
    };
    await this.ports.presence.hset(PRESENCE_HASH, id, JSON.stringify(info));
    await this.ports.presence.publish(presenceChannel(id), { type: "presence", ...info });
  }
}
