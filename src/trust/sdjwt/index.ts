/**
 * SD-JWT VC for OHP `caller.identity` (RFC 9901, draft-ietf-oauth-sd-jwt-vc) and the IdP
 * assurance proof of `caller.assurance` (agentwire decision B15). See
 * docs/trust-sdjwt-federation.md.
 *
 * @module
 */
export { SdJwtError, AssuranceProofError, type SdJwtErrorCode, type AssuranceProofErrorCode } from "./errors.js";
export { DEFAULT_SD_ALG, SUPPORTED_SD_ALGS, sdDigest, randomSalt } from "./hash.js";
export {
  decodeDisclosure,
  applyDisclosures,
  claimPathText,
  MAX_DISCLOSURES,
  MAX_CLAIM_DEPTH,
  type Disclosure,
  type RevealedClaim,
  type AppliedDisclosures,
} from "./disclosures.js";
export {
  issueSdJwtVc,
  disclosureFrameFor,
  SD_JWT_VC_TYP,
  ACCEPTED_SD_JWT_VC_TYPS,
  NEVER_DISCLOSABLE,
  type IssueSdJwtVcInput,
} from "./issue.js";
export { splitSdJwt, presentationOf, toOhpIdentity, type OhpIdentity, type SdJwtParts, type ToOhpIdentityOptions } from "./identity.js";
export {
  createKeyBindingJwt,
  verifyKeyBindingJwt,
  KB_JWT_TYP,
  type CreateKeyBindingInput,
  type KeyBindingExpectations,
  type VerifiedKeyBinding,
} from "./kb.js";
export {
  verifyOhpIdentity,
  verifySdJwtVc,
  checkIssuerJwtHeader,
  verifyIssuerSignature,
  checkValidity,
  checkCredentialClaims,
  verifyDisclosures,
  compareClaimsRevealed,
  type VerifyIdentityOptions,
  type VerifiedIdentity,
  type DisclosedClaim,
} from "./verify.js";
export {
  assuranceProofPayload,
  signAssuranceProof,
  verifyAssuranceProof,
  type OhpAssurance,
  type VerifyAssuranceOptions,
} from "./assurance.js";
