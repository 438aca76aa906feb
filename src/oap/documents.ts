/**
 * The OAP 1.0 documents (schemas/oap/: the 42 upstream JSON Schemas under agentwire `$id`s
 * https://schemas.agentwire.dev/oap/v1.0/…): their generated types and validators.
 *
 * @module
 */
import { schemas, type SchemaName, type SchemaTypes } from "../../gen/schemas.js";
import { parseJsonStrict } from "../json/parse.js";
import { validateSchema, type ValidationIssue } from "../schema/validate.js";
import { OapError } from "./errors.js";

export type { OapAction } from "../../gen/types/oap/oap-action.js";
export type { OapAttestation } from "../../gen/types/oap/oap-attestation.js";
export type { OapCcc } from "../../gen/types/oap/oap-ccc.js";
export type { OapConformanceReceipt } from "../../gen/types/oap/oap-conformance-receipt.js";
export type { OapDecisionRecord } from "../../gen/types/oap/oap-decision-record.js";
export type { OapDeletionReceipt } from "../../gen/types/oap/oap-deletion-receipt.js";
export type { OapIncident } from "../../gen/types/oap/oap-incident.js";
export type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
export type { OapReceipt } from "../../gen/types/oap/oap-receipt.js";
export type { OapRequestEnvelope } from "../../gen/types/oap/oap-request-envelope.js";
export type { OapResponseEnvelope } from "../../gen/types/oap/oap-response-envelope.js";
export type { OapSubscription } from "../../gen/types/oap/oap-subscription.js";
export type { OapWalletStatement } from "../../gen/types/oap/oap-wallet-statement.js";

/** Names of the OAP schemas (`oap-manifest`, `oap-receipt`, …). */
export type OapSchemaName = Extract<SchemaName, `oap-${string}`>;

/** `$id` prefix of every OAP schema agentwire ships. */
export const OAP_SCHEMA_ID_BASE = "https://schemas.agentwire.dev/oap/v1.0/";
/** `$id` prefix of the upstream schemas (oap-spec schemas/v1.0). */
export const OAP_UPSTREAM_SCHEMA_ID_BASE = "https://openagentprotocol.eu/schemas/v1.0/";

/** Every OAP schema name, sorted. */
export const OAP_SCHEMA_NAMES: readonly OapSchemaName[] = Object.freeze(
  (Object.keys(schemas) as SchemaName[]).filter((n): n is OapSchemaName => n.startsWith("oap-")).sort(),
);

/** True when `name` names an OAP schema. */
export function isOapSchemaName(name: string): name is OapSchemaName {
  return (OAP_SCHEMA_NAMES as readonly string[]).includes(name);
}

/** Validation issues of `doc` against an OAP schema ([] when valid). */
export function validateOapDocument(name: OapSchemaName, doc: unknown): ValidationIssue[] {
  return validateSchema(name, doc);
}

/** Narrows `doc` to the schema's type, or throws ERR_OAP_ENVELOPE_INVALID (400) with `details.issues`. */
export function assertOapDocument<N extends OapSchemaName>(name: N, doc: unknown): asserts doc is SchemaTypes[N] {
  const issues = validateSchema(name, doc);
  if (issues.length > 0) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", `not a valid ${name}: ${issues.slice(0, 3).map((i) => `${i.pointer || "/"} ${i.message}`).join("; ")}`, {
      details: { schema: name, issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) },
    });
  }
}

/** Parses JSON text strictly (duplicate members, depth) and validates it against an OAP schema. */
export function parseOapDocument<N extends OapSchemaName>(name: N, text: string): SchemaTypes[N] {
  let doc: unknown;
  try {
    doc = parseJsonStrict(text);
  } catch (cause) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", `not JSON: ${(cause as Error).message}`, { cause });
  }
  assertOapDocument(name, doc);
  return doc;
}
