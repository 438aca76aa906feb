/**
 * RFC 9180 `OpenBase` (single-shot, base mode) for the OHP §5.3 suite: bytes in, bytes out.
 * @module
 */
import { fromArrayBuffer, isBytes } from "./bytes.js";
import { HpkeError, openFailed } from "./errors.js";
import type { X25519PrivateKeyInput } from "./keys.js";
import { cipherSuiteFor, resolvePrivateKey, type HpkePrivateKeyInput, type HpkeSuiteName } from "./suite.js";

/**
 * @internal Open under a named suite. The private key is the caller's own and is validated with typed errors;
 * everything that comes off the wire (`enc`, `ciphertext`, and the `aad`/`info` the caller recomputed) fails
 * as one indistinguishable `ERR_HPKE_OPEN_FAILED`.
 */
export async function openWithSuite(
  suite: HpkeSuiteName,
  recipientPrivateKey: HpkePrivateKeyInput,
  enc: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
  info: Uint8Array | undefined,
): Promise<Uint8Array> {
  const sk = resolvePrivateKey(suite, recipientPrivateKey);
  const cs = await cipherSuiteFor(suite);
  let recipientKey;
  try {
    recipientKey = await cs.kem.deserializePrivateKey(sk);
  } catch (e) {
    throw new HpkeError("ERR_HPKE_KEY_INVALID", "recipient private key is not a valid key for this suite", { cause: e });
  }
  if (!isBytes(enc) || !isBytes(ciphertext) || !isBytes(aad) || (info !== undefined && !isBytes(info))) {
    throw openFailed();
  }
  try {
    const pt = await cs.open(
      { recipientKey, enc, ...(info === undefined ? {} : { info }) },
      ciphertext,
      aad,
    );
    return fromArrayBuffer(pt);
  } catch {
    // No cause: which step failed (decapsulation, key schedule, tag) must not be observable.
    throw openFailed();
  }
}

/**
 * RFC 9180 §6.1 `OpenBase(enc, skR, info, aad, ct)` with the OHP §5.3 suite. `info` defaults to empty.
 *
 * @param recipientPrivateKey raw 32-byte X25519 private key or a private OKP JWK (with `d`)
 * @returns the plaintext
 * @throws HpkeError `ERR_HPKE_OPEN_FAILED` for any failure involving `enc`, `ciphertext`, `aad` or `info`
 *   (wrong length, low-order point, wrong key, tag mismatch: all the same error, no detail);
 *   `ERR_HPKE_KEY_INVALID` only when the caller's own private key is malformed
 */
export function hpkeOpenBase(
  recipientPrivateKey: X25519PrivateKeyInput,
  enc: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
  info?: Uint8Array,
): Promise<Uint8Array> {
  return openWithSuite("x25519", recipientPrivateKey, enc, ciphertext, aad, info);
}
