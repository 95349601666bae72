import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { chatActions, model } from "../lib/app";
import { type ChatState, peerOf } from "../lib/chatModel";
import { useStore } from "../lib/store";
import { Avatar, Link, PresenceDot, Spinner } from "./common";
import { MessageItem, PendingItem } from "./MessageItem";
import { presenceText } from "./presence";

/** Re-renders every second while `active`, so typing indicators expire on screen. */
function useTicking(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [active]);
  return active ? now : Date.now();
}

/** "Read" once another member's watermark reached the message, else "Sent". */
function receiptOf(chat: ChatState, seq: number, me: string | undefined): string {
  const readers = Object.entries(chat.readSeqs).filter(([userId, read]) => userId !== me && read >= seq);
  if (readers.length === 0) return "Sent";
  return chat.kind === "group" ? `Read by ${readers.length}` : "Read";
}

function Composer({ chatId, name, disabled }: { chatId: string; name: string; disabled: boolean }) {
  const [draft, setDraft] = useState("");
  const submit = (event?: Event) => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    void chatActions.send(chatId, text);
  };
  return (
    <form class="composer" onSubmit={submit}>
      <label class="sr-only" for="composer">
        Message to {name}
      </label>
      <textarea
        id="composer"
        rows={1}
        maxLength={4000}
        placeholder={disabled ? "This chat is closed" : "Write a message…"}
        disabled={disabled}
        value={draft}
        aria-describedby="composer-hint"
        onInput={(e) => {
          setDraft(e.currentTarget.value);
          if (e.currentTarget.value.trim()) chatActions.typing(chatId);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
        }}
      />
      <span id="composer-hint" class="sr-only">
        Enter sends, Shift+Enter starts a new line.
      </span>
      <button type="submit" class="btn btn-primary" disabled={disabled || !draft.trim()}>
        Send
      </button>
    </form>
  );
}

export function ChatView({ chatId }: { chatId: string }) {
  const chat = useStore(model.store, (s) => s.chats[chatId]);
  const names = useStore(model.store, (s) => s.names);
  const presence = useStore(model.store, (s) => s.presence);
  const me = useStore(model.store, (s) => s.user?.id);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const anchor = useRef<number | undefined>(undefined);
  const [loadingOlder, setLoadingOlder] = useState(false);

  useEffect(() => {
    void chatActions.open(chatId);
    const read = () => void model.markRead(chatId);
    document.addEventListener("visibilitychange", read);
    window.addEventListener("focus", read);
    return () => {
      chatActions.close(chatId);
      document.removeEventListener("visibilitychange", read);
      window.removeEventListener("focus", read);
    };
  }, [chatId]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current !== undefined) {
      el.scrollTop += el.scrollHeight - anchor.current; // older messages were prepended: stay put
      anchor.current = undefined;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chat?.messages, chat?.pending]);

  const typers = Object.entries(chat?.typing ?? {}).filter(([userId]) => userId !== me);
  const now = useTicking(typers.length > 0);

  if (!chat) return <Spinner label="Opening the chat" />;
  const peer = peerOf(chat, me);
  const name = chat.kind === "group" ? chat.title || "Group" : peer ? (names[peer] ?? "…") : "Chat";
  const p = peer ? presence[peer] : undefined;
  const typing = typers.filter(([, until]) => until > now).map(([userId]) => names[userId] ?? "Someone");

  const loadOlder = async () => {
    anchor.current = scroller.current?.scrollHeight;
    setLoadingOlder(true);
    await chatActions.loadHistory(chatId, true);
    setLoadingOlder(false);
  };

  return (
    <section class="chat-view" aria-labelledby="chat-title">
      <header class="chat-head">
        <Link href="/chats" class="back">
          <span aria-hidden="true">←</span> Chats
        </Link>
        <span class="avatar-wrap">
          <Avatar id={peer ?? chatId} name={name} />
          {chat.kind === "direct" && <PresenceDot online={p?.online} label={presenceText(p)} />}
        </span>
        <div>
          <h2 id="chat-title">{name}</h2>
          <p class="muted small">
            {chat.kind === "direct" ? presenceText(p) : `${chat.memberIds.length} members`}
          </p>
        </div>
      </header>
      <div
        class="messages-scroll"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
      >
        {chat.more && (
          <button type="button" class="btn btn-small load-older" disabled={loadingOlder} onClick={loadOlder}>
            {loadingOlder ? "Loading…" : "Load earlier messages"}
          </button>
        )}
        {!chat.historyLoaded && chat.messages.length === 0 && <Spinner label="Loading messages" />}
        <div role="log" aria-live="polite" aria-label={`Messages with ${name}`}>
          <ol class="messages">
            {chat.messages.map((m) => (
              <MessageItem
                key={m.seq}
                chatId={chatId}
                message={m}
                me={me}
                author={names[m.by] ?? "…"}
                showAuthor={chat.kind === "group"}
                receipt={m.by === me ? receiptOf(chat, m.seq, me) : undefined}
                canAct={chat.open}
              />
            ))}
            {chat.pending.map((p) => (
              <PendingItem key={p.id} chatId={chatId} pending={p} />
            ))}
          </ol>
        </div>
        {chat.historyLoaded && chat.messages.length === 0 && chat.pending.length === 0 && (
          <p class="muted empty">No messages yet. Say hello!</p>
        )}
      </div>
      <p class="typing" aria-live="polite">
        {typing.length > 0 ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : ""}
      </p>
      <Composer chatId={chatId} name={name} disabled={!chat.open} />
    </section>
  );
}
