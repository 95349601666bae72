import type { ErrorCode } from "../../../protocol/errors.js";
import { directChatId, userChannel } from "../channels.js";
import type { Decision, Outgoing, Publication, Reminder } from "../runtime/types.js";
import { nextNotification, type UserEvent, type UserState } from "./userState.js";

/** Building blocks of the user actor's decisions: refusals, accepted changes, a match. */

export type UserDecision = Decision<UserEvent, unknown>;

export const reject = (code: ErrorCode, message: string): UserDecision => ({ ok: false, code, message });
export const user = (id: string) => ({ kind: "user", id });
export const chat = (id: string) => ({ kind: "chat", id });

/** A decision that also tells the owner's devices (after it is durable). */
export function accept(
  state: Readonly<UserState>,
  reply: unknown,
  events: UserEvent[],
  extra: { send?: Outgoing[]; notify?: unknown[]; reminders?: { set?: Reminder[]; cancel?: string[] } } = {},
): UserDecision {
  const publish: Publication[] = (extra.notify ?? []).map((message) => ({
    channel: userChannel(state.id),
    message,
  }));
  // A marker: the room rebuilds the owner's view from the (by then updated) state. Not for a new
  // notification alone: it reaches the devices as its own `notification` event, and rebuilding
  // the whole view (up to 100 notifications) for each chat message a user received was the
  // largest single cost of a DM (the view's clone, encoding and socket write).
  if (events.some((e) => e.type !== "notified")) {
    publish.push({ channel: userChannel(state.id), message: { type: "me" } });
  }
  return {
    ok: true,
    reply,
    events,
    publish,
    ...(extra.send ? { send: extra.send } : {}),
    ...(extra.reminders ? { reminders: extra.reminders } : {}),
  };
}

/** Both sides liked: record the match, open the pair's chat, tell the owner. */
export function match(
  state: Readonly<UserState>,
  other: string,
  now: number,
  reply: unknown,
  before: UserEvent[],
  send: Outgoing[],
) {
  const chatId = directChatId(state.id, other);
  const notification = nextNotification(state, "match", { userId: other, chatId }, now);
  return accept(
    state,
    reply,
    [
      ...before,
      { type: "matched", userId: other, chatId, at: now },
      { type: "notified", kind: "match", data: notification.data, at: now },
    ],
    {
      send: [...send, { to: chat(chatId), command: { type: "openDirect", members: [state.id, other] } }],
      notify: [
        { type: "match", userId: other, chatId, at: now },
        { type: "notification", notification },
      ],
    },
  );
}
