/**
 * Composite ML-DSA-65-Ed25519 signatures (draft-ietf-jose-pq-composite-sigs, checked against the
 * ietf-wg-jose/draft-ietf-jose-pq-composite-sigs source and its published JOSE example):
 *
 * ```
 * M'       = Prefix || Label || 0x00 || SHA-512(M)
 * Prefix   = ASCII "CompositeAlgorithmSignatures2025"
 * Label    = ASCII "COMPSIG-MLDSA65-Ed25519-SHA512"
 * 0x00     = length of the (always empty) application context, as in the LAMPS combiner
 * mldsaSig = ML-DSA-65.Sign(mldsaSK, M', ctx = Label)      (pure ML-DSA, label as context)
 * edSig    = Ed25519.Sign(edSK, M')
 * sig      = mldsaSig (3309) || edSig (64)                  = 3373 bytes
 * pub      = mldsaPub (1952) || edPub (32)                  = 1984 bytes
 * priv     = mldsaSeed (32)  || edSeed (32)                 = 64 bytes
 * ```
 *
 * In JOSE, M is the JWS signing input. Verification asserts exact lengths before splitting,
 * always runs both component verifications and reports only a single boolean, never which half
 * failed; any exception during verification yields `false`.
 *
 * This algorithm is opt-in: the JWS layer only accepts it when the caller lists it in `allowAlgs`.
 *
 * @module
 */
import { createHash, type KeyObject } from "node:crypto";
import { utf8 } from "../util/base64url.js";
import { ed25519PrivateKeyFromSeed, ed25519PublicKeyBytes, ed25519PublicKeyFromBytes, ed25519Sign, ed25519Verify } from "./ed25519.js";
import {
  COMPOSITE_PRIVATE_KEY_LENGTH,
  COMPOSITE_PUBLIC_KEY_LENGTH,
  COMPOSITE_SIGNATURE_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  KeyError,
  MLDSA65_PUBLIC_KEY_LENGTH,
  MLDSA65_SEED_LENGTH,
  MLDSA65_SIGNATURE_LENGTH,
} from "./jwk.js";
import {
  mlDsa65Backend,
  mldsa65Sign,
  mldsa65Verify,
  type MlDsa65Backend,
  type MlDsa65PrivateKey,
  type MlDsa65PublicKey,
} from "./mldsa.js";

export { COMPOSITE_PRIVATE_KEY_LENGTH, COMPOSITE_PUBLIC_KEY_LENGTH, COMPOSITE_SIGNATURE_LENGTH } from "./jwk.js";

/** The composite signature prefix (ASCII "CompositeAlgorithmSignatures2025"). */
export const COMPOSITE_PREFIX: Uint8Array = utf8("CompositeAlgorithmSignatures2025");
/** The ML-DSA-65-Ed25519 label (ASCII "COMPSIG-MLDSA65-Ed25519-SHA512"), also the ML-DSA context. */
export const COMPOSITE_LABEL: Uint8Array = utf8("COMPSIG-MLDSA65-Ed25519-SHA512");

/** A composite signing key: both component keys, ready to use. */
export interface CompositePrivateKey {
  /** mldsaPub || edPub (1984 bytes). */
  readonly publicKey: Uint8Array;
  readonly mldsa: MlDsa65PrivateKey;
  /** Cached private Ed25519 KeyObject. */
  readonly ed25519: KeyObject;
}

/** A composite verification key: both component keys, ready to use. */
export interface CompositePublicKey {
  /** mldsaPub || edPub (1984 bytes). */
  readonly publicKey: Uint8Array;
  readonly mldsa: MlDsa65PublicKey;
  /** Cached public Ed25519 KeyObject. */
  readonly ed25519: KeyObject;
}

/** The message representative M' = Prefix || Label || 0x00 || SHA-512(message). */
export function compositeMessage(message: Uint8Array): Uint8Array {
  const digest = createHash("sha512").update(message).digest();
  const out = new Uint8Array(COMPOSITE_PREFIX.length + COMPOSITE_LABEL.length + 1 + digest.length);
  out.set(COMPOSITE_PREFIX, 0);
  out.set(COMPOSITE_LABEL, COMPOSITE_PREFIX.length);
  out[COMPOSITE_PREFIX.length + COMPOSITE_LABEL.length] = 0x00;
  out.set(digest, COMPOSITE_PREFIX.length + COMPOSITE_LABEL.length + 1);
  return out;
}

