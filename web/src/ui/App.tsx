import { useEffect } from "preact/hooks";
import { model } from "../lib/app";
import { navigate, usePath } from "../lib/router";
import { useStore } from "../lib/store";
import { AuthScreen } from "./AuthScreen";
import { Blog } from "./Blog";
import { ChatsScreen } from "./ChatsScreen";
import { ConnectionBanner, StatusPill } from "./Connection";
import { Discover } from "./Discover";
import { Events } from "./Events";
import { MatchDialog } from "./MatchDialog";
import { Nav } from "./Nav";
import { Notices } from "./Notices";
import { ProfileScreen } from "./ProfileScreen";
import { Store } from "./Store";

function Screen({ path }: { path: string }) {
  const [, section = "", id] = path.split("/");
  switch (section) {
    case "discover":
      return <Discover />;
    case "chats":
      return <ChatsScreen chatId={id ? decodeURIComponent(id) : undefined} />;
    case "events":
      return <Events />;
    case "store":
      return <Store />;
    case "blog":
      return <Blog postId={id ? decodeURIComponent(id) : undefined} />;
    case "profile":
      return <ProfileScreen />;
    default:
      return <Discover />;
  }
}

export function App() {
  const path = usePath();
  const phase = useStore(model.store, (s) => s.phase);
  const signedIn = phase !== "signed-out";

  useEffect(() => {
    if (signedIn && (path === "/" || path === "/login")) navigate("/discover", true);
  }, [signedIn, path]);

  const unread = useStore(model.store, (s) => Object.values(s.chats).reduce((n, c) => n + c.unread, 0));
  const section = path.split("/")[1] || "discover";
  useEffect(() => {
    const screen = signedIn ? `${section[0]?.toUpperCase()}${section.slice(1)}` : "Sign in";
    document.title = `${unread > 0 ? `(${unread}) ` : ""}${screen} — Harmony Meet`;
  }, [signedIn, section, unread]);

  // Move focus to the new screen's content for keyboard and screen-reader users.
  useEffect(() => {
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [section]);

  return (
    <div class={`app ${signedIn ? "signed-in" : "signed-out"}`}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">
          <span aria-hidden="true">♥</span> Harmony Meet
        </span>
        {signedIn && <StatusPill />}
      </header>
      {signedIn && <Nav path={path} />}
      <main id="main" tabIndex={-1}>
        {signedIn && <ConnectionBanner />}
        {signedIn ? <Screen path={path} /> : <AuthScreen />}
      </main>
      <Notices />
      <MatchDialog />
    </div>
  );
}
