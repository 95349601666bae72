import { describe, expect, it } from "vitest";
import { MAX_NOTIFICATIONS, type Notification, withNotification } from "../../protocol/realtime.js";
import { directChatId, groupChatId, userChannel } from "../../server/actors/channels.js";
import { chatActor } from "../../server/actors/chat/ChatActor.js";
import type { ActorRef, Decision } from "../../server/actors/runtime/types.js";
import { userActor } from "../../server/actors/user/UserActor.js";
import { initialUserState, meOf } from "../../server/actors/user/userState.js";
import { ActorHarness, ActorNetwork, accepted, codeOf, sentTo } from "../support/actorHarness.js";

const DM = directChatId("alice", "bob");
const GROUP = groupChatId("carol", "c1");
const HOUR = 3_600_000;
const userRef = (id: string): ActorRef => ({ kind: "user", id });
const chatRef = (id: string): ActorRef => ({ kind: "chat", id });
const fromUser = (id: string) => ({ from: userRef(id) });
const fromChat = (id: string) => ({ from: chatRef(id) });

const replyOf = (d: Decision<unknown, unknown>) => accepted(d).reply;

const newUser = (id: string) => new ActorHarness(userActor, id);

/** Messages of one type the actor publishes to its owner's devices. */
const published = (d: Decision<unknown, unknown> | undefined, type: string) =>
  (d?.ok ? (d.publish ?? []) : []).map((p) => p.message as { type: string }).filter((m) => m.type === type);

function network() {
  const net = new ActorNetwork();
  const alice = net.actor(userActor, "alice");
  const bob = net.actor(userActor, "bob");
  net.register(chatActor);
  return { net, alice, bob, chat: () => net.actor(chatActor, DM) };
}

/** Both sides of a match agree, exactly once each, and the pair's chat opened exactly once. */
function expectOneMatch({ net, alice, bob, chat }: ReturnType<typeof network>) {
  for (const [me, other] of [
    [alice, "bob"],
    [bob, "alice"],
  ] as const) {
    expect(Object.keys(me.state.matches)).toEqual([other]);
    expect(me.state.matches[other]?.chatId).toBe(DM);
    expect(me.journal.filter((e) => e.type === "matched")).toHaveLength(1);
    expect(me.state.notifications.filter((n) => n.kind === "match").map((n) => n.data)).toEqual([
      { userId: other, chatId: DM },
    ]);
    expect(me.state.chats[DM]).toMatchObject({ chatId: DM, kind: "direct", peer: other });
  }
  const opens = net.deliveredOf("openDirect", "chat");
  expect(opens.map((d) => d.from.id).sort()).toEqual(["alice", "bob"]);
  expect(opens.map((d) => replyOf(d.decision))).toEqual([{ status: "opened" }, { status: "open" }]);
  expect(chat().journal.filter((e) => e.type === "opened")).toHaveLength(1);
  expect(net.deliveredOf("chatJoined", "user")).toHaveLength(2);
  expect(net.delivered.filter((d) => !d.decision.ok)).toEqual([]);
}

