import { useState } from "preact/hooks";
import { chatActions } from "../lib/app";
import type { PendingMessage } from "../lib/chatModel";
import { formatTime } from "../lib/format";
import type { MessageView } from "../lib/sdk";

const EMOJI = ["❤️", "👍", "😂"] as const;

interface Props {
  readonly chatId: string;
  readonly message: MessageView;
  readonly me: string | undefined;
  readonly author: string;
  readonly showAuthor: boolean;
  /** "Read"/"Sent" for own messages. */
  readonly receipt: string | undefined;
  readonly canAct: boolean;
}

function Reactions({ chatId, message, me }: Pick<Props, "chatId" | "message" | "me">) {
  const entries = Object.entries(message.reactions).filter(([, users]) => users.length > 0);
  if (entries.length === 0) return null;
  return (
    <div class="reactions">
      {entries.map(([emoji, users]) => {
        const mine = me !== undefined && users.includes(me);
        return (
          <button
            key={emoji}
            type="button"
            class="reaction"
            aria-pressed={mine}
            aria-label={`${emoji} ${users.length}${mine ? ", including you" : ""}`}
            onClick={() => void chatActions.react(chatId, message.seq, emoji, !mine)}
          >
            {emoji} {users.length}
          </button>
        );
      })}
    </div>
  );
}

export function MessageItem({ chatId, message, me, author, showAuthor, receipt, canAct }: Props) {
  const mine = message.by === me;
  const [menu, setMenu] = useState(false);
  const [editing, setEditing] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const deleted = message.deleted === true || message.text === null;
  const menuId = `actions-${chatId}-${message.seq}`;

  const saveEdit = async (event: Event) => {
    event.preventDefault();
    const text = editing?.trim();
    if (!text) return;
    if (await chatActions.edit(chatId, message.seq, text)) setEditing(undefined);
  };

  return (
    <li class={`msg ${mine ? "msg-mine" : "msg-theirs"}`} data-seq={message.seq}>
      <div class="msg-line">
        <div class={`bubble ${editing !== undefined ? "bubble-editing" : ""}`}>
          {showAuthor && !mine && <span class="msg-author">{author}</span>}
          {editing !== undefined ? (
            <form class="edit-form" onSubmit={saveEdit}>
              <label class="sr-only" for={`edit-${message.seq}`}>
                Edit message
              </label>
              <input
                id={`edit-${message.seq}`}
                value={editing}
                maxLength={4000}
                onInput={(e) => setEditing(e.currentTarget.value)}
                onKeyDown={(e) => e.key === "Escape" && setEditing(undefined)}
              />
              <button type="submit" class="btn btn-small btn-primary">
                Save
              </button>
              <button type="button" class="btn btn-small" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
            </form>
          ) : deleted ? (
            <p class="msg-text msg-deleted">Message deleted</p>
          ) : (
            <p class="msg-text">{message.text}</p>
          )}
          <span class="msg-meta">
            <time dateTime={new Date(message.at).toISOString()}>{formatTime(message.at)}</time>
            {message.editedAt && !deleted && <span> · edited</span>}
            {mine && receipt && <span class="receipt"> · {receipt}</span>}
          </span>
        </div>
        {!deleted && canAct && (
          <button
            type="button"
            class="btn-icon"
            aria-expanded={menu}
            aria-controls={menu ? menuId : undefined}
            aria-label={`Actions for message: ${(message.text ?? "").slice(0, 40)}`}
            onClick={() => {
              setMenu(!menu);
              setConfirmDelete(false);
            }}
          >
            ⋯
          </button>
        )}
      </div>
      {!deleted && <Reactions chatId={chatId} message={message} me={me} />}
      {menu && !deleted && canAct && (
        <fieldset id={menuId} class="msg-actions">
          <legend class="sr-only">Message actions</legend>
          {EMOJI.map((emoji) => {
            const on = me !== undefined && (message.reactions[emoji] ?? []).includes(me);
            return (
              <button
                key={emoji}
                type="button"
                class="btn btn-small"
                aria-pressed={on}
                aria-label={`React ${emoji}`}
                onClick={() => {
                  setMenu(false);
                  void chatActions.react(chatId, message.seq, emoji, !on);
                }}
              >
                {emoji}
              </button>
            );
          })}
          {mine && (
            <button
              type="button"
              class="btn btn-small"
              onClick={() => {
                setMenu(false);
                setEditing(message.text ?? "");
              }}
            >
              Edit
            </button>
          )}
          {mine &&
            (confirmDelete ? (
              <button
                type="button"
                class="btn btn-small btn-danger"
                onClick={() => {
                  setMenu(false);
                  void chatActions.remove(chatId, message.seq);
                }}
              >
                Delete for everyone
              </button>
            ) : (
              <button type="button" class="btn btn-small" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            ))}
        </fieldset>
      )}
    </li>
  );
}

export function PendingItem({ chatId, pending }: { chatId: string; pending: PendingMessage }) {
  return (
    <li class={`msg msg-mine msg-pending ${pending.error ? "msg-failed" : ""}`}>
      <div class="bubble">
        <p class="msg-text">{pending.text}</p>
        <span class="msg-meta">{pending.error ? `Not sent — ${pending.error}` : "Sending…"}</span>
      </div>
      {pending.error && (
        <div class="row">
          <button
            type="button"
            class="btn btn-small"
            onClick={() => void chatActions.resend(chatId, pending.id)}
          >
            Retry
          </button>
          <button type="button" class="btn btn-small" onClick={() => chatActions.discard(chatId, pending.id)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}
