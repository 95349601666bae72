import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type RequestHandler, Router } from "express";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import type { TokenService } from "../auth/TokenService.js";
import { AppError } from "../errors.js";
import { ACCEPTED_PHOTO_TYPES, ProcessingGate, processPhoto } from "../media/photoProcessing.js";
import {
  MEDIA_PHOTO_PREFIX,
  PHOTO_URL_TTL_SECONDS,
  signPhotoUrl,
  verifyPhotoSignature,
} from "../media/signedUrls.js";
import type { PhotoStore } from "../persistence/stores/PhotoStore.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

/** The caller's photos, under `/api/v1` (this router is mounted at app level: full paths). */
export const MY_PHOTOS_PATH = "/api/v1/users/me/photos";
export const MAX_PHOTOS_PER_USER = 6;
export const DEFAULT_MAX_PHOTO_BYTES = 5 * 1024 * 1024;

const PhotoId = z.uuid();
const PhotoParams = z.object({ photoId: PhotoId });
const MediaParams = z.object({ userId: z.uuid(), photoId: PhotoId });
const MediaQuery = z.object({ exp: z.string(), sig: z.string() });

export const PhotoLinkSchema = z.object({
  id: z.uuid(),
  url: z.string().describe(`signed read URL (${MEDIA_PHOTO_PREFIX}/…), valid for a few minutes`),
});
export const UploadedPhotoSchema = PhotoLinkSchema.extend({
  width: z.number().int(),
  height: z.number().int(),
});

export interface PhotoRouteDependencies {
  readonly photos: PhotoStore;
  readonly tokens: TokenService;
  /** Node-shared secret for signed read URLs (`SigningKey.derivedSecret`). */
  readonly secret: Buffer;
  /** Largest accepted upload in bytes; default 5 MiB. */
  readonly maxBytes?: number;
  /** Signed URL lifetime; default 600 s. */
  readonly urlTtlSeconds?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
  /** Tells the owner's actor (profile photo list, discovery card) after an upload or delete. */
  readonly onPhotosChanged?: (userId: string) => Promise<void>;
  /** Bounds concurrent decoding; default 2 at once, 16 queued. */
  readonly gate?: ProcessingGate;
}

/**
 * Profile photos. Mount at app level, BEFORE the `/api/v1` router: the upload reads a raw image
 * body, which that router's `requireJsonBody` would refuse with 415.
 *
 * - `POST|GET /api/v1/users/me/photos`, `DELETE /api/v1/users/me/photos/:photoId` (bearer auth):
 *   every write is scoped to the caller's own id from the token — no route takes another user's
 *   id, so BOLA is impossible by construction.
 * - `GET /media/photos/:userId/:photoId?exp&sig` (no auth: the HMAC signature is the capability)
 *   serves the private container's bytes, the same on every storage backend.
 *
 * Uploads are re-encoded (`processPhoto`): EXIF/GPS never reaches storage.
 */
