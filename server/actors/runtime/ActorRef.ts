import type { ActorRef } from "./types.js";

const KIND = /^[a-z][a-z0-9]{0,31}$/;
const ID = /^[A-Za-z0-9-]{1,128}$/;

/** Whether `ref` can be addressed (its room id is a valid Colyseus room id and storage key). */
export function isValidRef(ref: ActorRef): boolean {
  return KIND.test(ref.kind) && ID.test(ref.id);
}

/** `{kind: "user", id: "42"}` → `user_42`. Colyseus room ids must match `[A-Za-z0-9_-]+`. */
export function roomIdOf(ref: ActorRef): string {
  if (!isValidRef(ref)) throw new RangeError(`invalid actor reference ${JSON.stringify(ref)}`);
  return `${ref.kind}_${ref.id}`;
}

export function parseRoomId(roomId: string): ActorRef | undefined {
  const at = roomId.indexOf("_");
  if (at < 0) return undefined;
  const ref = { kind: roomId.slice(0, at), id: roomId.slice(at + 1) };
  return isValidRef(ref) ? ref : undefined;
}
