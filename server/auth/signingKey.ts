import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from "jose";

export const JWT_ALGORITHM = "EdDSA";
const KEY_FILE = "jwt-signing-key.pem";

/** The key that signs access tokens, with the public half published for verifiers. */
export interface SigningKey {
  readonly alg: typeof JWT_ALGORITHM;
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof importPKCS8>>;
  readonly publicJwk: JWK;
  /** Secret derived from the private key, for HMACs that must be shared by every node. */
  readonly derivedSecret: Buffer;
}

async function fromPem(pem: string): Promise<SigningKey> {
  const privateKey = await importPKCS8(pem, JWT_ALGORITHM, { extractable: true });
  const { d: privateScalar, ...publicJwk } = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  // From the key material, not the PEM text: nodes given the same key with other line endings
  // must derive the same secret.
  const derivedSecret = createHmac("sha256", Buffer.from(privateScalar ?? "", "base64url"))
    .update("lovecraft-derived-secret-v1")
    .digest();
  return {
    alg: JWT_ALGORITHM,
    kid,
    privateKey,
    publicJwk: { ...publicJwk, kid, alg: JWT_ALGORITHM, use: "sig" },
    derivedSecret,
  };
}

/** A single shared slot for the generated key: `claim` stores it unless another node did first. */
export interface SharedKeySlot {
  read(): Promise<string | undefined>;
  /** Stores `pem` if the slot is empty; returns whichever key the slot holds afterwards. */
  claim(pem: string): Promise<string>;
}

/**
 * Loads the Ed25519 signing key: from `JWT_PRIVATE_KEY` when configured (required in
 * production), otherwise from `<dataDir>/jwt-signing-key.pem`, generating it on first start so
 * tokens stay valid across restarts of a development node.
 */
export async function loadSigningKey(options: {
  pem: string | undefined;
  dataDir: string;
  /**
   * Where nodes sharing a storage account agree on one generated key when none is configured
   * (a development cluster): the first node's key wins; every node then signs and verifies alike.
   */
  shared?: SharedKeySlot;
}): Promise<SigningKey> {
  if (options.pem) return fromPem(options.pem);
  if (options.shared) {
    const existing = await options.shared.read();
    if (existing) return fromPem(existing);
    const { privateKey } = await generateKeyPair(JWT_ALGORITHM, { crv: "Ed25519", extractable: true });
    return fromPem(await options.shared.claim(await exportPKCS8(privateKey)));
  }
  const path = join(options.dataDir, KEY_FILE);
  if (existsSync(path)) return fromPem(await readFile(path, "utf8"));
  const { privateKey } = await generateKeyPair(JWT_ALGORITHM, { crv: "Ed25519", extractable: true });
  const pem = await exportPKCS8(privateKey);
  await mkdir(options.dataDir, { recursive: true });
  const temp = `${path}.tmp`;
  const file = await open(temp, "w", 0o600);
  try {
    await file.writeFile(pem);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  return fromPem(pem);
}
