import { randomBytes, randomUUID } from "node:crypto";
import { Client as ColyseusClient, type Room } from "@colyseus/sdk";
import { MessageType, PROTOCOL_VERSION, type ServerEvent } from "../../protocol/realtime.js";
import { waitFor } from "./realtimeUsers.js";
import type { ServerProcess } from "./serverProcess.js";

/**
 * Raw websocket helpers for the abuse suite: a registered user and a socket opened exactly like
 * the SDK opens it (connect route, then the seat reservation), but without the SDK's retries,
 * cid handling or reconnects, so a test can send anything and see every frame and the close code.
 */

export interface RawUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/**
 * A random documentation-range client address per call: registration counts against a per-IP
 * budget (50 per 15 min), and the server trusts `X-Forwarded-For` from loopback.
 */
export const randomIp = () => `198.51.100.${1 + ((randomBytes(1)[0] as number) % 254)}`;

/** `fetch` that never hangs a test. */
export function fetchBounded(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

export async function registerUser(baseUrl: string, name: string): Promise<RawUser> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const password = `correct horse ${randomUUID()}`;
  const res = await fetchBounded(`${baseUrl}/api/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": randomIp() },
    body: JSON.stringify({ email, password, displayName: name }),
  });
  const body = (await res.json()) as {
    data?: { user: { id: string }; accessToken: string; refreshToken: string };
  };
  if (res.status !== 201 || !body.data)
    throw new Error(`register ${name}: ${res.status} ${JSON.stringify(body)}`);
  return {
    id: body.data.user.id,
    email,
    password,
    accessToken: body.data.accessToken,
    refreshToken: body.data.refreshToken,
  };
}

/** `POST /api/v1/realtime/connect`: the status and parsed envelope, whatever they are. */
export async function connectRoute(
  baseUrl: string,
  token: string | undefined,
  body: unknown = { protocol: PROTOCOL_VERSION },
): Promise<{ status: number; body: { success: boolean; data?: unknown; error?: { code: string } } }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetchBounded(`${baseUrl}/api/v1/realtime/connect`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

/** An ack as received: `ok` with a `result`, or an `error` (kept loose: tests inspect both). */
export interface AnyAck {
  readonly cid: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { code: string; message: string; retryable?: boolean; details?: unknown };
}

/** One socket with everything the server sent on it. */
export class RawSocket {
  readonly acks: AnyAck[] = [];
  readonly errors: { error: { code: string; message: string } }[] = [];
  readonly events: ServerEvent[] = [];
  /** Frames of other types (there should be none). */
  readonly other: { type: string | number; payload: unknown }[] = [];
  closeCode: number | undefined;
  private readonly closed: Promise<number>;
  private counter = 0;

  constructor(readonly room: Room) {
    room.reconnection.enabled = false;
    room.onMessage(MessageType.ACK, (ack: AnyAck) => this.acks.push(ack));
    room.onMessage(MessageType.ERROR, (e: { error: { code: string; message: string } }) =>
      this.errors.push(e),
    );
    room.onMessage(MessageType.EVENT, (e: ServerEvent) => this.events.push(e));
    room.onMessage("*", (type: string | number, payload: unknown) => {
      if (type !== MessageType.ACK && type !== MessageType.ERROR && type !== MessageType.EVENT)
        this.other.push({ type, payload });
    });
    this.closed = new Promise((resolve) => {
      const done = (code: number) => {
        this.closeCode ??= code;
        resolve(this.closeCode);
      };
      room.onLeave((code: number) => done(code));
      room.onError((code: number) => {
        if (!room.connection.isOpen) done(code);
      });
    });
  }

  get isOpen(): boolean {
    return this.closeCode === undefined && this.room.connection.isOpen;
  }

  newCid(): string {
    return `c${Date.now().toString(36)}-${(this.counter++).toString(36)}`;
  }

  /** A Colyseus message of any type with any (msgpack-encodable) payload. */
  send(type: string | number, payload?: unknown): void {
    this.room.send(type as never, payload);
  }

  /** Bytes straight onto the websocket, without any Colyseus framing. */
  sendRaw(bytes: Uint8Array): void {
    this.room.connection.send(bytes);
  }

  acksFor(cid: string): AnyAck[] {
    return this.acks.filter((a) => a.cid === cid);
  }

  /** Sends a command frame and waits for its ack (rejects on close or timeout). */
  async command(type: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<AnyAck> {
    const cid = this.newCid();
    this.send(MessageType.COMMAND, { cid, type, ...fields });
    return this.ackOf(cid, timeoutMs);
  }

  async ackOf(cid: string, timeoutMs = 10_000): Promise<AnyAck> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ack = this.acks.find((a) => a.cid === cid);
      if (ack) return ack;
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode}) before the ack of ${cid}`);
      if (Date.now() > deadline) throw new Error(`no ack for ${cid} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Resolves with the close code, or undefined if the socket is still open after `timeoutMs`. */
  waitClosed(timeoutMs = 5_000): Promise<number | undefined> {
    return Promise.race([this.closed, sleep(timeoutMs).then(() => this.closeCode)]);
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    await Promise.race([this.room.leave(true).catch(() => undefined), sleep(2_000)]);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Opens a socket the way the SDK does: the connect route, then the seat reservation. */
export async function openSocket(baseUrl: string, token: string): Promise<RawSocket> {
  const connected = await connectRoute(baseUrl, token);
  if (connected.status !== 200)
    throw new Error(`connect: ${connected.status} ${JSON.stringify(connected.body)}`);
  const { reservation } = connected.body.data as {
    reservation: Parameters<ColyseusClient["consumeSeatReservation"]>[0];
  };
  const room = await new ColyseusClient(baseUrl).consumeSeatReservation(reservation);
  return new RawSocket(room);
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export const until = waitFor;

/**
 * The liveness check run after every abuse case: the process has not exited, it answers
 * `/health/live`, and a brand-new user can register, open a socket and `sync`.
 */
export async function assertServerServes(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(
      `server process exited (${server.child.exitCode ?? server.child.signalCode}):\n${tail(server)}`,
    );
  }
  const live = await fetchBounded(`${server.baseUrl}/health/live`);
  if (live.status !== 200) throw new Error(`/health/live answered ${live.status}`);
  const fresh = await registerUser(server.baseUrl, "Canary");
  const socket = await openSocket(server.baseUrl, fresh.accessToken);
  try {
    const ack = await socket.command("sync", {});
    if (!ack.ok) throw new Error(`sync refused: ${JSON.stringify(ack)}`);
    const me = (ack.result as { me: { userId: string } }).me;
    if (me.userId !== fresh.id) throw new Error(`sync answered for ${me.userId}, not ${fresh.id}`);
  } finally {
    await socket.close();
  }
}

/** The last lines the server wrote (for failure messages). */
export function tail(server: ServerProcess, lines = 40): string {
  return server.output().split("\n").slice(-lines).join("\n");
}

/** Lines of the server's output that report an uncaught failure. */
export function crashLines(server: ServerProcess): string[] {
  return server
    .output()
    .split("\n")
    .filter((l) => /uncaught|unhandled rejection|FATAL|"level":60/i.test(l));
}
