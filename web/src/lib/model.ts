import { applyEntry, type ChatState, emptyChat, peerOf, withMembership, withSummary } from "./chatModel";
import { codeOf, describeClose, describeError } from "./errors";
import { navigate } from "./router";
import {
  type ClientEvents,
  type CommandResults,
  type Me,
  type PresenceInfo,
  type Session,
  type Status,
  withNotification,
} from "./sdk";
import { forgetSession, savedLastSeqs, savedSession, saveLastSeqs, WebClient } from "./session";
import { Store } from "./store";

export interface Notice {
  readonly id: number;
  readonly text: string;
  readonly tone: "error" | "info";
}

/** The match moment: shown once when a like became mutual. */
export interface MatchMoment {
  readonly userId: string;
  readonly chatId?: string;
}

export interface Attendance {
  readonly attendees: number;
  readonly capacity: number;
  readonly remaining: number;
  readonly registered?: boolean;
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export type Phase = "signed-out" | "connecting" | "ready" | "failed";

export interface AppState {
  readonly phase: Phase;
  readonly user: Session["user"] | undefined;
  readonly status: Status;
  /** What the browser says about the network (navigator.onLine). */
  readonly deviceOnline: boolean;
  readonly closeCode: number | undefined;
  /** Set when the socket came back after a drop (the SDK caught up); cleared after a moment. */
  readonly caughtUp: boolean;
  readonly me: Me | undefined;
  readonly chats: Readonly<Record<string, ChatState>>;
  readonly presence: Readonly<Record<string, PresenceInfo>>;
  readonly names: Readonly<Record<string, string>>;
  readonly match: MatchMoment | undefined;
  readonly notices: readonly Notice[];
  readonly attendance: Readonly<Record<string, Attendance>>;
  readonly activeChat: string | undefined;
  /** serverTime − local time at the last sync (typing deadlines are server times). */
  readonly clockOffset: number;
}

const initialState: AppState = {
  phase: "signed-out",
  user: undefined,
  status: "offline",
  deviceOnline: true,
  closeCode: undefined,
  caughtUp: false,
  me: undefined,
  chats: {},
  presence: {},
  names: {},
  match: undefined,
  notices: [],
  attendance: {},
  activeChat: undefined,
  clockOffset: 0,
};

const MAX_NOTICES = 4;

/**
 * The app's state and its link to the server: one SDK client per signed-in session, its events
 * folded into one store, and every failure turned into a visible notice.
 */
export class AppModel {
  readonly store = new Store<AppState>(initialState);
  private current: WebClient | undefined;
  private unsubscribe: (() => void)[] = [];
  private connectedOnce = false;
  private nameRequests = new Set<string>();
  private noticeId = 0;
  private seqTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    // Browsers keep a dead socket open for a long time after the network goes: drop it now, so
    // the banner tells the truth and the SDK starts reconnecting (it catches up once back).
    window.addEventListener("offline", () => {
      this.store.update({ deviceOnline: false });
      this.current?.dropConnection();
    });
    window.addEventListener("online", () => {
      this.store.update({ deviceOnline: true });
      if (this.state.phase === "failed") void this.retry();
    });
    window.addEventListener("pagehide", () => this.saveSeqs());
  }

  get state(): AppState {
    return this.store.get();
  }

  get userId(): string | undefined {
    return this.state.user?.id;
  }

  /** The signed-in client; throws when signed out (callers run only inside the app). */
  get client(): WebClient {
    if (!this.current) throw new Error("not signed in");
    return this.current;
  }

  /** A client for public REST reads, signed in or not. */
  get reader(): WebClient {
    return this.current ?? new WebClient(location.origin);
  }

  // --- session ----------------------------------------------------------------------------

  /** Resumes a stored session, if any. */
  async start(): Promise<void> {
    const session = savedSession();
    if (!session) return;
    const client = new WebClient(location.origin, savedLastSeqs(session.user.id));
    client.useSession(session);
    await this.begin(client, session.user);
  }

  async register(input: { email: string; password: string; displayName: string }): Promise<void> {
    const client = new WebClient(location.origin);
    const session = await client.register(input);
    await this.begin(client, session.user);
  }

  async login(input: { email: string; password: string }): Promise<void> {
    const session = await new WebClient(location.origin).login(input);
    // Resume catch-up from the cursors of this user's last visit on this browser, if any.
    const client = new WebClient(location.origin, savedLastSeqs(session.user.id));
    client.useSession(session);
    await this.begin(client, session.user);
  }

  async logout(): Promise<void> {
    const client = this.current;
    const userId = this.userId;
    this.end();
    forgetSession(userId);
    this.store.update({ ...initialState });
    navigate("/", true);
    await client?.logout().catch((err: unknown) => this.notify(`Signing out: ${describeError(err)}`));
  }

  /** Retries the first connection after it failed. */
  async retry(): Promise<void> {
    const client = this.current;
    if (client && this.state.user) await this.connect(client);
  }

  private async begin(client: WebClient, user: Session["user"]): Promise<void> {
    this.end();
    this.current = client;
    this.store.update({ ...initialState, user, phase: "connecting", deviceOnline: navigator.onLine });
    this.wire(client);
    await this.connect(client);
  }

