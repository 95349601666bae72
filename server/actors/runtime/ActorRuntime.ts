import { randomUUID } from "node:crypto";
import { type IRoomCache, matchMaker, type Server } from "@colyseus/core";

/** A room class as `Server.define` takes it. */
export type RoomClass = Parameters<Server["define"]>[1];

import { ErrorCode } from "../../../protocol/errors.js";
// Devices of an actor that stops or moves are told to reconnect (they land on the new owner).
import { CloseCode } from "../../../protocol/realtime.js";
import type { Logger } from "../../logger.js";
import { type ActorJournal, StaleEpochError } from "../../persistence/stores/ActorJournal.js";
import type { ReminderIndex } from "../../persistence/stores/ReminderIndex.js";
import { ActorHost, AUTO_KEY_PREFIX, failure } from "./ActorHost.js";
import { roomIdOf } from "./ActorRef.js";
import { ActorRoom, type ActorRoomRuntime } from "./ActorRoom.js";
import type { LeaseManager } from "./leases.js";
import type { ActorRuntimeMetrics } from "./metrics.js";
import { sweepReminders } from "./reminderSweep.js";
import { SnapshotPacer } from "./SnapshotPacer.js";
import type { ActorRef, AnyActorDefinition, CallEnvelope, CallResult, Publication } from "./types.js";

export interface RuntimeOptions {
  readonly definitions: readonly AnyActorDefinition[];
  readonly journal: ActorJournal;
  readonly reminders: ReminderIndex;
  readonly leases: LeaseManager;
  readonly logger: Logger;
  readonly metrics: ActorRuntimeMetrics;
  /** Per-attempt timeout of a call (default 2,000 ms). */
  readonly callTimeoutMs?: number;
  /** Deactivate actors with no call, socket or pending work for this long (default 5 min). */
  readonly idleMs?: number;
  /** Snapshot an actor whose last snapshot is older than this and that persisted since (default 60 s). */
  readonly snapshotMaxAgeMs?: number;
  /** How often this node looks for due reminders (default 1,000 ms). */
  readonly reminderPollMs?: number;
  /**
   * How often this node checks the cluster for dead processes and sweeps their room listings
   * (default 15,000 ms; 0 disables). Without it a killed node's listings stay until a caller
   * times out on one of them.
   */
  readonly directorySweepMs?: number;
}

/** What request handlers need from the runtime: calling an actor by reference. */
export interface ActorCaller {
  call(ref: ActorRef, command: unknown, options?: CallOptions): Promise<CallResult>;
}

export interface CallOptions {
  /** Idempotency key; a retry with the same key never applies twice. Defaults to a fresh UUID. */
  readonly key?: string;
  readonly timeoutMs?: number;
}

const MAX_ATTEMPTS = 6;
const HOSTLESS_GRACE_MS = 60_000;
/**
 * Age-based snapshots in flight at once per process (see SnapshotPacer). 10,000 actors activated
 * together come due together; started at once they stalled every chat on the node for up to 2 s
 * (Azurite), and 200 at a time still for 250–470 ms every 5 s (embedded store).
 */
const AGE_SNAPSHOTS_IN_FLIGHT = 4;
/** A listing of ours this old with no local room is a leftover, not a room being created. */
const STALE_LISTING_MS = 10_000;
/** Listings younger than this may not have their IPC subscription yet. */
const FRESH_LISTING_MS = 2_000;

type Method = "actorCall" | "actorWake";

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout()), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/**
 * The per-process actor runtime: addresses actors by `{kind, id}`, activates them on first use
 * anywhere in the cluster (atomic directory insert, see AtomicRedisDriver), routes calls directly
 * (local) or over presence IPC (remote), recovers from dead owners, and deactivates idle actors
 * from ONE sweep timer per process.
 */
