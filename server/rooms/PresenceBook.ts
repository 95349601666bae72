import { matchMaker, type Presence } from "@colyseus/core";
import type { Redis } from "ioredis";
import type { PresenceInfo } from "../../protocol/realtime.js";
import { presenceChannel } from "../actors/channels.js";

/** Redis hash (or local map) of each user's last published presence. */
const PRESENCE_HASH = "lovecraft:presence";
/** Processes that have (had) online users, and per process the users it announced online. */
const NODES_SET = "lovecraft:presence:nodes";
const usersOf = (processId: string) => `lovecraft:presence:node:${processId}`;
/** Users per script call when a dead process's users are turned offline. */
const SWEEP_SLICE = 500;

/** What is stored per user: the public info plus, while online, the process that said so. */
interface PresenceRecord extends PresenceInfo {
  readonly node?: string;
}

/**
 * Turns the online records of a dead process's users offline, only where that process still
 * owns the record (a user who reconnected elsewhere meanwhile is left alone), and publishes each
 * change on the user's presence channel (the JSON RedisPresence subscribers parse). In one
 * script, so a reconnect's "online" can never be overtaken by this "offline". Returns how many
 * records it changed.
 */
const TURN_OFFLINE = `
local dead, now, prefix, changed = ARGV[1], tonumber(ARGV[2]), ARGV[3], 0
for i = 4, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local rec = cjson.decode(raw)
    if rec.online == true and rec.node == dead then
      rec.online = false
      rec.node = nil
      if rec.lastSeen ~= nil then rec.lastSeen = now end
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(rec))
      rec.type = 'presence'
      redis.call('PUBLISH', prefix .. ARGV[i], cjson.encode(rec))
      changed = changed + 1
    end
  end
end
return changed`;

/**
 * Who is online, as the user rooms announce it, and the repair of what a dead process could not
 * announce: a node killed with `kill -9` never says its users went offline, so their partners
 * would see them online until they next connected somewhere. Each online record names its
 * process; a sweep (cluster mode, every directory sweep) turns offline the records of processes
 * that are both gone from Redis pub/sub and swept by Colyseus' health check, and publishes the
 * change to whoever follows those users.
 */
export class PresenceBook {
  /** Users this process announced online (to repair its records if a sweep removed them). */
  private readonly local = new Map<string, PresenceInfo>();

  /**
   * @param where this process's presence and id; by default Colyseus' (known once the server
   *   is set up, hence read lazily).
   */
  constructor(
    private readonly where: { presence(): Presence; processId(): string } = {
      presence: () => matchMaker.presence,
      processId: () => matchMaker.processId,
    },
  ) {}

  private get presence(): Presence {
    return this.where.presence();
  }

  /** Stores and publishes one user's presence (their room's session calls this). */
  async announce(info: PresenceInfo): Promise<void> {
    const processId = this.where.processId();
    const record: PresenceRecord = info.online ? { ...info, node: processId } : info;
    if (info.online) this.local.set(info.userId, info);
    else this.local.delete(info.userId);
    await Promise.all([
      this.presence.hset(PRESENCE_HASH, info.userId, JSON.stringify(record)),
      info.online
        ? this.presence.sadd(usersOf(processId), info.userId)
        : this.presence.srem(usersOf(processId), info.userId),
      info.online ? this.presence.sadd(NODES_SET, processId) : undefined,
    ]);
    await this.presence.publish(presenceChannel(info.userId), { type: "presence", ...info });
  }

  /** Last published presence of each user that has one. */
  async read(userIds: readonly string[]): Promise<PresenceInfo[]> {
    const values = await Promise.all(userIds.map((id) => this.presence.hget(PRESENCE_HASH, id)));
    return values.flatMap((raw, i) => {
      if (!raw) return [];
      const { online, lastSeen } = JSON.parse(raw) as PresenceRecord;
      return [{ userId: userIds[i] as string, online, ...(lastSeen !== undefined ? { lastSeen } : {}) }];
    });
  }

  /**
   * One sweep: turns offline the users of dead processes, and re-announces this process's own
   * online users if another node's sweep took them for dead (its pub/sub channel was briefly
   * missing, e.g. around a Redis restart). Returns how many records it turned offline.
   */
  async sweep(redis: Redis, now = Date.now()): Promise<number> {
    const self = this.where.processId();
    const [listed, channels] = await Promise.all([
      redis.smembers(NODES_SET),
      redis.pubsub("CHANNELS", "p:*") as Promise<string[]>,
    ]);
    const live = new Set(channels.map((c) => c.slice("p:".length)));
    let turned = 0;
    for (const processId of listed) {
      if (processId === self || live.has(processId)) continue;
      // Gone from pub/sub is not enough (a Redis reconnect drops subscriptions for a moment):
      // Colyseus' health check must also have failed to reach it and left its swept receipt.
      if (!(await redis.exists(`swept:${processId}`))) continue;
      turned += await this.turnOffline(redis, processId, now);
    }
    if (this.local.size > 0 && (await redis.scard(usersOf(self))) < this.local.size) {
      await Promise.all([...this.local.values()].map((info) => this.announce(info)));
    }
    return turned;
  }

  private async turnOffline(redis: Redis, processId: string, now: number): Promise<number> {
    const users = await redis.smembers(usersOf(processId));
    let changed = 0;
    // In slices: one script call blocks Redis while it runs.
    for (let i = 0; i < users.length; i += SWEEP_SLICE) {
      const slice = users.slice(i, i + SWEEP_SLICE);
      const prefix = presenceChannel("");
      changed += Number(await redis.eval(TURN_OFFLINE, 1, PRESENCE_HASH, processId, now, prefix, ...slice));
    }
    await redis.del(usersOf(processId));
    await redis.srem(NODES_SET, processId);
    return changed;
  }
}
