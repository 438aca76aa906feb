/**
 * JSON Schema validation of every wire document, with the compiled validators from gen/.
 */
import { schemas, type SchemaName, type CompiledValidatorError } from "../../gen/schemas.js";
import { AgentwireError } from "../errors.js";
import { isJsonObject } from "../json/types.js";
import { detectOfpSchema } from "../ofp/versions.js";

export type { SchemaName } from "../../gen/schemas.js";

/** One validation problem, located by an RFC 6901 JSON pointer into the document. */
export interface ValidationIssue {
  /** JSON pointer of the offending value ("" = the document itself). */
  pointer: string;
  /** Human-readable explanation. */
  message: string;
  /** What found it: `schema` (JSON Schema keyword) or a spec rule id such as `§4.2 F10`. */
  rule: string;
}

/** Raised for an unknown schema name. */
export class SchemaError extends AgentwireError {}

/** Names of all schemas agentwire ships. */
export function schemaNames(): SchemaName[] {
  return Object.keys(schemas) as SchemaName[];
}

/** True when `name` is one of the shipped schema names. */
export function isSchemaName(name: string): name is SchemaName {
  return Object.hasOwn(schemas, name);
}

function pointerOf(e: CompiledValidatorError): string {
  const missing = e.keyword === "required" ? e.params["missingProperty"] : undefined;
  if (typeof missing === "string") return `${e.instancePath}/${missing.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  return e.instancePath;
}

function messageOf(e: CompiledValidatorError): string {
  if (e.keyword === "required") return "is required";
  if (e.keyword === "enum") return `${e.message ?? "must be one of the allowed values"}: ${JSON.stringify(e.params["allowedValues"])}`;
  if (e.keyword === "const") return `must equal ${JSON.stringify(e.params["allowedValue"])}`;
  return e.message ?? e.keyword;
}

/**
 * Validates `doc` against the named schema. Returns every issue (ajv allErrors), sorted by
 * pointer, with the if/then wrapper errors ajv adds removed (the inner error says what is wrong).
 */
export function validateSchema(name: SchemaName, doc: unknown): ValidationIssue[] {
  const entry = schemas[name];
  if (entry === undefined) throw new SchemaError("ERR_SCHEMA_UNKNOWN", `unknown schema ${JSON.stringify(name)}`);
  if (entry.validate(doc)) return [];
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const e of entry.validate.errors ?? []) {
    if (e.keyword === "if") continue;
    const issue = { pointer: pointerOf(e), message: messageOf(e), rule: `schema:${e.keyword}` };
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/**
 * Guesses which document type `doc` is from its distinguishing members, or undefined.
 * OHP envelope: `ohp` + `conformance`; capabilities: `ohp` + `maxTier` (a WS `hello` frame also
 * has those, plus `type`); JWKS: `keys`;
 * AI-systems registry: `ohp` + `systems`. Open Floor / OVON (see detectOfpSchema): `openFloor` or
 * `ovon` envelopes by declared `schema.version`, dialog events, assistant manifests.
 */
export function detectSchema(doc: unknown): SchemaName | undefined {
  if (!isJsonObject(doc)) return undefined;
  const has = (k: string): boolean => Object.hasOwn(doc, k);
  if (has("ohp") && (has("conformance") || has("control"))) return "ohp-envelope";
  if (has("ohp") && has("maxTier") && !has("type")) return "ohp-capabilities";
  if (has("ohp") && has("systems")) return "ohp-ai-systems";
  if (has("keys") && Array.isArray(doc["keys"])) return "ohp-jwks";
  return detectOfpSchema(doc);
}
