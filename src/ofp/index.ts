/**
 * Open Floor Protocol (OFP 1.x) and its predecessor OVON 0.9.x: versions and schemas, the typed
 * model, validation, parsing, builders, addressing helpers and translation (pure functions, no
 * I/O); then the agent runtime, the floor manager and its stores, the HTTPS and gRPC bindings,
 * the OHP bridge and the demo (docs/ofp-runtime.md, docs/ofp-ohp-bridge.md).
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

export {
  composeEnvelope,
  defaultClock,
  defaultIds,
  defaultTimer,
  eventTypes,
  OfpRuntimeError,
  withTimeout,
  type Clock,
  type ComposeInit,
  type Composed,
  type IdSource,
  type OfpRuntimeErrorCode,
  type Timer,
} from "./runtime.js";
export {
  OFP_JSON_MEDIA_TYPE,
  OFP_MAX_BODY_BYTES,
  createOfpHttpListener,
  httpStatusOf,
  sendEnvelope,
  serveOfp,
  type OfpEnvelopeHandler,
  type OfpHttpListenerOptions,
  type OfpInboundMeta,
  type RunningOfpServer,
  type SendEnvelopeOptions,
  type ServeOfpOptions,
} from "./http.js";
export {
  AGENT_HISTORY_LIMIT,
  DELEGATED_EVENT_TYPES,
  defaultConvenerDecision,
  defineAgent,
  defineConvener,
  type AgentContext,
  type AgentConversationState,
  type AgentDefinition,
  type AgentManifestInit,
  type AgentReply,
  type ConvenerDecision,
  type ConvenerPolicy,
  type InviteDecision,
  type OfpAgent,
  type UtteranceInput,
} from "./agent.js";
export {
  MemoryFloorStore,
  SqliteFloorStore,
  type ConversantRecord,
  type ConversationRecord,
  type Delivery,
  type FloorLogEntry,
  type FloorLogKind,
  type FloorStore,
  type FloorVersion,
  type OutboxItem,
} from "./floor-store.js";
export {
  FloorManager,
  curateIdentification,
  httpFloorTransport,
  type FloorIdentity,
  type FloorManagerOptions,
  type FloorTransport,
  type OpenConversationInit,
} from "./floor.js";
export {
  OFP_GRPC_CONVERSE,
  OFP_GRPC_SEND,
  connectErrorOf,
  floorClient,
  floorGrpcRoutes,
  serveFloorGrpc,
  type FloorClient,
  type FloorConversation,
  type RunningFloorServers,
  type ServeFloorGrpcOptions,
} from "./grpc.js";
export {
  OFP_OHP_DEFAULT_CHANNEL,
  OFP_OHP_DEFAULT_POLICY,
  OFP_OHP_SLOT,
  OFP_REASON_TO_OHP,
  floorHandoffDecider,
  floorToOhpInput,
  handOffConversation,
  ohpReasonOf,
  ohpToFloorState,
  type CarriedConversant,
  type FloorHandoffOptions,
  type FloorHandoffReceiverOptions,
  type FloorHandoffResult,
  type FloorHandoffState,
  type OhpTurnRole,
} from "./ohp-bridge.js";
export { runOfpDemo, type OfpDemoOptions, type OfpDemoResult } from "./demo.js";

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
