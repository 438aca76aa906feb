/**
 * agentwire: the TypeScript reference stack for OHP (Open Handoff Protocol), OFP (Open Floor
 * Protocol) and OAP (Open Agent Protocol).
 *
 * Generated types and services live under `agentwire/gen/*` (protobuf-es messages, Connect
 * service descriptors, JSON Schema types); this module exports the handwritten API.
 */
export { AgentwireError, isAgentwireError } from "./errors.js";

// JSON
export type { JsonObject, JsonPrimitive, JsonValue } from "./json/types.js";
export { isJsonObject } from "./json/types.js";
export { JsonParseError, MAX_JSON_DEPTH, parseJsonStrict } from "./json/parse.js";
export { formatPointer, getAtPointer, parsePointer, setAtPointer } from "./json/pointer.js";

// Schemas and validation
export type { SchemaName, ValidationIssue } from "./schema/validate.js";
export { SchemaError, detectSchema, isSchemaName, schemaNames, validateSchema } from "./schema/validate.js";
export type { DocumentValidation, ValidateDocumentOptions } from "./validate.js";
export { OHP_MAX_JSON_BYTES, validateDocument } from "./validate.js";

// OHP
export type { Tier } from "./ohp/tiers.js";
export { TIERS, isTier, tierAtLeast, tierRank } from "./ohp/tiers.js";
export type { TierRuleIssue, TierRuleOptions } from "./ohp/tier-rules.js";
export { tierRules_4_2 } from "./ohp/tier-rules.js";
export {
  ProtoJsonError,
  envelopeBinaryToJson,
  envelopeFromJson,
  envelopeJsonToBinary,
  envelopeToJson,
} from "./ohp/proto-json.js";
export type { OhpEnvelope } from "../gen/types/ohp/ohp-envelope.js";
export type { OhpCapabilities } from "../gen/types/ohp/ohp-capabilities.js";
export type { OhpJwks } from "../gen/types/ohp/ohp-jwks.js";
export type { OhpAiSystems } from "../gen/types/ohp/ohp-ai-systems.js";

// Canonical encodings: RFC 8949 §4.2.1 deterministic CBOR and RFC 8785 JCS
export * from "./cbor/index.js";
export { JcsError, MAX_JCS_DEPTH, canonicalizeJson, canonicalizeJsonBytes, type JcsErrorCode } from "./jcs/index.js";

// Crypto: keys and JWK Sets, Ed25519 / ML-DSA-65 / composite, the detached JWS profile, HPKE
export * from "./crypto/index.js";
export * as hpke from "./crypto/hpke/index.js";
export { HpkeError, type HpkeErrorCode } from "./crypto/hpke/index.js";

// OHP crypto: signing surface, signing, sealing, verification
export { LEAF_HASH_PLACEHOLDER, OHP_MAX_SURFACE_BYTES, envelopeCbor, RFC3339_TAGGED_FIELDS, SurfaceError, leafHashOf, signingSurface, surfaceModel } from "./ohp/surface.js";
export { OhpCryptoError, type OhpCryptoErrorCode } from "./ohp/errors.js";
export { REJECT_REASONS, isRejectReason, type RejectReason } from "./ohp/reasons.js";
export {
  TIER_SIGNATURE_ALGS,
  boundedSigningSurface,
  envelopeTier,
  selectSigningKeys,
  signEnvelope,
  type SignEnvelopeOptions,
  type SignedEnvelope,
} from "./ohp/sign.js";
export {
  OHP_SEALED_ALG,
  hpkeKeysOf,
  openEnvelope,
  sealEnvelope,
  sealedAad,
  type OpenedEnvelope,
  type SealEnvelopeOptions,
  type SealRecipient,
} from "./ohp/seal.js";
export {
  DEFAULT_LAWFUL_BASES,
  EEA_COUNTRIES,
  OVERSIGHT_STRENGTH,
  ReceiverPolicyError,
  isOversightMode,
  parseReceiverPolicy,
  type ConsentReceipt,
  type IdpResolution,
  type IssuerRefusal,
  type IssuerResolution,
  type LiveCall,
  type OversightMode,
  type ReceiverHooks,
  type ReceiverPolicy,
} from "./ohp/policy.js";
export { ISSUER_PROOFS, recordProofPayload, signIssuerProofs } from "./ohp/proofs.js";
// OHP sender side: build, redact, check, seal, sign, anchor
export * from "./ohp/builder.js";
export { FixedWindowRateLimiter, MemoryReplayStore, ReceiverStateFullError, type RateLimiter, type RateLimitOptions, type ReplayStore } from "./ohp/receiver-state.js";
export { CHECK_STEP, type CheckName } from "./ohp/step.js";
export {
  OHP_CLOCK_SKEW_MS,
  OHP_MAX_LIFETIME_MS,
  OhpReceiver,
  verifyEnvelope,
  verifyEnvelopeSignatures,
  verifyEnvelopeSignaturesAsync,
  verifyResultJson,
  type RejectDetail,
  type VerifyEnvelopeOptions,
  type VerifyEnvelopeResult,
  type VerifyStep,
} from "./ohp/verify.js";

