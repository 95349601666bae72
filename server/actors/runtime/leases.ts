import type { Redis } from "ioredis";

/**
 * Who may run an actor. The cluster implementation keeps, per actor, a monotonically increasing
 * epoch counter and a lease `<owner>:<epoch>` with a TTL in Redis; the epoch is then stamped on
 * the actor's storage `head`, which fences any older activation (see ActorJournal). Leases are
 * renewed for every local actor by ONE timer per process, never one timer per actor.
 */
export interface LeaseManager {
  /** Takes the lease and returns the new epoch (undefined: let storage pick stored + 1). */
  /**
   * Takes the lease and returns the new epoch (undefined: let storage pick stored + 1). With
   * `floor`, the epoch is above it even if the counter was lost (a Redis restart without
   * persistence resets every counter).
   */
  acquire(actorKey: string, floor?: number): Promise<number | undefined>;
  release(actorKey: string, epoch: number | undefined): Promise<void>;
  /** Called with the actor key when a renewal finds the lease taken by someone else. */
  onLost: ((actorKey: string) => void) | undefined;
  close(): void;
}

/** Single node: nothing to coordinate; storage's epoch check still fences. */
export class LocalLeaseManager implements LeaseManager {
  onLost: ((actorKey: string) => void) | undefined;
  async acquire(): Promise<undefined> {
    return undefined;
  }
  async release(): Promise<void> {}
  close(): void {}
}

const ACQUIRE = `
local floor = tonumber(ARGV[3])
if floor > (tonumber(redis.call('GET', KEYS[1])) or 0) then
  redis.call('SET', KEYS[1], floor)
end
local epoch = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
return epoch`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * A lease is given up locally this long before it could expire in Redis: the local clock starts
 * at the request's send time (before Redis applied it), and the margin absorbs timer delays, so
 * the old owner has stopped before a new one can take the lease.
 */
const SAFETY_MARGIN = 0.2;

export class RedisLeaseManager implements LeaseManager {
  onLost: ((actorKey: string) => void) | undefined;
  private readonly held = new Map<string, number>();
  /** When each held lease was last confirmed (the send time of its acquire or renewal). */
  private readonly confirmedAt = new Map<string, number>();
  private renewing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.timer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  async acquire(actorKey: string, floor = 0): Promise<number> {
    const sentAt = Date.now();
    const epoch = Number(
      await this.redis.eval(
        ACQUIRE,
        2,
        `actor:${actorKey}:epoch`,
        `actor:${actorKey}:lease`,
        this.owner,
        this.ttlMs,
        floor,
      ),
    );
    this.held.set(actorKey, epoch);
    this.confirmedAt.set(actorKey, sentAt);
    return epoch;
  }

  async release(actorKey: string, epoch: number | undefined): Promise<void> {
    if (epoch === undefined || this.held.get(actorKey) !== epoch) return;
    this.held.delete(actorKey);
    this.confirmedAt.delete(actorKey);
    await this.redis.eval(RELEASE, 1, `actor:${actorKey}:lease`, `${this.owner}:${epoch}`);
  }

  /**
   * Renews every held lease in one pipeline; a lease found taken is reported lost, and so is one
   * that could not be confirmed for (1 − margin) × TTL — Redis unreachable or partitioned from this
   * node: another node may take it soon, so this node stops serving the actor first instead of
   * answering from state that may already be stale (storage fencing also refuses its writes).
   */
  private async renewAll(): Promise<void> {
    this.expireUnconfirmed(Date.now());
    if (this.held.size === 0 || this.renewing) return;
    this.renewing = true;
    const sentAt = Date.now();
    const entries = [...this.held];
    const pipeline = this.redis.pipeline();
    for (const [key, epoch] of entries)
      pipeline.eval(RENEW, 1, `actor:${key}:lease`, `${this.owner}:${epoch}`, this.ttlMs);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch {
      return; // Redis unreachable: retried next tick; unconfirmed leases expire locally.
    } finally {
      this.renewing = false;
    }
    results?.forEach(([err, renewed], i) => {
      const [key, epoch] = entries[i] as [string, number];
      if (err || this.held.get(key) !== epoch) return;
      if (Number(renewed) === 0) this.lose(key);
      else this.confirmedAt.set(key, Math.max(this.confirmedAt.get(key) ?? 0, sentAt));
    });
  }

  private expireUnconfirmed(now: number): void {
    const limit = this.ttlMs * (1 - SAFETY_MARGIN);
    for (const key of [...this.held.keys()]) {
      if (now - (this.confirmedAt.get(key) ?? now) > limit) this.lose(key);
    }
  }

  private lose(key: string): void {
    this.held.delete(key);
    this.confirmedAt.delete(key);
    this.onLost?.(key);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
