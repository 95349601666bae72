import { type ClientEvents, LovecraftClient, LovecraftError, type Session } from "../../client/index.js";
import type { ChatMembership } from "../../protocol/realtime.js";
import { type ChatSetup, pool, sleep, type VirtualUser, withTimeout } from "./virtualUser.js";

/**
 * A virtual Lovecraft user: one SDK client with a pre-made session, plus the chats it knows
 * (from `sync` and `chat.added`) so chat setup can wait for a chat to reach every member.
 */

const CHAT_WAIT_MS = 30_000;
/** Events counted by type in the report (chat entries are the ledger's). */
const COUNTED: readonly (keyof ClientEvents)[] = [
  "read",
  "typing",
  "unread",
  "presence",
  "match",
  "unmatched",
  "chat.added",
  "chat.removed",
  "notification",
  "me",
  "event",
  "resync",
  "error",
];

export class LovecraftUser implements VirtualUser {
  readonly client: LovecraftClient;
  readonly chats = new Map<string, ChatMembership>();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly url: string,
    readonly session: Session,
  ) {
    this.client = new LovecraftClient({ url, retries: 10, commandTimeoutMs: 30_000 });
    this.client.useSession(session);
    this.client.on("chat.added", (e) => this.know(e.chat));
  }

  get id(): string {
    return this.session.user.id;
  }

  async connect(): Promise<void> {
    const synced = await this.client.connect();
    for (const chat of synced.me.chats) this.know(chat);
  }

  async send(chatId: string, text: string): Promise<number> {
    return (await this.client.send("chat.send", { chatId, text })).seq;
  }

  onMessage(handler: (chatId: string, seq: number, text: string) => void): void {
    this.client.on("chat", (e) => {
      if (e.entry.kind === "message") handler(e.chatId, e.seq, e.entry.text);
    });
  }

  onStatus(handler: (what: "disconnected" | "reconnected", code?: number) => void): void {
    let wasOffline = false;
    this.client.on("status", (e) => {
      if (e.status === "offline" || (e.status === "closed" && e.code !== undefined)) {
        wasOffline = true;
        handler("disconnected", e.code);
      } else if (e.status === "online" && wasOffline) {
        wasOffline = false;
        handler("reconnected");
      }
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** Calls `count(type)` for every server event other than chat entries. */
  countEvents(count: (type: string) => void): void {
    for (const type of COUNTED) this.client.on(type, () => count(type));
  }

  /** Resolves with the first chat `match` accepts, known now or added later (bounded wait). */
  waitForChat(match: (chat: ChatMembership) => boolean, what: string): Promise<ChatMembership> {
    const found = () => [...this.chats.values()].find(match);
    const now = found();
    if (now) return Promise.resolve(now);
    let check: () => void = () => undefined;
    const added = new Promise<ChatMembership>((resolve) => {
      check = () => {
        const chat = found();
        if (chat) resolve(chat);
      };
      this.waiters.add(check);
    });
    return withTimeout(added, CHAT_WAIT_MS, what).finally(() => this.waiters.delete(check));
  }

  private know(chat: ChatMembership): void {
    this.chats.set(chat.chatId, chat);
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** How two users become matches: the bench node's route, or two likes through the SDK. */
export type Matcher = (a: LovecraftUser, b: LovecraftUser) => Promise<void>;

export function benchMatcher(url: string): Matcher {
  return async (a, b) => {
    const res = await fetch(`${url}/bench/match`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: a.id, b: b.id }),
    });
    await res.body?.cancel();
    if (!res.ok) throw new LovecraftError("INTERNAL", `/bench/match answered ${res.status}`);
  };
}

export const likeMatcher: Matcher = async (a, b) => {
  await a.client.send("like", { userId: b.id });
  await b.client.send("like", { userId: a.id });
};

const directWith = (peer: string) => (c: ChatMembership) => c.kind === "direct" && c.peer === peer;

/** Matches the two users; resolves with their direct chat once both know it. */
async function direct(match: Matcher, a: LovecraftUser, b: LovecraftUser): Promise<string> {
  await match(a, b);
  const [chat] = await Promise.all([
    a.waitForChat(directWith(b.id), `direct chat of ${a.id} with ${b.id}`),
    b.waitForChat(directWith(a.id), `direct chat of ${b.id} with ${a.id}`),
  ]);
  return chat.chatId;
}

/**
 * Chat setup for Lovecraft: two members get their direct chat; more get a group created by the
 * first member, after it was matched with each of the others (groups take matches only).
 */
export function lovecraftChatSetup(match: Matcher, likesPaced: boolean): ChatSetup {
  return async (members, name) => {
    const users = members as readonly LovecraftUser[];
    const [creator, ...others] = users;
    if (!creator || others.length === 0) throw new Error("a chat needs two members");
    if (others.length === 1) return direct(match, creator, others[0] as LovecraftUser);
    // Likes go through the creator's socket: pace them under its command rate limit.
    await pool(others.length, likesPaced ? 1 : 8, async (i) => {
      await direct(match, creator, others[i] as LovecraftUser);
      if (likesPaced) await sleep(100);
    });
    const { chatId } = await creator.client.send("group.create", {
      title: name.slice(0, 100),
      members: others.map((u) => u.id),
    });
    await Promise.all(
      users.map((u) => u.waitForChat((c) => c.chatId === chatId, `group ${chatId} at ${u.id}`)),
    );
    return chatId;
  };
}
