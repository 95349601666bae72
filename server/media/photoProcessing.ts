import { fileTypeFromBuffer } from "file-type";
import sharp from "sharp";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";

/** The only input types accepted, by their real (magic-byte) type; sharp's format name for each. */
const ACCEPTED = new Map<string, string>([
  ["image/jpeg", "jpeg"],
  ["image/png", "png"],
  ["image/webp", "webp"],
]);

/** Content types an upload may declare (a first filter only: the bytes decide). */
export const ACCEPTED_PHOTO_TYPES: readonly string[] = [...ACCEPTED.keys()];

/** Decompression-bomb guard: refused before decoding (e.g. 8000×5000). */
export const MAX_INPUT_PIXELS = 40_000_000;
/** Stored photos fit within this square, never enlarged. */
export const MAX_PHOTO_EDGE = 2048;
const JPEG_QUALITY = 85;

export interface ProcessedPhoto {
  readonly data: Buffer;
  readonly contentType: "image/jpeg";
  readonly width: number;
  readonly height: number;
}

const unsupported = (detected: string) =>
  new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "only JPEG, PNG and WebP images are accepted", {
    detected,
  });

/**
 * Validates and re-encodes an uploaded photo. The real type comes from the magic bytes (never
 * from the client's file name or `Content-Type`); the image is decoded with a pixel limit,
 * turned upright (EXIF orientation), shrunk to fit 2048×2048, flattened onto white and written as
 * a fresh JPEG. sharp writes no metadata unless asked to, so EXIF (GPS, camera serial), XMP, IPTC
 * and comments of the original never survive — this is a dating app.
 *
 * Throws `AppError`: `UNSUPPORTED_MEDIA_TYPE` for anything but JPEG/PNG/WebP (an SVG or a text
 * file renamed `.png` included), `VALIDATION_FAILED` for a corrupt image or too many pixels.
 */
export async function processPhoto(bytes: Buffer): Promise<ProcessedPhoto> {
  const detected = await fileTypeFromBuffer(bytes).catch(() => undefined);
  const expectedFormat = detected ? ACCEPTED.get(detected.mime) : undefined;
  if (!detected || !expectedFormat) throw unsupported(detected?.mime ?? "unknown");

  const image = sharp(bytes, { failOn: "error", limitInputPixels: MAX_INPUT_PIXELS });
  let format: string | undefined;
  try {
    format = (await image.metadata()).format;
  } catch (err) {
    throw undecodable(err);
  }
  // Both sniffers read the magic bytes; refuse a polyglot they disagree about.
  if (format !== expectedFormat) throw unsupported(detected.mime);

  try {
    const { data, info } = await image
      .rotate()
      .resize({
        width: MAX_PHOTO_EDGE,
        height: MAX_PHOTO_EDGE,
        fit: "inside",
        withoutEnlargement: true,
      })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality: JPEG_QUALITY, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    return { data, contentType: "image/jpeg", width: info.width, height: info.height };
  } catch (err) {
    throw undecodable(err);
  }
}

function undecodable(err: unknown): AppError {
  const tooLarge = err instanceof Error && /pixel limit/i.test(err.message);
  return new AppError(
    ErrorCode.VALIDATION_FAILED,
    tooLarge
      ? `the image has more than ${MAX_INPUT_PIXELS / 1_000_000} megapixels`
      : "the image is corrupt or cannot be decoded",
    undefined,
    { cause: err },
  );
}

/**
 * Bounds how many photos are decoded at once. sharp runs each pipeline on a libuv thread-pool
 * thread — the pool argon2 and jose's WebCrypto also use (shared/notes/security.md) — so a burst
 * of uploads must not occupy it. Beyond `maxWaiting` queued uploads: 503 `OVERLOADED`.
 */
export class ProcessingGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly maxActive = 2,
    private readonly maxWaiting = 16,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.maxActive) {
      this.active++;
    } else {
      if (this.waiting.length >= this.maxWaiting) {
        throw new AppError(ErrorCode.OVERLOADED, "too many photos are being processed; retry shortly", {
          retryAfterSeconds: 1,
        });
      }
      // The releasing task hands its slot over: `active` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
