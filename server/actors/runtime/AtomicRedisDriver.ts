import { type IRoomCache, matchMaker } from "@colyseus/core";
import { RedisDriver } from "@colyseus/redis-driver";

const ROOMCACHES_KEY = "roomcaches";

/** Deletes a listing only if this process recorded it. */
const REMOVE_OWN = `
local listing = redis.call('HGET', KEYS[1], ARGV[1])
if listing and cjson.decode(listing).processId == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;

/**
 * `RedisDriver` 0.18.3 does not implement the core's `insert` arbitration hook and overwrites
 * listings, so two processes creating the same room id both "win" (measured: duplicates and a
 * zombie listing; shared/notes/colyseus-0.18.md, upstream #467/#978/#555). `HSETNX` makes the
 * directory insert atomic: exactly one creator records the id; the core discards the others and
 * hands their callers the winner's listing.
 */
export class AtomicRedisDriver extends RedisDriver {
  async insert(room: IRoomCache): Promise<boolean> {
    // biome-ignore lint/complexity/useLiteralKeys: `_client` is protected in the driver's typings
    const client = this["_client"];
    return (await client.hsetnx(ROOMCACHES_KEY, room.roomId, JSON.stringify(room))) === 1;
  }

  /**
   * Colyseus removes a room's listing by id when the room disposes. If another process has
   * meanwhile re-activated the same actor (ids are reused by design here), an unconditional
   * HDEL would delete the new owner's listing. Remove only our own; a dead process's listings are
   * swept by `cleanup(processId)`, which does not go through this method.
   */
  override async remove(roomId: string): Promise<boolean> {
    // biome-ignore lint/complexity/useLiteralKeys: `_client` is protected in the driver's typings
    const client = this["_client"];
    return Number(await client.eval(REMOVE_OWN, 1, ROOMCACHES_KEY, roomId, matchMaker.processId)) === 1;
  }
}
