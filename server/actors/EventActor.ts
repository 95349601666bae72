import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import { eventChannel } from "./channels.js";
import type { ActorDefinition, Decision } from "./runtime/types.js";

/**
 * The attendance of one event lives in one actor (room `event_<eventId>`). A single writer is
 * what makes capacity a hard limit: turns never interleave, so two registrations can never both
 * see the last free seat. The event's facts (capacity, times) stay owned by the content store;
 * REST handlers copy them in with `configure` before registering.
 */

/** Same rule as the content ids' owners: short, URL- and key-safe. */
const UserId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "1-64 letters, digits and dashes");
/** Same format as `Event.startsAt`/`endsAt` in the content schema. */
const IsoDate = z.iso.datetime({ offset: true });

/** Every inbound command. Objects are strict: a misspelt field is an error, not silently ignored. */
export const EventCommand = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("configure"),
      capacity: z.number().int().min(1).max(100_000),
      startsAt: IsoDate,
      endsAt: IsoDate,
    })
    .strict()
    .refine((c) => Date.parse(c.endsAt) >= Date.parse(c.startsAt), {
      message: "endsAt must not be before startsAt",
      path: ["endsAt"],
    }),
  z.object({ type: z.literal("register"), userId: UserId }).strict(),
  z.object({ type: z.literal("unregister"), userId: UserId }).strict(),
  z.object({ type: z.literal("status"), userId: UserId.optional() }).strict(),
]);
export type EventCommand = z.infer<typeof EventCommand>;

/** The facts attendance depends on; times in ms so `ctx.now` compares without parsing. */
export interface EventFacts {
  capacity: number;
  startsAt: number;
  endsAt: number;
}

/**
 * JSON only (the runtime snapshots state with `JSON.stringify`): attendees map userId to the
 * registration time in ms; `count` mirrors its size so no turn pays for `Object.keys`.
 */
export interface EventState {
  /** Null until the first `configure`: the actor knows nothing about the event before that. */
  facts: EventFacts | null;
  attendees: Record<string, number>;
  count: number;
}

/** Journal entries: what happened to attendance, replayed by `evolve` on activation. */
export type EventEvent =
  | ({ type: "configured" } & EventFacts)
  | { type: "registered"; userId: string; at: number }
  | { type: "unregistered"; userId: string; at: number };

/** Every reply carries the tally, so clients can redraw the seat counter from any answer. */
export interface Tally {
  attendees: number;
  capacity: number;
  remaining: number;
}

export type EventReply =
  | (Tally & { status: "configured" | "unchanged" })
  | (Tally & { status: "registered" | "already-registered" })
  | (Tally & { status: "unregistered" | "not-registered" })
  | (Tally & { registered?: boolean });

type EventDecision = Decision<EventEvent, EventReply>;

/** Attendance changes are published (after they are durable) for attendees' open sockets. */
const announce = (eventId: string, t: Tally) => [
  { channel: eventChannel(eventId), message: { type: "event", eventId, ...t } },
];

/** `remaining` never goes negative, even after capacity was lowered below the attendee count. */
function tally(facts: EventFacts, count: number): Tally {
  return { attendees: count, capacity: facts.capacity, remaining: Math.max(0, facts.capacity - count) };
}

/** `hasOwn`, not `in`: a user called "constructor" must not look registered. */
const isAttending = (state: Readonly<EventState>, userId: string): boolean =>
  Object.hasOwn(state.attendees, userId);

const rejection = (code: ErrorCode, message: string, details?: unknown): EventDecision =>
  details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };

const notConfigured = (): EventDecision => rejection(ErrorCode.NOT_FOUND, "event is not configured");

/**
 * Attendance of one event. Repeated `register`/`unregister` answer "already-…"/"not-…" without
 * events before any time or capacity check, so a retry with a fresh key never turns a success
 * into an error. Registration is open until `endsAt`; leaving is possible until `startsAt`.
 */
export const eventActor: ActorDefinition<EventState, EventCommand, EventEvent, EventReply> = {
  kind: "event",
  commands: EventCommand,
  initialState: () => ({ facts: null, attendees: {}, count: 0 }),

  decide(state, command, ctx): EventDecision {
    switch (command.type) {
      case "configure": {
        const facts: EventFacts = {
          capacity: command.capacity,
          startsAt: Date.parse(command.startsAt),
          endsAt: Date.parse(command.endsAt),
        };
        const old = state.facts;
        if (
          old !== null &&
          old.capacity === facts.capacity &&
          old.startsAt === facts.startsAt &&
          old.endsAt === facts.endsAt
        ) {
          return { ok: true, reply: { status: "unchanged", ...tally(old, state.count) } };
        }
        return {
          ok: true,
          events: [{ type: "configured", ...facts }],
          reply: { status: "configured", ...tally(facts, state.count) },
        };
      }
      case "register": {
        const facts = state.facts;
        if (facts === null) return notConfigured();
        if (isAttending(state, command.userId)) {
          return { ok: true, reply: { status: "already-registered", ...tally(facts, state.count) } };
        }
        if (ctx.now >= facts.endsAt) return rejection(ErrorCode.CONFLICT, "event has ended");
        if (state.count >= facts.capacity) {
          return rejection(ErrorCode.CONFLICT, "event is full", { capacity: facts.capacity });
        }
        return {
          ok: true,
          events: [{ type: "registered", userId: command.userId, at: ctx.now }],
          reply: { status: "registered", ...tally(facts, state.count + 1) },
          publish: announce(ctx.self.id, tally(facts, state.count + 1)),
        };
      }
      case "unregister": {
        const facts = state.facts;
        if (facts === null) return notConfigured();
        if (!isAttending(state, command.userId)) {
          return { ok: true, reply: { status: "not-registered", ...tally(facts, state.count) } };
        }
        if (ctx.now >= facts.startsAt) return rejection(ErrorCode.CONFLICT, "event has started");
        return {
          ok: true,
          events: [{ type: "unregistered", userId: command.userId, at: ctx.now }],
          reply: { status: "unregistered", ...tally(facts, state.count - 1) },
          publish: announce(ctx.self.id, tally(facts, state.count - 1)),
        };
      }
      case "status": {
        const facts = state.facts;
        if (facts === null) return notConfigured();
        const reply = tally(facts, state.count);
        if (command.userId === undefined) return { ok: true, reply };
        return { ok: true, reply: { ...reply, registered: isAttending(state, command.userId) } };
      }
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },

  /**
   * Updates `attendees` in place: copying a dictionary of up to 100 000 users on every turn made
   * filling a large event quadratic (minutes of CPU). Safe because the runtime owns the state
   * exclusively and `decide` only reads it. Idempotent per event, so a replay can't double-count.
   */
  evolve(state, event) {
    switch (event.type) {
      case "configured":
        state.facts = { capacity: event.capacity, startsAt: event.startsAt, endsAt: event.endsAt };
        return state;
      case "registered":
        if (!Object.hasOwn(state.attendees, event.userId)) state.count++;
        state.attendees[event.userId] = event.at;
        return state;
      case "unregistered":
        if (Object.hasOwn(state.attendees, event.userId)) state.count--;
        delete state.attendees[event.userId];
        return state;
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  },
};
