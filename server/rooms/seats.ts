import { matchMaker } from "@colyseus/core";
import { ErrorCode } from "../../protocol/errors.js";
import { PROTOCOL_VERSION } from "../../protocol/realtime.js";
import { roomIdOf } from "../actors/runtime/ActorRef.js";
import type { ActorRuntime } from "../actors/runtime/ActorRuntime.js";
import { AppError } from "../errors.js";
import { MAX_DEVICES, type SocketAuth } from "./UserRoom.js";

/** What the SDK consumes to open the websocket (Colyseus' seat reservation). */
export type SeatReservation = matchMaker.ISeatReservation;

/** Hands out websocket seats in a user's own room. */
export interface SeatBroker {
  reserveUserSeat(auth: SocketAuth): Promise<SeatReservation>;
}

const ATTEMPTS = 4;

/**
 * Activates the user's actor wherever the cluster places it and reserves a seat in its room, in
 * one HTTP request on any node; the answer names the node the socket must open on. The user room
 * is addressed by id (`user_<id>`), never through `joinOrCreate` scans.
 */
export function createSeatBroker(runtime: ActorRuntime): SeatBroker {
  return {
    async reserveUserSeat(auth) {
      const ref = { kind: "user", id: auth.userId };
      let last: unknown;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const woke = await runtime.wake(ref);
        if (!woke.ok) {
          last = woke.error.message;
          continue;
        }
        const listing = await matchMaker.getRoomById(roomIdOf(ref));
        if (!listing) continue; // deactivated in between: wake it again
        if (listing.clients >= MAX_DEVICES) {
          throw new AppError(ErrorCode.CONFLICT, `at most ${MAX_DEVICES} devices connected at once`);
        }
        try {
          return await matchMaker.reserveSeatFor(listing, { protocol: PROTOCOL_VERSION }, auth);
        } catch (err) {
          last = (err as Error).message;
        }
      }
      throw new AppError(ErrorCode.ACTOR_UNAVAILABLE, "could not open a session; retry", undefined, {
        cause: new Error(String(last)),
      });
    },
  };
}
