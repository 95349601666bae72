import type { Session } from "../../client/index.js";
import type { LedgerResult } from "../lib/ledger.js";
import type { IntervalDelta } from "../lib/metrics.js";
import type { LoadTestOptions } from "../lib/options.js";

/** Messages between the main thread and each worker thread (structured-cloned). */

export interface TargetInfo {
  readonly kind: "lovecraft" | "ws" | "socketio";
  readonly url: string;
  /** The target answers the `/bench/*` routes (loadtest/bench/benchNode.ts). */
  readonly bench: boolean;
  /** Where those routes are, when not at `url` (a balancer in front of bench nodes). */
  readonly benchUrl?: string;
}

/** Where a target's `/bench/*` routes are. */
export const benchUrlOf = (target: TargetInfo): string => target.benchUrl ?? target.url;

/** One ack (no `to`) or one delivery of a chat message, with `collectSamples`. */
export interface ChatSample {
  readonly chatId: string;
  /** The sender's user id. */
  readonly from: string;
  /** The receiving member's user id (deliveries only). */
  readonly to?: string;
  /** send → ack, or send → delivered, ms. */
  readonly ms: number;
  /** When it was sent (`Date.now()`, ms). */
  readonly at: number;
}

export interface ChatSamples {
  readonly acks: ChatSample[];
  readonly deliveries: ChatSample[];
}

export interface Credentials {
  readonly email: string;
  readonly password: string;
}

/** Everything one worker needs; chats never span workers, so each keeps its own ledger. */
export interface WorkerInit {
  readonly worker: number;
  readonly options: LoadTestOptions;
  readonly target: TargetInfo;
  /** Every message id of the run starts with it. */
  readonly runTag: string;
  /** This worker's users: sessions for Lovecraft, bare ids for baselines. */
  readonly sessions: readonly Session[];
  readonly userIds: readonly string[];
  /** This worker's chats: each a list of indexes into its users. */
  readonly units: readonly (readonly number[])[];
  /** This worker's share of the connect rate, of the login rate, and of the history check. */
  readonly connectRate: number;
  readonly loginRate: number;
  readonly historyChats: number;
  /** login-storm: the pre-registered accounts. */
  readonly credentials: readonly Credentials[];
}

export type ToWorker = { readonly type: "start"; readonly at: number } | { readonly type: "abort" };

export interface WorkerReady {
  readonly connected: number;
  readonly chats: number;
  readonly droppedChats: number;
  /** From this worker's first connect to its last successful one. */
  readonly connectMs: number;
}

export type FromWorker =
  | { readonly type: "tick"; readonly delta: IntervalDelta }
  | ({ readonly type: "ready" } & WorkerReady)
  | { readonly type: "log"; readonly line: string }
  | {
      readonly type: "done";
      readonly ledger: LedgerResult;
      readonly delta: IntervalDelta;
      readonly samples?: ChatSamples;
    }
  | { readonly type: "fatal"; readonly message: string };

/** The half of a MessagePort / worker a side talks through (worker thread or in-process). */
export interface Channel<In, Out> {
  postMessage(message: Out): void;
  on(event: "message", listener: (message: In) => void): unknown;
}
