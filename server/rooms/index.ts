import type { RegisteredHandler } from "@colyseus/core";

/**
 * The Colyseus room types this node hosts. Rooms are thin socket adapters over actors
 * (server/actors); each is registered here by the actor kind it serves.
 */
export function roomDefinitions(): Record<string, RegisteredHandler> {
  return {};
}
