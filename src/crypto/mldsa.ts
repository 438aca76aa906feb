/**
 * ML-DSA-65 (FIPS 204, pure mode) with two interchangeable backends:
 * - `node`: node:crypto / OpenSSL 3.5 (`crypto.sign(null, msg, key)`), about an order of
 *   magnitude faster; used when the runtime has it;
 * - `noble`: `@noble/post-quantum` `ml_dsa65`, pure JavaScript, available everywhere.
 *
 * The backend is chosen once at module load by feature detection (a seed import, a signature
 * with a context string and both context-bound verifications must work); the environment
 * variable `AGENTWIRE_MLDSA_BACKEND=noble` forces the JavaScript backend. Both backends are also
 * exported so tests can prove they interoperate.
 *
 * Private keys are always the 32-byte seed ξ of FIPS 204 `ML-DSA.KeyGen_internal` (RFC 9964).
 * node:crypto imports a seed through PKCS#8 with the seed-only `privateKey` CHOICE of RFC 9881
 * (draft-ietf-lamps-dilithium-certificates): `seed [0] OCTET STRING (SIZE (32))`. The DER is a
 * fixed 22-byte prefix followed by the seed, 54 bytes in all:
 *
 * ```
 * 30 34                                   OneAsymmetricKey SEQUENCE (52)
 *    02 01 00                             version 0
 *    30 0b 06 09 60 86 48 01 65 03 04 03 12   AlgorithmIdentifier id-ml-dsa-65 (2.16.840.1.101.3.4.3.18)
 *    04 22                                privateKey OCTET STRING (34)
 *       80 20 <32-byte seed>              ML-DSA-65-PrivateKey ::= seed [0] IMPLICIT OCTET STRING
 * ```
 *
 * @module
 */
import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { KeyError, MLDSA65_PUBLIC_KEY_LENGTH, MLDSA65_SEED_LENGTH, MLDSA65_SIGNATURE_LENGTH } from "./jwk.js";

export { MLDSA65_PUBLIC_KEY_LENGTH, MLDSA65_SEED_LENGTH, MLDSA65_SIGNATURE_LENGTH } from "./jwk.js";

/** Seed-only PKCS#8 prefix for ML-DSA-65 (RFC 9881); the seed follows. */
export const MLDSA65_PKCS8_SEED_PREFIX: Uint8Array = Uint8Array.from(
  Buffer.from("3034020100300b060960864801650304031204228020", "hex"),
);
const SPKI_PREFIX = Buffer.from("308207b2300b0609608648016503040312038207a100", "hex");
const EMPTY = new Uint8Array(0);

/** Largest context string FIPS 204 allows. */
export const MLDSA_MAX_CONTEXT_LENGTH = 255;

/** Name of an ML-DSA-65 backend. */
export type MlDsa65BackendName = "node" | "noble";

/** An ML-DSA-65 signing key, bound to the backend that created it. Holds no printable secret. */
export interface MlDsa65PrivateKey {
  readonly backend: MlDsa65BackendName;
  /** The 1952-byte public key derived from the seed. */
  readonly publicKey: Uint8Array;
  /** The cached node:crypto private KeyObject (node backend only). */
  readonly keyObject?: KeyObject;
}

/** An ML-DSA-65 verification key, bound to the backend that created it. */
export interface MlDsa65PublicKey {
  readonly backend: MlDsa65BackendName;
  /** The 1952-byte public key. */
  readonly publicKey: Uint8Array;
  /** The cached node:crypto public KeyObject (node backend only). */
  readonly keyObject?: KeyObject;
}

/** One ML-DSA-65 implementation. Every method validates exact lengths before anything else. */
export interface MlDsa65Backend {
  readonly name: MlDsa65BackendName;
  /** FIPS 204 `ML-DSA.KeyGen_internal(ξ)` from a 32-byte seed. */
  keyFromSeed(seed: Uint8Array): MlDsa65PrivateKey;
  /** Imports a 1952-byte public key. */
  publicKey(publicKey: Uint8Array): MlDsa65PublicKey;
  /** Pure ML-DSA signature (hedged) of `message` under context `context` (default empty). */
  sign(key: MlDsa65PrivateKey, message: Uint8Array, context?: Uint8Array): Uint8Array;
  /** Pure ML-DSA verification; `false` for a wrong-length signature or any internal failure. */
  verify(key: MlDsa65PublicKey, message: Uint8Array, signature: Uint8Array, context?: Uint8Array): boolean;
}

