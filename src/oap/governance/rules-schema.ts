/**
 * The JSON Schema of policy rule sets (the §20 engine's rules are data), compiled once with ajv
 * (JSON Schema 2020-12). {@link validateRuleSet} adds the checks a schema cannot state: unique
 * rule ids and the id prefix of the layer (`l1.` … `l4.`).
 *
 * @module
 */
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ValidationIssue } from "../../schema/validate.js";
import type { Condition } from "./conditions.js";
import type { LocalizedText } from "./locale.js";
import type { DecisionOutcome, PolicyLayer } from "./records.js";

type AjvClass = typeof Ajv2020Module.default;
type AjvInstance = InstanceType<AjvClass>;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvInstance) => AjvInstance;

/** What a matching rule does. `deny` ends the evaluation with `block` (§20.1). */
export type RuleEffect = "deny" | Exclude<DecisionOutcome, "block">;

/** One policy rule. */
export interface PolicyRule {
  /** Unique id, prefixed by the layer: `l1.universal.no_csam`, `l4.principal.spending_cap`. */
  readonly id: string;
  readonly layer: PolicyLayer;
  readonly description?: string;
  /** When the rule applies. */
  readonly when: Condition;
  readonly effect: RuleEffect;
  /** Conditions the outcome carries (`require_human_review`, …). */
  readonly conditions?: readonly string[];
  /** Why, per locale (`en` recommended). */
  readonly explanation?: LocalizedText;
  /**
   * What an undecidable condition (`"unknown"`) means: `match` (fail closed) or `skip`.
   * Default: `match` for `deny`, `require_consent` and `require_anonymization`; `skip` otherwise.
   */
  readonly on_unknown?: "match" | "skip";
}

/** A rule set: the unit {@link PolicyEngine.reload} takes. */
export interface PolicyRuleSet {
  /** Version label of this rule set. */
  readonly version: string;
  /** Where the rules come from (e.g. "oap-compliance-wg/l2-eu"). */
  readonly source?: string;
  /** Publication time of the source (RFC 3339; §20.3 freshness). */
  readonly published_at?: string;
  readonly rules: readonly PolicyRule[];
}

const FIELD_PATH_PATTERN = "^[a-z_][a-z0-9_]*(?:\\.[A-Za-z0-9_:-]+)*$";

