import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import express, { type Express } from "express";
import helmet from "helmet";
import sharp from "sharp";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../server/auth/AuthService.js";
import { LoginThrottle } from "../../server/auth/LoginThrottle.js";
import { PasswordHasher } from "../../server/auth/PasswordHasher.js";
import { loadSigningKey, type SigningKey } from "../../server/auth/signingKey.js";
import { TokenService } from "../../server/auth/TokenService.js";
import { buildOpenApi } from "../../server/http/apiDocs.js";
import { authRoutes } from "../../server/http/authRoutes.js";
import { errorHandler, notFound, requireJsonBody } from "../../server/http/middleware.js";
import {
  MAX_PHOTOS_PER_USER,
  PerUserQueue,
  photoRouteDocs,
  photoRoutes,
} from "../../server/http/photoRoutes.js";
import { createLogger } from "../../server/logger.js";
import { MAX_PHOTO_EDGE, ProcessingGate } from "../../server/media/photoProcessing.js";
import { signPhotoUrl } from "../../server/media/signedUrls.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";

const logger = createLogger({ level: process.env.TEST_LOG ?? "silent" });
const PHOTOS = "/api/v1/users/me/photos";
const SMALL_LIMIT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let dir: string;
let storage: Storage;
let stores: Stores;
let key: SigningKey;
let tokens: TokenService;
let auth: AuthService;
/** Added to the photo routes' clock, to expire signed URLs without waiting. */
let clockOffsetMs = 0;
let app: Express;
let smallApp: Express;

/**
 * The photo router mounted as `createHttpApp` must mount it: at app level, before the `/api/v1`
 * router whose `requireJsonBody` refuses non-JSON bodies, with the real auth routes behind it.
 */
function buildApp(maxBytes?: number): Express {
  const built = express();
  built.disable("x-powered-by");
  built.use(helmet());
  built.use(
    photoRoutes({
      photos: stores.photos,
      tokens,
      secret: key.derivedSecret,
      now: () => Date.now() + clockOffsetMs,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
    }),
  );
  const api = express.Router();
  api.use(requireJsonBody);
  api.use(express.json({ limit: "100kb", strict: true }));
  api.use(authRoutes(auth, tokens));
  built.use("/api/v1", api);
  built.use(notFound);
  built.use(errorHandler(logger));
  return built;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-photos-"));
  storage = openEmbeddedStorage(join(dir, "data"));
  stores = createStores(storage);
  key = await loadSigningKey({ pem: undefined, dataDir: join(dir, "key") });
  tokens = new TokenService(key, "lovecraft", "aloevera-harmony-meet");
  auth = new AuthService({
    accounts: stores.accounts,
    refreshTokens: stores.refreshTokens,
    hasher: new PasswordHasher(),
    tokens,
    throttle: new LoginThrottle(),
  });
  app = buildApp();
  smallApp = buildApp(SMALL_LIMIT);
});

afterAll(async () => {
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface User {
  readonly userId: string;
  readonly bearer: string;
}

let userCount = 0;
/** Registers through the real auth route and returns the bearer header. */
async function registerUser(): Promise<User> {
  const res = await request(app)
    .post("/api/v1/auth/register")
    .send({
      email: `photo-user-${++userCount}@example.com`,
      password: "violet gramophone tuesday",
      displayName: `Photo User ${userCount}`,
    });
  expect(res.status).toBe(201);
  return { userId: res.body.data.user.id, bearer: `Bearer ${res.body.data.accessToken}` };
}

function upload(user: User, body: Buffer | string, type: string, target: Express = app) {
  return request(target).post(PHOTOS).set("Authorization", user.bearer).set("Content-Type", type).send(body);
}

function errorBody(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.body.success).toBe(false);
  expect(res.body.error.code).toBe(code);
  return res.body.error as { code: string; message: string; details?: unknown };
}

interface Uploaded {
  id: string;
  url: string;
  width: number;
  height: number;
}

function created(res: request.Response): Uploaded {
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.success).toBe(true);
  expect(res.headers["cache-control"]).toBe("no-store");
  return res.body.data as Uploaded;
}

