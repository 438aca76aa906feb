/**
 * Typed errors of the SD-JWT VC verifier (RFC 9901, draft-ietf-oauth-sd-jwt-vc) and of the OHP
 * assurance proof (agentwire decision B15). Callers branch on `code`, never on messages.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** Stable codes of {@link SdJwtError}. */
export type SdJwtErrorCode =
  /** Not a JWT / compact SD-JWT, bad base64url or JSON, missing or mistyped claim (`vct`, `_sd`, `cnf`...). */
  | "ERR_SDJWT_MALFORMED"
  /** Issuer-signed JWT header: `typ` not an SD-JWT VC type, `alg` not EdDSA, `crit` present. */
  | "ERR_SDJWT_HEADER_INVALID"
  /** No trusted issuer key for the header `kid` (or the key is revoked / outside its validity). */
  | "ERR_SDJWT_KEY_UNKNOWN"
  /** The issuer signature does not verify. */
  | "ERR_SDJWT_SIGNATURE"
  /** `exp` has passed. */
  | "ERR_SDJWT_EXPIRED"
  /** `nbf` or `iat` lies in the future (beyond the allowed skew). */
  | "ERR_SDJWT_NOT_YET_VALID"
  /** `_sd_alg` names a hash function this verifier does not implement. */
  | "ERR_SDJWT_HASH_ALG_UNSUPPORTED"
  /** A disclosure is not base64url of a JSON array [salt, name, value] / [salt, value], or is used where it does not fit (reserved name, existing claim, element vs property). */
  | "ERR_SDJWT_DISCLOSURE_INVALID"
  /** A disclosure's digest is not referenced by any `_sd` / `...` digest (tampered or foreign disclosure). */
  | "ERR_SDJWT_DIGEST"
  /** A disclosure is sent twice, or a digest appears twice in the payload. */
  | "ERR_SDJWT_DUPLICATE"
  /** `vct` differs from the expected credential type. */
  | "ERR_SDJWT_VCT"
  /** `iss` differs from the expected issuer. */
  | "ERR_SDJWT_ISSUER"
  /** Key binding required but no KB-JWT (or no `cnf` key in the credential). */
  | "ERR_SDJWT_KB_MISSING"
  /** KB-JWT malformed: not a JWT, `typ` not `kb+jwt`, `alg` not EdDSA, unusable `cnf.jwk`, missing claims or expected values. */
  | "ERR_SDJWT_KB_INVALID"
  /** The KB-JWT signature does not verify with the `cnf` key. */
  | "ERR_SDJWT_KB_SIGNATURE"
  /** KB-JWT `sd_hash` is not the digest of the presented SD-JWT. */
  | "ERR_SDJWT_KB_SD_HASH"
  /** KB-JWT `aud` differs from the expected audience. */
  | "ERR_SDJWT_KB_AUDIENCE"
  /** KB-JWT `nonce` differs from the expected nonce. */
  | "ERR_SDJWT_KB_NONCE"
  /** KB-JWT `iat` outside the accepted window. */
  | "ERR_SDJWT_KB_IAT"
  /** Issuance input rejected (bad key, reserved claim made disclosable, unknown disclosable path). */
  | "ERR_SDJWT_ISSUE";

/** Raised by SD-JWT VC issuance, splitting and verification. */
export class SdJwtError extends AgentwireError<SdJwtErrorCode> {}

/** Stable codes of {@link AssuranceProofError}. */
export type AssuranceProofErrorCode =
  /** `caller.assurance` is not an object with the OHP members (`method`, `ial`, `aal`, `fal`, `idp`). */
  | "ERR_ASSURANCE_MALFORMED"
  /** `proofJws` is absent. */
  | "ERR_ASSURANCE_PROOF_MISSING"
  /** `proofJws` does not verify over the B15 payload (`detail.jwsCode` carries the JWS error code). */
  | "ERR_ASSURANCE_PROOF_INVALID";

/** Raised by {@link signAssuranceProof} / {@link verifyAssuranceProof}. */
export class AssuranceProofError extends AgentwireError<AssuranceProofErrorCode> {}