describe("userActor: likes and matches", () => {
  it("likes once, tells the other user, and refuses liking oneself", () => {
    const alice = newUser("alice");
    const like = alice.run({ type: "like", userId: "bob" }, { now: 5 });
    expect(replyOf(like)).toEqual({ status: "liked" });
    expect(accepted(like).events).toEqual([{ type: "liked", userId: "bob", at: 5 }]);
    expect(accepted(like).send).toEqual([{ to: userRef("bob"), command: { type: "likeReceived" } }]);
    expect(alice.state.likesSent).toEqual({ bob: 5 });
    expect(alice.run({ type: "like", userId: "bob" })).toEqual({
      ok: true,
      reply: { status: "already-liked" },
    });
    expect(codeOf(alice.run({ type: "like", userId: "alice" }))).toBe("VALIDATION_FAILED");
    expect(alice.journal).toHaveLength(1);
  });

  it("makes exactly one match on each side when the likes come one after the other", () => {
    const pair = network();
    const { net, alice, bob } = pair;
    expect(replyOf(net.run(alice, { type: "like", userId: "bob" }))).toEqual({ status: "liked" });
    net.settle();
    expect(bob.state.likesReceived).toHaveProperty("alice");
    const like = net.run(bob, { type: "like", userId: "alice" });
    expect(replyOf(like)).toEqual({ status: "matched" });
    expect(sentTo(like, chatRef(DM))).toEqual([{ type: "openDirect", members: ["bob", "alice"] }]);
    expect(accepted(like).publish?.filter((p) => (p.message as { type: string }).type === "match")).toEqual([
      { channel: userChannel("bob"), message: { type: "match", userId: "alice", chatId: DM, at: net.now } },
    ]);
    net.settle();
    expectOneMatch(pair);
    expect(net.run(alice, { type: "like", userId: "bob" })).toEqual({
      ok: true,
      reply: { status: "matched" },
    });
  });

  it("makes exactly one match on each side when both like before either hears of the other", () => {
    const pair = network();
    const { net, alice, bob } = pair;
    expect(replyOf(net.run(alice, { type: "like", userId: "bob" }))).toEqual({ status: "liked" });
    expect(replyOf(net.run(bob, { type: "like", userId: "alice" }))).toEqual({ status: "liked" });
    expect(net.pending.map((m) => [m.to.id, m.command.type])).toEqual([
      ["bob", "likeReceived"],
      ["alice", "likeReceived"],
    ]);
    net.deliver((m) => m.command.type === "likeReceived");
    expect(net.deliveredOf("likeReceived").map((d) => d.decision.ok)).toEqual([true, true]);
    net.settle();
    expectOneMatch(pair);
  });

  it("unmatch tells the other side, closes the chat and ends the relation on both sides", () => {
    const pair = network();
    const { net, alice, bob, chat } = pair;
    net.run(alice, { type: "like", userId: "bob" });
    net.run(bob, { type: "like", userId: "alice" });
    net.settle();
    const unmatch = net.run(alice, { type: "unmatch", userId: "bob" });
    expect(replyOf(unmatch)).toEqual({ status: "unmatched" });
    expect(accepted(unmatch).send).toEqual([
      { to: userRef("bob"), command: { type: "unmatchedBy" } },
      { to: chatRef(DM), command: { type: "close" } },
    ]);
    net.settle();
    expect(chat().state.open).toBe(false);
    for (const me of [alice, bob]) {
      expect(me.state).toMatchObject({ matches: {}, likesSent: {}, likesReceived: {}, chats: {} });
    }
    expect(published(net.deliveredOf("unmatchedBy")[0]?.decision, "unmatched")).toEqual([
      { type: "unmatched", userId: "alice", chatId: DM },
    ]);
    expect(alice.run({ type: "unmatch", userId: "bob" })).toEqual({
      ok: true,
      reply: { status: "not-matched" },
    });
  });
});

describe("userActor: blocks and privacy", () => {
  it("hides the blocker from the blocked user: no likes, no profile", () => {
    const { net, alice, bob } = network();
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice" } }));
    expect(replyOf(net.run(bob, { type: "like", userId: "alice" }))).toEqual({ status: "liked" });
    const block = net.run(alice, { type: "block", userId: "bob" });
    expect(accepted(block).send).toEqual([{ to: userRef("bob"), command: { type: "blockedBy" } }]);
    net.settle();
    expect(alice.state.likesReceived).toEqual({});
    expect(bob.state.blockedBy).toHaveProperty("alice");
    expect(codeOf(bob.run({ type: "like", userId: "alice" }))).toBe("NOT_FOUND");
    expect(codeOf(alice.run({ type: "like", userId: "bob" }))).toBe("NOT_FOUND");
    expect(codeOf(alice.run({ type: "profile.view", viewer: "bob" }))).toBe("NOT_FOUND");
    expect(replyOf(alice.run({ type: "profile.view", viewer: "carol" }))).toMatchObject({ userId: "alice" });
    expect(alice.run({ type: "block", userId: "bob" })).toEqual({
      ok: true,
      reply: { status: "already-blocked" },
    });
  });

  it("closes the chat and ends the match on both sides when a match is blocked", () => {
    const { net, alice, bob, chat } = network();
    net.run(alice, { type: "like", userId: "bob" });
    net.run(bob, { type: "like", userId: "alice" });
    net.settle();
    const block = net.run(bob, { type: "block", userId: "alice" });
    expect(sentTo(block, chatRef(DM))).toEqual([{ type: "close" }]);
    expect(published(block, "unmatched")).toEqual([{ type: "unmatched", userId: "alice", chatId: DM }]);
    net.settle();
    expect(chat().state.open).toBe(false);
    expect([alice.state.matches, bob.state.matches, alice.state.chats, bob.state.chats]).toEqual([
      {},
      {},
      {},
      {},
    ]);
  });

  it("shows a matches-only profile to matches and the owner only", () => {
    const { net, alice, bob } = network();
    net.run(alice, { type: "like", userId: "bob" });
    net.run(bob, { type: "like", userId: "alice" });
    net.settle();
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice" } }));
    accepted(alice.run({ type: "settings.update", privacy: { profileVisibility: "matches" } }));
    const view = (viewer: string) => alice.run({ type: "profile.view", viewer });
    expect(replyOf(view("bob"))).toMatchObject({ userId: "alice", displayName: "Alice" });
    expect(codeOf(view("carol"))).toBe("NOT_FOUND");
    expect(codeOf(view("alice"))).toBe("ok");
    accepted(alice.run({ type: "settings.update", privacy: { profileVisibility: "everyone" } }));
    expect(codeOf(view("carol"))).toBe("ok");
  });

  it("hides a profile without a display name from everyone but its owner", () => {
    const carol = newUser("carol");
    expect(codeOf(carol.run({ type: "profile.view", viewer: "dave" }))).toBe("NOT_FOUND");
    expect(replyOf(carol.run({ type: "profile.view", viewer: "carol" }))).toMatchObject({ userId: "carol" });
  });

  it("treats prototype names as ordinary user ids", () => {
    const alice = newUser("alice");
    const unmatch = alice.run({ type: "unmatch", userId: "constructor" });
    const block = alice.run({ type: "block", userId: "toString" });
    expect({
      unmatch,
      blockSends: accepted(block).send,
      blockNotices: published(block, "unmatched"),
    }).toEqual({
      unmatch: { ok: true, reply: { status: "not-matched" } },
      blockSends: [{ to: userRef("toString"), command: { type: "blockedBy" } }],
      blockNotices: [],
    });
  });
});

