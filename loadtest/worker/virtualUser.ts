import { LovecraftError } from "../../client/index.js";

/**
 * What the chat scenarios (dm, group) need of a user, whatever the server: Lovecraft through
 * its SDK, or a baseline through raw `ws` or Socket.IO. One instance is one socket.
 */
export interface VirtualUser {
  readonly id: string;
  /** Opens the socket (and, for Lovecraft, syncs). */
  connect(): Promise<void>;
  /** Sends one chat message; resolves with its seq once the server acknowledged it. */
  send(chatId: string, text: string): Promise<number>;
  /** Every chat message this user receives (its own included: the ledger ignores those). */
  onMessage(handler: (chatId: string, seq: number, text: string) => void): void;
  /** Disconnects/reconnects seen (for the error counts). */
  onStatus(handler: (what: "disconnected" | "reconnected", code?: number) => void): void;
  close(): Promise<void>;
}

/** Sets up one chat among users that are all connected; resolves with the chat's id. */
export type ChatSetup = (members: readonly VirtualUser[], name: string) => Promise<string>;

/** The code an error is counted under: the server's code, or the kind of local failure. */
export function codeOf(err: unknown): string {
  if (err instanceof LovecraftError) return err.code;
  if (err instanceof BaselineError) return err.code;
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return "NETWORK";
  if (err instanceof Error) return err.name === "Error" ? "ERROR" : err.name;
  return "UNKNOWN";
}

export class BaselineError extends Error {
  override readonly name = "BaselineError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Rejects with a TIMEOUT error when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BaselineError("TIMEOUT", `${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `count` tasks with at most `concurrency` in flight. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
