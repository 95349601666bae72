import { type Client, Room, ServerError } from "@colyseus/core";
import { CloseCode } from "../../../protocol/realtime.js";
import type { ActorHost } from "./ActorHost.js";
import { roomIdOf } from "./ActorRef.js";
import type { CallEnvelope, CallResult } from "./types.js";

/** Actor ids are storage-key and room-id safe (`[A-Za-z0-9_-]`, like room ids must be). */
const ACTOR_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** What an actor room needs from the runtime of its process. */
export interface ActorRoomRuntime {
  /** Resolves once a previous local activation of `roomId` has fully disposed. */
  awaitLocalDisposal(roomId: string): Promise<void>;
  /** Whether a room for `roomId` already runs on this process (re-listing it if the directory lost it). */
  runsLocally(roomId: string): Promise<boolean>;
  hostFor(room: ActorRoom): ActorHost;
  onRoomCreated(room: ActorRoom): void;
  onRoomDisposing(room: ActorRoom, done: Promise<void>): void;
}

/**
 * Colyseus rooms spend a timer each: the patch interval (50 ms by default), or a 60 Hz clock tick
 * when the patch rate is 0 — ≈89 % of a core for 5,000 idle rooms (shared/notes). Actor rooms
 * patch only on change, so they keep no interval: a (cleared) placeholder in `_simulationInterval`
 * makes the core skip the clock-tick fallback when the patch rate is set to 0.
 */
function disableRoomTimers(room: Room): void {
  const placeholder = setInterval(() => undefined, 2 ** 30);
  clearInterval(placeholder);
  (room as unknown as { _simulationInterval: NodeJS.Timeout })._simulationInterval = placeholder;
  room.patchRate = 0;
  room.autoDispose = false;
}

/**
 * The Colyseus room that hosts one actor: a thin adapter. Its id is the actor's room id
 * (`<kind>_<id>`), so the directory (the room listing) is looked up by id, never scanned. The
 * activation itself (lease, journal, replay) starts on first use, not in `onCreate`: a room
 * that loses the directory race runs `onCreate` and is then discarded, so `onCreate` must not
 * touch the world.
 */
export abstract class ActorRoom extends Room {
  abstract readonly kind: string;
  abstract readonly runtime: ActorRoomRuntime;
  actorId = "";
  host: ActorHost | undefined;

  override async onCreate(options: { actorId: string }): Promise<void> {
    // Clients can reach `create` through matchmaking: a room always names a real-looking actor.
    if (typeof options?.actorId !== "string" || !ACTOR_ID.test(options.actorId)) {
      throw new Error("actor rooms are created for an actorId");
    }
    this.actorId = options.actorId;
    this.roomId = roomIdOf({ kind: this.kind, id: options.actorId });
    // Reached by id only: private rooms are never handed out by `join`/`joinOrCreate` matching
    // (set before the listing is first stored, so it costs no extra write).
    await this.setPrivate(true);
    disableRoomTimers(this);
    await this.runtime.awaitLocalDisposal(this.roomId);
    // One instance per actor per process: Colyseus keys a process's rooms, their IPC channel and
    // their listing by id, so a second one would take the first one's place, and whichever
    // disposed first would unregister the other (a live instance nobody can reach). A creation
    // lands here while the actor runs here when the directory lost its listing (a Redis restart)
    // or when two creations of one actor race on this process (both users of a new direct chat
    // at once); the loser's caller gets a retryable refusal and its retry reaches the winner.
    if (await this.runtime.runsLocally(this.roomId)) {
      // A ServerError, which Colyseus does not print as an error: this is normal operation (the
      // runtime logs it at info).
      throw new ServerError(409, `actor ${this.roomId} is already active on this process`);
    }
    this.runtime.onRoomCreated(this);
  }

  /** IPC entry point for calls from any process (and the direct path for local ones). */
  async actorCall(envelope: CallEnvelope): Promise<CallResult> {
    return this.runtime.hostFor(this).receive(envelope);
  }

  /** A device joined (the room adapter of each kind authorizes it first): the actor is in use. */
  override onJoin(_client?: Client, _options?: unknown, _auth?: unknown): void | Promise<void> {
    this.host?.touch();
  }

  override onLeave(_client?: Client, _code?: number): void | Promise<void> {
    this.host?.touch();
  }

  /**
   * A draining node (SIGTERM): Colyseus has stopped placing rooms here and locked this one. The
   * devices are told the actor is moving (they reconnect through the load balancer and land on
   * the node that re-activates it); disposal then snapshots and releases the actor.
   */
  override onBeforeShutdown(): void {
    this.disconnect(CloseCode.MOVING).catch(() => undefined);
  }

  /** IPC entry point of the reminder sweep: fire due reminders. */
  async actorWake(): Promise<CallResult> {
    return this.runtime.hostFor(this).wake();
  }

  override onDispose(): Promise<void> {
    const done = this.host ? this.host.deactivate() : Promise.resolve();
    this.runtime.onRoomDisposing(this, done);
    return done;
  }
}
