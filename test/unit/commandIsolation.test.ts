import { describe, expect, it } from "vitest";
import { chatActor } from "../../server/actors/chat/ChatActor.js";
import { eventActor } from "../../server/actors/EventActor.js";
import { userActor } from "../../server/actors/user/UserActor.js";

/** Every object (and array) reachable from `value`. */
function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (value !== null && typeof value === "object" && !into.has(value)) {
    into.add(value);
    for (const child of Object.values(value)) objectsIn(child, into);
  }
  return into;
}

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";

/**
 * Local actor calls pass the caller's command object without copying it (ActorRuntime.attempt):
 * what keeps an actor from holding on to the caller's objects is that the host only hands
 * `decide` what the command schema parsed, and parsing builds new objects. This pins that down
 * for the commands that carry nested objects or arrays, in every real actor kind.
 */
describe("actor commands are parsed into new objects (why local calls need no copy)", () => {
  const samples: [string, { commands: { parse(v: unknown): unknown } }, Record<string, unknown>][] = [
    ["user profile.update", userActor, { type: "profile.update", profile: { interests: ["tea", "chess"] } }],
    [
      "user settings.update",
      userActor,
      {
        type: "settings.update",
        preferences: { genders: ["woman"], minAge: 20, maxAge: 40, city: "" },
        privacy: { showOnline: false },
      },
    ],
    ["user notifications.read", userActor, { type: "notifications.read", ids: [1, 2] }],
    ["user photosSynced", userActor, { type: "photosSynced", photoIds: ["p1"] }],
    ["chat openDirect", chatActor, { type: "openDirect", members: [A, B] }],
    ["chat createGroup", chatActor, { type: "createGroup", by: A, title: "t", members: [B] }],
    ["chat post", chatActor, { type: "post", by: A, text: "hi" }],
    ["event register", eventActor, { type: "register", userId: A }],
  ];

  it.each(samples)("%s", (_name, definition, command) => {
    const parsed = definition.commands.parse(command);
    expect(parsed).toEqual(command);
    const shared = [...objectsIn(parsed)].filter((o) => objectsIn(command).has(o));
    expect(shared).toEqual([]);
  });
});