/** A photo as a phone takes it: 3000×2000, EXIF with camera details, GPS and orientation 6. */
async function phoneJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 3000, height: 2000, channels: 3, background: { r: 180, g: 40, b: 90 } } })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: "MarkerPhone", Model: "Secret Model 9", Copyright: "marker-copyright" },
      IFD3: {
        GPSLatitudeRef: "N",
        GPSLatitude: "55/1 45/1 2106/100",
        GPSLongitudeRef: "E",
        GPSLongitude: "37/1 37/1 1234/100",
      },
    })
    .jpeg({ quality: 80 })
    .toBuffer();
}

const smallImage = (format: "jpeg" | "png" | "webp", width = 120, height = 80) =>
  sharp({ create: { width, height, channels: 4, background: { r: 20, g: 160, b: 90, alpha: 0.5 } } })
    .toFormat(format)
    .toBuffer();

const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script>' +
    '<rect width="100" height="100" fill="red"/></svg>',
);

describe("authentication", () => {
  it("answers 401 without a bearer token on every /users/me/photos route", async () => {
    const jpeg = await smallImage("jpeg");
    const post = await request(app).post(PHOTOS).set("Content-Type", "image/jpeg").send(jpeg);
    errorBody(post, 401, "UNAUTHORIZED");
    expect(post.headers["www-authenticate"]).toMatch(/^Bearer/);
    errorBody(await request(app).get(PHOTOS), 401, "UNAUTHORIZED");
    errorBody(
      await request(app).delete(`${PHOTOS}/00000000-0000-4000-8000-000000000000`),
      401,
      "UNAUTHORIZED",
    );
    const forged = await request(app).get(PHOTOS).set("Authorization", "Bearer a.b.c");
    errorBody(forged, 401, "UNAUTHORIZED");
  });
});

