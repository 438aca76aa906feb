import { AgentwireError } from "../../errors.js";

/**
 * Stable codes of {@link HpkeError}. Callers branch on these, never on messages.
 *
 * - `ERR_HPKE_OPEN_FAILED`: the sealed data could not be opened. Deliberately says nothing about
 *   which part failed (KEM decapsulation, key schedule, AEAD tag, commitment check).
 * - `ERR_HPKE_SEAL_FAILED`: sealing failed for a reason other than the recipient key.
 * - `ERR_HPKE_KEY_INVALID`: a key (raw bytes or JWK) has the wrong type, curve or length, or is unusable
 *   (for example a low-order X25519 point).
 * - `ERR_HPKE_NO_RECIPIENT`: no `recipients[]` entry carries a `kid` the caller holds a key for.
 * - `ERR_HPKE_MALFORMED`: a sealed block or one of its members is not well formed (types, base64url, lengths).
 * - `ERR_HPKE_SUITE_UNSUPPORTED`: the block's `alg` is unknown, or names a suite the caller did not enable.
 * - `ERR_HPKE_INVALID_ARGUMENT`: the caller passed inconsistent arguments (duplicate `kid`s, no recipients, ...).
 */
export type HpkeErrorCode =
  | "ERR_HPKE_OPEN_FAILED"
  | "ERR_HPKE_SEAL_FAILED"
  | "ERR_HPKE_KEY_INVALID"
  | "ERR_HPKE_NO_RECIPIENT"
  | "ERR_HPKE_MALFORMED"
  | "ERR_HPKE_SUITE_UNSUPPORTED"
  | "ERR_HPKE_INVALID_ARGUMENT";

/** Error thrown by every function of `src/crypto/hpke/`; `code` is one of {@link HpkeErrorCode}. */
export class HpkeError extends AgentwireError<HpkeErrorCode> {}

/** The one error every open failure maps to: no cause, no detail, so nothing tells the parts apart. */
export function openFailed(): HpkeError {
  return new HpkeError("ERR_HPKE_OPEN_FAILED", "HPKE open failed");
}