/** The JSON Schema of a {@link PolicyRuleSet}. */
export const POLICY_RULES_SCHEMA = Object.freeze({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://schemas.agentwire.dev/oap/governance/policy-rules.schema.json",
  title: "agentwire OAP policy rule set",
  type: "object",
  required: ["version", "rules"],
  additionalProperties: false,
  properties: {
    version: { type: "string", minLength: 1, maxLength: 128 },
    source: { type: "string", maxLength: 512 },
    published_at: { type: "string", format: "date-time" },
    rules: { type: "array", maxItems: 10000, items: { $ref: "#/$defs/rule" } },
  },
  $defs: {
    rule: {
      type: "object",
      required: ["id", "layer", "when", "effect"],
      additionalProperties: false,
      properties: {
        id: { type: "string", pattern: "^l[1-4]\\.[a-z0-9_][a-z0-9_.:-]{0,190}$" },
        layer: { enum: ["L1", "L2", "L3", "L4"] },
        description: { type: "string", maxLength: 4000 },
        when: { $ref: "#/$defs/condition" },
        effect: { enum: ["deny", "allow", "allow_with_conditions", "require_consent", "require_anonymization"] },
        conditions: { type: "array", maxItems: 64, items: { type: "string", pattern: "^[a-z0-9_.:-]{1,128}$" } },
        explanation: {
          type: "object",
          minProperties: 1,
          propertyNames: { pattern: "^[a-z]{2}(?:-[A-Z]{2})?$" },
          additionalProperties: { type: "string", minLength: 1, maxLength: 4000 },
        },
        on_unknown: { enum: ["match", "skip"] },
      },
    },
    condition: {
      oneOf: [
        { type: "object", required: ["all"], additionalProperties: false, properties: { all: { type: "array", minItems: 1, maxItems: 256, items: { $ref: "#/$defs/condition" } } } },
        { type: "object", required: ["any"], additionalProperties: false, properties: { any: { type: "array", minItems: 1, maxItems: 256, items: { $ref: "#/$defs/condition" } } } },
        { type: "object", required: ["not"], additionalProperties: false, properties: { not: { $ref: "#/$defs/condition" } } },
        { type: "object", required: ["always"], additionalProperties: false, properties: { always: { const: true } } },
        {
          type: "object",
          required: ["field", "op"],
          additionalProperties: false,
          properties: {
            field: { type: "string", pattern: FIELD_PATH_PATTERN, maxLength: 256 },
            op: { enum: ["eq", "ne", "in", "not_in", "contains", "contains_any", "contains_all", "prefix", "exists", "gt", "gte", "lt", "lte"] },
            value: {},
          },
          allOf: [
            { if: { properties: { op: { const: "exists" } } }, then: { not: { required: ["value"] } }, else: { required: ["value"] } },
            { if: { properties: { op: { enum: ["in", "not_in", "contains_any", "contains_all"] } } }, then: { properties: { value: { type: "array", maxItems: 4096 } } } },
            { if: { properties: { op: { const: "prefix" } } }, then: { properties: { value: { type: "string" } } } },
            {
              if: { properties: { op: { enum: ["gt", "gte", "lt", "lte"] } } },
              then: {
                properties: {
                  value: {
                    oneOf: [
                      { type: "number" },
                      { type: "string", pattern: "^-?\\d+(?:\\.\\d+)?$" },
                      { type: "string", format: "date-time" },
                      { type: "object", required: ["amount", "currency"], additionalProperties: false, properties: { amount: { type: "string", pattern: "^-?\\d+(?:\\.\\d+)?$" }, currency: { type: "string", pattern: "^[A-Z]{3}$" } } },
                    ],
                  },
                },
              },
            },
          ],
        },
      ],
    },
  },
});

let compiled: ((doc: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[] | null } | undefined;

function validator(): NonNullable<typeof compiled> {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ strict: true, allErrors: true, strictRequired: false });
    addFormats(ajv);
    compiled = ajv.compile(POLICY_RULES_SCHEMA as object) as unknown as NonNullable<typeof compiled>;
  }
  return compiled;
}

/** Issues of a rule set against {@link POLICY_RULES_SCHEMA} plus unique ids and layer prefixes ([] when valid). */
export function validateRuleSet(doc: unknown): ValidationIssue[] {
  const validate = validator();
  if (!validate(doc)) {
    const seen = new Set<string>();
    const issues: ValidationIssue[] = [];
    for (const e of validate.errors ?? []) {
      if (e.keyword === "if" || e.keyword === "oneOf") continue;
      const issue = { pointer: e.instancePath, message: e.message ?? e.keyword, rule: `schema:${e.keyword}` };
      const key = `${issue.pointer} ${issue.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        issues.push(issue);
      }
    }
    if (issues.length === 0) issues.push({ pointer: "", message: "does not match the policy rule set schema", rule: "schema" });
    return issues;
  }
  const set = doc as PolicyRuleSet;
  const issues: ValidationIssue[] = [];
  const ids = new Set<string>();
  set.rules.forEach((r, i) => {
    if (ids.has(r.id)) issues.push({ pointer: `/rules/${i}/id`, message: `duplicate rule id ${r.id}`, rule: "policy:unique-id" });
    ids.add(r.id);
    if (!r.id.startsWith(`${r.layer.toLowerCase()}.`)) issues.push({ pointer: `/rules/${i}/id`, message: `the id of a ${r.layer} rule starts with "${r.layer.toLowerCase()}."`, rule: "policy:layer-prefix" });
  });
  return issues;
}
