/**
 * HPKE for OHP §5.3 sealed blocks (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20Poly1305), the `agentwire-multi-1` multi-recipient extension and the opt-in X-Wing suite.
 * @module
 */
export { HpkeError, type HpkeErrorCode } from "./errors.js";
export {
  HPKE_ALG,
  HPKE_ALG_XWING,
  HPKE_AEAD_CHACHA20POLY1305,
  HPKE_KDF_HKDF_SHA256,
  HPKE_KEM_X25519_HKDF_SHA256,
  HPKE_MODE_BASE,
  HPKE_SUITES,
  HPKE_TAG_LENGTH,
  suiteNameForAlg,
  type HpkeAlg,
  type HpkePrivateKeyInput,
  type HpkePublicKeyInput,
  type HpkeSuiteInfo,
  type HpkeSuiteName,
} from "./suite.js";
export {
  X25519_KEY_LENGTH,
  deriveX25519KeyPair,
  generateX25519KeyPair,
  x25519PrivateKeyFromJwk,
  x25519PrivateKeyToJwk,
  x25519PublicKeyFromJwk,
  x25519PublicKeyFromPrivate,
  x25519PublicKeyToJwk,
  type X25519Jwk,
  type X25519KeyPair,
  type X25519PrivateKeyInput,
  type X25519PublicKeyInput,
} from "./keys.js";
export { hpkeSealBase, type HpkeSealed } from "./seal.js";
export { hpkeOpenBase } from "./open.js";
export {
  MAX_FIELDS,
  MAX_FIELD_NAME_BYTES,
  MAX_KID_BYTES,
  MAX_RECIPIENTS,
  type MultiSealedBlock,
  type SealedBlock,
  type SealedBlockInput,
  type SealedMode,
  type SealedRecipient,
  type SingleSealedBlock,
  type WithFields,
  type WrappedRecipient,
} from "./block.js";
export { isSingleSealedBlock, sealSingle, type HpkeRecipient, type SealSingleParams } from "./single.js";
export {
  BODY_LABEL,
  BODY_NONCE_LENGTH,
  CEK_LENGTH,
  COMMITMENT_BLOCK_LENGTH,
  MULTI_RECIPIENT_MODE,
  WRAPPED_KEY_LENGTH,
  WRAP_LABEL,
  sealMulti,
  type SealMultiParams,
} from "./multi.js";
export {
  openSealed,
  sealForRecipients,
  type HpkeRecipientKey,
  type OpenSealedOptions,
  type OpenedSealed,
  type SealForRecipientsParams,
} from "./sealed.js";
export {
  XWING_ENC_LENGTH,
  XWING_KEM_ID,
  XWING_PRIVATE_KEY_LENGTH,
  XWING_PUBLIC_KEY_LENGTH,
  deriveXWingKeyPair,
  generateXWingKeyPair,
  xwingAvailable,
  xwingPublicKeyFromPrivate,
  type XWingKeyPair,
} from "./xwing.js";