export class ActorRuntime implements ActorRoomRuntime, ActorCaller {
  private readonly definitions = new Map<string, AnyActorDefinition>();
  private readonly disposing = new Map<string, Promise<void>>();
  /** Rooms on this process whose actor was activated (losers of a directory race never are). */
  private readonly active = new Map<string, ActorRoom>();
  /** Rooms created here and not yet activated, with their creation time (see the sweep). */
  private readonly created = new Map<ActorRoom, number>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly reminderTimer: NodeJS.Timeout;
  private readonly directoryTimer: NodeJS.Timeout | undefined;
  private reminderSweep: Promise<void> | undefined;
  private readonly callTimeoutMs: number;
  private readonly idleMs: number;
  private readonly snapshotMaxAgeMs: number;
  private readonly ageSnapshots = new SnapshotPacer<ActorRoom>(
    (room) => room.host?.snapshotIfStale(Date.now(), this.snapshotMaxAgeMs),
    AGE_SNAPSHOTS_IN_FLIGHT,
  );

  constructor(private readonly options: RuntimeOptions) {
    for (const d of options.definitions) this.definitions.set(d.kind, d);
    this.callTimeoutMs = options.callTimeoutMs ?? 2_000;
    this.idleMs = options.idleMs ?? 5 * 60_000;
    this.snapshotMaxAgeMs = options.snapshotMaxAgeMs ?? 60_000;
    this.sweeper = setInterval(() => this.sweep(), Math.min(5_000, Math.max(50, this.idleMs / 4)));
    this.sweeper.unref();
    this.reminderTimer = setInterval(() => {
      const deps = {
        reminders: options.reminders,
        logger: options.logger,
        knows: (kind: string) => this.definitions.has(kind),
        wake: (ref: ActorRef) => this.wake(ref),
      };
      this.reminderSweep ??= sweepReminders(deps).finally(() => {
        this.reminderSweep = undefined;
      });
    }, options.reminderPollMs ?? 1_000);
    this.reminderTimer.unref();
    const directorySweepMs = options.directorySweepMs ?? 15_000;
    if (directorySweepMs > 0) {
      // A process whose IPC channel is gone gets a health check; an unanswered one has its
      // listings removed (Colyseus' own sweep, which otherwise runs only at start-up).
      this.directoryTimer = setInterval(() => {
        matchMaker.healthCheckAllProcesses().catch((err: unknown) => {
          options.logger.warn({ err }, "directory sweep failed; will retry");
        });
        void this.reannounce();
      }, directorySweepMs);
      this.directoryTimer.unref();
    }
    options.leases.onLost = (roomId) => {
      this.options.logger.warn({ actor: roomId }, "actor lease lost; deactivating");
      void this.deactivateLocal(roomId);
    };
  }

  /**
   * Puts this process back into the placement list if it is missing: another node's health check
   * excludes a process it could not reach (a partition), and a Redis restart loses the list.
   * Colyseus would re-add it only at its next room change or minute tick.
   */
  private async reannounce(): Promise<void> {
    try {
      const listed = await matchMaker.stats.fetchAll();
      if (!listed.some((p) => p.processId === matchMaker.processId)) {
        await matchMaker.stats.persist(true);
        this.options.logger.info({ processId: matchMaker.processId }, "re-registered for placement");
      }
    } catch {
      // Redis unreachable: the next sweep tries again.
    }
  }

  /**
   * Registers one Colyseus room type per actor kind on the server: the kind's own room adapter
   * where one is given (client-facing kinds), else a plain actor room that admits no clients
   * unless the definition authorizes them.
   */
  registerRooms(server: Server, adapters: ReadonlyMap<string, RoomClass> = new Map()): void {
    for (const definition of this.definitions.values()) {
      const runtime: ActorRoomRuntime = this;
      const kind = definition.kind;
      const adapter = adapters.get(kind);
      if (adapter) {
        server.define(kind, adapter);
        continue;
      }
      server.define(
        kind,
        class extends ActorRoom {
          readonly kind = kind;
          readonly runtime = runtime;

          /** Runs for client matchmaking only (create, join); internal activation skips it. */
          static override async onAuth(token: string | undefined, options: { actorId?: string } | undefined) {
            if (!definition.authorizeClient) return false;
            return (await definition.authorizeClient(token, options?.actorId)) ?? false;
          }
        },
      );
    }
  }

