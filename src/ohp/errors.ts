import { AgentwireError } from "../errors.js";

/** Stable codes of {@link OhpCryptoError}. */
export type OhpCryptoErrorCode =
  | "ERR_OHP_TIER"
  | "ERR_OHP_SIGN_CORE"
  | "ERR_OHP_SIGN_KEY_MISSING"
  | "ERR_OHP_SURFACE_TOO_LARGE"
  | "ERR_OHP_ENVELOPE_INVALID"
  | "ERR_OHP_SEAL_FIELD"
  | "ERR_OHP_SEAL_RECIPIENT"
  | "ERR_OHP_SEAL_AAD"
  | "ERR_OHP_NOT_SEALED"
  | "ERR_OHP_SEALED_PLAINTEXT";

/** Raised by OHP signing, sealing and opening when the envelope or the keys cannot be used. */
export class OhpCryptoError extends AgentwireError<OhpCryptoErrorCode> {}
