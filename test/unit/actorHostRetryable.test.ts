import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { directChatId } from "../../server/actors/channels.js";
import { chatActor } from "../../server/actors/chat/ChatActor.js";
import type { ChatState } from "../../server/actors/chat/chatState.js";
import { ActorHost, type HostPorts } from "../../server/actors/runtime/ActorHost.js";
import type { ActorRef, CallEnvelope } from "../../server/actors/runtime/types.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { ActorJournal } from "../../server/persistence/stores/ActorJournal.js";

/**
 * The real ActorHost with the real chat actor: which refusals stick to a caller's key. A
 * retryable refusal ("chat is opening") must not: the caller's retry with the same key has to run
 * again. A final refusal must: a retry with the same key gets the first answer.
 */

let dir: string;
let storage: Storage;
let journal: ActorJournal;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-retryable-"));
  storage = openEmbeddedStorage(dir);
  journal = new ActorJournal(storage.tables, storage.blobs);
});

afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const DM = directChatId("alice", "bob");
const chatRef: ActorRef = { kind: "chat", id: DM };
const userRef = (id: string): ActorRef => ({ kind: "user", id });

function chatHost(id = DM) {
  const delivered: CallEnvelope[] = [];
  const ports: HostPorts = {
    open: async (key) => ({ ...(await journal.open(key)), release: async () => undefined }),
    deliver: async (envelope) => {
      delivered.push(envelope);
      return { ok: true, value: null };
    },
    publish: () => undefined,
    scheduleWake: async () => undefined,
    now: () => Date.now(),
    onStopped: () => undefined,
  };
  const host = new ActorHost({ kind: "chat", id }, chatActor, ports);
  return { host, delivered, state: () => host.state as ChatState };
}

/** A call from a client through a room: no sender, a caller-chosen key. */
const external = (key: string, command: unknown): CallEnvelope => ({ to: chatRef, from: null, key, command });
/** An outbox delivery from a user actor: its outbox counter is the key. */
const fromUser = (id: string, counter: number, command: unknown): CallEnvelope => ({
  to: chatRef,
  from: userRef(id),
  key: String(counter),
  command,
});
const openDirect = { type: "openDirect", members: ["alice", "bob"] };

describe("ActorHost: keyed refusals with the chat actor", () => {
  it("does not remember a retryable NOT_READY: the same key succeeds once the chat has opened", async () => {
    const { host, state } = chatHost();
    const post = { type: "post", by: "alice", text: "hello" };
    const key = "alice:cid-1";

    const early = await host.receive(external(key, post));
    expect(early).toMatchObject({ ok: false, error: { code: "NOT_READY", retryable: true } });
    // The client retries with the same cid while the chat is still opening: still not ready.
    expect(await host.receive(external(key, post))).toMatchObject({
      ok: false,
      error: { code: "NOT_READY", retryable: true },
    });
    expect(state().lastSeq).toBe(0);

    const opened = await host.receive(fromUser("bob", 1, openDirect));
    expect(opened).toEqual({ ok: true, value: { status: "opened" } });

    const retried = await host.receive(external(key, post));
    expect(retried).toMatchObject({ ok: true, value: { seq: 1 } });
    expect(state().lastSeq).toBe(1);
    expect(state().entries).toMatchObject([{ seq: 1, kind: "message", by: "alice", text: "hello" }]);

    // From now on the key is remembered: another retry answers the first result, with no second post.
    const again = await host.receive(external(key, post));
    expect(again).toEqual(retried);
    expect(state().lastSeq).toBe(1);
  });

  it("remembers a non-retryable refusal for its key, even once the state would allow the command", async () => {
    const { host, state } = chatHost();
    expect(await host.receive(fromUser("alice", 1, openDirect))).toMatchObject({ ok: true });

    // Bob reacts to a message that does not exist (yet): a final NOT_FOUND.
    const react = { type: "react", by: "bob", seq: 1, emoji: "👍", on: true };
    const key = "bob:cid-react";
    const refused = await host.receive(external(key, react));
    expect(refused).toMatchObject({ ok: false, error: { code: "NOT_FOUND", retryable: false } });

    // Now the message exists and the same reaction is allowed...
    const posted = await host.receive(external("alice:cid-post", { type: "post", by: "alice", text: "hi" }));
    expect(posted).toMatchObject({ ok: true, value: { seq: 1 } });

    // ...but a re-send of the refused key answers its first result and changes nothing.
    const resent = await host.receive(external(key, react));
    expect(resent).toEqual(refused);
    expect(state().lastSeq).toBe(1);
    expect(state().messages[1]?.reactions).toEqual({});

    // A new key (a new command) is decided afresh and succeeds: the refusal was the key's, not the state's.
    const fresh = await host.receive(external("bob:cid-react-2", react));
    expect(fresh).toEqual({ ok: true, value: { seq: 2 } });
    expect(state().messages[1]?.reactions).toEqual({ "👍": ["bob"] });
  });

  it("remembers a FORBIDDEN answer for its key, and a re-send changes nothing", async () => {
    const { host, state } = chatHost();
    await host.receive(fromUser("alice", 1, openDirect));
    await host.receive(external("alice:p1", { type: "post", by: "alice", text: "mine" }));

    // Bob may not edit Alice's message: final.
    const edit = { type: "edit", by: "bob", seq: 1, text: "his" };
    const refused = await host.receive(external("bob:e1", edit));
    expect(refused).toMatchObject({ ok: false, error: { code: "FORBIDDEN", retryable: false } });
    expect(await host.receive(external("bob:e1", edit))).toEqual(refused);
    expect(state().messages[1]?.text).toBe("mine");
  });
});
