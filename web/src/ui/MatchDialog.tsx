import { useEffect, useRef } from "preact/hooks";
import { model } from "../lib/app";
import { navigate } from "../lib/router";
import { useStore } from "../lib/store";
import { Avatar } from "./common";

/** The match moment: a modal dialog when a like became mutual. */
export function MatchDialog() {
  const match = useStore(model.store, (s) => s.match);
  const names = useStore(model.store, (s) => s.names);
  const me = useStore(model.store, (s) => s.me);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (match && !el.open) el.showModal();
    if (!match && el.open) el.close();
  }, [match]);

  const name = match ? (names[match.userId] ?? "Someone") : "";
  const chatId = match?.chatId ?? me?.matches.find((m) => m.userId === match?.userId)?.chatId;
  const say = () => {
    model.dismissMatch();
    navigate(chatId ? `/chats/${chatId}` : "/chats");
  };
  return (
    <dialog ref={dialog} class="match" aria-labelledby="match-title" onClose={() => model.dismissMatch()}>
      {match && (
        <div class="match-body">
          <div class="match-avatars" aria-hidden="true">
            <Avatar id={me?.userId ?? "me"} name={me?.profile.displayName ?? "You"} size="lg" />
            <span class="match-heart">♥</span>
            <Avatar id={match.userId} name={name} size="lg" />
          </div>
          <h2 id="match-title">It's a match!</h2>
          <p>You and {name} like each other.</p>
          <div class="row">
            <button type="button" class="btn btn-primary" onClick={say}>
              Send {name} a message
            </button>
            <button type="button" class="btn" onClick={() => model.dismissMatch()}>
              Keep browsing
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}
