import { type Client, ServerError } from "@colyseus/core";
import { ErrorCode, RETRYABLE } from "../../protocol/errors.js";
import {
  type Ack,
  Cid,
  ClientCommand,
  CloseCode,
  MessageType,
  PROTOCOL_VERSION,
  type ServerEvent,
} from "../../protocol/realtime.js";
import { ActorRoom } from "../actors/runtime/ActorRoom.js";
import type { ActorRuntime } from "../actors/runtime/ActorRuntime.js";
import type { CallResult } from "../actors/runtime/types.js";
import type { UserState } from "../actors/user/userState.js";
import type { AuthService } from "../auth/AuthService.js";
import type { TokenService } from "../auth/TokenService.js";
import type { Logger } from "../logger.js";
import type { AccountStore } from "../persistence/stores/AccountStore.js";
import type { EventStore } from "../persistence/stores/contentStores.js";
import type { ProfileDirectory } from "../persistence/stores/ProfileDirectory.js";
import { eventFrame } from "./eventFrames.js";
import type { PresenceBook } from "./PresenceBook.js";
import { SocketGuard } from "./SocketGuard.js";
import { corkUntilNextTick } from "./socketCork.js";
import { UserSession } from "./UserSession.js";
import { cardOf, runCommand } from "./userCommands.js";

export interface UserRoomDeps {
  readonly runtime: ActorRuntime;
  readonly tokens: TokenService;
  readonly auth: AuthService;
  readonly accounts: AccountStore;
  readonly profiles: ProfileDirectory;
  readonly events: EventStore;
  readonly logger: Logger;
  readonly presenceBook: PresenceBook;
}

export const MAX_DEVICES = 10;

/** What a socket was admitted with (the verified token's claims). */
export interface SocketAuth {
  readonly userId: string;
  readonly familyId: string;
  readonly expiresAt: number;
}

interface Device {
  readonly auth: SocketAuth;
  readonly guard: SocketGuard;
  readonly expiry: NodeJS.Timeout;
}

/** Checks a token for a socket: signature and claims, then that its session is still active. */
export async function authorizeSocket(
  deps: Pick<UserRoomDeps, "tokens" | "auth">,
  token: string | undefined,
): Promise<SocketAuth | false> {
  if (!token) return false;
  try {
    const claims = await deps.tokens.verifyAccess(token);
    await deps.auth.assertSessionActive(claims);
    return { userId: claims.userId, familyId: claims.familyId, expiresAt: claims.expiresAt };
  } catch {
    return false;
  }
}

const errorAck = (cid: string, result: Extract<CallResult, { ok: false }>): Ack => {
  const { code, message, details } = result.error;
  return {
    cid,
    ok: false,
    error: {
      code: code as ErrorCode,
      message,
      retryable: RETRYABLE.has(code as ErrorCode),
      ...(details !== undefined ? { details } : {}),
    },
  };
};

/**
 * The user actor's room: the one socket of each of the owner's devices. A thin adapter —
 * authorize, validate, rate-limit, hand the command to the actors, send the ack — plus the
 * session that fans chat and presence events out to the devices.
 */
