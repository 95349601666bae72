/**
 * A two-user conversation through the SDK only: register, connect, like each other, wait for the
 * match, send a message, receive it, read it, see the read receipt, close. Against a running server:
 *   LOVECRAFT_URL=http://127.0.0.1:2567 node --import tsx scripts/demo-conversation.ts
 */
import { type ClientEvents, LovecraftClient } from "../client/index.js";

const url = process.env.LOVECRAFT_URL ?? "http://localhost:2567";
/** The next event of one type a client emits. */
const next = <K extends keyof ClientEvents>(client: LovecraftClient, type: K) =>
  new Promise<ClientEvents[K]>((resolve) => client.on(type, resolve));

async function signUp(name: string) {
  const client = new LovecraftClient({ url });
  const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
  const { user } = await client.register({ email, password: "correct horse battery", displayName: name });
  await client.connect(); // socket open and synced; the first connect also makes the user likeable
  return { client, id: user.id, added: next(client, "chat.added") };
}

const [alice, bob] = [await signUp("Alice"), await signUp("Bob")];
// A mutual like makes exactly one match and one direct chat; both sides get `match` and `chat.added`.
console.log(`alice likes bob: ${(await alice.client.send("like", { userId: bob.id })).status}`);
console.log(`bob likes alice: ${(await bob.client.send("like", { userId: alice.id })).status}`);
const [{ chat }] = await Promise.all([alice.added, bob.added]);
console.log(`matched: direct chat ${chat.chatId}`);

const delivered = next(bob.client, "chat");
const readByBob = next(alice.client, "read");
const sent = await alice.client.send("chat.send", { chatId: chat.chatId, text: "Hi Bob! Coffee on Friday?" });
console.log(`alice sent seq ${sent.seq} (the ack came once it was durable)`);
const { seq, entry } = await delivered;
if (entry.kind === "message") console.log(`bob received seq ${seq}: "${entry.text}"`);
const read = await bob.client.send("chat.read", { chatId: chat.chatId, seq });
console.log(`bob read up to seq ${read.readSeq}; unread now ${read.unread}`);
const receipt = await readByBob;
console.log(`alice sees the receipt: read up to seq ${receipt.seq} (by bob: ${receipt.userId === bob.id})`);

await Promise.all([alice.client.close(), bob.client.close()]);
process.exit(0);