  private async connect(client: WebClient): Promise<void> {
    this.store.update({ phase: "connecting" });
    try {
      const result = await client.connect();
      if (client !== this.current) return;
      this.connectedOnce = true;
      this.applySync(result);
      this.store.update({ phase: "ready" });
    } catch (err) {
      if (client !== this.current) return;
      if (codeOf(err) === "UNAUTHORIZED") {
        // Even a refresh was refused: the session is gone (signed out elsewhere, expired).
        const userId = this.userId;
        this.end();
        forgetSession(userId);
        this.store.update({ ...initialState });
        this.notify(`Please sign in again — ${describeError(err)}`);
        return;
      }
      this.store.update({ phase: "failed" });
      this.notify(`Could not connect — ${describeError(err)}`);
    }
  }

  private end(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.saveSeqs();
    const client = this.current;
    this.current = undefined;
    this.connectedOnce = false;
    this.nameRequests.clear();
    void client?.close();
  }

  // --- events -----------------------------------------------------------------------------

  private wire(client: WebClient): void {
    const on = <K extends keyof ClientEvents>(type: K, handler: (event: ClientEvents[K]) => void) =>
      this.unsubscribe.push(client.on(type, handler));
    on("status", (e) => this.onStatus(e.status, e.code));
    on("error", (e) => this.notify(`The server refused a message — ${e.error.code}: ${e.error.message}`));
    on("me", (e) => this.store.update({ me: e.me }));
    on("notification", (e) => {
      const me = this.state.me;
      if (me) this.store.update({ me: withNotification(me, e.notification) });
    });
    on("chat", (e) => {
      this.updateChat(e.chatId, (chat) => applyEntry(chat, e.entry));
      if (e.entry.by !== this.userId) this.readSoon(e.chatId);
      this.saveSeqsSoon();
    });
    on("read", (e) =>
      this.updateChat(e.chatId, (chat) => ({
        ...chat,
        readSeqs: { ...chat.readSeqs, [e.userId]: Math.max(chat.readSeqs[e.userId] ?? 0, e.seq) },
      })),
    );
    on("typing", (e) =>
      this.updateChat(e.chatId, (chat) => ({
        ...chat,
        typing: { ...chat.typing, [e.userId]: e.until - this.state.clockOffset },
      })),
    );
    on("unread", (e) => this.updateChat(e.chatId, (chat) => ({ ...chat, unread: e.unread })));
    on("presence", (e) => this.store.update((s) => ({ presence: { ...s.presence, [e.userId]: e } })));
    on("match", (e) => this.showMatch(e.userId, e.chatId));
    on("unmatched", (e) => {
      this.ensureName(e.userId);
      this.notify(`${this.nameOf(e.userId)} and you are no longer matched.`, "info");
    });
    on("chat.added", (e) => {
      this.updateChat(e.chat.chatId, (chat) => withMembership(chat, e.chat));
      if (e.chat.peer) this.ensureName(e.chat.peer);
      void this.refreshChat(e.chat.chatId);
    });
    on("chat.removed", (e) => {
      this.store.update((s) => {
        const { [e.chatId]: _removed, ...chats } = s.chats;
        return { chats };
      });
      if (this.state.activeChat === e.chatId) navigate("/chats", true);
      this.notify(`A chat was closed for you (${e.reason}).`, "info");
    });
    on("event", (e) =>
      this.store.update((s) => ({
        attendance: {
          ...s.attendance,
          [e.eventId]: { ...s.attendance[e.eventId], ...e, registered: s.attendance[e.eventId]?.registered },
        },
      })),
    );
    on("resync", (e) => {
      // The chat moved past what this device can catch up on: reload it from history.
      this.updateChat(e.chatId, (chat) => ({ ...chat, messages: [], historyLoaded: false, more: false }));
      this.notify("A chat had more news than could be caught up; it was reloaded.", "info");
    });
  }

  private onStatus(status: Status, code: number | undefined): void {
    const was = this.state.status;
    this.store.update({ status, closeCode: code });
    if (status === "offline") this.store.update({ caughtUp: false });
    if (status === "online" && was !== "online" && this.connectedOnce) void this.afterReconnect();
    if (status === "closed" && this.current) {
      this.notify(`Disconnected — ${describeClose(code) || "the connection closed for good"}`);
      if (code === 4403) {
        const userId = this.userId;
        this.end();
        forgetSession(userId);
        this.store.update({ ...initialState });
      }
    }
  }

  /**
   * The SDK re-synced on its own and delivered every missed entry; refresh what it does not
   * hand over (unread counts, read watermarks, presence) with one more `sync` of the same cursors.
   */
  private async afterReconnect(): Promise<void> {
    const client = this.current;
    if (!client) return;
    const result = await this.run(
      "Refreshing after reconnect",
      client.send("sync", { chats: client.lastSeqs() }),
    );
    if (result && client === this.current) this.applySync(result);
    this.store.update({ caughtUp: true });
    setTimeout(() => this.store.update({ caughtUp: false }), 4_000);
  }

