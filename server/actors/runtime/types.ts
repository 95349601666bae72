import type { z } from "zod";

/**
 * The contract between pure actor logic and the runtime. An actor kind is an event-sourced state
 * machine: `decide` looks at the state and a command and answers with events (what happened) and
 * a reply; `evolve` folds events into state, both live and when replaying the journal. Neither
 * does I/O, reads the clock except `ctx.now`, or keeps hidden state, so every kind is unit-tested
 * without a server and replays to exactly the same state.
 */

/** Addresses one actor anywhere in the cluster; it lives in the room `<kind>_<id>`. */
export interface ActorRef {
  readonly kind: string;
  readonly id: string;
}

/** A command for another actor, delivered exactly once after this turn is durable (outbox). */
export interface Outgoing {
  readonly to: ActorRef;
  readonly command: unknown;
}

/** A named wake-up at a wall-clock time (ms); delivered to `onReminder`. */
export interface Reminder {
  readonly name: string;
  readonly at: number;
}

/** A fire-and-forget message on a pub/sub channel, sent after this turn is durable. */
export interface Publication {
  readonly channel: string;
  readonly message: unknown;
}

export type Decision<E, R> =
  | {
      readonly ok: true;
      readonly reply: R;
      readonly events?: readonly E[];
      readonly send?: readonly Outgoing[];
      readonly publish?: readonly Publication[];
      /** Durable reminders: set (by name, replacing) or cancel; they fire even if the actor sleeps. */
      readonly reminders?: { readonly set?: readonly Reminder[]; readonly cancel?: readonly string[] };
    }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly details?: unknown };

export interface TurnContext {
  /** Wall-clock time of this turn (ms); the only clock actor logic may read. */
  readonly now: number;
  readonly self: ActorRef;
  /** The actor that sent the command, or null for clients and REST handlers. */
  readonly from: ActorRef | null;
}

export interface ActorDefinition<S, C, E, R> {
  readonly kind: string;
  /** Validates every inbound command: callers are never trusted. */
  readonly commands: z.ZodType<C>;
  initialState(id: string): S;
  decide(state: Readonly<S>, command: C, ctx: TurnContext): Decision<E, R>;
  /** Returns the next state; must accept every event `decide` produced. */
  evolve(state: S, event: E): S;
  /** Snapshot after this many persisted turns (default 100). */
  readonly snapshotEvery?: number;
  /**
   * Whether a client may open a socket to this actor's room (`joinById`, Colyseus' `onAuth`).
   * Returns the client's auth payload, or false to refuse. Kinds without it accept no clients:
   * actors are reached through calls, and client-facing kinds opt in explicitly.
   */
  authorizeClient?(token: string | undefined, actorId: string | undefined): Promise<unknown> | unknown;
  /** Handles a due reminder (already removed from the actor's reminders when this runs). */
  onReminder?(state: Readonly<S>, name: string, ctx: TurnContext): Decision<E, R>;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds definitions of unrelated state types
export type AnyActorDefinition = ActorDefinition<any, any, any, any>;

/** What a call answers: a value, or a coded error (retryable ones may be sent again with the same key). */
export type CallResult =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly retryable: boolean;
        readonly details?: unknown;
      };
    };

/** One call as it travels between processes. */
export interface CallEnvelope {
  readonly to: ActorRef;
  /** Sender actor for outbox deliveries; null for external callers (clients, REST). */
  readonly from: ActorRef | null;
  /**
   * Idempotency key. External callers: any string, deduplicated in a bounded recent-results
   * cache. Actor senders: the outbox counter, deduplicated by a per-sender high-water mark.
   */
  readonly key: string;
  readonly command: unknown;
}
