import { model } from "../lib/app";
import { type ChatState, peerOf } from "../lib/chatModel";
import { formatShort } from "../lib/format";
import { useStore } from "../lib/store";
import { Avatar, Badge, Link, PresenceDot } from "./common";
import { presenceText } from "./presence";

const recency = (c: ChatState) => c.lastMessage?.at ?? c.since;

function preview(chat: ChatState, me: string | undefined, names: Record<string, string>): string {
  const m = chat.lastMessage;
  if (!m) return chat.open ? "Say hello!" : "Chat closed";
  const who = m.by === me ? "You: " : chat.kind === "group" ? `${names[m.by] ?? "…"}: ` : "";
  return m.deleted || m.text === null ? `${who}message deleted` : `${who}${m.text}`;
}

export function ChatList({ activeId }: { activeId: string | undefined }) {
  const chats = useStore(model.store, (s) => s.chats);
  const names = useStore(model.store, (s) => s.names);
  const presence = useStore(model.store, (s) => s.presence);
  const me = useStore(model.store, (s) => s.user?.id);
  const list = Object.values(chats).sort((a, b) => recency(b) - recency(a));

  return (
    <section class="chat-list" aria-labelledby="chats-title">
      <h1 id="chats-title">Chats</h1>
      {list.length === 0 ? (
        <p class="muted empty">
          No chats yet. Like someone in Discover — when they like you back, a chat opens here.
        </p>
      ) : (
        <ul>
          {list.map((chat) => {
            const peer = peerOf(chat, me);
            const name = chat.kind === "group" ? chat.title || "Group" : peer ? (names[peer] ?? "…") : "Chat";
            const p = peer ? presence[peer] : undefined;
            const current = chat.chatId === activeId;
            return (
              <li key={chat.chatId}>
                <Link
                  href={`/chats/${chat.chatId}`}
                  class={`chat-row ${current ? "active" : ""} ${chat.unread > 0 ? "unread" : ""}`}
                  {...(current ? { "aria-current": "page" as const } : {})}
                >
                  <span class="avatar-wrap">
                    <Avatar id={peer ?? chat.chatId} name={name} />
                    {chat.kind === "direct" && <PresenceDot online={p?.online} label={presenceText(p)} />}
                  </span>
                  <span class="chat-row-main">
                    <span class="chat-row-top">
                      <span class="chat-name">{name}</span>
                      {chat.lastMessage && (
                        <time class="muted small">{formatShort(chat.lastMessage.at)}</time>
                      )}
                    </span>
                    <span class="chat-row-bottom">
                      <span class="chat-preview">{preview(chat, me, names)}</span>
                      <Badge count={chat.unread} label={`${chat.unread} unread`} />
                    </span>
                  </span>
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
