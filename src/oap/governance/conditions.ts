/**
 * The rule condition language of the policy engine (§20): a small typed JSON language over the
 * invocation context, evaluated in three-valued (Kleene) logic.
 *
 * ```json
 * {"all": [
 *   {"field": "action.risk_class", "op": "eq", "value": "high"},
 *   {"any": [{"field": "data_classes", "op": "contains", "value": "health"},
 *            {"field": "amount", "op": "gt", "value": {"amount": "500.00", "currency": "EUR"}}]},
 *   {"not": {"field": "principal.attributes.verified", "op": "eq", "value": true}}
 * ]}
 * ```
 *
 * Operators: `eq ne in not_in contains contains_any contains_all prefix exists gt gte lt lte`,
 * plus `{"always": true}`. A field is a dotted path into the {@link PolicyContext}.
 *
 * Truth values: `true`, `false`, or `"unknown"` when a comparison cannot be decided — an
 * ordering comparison on a missing or incomparable value (money in another currency, a string
 * against a number). Missing fields are simply absent for the set operators (`eq`, `in`,
 * `contains`… → false; `ne`, `not_in` → true) so that a deny rule about an attribute does not
 * fire on every context that lacks it. Rules decide what `"unknown"` means (`on_unknown`).
 *
 * Ordering comparisons: numbers numerically; decimal strings exactly (never as floats); money
 * objects `{amount, currency}` exactly and only within one currency; RFC 3339 date-times by
 * instant.
 *
 * @module
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { compareDecimal, parseDecimal } from "../commerce/money.js";
import { parseRfc3339Ms } from "../util.js";

/** Three-valued truth. */
export type Truth = true | false | "unknown";

/** Comparison operators. */
export type ConditionOp = "eq" | "ne" | "in" | "not_in" | "contains" | "contains_any" | "contains_all" | "prefix" | "exists" | "gt" | "gte" | "lt" | "lte";

/** A condition of the rule language. */
export type Condition =
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition }
  | { readonly always: true }
  | { readonly field: string; readonly op: ConditionOp; readonly value?: JsonValue };

/** Money as the context carries it. */
export interface MoneyValue {
  readonly amount: string;
  readonly currency: string;
}

/**
 * The invocation context rules are evaluated against. Every member is optional; rules about a
 * missing member behave as described in the module comment.
 */
export interface PolicyContext {
  readonly action?: {
    readonly id?: string;
    readonly side_effects?: string;
    readonly risk_class?: string;
    readonly irreversibility_class?: string;
    readonly data_classes_in?: readonly string[];
    readonly data_classes_out?: readonly string[];
    readonly tags?: readonly string[];
  };
  readonly tool?: { readonly did?: string; readonly jurisdictions?: readonly string[]; readonly risk_class?: string; readonly categories?: readonly string[] };
  readonly principal?: { readonly did?: string; readonly locale?: string; readonly jurisdiction?: string; readonly attributes?: JsonObject };
  readonly agent?: { readonly did?: string; readonly vendor?: string; readonly attributes?: JsonObject };
  readonly scope_id?: string;
  /** Data classes in this invocation's input (or outbound data). */
  readonly data_classes?: readonly string[];
  readonly jurisdiction?: { readonly user?: string; readonly agent?: string; readonly tool?: string };
  /** The invocation's (maximum) cost. */
  readonly amount?: MoneyValue;
  readonly purpose?: string;
  readonly provenance_tags?: readonly string[];
  readonly confidentiality_class?: string;
  /**
   * Classifier or declaration flags about the request (e.g. `csam`, `wmd`, `social_scoring`,
   * `human_target_selection`): the L1 universal prohibitions match on these.
   */
  readonly flags?: readonly string[];
  /** A recorded human decision (§20.2 escalation; RFC 0018). */
  readonly human_decision?: { readonly approved: boolean; readonly by?: string; readonly at?: string };
  /** The request time (RFC 3339), for time-based rules. */
  readonly time?: string;
  /** Anything else a deployment wants rules to see. */
  readonly attributes?: JsonObject;
}

/** Field path syntax: `name(.segment)*`. */
export const FIELD_PATH = /^[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_:-]+)*$/u;

