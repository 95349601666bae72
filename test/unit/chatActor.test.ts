import { describe, expect, it } from "vitest";
import type { ChatEntry, CommandResults } from "../../protocol/realtime.js";
import { chatChannel, directChatId, groupChatId } from "../../server/actors/channels.js";
import { ChatCommand, chatActor } from "../../server/actors/chat/ChatActor.js";
import {
  type ChatEvent,
  type ChatState,
  MAX_GROUP_MEMBERS,
  RETAINED_ENTRIES,
} from "../../server/actors/chat/chatState.js";
import type { Decision } from "../../server/actors/runtime/types.js";
import { ActorHarness, accepted, codeOf, only, sentTo } from "../support/actorHarness.js";

const user = (id: string) => ({ kind: "user", id });
const DM = directChatId("alice", "bob");
const GROUP = groupChatId("alice", "c1");

type Chat = ActorHarness<ChatState, ChatCommand, ChatEvent, unknown>;
type Since = { entries?: ChatEntry[]; more?: boolean; resync?: true };

function direct(a = "alice", b = "bob"): Chat {
  const chat = new ActorHarness(chatActor, directChatId(a, b));
  accepted(chat.run({ type: "openDirect", members: [a, b] }, { from: user(a) }));
  return chat;
}

function group(members: string[], now = 1_000): Chat {
  const chat = new ActorHarness(chatActor, GROUP);
  accepted(chat.run({ type: "createGroup", by: "alice", title: "Hikers", members }, { now }));
  return chat;
}

const post = (chat: Chat, by: string, text = "hi", now?: number) =>
  chat.run({ type: "post", by, text }, now === undefined ? {} : { now });
const seqOf = (d: Decision<unknown, unknown>) => (accepted(d).reply as { seq: number | null }).seq;
const info = (chat: Chat, by: string) => accepted(chat.run({ type: "info", by })).reply as { unread: number };
const historyOf = (chat: Chat, extra: { before?: number; limit?: number } = {}) =>
  accepted(chat.run({ type: "history", by: "bob", ...extra })).reply as CommandResults["chat.history"];
const since = (chat: Chat, after: number, limit?: number) =>
  accepted(chat.run({ type: "since", by: "bob", after, ...(limit ? { limit } : {}) })).reply as Since;
const seqs = (messages: readonly { seq: number }[]) => messages.map((m) => m.seq);
const codes = (chat: Chat, ...commands: object[]) => commands.map((c) => codeOf(chat.run(c)));
const activity = (seq: number, by: string) => ({ type: "chatActivity", chatId: DM, seq, by });
const JOINED_GROUP = { type: "chatJoined", chatId: GROUP, kind: "group", fromSeq: 0, title: "Hikers" };

describe("chatActor: direct chats", () => {
  it("opens only for one of the two users of the pair, from their user actor", () => {
    const chat = new ActorHarness(chatActor, DM);
    const open = (members: string[], from: { kind: string; id: string } | null) =>
      codeOf(chat.run({ type: "openDirect", members }, { from }));
    expect([
      open(["alice", "bob"], null),
      open(["alice", "bob"], user("carol")),
      open(["alice", "bob"], { kind: "chat", id: "alice" }),
      open(["alice", "carol"], user("alice")),
      open(["alice", "alice"], user("alice")),
    ]).toEqual(Array(5).fill("FORBIDDEN"));
    expect(chat.journal).toEqual([]);
    expect(open(["alice", "bob"], user("bob"))).toBe("ok");
  });

  it("opens once and tells both users, each with the other as peer", () => {
    const chat = new ActorHarness(chatActor, DM);
    const first = chat.run(
      { type: "openDirect", members: ["alice", "bob"] },
      { from: user("alice"), now: 5 },
    );
    expect(first).toMatchObject({ ok: true, reply: { status: "opened" } });
    const joined = (peer: string) => ({ type: "chatJoined", chatId: DM, kind: "direct", fromSeq: 0, peer });
    expect(accepted(first).send).toEqual([
      { to: user("alice"), command: joined("bob") },
      { to: user("bob"), command: joined("alice") },
    ]);
    expect(chat.state).toMatchObject({ kind: "direct", open: true, createdAt: 5, lastSeq: 0 });
    expect(Object.keys(chat.state.members).sort()).toEqual(["alice", "bob"]);

    const second = chat.run({ type: "openDirect", members: ["bob", "alice"] }, { from: user("bob"), now: 9 });
    expect(second).toEqual(only({ status: "open" }));
    expect(chat.journal).toHaveLength(1);
  });

  it("answers NOT_READY before a direct chat opens and NOT_FOUND to non-members", () => {
    expect(codeOf(post(new ActorHarness(chatActor, DM), "alice"))).toBe("NOT_READY");
    expect(codeOf(post(new ActorHarness(chatActor, GROUP), "alice"))).toBe("NOT_FOUND");
    const chat = direct();
    for (const command of [
      { type: "post", by: "carol", text: "hi" },
      { type: "read", by: "carol", seq: 0 },
      { type: "history", by: "carol" },
      { type: "since", by: "carol", after: 0 },
      { type: "info", by: "carol" },
    ]) {
      expect(codeOf(chat.run(command)), command.type).toBe("NOT_FOUND");
    }
  });
});

