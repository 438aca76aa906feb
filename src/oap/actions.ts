/**
 * OAP Actions (OAP-CORE-1.0 §7, §7.1, §24, §27.3, §29.1): validation of `input` and `output`
 * against the action's JSON Schema 2020-12 (compiled once, cached by schema content), the §7.1
 * output check, and the per-invocation policy rules as pure functions returning typed decisions.
 *
 * Closed world (§29.1 "reject Invocations whose input exceeds the declared input_schema", §7.1
 * "conform strictly"): by default every object schema that declares `properties` and says
 * nothing about other members (no additionalProperties / unevaluatedProperties /
 * patternProperties) is closed with `unevaluatedProperties: false` before compiling, so members
 * the schema does not declare are rejected. Objects declared without `properties` stay free-form.
 *
 * @module
 */
import { setOwn } from "../json/own.js";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { OapAction } from "../../gen/types/oap/oap-action.js";
import type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../gen/types/oap/oap-request-envelope.js";
import { isJsonObject, type JsonObject } from "../json/types.js";
import { validateSchema, type ValidationIssue } from "../schema/validate.js";
import { OapError } from "./errors.js";
import { findInstructionLikeText, type InstructionCheckOptions, type InstructionFinding } from "./instructions.js";
import { jcsDigest, parseRfc3339Ms } from "./util.js";

export type { OapAction } from "../../gen/types/oap/oap-action.js";

type AjvClass = typeof Ajv2020Module.default;
type AjvInstance = InstanceType<AjvClass>;
interface AjvValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }[] | null;
}
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvInstance) => AjvInstance;

// ---------------------------------------------------------------------------------------------
// closed-world schemas
// ---------------------------------------------------------------------------------------------

const OPEN_KEYWORDS = ["additionalProperties", "unevaluatedProperties", "patternProperties"];
const COMPOSITION = ["allOf", "anyOf", "oneOf"];
/** Keywords whose subschemas describe (parts of) the instance itself, not a child value. */
const SAME_INSTANCE = ["allOf", "anyOf", "oneOf", "not", "if", "then", "else"];
/** Keywords whose subschemas describe child values (their positions get closed themselves). */
const CHILD_MAPS = ["properties", "$defs", "definitions", "dependentSchemas"];
const CHILD_SINGLE = ["items", "additionalProperties", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties"];

function declaresProperties(schema: JsonObject): boolean {
  if (isJsonObject(schema["properties"])) return true;
  return COMPOSITION.some((k) => Array.isArray(schema[k]) && (schema[k] as unknown[]).some((s) => isJsonObject(s) && declaresProperties(s)));
}

/**
 * A copy of `schema` where every object schema at an instance position (the root, and what
 * describes a member, item or definition) that declares properties (directly or in
 * allOf/anyOf/oneOf) and no openness keyword gets `unevaluatedProperties: false`. Subschemas
 * of allOf/anyOf/oneOf/if/then/else/not are not closed themselves: the enclosing position's
 * `unevaluatedProperties` sees the members they evaluate.
 */
export function closeSchema(schema: unknown): unknown {
  const walk = (s: unknown, position: boolean): unknown => {
    if (Array.isArray(s)) return s.map((x) => walk(x, position));
    if (!isJsonObject(s)) return s;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(s)) {
      // Keys come from a manifest: a member named "__proto__" stays data (json/own.ts).
      if (CHILD_MAPS.includes(k) && isJsonObject(v)) {
        setOwn(out, k, Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, walk(sub, true)])) as JsonObject);
      } else if (CHILD_SINGLE.includes(k) || k === "prefixItems") {
        setOwn(out, k, walk(v, true) as JsonObject);
      } else if (SAME_INSTANCE.includes(k)) {
        setOwn(out, k, walk(v, false) as JsonObject);
      } else {
        setOwn(out, k, v);
      }
    }
    if (position && declaresProperties(s) && !OPEN_KEYWORDS.some((k) => Object.hasOwn(s, k))) out["unevaluatedProperties"] = false;
    return out;
  };
  return walk(schema, true);
}

// ---------------------------------------------------------------------------------------------
// compiled schema cache
// ---------------------------------------------------------------------------------------------

/** Compiles action schemas once per distinct content; `compiles` counts real compilations. */
export class ActionSchemaCache {
  readonly #ajv: AjvInstance;
  readonly #cache = new Map<string, AjvValidateFn>();
  readonly #max: number;
  /** Number of schemas compiled so far (cache misses). */
  compiles = 0;