describe("upload", () => {
  let user: User;
  beforeAll(async () => {
    user = await registerUser();
  });

  it("strips EXIF and GPS, applies the orientation, fits 2048 px and stores a JPEG", async () => {
    const original = await phoneJpeg();
    const before = await sharp(original).metadata();
    expect(before).toMatchObject({ format: "jpeg", width: 3000, height: 2000, orientation: 6 });
    expect(before.exif?.includes("marker-copyright")).toBe(true);
    expect(before.exif?.includes("MarkerPhone")).toBe(true);

    const photo = created(await upload(user, original, "image/jpeg"));
    expect(photo.id).toMatch(UUID);
    // Rotated upright (portrait), then shrunk to fit 2048×2048.
    expect(photo).toMatchObject({ width: 1365, height: 2048 });
    expect(photo.url).toMatch(
      new RegExp(`^/media/photos/${user.userId}/${photo.id}\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`),
    );

    const stored = await stores.photos.get(user.userId, photo.id);
    expect(stored?.contentType).toBe("image/jpeg");
    const data = stored!.data;
    const after = await sharp(data).metadata();
    expect(after.format).toBe("jpeg");
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.iptc).toBeUndefined();
    expect(after.orientation).toBeUndefined();
    expect(Math.max(after.width, after.height)).toBeLessThanOrEqual(MAX_PHOTO_EDGE);
    expect([after.width, after.height]).toEqual([1365, 2048]);
    // Not a trace in the bytes either: no APP1 "Exif" segment, no marker strings.
    expect(data.includes("Exif\0\0")).toBe(false);
    expect(data.includes("marker-copyright")).toBe(false);
    expect(data.includes("MarkerPhone")).toBe(false);
  });

  it.each(["png", "webp"] as const)("accepts %s and stores it as JPEG", async (format) => {
    const photo = created(await upload(user, await smallImage(format), `image/${format}`));
    expect(photo).toMatchObject({ width: 120, height: 80 });
    const stored = await stores.photos.get(user.userId, photo.id);
    expect((await sharp(stored!.data).metadata()).format).toBe("jpeg");
    await stores.photos.delete(user.userId, photo.id);
  });

  it("never enlarges a small image", async () => {
    const photo = created(await upload(user, await smallImage("jpeg", 40, 30), "image/jpeg"));
    expect(photo).toMatchObject({ width: 40, height: 30 });
    await stores.photos.delete(user.userId, photo.id);
  });

  it("decides the type from the bytes, not the declared type", async () => {
    // A real PNG declared as JPEG is still an accepted image: it is decoded as what it is.
    const photo = created(await upload(user, await smallImage("png"), "image/jpeg"));
    await stores.photos.delete(user.userId, photo.id);
  });

  it("refuses an SVG sent as image/png with 415", async () => {
    const error = errorBody(await upload(user, SVG, "image/png"), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(error.details).toEqual({ detected: "unknown" });
    const xml = Buffer.concat([Buffer.from('<?xml version="1.0"?>'), SVG]);
    const xmlError = errorBody(await upload(user, xml, "image/png"), 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(xmlError.details).toEqual({ detected: "application/xml" });
  });

  it("refuses other real formats (GIF, TIFF) with 415", async () => {
    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: "#fff" } })
      .gif()
      .toBuffer();
    errorBody(await upload(user, gif, "image/jpeg"), 415, "UNSUPPORTED_MEDIA_TYPE");
    const tiff = await sharp({ create: { width: 10, height: 10, channels: 3, background: "#fff" } })
      .tiff()
      .toBuffer();
    errorBody(await upload(user, tiff, "image/webp"), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 415 for random bytes (no known signature) and 400 for a corrupt JPEG", async () => {
    // Bytes with no magic number: file-type recognises nothing → not an accepted type → 415.
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    errorBody(await upload(user, random, "image/jpeg"), 415, "UNSUPPORTED_MEDIA_TYPE");
    // JPEG magic followed by garbage: the right type, but undecodable → 400.
    const fakeJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), random]);
    errorBody(await upload(user, fakeJpeg, "image/jpeg"), 400, "VALIDATION_FAILED");
    // A real JPEG cut short fails to decode (failOn: "error") → 400.
    const truncated = (await phoneJpeg()).subarray(0, 2000);
    errorBody(await upload(user, truncated, "image/jpeg"), 400, "VALIDATION_FAILED");
  });

  it("refuses an image over the pixel limit with 400 before decoding it", async () => {
    const bomb = await sharp({ create: { width: 10_000, height: 5_000, channels: 3, background: "#369" } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const error = errorBody(await upload(user, bomb, "image/png"), 400, "VALIDATION_FAILED");
    expect(error.message).toMatch(/megapixels/);
  });

  it.each([
    ["text/plain", "hello"],
    ["application/json", '{"photo":"x"}'],
    ["multipart/form-data; boundary=x", "--x--"],
    ["image/svg+xml", SVG.toString()],
    ["image/gif", "GIF89a"],
  ])("answers 415 for a %s body", async (type, body) => {
    errorBody(await upload(user, body, type), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 415 for a compressed body (the size limit must bound what is buffered)", async () => {
    const res = await request(app)
      .post(PHOTOS)
      .set("Authorization", user.bearer)
      .set("Content-Type", "image/jpeg")
      .set("Content-Encoding", "gzip")
      .send(gzipSync(await smallImage("jpeg")));
    errorBody(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 400 for an empty body", async () => {
    errorBody(await upload(user, Buffer.alloc(0), "image/jpeg"), 400, "BAD_REQUEST");
    const none = await request(app).post(PHOTOS).set("Authorization", user.bearer);
    errorBody(none, 400, "BAD_REQUEST");
  });

  it("answers 413 for a body over the limit, declared by Content-Length", async () => {
    const res = await upload(user, Buffer.alloc(SMALL_LIMIT + 1, 0xff), "image/jpeg", smallApp);
    errorBody(res, 413, "PAYLOAD_TOO_LARGE");
    // Refused from the header alone: the connection is not kept to read the rest.
    expect(res.headers.connection).toBe("close");
    // Under the limit, the same app accepts.
    const small = await smallImage("jpeg");
    expect(small.length).toBeLessThan(SMALL_LIMIT);
    const photo = created(await upload(user, small, "image/jpeg", smallApp));
    await stores.photos.delete(user.userId, photo.id);
  });

  describe("over a socket", () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = smallApp.listen(0);
      await new Promise<void>((resolve) => server.once("listening", resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const readJson = (res: IncomingMessage) =>
      new Promise<{ status: number; body: { error: { code: string } } }>((resolve, reject) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
        res.on("error", reject);
      });

    it("answers 413 to a declared huge body without waiting for it", async () => {
      const answer = await new Promise<{ status: number; body: { error: { code: string } } }>(
        (resolve, reject) => {
          const req = httpRequest({
            port,
            method: "POST",
            path: PHOTOS,
            headers: {
              Authorization: user.bearer,
              "Content-Type": "image/jpeg",
              "Content-Length": String(50 * 1024 * 1024),
            },
          });
          req.on("response", (res) => readJson(res).then(resolve, reject));
          req.on("error", reject);
          // 1 KiB of the announced 50 MiB, and the request is never finished.
          req.write(Buffer.alloc(1024));
        },
      );
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    });

    it("answers 413 to a chunked body once it passes the limit", async () => {
      const answer = await new Promise<{ status: number; body: { error: { code: string } } }>(
        (resolve, reject) => {
          const req = httpRequest({
            port,
            method: "POST",
            path: PHOTOS,
            headers: {
              Authorization: user.bearer,
              "Content-Type": "image/jpeg",
              "Transfer-Encoding": "chunked",
            },
          });
          req.on("response", (res) => readJson(res).then(resolve, reject));
          req.on("error", reject);
          for (let i = 0; i < 8; i++) req.write(Buffer.alloc(16 * 1024, i));
          req.end();
        },
      );
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    });
  });

  it(`refuses photo number ${MAX_PHOTOS_PER_USER + 1} with 409`, async () => {
    const owner = await registerUser();
    const jpeg = await smallImage("jpeg");
    for (let i = 0; i < MAX_PHOTOS_PER_USER; i++) created(await upload(owner, jpeg, "image/jpeg"));
    const error = errorBody(await upload(owner, jpeg, "image/jpeg"), 409, "CONFLICT");
    expect(error.details).toEqual({ max: MAX_PHOTOS_PER_USER });
    expect(await stores.photos.list(owner.userId)).toHaveLength(MAX_PHOTOS_PER_USER);
  });

  it(`never keeps more than ${MAX_PHOTOS_PER_USER} photos under concurrent uploads`, async () => {
    const owner = await registerUser();
    const jpeg = await smallImage("jpeg");
    for (let i = 0; i < MAX_PHOTOS_PER_USER - 1; i++) created(await upload(owner, jpeg, "image/jpeg"));
    const answers = await Promise.all(Array.from({ length: 4 }, () => upload(owner, jpeg, "image/jpeg")));
    // Serialized per user: exactly one fills the last slot, the others find the album full.
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    expect(await stores.photos.list(owner.userId)).toHaveLength(MAX_PHOTOS_PER_USER);
  });
});

describe("list and delete", () => {
  it("lists the caller's photos with signed URLs and deletes only the caller's", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const jpeg = await smallImage("jpeg");
    const a1 = created(await upload(alice, jpeg, "image/jpeg"));
    const a2 = created(await upload(alice, jpeg, "image/jpeg"));
    const b1 = created(await upload(bob, jpeg, "image/jpeg"));

    const list = await request(app).get(PHOTOS).set("Authorization", alice.bearer);
    expect(list.status).toBe(200);
    expect(list.headers["cache-control"]).toBe("no-store");
    const items = list.body.data as { id: string; url: string }[];
    expect(items.map((p) => p.id).sort()).toEqual([a1.id, a2.id].sort());
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(["id", "url"]);
      expect(item.url.startsWith(`/media/photos/${alice.userId}/${item.id}?exp=`)).toBe(true);
      expect((await request(app).get(item.url)).status).toBe(200);
    }

    // Bob's photo id, from Alice: there is no such photo of hers.
    const foreign = await request(app).delete(`${PHOTOS}/${b1.id}`).set("Authorization", alice.bearer);
    errorBody(foreign, 404, "NOT_FOUND");
    expect(await stores.photos.get(bob.userId, b1.id)).toBeDefined();

    for (const bad of ["not-a-uuid", "..%2F..%2Fetc", `${a1.id}x`, "%20"]) {
      const res = await request(app).delete(`${PHOTOS}/${bad}`).set("Authorization", alice.bearer);
      errorBody(res, 400, "VALIDATION_FAILED");
    }

    const deleted = await request(app).delete(`${PHOTOS}/${a1.id}`).set("Authorization", alice.bearer);
    expect(deleted.status).toBe(200);
    expect(deleted.body.data).toEqual({ deleted: true });
    expect(await stores.photos.get(alice.userId, a1.id)).toBeUndefined();
    const again = await request(app).delete(`${PHOTOS}/${a1.id}`).set("Authorization", alice.bearer);
    errorBody(again, 404, "NOT_FOUND");

    const after = await request(app).get(PHOTOS).set("Authorization", alice.bearer);
    expect((after.body.data as { id: string }[]).map((p) => p.id)).toEqual([a2.id]);
    // The still-valid signed URL of a deleted photo finds nothing.
    errorBody(await request(app).get(a1.url), 404, "NOT_FOUND");
  });

  it("lists nothing for a user without photos", async () => {
    const carol = await registerUser();
    const res = await request(app).get(PHOTOS).set("Authorization", carol.bearer);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });
});

