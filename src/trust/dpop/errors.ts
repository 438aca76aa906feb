/**
 * Typed errors of DPoP (RFC 9449) proof creation and verification. Each §4.3 check has its own code.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** Stable codes of {@link DpopError}. */
export type DpopErrorCode =
  /** No DPoP header / proof was presented. */
  | "ERR_DPOP_MISSING"
  /** §4.3 (1): more than one DPoP header field. */
  | "ERR_DPOP_MULTIPLE"
  /** §4.3 (2): not a single well-formed JWT (three base64url parts, JSON objects, size bound, claim types). */
  | "ERR_DPOP_MALFORMED"
  /** §4.3 (3): a required header or claim is absent (typ, alg, jwk, jti, htm, htu, iat; ath with a token). */
  | "ERR_DPOP_CLAIM_MISSING"
  /** §4.3 (4): `typ` is not `dpop+jwt`. */
  | "ERR_DPOP_TYP_INVALID"
  /** §4.3 (5): `alg` is `none`. */
  | "ERR_DPOP_ALG_NONE"
  /** §4.3 (5): `alg` is symmetric, unknown or not allowed by local policy; or the signing key is not EdDSA. */
  | "ERR_DPOP_ALG_UNSUPPORTED"
  /** The `jwk` header is not a usable public key for `alg`. */
  | "ERR_DPOP_JWK_INVALID"
  /** §4.3 (7): the `jwk` header carries private key members. */
  | "ERR_DPOP_JWK_PRIVATE"
  /** §4.3 (6): the signature does not verify with the `jwk` header key. */
  | "ERR_DPOP_SIGNATURE_INVALID"
  /** §4.3 (8): `htm` differs from the request method. */
  | "ERR_DPOP_HTM_MISMATCH"
  /** §4.3 (9): `htu` differs from the request URI (query and fragment ignored, RFC 3986 §6.2.2/§6.2.3 normalised). */
  | "ERR_DPOP_HTU_MISMATCH"
  /** §4.3 (10), §8: the server-provided nonce is absent or different (answer `use_dpop_nonce`). */
  | "ERR_DPOP_NONCE_INVALID"
  /** §4.3 (11): `iat` is older than the acceptance window. */
  | "ERR_DPOP_IAT_EXPIRED"
  /** §4.3 (11): `iat` is in the future beyond the allowed skew. */
  | "ERR_DPOP_IAT_FUTURE"
  /** §4.3 (12): `ath` differs from base64url(SHA-256(access token)). */
  | "ERR_DPOP_ATH_MISMATCH"
  /** §4.3 (12), §6.1: the proof key's thumbprint differs from the token's `cnf.jkt`. */
  | "ERR_DPOP_JKT_MISMATCH"
  /** OHP §5.8: the proof key's thumbprint is not that of any key in the issuer's JWKS. */
  | "ERR_DPOP_JKT_NOT_IN_JWKS"
  /** OHP §5.8: the proof key matches an issuer key that is revoked or outside its validity. */
  | "ERR_DPOP_JKT_KEY_REVOKED"
  /** §11.1: the `jti` was already used within the acceptance window. */
  | "ERR_DPOP_REPLAY"
  /** The replay cache is full of unexpired entries (fails closed). */
  | "ERR_DPOP_REPLAY_CACHE_FULL"
  /** createDpopProof: `htm` / `htu` / `iat` / `jti` arguments are invalid. */
  | "ERR_DPOP_ARGUMENT_INVALID";

/** Thrown by every DPoP operation that fails. */
export class DpopError extends AgentwireError<DpopErrorCode> {}
