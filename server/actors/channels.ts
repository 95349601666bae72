import { createHash } from "node:crypto";

/**
 * Ids and pub/sub channel names shared by the actors and the room adapters. Chat ids are derived
 * from what makes the chat unique, so every path that creates one (two racing likes, a retried
 * `group.create`) arrives at the same chat instead of creating a second.
 */

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

/** The one direct chat of two users, whoever creates it first. */
export function directChatId(a: string, b: string): string {
  return `d-${digest(a < b ? `${a}\n${b}` : `${b}\n${a}`)}`;
}

/** A group chat created by `owner` with the command `cid` (a re-sent cid finds the same group). */
export function groupChatId(owner: string, cid: string): string {
  return `g-${digest(`${owner}\n${cid}`)}`;
}

/** Chat events (entries, reads, typing) for the member rooms that are online. */
export const chatChannel = (chatId: string) => `chat:${chatId}`;
/** Events for one user's devices (match, notification, me, revoked) wherever they connect. */
export const userChannel = (userId: string) => `user:${userId}`;
/** Online/offline changes of one user, for the rooms of their matches and chat partners. */
export const presenceChannel = (userId: string) => `presence:${userId}`;
/** Attendance changes of one event. */
export const eventChannel = (eventId: string) => `event:${eventId}`;
