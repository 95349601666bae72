import { randomBytes } from "node:crypto";
import type { Session } from "../../client/index.js";
import type { ErrorBody } from "../../protocol/errors.js";
import { UsageError } from "./options.js";

/**
 * Users for a run, made by the main thread before the workers start: pre-seeded sessions from a
 * bench node (`POST /bench/sessions`, no password hashing), or real registrations through
 * `/auth/register` at a bounded rate (argon2 costs ~20 ms of CPU each on the target).
 */

const BENCH_CHUNK = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A client address from 198.18.0.0/15 (reserved for benchmarks, RFC 2544). */
export const benchAddress = (i: number): string => `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
const REGISTER_CONCURRENCY = 2;
const REGISTER_ATTEMPTS = 10;

/** Whether the target answers the `/bench/*` routes of loadtest/bench/benchNode.ts. */
export async function isBenchNode(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/bench/memory`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json().catch(() => undefined)) as { rss?: number } | undefined;
    return res.ok && typeof body?.rss === "number";
  } catch (err) {
    throw new UsageError(`cannot reach the target ${url}: ${(err as Error).message}`);
  }
}

export async function benchSessions(url: string, count: number, prefix: string): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let chunk = 0; sessions.length < count; chunk++) {
    const res = await fetch(`${url}/bench/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        count: Math.min(BENCH_CHUNK, count - sessions.length),
        prefix: `${prefix}-${chunk}`,
      }),
    });
    if (!res.ok) throw new Error(`/bench/sessions answered ${res.status}`);
    sessions.push(...((await res.json()) as Session[]));
  }
  return sessions;
}

export interface Registered {
  readonly sessions: Session[];
  readonly credentials: { email: string; password: string }[];
}

/**
 * Registers `count` accounts at `perSecond`. Each registration carries its own
 * `X-Forwarded-For` address from the benchmarking range, so the per-IP auth limit (50 per
 * 15 min) does not stop a setup of more users; a target that does not trust the generator as a
 * proxy (TRUST_PROXY) ignores it, and registration then fails with RATE_LIMITED after 50.
 * OVERLOADED (the hashing queue is full) and RATE_LIMITED are retried after Retry-After.
 */
export async function registerAccounts(
  url: string,
  count: number,
  perSecond: number,
  tag: string,
  log: (line: string) => void,
): Promise<Registered> {
  const password = `lt-${tag}-${randomBytes(6).toString("hex")}`;
  const sessions = new Array<Session>(count);
  const credentials = Array.from({ length: count }, (_, i) => ({
    email: `${tag}-${i}@loadtest.example.com`,
    password,
  }));
  const start = performance.now();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(REGISTER_CONCURRENCY, count) }, async () => {
      while (next < count) {
        const i = next++;
        await sleep(start + (i * 1000) / perSecond - performance.now());
        sessions[i] = await registerOne(url, credentials[i] as { email: string; password: string }, i);
        if (++done % 50 === 0) log(`registered ${done}/${count}`);
      }
    }),
  );
  return { sessions, credentials };
}

async function registerOne(
  url: string,
  account: { email: string; password: string },
  i: number,
): Promise<Session> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${url}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": benchAddress(i) },
      body: JSON.stringify({ ...account, displayName: `Load ${i}` }),
    });
    const body = (await res.json().catch(() => ({}))) as { data?: Session; error?: ErrorBody };
    if (res.ok && body.data) return body.data;
    const retryable = body.error?.retryable === true || res.status === 503 || res.status === 429;
    if (!retryable || attempt >= REGISTER_ATTEMPTS)
      throw new Error(
        `registering ${account.email} failed: HTTP ${res.status} ${body.error?.code ?? ""} ${body.error?.message ?? ""}`,
      );
    const after = Number(res.headers.get("retry-after"));
    await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 250 * attempt);
  }
}