export function createUserRoom(deps: UserRoomDeps) {
  return class UserRoom extends ActorRoom {
    readonly kind = "user";
    readonly runtime = deps.runtime;
    /** Hard cap per socket (Colyseus drops the client); the guard's softer limit answers first. */
    override maxMessagesPerSecond = 100;
    /** Devices per user at once: bounds sockets (and their rate budgets) per account. */
    override maxClients = MAX_DEVICES;
    private readonly devices = new Map<string, Device>();
    private session: UserSession | undefined;
    private opening: Promise<void> | undefined;

    /** The Colyseus `joinById` path; `POST /api/v1/realtime/connect` reserves seats directly. */
    static override async onAuth(
      token: string | undefined,
      options: { protocol?: number; actorId?: string } | undefined,
    ) {
      if (options?.protocol !== PROTOCOL_VERSION) {
        // Colyseus answers a ServerError's code as the HTTP status: a 4xx, with our code in words.
        throw new ServerError(400, `PROTOCOL_MISMATCH: protocol ${PROTOCOL_VERSION} required`);
      }
      const auth = await authorizeSocket(deps, token);
      // A client error, not Colyseus' 525 "onAuth failed" (a 5xx would look like our fault).
      if (!auth) throw new ServerError(401, "UNAUTHORIZED: invalid, expired or revoked token");
      // `create` names the room's actor: only one's own (no rooms for made-up ids).
      if (options.actorId !== undefined && options.actorId !== auth.userId) {
        throw new ServerError(403, "FORBIDDEN: not your account");
      }
      return auth;
    }

    override async onCreate(options: { actorId: string }): Promise<void> {
      await super.onCreate(options);
      this.reserveSeatsForOwnerOnly();
      this.onMessage("*", (client, type, payload) => this.onFrame(client, type, payload));
    }

    /**
     * Seats go to the owner only, checked when the seat is reserved — not only at join: an
     * unconsumed reservation holds one of the room's MAX_DEVICES places for 15 s, so anyone able
     * to reserve seats here (`joinById` with their own token) could lock the owner out. Colyseus'
     * `_reserveSeat` is private, hence the instance-level wrapper.
     */
    private reserveSeatsForOwnerOnly(): void {
      const room = this as unknown as {
        _reserveSeat: (
          sessionId: string,
          options: unknown,
          auth: unknown,
          ...rest: unknown[]
        ) => Promise<boolean>;
      };
      const reserve = room._reserveSeat.bind(this);
      room._reserveSeat = (sessionId, options, auth, ...rest) =>
        (auth as SocketAuth | undefined)?.userId === this.actorId
          ? reserve(sessionId, options, auth, ...rest)
          : Promise.resolve(false);
    }

    private get userState(): UserState {
      return this.host?.state as UserState;
    }

    override async onJoin(client: Client, options?: { protocol?: number }, auth?: SocketAuth): Promise<void> {
      super.onJoin();
      if (!auth || auth.userId !== this.actorId) throw new ServerError(CloseCode.REVOKED, "not your account");
      if (options?.protocol !== PROTOCOL_VERSION) {
        throw new ServerError(CloseCode.PROTOCOL_MISMATCH, `protocol ${PROTOCOL_VERSION} required`);
      }
      const host = this.runtime.hostFor(this);
      await host.whenReady();
      const expiry = setTimeout(
        () => client.leave(CloseCode.TOKEN_EXPIRED, "token expired"),
        auth.expiresAt - Date.now(),
      );
      expiry.unref();
      this.devices.set(client.sessionId, { auth, guard: new SocketGuard(Date.now()), expiry });
      if (!this.session) {
        const session = new UserSession({
          userId: this.actorId,
          presence: this.presence,
          book: deps.presenceBook,
          state: () => this.userState,
          broadcast: (event: ServerEvent) => {
            const frame = eventFrame(event);
            for (const device of this.clients) {
              corkUntilNextTick(device);
              // Queued while the device is still joining, sent at once when joined.
              device.enqueueRaw(frame);
            }
          },
          closeDevices: (code, familyId) => {
            for (const c of this.clients) {
              const device = this.devices.get(c.sessionId);
              if (familyId === undefined || device?.auth.familyId === familyId)
                c.leave(code, "session revoked");
            }
          },
        });
        this.session = session;
        this.opening = session.open();
      }
      await this.opening;
      if (this.userState.profile.displayName === "") await this.adoptAccountName();
    }

    /** A new user's profile starts with the name they registered with. */
    private async adoptAccountName(): Promise<void> {
      const stored = await deps.accounts.getById(this.actorId);
      if (!stored) return;
      const profile = { displayName: stored.account.displayName.slice(0, 60) };
      const named = await this.actorCall({
        to: { kind: "user", id: this.actorId },
        from: null,
        key: "init:name",
        command: { type: "profile.update", profile },
      });
      // The card makes the user known to others (likes, profile views); the next connect retries.
      if (named.ok) await deps.profiles.put(cardOf(this.userState, Date.now())).catch(() => undefined);
    }

    override onLeave(client: Client): void {
      super.onLeave();
      const device = this.devices.get(client.sessionId);
      if (device) clearTimeout(device.expiry);
      this.devices.delete(client.sessionId);
      if (this.devices.size === 0 && this.session) {
        const session = this.session;
        this.session = undefined;
        this.opening = undefined;
        void session.close();
      }
    }

    override async onDispose(): Promise<void> {
      for (const device of this.devices.values()) clearTimeout(device.expiry);
      await this.session?.close();
      this.session = undefined;
      return super.onDispose();
    }

    private onFrame(client: Client, type: string | number, payload: unknown): void {
      const device = this.devices.get(client.sessionId);
      const session = this.session;
      if (!device || !session) return; // still joining or leaving
      const now = Date.now();
      const cidOf = () => {
        const cid = (payload as { cid?: unknown } | null)?.cid;
        return Cid.safeParse(cid).success ? (cid as string) : undefined;
      };
      const refuse = (code: ErrorCode, message: string, details?: unknown, counted = false) => {
        const verdict = counted ? "refuse" : device.guard.violation(now);
        if (verdict === "close") {
          client.leave(CloseCode.ABUSE, "too many refused frames");
          return;
        }
        const cid = cidOf();
        const error = {
          code,
          message,
          retryable: RETRYABLE.has(code),
          ...(details !== undefined ? { details } : {}),
        };
        if (cid !== undefined) client.send(MessageType.ACK, { cid, ok: false, error } satisfies Ack);
        else client.send(MessageType.ERROR, { error });
      };
      if (type !== MessageType.COMMAND) {
        refuse(ErrorCode.BAD_REQUEST, `unknown message type ${String(type).slice(0, 64)}`);
        return;
      }
      const verdict = device.guard.admit(now);
      if (verdict === "close") {
        client.leave(CloseCode.ABUSE, "too many commands");
        return;
      }
      if (verdict === "refuse") {
        refuse(ErrorCode.RATE_LIMITED, "too many commands; slow down", undefined, true);
        return;
      }
      const parsed = ClientCommand.safeParse(payload);
      if (!parsed.success) {
        const details = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
        refuse(ErrorCode.VALIDATION_FAILED, "invalid command", details);
        return;
      }
      this.host?.touch();
      const command = parsed.data;
      const ctx = {
        userId: this.actorId,
        state: () => this.userState,
        callSelf: (c: unknown, key?: string) =>
          this.actorCall({
            to: { kind: "user", id: this.actorId },
            from: null,
            key: key ?? `auto:${command.cid}`,
            command: c,
          }),
        actors: deps.runtime,
        profiles: deps.profiles,
        events: deps.events,
        session,
        publish: (channel: string, message: unknown) =>
          void Promise.resolve()
            .then(() => this.presence.publish(channel, message))
            .catch(() => undefined), // typing is ephemeral: a lost one is fine
        now: () => Date.now(),
      };
      runCommand(ctx, command).then(
        (result) => {
          // Acks of one durable batch go out together, with the entries they fan out.
          corkUntilNextTick(client);
          client.send(
            MessageType.ACK,
            result.ok ? { cid: command.cid, ok: true, result: result.value } : errorAck(command.cid, result),
          );
        },
        (err: unknown) => {
          deps.logger.error({ err, actor: this.roomId, type: command.type }, "command failed");
          client.send(
            MessageType.ACK,
            errorAck(command.cid, {
              ok: false,
              error: { code: ErrorCode.INTERNAL, message: "internal error", retryable: false },
            }),
          );
        },
      );
    }
  };
}
