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

export class RedisLeaseManager implements LeaseManager {
  onLost: ((actorKey: string) => void) | undefined;
  private readonly held = new Map<string, number>();
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
    return epoch;
  }

  async release(actorKey: string, epoch: number | undefined): Promise<void> {
    if (epoch === undefined || this.held.get(actorKey) !== epoch) return;
    this.held.delete(actorKey);
    await this.redis.eval(RELEASE, 1, `actor:${actorKey}:lease`, `${this.owner}:${epoch}`);
  }

  /** Renews every held lease in one pipeline; a lease found taken is reported lost. */
  private async renewAll(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held];
    const pipeline = this.redis.pipeline();
    for (const [key, epoch] of entries)
      pipeline.eval(RENEW, 1, `actor:${key}:lease`, `${this.owner}:${epoch}`, this.ttlMs);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch {
      return; // Redis unreachable: storage fencing still protects; try again next tick.
    }
    results?.forEach(([err, renewed], i) => {
      const [key, epoch] = entries[i] as [string, number];
      if (!err && Number(renewed) === 0 && this.held.get(key) === epoch) {
        this.held.delete(key);
        this.onLost?.(key);
      }
    });
  }

  close(): void {
    clearInterval(this.timer);
  }
}
