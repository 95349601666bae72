import { randomUUID } from "node:crypto";
import { type ClientEvents, LovecraftClient } from "../../client/index.js";

/** A registered, connected SDK client with its user id. */
export interface TestUser {
  readonly client: LovecraftClient;
  readonly id: string;
  readonly name: string;
  readonly password: string;
}

export async function connectedUser(url: string, name: string): Promise<TestUser> {
  // Retries generously: cluster tests kill nodes, and recovery takes a lease period or two.
  const client = new LovecraftClient({ url, commandTimeoutMs: 30_000, retries: 30 });
  const password = `correct horse ${randomUUID()}`;
  const session = await client.register({
    email: `${name.toLowerCase()}-${randomUUID()}@example.com`,
    password,
    displayName: name,
  });
  await client.connect();
  return { client, id: session.user.id, name, password };
}

/**
 * Polls until `check` (sync or async) returns a value (not undefined/false) or the time runs out
 * (bounded).
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Records every event of one type a client emits. */
export function record<K extends keyof ClientEvents>(user: TestUser, type: K): ClientEvents[K][] {
  const seen: ClientEvents[K][] = [];
  user.client.on(type, (e) => seen.push(e));
  return seen;
}

/** Both like each other; resolves with their direct chat's id once both know of the chat. */
export async function matchUsers(a: TestUser, b: TestUser): Promise<string> {
  const aChats = record(a, "chat.added");
  const bChats = record(b, "chat.added");
  await a.client.send("like", { userId: b.id });
  await b.client.send("like", { userId: a.id });
  const added = await waitFor(() => aChats[0], `${a.name}'s chat`);
  await waitFor(() => bChats[0], `${b.name}'s chat`);
  return added.chat.chatId;
}
