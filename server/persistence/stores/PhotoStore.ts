import type { BlobContent, BlobStore } from "../ports.js";

export const PHOTO_CONTAINER = "photos";

/**
 * Profile photos in a private container, named `<userId>/<photoId>` by the server (never by the
 * client). Validation and re-encoding happen before bytes reach this store.
 */
export class PhotoStore {
  constructor(private readonly blobs: BlobStore) {}

  put(userId: string, photoId: string, data: Uint8Array, contentType: string): Promise<void> {
    return this.blobs.put(PHOTO_CONTAINER, `${userId}/${photoId}`, data, contentType);
  }

  get(userId: string, photoId: string): Promise<BlobContent | undefined> {
    return this.blobs.get(PHOTO_CONTAINER, `${userId}/${photoId}`);
  }

  delete(userId: string, photoId: string): Promise<void> {
    return this.blobs.delete(PHOTO_CONTAINER, `${userId}/${photoId}`);
  }

  async list(userId: string): Promise<string[]> {
    const names = await this.blobs.list(PHOTO_CONTAINER, `${userId}/`);
    return names.map((n) => n.slice(userId.length + 1));
  }
}
