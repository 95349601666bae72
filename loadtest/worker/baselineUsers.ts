import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import type { AckFrame, ClientFrame, ServerFrame } from "../baselines/protocol.js";
import { BaselineError, type ChatSetup, type VirtualUser, withTimeout } from "./virtualUser.js";

/**
 * Virtual users of the baseline servers (loadtest/baselines): one raw `ws` socket or one
 * Socket.IO socket each, speaking the JSON of baselines/protocol.ts. A "chat" is a room.
 */

const ACK_TIMEOUT_MS = 30_000;
type Status = (what: "disconnected" | "reconnected", code?: number) => void;

export class WsUser implements VirtualUser {
  private socket: WebSocket | undefined;
  private readonly acks = new Map<string, (ack: AckFrame) => void>();
  private readonly handlers: ((chatId: string, seq: number, text: string) => void)[] = [];
  private readonly statusHandlers: Status[] = [];
  private joins = 0;
  private closing = false;

  constructor(
    readonly url: string,
    readonly id: string,
  ) {}

  connect(): Promise<void> {
    const socket = new WebSocket(this.url, { perMessageDeflate: false });
    this.socket = socket;
    socket.on("message", (data) => this.onFrame(JSON.parse(data.toString()) as ServerFrame));
    socket.on("close", (code) => {
      if (this.closing) return;
      for (const h of this.statusHandlers) h("disconnected", code);
      for (const [id, resolve] of this.acks) resolve({ type: "ack", id, error: "CLOSED" });
    });
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", (err) => reject(new BaselineError("NETWORK", err.message)));
      }),
      ACK_TIMEOUT_MS,
      "ws connect",
    );
  }

  async join(room: string): Promise<void> {
    await this.request({ type: "join", room, id: `${this.id}.j${this.joins++}` });
  }

  async send(chatId: string, text: string): Promise<number> {
    const ack = await this.request({ type: "send", room: chatId, text, id: idOf(text), t: Date.now() });
    return ack.seq as number;
  }

  onMessage(handler: (chatId: string, seq: number, text: string) => void): void {
    this.handlers.push(handler);
  }

  onStatus(handler: Status): void {
    this.statusHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closing = true;
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await withTimeout(
      new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000);
      }),
      5_000,
      "ws close",
    ).catch(() => socket.terminate());
  }

  private request(frame: ClientFrame): Promise<AckFrame> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN)
      return Promise.reject(new BaselineError("CLOSED", "socket is not open"));
    const answer = new Promise<AckFrame>((resolve) => this.acks.set(frame.id, resolve));
    socket.send(JSON.stringify(frame));
    return withTimeout(answer, ACK_TIMEOUT_MS, frame.type)
      .finally(() => this.acks.delete(frame.id))
      .then((ack) => {
        if (ack.error) throw new BaselineError(ack.error === "CLOSED" ? "CLOSED" : "REFUSED", ack.error);
        return ack;
      });
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === "ack") this.acks.get(frame.id)?.(frame);
    else for (const h of this.handlers) h(frame.room, frame.seq, frame.text);
  }
}

export class SocketIoUser implements VirtualUser {
  private socket: Socket | undefined;
  private readonly handlers: ((chatId: string, seq: number, text: string) => void)[] = [];
  private readonly statusHandlers: Status[] = [];
  private closing = false;

  constructor(
    readonly url: string,
    readonly id: string,
  ) {}

  connect(): Promise<void> {
    const socket = io(this.url, { transports: ["websocket"], reconnection: false, forceNew: true });
    this.socket = socket;
    socket.on("msg", (m: { room: string; seq: number; text: string }) => {
      for (const h of this.handlers) h(m.room, m.seq, m.text);
    });
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => {
          socket.on("disconnect", (reason) => {
            if (!this.closing) for (const h of this.statusHandlers) h("disconnected", reasonCode(reason));
          });
          resolve();
        });
        socket.once("connect_error", (err) => reject(new BaselineError("NETWORK", err.message)));
      }),
      ACK_TIMEOUT_MS,
      "socket.io connect",
    );
  }

  async join(room: string): Promise<void> {
    await this.emit("join", { room, id: `${this.id}.j` });
  }

  async send(chatId: string, text: string): Promise<number> {
    return (await this.emit("send", { room: chatId, text, id: idOf(text), t: Date.now() })).seq as number;
  }

  onMessage(handler: (chatId: string, seq: number, text: string) => void): void {
    this.handlers.push(handler);
  }

  onStatus(handler: Status): void {
    this.statusHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.socket?.disconnect();
  }

  private async emit(event: string, payload: object): Promise<{ seq?: number }> {
    const socket = this.socket;
    if (!socket?.connected) throw new BaselineError("CLOSED", "socket is not connected");
    let answer: { seq?: number; error?: string };
    try {
      answer = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch (err) {
      throw new BaselineError("TIMEOUT", (err as Error).message);
    }
    if (answer.error) throw new BaselineError("REFUSED", answer.error);
    return answer;
  }
}

/** Socket.IO gives reasons, not codes: a stable number per reason for the error counts. */
const reasonCode = (reason: string): number =>
  ({ "io server disconnect": 4001, "ping timeout": 4002, "transport close": 1006, "transport error": 1011 })[
    reason
  ] ?? 1000;

const idOf = (text: string) => text.split(" ", 1)[0] as string;

/** Baseline chats are rooms: every member joins the room named after the chat. */
export const roomSetup: ChatSetup = async (members, name) => {
  await Promise.all(members.map((m) => (m as WsUser | SocketIoUser).join(name)));
  return name;
};
