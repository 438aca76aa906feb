/**
 * RFC 9180 `SealBase` (single-shot, base mode) for the OHP §5.3 suite: bytes in, bytes out.
 * @module
 */
import { isBytes, fromArrayBuffer } from "./bytes.js";
import { HpkeError } from "./errors.js";
import { cipherSuiteFor, resolvePublicKey, type HpkePublicKeyInput, type HpkeSuiteName } from "./suite.js";
import type { X25519PublicKeyInput } from "./keys.js";

/** Output of a single-shot seal: the encapsulated key and the AEAD ciphertext (plaintext length + 16). */
export interface HpkeSealed {
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/** @internal Bytes-checking shared by the seal entry points. */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (!isBytes(value)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", `${what} must be a Uint8Array`);
  return value;
}

/**
 * @internal Seal under a named suite. `ephemeralIkm` is the RFC 9180 test-vector hook (`ikmE`, or X-Wing's
 * 64 bytes of encapsulation randomness); production callers leave it undefined so the ephemeral is random.
 */
export async function sealWithSuite(
  suite: HpkeSuiteName,
  recipientPublicKey: HpkePublicKeyInput,
  plaintext: Uint8Array,
  aad: Uint8Array,
  info: Uint8Array | undefined,
  ephemeralIkm?: Uint8Array,
): Promise<HpkeSealed> {
  checkBytes(plaintext, "plaintext");
  checkBytes(aad, "aad");
  if (info !== undefined) checkBytes(info, "info");
  const pk = resolvePublicKey(suite, recipientPublicKey);
  const cs = await cipherSuiteFor(suite);
  let publicKey;
  try {
    publicKey = await cs.kem.deserializePublicKey(pk);
  } catch (e) {
    throw new HpkeError("ERR_HPKE_KEY_INVALID", "recipient public key is not a valid key for this suite", { cause: e });
  }
  let ctx;
  try {
    ctx = await cs.createSenderContext({
      recipientPublicKey: publicKey,
      ...(info === undefined ? {} : { info }),
      ...(ephemeralIkm === undefined ? {} : { ekm: ephemeralIkm }),
    });
  } catch (e) {
    // Encapsulation only fails on an unusable recipient key (e.g. a low-order X25519 point).
    throw new HpkeError("ERR_HPKE_KEY_INVALID", "recipient public key rejected by the KEM", { cause: e });
  }
  try {
    const ciphertext = fromArrayBuffer(await ctx.seal(plaintext, aad));
    return { enc: fromArrayBuffer(ctx.enc), ciphertext };
  } catch (e) {
    throw new HpkeError("ERR_HPKE_SEAL_FAILED", "HPKE seal failed", { cause: e });
  }
}

/**
 * RFC 9180 §6.1 `SealBase(pkR, info, aad, pt)` with the OHP §5.3 suite (DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, ChaCha20Poly1305). `info` defaults to empty, as OHP uses it. A fresh ephemeral key is drawn
 * for every call.
 *
 * @param recipientPublicKey raw 32-byte X25519 public key or a public OKP JWK
 * @returns `enc` (32 bytes) and `ciphertext` (plaintext length + 16)
 * @throws HpkeError `ERR_HPKE_KEY_INVALID` for a malformed or unusable recipient key,
 *   `ERR_HPKE_INVALID_ARGUMENT` for non-byte inputs, `ERR_HPKE_SEAL_FAILED` otherwise
 */
export function hpkeSealBase(
  recipientPublicKey: X25519PublicKeyInput,
  plaintext: Uint8Array,
  aad: Uint8Array,
  info?: Uint8Array,
): Promise<HpkeSealed> {
  return sealWithSuite("x25519", recipientPublicKey, plaintext, aad, info);
}