describe("chatActor: messages", () => {
  it("numbers messages, edits and reactions gap-free and publishes each with the seq evolve gives it", () => {
    const chat = direct();
    const first = post(chat, "alice", "hello", 10);
    expect(accepted(first).reply).toEqual({ seq: 1, at: 10 });
    const entry = { seq: 1, at: 10, by: "alice", kind: "message", text: "hello" };
    const message = { type: "chat", chatId: DM, seq: 1, entry };
    expect(accepted(first).publish).toEqual([{ channel: chatChannel(DM), message }]);
    const decisions = [
      first,
      post(chat, "bob", "hey", 11),
      chat.run({ type: "edit", by: "alice", seq: 1, text: "hello!" }),
      chat.run({ type: "react", by: "bob", seq: 1, emoji: "👍", on: true }),
      post(chat, "alice", "third", 12),
    ];
    expect(decisions.map(seqOf)).toEqual([1, 2, 3, 4, 5]);
    expect(chat.state.lastSeq).toBe(5);
    expect(chat.state.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    decisions.forEach((d, i) => {
      const message = accepted(d).publish?.[0]?.message as { seq: number; entry: ChatEntry };
      expect(message.seq).toBe(i + 1);
      expect(message.entry).toEqual(chat.state.entries[i]);
    });
  });

  it("lets only the author edit or delete, and keeps a tombstone of a deleted message", () => {
    const chat = direct();
    accepted(chat.run({ type: "post", by: "alice", text: "hello", photoId: "p1" }, { now: 10 }));
    expect(
      codes(
        chat,
        { type: "edit", by: "bob", seq: 1, text: "mine" },
        { type: "delete", by: "bob", seq: 1 },
        { type: "edit", by: "alice", seq: 99, text: "?" },
      ),
    ).toEqual(["FORBIDDEN", "FORBIDDEN", "NOT_FOUND"]);
    accepted(chat.run({ type: "edit", by: "alice", seq: 1, text: "hello!" }, { now: 20 }));
    expect(chat.state.messages[1]).toMatchObject({ text: "hello!", editedAt: 20, photoId: "p1" });
    accepted(chat.run({ type: "react", by: "bob", seq: 1, emoji: "👍", on: true }));
    expect(seqOf(chat.run({ type: "delete", by: "alice", seq: 1 }))).toBe(4);

    expect(historyOf(chat).messages).toEqual([
      { seq: 1, at: 10, by: "alice", text: null, deleted: true, reactions: {} },
    ]);
    expect(
      codes(
        chat,
        { type: "edit", by: "alice", seq: 1, text: "back" },
        { type: "delete", by: "alice", seq: 1 },
        { type: "react", by: "bob", seq: 1, emoji: "👍", on: true },
      ),
    ).toEqual(["CONFLICT", "CONFLICT", "NOT_FOUND"]);
    expect(chat.state.lastSeq).toBe(4);
  });

  it("toggles reactions, answers a repeated one with seq null, and never changes handed-out views", () => {
    const chat = direct();
    accepted(post(chat, "alice"));
    const react = (by: string, on: boolean) => chat.run({ type: "react", by, seq: 1, emoji: "❤", on });
    expect(seqOf(react("bob", true))).toBe(2);
    const before = historyOf(chat).messages[0];
    expect(react("bob", true)).toEqual(only({ seq: null }));
    expect(chat.journal).toHaveLength(3);
    expect(seqOf(react("alice", true))).toBe(3);
    expect(chat.state.messages[1]?.reactions).toEqual({ "❤": ["bob", "alice"] });
    expect(seqOf(react("bob", false))).toBe(4);
    expect(react("bob", false)).toEqual(only({ seq: null }));
    expect(seqOf(react("alice", false))).toBe(5);
    expect(chat.state.messages[1]?.reactions).toEqual({});
    expect(before?.reactions).toEqual({ "❤": ["bob"] });
  });

  it("moves read watermarks forward only, clamped to lastSeq, counting only others' messages", () => {
    const chat = direct();
    accepted(post(chat, "alice"));
    expect(info(chat, "bob").unread).toBe(1);
    accepted(post(chat, "alice"));
    expect(info(chat, "bob").unread).toBe(2);
    expect(info(chat, "alice").unread).toBe(0);

    const read = chat.run({ type: "read", by: "bob", seq: 1 });
    expect(read).toMatchObject(only({ readSeq: 1, unread: 1 }));
    expect(accepted(read).publish).toMatchObject([
      { channel: chatChannel(DM), message: { type: "read", chatId: DM, userId: "bob", seq: 1 } },
    ]);
    const events = chat.journal.length;
    expect(chat.run({ type: "read", by: "bob", seq: 1 })).toEqual(only({ readSeq: 1, unread: 1 }));
    expect(chat.run({ type: "read", by: "bob", seq: 0 })).toEqual(only({ readSeq: 1, unread: 1 }));
    expect(chat.journal).toHaveLength(events);

    expect(chat.run({ type: "read", by: "bob", seq: 99 })).toMatchObject({
      reply: { readSeq: 2, unread: 0 },
    });
    expect(chat.state.members.bob).toMatchObject({ readSeq: 2, unread: 0 });
    accepted(chat.run({ type: "edit", by: "alice", seq: 2, text: "edited" }));
    expect(info(chat, "bob").unread).toBe(0);
    accepted(post(chat, "bob"));
    expect(info(chat, "alice").unread).toBe(1);
    expect(info(chat, "bob").unread).toBe(0);
  });

  it("sends one chatActivity per read cycle to each other member", () => {
    const chat = direct();
    expect(accepted(post(chat, "alice")).send).toEqual([{ to: user("bob"), command: activity(1, "alice") }]);
    expect(accepted(post(chat, "alice")).send ?? []).toEqual([]);
    expect(accepted(post(chat, "alice")).send ?? []).toEqual([]);
    accepted(chat.run({ type: "read", by: "bob", seq: 3 }));
    expect(sentTo(post(chat, "alice"), user("bob"))).toEqual([activity(4, "alice")]);
    expect(accepted(post(chat, "bob")).send).toEqual([{ to: user("alice"), command: activity(5, "bob") }]);
  });
});

describe("chatActor: history and catch-up", () => {
  function seven(): Chat {
    const chat = direct();
    for (let i = 1; i <= 5; i++) accepted(post(chat, "alice", `m${i}`));
    accepted(chat.run({ type: "react", by: "bob", seq: 2, emoji: "👍", on: true }));
    accepted(post(chat, "alice", "m6"));
    return chat;
  }

  it("pages messages backwards with before and limit", () => {
    const chat = seven();
    const all = historyOf(chat);
    expect(seqs(all.messages)).toEqual([1, 2, 3, 4, 5, 7]);
    expect(all).toMatchObject({ more: false, oldestSeq: 1 });
    expect(all.messages[1]?.reactions).toEqual({ "👍": ["bob"] });
    const page = historyOf(chat, { limit: 2 });
    expect([seqs(page.messages), page.more]).toEqual([[5, 7], true]);
    const older = historyOf(chat, { before: 5, limit: 2 });
    expect([seqs(older.messages), older.more]).toEqual([[3, 4], true]);
    const oldest = historyOf(chat, { before: 3, limit: 2 });
    expect([seqs(oldest.messages), oldest.more]).toEqual([[1, 2], false]);
  });

  it("returns exactly the entries after a seq, in order", () => {
    const chat = seven();
    expect(seqs(since(chat, 3).entries ?? [])).toEqual([4, 5, 6, 7]);
    expect(since(chat, 3).entries?.[2]).toMatchObject({ kind: "reaction", target: 2 });
    expect(since(chat, 3, 2)).toMatchObject({ more: true });
    expect(seqs(since(chat, 3, 2).entries ?? [])).toEqual([4, 5]);
    expect(since(chat, 0).entries).toEqual(chat.state.entries);
    expect(since(chat, 7)).toEqual({ chatId: DM, entries: [], more: false });
  });

  it("asks for a resync when the seq is older than the retained window", () => {
    const chat = direct();
    const total = RETAINED_ENTRIES + 10;
    for (let i = 1; i <= total; i++) accepted(post(chat, i % 2 ? "alice" : "bob", `m${i}`));
    expect(chat.state.entries).toHaveLength(RETAINED_ENTRIES);
    const oldest = total - RETAINED_ENTRIES + 1;
    expect(chat.state.entries[0]?.seq).toBe(oldest);
    expect(since(chat, 0)).toEqual({ chatId: DM, resync: true, lastSeq: total, oldestSeq: oldest });
    expect(since(chat, oldest - 2)).toMatchObject({ resync: true });
    const fromOldest = since(chat, oldest - 1, 3);
    expect(seqs(fromOldest.entries ?? [])).toEqual([oldest, oldest + 1, oldest + 2]);
    expect(historyOf(chat, { before: oldest })).toEqual({ messages: [], more: false, oldestSeq: oldest });
    expect(chat.state.messages[oldest - 1]).toBeUndefined();
    expect(codeOf(chat.run({ type: "edit", by: "alice", seq: 1, text: "x" }))).toBe("NOT_FOUND");
  });
});

describe("chatActor: groups", () => {
  it("creates a group once; a re-sent create answers the same id and anyone else learns nothing", () => {
    const chat = new ActorHarness(chatActor, GROUP);
    const members = ["bob", "carol", "bob", "alice"];
    const create = { type: "createGroup", by: "alice", title: "Hikers", members };
    const first = chat.run(create, { now: 7 });
    expect(accepted(first).reply).toEqual({ chatId: GROUP });
    expect(Object.entries(chat.state.members).map(([id, m]) => [id, m.role])).toEqual([
      ["alice", "owner"],
      ["bob", "member"],
      ["carol", "member"],
    ]);
    for (const id of ["alice", "bob", "carol"]) {
      expect(sentTo(first, user(id))).toEqual([JOINED_GROUP]);
    }
    expect(chat.run(create)).toEqual(only({ chatId: GROUP }));
    expect(codes(chat, { ...create, by: "bob" }, { ...create, by: "dave" })).toEqual([
      "NOT_FOUND",
      "NOT_FOUND",
    ]);
    expect(chat.journal).toHaveLength(1);
    const wrongId = new ActorHarness(chatActor, DM);
    expect(codeOf(wrongId.run(create))).toBe("BAD_REQUEST");
  });

  it("lets owners and admins invite, not members, up to MAX_GROUP_MEMBERS", () => {
    const chat = group(["bob"]);
    const invites = codes(
      chat,
      { type: "invite", by: "bob", userId: "carol" },
      { type: "invite", by: "dave", userId: "carol" },
    );
    expect(invites).toEqual(["FORBIDDEN", "NOT_FOUND"]);
    accepted(chat.run({ type: "role", by: "alice", userId: "bob", role: "admin" }));
    const invite = chat.run({ type: "invite", by: "bob", userId: "carol" });
    expect(seqOf(invite)).toBe(2);
    // The invitee receives the entries after the group's seq at the time of the invite.
    expect(sentTo(invite, user("carol"))).toEqual([{ ...JOINED_GROUP, fromSeq: 1 }]);
    expect(chat.state.members.carol).toMatchObject({ role: "member", readSeq: 2, unread: 0 });
    expect(chat.run({ type: "invite", by: "alice", userId: "carol" })).toEqual(only({ seq: null }));

    const others = Array.from({ length: MAX_GROUP_MEMBERS - 1 }, (_, i) => `u${i}`);
    const full = group(others);
    expect(Object.keys(full.state.members)).toHaveLength(MAX_GROUP_MEMBERS);
    expect(codeOf(full.run({ type: "invite", by: "alice", userId: "late" }))).toBe("CONFLICT");
    const tooMany = { type: "createGroup", by: "alice", title: "x", members: [...others, "late"] };
    expect(ChatCommand.safeParse(tooMany).success).toBe(false);
  });

  it("lets admins remove members only, and the owner anyone but themself", () => {
    const chat = group(["bob", "carol", "dave", "erin"]);
    accepted(chat.run({ type: "role", by: "alice", userId: "bob", role: "admin" }));
    accepted(chat.run({ type: "role", by: "alice", userId: "carol", role: "admin" }));
    const kick = (by: string, userId: string) => chat.run({ type: "kick", by, userId });
    expect(
      [kick("bob", "carol"), kick("bob", "alice"), kick("erin", "dave"), kick("alice", "alice")].map(codeOf),
    ).toEqual(["FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
    const byAdmin = kick("bob", "dave");
    expect(sentTo(byAdmin, user("dave"))).toEqual([{ type: "chatLeft", chatId: GROUP, reason: "kicked" }]);
    expect(codeOf(post(chat, "dave"))).toBe("NOT_FOUND");
    expect(kick("bob", "dave")).toEqual(only({ seq: null }));
    expect(seqOf(kick("alice", "carol"))).toBe(chat.state.lastSeq);
    expect(Object.keys(chat.state.members).sort()).toEqual(["alice", "bob", "erin"]);
  });

  it("lets only the owner change roles", () => {
    const chat = group(["bob", "carol"]);
    const role = (by: string, userId: string, role = "admin") => chat.run({ type: "role", by, userId, role });
    expect(
      [role("bob", "carol"), role("alice", "zed"), role("alice", "alice", "member")].map(codeOf),
    ).toEqual(["FORBIDDEN", "NOT_FOUND", "NOT_FOUND"]);
    expect(role("alice", "bob", "member")).toEqual(only({ seq: null }));
    expect(seqOf(role("alice", "bob"))).toBe(1);
    expect(codeOf(role("bob", "carol"))).toBe("FORBIDDEN");
    expect(chat.state.members.bob?.role).toBe("admin");
  });

  it("hands the group of a leaving owner to the oldest admin, else the oldest member", () => {
    const withAdmin = group(["bob", "carol"], 1);
    accepted(withAdmin.run({ type: "invite", by: "alice", userId: "dave" }, { now: 5 }));
    accepted(withAdmin.run({ type: "role", by: "alice", userId: "dave", role: "admin" }));
    const leave = withAdmin.run({ type: "leave", by: "alice" });
    expect(sentTo(leave, user("alice"))).toEqual([{ type: "chatLeft", chatId: GROUP, reason: "left" }]);
    expect(withAdmin.state.members.dave?.role).toBe("owner");
    expect(withAdmin.state.members.alice).toBeUndefined();
    expect(withAdmin.state.open).toBe(true);

    const noAdmin = group(["carol"], 1);
    accepted(noAdmin.run({ type: "invite", by: "alice", userId: "bob" }, { now: 2 }));
    accepted(noAdmin.run({ type: "leave", by: "alice" }));
    expect(noAdmin.state.members.carol?.role).toBe("owner");
    expect(noAdmin.state.members.bob?.role).toBe("member");
  });

  it("closes the group when its last member leaves", () => {
    const chat = group(["bob"]);
    accepted(chat.run({ type: "leave", by: "bob" }));
    expect(chat.state.open).toBe(true);
    accepted(chat.run({ type: "leave", by: "alice" }));
    expect(chat.state).toMatchObject({ open: false, members: {} });
    expect(chat.state.entries.at(-1)).toMatchObject({ kind: "closed", by: "alice" });
  });

  it("refuses group changes in a direct chat", () => {
    const chat = direct();
    for (const command of [
      { type: "invite", by: "alice", userId: "carol" },
      { type: "leave", by: "alice" },
      { type: "kick", by: "alice", userId: "bob" },
      { type: "role", by: "alice", userId: "bob", role: "admin" },
    ]) {
      expect(codeOf(chat.run(command)), command.type).toBe("FORBIDDEN");
    }
    expect(chat.journal).toHaveLength(1);
  });

  it("treats prototype names as ordinary user ids", () => {
    const chat = group(["bob"]);
    const kick = chat.run({ type: "kick", by: "alice", userId: "constructor" });
    // decide only: folding a "role" change for `toString` would write onto a shared builtin.
    const role = chatActor.decide(
      chat.state,
      { type: "role", by: "alice", userId: "toString", role: "admin" },
      { now: 1, self: chat.ref, from: null },
    );
    const invite = chat.run({ type: "invite", by: "constructor", userId: "carol" });
    expect({ kick, role: codeOf(role), invite: codeOf(invite), lastSeq: chat.state.lastSeq }).toEqual({
      kick: only({ seq: null }),
      role: "NOT_FOUND",
      invite: "NOT_FOUND",
      lastSeq: 0,
    });
  });
});

describe("chatActor: close and validation", () => {
  it("closes when a member's user actor asks, telling every member", () => {
    const chat = direct();
    accepted(post(chat, "alice"));
    const close = { type: "close" };
    expect(codeOf(chat.run(close))).toBe("FORBIDDEN");
    expect(codeOf(chat.run(close, { from: user("carol") }))).toBe("FORBIDDEN");
    expect(codeOf(chat.run(close, { from: { kind: "chat", id: "alice" } }))).toBe("FORBIDDEN");
    const closed = chat.run(close, { from: user("alice"), now: 50 });
    expect(accepted(closed).reply).toEqual({ status: "closed" });
    expect(accepted(closed).send).toEqual([
      { to: user("alice"), command: { type: "chatLeft", chatId: DM, reason: "closed" } },
      { to: user("bob"), command: { type: "chatLeft", chatId: DM, reason: "closed" } },
    ]);
    expect(chat.state.entries.at(-1)).toEqual({ seq: 2, at: 50, by: "alice", kind: "closed" });
    expect(chat.state.open).toBe(false);
    expect(codeOf(post(chat, "bob"))).toBe("CONFLICT");
    expect(codeOf(chat.run({ type: "edit", by: "alice", seq: 1, text: "x" }))).toBe("CONFLICT");
    expect(codeOf(chat.run({ type: "react", by: "bob", seq: 1, emoji: "👍", on: true }))).toBe("CONFLICT");
    expect(chat.run(close, { from: user("bob") })).toEqual(only({ status: "closed" }));
    expect(seqs(historyOf(chat).messages)).toEqual([1]);
  });

  it("validates commands strictly", () => {
    const bad = [
      { type: "post", by: "a", text: "x", extra: 1 },
      { type: "post", by: "a", text: "" },
      { type: "post", by: "a", text: "x".repeat(4001) },
      { type: "post", by: "a b", text: "x" },
      { type: "openDirect", members: ["a", "b", "c"] },
      { type: "close", by: "a" },
      { type: "history", by: "a", limit: 101 },
      { type: "since", by: "a", after: -1 },
      { type: "react", by: "a", seq: 1, emoji: "x".repeat(17), on: true },
      { type: "role", by: "a", userId: "b", role: "owner" },
      { type: "typing", by: "a" },
    ];
    for (const command of bad)
      expect(ChatCommand.safeParse(command).success, JSON.stringify(command)).toBe(false);
    expect(ChatCommand.safeParse({ type: "post", by: "a", text: "x".repeat(4000) }).success).toBe(true);
    expect(ChatCommand.safeParse({ type: "since", by: "a", after: 0, limit: 500 }).success).toBe(true);
  });
});

describe("chatActor: prototype-named emoji, join floors and forgetting a user", () => {
  const reactionsOf = (chat: Chat, seq: number) => chat.state.messages[seq]?.reactions ?? {};

  for (const emoji of ["constructor", "__proto__", "toString"]) {
    it(`toggles the reaction "${emoji}" like any other emoji`, () => {
      const chat = direct();
      accepted(post(chat, "alice"));
      const react = (by: string, on: boolean) => chat.run({ type: "react", by, seq: 1, emoji, on });

      expect(seqOf(react("bob", true))).toBe(2);
      expect(Object.entries(reactionsOf(chat, 1))).toEqual([[emoji, ["bob"]]]);
      expect(Object.getPrototypeOf(reactionsOf(chat, 1))).toBe(Object.prototype);
      // Repeating an "on" changes nothing.
      expect(react("bob", true)).toEqual(only({ seq: null }));
      expect(seqOf(react("alice", true))).toBe(3);
      expect(Object.entries(reactionsOf(chat, 1))).toEqual([[emoji, ["bob", "alice"]]]);
      // The history view a client reads (and its JSON) shows the reaction.
      const view = historyOf(chat).messages[0];
      expect(Object.entries(JSON.parse(JSON.stringify(view?.reactions)))).toEqual([
        [emoji, ["bob", "alice"]],
      ]);

      expect(seqOf(react("bob", false))).toBe(4);
      expect(seqOf(react("alice", false))).toBe(5);
      expect(Object.keys(reactionsOf(chat, 1))).toEqual([]);
      expect(react("alice", false)).toEqual(only({ seq: null }));
      expect(chat.state.lastSeq).toBe(5);
      expect(Object.getPrototypeOf(reactionsOf(chat, 1))).toBe(Object.prototype);
    });
  }

  it("keeps entries from before a later invite away from the invitee (history and since)", () => {
    const chat = group(["bob"]);
    accepted(post(chat, "alice", "secret one"));
    accepted(post(chat, "bob", "secret two"));
    const invite = chat.run({ type: "invite", by: "alice", userId: "carol" });
    const joinedAt = seqOf(invite) as number;
    expect(joinedAt).toBe(3);
    const readAs = (by: string, command: object) => accepted(chat.run({ ...command, by })).reply;

    const carolHistory = readAs("carol", { type: "history" }) as CommandResults["chat.history"];
    expect(carolHistory).toMatchObject({ messages: [], more: false });
    const carolSince = readAs("carol", { type: "since", after: 0 }) as Since;
    expect(seqs(carolSince.entries ?? [])).toEqual([joinedAt]);
    expect(carolSince.entries?.[0]).toMatchObject({ kind: "member", userId: "carol", change: "joined" });

    accepted(post(chat, "carol", "hello all"));
    const after = readAs("carol", { type: "history" }) as CommandResults["chat.history"];
    expect(after.messages.map((m) => [m.seq, m.text])).toEqual([[4, "hello all"]]);
    expect(after.more).toBe(false);
    expect(seqs((readAs("carol", { type: "since", after: 1 }) as Since).entries ?? [])).toEqual([3, 4]);
    expect(readAs("carol", { type: "history", before: 3 })).toMatchObject({ messages: [], more: false });
    // Members from the start still read everything.
    const bobHistory = readAs("bob", { type: "history" }) as CommandResults["chat.history"];
    expect(seqs(bobHistory.messages)).toEqual([1, 2, 4]);
  });

  it("keeps what was said while a member was out away from them after a re-invite", () => {
    const chat = group(["bob", "carol"]);
    accepted(post(chat, "carol", "I was here"));
    accepted(chat.run({ type: "leave", by: "carol" }));
    accepted(post(chat, "alice", "while carol was out"));
    accepted(post(chat, "bob", "also while out"));
    const rejoin = seqOf(chat.run({ type: "invite", by: "alice", userId: "carol" })) as number;
    expect(rejoin).toBe(5);

    const history = accepted(chat.run({ type: "history", by: "carol" }))
      .reply as CommandResults["chat.history"];
    expect(history.messages).toEqual([]);
    const caught = accepted(chat.run({ type: "since", by: "carol", after: 0 })).reply as Since;
    expect(seqs(caught.entries ?? [])).toEqual([rejoin]);
    const fromOld = accepted(chat.run({ type: "since", by: "carol", after: 1 })).reply as Since;
    expect(seqs(fromOld.entries ?? [])).toEqual([rejoin]);

    accepted(post(chat, "alice", "welcome back"));
    const now = accepted(chat.run({ type: "history", by: "carol" })).reply as CommandResults["chat.history"];
    expect(now.messages.map((m) => m.text)).toEqual(["welcome back"]);
  });

  it("forget anonymizes the user's entries, drops them from members and reactions, and closes a direct chat", () => {
    const chat = direct();
    accepted(post(chat, "alice", "from alice", 10));
    accepted(post(chat, "bob", "from bob", 11));
    accepted(chat.run({ type: "react", by: "alice", seq: 2, emoji: "👍", on: true }));
    accepted(chat.run({ type: "react", by: "alice", seq: 1, emoji: "❤", on: true }));
    accepted(chat.run({ type: "react", by: "bob", seq: 1, emoji: "❤", on: true }));
    accepted(chat.run({ type: "edit", by: "alice", seq: 1, text: "from alice, edited" }));
    const before = chat.state.lastSeq;

    expect(codeOf(chat.run({ type: "forget" }))).toBe("FORBIDDEN");
    expect(codeOf(chat.run({ type: "forget" }, { from: { kind: "chat", id: "alice" } }))).toBe("FORBIDDEN");
    const forgot = chat.run({ type: "forget" }, { from: user("alice"), now: 99 });
    expect(accepted(forgot).reply).toEqual({ status: "forgotten" });

    expect(Object.keys(chat.state.members)).toEqual(["bob"]);
    expect(chat.state.open).toBe(false);
    expect(chat.state.lastSeq).toBe(before + 1);
    expect(chat.state.entries.at(-1)).toEqual({
      seq: before + 1,
      at: 99,
      by: "deleted-user",
      kind: "closed",
    });
    expect(chat.state.messages[1]).toMatchObject({
      by: "deleted-user",
      text: "from alice, edited",
      reactions: { "❤": ["bob"] },
    });
    expect(chat.state.messages[2]).toMatchObject({ by: "bob", text: "from bob", reactions: {} });
    expect(chat.state.entries.filter((e) => e.by === "deleted-user").map((e) => e.kind)).toEqual([
      "message",
      "reaction",
      "reaction",
      "edit",
      "closed",
    ]);
    // Nothing in the chat names the erased user any more.
    expect(JSON.stringify(chat.state)).not.toContain('"alice"');

    const history = accepted(chat.run({ type: "history", by: "bob" }))
      .reply as CommandResults["chat.history"];
    expect(history.messages.map((m) => [m.by, m.text])).toEqual([
      ["deleted-user", "from alice, edited"],
      ["bob", "from bob"],
    ]);
    expect(codeOf(post(chat, "alice"))).toBe("NOT_FOUND");
    expect(codeOf(post(chat, "bob"))).toBe("CONFLICT");
  });

  it("forget renames the user in member entries of a group and leaves the group open", () => {
    const chat = group(["bob"]);
    accepted(chat.run({ type: "invite", by: "alice", userId: "carol" }));
    accepted(post(chat, "carol", "hi"));
    accepted(chat.run({ type: "forget" }, { from: user("carol") }));
    expect(Object.keys(chat.state.members).sort()).toEqual(["alice", "bob"]);
    expect(chat.state.open).toBe(true);
    expect(chat.state.entries).toMatchObject([
      { seq: 1, kind: "member", userId: "deleted-user", change: "joined", by: "alice" },
      { seq: 2, kind: "message", by: "deleted-user", text: "hi" },
    ]);
    expect(JSON.stringify(chat.state)).not.toContain('"carol"');
  });

  it("forget from a user the chat never knew changes nothing", () => {
    const chat = direct();
    accepted(post(chat, "alice"));
    const journal = chat.journal.length;
    expect(chat.run({ type: "forget" }, { from: user("zed") })).toEqual(only({ status: "unknown" }));
    expect(chat.journal).toHaveLength(journal);
    expect(chat.state.open).toBe(true);
  });

  it("forget publishes the closing entry of a direct chat like every other entry", () => {
    const chat = direct();
    accepted(post(chat, "alice"));
    const forgot = chat.run({ type: "forget" }, { from: user("alice"), now: 7 });
    const closing = chat.state.entries.at(-1);
    expect(closing).toMatchObject({ seq: 2, kind: "closed" });
    // Online members (bob) learn of every seq on the chat's channel; a silent seq is a gap.
    expect(accepted(forgot).publish).toEqual([
      { channel: chatChannel(DM), message: { type: "chat", chatId: DM, seq: 2, entry: closing } },
    ]);
  });
});
