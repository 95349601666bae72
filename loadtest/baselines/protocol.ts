/**
 * The baselines' wire format: the least a room broadcast needs, as JSON. A client joins rooms
 * and sends `{ room, text, id, t }`; the server numbers each room's messages (`seq`), broadcasts
 * them to the room's other members and acknowledges the sender, so the load generator measures
 * the same ack and delivery latencies, and keeps the same ledger, as against Lovecraft.
 * Raw `ws` carries these objects as JSON text frames with a `type`; Socket.IO carries the same
 * objects as the payload of events of that name, and answers through Socket.IO acks.
 */

export interface JoinFrame {
  readonly type: "join";
  readonly room: string;
  /** Echoed in the ack. */
  readonly id: string;
}

export interface SendFrame {
  readonly type: "send";
  readonly room: string;
  readonly text: string;
  readonly id: string;
  /** Sender's clock when sent (informational: latencies are measured by the sender's process). */
  readonly t: number;
}

export type ClientFrame = JoinFrame | SendFrame;

export interface AckFrame {
  readonly type: "ack";
  readonly id: string;
  /** The message's number in its room (absent for a join). */
  readonly seq?: number;
  readonly error?: string;
}

export interface MessageFrame {
  readonly type: "msg";
  readonly room: string;
  readonly text: string;
  readonly id: string;
  readonly t: number;
  readonly seq: number;
}

export type ServerFrame = AckFrame | MessageFrame;

/** Room names and message ids: short, printable; anything else is refused. */
export const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
export const MAX_FRAME_BYTES = 64 * 1024;

/** Per-room message counters (the baselines' only state besides membership). */
export class RoomSeqs {
  private readonly seqs = new Map<string, number>();

  next(room: string): number {
    const seq = (this.seqs.get(room) ?? 0) + 1;
    this.seqs.set(room, seq);
    return seq;
  }

  forget(room: string): void {
    this.seqs.delete(room);
  }
}

/** Validates a parsed client frame; returns it typed, or undefined. */
export function parseClientFrame(value: unknown): ClientFrame | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const f = value as Record<string, unknown>;
  if (typeof f.room !== "string" || !NAME.test(f.room) || typeof f.id !== "string" || !NAME.test(f.id))
    return undefined;
  if (f.type === "join") return { type: "join", room: f.room, id: f.id };
  if (f.type === "send" && typeof f.text === "string" && typeof f.t === "number")
    return { type: "send", room: f.room, text: f.text, id: f.id, t: f.t };
  return undefined;
}