export function photoRoutes(deps: PhotoRouteDependencies): Router {
  const router = Router();
  const auth = requireAuth(deps.tokens);
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_PHOTO_BYTES;
  const ttl = deps.urlTtlSeconds ?? PHOTO_URL_TTL_SECONDS;
  const now = deps.now ?? Date.now;
  const gate = deps.gate ?? new ProcessingGate();
  const uploads = new PerUserQueue(MAX_PHOTOS_PER_USER);
  const urlOf = (userId: string, photoId: string) => signPhotoUrl(deps.secret, userId, photoId, ttl, now());

  // Answers carry signed URLs (capabilities): never cache them.
  router.use(MY_PHOTOS_PATH, (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  /** Cheap checks before a single body byte is read (auth has already run). */
  const precheckUpload: RequestHandler = (req, _res, next) => {
    const declared = req.headers["content-length"];
    const length = declared === undefined ? undefined : Number(declared);
    const chunked = req.headers["transfer-encoding"] !== undefined;
    if (!chunked && (length === undefined || length === 0)) {
      next(new AppError(ErrorCode.BAD_REQUEST, "the request has no image body"));
      return;
    }
    if (!req.is(ACCEPTED_PHOTO_TYPES as string[])) {
      next(new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "upload a JPEG, PNG or WebP image body"));
      return;
    }
    if (length !== undefined && length > maxBytes) {
      next(new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `an image may have at most ${maxBytes} bytes`));
      return;
    }
    next();
  };

  router.post(
    MY_PHOTOS_PATH,
    auth,
    precheckUpload,
    // Here only: buffers at most `maxBytes` (a chunked body over it fails with entity.too.large → 413).
    // Compressed bodies are refused (415): the limit must bound what is buffered.
    express.raw({ type: ACCEPTED_PHOTO_TYPES as string[], limit: maxBytes, inflate: false }),
    async (req, res) => {
      const { userId } = authOf(res);
      const body: unknown = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new AppError(ErrorCode.BAD_REQUEST, "the request has no image body");
      }
      // One upload at a time per user on this node, so the count below cannot be raced here.
      const photo = await uploads.run(userId, async () => {
        const tooMany = () =>
          new AppError(ErrorCode.CONFLICT, `at most ${MAX_PHOTOS_PER_USER} photos; delete one first`, {
            max: MAX_PHOTOS_PER_USER,
          });
        if ((await deps.photos.list(userId)).length >= MAX_PHOTOS_PER_USER) throw tooMany();
        const processed = await gate.run(() => processPhoto(body));
        const id = randomUUID();
        await deps.photos.put(userId, id, processed.data, processed.contentType);
        // Uploads of one user on two nodes may both pass the check: count again and back out of
        // a write that overshot (both may back out; a retry then succeeds — never more than the max).
        if ((await deps.photos.list(userId)).length > MAX_PHOTOS_PER_USER) {
          await deps.photos.delete(userId, id);
          throw tooMany();
        }
        return { id, width: processed.width, height: processed.height };
      });
      await deps.onPhotosChanged?.(userId);
      sendData(res, { ...photo, url: urlOf(userId, photo.id) }, 201);
    },
  );

  router.get(MY_PHOTOS_PATH, auth, async (_req, res) => {
    const { userId } = authOf(res);
    const ids = await deps.photos.list(userId);
    sendData(
      res,
      ids.map((id) => ({ id, url: urlOf(userId, id) })),
    );
  });

  router.delete(`${MY_PHOTOS_PATH}/:photoId`, auth, async (req, res) => {
    const { photoId } = PhotoParams.parse(req.params);
    const { userId } = authOf(res);
    // Only the caller's own photos exist from here: another user's id is simply not found.
    if (!(await deps.photos.list(userId)).includes(photoId)) {
      throw new AppError(ErrorCode.NOT_FOUND, "photo not found");
    }
    await deps.photos.delete(userId, photoId);
    await deps.onPhotosChanged?.(userId);
    sendData(res, { deleted: true });
  });

  router.get(`${MEDIA_PHOTO_PREFIX}/:userId/:photoId`, async (req, res) => {
    const { userId, photoId } = MediaParams.parse(req.params);
    const query = MediaQuery.safeParse(req.query);
    const check = query.success
      ? verifyPhotoSignature(deps.secret, userId, photoId, query.data.exp, query.data.sig, now())
      : ({ ok: false, reason: "malformed" } as const);
    if (!check.ok) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        check.reason === "expired" ? "the photo link has expired" : "the photo link is not valid",
      );
    }
    const blob = await deps.photos.get(userId, photoId);
    if (!blob) throw new AppError(ErrorCode.NOT_FOUND, "photo not found");
    res.status(200);
    res.setHeader("Content-Type", "image/jpeg");
    res.setHeader("Content-Length", String(blob.data.length));
    // Private: a shared cache must not keep what only the link's holder may see; never past `exp`.
    res.setHeader("Cache-Control", `private, max-age=${check.remainingSeconds}`);
    res.setHeader("X-Content-Type-Options", "nosniff");
    // helmet's default `same-origin` would stop a web client on another origin from showing it.
    res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
    res.end(blob.data);
  });

  // An upload refused before its body was read: close the connection rather than read the rest.
  const closeUnreadUpload: ErrorRequestHandler = (err, req, res, next) => {
    if (req.method === "POST" && !req.complete && !res.headersSent) res.setHeader("Connection", "close");
    next(err);
  };
  router.use(MY_PHOTOS_PATH, closeUnreadUpload);

  return router;
}

/**
 * Runs one task at a time per user, in arrival order, with at most `maxPending` running or waiting
 * (beyond: 429 `RATE_LIMITED`). In-process only: across nodes the recount above still holds.
 */
export class PerUserQueue {
  private readonly queues = new Map<string, { tail: Promise<void>; pending: number }>();

  constructor(private readonly maxPending: number) {}

  run<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(userId) ?? { tail: Promise.resolve(), pending: 0 };
    if (queue.pending >= this.maxPending) {
      return Promise.reject(
        new AppError(ErrorCode.RATE_LIMITED, "too many uploads in progress; retry shortly", {
          retryAfterSeconds: 1,
        }),
      );
    }
    queue.pending++;
    this.queues.set(userId, queue);
    const result = queue.tail.then(task);
    queue.tail = result.then(
      () => undefined,
      () => undefined,
    );
    const done = () => {
      if (--queue.pending === 0 && this.queues.get(userId) === queue) this.queues.delete(userId);
    };
    result.then(done, done);
    return result;
  }
}

const common = [ErrorCode.STORAGE_UNAVAILABLE];

/** Relative to `/api/v1`. (`GET /media/photos/…` lives outside the API prefix and is not listed.) */
export const photoRouteDocs: RouteDoc[] = [
  {
    method: "post",
    path: "/users/me/photos",
    summary:
      "Upload a profile photo as the raw request body (image/jpeg, image/png or image/webp, at most 5 MiB; " +
      "at most 6 photos). Re-encoded as JPEG within 2048×2048 with all metadata (EXIF, GPS) removed.",
    tags: ["photos"],
    auth: true,
    response: UploadedPhotoSchema,
    status: 201,
    errors: [
      ErrorCode.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      ErrorCode.PAYLOAD_TOO_LARGE,
      ErrorCode.CONFLICT,
      ErrorCode.RATE_LIMITED,
      ErrorCode.OVERLOADED,
      ...common,
    ],
  },
  {
    method: "get",
    path: "/users/me/photos",
    summary: "The caller's photos with short-lived signed read URLs",
    tags: ["photos"],
    auth: true,
    response: z.array(PhotoLinkSchema),
    errors: common,
  },
  {
    method: "delete",
    path: "/users/me/photos/{photoId}",
    summary: "Delete one of the caller's photos",
    tags: ["photos"],
    auth: true,
    params: PhotoParams,
    response: z.object({ deleted: z.literal(true) }),
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND, ...common],
  },
];