/** The value at a dotted path (own members only), or undefined. */
export function resolveField(ctx: unknown, path: string): unknown {
  let cur: unknown = ctx;
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/u;

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isJsonObject(a as JsonValue) && isJsonObject(b as JsonValue)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

function isMoney(v: unknown): v is MoneyValue {
  return v !== null && typeof v === "object" && typeof (v as MoneyValue).amount === "string" && typeof (v as MoneyValue).currency === "string";
}

/** -1 / 0 / 1, or undefined when the two values are not comparable. */
export function compareValues(a: unknown, b: unknown): -1 | 0 | 1 | undefined {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (isMoney(a) && isMoney(b)) {
    if (a.currency !== b.currency) return undefined;
    return compareValues(a.amount, b.amount);
  }
  const da = typeof a === "number" && Number.isFinite(a) ? String(a) : a;
  const db = typeof b === "number" && Number.isFinite(b) ? String(b) : b;
  if (typeof da === "string" && typeof db === "string") {
    if (DECIMAL.test(da) && DECIMAL.test(db)) return compareDecimal(parseDecimal(da, { signed: true }), parseDecimal(db, { signed: true }));
    const ta = parseRfc3339Ms(da);
    const tb = parseRfc3339Ms(db);
    if (ta !== undefined && tb !== undefined) return ta < tb ? -1 : ta > tb ? 1 : 0;
  }
  return undefined;
}

function asArray(v: unknown): readonly unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function not(t: Truth): Truth {
  return t === "unknown" ? "unknown" : !t;
}

function compare(op: ConditionOp, actual: unknown, expected: unknown): Truth {
  switch (op) {
    case "exists":
      return actual !== undefined && actual !== null;
    case "eq":
      return actual !== undefined && jsonEqual(actual, expected);
    case "ne":
      return actual === undefined || !jsonEqual(actual, expected);
    case "in":
      return actual !== undefined && (asArray(expected)?.some((e) => jsonEqual(actual, e)) ?? false);
    case "not_in":
      return actual === undefined || !(asArray(expected)?.some((e) => jsonEqual(actual, e)) ?? false);
    case "contains":
      return asArray(actual)?.some((e) => jsonEqual(e, expected)) ?? false;
    case "contains_any": {
      const a = asArray(actual);
      return a !== undefined && (asArray(expected)?.some((e) => a.some((x) => jsonEqual(x, e))) ?? false);
    }
    case "contains_all": {
      const a = asArray(actual);
      return a !== undefined && (asArray(expected)?.every((e) => a.some((x) => jsonEqual(x, e))) ?? false);
    }
    case "prefix":
      return typeof actual === "string" && typeof expected === "string" && actual.startsWith(expected);
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      if (actual === undefined || actual === null) return "unknown";
      const c = compareValues(actual, expected);
      if (c === undefined) return "unknown";
      return op === "gt" ? c > 0 : op === "gte" ? c >= 0 : op === "lt" ? c < 0 : c <= 0;
    }
  }
}

/** Evaluates a (schema-valid) condition against a context. */
export function evaluateCondition(condition: Condition, ctx: PolicyContext | JsonObject): Truth {
  if ("all" in condition) {
    let result: Truth = true;
    for (const c of condition.all) {
      const t = evaluateCondition(c, ctx);
      if (t === false) return false;
      if (t === "unknown") result = "unknown";
    }
    return result;
  }
  if ("any" in condition) {
    let result: Truth = false;
    for (const c of condition.any) {
      const t = evaluateCondition(c, ctx);
      if (t === true) return true;
      if (t === "unknown") result = "unknown";
    }
    return result;
  }
  if ("not" in condition) return not(evaluateCondition(condition.not, ctx));
  if ("always" in condition) return true;
  return compare(condition.op, resolveField(ctx, condition.field), condition.value);
}

/** Every field path a condition reads. */
export function conditionFields(condition: Condition): string[] {
  if ("all" in condition) return condition.all.flatMap(conditionFields);
  if ("any" in condition) return condition.any.flatMap(conditionFields);
  if ("not" in condition) return conditionFields(condition.not);
  if ("always" in condition) return [];
  return [condition.field];
}
