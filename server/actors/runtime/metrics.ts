import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Runtime metrics: activations, calls, turns, journal appends, conflicts. */
export interface ActorRuntimeMetrics {
  readonly activations: Counter<"kind">;
  readonly deactivations: Counter<"kind">;
  readonly placements: Counter;
  readonly conflicts: Counter;
  readonly activationDuration: Histogram;
  readonly callDuration: Histogram<"remote">;
  readonly turnDuration: Histogram<"kind">;
  readonly appendBatch: Histogram;
  readonly appendDuration: Histogram;
}

const LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Clients connected to the given rooms (the sockets of a node: every client-facing room is an actor's). */
export function countSockets(rooms: Iterable<{ readonly clients: { readonly length: number } }>): number {
  let sockets = 0;
  for (const room of rooms) sockets += room.clients.length;
  return sockets;
}

/**
 * `activeByKind` and `sockets` are read at scrape time. Without `sockets` (runtimes that host no
 * client-facing rooms) the `lovecraft_sockets` gauge is not registered.
 */
export function createActorMetrics(
  registry: Registry,
  activeByKind: () => Map<string, number>,
  sockets?: () => number,
): ActorRuntimeMetrics {
  const registers = [registry];
  if (sockets) {
    new Gauge({
      name: "lovecraft_sockets",
      help: "Client websockets connected to this node (clients of its local rooms)",
      registers,
      collect() {
        this.set(sockets());
      },
    });
  }
  new Gauge({
    name: "lovecraft_actors_active",
    help: "Activated actors on this node, by kind",
    labelNames: ["kind"],
    registers,
    collect() {
      for (const [kind, n] of activeByKind()) this.set({ kind }, n);
    },
  });
  return {
    activations: new Counter({
      name: "lovecraft_actor_activations_total",
      help: "Actor activations",
      labelNames: ["kind"],
      registers,
    }),
    deactivations: new Counter({
      name: "lovecraft_actor_deactivations_total",
      help: "Actor deactivations",
      labelNames: ["kind"],
      registers,
    }),
    placements: new Counter({
      name: "lovecraft_actor_placements_total",
      help: "Actor rooms created on first use",
      registers,
    }),
    conflicts: new Counter({
      name: "lovecraft_actor_conflicts_total",
      help: "Activations stopped because a newer one claimed the actor (or storage broke)",
      registers,
    }),
    activationDuration: new Histogram({
      name: "lovecraft_actor_activation_seconds",
      help: "Time to activate an actor (lease, snapshot, log replay)",
      buckets: LATENCY,
      registers,
    }),
    callDuration: new Histogram({
      name: "lovecraft_actor_call_seconds",
      help: "Actor call latency, local or cross-node",
      labelNames: ["remote"],
      buckets: LATENCY,
      registers,
    }),
    turnDuration: new Histogram({
      name: "lovecraft_actor_turn_seconds",
      help: "Time from receiving a call to its durable answer",
      labelNames: ["kind"],
      buckets: LATENCY,
      registers,
    }),
    appendBatch: new Histogram({
      name: "lovecraft_journal_append_batch_size",
      help: "Events per journal transaction (group commit)",
      buckets: [1, 2, 4, 8, 16, 32, 64, 99],
      registers,
    }),
    appendDuration: new Histogram({
      name: "lovecraft_journal_append_seconds",
      help: "Journal transaction latency",
      buckets: LATENCY,
      registers,
    }),
  };
}