// Conformance: the synthetic world (keys, consent store, log, receiver hooks) behind the demo and the vector pack
export { VectorContextError, contextOptions, type ReadText } from "./conformance/context.js";
export { writeOhpPack, packVectorNames, type PackOptions } from "./conformance/pack.js";
export { runOhpConformance, runVector, type ConformanceOptions, type ConformanceSummary, type VectorResult } from "./conformance/runner.js";
export { WORLD_IDP, WORLD_POLICY, builderInputOf, createWorld, ulidFrom, type EnvelopeOptions, type World, type WorldKeys, type WorldOptions } from "./conformance/world.js";

// OHP control plane (D08 state machine, durable store, node) and the four bindings
export * from "./ohp/control/machine.js";
export * from "./ohp/control/store.js";
export * from "./ohp/control/node.js";
export * from "./ohp/bindings/types.js";
export * from "./ohp/bindings/https.js";
export * from "./ohp/bindings/grpc.js";
export * as ws from "./ohp/bindings/ws/index.js";
export { wsTransport, type WsTransportOptions } from "./ohp/bindings/ws/transport.js";
export * as sipInfo from "./ohp/bindings/sip-info/index.js";
export { sipInfoTransport } from "./ohp/bindings/sip-info/transport.js";
// The agentwire node (`agentwire serve`) and the flows demo
export * from "./node/server.js";
export * from "./node/node.js";
export { runOhpFlows, type FlowResult, type OhpFlowsOptions } from "./demo/ohp-flows.js";
// Stores: PostgreSQL backend for several nodes, migrations, store selection
export * from "./store/index.js";

// Trust services, one namespace each (did:web/did:key, DPoP, SD-JWT VC, OpenID Federation,
// the RFC 9162 transparency log, receipt hash chains); their error classes at top level.
export * as did from "./trust/did/index.js";
export * as dpop from "./trust/dpop/index.js";
export * as sdjwt from "./trust/sdjwt/index.js";
export * as federation from "./trust/federation/index.js";
export * as tlog from "./trust/tlog/index.js";
export * as chain from "./trust/chain/index.js";
export { DidError } from "./trust/did/errors.js";
export { DpopError } from "./trust/dpop/errors.js";
export { AssuranceProofError, SdJwtError } from "./trust/sdjwt/errors.js";
export { FederationError } from "./trust/federation/errors.js";
export { NoteError, TlogError } from "./trust/tlog/errors.js";
export { HashChainError } from "./trust/chain/index.js";

// Open Floor Protocol 1.x and OVON 0.9: schemas, builders, parsers, validation, translation
export * as ofp from "./ofp/index.js";
export { OfpError } from "./ofp/errors.js";

// Open Agent Protocol 1.0 draft: documents, signatures, replay/idempotency, actions, auth, receipts
export * as oap from "./oap/index.js";

// CLI (embeddable)
export type { CliIo, Command } from "./cli/io.js";
export { COMMANDS, runCli } from "./cli/main.js";
