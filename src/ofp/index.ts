/**
 * Open Floor Protocol (OFP 1.x) and its predecessor OVON 0.9.x: versions and schemas, the typed
 * model, validation, parsing, builders, addressing helpers and translation. Pure functions,
 * no I/O: agent runtimes, floor managers and transport bindings build on this.
 */
export { OfpError, type OfpErrorCode } from "./errors.js";
export {
  OFP_1X_VERSIONS,
  OFP_ENVELOPE_VERSIONS,
  OFP_EVENT_TYPES,
  OFP_LATEST_VERSION,
  OVON_ENVELOPE_VERSIONS,
  OVON_EVENT_TYPES,
  OVON_LATEST_VERSION,
  declaredVersion,
  detectOfpSchema,
  isOfp1xVersion,
  isOfpEnvelopeVersion,
  isOvonEnvelopeVersion,
  ofpDocumentKind,
  ofpEnvelopeSchema,
  ovonEnvelopeSchema,
  resolveOfpVersion,
  resolveOvonVersion,
  type Ofp1xVersion,
  type OfpDocumentKind,
  type OfpEnvelopeVersion,
  type OvonEnvelopeVersion,
  type ResolvedVersion,
} from "./versions.js";
export type * from "./types.js";
export type * from "./ovon-types.js";
export {
  LENIENT_IDENTIFICATION_MEMBERS,
  validateOfp,
  type OfpValidateOptions,
  type OfpValidation,
} from "./validate.js";
export {
  OFP_ENVELOPE_RULES,
  OVON_ENVELOPE_RULES,
  conversantsRule_1_6_1,
  dialogHistoryRule_1_12,
  eventTypeRule_1_8,
  floorRolesRule_1_6_2,
  inviteRule_1_12,
  ovonDialogEventRule_1_10,
  ovonEventTypeRule_1_8,
  ovonToRule_1_8,
  publishManifestsRule_1_18,
  runEnvelopeRules,
  textFeatureRule_1_10_1,
  toRule_1_8,
  utteranceRule_1_10,
  type EnvelopeRule,
  type OfpRuleIssue,
} from "./rules.js";
export {
  parseDialogEvent,
  parseManifest,
  parseOfpEnvelope,
  parseOvonEnvelope,
  type OfpParseOptions,
  type Parsed,
  type ParsedOfpEnvelope,
  type ParsedOvonEnvelope,
} from "./parse.js";
export {
  acceptInvite,
  buildManifest,
  buildOfpEnvelope,
  bye,
  contextEvent,
  conversantOf,
  declineInvite,
  dialogEvent,
  feature,
  getManifests,
  grantFloor,
  invite,
  privateUtterance,
  publishManifests,
  requestFloor,
  revokeFloor,
  textFeature,
  uninvite,
  utterance,
  yieldFloor,
  type DialogEventInit,
  type EnvelopeInit,
  type EventOptions,
} from "./build.js";
export {
  buildOvonEnvelope,
  ovonBye,
  ovonDialogEvent,
  ovonInvite,
  ovonUtterance,
  ovonWhisper,
  type OvonDialogEventInit,
  type OvonEnvelopeInit,
  type OvonEventOptions,
} from "./ovon-build.js";
export { featureTokens, textOf } from "./dialog-event.js";
export { REASON_TOKENS, isAddressedTo, isPrivate, isWhisper, reasonTokens, type Self } from "./address.js";
export {
  OFP_RESIDUE_MEMBER,
  OVON_RESIDUE_MEMBER,
  openFloorToOvon,
  ovonToOpenFloor,
  translateEnvelope,
  type JsonPatchOp,
  type OpenFloorToOvonOptions,
  type OvonToOpenFloorOptions,
  type Residue,
  type TranslateEnvelopeOptions,
  type TranslateOptions,
  type Translation,
  type TranslationLoss,
} from "./translate/index.js";

// The schema-generated types (one per shipped schema, named after the schema file).
export type { OfpEnvelope094 } from "../../gen/types/ofp/ofp-envelope-0.9.4.js";
export type { OfpEnvelope100 } from "../../gen/types/ofp/ofp-envelope-1.0.0.js";
export type { OfpEnvelope101 } from "../../gen/types/ofp/ofp-envelope-1.0.1.js";
export type { OfpEnvelope110 } from "../../gen/types/ofp/ofp-envelope-1.1.0.js";
export type { OfpDialogEvent102 } from "../../gen/types/ofp/ofp-dialog-event-1.0.2.js";
export type { OfpAssistantManifest100 } from "../../gen/types/ofp/ofp-assistant-manifest-1.0.0.js";
export type { OfpAssistantManifest101 } from "../../gen/types/ofp/ofp-assistant-manifest-1.0.1.js";
export type { OvonEnvelope090 } from "../../gen/types/ovon/ovon-envelope-0.9.0.js";
export type { OvonEnvelope091 } from "../../gen/types/ovon/ovon-envelope-0.9.1.js";
export type { OvonEnvelope092 } from "../../gen/types/ovon/ovon-envelope-0.9.2.js";
export type { OvonEnvelope093 } from "../../gen/types/ovon/ovon-envelope-0.9.3.js";
export type { OvonDialogEvent101 } from "../../gen/types/ovon/ovon-dialog-event-1.0.1.js";
export type { OvonAssistantManifest090 } from "../../gen/types/ovon/ovon-assistant-manifest-0.9.0.js";
