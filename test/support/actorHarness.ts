import type {
  ActorDefinition,
  ActorRef,
  Decision,
  Outgoing,
  TurnContext,
} from "../../server/actors/runtime/types.js";

/**
 * Pure actor harness: runs commands against one actor definition the way the runtime does
 * (validate with `commands.parse`, `decide` on the current state, fold the events with `evolve`),
 * with no storage, sockets or timers. `ActorNetwork` adds the outbox between actors: every `send`
 * is queued with the sender's ref and delivered (exactly once, in order) when a test asks for it.
 */

export interface RunOptions {
  readonly now?: number;
  readonly from?: ActorRef | null;
}

export type Accepted<E, R> = Extract<Decision<E, R>, { ok: true }>;

/** Narrows a decision to the accepted case, failing the test with the refusal otherwise. */
export function accepted<E, R>(decision: Decision<E, R>): Accepted<E, R> {
  if (!decision.ok)
    throw new Error(`expected an accepted decision, got ${decision.code}: ${decision.message}`);
  return decision;
}

/** "ok" or the refusal's code: compact assertions over several decisions. */
export const codeOf = (decision: Decision<unknown, unknown>): string => (decision.ok ? "ok" : decision.code);

/** An accepted decision with nothing to record, send or publish. */
export const only = (reply: unknown) => ({ ok: true, reply });

/** The commands of `decision.send` addressed to `kind`/`id`, optionally of one command type. */
export function sentTo(
  decision: Decision<unknown, unknown>,
  to: ActorRef,
  type?: string,
): Record<string, unknown>[] {
  const sends: readonly Outgoing[] = decision.ok ? (decision.send ?? []) : [];
  return sends
    .filter((s) => s.to.kind === to.kind && s.to.id === to.id)
    .map((s) => s.command as Record<string, unknown>)
    .filter((c) => type === undefined || c.type === type);
}

export class ActorHarness<S, C, E, R> {
  state: S;
  /** Wall clock used when a run does not pass `now`. */
  now = 1_000_000;
  /** Every event folded so far, in order (the actor's journal). */
  readonly journal: E[] = [];
  readonly ref: ActorRef;

  constructor(
    readonly definition: ActorDefinition<S, C, E, R>,
    id: string,
  ) {
    this.state = definition.initialState(id);
    this.ref = { kind: definition.kind, id };
  }

  private ctx(options: RunOptions): TurnContext {
    return { now: options.now ?? this.now, self: this.ref, from: options.from ?? null };
  }

  private apply(decision: Decision<E, R>): Decision<E, R> {
    if (decision.ok) {
      for (const event of decision.events ?? []) {
        this.state = this.definition.evolve(this.state, event);
        this.journal.push(event);
      }
    }
    return decision;
  }

  run(command: unknown, options: RunOptions = {}): Decision<E, R> {
    const parsed = this.definition.commands.parse(command);
    return this.apply(this.definition.decide(this.state, parsed, this.ctx(options)));
  }

  remind(name: string, options: RunOptions = {}): Decision<E, R> {
    const onReminder = this.definition.onReminder;
    if (!onReminder) throw new Error(`${this.definition.kind} has no reminders`);
    return this.apply(onReminder.call(this.definition, this.state, name, this.ctx(options)));
  }
}

interface Runner {
  readonly ref: ActorRef;
  run(command: unknown, options?: RunOptions): Decision<unknown, unknown>;
}

export interface Message {
  readonly from: ActorRef;
  readonly to: ActorRef;
  readonly command: Record<string, unknown>;
}

export interface Delivery extends Message {
  readonly decision: Decision<unknown, unknown>;
}

const key = (ref: ActorRef) => `${ref.kind}_${ref.id}`;

/** Several actors joined by their outboxes; actors come to life on their first command. */
export class ActorNetwork {
  private readonly kinds = new Map<string, (id: string) => Runner>();
  private readonly actors = new Map<string, Runner>();
  /** Sent but not yet delivered, in send order. */
  readonly pending: Message[] = [];
  /** Everything delivered so far with the recipient's decision. */
  readonly delivered: Delivery[] = [];
  now = 1_000_000;

  register<S, C, E, R>(definition: ActorDefinition<S, C, E, R>): this {
    this.kinds.set(definition.kind, (id) => new ActorHarness(definition, id));
    return this;
  }

  actor<S, C, E, R>(definition: ActorDefinition<S, C, E, R>, id: string): ActorHarness<S, C, E, R> {
    if (!this.kinds.has(definition.kind)) this.register(definition);
    return this.runner({ kind: definition.kind, id }) as unknown as ActorHarness<S, C, E, R>;
  }

  private runner(ref: ActorRef): Runner {
    const existing = this.actors.get(key(ref));
    if (existing) return existing;
    const make = this.kinds.get(ref.kind);
    if (!make) throw new Error(`no actor kind ${ref.kind} registered`);
    const created = make(ref.id);
    this.actors.set(key(ref), created);
    return created;
  }

  private enqueue(from: ActorRef, decision: Decision<unknown, unknown>): void {
    if (!decision.ok) return;
    for (const out of decision.send ?? []) {
      this.pending.push({ from, to: out.to, command: out.command as Record<string, unknown> });
    }
  }

  /** A command from a client (no `from`); whatever the actor sends is queued. */
  run<E, R>(
    target: { readonly ref: ActorRef; run(command: unknown, options?: RunOptions): Decision<E, R> },
    command: unknown,
    now = this.now,
  ): Decision<E, R> {
    const decision = target.run(command, { now, from: null });
    this.enqueue(target.ref, decision);
    return decision;
  }

  /** Delivers the pending messages matching `which` (all by default), in order; not their replies' sends. */
  deliver(which: (m: Message) => boolean = () => true): Delivery[] {
    const batch = this.pending.filter(which);
    for (const m of batch) this.pending.splice(this.pending.indexOf(m), 1);
    const done: Delivery[] = [];
    for (const m of batch) {
      const recipient = this.runner(m.to);
      const decision = recipient.run(m.command, { now: this.now, from: m.from });
      this.enqueue(recipient.ref, decision);
      const delivery = { ...m, decision };
      this.delivered.push(delivery);
      done.push(delivery);
    }
    return done;
  }

  /** Delivers until no message is pending (what the outboxes do eventually). */
  settle(limit = 1_000): Delivery[] {
    const done: Delivery[] = [];
    for (let round = 0; this.pending.length > 0; round++) {
      if (round >= limit) throw new Error("messages keep flowing: a delivery loop?");
      done.push(...this.deliver());
    }
    return done;
  }

  /** Delivered messages of one command type (optionally to one actor kind). */
  deliveredOf(type: string, kind?: string): Delivery[] {
    return this.delivered.filter(
      (d) => d.command.type === type && (kind === undefined || d.to.kind === kind),
    );
  }
}
