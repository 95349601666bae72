import type { Logger } from "../logger.js";
import type { Stores } from "../persistence/stores/index.js";
import type { ActorCaller } from "./runtime/ActorRuntime.js";

/**
 * After an upload or delete: the user's actor takes the stored photo list (the blob container is
 * the truth for which photos exist) and the discovery card follows. A failure is logged, not
 * answered: the photo itself was stored, and the next change re-syncs the whole list.
 */
export async function syncPhotos(
  stores: Pick<Stores, "photos" | "profiles">,
  actors: ActorCaller,
  logger: Logger,
  userId: string,
): Promise<void> {
  try {
    const photoIds = await stores.photos.list(userId);
    const result = await actors.call({ kind: "user", id: userId }, { type: "photosSynced", photoIds });
    if (!result.ok) throw new Error(result.error.message);
    const card = await stores.profiles.get(userId);
    if (card) await stores.profiles.put({ ...card, photos: photoIds, updatedAt: Date.now() });
  } catch (err) {
    logger.warn({ err, userId }, "photo list not synced to the user actor");
  }
}
