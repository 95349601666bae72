import { type IRoomCache, LocalDriver, type SortOptions } from "@colyseus/core";

/**
 * The single-node room directory. The stock `LocalDriver` answers `findOne({ roomId })` — which
 * every join by id and every actor look-up makes — by scanning all listings: with 10,000 actors
 * that is 10,000 comparisons per join. This keeps an index by room id for that case.
 */
export class IndexedLocalDriver extends LocalDriver {
  private readonly byId = new Map<string, IRoomCache>();

  override async insert(room: IRoomCache): Promise<boolean> {
    const inserted = await super.insert(room);
    if (inserted) this.byId.set(room.roomId, room);
    return inserted;
  }

  override persist(room: IRoomCache, create = false): boolean {
    const persisted = super.persist(room, create);
    if (persisted) this.byId.set(room.roomId, room);
    return persisted;
  }

  override remove(roomId: string): boolean {
    this.byId.delete(roomId);
    return super.remove(roomId);
  }

  override clear(): void {
    this.byId.clear();
    super.clear();
  }

  override findOne(conditions: Partial<IRoomCache>, sortOptions?: SortOptions): Promise<IRoomCache> {
    const keys = Object.keys(conditions);
    if (keys.length === 1 && keys[0] === "roomId" && !sortOptions) {
      return Promise.resolve(this.byId.get(conditions.roomId as string) as IRoomCache);
    }
    return super.findOne(conditions, sortOptions);
  }
}