describe("userActor: messages from actors", () => {
  const actorOnly = [
    { type: "likeReceived" },
    { type: "likeWithdrawn" },
    { type: "unmatchedBy" },
    { type: "blockedBy" },
    { type: "unblockedBy" },
    { type: "chatJoined", chatId: GROUP, kind: "group", fromSeq: 0 },
    { type: "chatLeft", chatId: GROUP, reason: "kicked" },
    { type: "chatActivity", chatId: GROUP, seq: 1, by: "carol" },
  ];

  it("refuses actor-only commands from clients and from the wrong actor", () => {
    const alice = newUser("alice");
    for (const command of actorOnly) expect(codeOf(alice.run(command)), command.type).toBe("FORBIDDEN");
    const joined = { type: "chatJoined", chatId: GROUP, kind: "group", fromSeq: 0 };
    expect(codeOf(alice.run(joined, fromChat(DM)))).toBe("FORBIDDEN");
    expect(codeOf(alice.run(joined, fromUser("bob")))).toBe("FORBIDDEN");
    expect(codeOf(alice.run({ type: "likeReceived" }, fromChat(DM)))).toBe("FORBIDDEN");
    expect(codeOf(alice.run({ type: "likeReceived" }, fromUser("alice")))).toBe("FORBIDDEN");
    expect(alice.journal).toEqual([]);
  });

  it("keeps the chat list from chatJoined and chatLeft", () => {
    const alice = newUser("alice");
    const joined = alice.run(
      { type: "chatJoined", chatId: GROUP, kind: "group", fromSeq: 4, title: "Hikers" },
      { ...fromChat(GROUP), now: 9 },
    );
    const membership = { chatId: GROUP, kind: "group", title: "Hikers", since: 9, fromSeq: 4 };
    expect(alice.state.chats).toEqual({ [GROUP]: membership });
    expect(published(joined, "chat.added")).toEqual([{ type: "chat.added", chat: membership }]);
    const left = alice.run({ type: "chatLeft", chatId: GROUP, reason: "kicked" }, fromChat(GROUP));
    expect(alice.state.chats).toEqual({});
    expect(published(left, "chat.removed")).toEqual([
      { type: "chat.removed", chatId: GROUP, reason: "kicked" },
    ]);
    expect(alice.run({ type: "chatLeft", chatId: GROUP, reason: "kicked" }, fromChat(GROUP))).toEqual({
      ok: true,
      reply: null,
    });
  });

  it("sends a new notification as its own event, not a rebuilt view, and the client's copy matches", () => {
    const alice = newUser("alice");
    accepted(alice.run({ type: "chatActivity", chatId: GROUP, seq: 1, by: "carol" }, fromChat(GROUP)));
    accepted(alice.run({ type: "notifications.read" }));
    // What a device holds after its last `me`; then only `notification` events arrive.
    let client = meOf(alice.state);
    for (let seq = 2; seq <= MAX_NOTIFICATIONS + 10; seq++) {
      const decision = alice.run({ type: "chatActivity", chatId: GROUP, seq, by: "carol" }, fromChat(GROUP));
      expect(published(decision, "me")).toEqual([]);
      const [event] = published(decision, "notification") as { type: string; notification: Notification }[];
      client = withNotification(client, event?.notification as Notification);
    }
    // The same view the server would send now: capped at MAX_NOTIFICATIONS, unread counted.
    expect(client).toEqual(meOf(alice.state));
    expect(client.unreadNotifications).toBe(MAX_NOTIFICATIONS);
    // Applying one twice (a re-sent event) changes nothing.
    const last = client.notifications.at(-1) as Notification;
    expect(withNotification(client, last)).toBe(client);
  });

  it("turns chatActivity into message notifications that can be read by id or all at once", () => {
    const alice = newUser("alice");
    for (const seq of [1, 5, 9]) {
      accepted(
        alice.run(
          { type: "chatActivity", chatId: GROUP, seq, by: "carol" },
          { ...fromChat(GROUP), now: seq },
        ),
      );
    }
    expect(alice.state.notifications).toEqual(
      [1, 5, 9].map((seq, i) => ({
        id: i + 1,
        kind: "message",
        at: seq,
        read: false,
        data: { chatId: GROUP, seq, by: "carol" },
      })),
    );
    expect(replyOf(alice.run({ type: "notifications.read", ids: [1, 3] }))).toEqual({ unread: 1 });
    expect(alice.state.notifications.map((n) => n.read)).toEqual([true, false, true]);
    expect(meOf(alice.state).unreadNotifications).toBe(1);
    expect(replyOf(alice.run({ type: "notifications.read" }))).toEqual({ unread: 0 });
    expect(alice.state.notifications.every((n) => n.read)).toBe(true);
  });

  it("caps the inbox at MAX_NOTIFICATIONS, dropping the oldest", () => {
    const alice = newUser("alice");
    const total = MAX_NOTIFICATIONS + 5;
    for (let seq = 1; seq <= total; seq++) {
      accepted(alice.run({ type: "chatActivity", chatId: GROUP, seq, by: "carol" }, fromChat(GROUP)));
    }
    expect(alice.state.notifications).toHaveLength(MAX_NOTIFICATIONS);
    expect(alice.state.notifications[0]?.id).toBe(6);
    expect(alice.state.notifications.at(-1)).toMatchObject({ id: total, data: { seq: total } });
  });
});

