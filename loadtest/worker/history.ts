import type { Ledger } from "../lib/ledger.js";
import type { Recorder } from "../lib/metrics.js";
import type { LovecraftUser } from "./lovecraftUser.js";
import { codeOf, pool, sleep } from "./virtualUser.js";

/** Pages fetched per chat at most (100 messages each). */
const MAX_PAGES = 50;
/** Pause between two pages read through one socket: well under its command rate limit. */
const PAGE_PAUSE_MS = 80;

/**
 * After the traffic: reads the history of up to `count` chats (spread over all of them) through
 * a member's socket, back to the oldest acked message or the retained window, and checks every
 * acked message is there under its seq (Ledger.checkHistory). Bounded by MAX_PAGES per chat.
 */
export async function checkHistories(
  ledger: Ledger,
  chats: readonly { chatId: string; members: readonly LovecraftUser[] }[],
  count: number,
  rec: Recorder,
): Promise<void> {
  const step = chats.length / Math.min(count, chats.length);
  const sample = Array.from({ length: Math.min(count, chats.length) }, (_, i) => chats[Math.floor(i * step)]);
  await pool(sample.length, 8, async (i) => {
    const chat = sample[i];
    if (!chat) return;
    // Not the group's creator: spread the reads over sockets other than the busiest.
    const reader = chat.members[1] ?? chat.members[0];
    if (!reader) return;
    try {
      await checkOne(ledger, chat.chatId, reader);
    } catch (err) {
      rec.error("chat.history", codeOf(err));
    }
  });
}

async function checkOne(ledger: Ledger, chatId: string, reader: LovecraftUser): Promise<void> {
  const oldest = ledger.oldestAckedSeq(chatId);
  if (oldest === undefined) return;
  const seen: { seq: number; text: string | null }[] = [];
  let before: number | undefined;
  let coveredFrom = Number.POSITIVE_INFINITY;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await reader.client.send("chat.history", {
      chatId,
      limit: 100,
      ...(before !== undefined ? { before } : {}),
    });
    for (const m of r.messages) seen.push({ seq: m.seq, text: m.text });
    const first = r.messages[0]?.seq;
    if (!r.more) {
      // Everything retained was read: the window's start is what is covered.
      coveredFrom = r.oldestSeq;
      break;
    }
    if (first === undefined) break;
    coveredFrom = first;
    if (first <= oldest) break;
    before = first;
    await sleep(PAGE_PAUSE_MS);
  }
  ledger.checkHistory(chatId, seen, coveredFrom);
}
