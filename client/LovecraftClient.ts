import { Client as ColyseusClient, type Room } from "@colyseus/sdk";
import type { ErrorBody } from "../protocol/errors.js";
import {
  type Ack,
  type CatchUp,
  type ChatEntry,
  CloseCode,
  type CommandInput,
  type CommandResults,
  type CommandType,
  MessageType,
  PROTOCOL_VERSION,
  type ServerEvent,
} from "../protocol/realtime.js";
import { ChatCursors } from "./ChatCursors.js";

/**
 * The Lovecraft client SDK: REST login/refresh, one websocket to the user's own room, typed
 * commands whose promises resolve with the ack (sent after the effect is durable), typed events,
 * automatic reconnect with catch-up by `seq`, and an outbox that re-sends unacknowledged commands
 * with the same `cid` after a reconnect (the server answers a re-sent `cid` with the first
 * result, never a second effect).
 */

export interface Session {
  readonly user: { id: string; email: string; displayName: string };
  readonly accessToken: string;
  readonly refreshToken: string;
}

export type Status = "offline" | "connecting" | "online" | "closed";

/** A coded failure (REST or socket), as the server sent it. */
export class LovecraftError extends Error {
  override readonly name = "LovecraftError";
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /**
   * The `cid` of the command this error answers. After a retryable failure the command may still
   * land (its turn was queued); pass it back as `send(…, { cid })` to retry without doubling it.
   */
  cid?: string;
}

/** Events the SDK emits: the server's, plus `resync` (history past retention) and `status`. */
export type ClientEvents = {
  [K in ServerEvent["type"]]: Extract<ServerEvent, { type: K }>;
} & {
  resync: { chatId: string; lastSeq: number };
  status: { status: Status; code?: number };
  /** A frame the server refused without a command id (`err`): shown, not thrown. */
  error: { error: ErrorBody };
};

export interface ClientOptions {
  /** Base URL of the server or load balancer, e.g. `http://localhost:2567`. */
  readonly url: string;
  /** Last delivered seq per chat from a previous run (catch-up starts there). */
  readonly lastSeqs?: Record<string, number>;
  /** How many times a retryable error is retried (same cid) before the promise rejects. */
  readonly retries?: number;
  /** How long a command may wait for its ack, across reconnects (ms). */
  readonly commandTimeoutMs?: number;
}

interface Pending {
  readonly cid: string;
  readonly frame: Record<string, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: LovecraftError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  attempts: number;
}

