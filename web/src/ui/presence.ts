import { formatShort } from "../lib/format";
import type { PresenceInfo } from "../lib/sdk";

/** "online", "last seen Mon 3 Mar" or "offline", as the person's privacy settings allow. */
export function presenceText(p: PresenceInfo | undefined): string {
  if (!p) return "presence unknown";
  if (p.online) return "online";
  return p.lastSeen ? `last seen ${formatShort(p.lastSeen)}` : "offline";
}
