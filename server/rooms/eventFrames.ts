import { getMessageBytes, Protocol } from "@colyseus/core";
import { MessageType, type ServerEvent } from "../../protocol/realtime.js";

const frames = new WeakMap<object, Buffer>();

/**
 * The encoded frame of one event, made once per event object. A chat entry, a typing signal or
 * a presence change reaches every member's session as the same object (pub/sub hands one object
 * to all local listeners), so a 50-member fan-out now packs it once instead of 50 times
 * (msgpack was ≈8 % of a node in 50-member groups at 24,500 deliveries/s). `getMessageBytes.raw`
 * returns a fresh buffer, safe to queue on many sockets. Events must not be mutated once sent.
 */
export function eventFrame(event: ServerEvent): Buffer {
  let frame = frames.get(event);
  if (!frame) {
    frame = getMessageBytes.raw(Protocol.ROOM_DATA, MessageType.EVENT, event) as Buffer;
    frames.set(event, frame);
  }
  return frame;
}