type Handler<T> = (event: T) => void;
const RETRYABLE_CLOSE = (code: number) => code !== CloseCode.REVOKED && code !== CloseCode.PROTOCOL_MISMATCH;
/** Below the server's 64 KiB frame limit (msgpack is no larger than this JSON estimate). */
const MAX_COMMAND_BYTES = 60 * 1024;
/** After an ABUSE close, wait this long before reconnecting. */
const ABUSE_PAUSE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cidCounter = 0;
const newCid = () =>
  `${Date.now().toString(36)}-${(cidCounter++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

export class LovecraftClient {
  private session: Session | undefined;
  private room: Room | undefined;
  private readonly colyseus: ColyseusClient;
  private readonly handlers = new Map<string, Set<Handler<never>>>();
  private readonly pending = new Map<string, Pending>();
  private readonly cursors: ChatCursors;
  private status: Status = "offline";
  private closedByUser = false;
  private reconnecting: Promise<void> | undefined;
  private filling = new Set<string>();

  constructor(private readonly options: ClientOptions) {
    this.colyseus = new ColyseusClient(options.url);
    this.cursors = new ChatCursors(options.lastSeqs);
  }

  get user(): Session["user"] | undefined {
    return this.session?.user;
  }

  get currentStatus(): Status {
    return this.status;
  }

  /** Last delivered seq per chat (persist it to resume catch-up after an app restart). */
  lastSeqs(): Record<string, number> {
    return this.cursors.snapshot();
  }

  // --- REST ---------------------------------------------------------------------------------

  async register(input: { email: string; password: string; displayName: string }): Promise<Session> {
    this.session = await this.rest<Session>("POST", "/auth/register", input);
    return this.session;
  }

  async login(input: { email: string; password: string }): Promise<Session> {
    this.session = await this.rest<Session>("POST", "/auth/login", input);
    return this.session;
  }

  /** Uses a session from storage (tokens from an earlier login). */
  useSession(session: Session): void {
    this.session = session;
  }

  async refresh(): Promise<Session> {
    const current = this.requireSession();
    const next = await this.rest<Omit<Session, "user">>("POST", "/auth/refresh", {
      refreshToken: current.refreshToken,
    });
    this.session = { ...current, ...next };
    return this.session;
  }

  /** Any REST call under `/api/v1` with the session's token; throws `LovecraftError` on failure. */
  async rest<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.session) headers.authorization = `Bearer ${this.session.accessToken}`;
    const response = await fetch(`${this.options.url}/api/v1${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const envelope = (await response.json().catch(() => ({}))) as {
      success?: boolean;
      data?: T;
      error?: ErrorBody;
    };
    if (envelope.success) return envelope.data as T;
    const error = envelope.error ?? { code: "INTERNAL", message: `HTTP ${response.status}` };
    throw new LovecraftError(error.code, error.message, error.retryable ?? false, error.details);
  }

  // --- realtime -----------------------------------------------------------------------------

  /** Opens the socket and catches up; resolves once online and synced. */
  async connect(): Promise<CommandResults["sync"]> {
    this.closedByUser = false;
    await this.open();
    return this.sync();
  }

  /**
   * Sends one command; resolves with its result once the server acknowledged it (durably).
   * `options.cid` re-sends a command that failed with a retryable error (`error.cid`): the server
   * answers a known `cid` with its first answer instead of applying it again.
   */
  send<T extends CommandType>(
    type: T,
    input: Omit<CommandInput<T>, "type">,
    options: { cid?: string } = {},
  ): Promise<CommandResults[T]> {
    const cid = options.cid ?? newCid();
    if (this.pending.has(cid)) {
      return Promise.reject(new LovecraftError("BAD_REQUEST", `command ${cid} is already pending`));
    }
    const frame = { ...input, type, cid };
    if (JSON.stringify(frame).length > MAX_COMMAND_BYTES) {
      // The server would close the socket on it, and a re-send after reconnecting would again.
      return Promise.reject(new LovecraftError("PAYLOAD_TOO_LARGE", "command too large to send"));
    }
    if (this.status === "closed") return Promise.reject(new LovecraftError("CLOSED", "client is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(cid, new LovecraftError("TIMEOUT", `no ack for ${type} in time`, true)),
        this.options.commandTimeoutMs ?? 30_000,
      );
      this.pending.set(cid, {
        cid,
        frame,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
        attempts: 0,
      });
      this.transmit(cid);
    });
  }

  on<K extends keyof ClientEvents>(type: K, handler: Handler<ClientEvents[K]>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  /** Leaves for good: no reconnect; pending commands are rejected. */
  async close(): Promise<void> {
    this.closedByUser = true;
    const room = this.room;
    this.room = undefined;
    await room?.leave(true).catch(() => undefined);
    for (const p of [...this.pending.values()])
      this.settle(p.cid, new LovecraftError("CLOSED", "client closed"));
    this.setStatus("closed");
  }

  /** Logs out (revoking the session server-side, which closes its sockets) and closes. */
  async logout(): Promise<void> {
    const session = this.requireSession();
    await this.rest("POST", "/auth/logout", { refreshToken: session.refreshToken });
    await this.close();
  }

  /** Drops the socket without telling the server (tests and "airplane mode"). */
  dropConnection(): void {
    (this.room as unknown as { connection?: { close(): void } })?.connection?.close();
  }

  private async open(): Promise<void> {
    const previous = this.room;
    this.room = undefined;
    await previous?.leave(true).catch(() => undefined);
    this.setStatus("connecting");
    let data: { reservation: Parameters<ColyseusClient["consumeSeatReservation"]>[0] };
    try {
      data = await this.rest("POST", "/realtime/connect", { protocol: PROTOCOL_VERSION });
    } catch (err) {
      if (!(err instanceof LovecraftError) || err.code !== "UNAUTHORIZED" || !this.session) throw err;
      await this.refresh();
      data = await this.rest("POST", "/realtime/connect", { protocol: PROTOCOL_VERSION });
    }
    const room = await this.colyseus.consumeSeatReservation(data.reservation);
    room.reconnection.enabled = false; // the SDK reconnects itself: through the connect route
    if (this.closedByUser) {
      await room.leave(true).catch(() => undefined); // closed while this socket was opening
      return;
    }
    this.room = room;
    room.onMessage(MessageType.ACK, (ack: Ack) => this.onAck(ack));
    room.onMessage(MessageType.EVENT, (event: ServerEvent) => this.onEvent(event));
    room.onMessage(MessageType.ERROR, (frame: { error: ErrorBody }) => this.emit("error", frame));
    room.onLeave((code: number) => this.onClosed(room, code));
    this.setStatus("online");
    for (const cid of this.pending.keys()) this.transmit(cid);
  }

  private async sync(): Promise<CommandResults["sync"]> {
    const result = await this.send("sync", { chats: this.cursors.snapshot() });
    for (const chat of result.chats) {
      if (chat.catchUp) this.applyCatchUp(chat.catchUp, chat.lastSeq);
      else this.start(chat.chatId, chat.lastSeq);
    }
    return result;
  }

  private applyCatchUp(catchUp: CatchUp, lastSeq?: number): void {
    const chatId = catchUp.chatId;
    if ("resync" in catchUp) {
      this.cursors.reset(chatId, catchUp.lastSeq);
      this.emit("resync", { chatId, lastSeq: catchUp.lastSeq });
      return;
    }
    // A chat new to this device: the catch-up starts right after the member joined.
    const first = catchUp.entries[0];
    this.start(chatId, first ? first.seq - 1 : (lastSeq ?? 0));
    for (const entry of catchUp.entries) this.deliver(chatId, entry);
    if (catchUp.more || this.cursors.hasGap(chatId)) void this.fill(chatId);
  }

  /** Begins a chat's cursor (if new) and delivers what was held for it. */
  private start(chatId: string, seq: number): void {
    for (const e of this.cursors.start(chatId, seq))
      this.emit("chat", { type: "chat", chatId, seq: e.seq, entry: e });
  }

  private deliver(chatId: string, entry: ChatEntry, fillGaps = true): void {
    const { deliver, gapAfter } = this.cursors.accept(chatId, entry);
    for (const e of deliver) this.emit("chat", { type: "chat", chatId, seq: e.seq, entry: e });
    if (fillGaps && gapAfter !== undefined) void this.fill(chatId);
  }

  /**
   * Fetches what is missing after the last delivered seq, page by page, until no gap is left
   * (one fill per chat at a time; bounded by the chat's retained window).
   */
  private async fill(chatId: string): Promise<void> {
    if (this.filling.has(chatId)) return;
    this.filling.add(chatId);
    try {
      for (let page = 0; page < 20; page++) {
        const after = this.cursors.lastSeq(chatId);
        if (after === undefined) return;
        const catchUp = await this.send("chat.since", { chatId, after });
        if ("resync" in catchUp) {
          this.applyCatchUp(catchUp);
          return;
        }
        for (const entry of catchUp.entries) this.deliver(chatId, entry, false);
        if (!catchUp.more && !this.cursors.hasGap(chatId)) return;
        if (catchUp.entries.length === 0) return;
      }
    } catch {
      // The next reconnect's sync catches up instead.
    } finally {
      this.filling.delete(chatId);
    }
  }

  private transmit(cid: string): void {
    const pending = this.pending.get(cid);
    if (!pending || !this.room || this.status !== "online") return; // sent after reconnecting
    this.room.send(MessageType.COMMAND, pending.frame);
  }

  private onAck(ack: Ack): void {
    const pending = this.pending.get(ack.cid);
    if (!pending) return; // an ack for a command re-sent after it was already answered
    if (ack.ok) {
      this.settle(ack.cid, undefined, ack.result);
      return;
    }
    const { code, message, retryable, details } = ack.error;
    if (retryable && pending.attempts < (this.options.retries ?? 5)) {
      pending.attempts++;
      void sleep(Math.min(2_000, 100 * 2 ** pending.attempts)).then(() => this.transmit(ack.cid));
      return;
    }
    this.settle(ack.cid, new LovecraftError(code, message, retryable ?? false, details));
  }

  private settle(cid: string, error?: LovecraftError, value?: unknown): void {
    const pending = this.pending.get(cid);
    if (!pending) return;
    this.pending.delete(cid);
    clearTimeout(pending.timer);
    if (error) error.cid = cid;
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  private onEvent(event: ServerEvent): void {
    if (event.type === "chat") {
      this.deliver(event.chatId, event.entry);
      return;
    }
    if (event.type === "chat.removed") this.cursors.forget(event.chatId);
    if (event.type === "chat.added") {
      // Everything after the join is this device's, including entries published before this
      // socket listened to the chat: start at the join and fetch what is already there.
      this.start(event.chat.chatId, event.chat.fromSeq);
      void this.fill(event.chat.chatId);
    }
    this.emit(event.type, event as never);
  }

  private onClosed(room: Room, code: number): void {
    if (this.room !== room) return;
    this.room = undefined;
    if (this.closedByUser) return;
    if (!RETRYABLE_CLOSE(code)) {
      this.giveUp(code);
      return;
    }
    this.setStatus("offline", code);
    this.reconnecting ??= this.reconnect(code).finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnect(code: number): Promise<void> {
    if (code === CloseCode.TOKEN_EXPIRED) await this.refresh().catch(() => undefined);
    if (code === CloseCode.ABUSE) await sleep(ABUSE_PAUSE_MS);
    for (let attempt = 0; !this.closedByUser; attempt++) {
      // A short first pause lets a moving actor settle on its new node.
      await sleep(Math.min(5_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
      if (this.closedByUser) return;
      try {
        await this.open();
        // Not awaited: the socket is open, so this reconnect is done. If it drops again while
        // the catch-up runs, the next reconnect starts at once and re-sends the pending sync.
        this.sync().catch(() => undefined);
        return;
      } catch (err) {
        if (!(err instanceof LovecraftError)) continue; // network: try again
        if (err.code === "UNAUTHORIZED") {
          // The access token is stale; if the session itself is gone, stop for good.
          const refreshed = await this.refresh().then(
            () => true,
            () => false,
          );
          if (refreshed) continue;
        } else if (err.retryable || err.code === "INTERNAL") {
          continue;
        }
        this.giveUp(err.code === "UNAUTHORIZED" ? CloseCode.REVOKED : undefined);
        return;
      }
    }
  }

  /** Final: no reconnect; every pending command is rejected now rather than at its timeout. */
  private giveUp(code?: number): void {
    this.setStatus("closed", code);
    for (const p of [...this.pending.values()])
      this.settle(p.cid, new LovecraftError("CLOSED", "connection closed"));
  }

  private setStatus(status: Status, code?: number): void {
    this.status = status;
    this.emit("status", { status, ...(code !== undefined ? { code } : {}) });
  }

  private emit<K extends keyof ClientEvents>(type: K, event: ClientEvents[K]): void {
    for (const handler of this.handlers.get(type) ?? []) {
      try {
        (handler as Handler<ClientEvents[K]>)(event);
      } catch {
        // An app handler's bug must not break delivery to the others.
      }
    }
  }

  private requireSession(): Session {
    if (!this.session) throw new LovecraftError("UNAUTHORIZED", "log in first");
    return this.session;
  }
}