/** Composite key from the 64-byte private key mldsaSeed || edSeed. */
export function compositeKeyFromSeed(privateKey: Uint8Array, backend: MlDsa65Backend = mlDsa65Backend): CompositePrivateKey {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== COMPOSITE_PRIVATE_KEY_LENGTH) {
    throw new KeyError("ERR_KEY_INVALID", `composite private key must be exactly ${COMPOSITE_PRIVATE_KEY_LENGTH} bytes`);
  }
  const mldsa = backend.keyFromSeed(privateKey.subarray(0, MLDSA65_SEED_LENGTH));
  const ed25519 = ed25519PrivateKeyFromSeed(privateKey.subarray(MLDSA65_SEED_LENGTH));
  const publicKey = new Uint8Array(COMPOSITE_PUBLIC_KEY_LENGTH);
  publicKey.set(mldsa.publicKey, 0);
  publicKey.set(ed25519PublicKeyBytes(ed25519), MLDSA65_PUBLIC_KEY_LENGTH);
  return Object.freeze({ publicKey, mldsa, ed25519 });
}

/** Composite verification key from the 1984-byte public key mldsaPub || edPub. */
export function compositePublicKey(publicKey: Uint8Array, backend: MlDsa65Backend = mlDsa65Backend): CompositePublicKey {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== COMPOSITE_PUBLIC_KEY_LENGTH) {
    throw new KeyError("ERR_KEY_INVALID", `composite public key must be exactly ${COMPOSITE_PUBLIC_KEY_LENGTH} bytes`);
  }
  const mldsa = backend.publicKey(publicKey.subarray(0, MLDSA65_PUBLIC_KEY_LENGTH));
  const ed25519 = ed25519PublicKeyFromBytes(publicKey.subarray(MLDSA65_PUBLIC_KEY_LENGTH));
  return Object.freeze({ publicKey: Uint8Array.from(publicKey), mldsa, ed25519 });
}

/** Composite signature (3373 bytes) of `message`; fails if either component fails. */
export function compositeSign(key: CompositePrivateKey, message: Uint8Array): Uint8Array {
  const mPrime = compositeMessage(message);
  const mldsaSig = mldsa65Sign(key.mldsa, mPrime, COMPOSITE_LABEL);
  const edSig = ed25519Sign(key.ed25519, mPrime);
  if (mldsaSig.length !== MLDSA65_SIGNATURE_LENGTH || edSig.length !== ED25519_SIGNATURE_LENGTH) {
    throw new KeyError("ERR_KEY_INVALID", "composite component signature has an unexpected length");
  }
  const out = new Uint8Array(COMPOSITE_SIGNATURE_LENGTH);
  out.set(mldsaSig, 0);
  out.set(edSig, MLDSA65_SIGNATURE_LENGTH);
  return out;
}

/**
 * Verifies a composite signature. A signature that is not exactly 3373 bytes yields `false`
 * before anything is parsed; raw public-key bytes that are not exactly 1984 bytes throw
 * {@link KeyError}. Both component verifications always run; the result is their logical AND,
 * and any exception yields `false`.
 */
export function compositeVerify(publicKey: CompositePublicKey | Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey instanceof Uint8Array && publicKey.length !== COMPOSITE_PUBLIC_KEY_LENGTH) {
    throw new KeyError("ERR_KEY_INVALID", `composite public key must be exactly ${COMPOSITE_PUBLIC_KEY_LENGTH} bytes`);
  }
  if (!(signature instanceof Uint8Array) || signature.length !== COMPOSITE_SIGNATURE_LENGTH) return false;
  let key: CompositePublicKey;
  try {
    key = publicKey instanceof Uint8Array ? compositePublicKey(publicKey) : publicKey;
  } catch {
    return false;
  }
  let mPrime: Uint8Array;
  try {
    mPrime = compositeMessage(message);
  } catch {
    return false;
  }
  const mldsaSig = signature.subarray(0, MLDSA65_SIGNATURE_LENGTH);
  const edSig = signature.subarray(MLDSA65_SIGNATURE_LENGTH);
  let mldsaOk = false;
  let edOk = false;
  try {
    mldsaOk = mldsa65Verify(key.mldsa, mPrime, mldsaSig, COMPOSITE_LABEL);
  } catch {
    mldsaOk = false;
  }
  try {
    edOk = ed25519Verify(key.ed25519, mPrime, edSig);
  } catch {
    edOk = false;
  }
  return (Number(mldsaOk) & Number(edOk)) === 1;
}