function requireBytes(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new KeyError("ERR_KEY_INVALID", `${what} must be exactly ${length} bytes`);
  }
}

function checkContext(context: Uint8Array | undefined): Uint8Array {
  if (context === undefined) return EMPTY;
  if (!(context instanceof Uint8Array) || context.length > MLDSA_MAX_CONTEXT_LENGTH) {
    throw new RangeError(`ML-DSA context must be a Uint8Array of at most ${MLDSA_MAX_CONTEXT_LENGTH} bytes`);
  }
  return context;
}

function requireBackend(key: { readonly backend: MlDsa65BackendName }, name: MlDsa65BackendName): void {
  if (key?.backend !== name) {
    throw new KeyError("ERR_KEY_UNSUPPORTED", `ML-DSA-65 key belongs to backend ${String(key?.backend)}, not ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// node:crypto backend

function nodeKeyFromSeed(seed: Uint8Array): MlDsa65PrivateKey {
  requireBytes(seed, MLDSA65_SEED_LENGTH, "ML-DSA-65 seed");
  const keyObject = createPrivateKey({
    key: Buffer.concat([MLDSA65_PKCS8_SEED_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(keyObject).export({ format: "der", type: "spki" });
  if (spki.length !== SPKI_PREFIX.length + MLDSA65_PUBLIC_KEY_LENGTH || !spki.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) {
    throw new KeyError("ERR_KEY_INVALID", "unexpected ML-DSA-65 SubjectPublicKeyInfo encoding");
  }
  return Object.freeze({ backend: "node", publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)), keyObject });
}

function nodePublicKey(publicKey: Uint8Array): MlDsa65PublicKey {
  requireBytes(publicKey, MLDSA65_PUBLIC_KEY_LENGTH, "ML-DSA-65 public key");
  const keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  return Object.freeze({ backend: "node", publicKey: Uint8Array.from(publicKey), keyObject });
}

function nodeSign(key: MlDsa65PrivateKey, message: Uint8Array, context?: Uint8Array): Uint8Array {
  requireBackend(key, "node");
  const ctx = checkContext(context);
  const keyObject = key.keyObject as KeyObject;
  const signature = ctx.length === 0 ? sign(null, message, keyObject) : sign(null, message, { key: keyObject, context: ctx });
  return new Uint8Array(signature);
}

function nodeVerify(key: MlDsa65PublicKey, message: Uint8Array, signature: Uint8Array, context?: Uint8Array): boolean {
  requireBackend(key, "node");
  const ctx = checkContext(context);
  if (!(signature instanceof Uint8Array) || signature.length !== MLDSA65_SIGNATURE_LENGTH) return false;
  const keyObject = key.keyObject as KeyObject;
  try {
    return ctx.length === 0
      ? verify(null, message, keyObject, signature)
      : verify(null, message, { key: keyObject, context: ctx }, signature);
  } catch {
    return false;
  }
}

const nodeBackend: MlDsa65Backend = Object.freeze({
  name: "node",
  keyFromSeed: nodeKeyFromSeed,
  publicKey: nodePublicKey,
  sign: nodeSign,
  verify: nodeVerify,
});

// ---------------------------------------------------------------------------------------------
// @noble/post-quantum backend

/** Expanded secret keys of noble handles, kept off the handle so they can never be printed. */
const nobleSecrets = new WeakMap<MlDsa65PrivateKey, Uint8Array>();

function nobleKeyFromSeed(seed: Uint8Array): MlDsa65PrivateKey {
  requireBytes(seed, MLDSA65_SEED_LENGTH, "ML-DSA-65 seed");
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  const handle: MlDsa65PrivateKey = Object.freeze({ backend: "noble", publicKey });
  nobleSecrets.set(handle, secretKey);
  return handle;
}

function noblePublicKey(publicKey: Uint8Array): MlDsa65PublicKey {
  requireBytes(publicKey, MLDSA65_PUBLIC_KEY_LENGTH, "ML-DSA-65 public key");
  return Object.freeze({ backend: "noble", publicKey: Uint8Array.from(publicKey) });
}

function nobleSign(key: MlDsa65PrivateKey, message: Uint8Array, context?: Uint8Array): Uint8Array {
  requireBackend(key, "noble");
  const ctx = checkContext(context);
  const secretKey = nobleSecrets.get(key);
  if (secretKey === undefined) throw new KeyError("ERR_KEY_INVALID", "not an ML-DSA-65 key created by the noble backend");
  return ml_dsa65.sign(message, secretKey, { context: ctx });
}

function nobleVerify(key: MlDsa65PublicKey, message: Uint8Array, signature: Uint8Array, context?: Uint8Array): boolean {
  requireBackend(key, "noble");
  const ctx = checkContext(context);
  if (!(signature instanceof Uint8Array) || signature.length !== MLDSA65_SIGNATURE_LENGTH) return false;
  try {
    return ml_dsa65.verify(signature, message, key.publicKey, { context: ctx });
  } catch {
    return false;
  }
}

/** The pure-JavaScript backend (`@noble/post-quantum`), available on every runtime. */
export const nobleMlDsa65Backend: MlDsa65Backend = Object.freeze({
  name: "noble",
  keyFromSeed: nobleKeyFromSeed,
  publicKey: noblePublicKey,
  sign: nobleSign,
  verify: nobleVerify,
});

// ---------------------------------------------------------------------------------------------
// selection

function detectNodeBackend(): MlDsa65Backend | undefined {
  try {
    const key = nodeKeyFromSeed(new Uint8Array(MLDSA65_SEED_LENGTH));
    const pub = nodePublicKey(key.publicKey);
    const message = Uint8Array.of(1, 2, 3);
    const context = Uint8Array.of(0x61, 0x77);
    const signature = nodeSign(key, message, context);
    // The context must really be bound: verification without it has to fail.
    if (!nodeVerify(pub, message, signature, context) || nodeVerify(pub, message, signature)) return undefined;
    return nodeBackend;
  } catch {
    return undefined;
  }
}

/** The node:crypto backend, or `undefined` when this runtime's node:crypto lacks ML-DSA-65. */
export const nodeMlDsa65Backend: MlDsa65Backend | undefined = detectNodeBackend();

/** The backend used by default: node:crypto when available, else noble. */
export const mlDsa65Backend: MlDsa65Backend =
  process.env["AGENTWIRE_MLDSA_BACKEND"] === "noble" ? nobleMlDsa65Backend : (nodeMlDsa65Backend ?? nobleMlDsa65Backend);

function backendNamed(name: MlDsa65BackendName): MlDsa65Backend {
  if (name === "noble") return nobleMlDsa65Backend;
  if (nodeMlDsa65Backend === undefined) throw new KeyError("ERR_KEY_UNSUPPORTED", "node:crypto has no ML-DSA-65 here");
  return nodeMlDsa65Backend;
}

/** {@link MlDsa65Backend.keyFromSeed} on `backend` (default: the selected backend). */
export function mldsa65KeyFromSeed(seed: Uint8Array, backend: MlDsa65Backend = mlDsa65Backend): MlDsa65PrivateKey {
  return backend.keyFromSeed(seed);
}

/** {@link MlDsa65Backend.publicKey} on `backend` (default: the selected backend). */
export function mldsa65PublicKey(publicKey: Uint8Array, backend: MlDsa65Backend = mlDsa65Backend): MlDsa65PublicKey {
  return backend.publicKey(publicKey);
}

/** Signs with the backend that created `key`. */
export function mldsa65Sign(key: MlDsa65PrivateKey, message: Uint8Array, context?: Uint8Array): Uint8Array {
  return backendNamed(key.backend).sign(key, message, context);
}

/**
 * Verifies with the backend that created `publicKey`, or with the selected backend when given
 * raw bytes (which must be exactly 1952 bytes, else {@link KeyError}). A signature that is not
 * exactly 3309 bytes yields `false`.
 */
export function mldsa65Verify(
  publicKey: MlDsa65PublicKey | Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  context?: Uint8Array,
): boolean {
  if (publicKey instanceof Uint8Array) {
    requireBytes(publicKey, MLDSA65_PUBLIC_KEY_LENGTH, "ML-DSA-65 public key");
    if (!(signature instanceof Uint8Array) || signature.length !== MLDSA65_SIGNATURE_LENGTH) return false;
    return mlDsa65Backend.verify(mlDsa65Backend.publicKey(publicKey), message, signature, context);
  }
  return backendNamed(publicKey.backend).verify(publicKey, message, signature, context);
}