describe("userActor: events and settings", () => {
  it("sets a reminder an hour before a joined event, notifies on it, and cancels it on leaving", () => {
    const alice = newUser("alice");
    const startsAt = 10 * HOUR;
    const join = alice.run({ type: "eventJoined", eventId: "e1", startsAt }, { now: 0 });
    expect(accepted(join).reminders).toEqual({ set: [{ name: "event:e1", at: startsAt - HOUR }] });
    const reminded = alice.remind("event:e1", { now: startsAt - HOUR });
    expect(alice.state.notifications).toEqual([
      { id: 1, kind: "event", at: startsAt - HOUR, read: false, data: { eventId: "e1", startsAt } },
    ]);
    expect(published(reminded, "notification")).toHaveLength(1);
    expect(alice.remind("event:other")).toEqual({ ok: true, reply: null });
    const leave = alice.run({ type: "eventLeft", eventId: "e1" });
    expect(accepted(leave).reminders).toEqual({ cancel: ["event:e1"] });
    expect(alice.remind("event:e1")).toEqual({ ok: true, reply: null });
    const soon = alice.run({ type: "eventJoined", eventId: "e2", startsAt: HOUR / 2 }, { now: 0 });
    expect(accepted(soon).reminders?.set).toBeUndefined();
    expect(alice.state.notifications).toHaveLength(1);
  });

  it("refuses minAge above maxAge and merges partial profile and privacy updates", () => {
    const alice = newUser("alice");
    const prefs = (minAge: number, maxAge: number) => ({ genders: [], minAge, maxAge, city: "" });
    expect(codeOf(alice.run({ type: "settings.update", preferences: prefs(40, 30) }))).toBe(
      "VALIDATION_FAILED",
    );
    accepted(
      alice.run({ type: "settings.update", preferences: prefs(30, 30), privacy: { showOnline: false } }),
    );
    expect(alice.state.preferences).toEqual(prefs(30, 30));
    expect(alice.state.privacy).toEqual({
      discoverable: true,
      profileVisibility: "everyone",
      showOnline: false,
      showLastSeen: true,
    });
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice" } }));
    accepted(alice.run({ type: "profile.update", profile: { city: "Oslo", interests: ["hiking"] } }));
    expect(alice.state.profile).toEqual({
      displayName: "Alice",
      bio: "",
      birthYear: null,
      gender: null,
      city: "Oslo",
      interests: ["hiking"],
    });
  });

  it("meOf hands out a copy", () => {
    const alice = newUser("alice");
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice", interests: ["a"] } }));
    accepted(alice.run({ type: "chatActivity", chatId: GROUP, seq: 1, by: "carol" }, fromChat(GROUP)));
    const me = meOf(alice.state) as unknown as {
      profile: { displayName: string; interests: string[] };
      notifications: { read: boolean }[];
    };
    me.profile.displayName = "Mallory";
    me.profile.interests.push("b");
    (me.notifications[0] as { read: boolean }).read = true;
    expect(alice.state.profile).toMatchObject({ displayName: "Alice", interests: ["a"] });
    expect(alice.state.notifications[0]?.read).toBe(false);
  });
});