  constructor(options: { readonly maxEntries?: number } = {}) {
    // strict:false — action schemas are third-party documents: unknown keywords are annotations.
    // addUsedSchema:false — two actions may reuse a `$id` with different content.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false, validateSchema: true });
    addFormats(this.#ajv);
    this.#max = Math.max(1, options.maxEntries ?? 1024);
  }

  /** The validator of `schema` (closed first when `closed`), compiled on first use. */
  get(schema: unknown, closed: boolean): AjvValidateFn {
    const key = `${closed ? "closed" : "open"}:${jcsDigest(schema)}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const prepared = closed ? closeSchema(schema) : schema;
    let fn: AjvValidateFn;
    try {
      fn = this.#ajv.compile(prepared as object) as unknown as AjvValidateFn;
    } catch (cause) {
      throw new OapError("ERR_OAP_ACTION_INVALID", `the schema does not compile: ${(cause as Error).message}`, { cause });
    }
    this.compiles++;
    if (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, fn);
    return fn;
  }
}

/** The process-wide cache {@link compileAction} uses by default. */
export const defaultActionSchemaCache = new ActionSchemaCache();

function issuesOf(fn: AjvValidateFn, data: unknown): ValidationIssue[] {
  if (fn(data)) return [];
  return (fn.errors ?? []).map((e) => {
    const missing = e.keyword === "required" ? e.params["missingProperty"] : undefined;
    const extra = e.keyword === "unevaluatedProperties" || e.keyword === "additionalProperties" ? (e.params["unevaluatedProperty"] ?? e.params["additionalProperty"]) : undefined;
    const child = typeof missing === "string" ? missing : typeof extra === "string" ? extra : undefined;
    const pointer = child === undefined ? e.instancePath : `${e.instancePath}/${child.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    const message = e.keyword === "required" ? "is required" : child !== undefined ? "is not declared by the schema" : (e.message ?? e.keyword);
    return { pointer, message, rule: `schema:${e.keyword}` };
  });
}

// ---------------------------------------------------------------------------------------------
// compiled actions
// ---------------------------------------------------------------------------------------------

/** Options of {@link compileAction}. */
export interface CompileActionOptions {
  readonly cache?: ActionSchemaCache;
  /** Close input schemas (§29.1). Default true. */
  readonly closedInput?: boolean;
  /** Close output schemas (§7.1 "strictly"). Default true. */
  readonly closedOutput?: boolean;
  /** §7.1 heuristic settings; `false` turns the check off. */
  readonly instructionCheck?: InstructionCheckOptions | false;
}

/** An action with its input and output validators compiled. */
export class CompiledAction {
  readonly action: OapAction;
  readonly #input: AjvValidateFn;
  readonly #output: AjvValidateFn;
  readonly #instructionCheck: InstructionCheckOptions | false;

  /** @internal Use {@link compileAction}. */
  constructor(action: OapAction, input: AjvValidateFn, output: AjvValidateFn, instructionCheck: InstructionCheckOptions | false) {
    this.action = action;
    this.#input = input;
    this.#output = output;
    this.#instructionCheck = instructionCheck;
  }

  get id(): string {
    return this.action.id;
  }

