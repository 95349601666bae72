import { ChatList } from "./ChatList";
import { ChatView } from "./ChatView";

/** Chat list and conversation: side by side on wide screens, one at a time on phones. */
export function ChatsScreen({ chatId }: { chatId: string | undefined }) {
  return (
    <div class={`chats ${chatId ? "chats-open" : ""}`}>
      <ChatList activeId={chatId} />
      {chatId ? (
        <ChatView key={chatId} chatId={chatId} />
      ) : (
        <section class="chat-empty" aria-label="Conversation">
          <p class="muted">Choose a chat to read and reply.</p>
        </section>
      )}
    </div>
  );
}
