import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PHOTO_URL_TTL_SECONDS, signPhotoUrl, verifyPhotoSignature } from "../../server/media/signedUrls.js";

const secret = randomBytes(32);
const userId = randomUUID();
const photoId = randomUUID();
const NOW = Date.UTC(2026, 10, 1, 12, 0, 0, 250);

function parse(url: string) {
  const match = /^\/media\/photos\/([^/]+)\/([^/?]+)\?exp=(\d+)&sig=([A-Za-z0-9_-]+)$/.exec(url);
  expect(match, url).not.toBeNull();
  const [, user, photo, exp, sig] = match as unknown as [string, string, string, string, string];
  return { user, photo, exp, sig };
}

describe("signPhotoUrl", () => {
  it("builds /media/photos/<user>/<photo>?exp=<unix>&sig=<43 base64url chars>", () => {
    const { user, photo, exp, sig } = parse(signPhotoUrl(secret, userId, photoId, 600, NOW));
    expect([user, photo]).toEqual([userId, photoId]);
    expect(Number(exp)).toBe(Math.floor(NOW / 1000) + 600);
    expect(sig).toHaveLength(43);
  });

  it("defaults to a 600 s lifetime and is deterministic", () => {
    expect(PHOTO_URL_TTL_SECONDS).toBe(600);
    const a = signPhotoUrl(secret, userId, photoId, undefined, NOW);
    expect(a).toBe(signPhotoUrl(secret, userId, photoId, 600, NOW));
    expect(a).not.toBe(signPhotoUrl(randomBytes(32), userId, photoId, 600, NOW));
  });

  it("refuses ids that could make the signed string ambiguous and bad lifetimes", () => {
    expect(() => signPhotoUrl(secret, "a/b", photoId)).toThrow();
    expect(() => signPhotoUrl(secret, userId, "x?y")).toThrow();
    expect(() => signPhotoUrl(secret, "", photoId)).toThrow();
    expect(() => signPhotoUrl(secret, userId, photoId, 0)).toThrow();
    expect(() => signPhotoUrl(secret, userId, photoId, 1.5)).toThrow();
  });
});

describe("verifyPhotoSignature", () => {
  const { exp, sig } = parse(signPhotoUrl(secret, userId, photoId, 600, NOW));

  it("accepts its own URL and reports the remaining lifetime", () => {
    expect(verifyPhotoSignature(secret, userId, photoId, exp, sig, NOW)).toEqual({
      ok: true,
      remainingSeconds: 600,
    });
    expect(verifyPhotoSignature(secret, userId, photoId, exp, sig, NOW + 599_000)).toEqual({
      ok: true,
      remainingSeconds: 1,
    });
  });

  it("rejects it from the second it expires", () => {
    const at = Number(exp) * 1000;
    expect(verifyPhotoSignature(secret, userId, photoId, exp, sig, at - 1)).toMatchObject({ ok: true });
    expect(verifyPhotoSignature(secret, userId, photoId, exp, sig, at)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifyPhotoSignature(secret, userId, photoId, exp, sig, at + 86_400_000)).toMatchObject({
      ok: false,
      reason: "expired",
    });
  });

  it("rejects any change to the signed parts", () => {
    const bad = { ok: false, reason: "bad-signature" };
    expect(verifyPhotoSignature(secret, randomUUID(), photoId, exp, sig, NOW)).toEqual(bad);
    expect(verifyPhotoSignature(secret, userId, randomUUID(), exp, sig, NOW)).toEqual(bad);
    expect(verifyPhotoSignature(secret, userId, photoId, String(Number(exp) + 1), sig, NOW)).toEqual(bad);
    expect(verifyPhotoSignature(secret, photoId, userId, exp, sig, NOW)).toEqual(bad);
    expect(verifyPhotoSignature(randomBytes(32), userId, photoId, exp, sig, NOW)).toEqual(bad);
    for (let i = 0; i < sig.length; i += 7) {
      const flipped = `${sig.slice(0, i)}${sig[i] === "A" ? "B" : "A"}${sig.slice(i + 1)}`;
      expect(verifyPhotoSignature(secret, userId, photoId, exp, flipped, NOW)).toMatchObject({ ok: false });
    }
  });

  it("checks the signature before the expiry: a forged old URL is not called expired", () => {
    const forged = "A".repeat(43);
    expect(verifyPhotoSignature(secret, userId, photoId, "1", forged, NOW)).toEqual({
      ok: false,
      reason: "bad-signature",
    });
  });

  it("accepts only the canonical spelling of the signature", () => {
    // The 43rd character carries 2 unused bits: other spellings decode to the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(sig.at(-1)!);
    const variant = `${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(variant, "base64url").equals(Buffer.from(sig, "base64url"))).toBe(true);
    expect(verifyPhotoSignature(secret, userId, photoId, exp, variant, NOW)).toEqual({
      ok: false,
      reason: "bad-signature",
    });
  });

  it.each([
    ["an empty signature", exp, ""],
    ["a short signature", exp, sig.slice(0, 42)],
    ["a padded signature", exp, `${sig}=`],
    ["a base64 (not url) signature", exp, `${sig.slice(0, 42)}+`],
    ["a negative exp", "-1", sig],
    ["a fractional exp", `${exp}.5`, sig],
    ["a huge exp", "9".repeat(20), sig],
    ["an exp with spaces", ` ${exp}`, sig],
  ])("rejects %s as malformed", (_label, badExp, badSig) => {
    expect(verifyPhotoSignature(secret, userId, photoId, badExp, badSig, NOW)).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  it("rejects malformed ids without throwing", () => {
    expect(verifyPhotoSignature(secret, "../x", photoId, exp, sig, NOW)).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});