  /** Problems of `input` against input_schema ([] when valid). */
  inputIssues(input: unknown): ValidationIssue[] {
    return issuesOf(this.#input, input);
  }

  /** Problems of `output` against output_schema ([] when valid). */
  outputIssues(output: unknown): ValidationIssue[] {
    return issuesOf(this.#output, output);
  }

  /** §7.1 findings in `output` ([] when clean or the check is off). */
  instructionFindings(output: unknown): InstructionFinding[] {
    return this.#instructionCheck === false ? [] : findInstructionLikeText(output, this.#instructionCheck);
  }

  /** §29.1: throws ERR_OAP_INPUT_INVALID (400 invalid_input) with `details.issues`. */
  assertInput(input: unknown): void {
    const issues = this.inputIssues(input);
    if (issues.length > 0) {
      throw new OapError("ERR_OAP_INPUT_INVALID", `input does not match the input_schema of ${this.id}: ${summary(issues)}`, {
        details: { issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) },
      });
    }
  }

  /**
   * §7.1: throws ERR_OAP_OUTPUT_INVALID or ERR_OAP_OUTPUT_INSTRUCTION_LIKE (422
   * output_unverifiable). The Tool must not send such an output.
   */
  assertOutput(output: unknown): void {
    const issues = this.outputIssues(output);
    if (issues.length > 0) {
      throw new OapError("ERR_OAP_OUTPUT_INVALID", `output does not match the output_schema of ${this.id}: ${summary(issues)}`, {
        details: { issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) },
      });
    }
    const findings = this.instructionFindings(output);
    if (findings.length > 0) {
      throw new OapError("ERR_OAP_OUTPUT_INSTRUCTION_LIKE", `output text of ${this.id} mimics instructions (§7.1) at ${findings.map((f) => f.pointer || "/").join(", ")}`, {
        details: { findings: findings.map((f) => ({ pointer: f.pointer, rule: f.rule })) },
      });
    }
  }
}

function summary(issues: readonly ValidationIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.pointer || "/"} ${i.message}`)
    .join("; ");
}

/**
 * Validates an action document against schemas/oap/oap-action (ERR_OAP_ACTION_INVALID) and
 * compiles its input and output schemas (cached by content).
 */
export function compileAction(action: unknown, options: CompileActionOptions = {}): CompiledAction {
  const issues = validateSchema("oap-action", action);
  if (issues.length > 0) {
    const id = isJsonObject(action) ? action["id"] : undefined;
    throw new OapError("ERR_OAP_ACTION_INVALID", `action ${JSON.stringify(id)} is not a valid oap-action: ${summary(issues)}`, {
      details: { issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) },
    });
  }
  const a = action as OapAction;
  const cache = options.cache ?? defaultActionSchemaCache;
  const input = cache.get(a.input_schema, options.closedInput !== false);
  const output = cache.get(a.output_schema, options.closedOutput !== false);
  return new CompiledAction(a, input, output, options.instructionCheck ?? {});
}

/** The compiled actions of a Tool, by id. */
export class ActionCatalog {
  readonly #actions = new Map<string, CompiledAction>();

  /** Compiles every action (of a manifest or a list); duplicate ids are ERR_OAP_ACTION_INVALID. */
  constructor(actions: OapManifest | readonly unknown[], options: CompileActionOptions = {}) {
    const list: readonly unknown[] = Array.isArray(actions) ? actions : (actions as OapManifest).actions;
    for (const a of list) {
      const compiled = compileAction(a, options);
      if (this.#actions.has(compiled.id)) throw new OapError("ERR_OAP_ACTION_INVALID", `duplicate action id ${compiled.id}`);
      this.#actions.set(compiled.id, compiled);
    }
  }

  get(id: string): CompiledAction | undefined {
    return this.#actions.get(id);
  }

  /** The action, or ERR_OAP_ACTION_NOT_FOUND (404). */
  require(id: unknown): CompiledAction {
    const a = typeof id === "string" ? this.#actions.get(id) : undefined;
    if (a === undefined) throw new OapError("ERR_OAP_ACTION_NOT_FOUND", `unknown action ${JSON.stringify(id)}`, { details: { action: typeof id === "string" ? id : null } });
    return a;
  }

  get ids(): string[] {
    return [...this.#actions.keys()];
  }
}

// ---------------------------------------------------------------------------------------------
// §7 rules the schema leaves to prose
// ---------------------------------------------------------------------------------------------

/**
 * §7 / §27.3 / RFC 0017 rules beyond the action schema, as issues (rule = section):
 * cost, latency_p95_ms, requires_consent and risk_class present (§7 "MUST declare"),
 * irreversibility_class when side_effects is irreversible, sunset when deprecated, and every
 * example's input/output valid against the schemas (§7 "machine validated").
 */
export function actionRuleIssues(action: OapAction, options: CompileActionOptions = {}): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const member of ["cost", "latency_p95_ms", "requires_consent", "risk_class"] as const) {
    if (action[member] === undefined) out.push({ pointer: `/${member}`, message: "is required by §7", rule: "§7" });
  }
  if (action.side_effects === "irreversible" && action.irreversibility_class === undefined) {
    out.push({ pointer: "/irreversibility_class", message: "is required when side_effects is irreversible", rule: "RFC 0017 §3" });
  }
  if (action.deprecated === true && action.sunset === undefined) out.push({ pointer: "/sunset", message: "is required when deprecated", rule: "§27.3" });
  const compiled = compileAction(action, { ...options, instructionCheck: false });
  action.examples.forEach((ex, i) => {
    for (const issue of compiled.inputIssues(ex.input)) out.push({ pointer: `/examples/${i}/input${issue.pointer}`, message: issue.message, rule: "§7 examples" });
    for (const issue of compiled.outputIssues(ex.output)) out.push({ pointer: `/examples/${i}/output${issue.pointer}`, message: issue.message, rule: "§7 examples" });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// per-invocation policy (pure functions)
// ---------------------------------------------------------------------------------------------

/** Outcome of a policy rule (the decision-record outcome enum, minus require_anonymization). */
export type ActionPolicyOutcome = "allow" | "allow_with_conditions" | "require_consent" | "block";

/** A typed policy decision. `error` is set exactly when the invocation must be refused. */
export interface ActionPolicyDecision {
  /** Rule id, e.g. "oap.27.3.sunset". */
  readonly rule: string;
  readonly outcome: ActionPolicyOutcome;
  readonly error?: OapError;
  /** Response `warnings` to add. */
  readonly warnings?: readonly string[];
  readonly conditions?: readonly string[];
}

const allow = (rule: string, warnings?: readonly string[]): ActionPolicyDecision => (warnings === undefined || warnings.length === 0 ? { rule, outcome: "allow" } : { rule, outcome: "allow", warnings });
const block = (rule: string, error: OapError, outcome: ActionPolicyOutcome = "block"): ActionPolicyDecision => ({ rule, outcome, error });

/** The action's risk class, falling back to the manifest's (§7 "per Action override"). */
export function effectiveRiskClass(action: Pick<OapAction, "risk_class">, manifest?: Pick<OapManifest, "risk_class">): "minimal" | "limited" | "high" {
  return action.risk_class ?? manifest?.risk_class ?? "high";
}

/**
 * §10.1.1 anonymous access: only for actions with `side_effects: "none"` and an effective risk
 * class of `minimal` → otherwise 401 (a credential is required).
 */
export function checkAnonymous(action: Pick<OapAction, "id" | "side_effects" | "risk_class">, manifest?: Pick<OapManifest, "risk_class">): ActionPolicyDecision {
  const rule = "oap.10.1.anonymous";
  const risk = effectiveRiskClass(action, manifest);
  if (action.side_effects === "none" && risk === "minimal") return allow(rule);
  return block(
    rule,
    new OapError("ERR_OAP_ANONYMOUS_NOT_ALLOWED", `anonymous calls are limited to side_effects "none" and risk_class "minimal" (${action.id}: ${action.side_effects}, ${risk})`, {
      details: { side_effects: action.side_effects, risk_class: risk },
    }),
  );
}

/**
 * §27.3 deprecation: after `sunset` → 410 deprecated; before it (or without one) → allow with
 * a warning naming the sunset.
 */
export function checkDeprecation(action: Pick<OapAction, "id" | "deprecated" | "sunset">, now: Date): ActionPolicyDecision {
  const rule = "oap.27.3.sunset";
  if (action.deprecated !== true && action.sunset === undefined) return allow(rule);
  const sunset = parseRfc3339Ms(action.sunset);
  if (sunset !== undefined && now.getTime() >= sunset) {
    return block(rule, new OapError("ERR_OAP_DEPRECATED", `action ${action.id} reached its sunset ${action.sunset}`, { details: { sunset: action.sunset ?? null } }));
  }
  if (action.deprecated !== true) return allow(rule);
  return allow(rule, [sunset === undefined ? `action ${action.id} is deprecated` : `action ${action.id} is deprecated; sunset ${action.sunset}`]);
}

/** ISO 3166-1 alpha-2 members of the supranational codes manifests use ("EU", "EEA"). */
export const JURISDICTION_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  EU: ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"],
  EEA: ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"],
});

/** True when `country` is listed in `jurisdictions` directly or through a group code. */
export function jurisdictionCovers(jurisdictions: readonly string[], country: string): boolean {
  return jurisdictions.some((j) => j === country || (JURISDICTION_GROUPS[j]?.includes(country) ?? false));
}

/** §24.2: the Principal's jurisdiction (`context.jurisdiction_user`) must be offered → else 451. */
export function checkJurisdiction(manifest: Pick<OapManifest, "jurisdictions">, context: Pick<OapRequestEnvelope["context"], "jurisdiction_user">): ActionPolicyDecision {
  const rule = "oap.24.2.jurisdiction";
  if (jurisdictionCovers(manifest.jurisdictions, context.jurisdiction_user)) return allow(rule);
  return block(
    rule,
    new OapError("ERR_OAP_JURISDICTION", `the Tool is not offered in ${context.jurisdiction_user}`, {
      details: { jurisdiction: context.jurisdiction_user, supported_jurisdictions: [...manifest.jurisdictions] },
    }),
  );
}

/** Currencies a Tool quotes in: every `currency` of its pricing models and action costs. */
export function supportedCurrencies(manifest: Pick<OapManifest, "pricing" | "actions">): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isJsonObject(v)) {
      if (typeof v["currency"] === "string") found.add(v["currency"]);
      Object.values(v).forEach(visit);
    }
  };
  visit(manifest.pricing);
  for (const a of manifest.actions) visit(a.cost);
  return [...found].sort();
}

/**
 * §24.1: a priced action must be quoted in the declared `context.currency`; when the Tool does
 * not support it → 400 invalid_input with `details.supported_currencies`. Free actions (no
 * cost, or cost.type "free") pass whatever the currency.
 */
export function checkCurrency(action: Pick<OapAction, "id" | "cost">, context: Pick<OapRequestEnvelope["context"], "currency">, supported: readonly string[]): ActionPolicyDecision {
  const rule = "oap.24.1.currency";
  if (action.cost === undefined || action.cost.type === "free") return allow(rule);
  if (supported.includes(context.currency)) return allow(rule);
  return block(
    rule,
    new OapError("ERR_OAP_CURRENCY_UNSUPPORTED", `prices cannot be quoted in ${context.currency}`, {
      details: { currency: context.currency, supported_currencies: [...supported] },
    }),
  );
}

/** Result of {@link negotiateLocale}. */
export interface LocaleChoice {
  /** The locale human-readable fields of the response are written in. */
  readonly locale: string;
  /** True when it is exactly the declared one. */
  readonly exact: boolean;
  readonly warnings: readonly string[];
}

/**
 * §24.1 "honor declared locale": the declared `context.locale` if supported, else the first
 * supported locale of the same language, else `fallback` — with a response warning naming the
 * substitution (never an error: the output still conforms, only its language differs).
 */
export function negotiateLocale(declared: string, supported: readonly string[], fallback: string): LocaleChoice {
  if (supported.includes(declared)) return { locale: declared, exact: true, warnings: [] };
  const language = declared.split("-")[0] as string;
  const sameLanguage = supported.find((l) => l === language || l.split("-")[0] === language);
  const locale = sameLanguage ?? fallback;
  return { locale, exact: false, warnings: [`locale ${declared} is not supported; answering in ${locale}`] };
}

/**
 * §7 requires_consent: the request must cite a Consent Receipt (`consent_receipt`); when it
 * does not → 403 policy_block, outcome require_consent. `consentValid` is the caller's verdict
 * on the cited receipt (looked up elsewhere); omit it to check presence only.
 */
export function checkConsent(
  action: Pick<OapAction, "id" | "requires_consent">,
  envelope: Pick<OapRequestEnvelope, "consent_receipt">,
  consentValid?: boolean,
): ActionPolicyDecision {
  const rule = "oap.7.requires_consent";
  if (action.requires_consent !== true) return allow(rule);
  if (typeof envelope.consent_receipt === "string" && envelope.consent_receipt.length > 0 && consentValid !== false) return allow(rule);
  return block(
    rule,
    new OapError("ERR_OAP_CONSENT_REQUIRED", `action ${action.id} requires a valid Consent Receipt`, { details: { required: "consent_receipt" } }),
    "require_consent",
  );
}

/** Result of {@link runActionPolicies}. */
export interface ActionPolicyResult {
  /** Every decision taken, in order (up to and including the refusal). */
  readonly decisions: readonly ActionPolicyDecision[];
  /** The refusal, if any. */
  readonly error?: OapError;
  readonly warnings: readonly string[];
}

/** Runs decision thunks in order; the first refusal stops the pipeline. */
export function runActionPolicies(steps: readonly (() => ActionPolicyDecision)[]): ActionPolicyResult {
  const decisions: ActionPolicyDecision[] = [];
  const warnings: string[] = [];
  for (const step of steps) {
    const d = step();
    decisions.push(d);
    if (d.warnings !== undefined) warnings.push(...d.warnings);
    if (d.error !== undefined) return { decisions, error: d.error, warnings };
  }
  return { decisions, warnings };
}
