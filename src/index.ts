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

// CLI (embeddable)
export type { CliIo, Command } from "./cli/io.js";
export { COMMANDS, runCli } from "./cli/main.js";
