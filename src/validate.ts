/**
 * `validateDocument`: the one entry point that validates any wire document agentwire knows —
 * JSON Schema first, then the protocol rules a schema cannot express.
 */
import { validateOfp } from "./ofp/validate.js";
import { getAtPointer } from "./json/pointer.js";
import { detectSchema, validateSchema, type SchemaName, type ValidationIssue } from "./schema/validate.js";
import { tierRules_4_2 } from "./ohp/tier-rules.js";
import { isTier, type Tier } from "./ohp/tiers.js";

/** Result of {@link validateDocument}. */
export interface DocumentValidation {
  /** The schema used (detected or given); undefined when the type could not be detected. */
  schema: SchemaName | undefined;
  /** For OHP envelopes, the declared tier. */
  tier?: Tier;
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** OHP §4.5: a serialised JSON envelope is at most 32 KiB. */
export const OHP_MAX_JSON_BYTES = 32 * 1024;

/** Options for {@link validateDocument}. */
export interface ValidateDocumentOptions {
  /** Schema to use instead of detecting it. */
  schema?: SchemaName;
  /** Size of the serialised document in bytes, when known (enables the §4.5 size check). */
  byteLength?: number;
  /** OHP: `receive` (default) or `emit` strictness for §4.2 (see tierRules_4_2). */
  mode?: "emit" | "receive";
}

/** Validates a parsed document. Never throws for bad input: problems come back as issues. */
export function validateDocument(doc: unknown, options: ValidateDocumentOptions = {}): DocumentValidation {
  const schema = options.schema ?? detectSchema(doc);
  if (schema === undefined) return { schema, valid: false, errors: [{ pointer: "", message: "unknown document type", rule: "detect" }], warnings: [] };
  if (schema.startsWith("ofp-") || schema.startsWith("ovon-")) {
    // Open Floor / OVON: the schema plus the section rules the schemas cannot express.
    const r = validateOfp(doc, { schema });
    return { schema, valid: r.valid, errors: [...r.errors], warnings: [...r.warnings] };
  }
  const errors: ValidationIssue[] = validateSchema(schema, doc);
  const warnings: ValidationIssue[] = [];
  let tier: Tier | undefined;
  if (schema === "ohp-envelope") {
    const declared = typeof doc === "object" && doc !== null ? getAtPointer(doc as never, "/conformance") : undefined;
    if (isTier(declared)) tier = declared;
    if (options.byteLength !== undefined && options.byteLength > OHP_MAX_JSON_BYTES) {
      errors.push({ pointer: "", message: `serialised envelope is ${options.byteLength} bytes; the limit is ${OHP_MAX_JSON_BYTES}`, rule: "§4.5" });
    }
    for (const issue of tierRules_4_2(doc, { mode: options.mode ?? "receive" })) {
      const { severity, ...rest } = issue;
      (severity === "error" ? errors : warnings).push(rest);
    }
  }
  return { schema, ...(tier ? { tier } : {}), valid: errors.length === 0, errors, warnings };
}