describe("signed media URLs", () => {
  let owner: User;
  let photo: Uploaded;
  beforeAll(async () => {
    owner = await registerUser();
    photo = created(await upload(owner, await phoneJpeg(), "image/jpeg"));
  });

  const withQuery = (url: string, change: (q: URLSearchParams) => void) => {
    const [path, query] = url.split("?") as [string, string];
    const params = new URLSearchParams(query);
    change(params);
    return `${path}?${params.toString()}`;
  };

  it("serves the stored JPEG without authentication, privately cached until expiry", async () => {
    const res = await request(app).get(photo.url).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("image/jpeg");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["cross-origin-resource-policy"]).toBe("cross-origin");
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers["cache-control"] ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(600);
    const stored = await stores.photos.get(owner.userId, photo.id);
    expect(Buffer.compare(res.body as Buffer, stored!.data)).toBe(0);
    expect((await sharp(res.body as Buffer).metadata()).exif).toBeUndefined();
  });

  it("shortens max-age as the link ages and refuses it once expired", async () => {
    try {
      clockOffsetMs = 500_000;
      const aged = await request(app).get(photo.url);
      expect(aged.status).toBe(200);
      const maxAge = Number(/max-age=(\d+)/.exec(aged.headers["cache-control"] ?? "")?.[1]);
      expect(maxAge).toBeGreaterThan(90);
      expect(maxAge).toBeLessThanOrEqual(100);

      clockOffsetMs = 601_000;
      const expired = errorBody(await request(app).get(photo.url), 403, "FORBIDDEN");
      expect(expired.message).toMatch(/expired/);
    } finally {
      clockOffsetMs = 0;
    }
    // A fresh listing signs new URLs.
    const list = await request(app).get(PHOTOS).set("Authorization", owner.bearer);
    expect((await request(app).get(list.body.data[0].url)).status).toBe(200);
  });

  it("refuses a URL signed in the past", async () => {
    const old = signPhotoUrl(key.derivedSecret, owner.userId, photo.id, 600, Date.now() - 3600_000);
    errorBody(await request(app).get(old), 403, "FORBIDDEN");
  });

  it("refuses a tampered, moved, extended or unsigned URL with 403", async () => {
    const sig = new URLSearchParams(photo.url.split("?")[1]).get("sig")!;
    const flipped = `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    const other = await registerUser();
    const cases = [
      withQuery(photo.url, (q) => q.set("sig", flipped)),
      withQuery(photo.url, (q) => q.set("exp", String(Number(q.get("exp")) + 3600))),
      withQuery(photo.url, (q) => q.delete("sig")),
      withQuery(photo.url, (q) => q.delete("exp")),
      withQuery(photo.url, (q) => q.set("sig", "")),
      withQuery(photo.url, (q) => q.append("sig", sig)),
      photo.url.replace(owner.userId, other.userId),
      photo.url.split("?")[0]!,
    ];
    for (const url of cases) {
      const error = errorBody(await request(app).get(url), 403, "FORBIDDEN");
      expect(error.message).toMatch(/not valid/);
    }
    // A URL signed with another secret is not ours.
    const foreign = signPhotoUrl(Buffer.alloc(32, 7), owner.userId, photo.id);
    errorBody(await request(app).get(foreign), 403, "FORBIDDEN");
  });

  it("answers 400 for malformed ids in the media path", async () => {
    const path = photo.url.replace(photo.id, "not-a-uuid");
    errorBody(await request(app).get(path), 400, "VALIDATION_FAILED");
  });
});

describe("processing gate", () => {
  it("runs at most maxActive tasks and refuses beyond the queue with 503 OVERLOADED", async () => {
    const gate = new ProcessingGate(1, 1);
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await blocker;
      running--;
      return "done";
    };
    const first = gate.run(task);
    const second = gate.run(task);
    await expect(gate.run(task)).rejects.toMatchObject({ code: "OVERLOADED", status: 503 });
    release();
    await expect(Promise.all([first, second])).resolves.toEqual(["done", "done"]);
    expect(peak).toBe(1);
    // Slots are given back, failures included.
    await expect(gate.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(gate.run(async () => "again")).resolves.toBe("again");
  });
});

describe("per-user upload queue", () => {
  it("runs one task per user at a time, in order, and refuses beyond maxPending with 429", async () => {
    const queue = new PerUserQueue(2);
    const order: string[] = [];
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = queue.run("u1", async () => {
      order.push("first:start");
      await blocker;
      order.push("first:end");
      return 1;
    });
    const second = queue.run("u1", async () => {
      order.push("second");
      return 2;
    });
    await expect(queue.run("u1", async () => 3)).rejects.toMatchObject({ code: "RATE_LIMITED", status: 429 });
    // Another user is not held up.
    await expect(queue.run("u2", async () => "other")).resolves.toBe("other");
    release();
    await expect(Promise.all([first, second])).resolves.toEqual([1, 2]);
    expect(order).toEqual(["first:start", "first:end", "second"]);
    // A failure frees the slot and does not block the next task.
    await expect(queue.run("u1", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(queue.run("u1", async () => "next")).resolves.toBe("next");
  });
});

describe("route docs", () => {
  it("documents the /users/me/photos routes relative to /api/v1", () => {
    const doc = buildOpenApi(photoRouteDocs, { title: "t", version: "1" }) as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual(["/users/me/photos", "/users/me/photos/{photoId}"]);
    const post = doc.paths["/users/me/photos"]!.post!;
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(post.responses).sort()).toEqual(
      ["201", "400", "401", "409", "413", "415", "429", "503"].sort(),
    );
  });
});
