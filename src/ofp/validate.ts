/**
 * `validateOfp`: validates any Open Floor / OVON document (envelope, dialog event, manifest):
 * detection, JSON Schema of the detected (or given) version, then the rules of rules.ts.
 */
import { validateSchema, type SchemaName, type ValidationIssue } from "../schema/validate.js";
import { OFP_ENVELOPE_RULES, OVON_ENVELOPE_RULES, runEnvelopeRules, type OfpRuleIssue } from "./rules.js";
import { declaredVersion as declaredVersionOf, detectOfpSchema, ofpDocumentKind, resolveOfpVersion, resolveOvonVersion, type OfpDocumentKind } from "./versions.js";

/** Options of {@link validateOfp}. */
export interface OfpValidateOptions {
  /**
   * Accept peers that omit `identification.organization` / `identification.synopsis` (the
   * reference Python library does): those schema errors become warnings (rule `lenient`).
   * Everything else stays as strict as without it.
   */
  lenient?: boolean;
  /** Validate against this schema instead of the detected one. */
  schema?: SchemaName;
}

/** Result of {@link validateOfp}. */
export interface OfpValidation {
  kind: OfpDocumentKind | undefined;
  /** The schema used; undefined when the document is not an Open Floor / OVON document. */
  schema: SchemaName | undefined;
  /** Envelopes: the declared `schema.version`, when it is a string. */
  declaredVersion?: string;
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** Members of `identification` that lenient mode lets a peer omit. */
export const LENIENT_IDENTIFICATION_MEMBERS: readonly string[] = ["organization", "synopsis"];

/** True for a schema error that lenient mode downgrades: a missing identification member it tolerates. */
function lenientlyTolerated(issue: ValidationIssue): boolean {
  if (issue.rule !== "schema:required") return false;
  const m = issue.pointer.match(/(?:^|\/)identification\/([^/]+)$/);
  return m !== null && LENIENT_IDENTIFICATION_MEMBERS.includes(m[1] as string);
}

function byPointer(a: ValidationIssue, b: ValidationIssue): number {
  return a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0;
}

/**
 * Validates an Open Floor / OVON document. Never throws for bad input: problems come back as
 * issues. Envelopes declaring a version agentwire has no schema for are validated against the
 * nearest shipped one (see resolveOfpVersion) with a warning.
 */
export function validateOfp(doc: unknown, options: OfpValidateOptions = {}): OfpValidation {
  const kind = ofpDocumentKind(doc);
  const schema = options.schema ?? detectOfpSchema(doc);
  if (schema === undefined) {
    return { kind, schema, valid: false, errors: [{ pointer: "", message: "not an Open Floor or OVON document", rule: "detect" }], warnings: [] };
  }
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  for (const i of validateSchema(schema, doc)) {
    if (options.lenient === true && lenientlyTolerated(i)) warnings.push({ ...i, rule: "lenient" });
    else errors.push(i);
  }
  const declaredVersion = declaredVersionOf(doc);
  let rules: OfpRuleIssue[] = [];
  if (kind === "openFloor" || kind === "ovon") {
    const resolved = kind === "openFloor" ? resolveOfpVersion(declaredVersion) : resolveOvonVersion(declaredVersion);
    if (options.schema === undefined && !resolved.exact && declaredVersion !== undefined) {
      warnings.push({
        pointer: `/${kind}/schema/version`,
        message: `no schema for version ${JSON.stringify(declaredVersion)}: validated against ${resolved.version}`,
        rule: kind === "openFloor" ? "§1.5" : "OVON §1.5",
      });
    }
    rules = runEnvelopeRules(doc, kind, kind === "openFloor" ? OFP_ENVELOPE_RULES : OVON_ENVELOPE_RULES);
  }
  for (const { severity, ...rest } of rules) (severity === "error" ? errors : warnings).push(rest);
  errors.sort(byPointer);
  warnings.sort(byPointer);
  return { kind, schema, ...(declaredVersion === undefined ? {} : { declaredVersion }), valid: errors.length === 0, errors, warnings };
}
