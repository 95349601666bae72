import { createHmac, timingSafeEqual } from "node:crypto";

/** Lifetime of a photo read URL: long enough to render a profile, short enough to be useless later. */
export const PHOTO_URL_TTL_SECONDS = 600;
export const MEDIA_PHOTO_PREFIX = "/media/photos";

/** Ids that may appear in a signed path: no `/`, so `userId/photoId/exp` is unambiguous. */
const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
const EXP = /^\d{1,12}$/;
/** A base64url SHA-256 HMAC without padding. */
const SIG = /^[A-Za-z0-9_-]{43}$/;

/**
 * A key of its own for photo URLs, derived from the node-shared secret, so a signature made here
 * can never be replayed against another HMAC use of that secret (or the reverse).
 */
function urlKey(secret: Buffer): Buffer {
  return createHmac("sha256", secret).update("lovecraft-photo-url-v1").digest();
}

function signature(secret: Buffer, userId: string, photoId: string, exp: number): Buffer {
  return createHmac("sha256", urlKey(secret)).update(`${userId}/${photoId}/${exp}`).digest();
}

/**
 * A short-lived read URL for a photo in the private container:
 * `/media/photos/<userId>/<photoId>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>`. The same on
 * every storage backend (the node serves the bytes; no Azure SAS or file path leaks), and valid on
 * every node (the secret is shared). `now` is in milliseconds.
 */
export function signPhotoUrl(
  secret: Buffer,
  userId: string,
  photoId: string,
  ttlSeconds = PHOTO_URL_TTL_SECONDS,
  now = Date.now(),
): string {
  if (!SEGMENT.test(userId) || !SEGMENT.test(photoId)) throw new Error("photo ids must be URL-safe");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new Error("ttlSeconds must be a positive integer");
  const exp = Math.floor(now / 1000) + ttlSeconds;
  const sig = signature(secret, userId, photoId, exp).toString("base64url");
  return `${MEDIA_PHOTO_PREFIX}/${userId}/${photoId}?exp=${exp}&sig=${sig}`;
}

export type PhotoSignatureCheck =
  | { readonly ok: true; readonly remainingSeconds: number }
  | { readonly ok: false; readonly reason: "malformed" | "bad-signature" | "expired" };

/**
 * Checks a photo URL's `exp` and `sig` (as strings from the query). The signature is compared in
 * constant time and checked before the expiry, so `expired` is only ever said of a genuine URL.
 * `now` is in milliseconds.
 */
export function verifyPhotoSignature(
  secret: Buffer,
  userId: string,
  photoId: string,
  exp: string,
  sig: string,
  now = Date.now(),
): PhotoSignatureCheck {
  if (!SEGMENT.test(userId) || !SEGMENT.test(photoId) || !EXP.test(exp) || !SIG.test(sig)) {
    return { ok: false, reason: "malformed" };
  }
  const expires = Number(exp);
  const expected = signature(secret, userId, photoId, expires);
  const given = Buffer.from(sig, "base64url");
  // The last of 43 characters carries 2 spare bits: only the canonical spelling is accepted.
  const canonical = given.toString("base64url") === sig;
  if (!canonical || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad-signature" };
  }
  const remainingSeconds = expires - Math.floor(now / 1000);
  if (remainingSeconds <= 0) return { ok: false, reason: "expired" };
  return { ok: true, remainingSeconds };
}