describe("userActor: races, erasure, export and photos", () => {
  /** Alice likes Bob and Bob hears of it; Bob likes back (a match on his side, nowhere else yet). */
  function likeBackPending() {
    const pair = network();
    const { net, alice, bob } = pair;
    net.run(alice, { type: "like", userId: "bob" });
    net.settle();
    expect(replyOf(net.run(bob, { type: "like", userId: "alice" }))).toEqual({ status: "matched" });
    // Alice unlikes before Bob's like-back reaches her.
    expect(replyOf(net.run(alice, { type: "unlike", userId: "bob" }))).toEqual({ status: "unliked" });
    expect(Object.keys(alice.state.matches)).toEqual([]);
    expect(Object.keys(bob.state.matches)).toEqual(["alice"]);
    return pair;
  }

  it("likeWithdrawn while matched (the unlike raced the like-back) ends the match and closes the chat", () => {
    const pair = likeBackPending();
    const { net, alice, bob, chat } = pair;
    const [withdrawn] = net.deliver((m) => m.command.type === "likeWithdrawn");
    expect(withdrawn?.to).toEqual(userRef("bob"));
    const decision = withdrawn?.decision as Decision<unknown, unknown>;
    expect(accepted(decision).events).toEqual([{ type: "unmatched", userId: "alice" }]);
    // Bob's like goes with the match, and Alice is told so (else her next like matches one-sidedly).
    expect(accepted(decision).send).toEqual([
      { to: chatRef(DM), command: { type: "close" } },
      { to: userRef("alice"), command: { type: "likeWithdrawn" } },
    ]);
    expect(published(decision, "unmatched")).toEqual([{ type: "unmatched", userId: "alice", chatId: DM }]);
    expect(bob.state.matches).toEqual({});

    net.settle();
    expect(net.delivered.filter((d) => !d.decision.ok)).toEqual([]);
    // The chat opened by Bob's like-back is closed again, and neither side keeps a match or the chat.
    expect(chat().state.open).toBe(false);
    expect(net.deliveredOf("close", "chat").map((d) => replyOf(d.decision))).toEqual([{ status: "closed" }]);
    for (const me of [alice, bob]) {
      expect(me.state.matches).toEqual({});
      expect(me.state.chats).toEqual({});
    }
  });

  it("after the raced unlike is undone, a new like never leaves a one-sided match", () => {
    const pair = likeBackPending();
    const { net, alice, bob } = pair;
    net.settle();
    net.run(alice, { type: "like", userId: "bob" });
    net.settle();
    // Whatever the outcome (matched again or just liked), both sides must agree on it.
    const aliceMatched = Object.hasOwn(alice.state.matches, "bob");
    const bobMatched = Object.hasOwn(bob.state.matches, "alice");
    expect({ aliceMatched, bobMatched }, "a match exists on both sides or on neither").toEqual(
      aliceMatched ? { aliceMatched: true, bobMatched: true } : { aliceMatched: false, bobMatched: false },
    );
    // And each side's record of the other's like matches what the other side holds.
    expect(Object.hasOwn(alice.state.likesReceived, "bob")).toBe(Object.hasOwn(bob.state.likesSent, "alice"));
  });

  it("erase resets the state, tells each match and forgets the user in each chat", () => {
    const pair = network();
    const { net, alice, bob, chat } = pair;
    net.run(alice, { type: "like", userId: "bob" });
    net.run(bob, { type: "like", userId: "alice" });
    net.settle();
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice", city: "Oslo" } }));
    accepted(alice.run({ type: "photosSynced", photoIds: ["p1"] }));
    accepted(
      alice.run(
        { type: "chatJoined", chatId: GROUP, kind: "group", fromSeq: 0, title: "Hikers" },
        fromChat(GROUP),
      ),
    );
    expect(Object.keys(alice.state.chats).sort()).toEqual([DM, GROUP].sort());

    const erase = net.run(alice, { type: "erase" });
    expect(replyOf(erase)).toEqual({ chats: 2, matches: 1 });
    expect(accepted(erase).events).toEqual([{ type: "erased" }]);
    expect(accepted(erase).send).toEqual(
      expect.arrayContaining([
        { to: userRef("bob"), command: { type: "unmatchedBy" } },
        { to: chatRef(DM), command: { type: "forget" } },
        { to: chatRef(GROUP), command: { type: "forget" } },
      ]),
    );
    expect(accepted(erase).send).toHaveLength(3);
    expect(published(erase, "me")).toHaveLength(1);
    expect(alice.state).toEqual(initialUserState("alice"));

    net.deliver((m) => m.to.kind === "user" || m.to.id === DM);
    expect(bob.state.matches).toEqual({});
    expect(published(net.deliveredOf("unmatchedBy")[0]?.decision, "unmatched")).toEqual([
      { type: "unmatched", userId: "alice", chatId: DM },
    ]);
    expect(replyOf(net.deliveredOf("forget")[0]?.decision as Decision<unknown, unknown>)).toEqual({
      status: "forgotten",
    });
    expect(chat().state.open).toBe(false);
    expect(Object.keys(chat().state.members)).toEqual(["bob"]);
  });

  it("export returns the whole state as a copy and records nothing", () => {
    const alice = newUser("alice");
    accepted(alice.run({ type: "profile.update", profile: { displayName: "Alice" } }));
    accepted(alice.run({ type: "like", userId: "bob" }, { now: 3 }));
    accepted(alice.run({ type: "chatActivity", chatId: GROUP, seq: 1, by: "carol" }, fromChat(GROUP)));
    const journal = alice.journal.length;
    const exported = alice.run({ type: "export" });
    expect(exported.ok && (exported.events ?? []).length).toBe(0);
    expect(exported.ok && (exported.publish ?? []).length).toBe(0);
    const reply = replyOf(exported) as typeof alice.state;
    expect(reply).toEqual(alice.state);
    expect(reply).not.toBe(alice.state);
    expect(reply).toMatchObject({ id: "alice", profile: { displayName: "Alice" }, likesSent: { bob: 3 } });
    reply.profile.displayName = "Mallory";
    reply.likesSent.eve = 1;
    expect(alice.state.profile.displayName).toBe("Alice");
    expect(alice.state.likesSent).toEqual({ bob: 3 });
    expect(alice.journal).toHaveLength(journal);
  });

  it("photosSynced replaces the photo list, and is a no-op without events when unchanged", () => {
    const alice = newUser("alice");
    const sync = (photoIds: string[]) => alice.run({ type: "photosSynced", photoIds });

    const first = sync(["p1", "p2"]);
    expect(replyOf(first)).toEqual({ photos: ["p1", "p2"] });
    expect(accepted(first).events).toEqual([{ type: "photosSynced", photoIds: ["p1", "p2"] }]);
    expect(published(first, "me")).toHaveLength(1);
    expect(alice.state.photos).toEqual(["p1", "p2"]);

    const same = sync(["p1", "p2"]);
    expect(same).toEqual({ ok: true, reply: { photos: ["p1", "p2"] } });
    expect(alice.journal).toHaveLength(1);

    const reordered = sync(["p2", "p1"]);
    expect(accepted(reordered).events).toHaveLength(1);
    expect(alice.state.photos).toEqual(["p2", "p1"]);
    accepted(sync(["p2"]));
    expect(alice.state.photos).toEqual(["p2"]);
    accepted(sync([]));
    expect(alice.state.photos).toEqual([]);
    expect(sync([])).toEqual({ ok: true, reply: { photos: [] } });
    expect(alice.journal).toHaveLength(4);
  });
});
