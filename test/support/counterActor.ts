import { z } from "zod";
import type { ActorDefinition } from "../../server/actors/runtime/types.js";

/** A minimal actor kind used to exercise the runtime: a counter that can also forward amounts. */
/** History keeps the last entries only, so snapshots stay small however long an actor lives. */
const HISTORY = 50;

export interface CounterState {
  total: number;
  history: number[];
  reminded?: string[];
}

export const CounterCommand = z.discriminatedUnion("type", [
  z.object({ type: z.literal("add"), amount: z.number().int() }),
  z.object({ type: z.literal("get") }),
  /** Sends `amount` to another counter through the outbox (exactly-once across actors). */
  z.object({ type: z.literal("forward"), to: z.string().regex(/^[A-Za-z0-9-]+$/), amount: z.number().int() }),
  z.object({ type: z.literal("fail") }),
  /** Sets a durable reminder `inMs` from now; when it fires, its name is recorded in `reminded`. */
  z.object({
    type: z.literal("remind"),
    name: z.string().regex(/^[a-z0-9-]{1,20}$/),
    inMs: z.number().int().min(0),
  }),
]);
export type CounterCommand = z.infer<typeof CounterCommand>;

export type CounterEvent =
  | { type: "added"; amount: number }
  | { type: "forwarded"; to: string; amount: number }
  | { type: "reminded"; name: string };

export const counterActor: ActorDefinition<CounterState, CounterCommand, CounterEvent, unknown> = {
  kind: "counter",
  commands: CounterCommand,
  snapshotEvery: 100,
  initialState: () => ({ total: 0, history: [] }),
  decide(state, command, ctx) {
    switch (command.type) {
      case "add":
        return {
          ok: true,
          events: [{ type: "added", amount: command.amount }],
          reply: { total: state.total + command.amount },
        };
      case "get":
        return {
          ok: true,
          reply: { total: state.total, history: state.history, reminded: state.reminded ?? [] },
        };
      case "forward":
        return {
          ok: true,
          events: [{ type: "forwarded", to: command.to, amount: command.amount }],
          send: [
            { to: { kind: "counter", id: command.to }, command: { type: "add", amount: command.amount } },
          ],
          reply: { total: state.total - command.amount },
        };
      case "fail":
        return { ok: false, code: "CONFLICT", message: "asked to fail" };
      case "remind": {
        const at = ctx.now + command.inMs;
        return { ok: true, reply: { at }, reminders: { set: [{ name: command.name, at }] } };
      }
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case "added":
        return {
          total: state.total + event.amount,
          history: [...state.history, event.amount].slice(-HISTORY),
        };
      case "forwarded":
        return {
          total: state.total - event.amount,
          history: [...state.history, -event.amount].slice(-HISTORY),
        };
      case "reminded":
        return { ...state, reminded: [...(state.reminded ?? []), event.name] };
    }
  },
  onReminder(_state, name) {
    return { ok: true, reply: null, events: [{ type: "reminded", name }] };
  },
};
