/**
 * Minimal X25519 key helpers for HPKE (OHP §5.3): raw 32-byte keys, RFC 8037 OKP JWKs, key generation
 * and RFC 9180 `DeriveKeyPair`. The general JWK/JWKS module lives elsewhere; this one only knows what
 * HPKE sealing needs and validates every length at the boundary.
 * @module
 */
import { DhkemX25519HkdfSha256 } from "@hpke/core";
import { x25519 } from "@noble/curves/ed25519.js";
import { b64uDecode, b64uEncode } from "../../util/base64url.js";
import { fromArrayBuffer, isBytes } from "./bytes.js";
import { HpkeError } from "./errors.js";

/** Length in bytes of an X25519 public key, private key and HPKE `enc` (RFC 9180 Npk = Nsk = Nenc). */
export const X25519_KEY_LENGTH = 32;

/** An X25519 key as an RFC 8037 OKP JWK: `x` is the public key, `d` (private keys only) the scalar, both unpadded base64url. */
export interface X25519Jwk {
  kty: "OKP";
  crv: "X25519";
  x: string;
  d?: string;
  kid?: string;
  use?: string;
  alg?: string;
}

/** An X25519 key pair as raw 32-byte strings. */
export interface X25519KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** Where an API takes an X25519 public key: 32 raw bytes or a public JWK. */
export type X25519PublicKeyInput = Uint8Array | X25519Jwk;

/** Where an API takes an X25519 private key: 32 raw bytes or a private JWK (with `d`). */
export type X25519PrivateKeyInput = Uint8Array | X25519Jwk;

const kem = new DhkemX25519HkdfSha256();

function keyInvalid(message: string, cause?: unknown): HpkeError {
  return new HpkeError("ERR_HPKE_KEY_INVALID", message, cause === undefined ? undefined : { cause });
}

function checkRaw(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length !== X25519_KEY_LENGTH) {
    throw keyInvalid(`X25519 ${what} key must be ${X25519_KEY_LENGTH} bytes, got ${bytes.length}`);
  }
  return Uint8Array.from(bytes);
}

function decodeMember(jwk: Record<string, unknown>, name: "x" | "d"): Uint8Array {
  const text = jwk[name];
  if (typeof text !== "string") throw keyInvalid(`X25519 JWK member "${name}" must be a string`);
  let bytes: Uint8Array;
  try {
    bytes = b64uDecode(text);
  } catch (e) {
    throw keyInvalid(`X25519 JWK member "${name}" is not unpadded base64url`, e);
  }
  return checkRaw(bytes, name === "x" ? "public" : "private");
}

function checkJwkShape(jwk: unknown): Record<string, unknown> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw keyInvalid("X25519 JWK must be an object");
  const o = jwk as Record<string, unknown>;
  if (o["kty"] !== "OKP") throw keyInvalid('X25519 JWK must have kty "OKP"');
  if (o["crv"] !== "X25519") throw keyInvalid('X25519 JWK must have crv "X25519"');
  return o;
}

/** Generates a fresh X25519 key pair (WebCrypto via @hpke/core). */
export async function generateX25519KeyPair(): Promise<X25519KeyPair> {
  const pair = await kem.generateKeyPair();
  return {
    publicKey: fromArrayBuffer(await kem.serializePublicKey(pair.publicKey)),
    privateKey: fromArrayBuffer(await kem.serializePrivateKey(pair.privateKey)),
  };
}

/**
 * RFC 9180 §7.1.3 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256): deterministic key pair from input
 * keying material (at least 32 bytes of entropy). Used for the RFC 9180 test vectors and for keys derived
 * from a stored seed.
 */
export async function deriveX25519KeyPair(ikm: Uint8Array): Promise<X25519KeyPair> {
  if (!isBytes(ikm) || ikm.length === 0) throw keyInvalid("ikm must be a non-empty Uint8Array");
  try {
    const pair = await kem.deriveKeyPair(ikm);
    return {
      publicKey: fromArrayBuffer(await kem.serializePublicKey(pair.publicKey)),
      privateKey: fromArrayBuffer(await kem.serializePrivateKey(pair.privateKey)),
    };
  } catch (e) {
    throw keyInvalid("X25519 DeriveKeyPair failed", e);
  }
}

/** The X25519 public key of a raw 32-byte private key (RFC 7748 scalar multiplication of the base point). */
export function x25519PublicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  if (!isBytes(privateKey)) throw keyInvalid("X25519 private key must be a Uint8Array");
  return x25519.getPublicKey(checkRaw(privateKey, "private"));
}

/** Raw 32-byte public key from a public X25519 JWK. A JWK carrying `d` is refused: public inputs hold no secrets. */
export function x25519PublicKeyFromJwk(jwk: unknown): Uint8Array {
  const o = checkJwkShape(jwk);
  if (o["d"] !== undefined) throw keyInvalid('public X25519 JWK must not contain "d"');
  return decodeMember(o, "x");
}

/**
 * Raw 32-byte private key from a private X25519 JWK. When `x` is present it must be the public key of `d`,
 * so a JWK whose halves do not belong together is refused instead of silently half-used.
 */
export function x25519PrivateKeyFromJwk(jwk: unknown): Uint8Array {
  const o = checkJwkShape(jwk);
  const d = decodeMember(o, "d");
  if (o["x"] !== undefined) {
    const x = decodeMember(o, "x");
    const derived = x25519PublicKeyFromPrivate(d);
    let diff = 0;
    for (let i = 0; i < X25519_KEY_LENGTH; i++) diff |= (x[i] ?? 0) ^ (derived[i] ?? 0);
    if (diff !== 0) throw keyInvalid('X25519 JWK "x" does not match "d"');
  }
  return d;
}

/** Public JWK `{kty:"OKP", crv:"X25519", x}` of a raw 32-byte public key. */
export function x25519PublicKeyToJwk(publicKey: Uint8Array): X25519Jwk {
  if (!isBytes(publicKey)) throw keyInvalid("X25519 public key must be a Uint8Array");
  return { kty: "OKP", crv: "X25519", x: b64uEncode(checkRaw(publicKey, "public")) };
}

/** Private JWK `{kty:"OKP", crv:"X25519", x, d}` of a raw 32-byte private key (`x` derived from `d`). */
export function x25519PrivateKeyToJwk(privateKey: Uint8Array): X25519Jwk {
  const x = x25519PublicKeyFromPrivate(privateKey);
  return { kty: "OKP", crv: "X25519", x: b64uEncode(x), d: b64uEncode(privateKey) };
}

/** Raw 32-byte public key from either accepted input form (copy; the caller's buffer is never kept). */
export function resolveX25519PublicKey(input: X25519PublicKeyInput): Uint8Array {
  return isBytes(input) ? checkRaw(input, "public") : x25519PublicKeyFromJwk(input);
}

/** Raw 32-byte private key from either accepted input form (copy; the caller's buffer is never kept). */
export function resolveX25519PrivateKey(input: X25519PrivateKeyInput): Uint8Array {
  return isBytes(input) ? checkRaw(input, "private") : x25519PrivateKeyFromJwk(input);
}