  /** Calls an actor anywhere in the cluster, activating it if needed. Never throws. */
  async call(ref: ActorRef, command: unknown, options: CallOptions = {}): Promise<CallResult> {
    const key = options.key ?? `${AUTO_KEY_PREFIX}${randomUUID()}`;
    return this.send({ to: ref, from: null, key, command }, options.timeoutMs);
  }

  /** Delivers an envelope, retrying through deactivations, races and dead owners. */
  send(envelope: CallEnvelope, timeoutMs = this.callTimeoutMs): Promise<CallResult> {
    return this.route(envelope.to, "actorCall", envelope, timeoutMs);
  }

  /** Wakes an actor (activating it if it sleeps) so it fires its due reminders. */
  wake(ref: ActorRef): Promise<CallResult> {
    return this.route(ref, "actorWake", undefined, this.callTimeoutMs);
  }

  private async route(
    to: ActorRef,
    method: Method,
    envelope: CallEnvelope | undefined,
    timeoutMs: number,
  ): Promise<CallResult> {
    if (!this.definitions.has(to.kind)) {
      return failure(ErrorCode.NOT_FOUND, `unknown actor kind ${to.kind}`, false);
    }
    const started = performance.now();
    let last: CallResult = failure(ErrorCode.ACTOR_UNAVAILABLE, "not attempted", true);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { result, remote } = await this.attempt(to, method, envelope, timeoutMs);
      last = result;
      if (result.ok || !result.error.retryable || result.error.code === ErrorCode.TIMEOUT) {
        this.options.metrics.callDuration.observe(
          { remote: String(remote) },
          (performance.now() - started) / 1000,
        );
        return result;
      }
      await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt)));
    }
    return last;
  }

  private async attempt(
    to: ActorRef,
    method: Method,
    envelope: CallEnvelope | undefined,
    timeoutMs: number,
  ): Promise<{ result: CallResult; remote: boolean }> {
    const roomId = roomIdOf(to);
    const timeout = () =>
      failure(ErrorCode.TIMEOUT, `actor ${roomId} did not answer within ${timeoutMs} ms`, true);
    await this.disposing.get(roomId);
    const callLocal = async (room: ActorRoom) => {
      // Local calls skip serialization, and no copy is needed: the host hands `decide` only what
      // its zod schema parsed, and parsing builds new objects (no actor schema passes input
      // through: no z.any/z.unknown/passthrough), so the actor never keeps the caller's objects.
      // The defensive structuredClone this replaced was the largest allocation of a DM (≈4 KiB).
      const pending = method === "actorCall" ? room.actorCall(envelope as CallEnvelope) : room.actorWake();
      return { result: await withTimeout(pending, timeoutMs, timeout), remote: false };
    };
    const local = matchMaker.getLocalRoomById(roomId) as ActorRoom | undefined;
    if (local) return callLocal(local);
    let listing = await matchMaker.getRoomById(roomId);
    if (!listing) {
      try {
        listing = await matchMaker.createRoom(to.kind, { actorId: to.id });
        this.options.metrics.placements.inc();
      } catch (err) {
        return {
          result: failure(ErrorCode.ACTOR_UNAVAILABLE, `activation failed: ${(err as Error).message}`, true),
          remote: false,
        };
      }
    }
    if (listing.processId === matchMaker.processId) {
      // Created here just now (createRoom resolves once the room is registered): call it.
      const created = matchMaker.getLocalRoomById(roomId) as ActorRoom | undefined;
      if (created) return callLocal(created);
      // Listed here but not (yet) in the local room table. Colyseus records the listing a moment
      // before it registers the room, so a fresh listing means "being created": retry shortly.
      // An old one with no disposal pending is stale (a removal that failed): remove it, so the
      // next attempt re-creates the actor instead of spinning on it.
      const ownAge = Date.now() - new Date(listing.createdAt ?? 0).getTime();
      if (ownAge > STALE_LISTING_MS && !this.disposing.has(roomId)) await matchMaker.driver.remove(roomId);
      const retry = failure(ErrorCode.ACTOR_UNAVAILABLE, `actor ${roomId} is starting or moving`, true);
      return { result: retry, remote: false };
    }
    const age = Date.now() - new Date(listing.createdAt ?? 0).getTime();
    if (age < FRESH_LISTING_MS && (await matchMaker.presence.channels(`$${roomId}`)).length === 0) {
      // The owner records the listing before it subscribes to the room's IPC channel: a call sent
      // in between is lost and would cost the full timeout. If the owner process still listens,
      // retry shortly; if it is gone (killed), sweep its listings now.
      const ownerListens = (await matchMaker.presence.channels(`p:${listing.processId}`)).length > 0;
      if (!ownerListens) await matchMaker.healthCheckProcessId(listing.processId);
      return {
        result: failure(ErrorCode.ACTOR_UNAVAILABLE, `actor ${roomId} is starting`, true),
        remote: true,
      };
    }
    try {
      const args = method === "actorCall" ? [envelope] : [];
      const result = (await matchMaker.remoteRoomCall(roomId, method, args, timeoutMs)) as CallResult;
      return { result, remote: true };
    } catch {
      // No answer: either the owner is slow, or it died and left its listing behind. The health
      // check answers within the IPC timeout and sweeps a dead process's listings.
      const alive = await matchMaker.healthCheckProcessId(listing.processId);
      this.options.logger.warn({ actor: roomId, owner: listing.processId, alive }, "actor call timed out");
      return {
        result: alive ? timeout() : failure(ErrorCode.ACTOR_UNAVAILABLE, `owner of ${roomId} is gone`, true),
        remote: true,
      };
    }
  }

  // --- ActorRoomRuntime -------------------------------------------------------------------

  async awaitLocalDisposal(roomId: string): Promise<void> {
    await this.disposing.get(roomId);
  }

  /**
   * Whether this process already runs a room for `roomId` (see ActorRoom.onCreate). If so, the
   * directory lost its listing — a creation was routed here — so it is listed again; `insert` is
   * HSETNX, never over another process's listing. Callers' retries then reach the running room.
   */
  async runsLocally(roomId: string): Promise<boolean> {
    const existing = matchMaker.getLocalRoomById(roomId);
    if (!existing) return false;
    const listing = (existing as unknown as { _listing: IRoomCache })._listing;
    await matchMaker.driver.insert?.(listing).catch(() => false);
    this.options.logger.info(
      { actor: roomId },
      "refused a second instance: actor is already active on this process",
    );
    return true;
  }

  onRoomCreated(room: ActorRoom): void {
    this.created.set(room, Date.now());
  }

  hostFor(room: ActorRoom): ActorHost {
    if (room.host) return room.host;
    const definition = this.definitions.get(room.kind) as AnyActorDefinition;
    const ref = { kind: room.kind, id: room.actorId };
    const { leases, logger, metrics } = this.options;
    const started = performance.now();
    const host = new ActorHost(ref, definition, {
      open: async (actorKey) => {
        const opened = await this.claim(actorKey);
        opened.writer.onCommit = (s) => {
          metrics.appendBatch.observe(s.events);
          metrics.appendDuration.observe(s.ms / 1000);
        };
        return { ...opened, release: () => leases.release(actorKey, opened.writer.epoch) };
      },
      deliver: (envelope) => this.send(envelope),
      scheduleWake: (actorKey, at) => this.options.reminders.schedule(actorKey, at),
      // Fire-and-forget by contract; a Redis hiccup must not become an unhandled rejection.
      publish: (p: Publication) =>
        void Promise.resolve()
          .then(() => matchMaker.presence.publish(p.channel, p.message))
          .catch((err: unknown) => logger.warn({ err, channel: p.channel }, "publish failed")),
      now: () => Date.now(),
      onStopped: (reason) => {
        metrics.conflicts.inc();
        logger.warn({ actor: room.roomId, err: reason.message }, "actor stopped; deactivating");
        void room.disconnect(CloseCode.MOVING).catch(() => undefined);
      },
      onTurn: (kind, ms) => metrics.turnDuration.observe({ kind }, ms / 1000),
    });
    room.host = host;
    this.active.set(room.roomId, room);
    this.created.delete(room);
    host.whenReady().then(
      () => {
        metrics.activations.inc({ kind: room.kind });
        metrics.activationDuration.observe((performance.now() - started) / 1000);
        logger.debug({ actor: room.roomId, epoch: host.epoch }, "actor activated");
      },
      (err: Error) => {
        logger.error({ actor: room.roomId, err }, "actor activation failed");
        void room.disconnect(CloseCode.MOVING).catch(() => undefined);
      },
    );
    return host;
  }

  onRoomDisposing(room: ActorRoom, done: Promise<void>): void {
    if (this.active.get(room.roomId) === room) this.active.delete(room.roomId);
    this.created.delete(room);
    const tracked = done
      .catch(() => undefined)
      .then(() => {
        if (this.disposing.get(room.roomId) === tracked) this.disposing.delete(room.roomId);
        if (room.host) this.options.metrics.deactivations.inc({ kind: room.kind });
      });
    this.disposing.set(room.roomId, tracked);
  }

  /** Activated actors hosted by this process (for metrics and the sweep). */
  localActors(): IterableIterator<ActorRoom> {
    return this.active.values();
  }

  /** Number of activated actors of each kind on this process. */
  countByKind(): Map<string, number> {
    const counts = new Map<string, number>([...this.definitions.keys()].map((k) => [k, 0]));
    for (const room of this.active.values()) counts.set(room.kind, (counts.get(room.kind) ?? 0) + 1);
    return counts;
  }

  private sweep(): void {
    const now = Date.now();
    // A room whose caller vanished before the first call never activates: do not keep it forever.
    for (const [room, at] of this.created) {
      if (room.host || room.clients.length > 0 || now - at < HOSTLESS_GRACE_MS) continue;
      this.created.delete(room);
      void room.disconnect(CloseCode.MOVING).catch(() => undefined);
    }
    for (const room of this.localActors()) {
      const host = room.host;
      if (!host) continue;
      if (room.clients.length === 0 && host.isIdle(now, this.idleMs)) {
        void this.deactivateLocal(room.roomId);
      } else if (host.isStale(now, this.snapshotMaxAgeMs)) {
        this.ageSnapshots.offer(room);
      }
    }
  }

  /** Flushes and snapshots first (while still listed, callers retry), then disposes the room. */
  private async deactivateLocal(roomId: string): Promise<void> {
    const room = this.active.get(roomId);
    if (!room) return;
    // Tracked from the start, so a re-creation of this id on this process waits for all of it.
    const done = (async () => {
      try {
        await room.host?.deactivate();
      } finally {
        await room.disconnect(CloseCode.MOVING).catch(() => undefined);
      }
    })();
    this.onRoomDisposing(room, done);
    await done;
  }

  /**
   * Takes the lease and claims the journal with its epoch. If the lease counter is behind the
   * stored epoch (Redis restarted without persistence), the counter is raised past it once.
   */
  private async claim(actorKey: string) {
    const { leases, journal } = this.options;
    let epoch = await leases.acquire(actorKey);
    try {
      return await journal.open(actorKey, epoch !== undefined ? { epoch } : {});
    } catch (err) {
      if (!(err instanceof StaleEpochError) || epoch === undefined) {
        await leases.release(actorKey, epoch).catch(() => undefined);
        throw err;
      }
      await leases.release(actorKey, epoch).catch(() => undefined);
      epoch = await leases.acquire(actorKey, err.stored);
      try {
        return await journal.open(actorKey, { epoch });
      } catch (again) {
        await leases.release(actorKey, epoch).catch(() => undefined);
        throw again;
      }
    }
  }

  /** Stops idle, reminder and directory sweeps (first step of a drain: no new activations). */
  stopSweeps(): void {
    clearInterval(this.sweeper);
    this.ageSnapshots.clear();
    clearInterval(this.reminderTimer);
    clearInterval(this.directoryTimer);
  }

  /** After the drain: also stops renewing leases (every actor released its own by now). */
  close(): void {
    this.stopSweeps();
    this.options.leases.close();
  }
}
