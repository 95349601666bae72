import { ErrorCode } from "../../protocol/errors.js";
import type { EventStore } from "../persistence/stores/contentStores.js";
import type { ActorCaller } from "./runtime/ActorRuntime.js";
import type { CallResult } from "./runtime/types.js";

export interface AttendanceDeps {
  readonly events: EventStore;
  readonly actors: ActorCaller;
}

const notFound: CallResult = {
  ok: false,
  error: { code: ErrorCode.NOT_FOUND, message: "event not found", retryable: false },
};

/**
 * Calls one event's actor, shared by REST and the socket. The actor (one writer per event, so
 * capacity is never exceeded) is (re)configured from the event record before each command; that
 * is free when nothing changed.
 */
export async function callEventActor(
  deps: AttendanceDeps,
  eventId: string,
  command: unknown,
  key?: string,
): Promise<CallResult> {
  return (await callWithEvent(deps, eventId, command, key)).result;
}

/** The call, and the event record it was configured from (one read for both). */
async function callWithEvent(deps: AttendanceDeps, eventId: string, command: unknown, key?: string) {
  const event = await deps.events.get(eventId);
  if (!event) return { result: notFound };
  const ref = { kind: "event", id: eventId };
  const facts = {
    type: "configure",
    capacity: event.capacity,
    startsAt: event.startsAt,
    endsAt: event.endsAt,
  };
  const configured = await deps.actors.call(ref, facts);
  if (!configured.ok) return { result: configured };
  return { result: await deps.actors.call(ref, command, key ? { key } : {}), event };
}

/**
 * Registers or unregisters a user, then records it in the user's actor (event reminder, live
 * updates). A retry with the same key is answered from the event actor's memory and records
 * again, so a failure between the two steps heals on retry.
 */
export async function changeRegistration(
  deps: AttendanceDeps,
  userId: string,
  eventId: string,
  action: "register" | "unregister",
  key?: string,
): Promise<CallResult> {
  const { result, event } = await callWithEvent(deps, eventId, { type: action, userId }, key);
  if (!result.ok) return result;
  const record =
    action === "register"
      ? { type: "eventJoined", eventId, startsAt: Date.parse(event?.startsAt ?? "") || 0 }
      : { type: "eventLeft", eventId };
  const recorded = await deps.actors.call(
    { kind: "user", id: userId },
    record,
    key ? { key: `${key}:user` } : {},
  );
  return recorded.ok ? result : recorded;
}