  private applySync(result: CommandResults["sync"]): void {
    const me = this.userId ?? result.me.userId;
    this.store.update((s) => {
      const chats = { ...s.chats };
      for (const summary of result.chats) {
        chats[summary.chatId] = withSummary(chats[summary.chatId] ?? emptyChat(summary.chatId), summary, me);
      }
      const presence = { ...s.presence };
      for (const p of result.presence) presence[p.userId] = p;
      return { me: result.me, chats, presence, clockOffset: result.serverTime - Date.now() };
    });
    for (const chat of Object.values(this.state.chats)) {
      const peer = peerOf(chat, me);
      if (peer) this.ensureName(peer);
    }
    const active = this.state.activeChat;
    if (active) this.readSoon(active);
  }

  /** Fetches a chat's summary (after it was added, or to refresh counts). */
  async refreshChat(chatId: string): Promise<void> {
    const client = this.current;
    const me = this.userId;
    if (!client || !me) return;
    const info = await this.run("Loading a chat", client.send("chat.info", { chatId }));
    if (!info) return;
    this.updateChat(chatId, (chat) => withSummary(chat, info, me));
    const peer = peerOf(this.state.chats[chatId] ?? emptyChat(chatId), me);
    if (peer) this.ensureName(peer);
  }

  // --- shared helpers ---------------------------------------------------------------------

  updateChat(chatId: string, change: (chat: ChatState) => ChatState): void {
    this.store.update((s) => ({
      chats: { ...s.chats, [chatId]: change(s.chats[chatId] ?? emptyChat(chatId)) },
    }));
  }

  /** Runs a request; a failure becomes a notice naming what failed, and resolves undefined. */
  async run<T>(what: string, work: Promise<T>): Promise<T | undefined> {
    const outcome = await this.attempt(what, work);
    return outcome.ok ? outcome.value : undefined;
  }

  /** Like `run`, but also hands the error's words to the caller (for inline form errors). */
  async attempt<T>(what: string, work: Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await work };
    } catch (err) {
      const error = describeError(err);
      this.notify(`${what} failed — ${error}`);
      return { ok: false, error };
    }
  }

  notify(text: string, tone: Notice["tone"] = "error"): void {
    if (this.state.notices.some((n) => n.text === text)) return;
    const notice = { id: ++this.noticeId, text, tone };
    this.store.update((s) => ({ notices: [...s.notices, notice].slice(-MAX_NOTICES) }));
    if (tone === "info") setTimeout(() => this.dismiss(notice.id), 6_000);
  }

  dismiss(id: number): void {
    this.store.update((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  }

  nameOf(userId: string): string {
    return this.state.names[userId] ?? "…";
  }

  rememberName(userId: string, name: string): void {
    if (this.state.names[userId] !== name)
      this.store.update((s) => ({ names: { ...s.names, [userId]: name } }));
  }

  /** Looks a user's display name up once (`profile.view`). */
  ensureName(userId: string): void {
    const client = this.current;
    if (!client || this.state.names[userId] || this.nameRequests.has(userId)) return;
    if (userId === this.userId && this.state.me) {
      this.rememberName(userId, this.state.me.profile.displayName);
      return;
    }
    this.nameRequests.add(userId);
    void client.send("profile.view", { userId }).then(
      (profile) => this.rememberName(userId, profile.displayName),
      (err: unknown) => {
        this.rememberName(userId, "Unknown user");
        this.notify(`Looking up a member's name failed — ${describeError(err)}`);
      },
    );
  }

  showMatch(userId: string, chatId?: string): void {
    this.ensureName(userId);
    const current = this.state.match;
    if (current && current.userId === userId && (current.chatId || !chatId)) return;
    this.store.update({ match: chatId ? { userId, chatId } : { userId } });
  }

  dismissMatch(): void {
    this.store.update({ match: undefined });
  }

  /** Marks the active chat read a moment after something arrived (if the page is visible). */
  readSoon(chatId: string): void {
    setTimeout(() => void this.markRead(chatId), 150);
  }

  async markRead(chatId: string): Promise<void> {
    const client = this.current;
    const me = this.userId;
    const chat = this.state.chats[chatId];
    if (!client || !me || !chat || this.state.activeChat !== chatId) return;
    if (document.visibilityState !== "visible" || this.state.status !== "online") return;
    const latest = chat.lastSeq;
    if (latest <= (chat.readSeqs[me] ?? 0)) return;
    const result = await this.run("Marking messages read", client.send("chat.read", { chatId, seq: latest }));
    if (!result) return;
    this.updateChat(chatId, (c) => ({
      ...c,
      unread: result.unread,
      readSeqs: { ...c.readSeqs, [me]: Math.max(c.readSeqs[me] ?? 0, result.readSeq) },
    }));
  }

  private saveSeqsSoon(): void {
    if (this.seqTimer) return;
    this.seqTimer = setTimeout(() => {
      this.seqTimer = undefined;
      this.saveSeqs();
    }, 1_000);
  }

  private saveSeqs(): void {
    const userId = this.userId;
    if (this.current && userId) saveLastSeqs(userId, this.current.lastSeqs());
  }
}
