import type { Socket } from "node:net";
import type { Client } from "@colyseus/core";

const corked = new WeakSet<Socket>();

/**
 * Holds a device socket's writes until the end of the current tick, so the frames one fan-out
 * produces for a device (a chat entry and the unread badge it changes, a burst of presence
 * updates) leave in one `writev` instead of one system call each. On loopback a socket write
 * costs more than encoding the frame (profiled: `writev` was 40 % of a node's time in 50-member
 * group chats), so fewer writes is the cheapest fan-out win. `ws` corks around each frame too;
 * corks nest, so its own uncork no longer flushes and ours, on the next tick, flushes them all.
 */
export function corkUntilNextTick(client: Client): void {
  const socket = (client as { ref?: { _socket?: Socket } }).ref?._socket;
  if (!socket || socket.destroyed || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    corked.delete(socket);
    socket.uncork();
  });
}
