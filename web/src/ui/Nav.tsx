import { model } from "../lib/app";
import { useStore } from "../lib/store";
import { Badge, Link } from "./common";

const ITEMS = [
  ["/discover", "Discover", "✦"],
  ["/chats", "Chats", "✉"],
  ["/events", "Events", "◷"],
  ["/store", "Store", "♫"],
  ["/blog", "Blog", "✎"],
  ["/profile", "Profile", "☺"],
] as const;

export function Nav({ path }: { path: string }) {
  const chats = useStore(model.store, (s) => s.chats);
  const unread = Object.values(chats).reduce((sum, c) => sum + c.unread, 0);
  return (
    <nav class="nav" aria-label="Main">
      <ul>
        {ITEMS.map(([href, label, icon]) => {
          const current = path === href || path.startsWith(`${href}/`);
          return (
            <li key={href}>
              <Link href={href} class="nav-link" {...(current ? { "aria-current": "page" as const } : {})}>
                <span class="nav-icon" aria-hidden="true">
                  {icon}
                </span>
                <span class="nav-label">{label}</span>
                {href === "/chats" && <Badge count={unread} label={`${unread} unread messages`} />}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
