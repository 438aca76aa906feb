/**
 * Ed25519 (RFC 8032, pure EdDSA) through node:crypto, plus the raw-key plumbing for its
 * Montgomery sibling X25519 (RFC 7748) used by HPKE recipient keys. KeyObjects are expensive to
 * create, so callers keep them (see `PrivateKeyRecord` in keys.ts); the raw-byte entry points
 * exist for one-shot use and tests.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  KeyError,
  X25519_KEY_LENGTH,
} from "./jwk.js";

export { ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH, ED25519_SIGNATURE_LENGTH } from "./jwk.js";

// DER prefixes (RFC 8410): PKCS#8 OneAsymmetricKey v1 with a 32-byte CurvePrivateKey, and SPKI.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new KeyError("ERR_KEY_INVALID", `${what} must be exactly ${length} bytes`);
  }
}

function rawFromSpki(key: KeyObject, prefix: Buffer, length: number): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  if (der.length !== prefix.length + length || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new KeyError("ERR_KEY_INVALID", "unexpected SubjectPublicKeyInfo encoding");
  }
  return new Uint8Array(der.subarray(prefix.length));
}

/** Private Ed25519 KeyObject from a 32-byte RFC 8032 seed. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  requireLength(seed, ED25519_SEED_LENGTH, "Ed25519 seed");
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** Public Ed25519 KeyObject from the 32-byte public key. */
export function ed25519PublicKeyFromBytes(publicKey: Uint8Array): KeyObject {
  requireLength(publicKey, ED25519_PUBLIC_KEY_LENGTH, "Ed25519 public key");
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
}

/** The 32 raw public-key bytes of an Ed25519 KeyObject (public, or private: derives it). */
export function ed25519PublicKeyBytes(key: KeyObject): Uint8Array {
  assertKeyObject(key, "ed25519");
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return rawFromSpki(pub, ED25519_SPKI_PREFIX, ED25519_PUBLIC_KEY_LENGTH);
}

function assertKeyObject(key: KeyObject, type: "ed25519" | "x25519", kind?: "public" | "private"): void {
  if (!(key instanceof KeyObject) || key.asymmetricKeyType !== type || (kind !== undefined && key.type !== kind)) {
    throw new KeyError("ERR_KEY_INVALID", `expected ${kind ?? "an"} ${type} KeyObject`);
  }
}

/**
 * Ed25519 signature (64 bytes) of `message`. `key` is a cached private KeyObject, or a 32-byte
 * seed (a KeyObject is then built for this call only, which is slow).
 */
export function ed25519Sign(key: KeyObject | Uint8Array, message: Uint8Array): Uint8Array {
  const keyObject = key instanceof Uint8Array ? ed25519PrivateKeyFromSeed(key) : key;
  assertKeyObject(keyObject, "ed25519", "private");
  return new Uint8Array(sign(null, message, keyObject));
}

/**
 * Verifies an Ed25519 signature. Lengths are checked before anything else: a signature that is
 * not exactly 64 bytes yields `false`; a public key that is not exactly 32 bytes (or not an
 * Ed25519 public KeyObject) throws {@link KeyError} `ERR_KEY_INVALID`. Any failure inside
 * OpenSSL yields `false`.
 */
export function ed25519Verify(publicKey: KeyObject | Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey instanceof Uint8Array) requireLength(publicKey, ED25519_PUBLIC_KEY_LENGTH, "Ed25519 public key");
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  const keyObject = publicKey instanceof Uint8Array ? ed25519PublicKeyFromBytes(publicKey) : publicKey;
  assertKeyObject(keyObject, "ed25519", "public");
  try {
    return verify(null, message, keyObject, signature);
  } catch {
    return false;
  }
}

/** Private X25519 KeyObject from its 32-byte scalar (RFC 7748). */
export function x25519PrivateKeyFromBytes(privateKey: Uint8Array): KeyObject {
  requireLength(privateKey, X25519_KEY_LENGTH, "X25519 private key");
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]), format: "der", type: "pkcs8" });
}

/** Public X25519 KeyObject from its 32-byte u-coordinate. */
export function x25519PublicKeyFromBytes(publicKey: Uint8Array): KeyObject {
  requireLength(publicKey, X25519_KEY_LENGTH, "X25519 public key");
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
}

/** The 32 raw public-key bytes of an X25519 KeyObject (public, or private: derives it). */
export function x25519PublicKeyBytes(key: KeyObject): Uint8Array {
  assertKeyObject(key, "x25519");
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return rawFromSpki(pub, X25519_SPKI_PREFIX, X25519_KEY_LENGTH);
}
