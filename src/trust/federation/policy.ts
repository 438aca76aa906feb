/**
 * Metadata policy (OpenID Federation 1.0 §6.1), the subset OHP needs: the seven standard
 * operators `value`, `add`, `default`, `one_of`, `subset_of`, `superset_of`, `essential`.
 *
 * - combination within one parameter policy (§6.1.3.1, checked on every statement's policy and
 *   on every merge result): `one_of` does not combine with `add`/`subset_of`/`superset_of`;
 *   `value` must satisfy the others (`add` ⊆ value, value ∈ `one_of`, value ⊆ `subset_of`,
 *   value ⊇ `superset_of`; a `null` value — removal — cannot meet `add`, `default` or
 *   `essential: true`); `add` ⊆ `subset_of`; `superset_of` ⊆ `subset_of`;
 * - merging top-down from the trust anchor (§6.1.4.1): `value`/`default` must be equal, `add`
 *   and `superset_of` unite, `one_of` intersects (empty → conflict), `subset_of` intersects,
 *   `essential` is true once any superior set it;
 * - application to the leaf metadata (§6.1.4.2) in the order value, add, default, one_of,
 *   subset_of, superset_of, essential; policies apply only to entity types the entity has;
 * - unknown operators are ignored unless listed in `metadata_policy_crit` (`ERR_FED_POLICY_CRIT`).
 *
 * Conflicts are `ERR_FED_POLICY_CONFLICT`; metadata that violates the policy is
 * `ERR_FED_POLICY_VIOLATION`; malformed operator values are `ERR_FED_MALFORMED`.
 *
 * @module
 */
import { getOwn, setOwn } from "../../json/own.js";
import { FederationError } from "./errors.js";

/** Operators implemented here, in the order of application (§6.1.4.2). */
export const POLICY_OPERATORS = Object.freeze(["value", "add", "default", "one_of", "subset_of", "superset_of", "essential"] as const);
/** One standard operator name. */
export type PolicyOperator = (typeof POLICY_OPERATORS)[number];

/** Operator → operand for one metadata parameter. */
export type ParameterPolicy = Readonly<Record<string, unknown>>;
/** Parameter → its policy, for one entity type. */
export type EntityTypePolicy = Readonly<Record<string, ParameterPolicy>>;
/** Entity type → its policy (the `metadata_policy` claim). */
export type MetadataPolicy = Readonly<Record<string, EntityTypePolicy>>;
/** Entity type → parameters (the `metadata` claim). */
export type Metadata = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON deep equality (object member order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

const has = (list: readonly unknown[], v: unknown): boolean => list.some((x) => jsonEqual(x, v));
const subset = (a: readonly unknown[], b: readonly unknown[]): boolean => a.every((x) => has(b, x));
const union = (a: readonly unknown[], b: readonly unknown[]): unknown[] => [...a, ...b.filter((x) => !has(a, x))];
const intersect = (a: readonly unknown[], b: readonly unknown[]): unknown[] => a.filter((x) => has(b, x));

function conflict(where: string, message: string): FederationError {
  return new FederationError("ERR_FED_POLICY_CONFLICT", `${where}: ${message}`, { detail: { parameter: where } });
}

function violation(where: string, message: string): FederationError {
  return new FederationError("ERR_FED_POLICY_VIOLATION", `${where}: ${message}`, { detail: { parameter: where } });
}

function checkOperandTypes(where: string, p: ParameterPolicy): void {
  for (const op of ["add", "one_of", "subset_of", "superset_of"] as const) {
    if (Object.hasOwn(p, op) && !Array.isArray(p[op])) throw new FederationError("ERR_FED_MALFORMED", `${where}: ${op} must be an array`);
  }
  if (Object.hasOwn(p, "one_of") && (p["one_of"] as unknown[]).length === 0) throw new FederationError("ERR_FED_MALFORMED", `${where}: one_of must not be empty`);
  if (Object.hasOwn(p, "essential") && typeof p["essential"] !== "boolean") throw new FederationError("ERR_FED_MALFORMED", `${where}: essential must be a boolean`);
  if (Object.hasOwn(p, "default") && p["default"] === null) throw new FederationError("ERR_FED_MALFORMED", `${where}: default must not be null`);
}

/** §6.1.3.1: the operators of one parameter policy must be combinable. */
export function checkParameterPolicy(where: string, p: ParameterPolicy): void {
  checkOperandTypes(where, p);
  const on = (op: PolicyOperator): boolean => Object.hasOwn(p, op);
  if (on("one_of") && (on("add") || on("subset_of") || on("superset_of"))) {
    throw conflict(where, "one_of cannot be combined with add, subset_of or superset_of");
  }
  if (on("value")) {
    const value = p["value"];
    if (value === null) {
      if (on("add") || on("default")) throw conflict(where, "value null (removal) cannot be combined with add or default");
      if (p["essential"] === true) throw conflict(where, "value null (removal) contradicts essential true");
    } else {
      if (on("add") && !(Array.isArray(value) && subset(p["add"] as unknown[], value))) throw conflict(where, "add values are not all in value");
      if (on("one_of") && !has(p["one_of"] as unknown[], value)) throw conflict(where, "value is not one of one_of");
      if (on("subset_of") && !(Array.isArray(value) && subset(value, p["subset_of"] as unknown[]))) throw conflict(where, "value is not a subset of subset_of");
      if (on("superset_of") && !(Array.isArray(value) && subset(p["superset_of"] as unknown[], value))) throw conflict(where, "value is not a superset of superset_of");
    }
  }
  if (on("add") && on("subset_of") && !subset(p["add"] as unknown[], p["subset_of"] as unknown[])) throw conflict(where, "add values are outside subset_of");
  if (on("subset_of") && on("superset_of") && !subset(p["superset_of"] as unknown[], p["subset_of"] as unknown[])) {
    throw conflict(where, "superset_of is not a subset of subset_of");
  }
}

function checkCrit(where: string, p: ParameterPolicy, crit: readonly string[]): void {
  for (const op of Object.keys(p)) {
    if (!(POLICY_OPERATORS as readonly string[]).includes(op) && crit.includes(op)) {
      throw new FederationError("ERR_FED_POLICY_CRIT", `${where}: critical policy operator ${op} is not supported`, { detail: { operator: op } });
    }
  }
}

/** §6.1.4.1: merges a superior's parameter policy with a subordinate's. */
export function mergeParameterPolicies(where: string, superior: ParameterPolicy, subordinate: ParameterPolicy): ParameterPolicy {
  const out: Record<string, unknown> = { ...superior };
  for (const [op, operand] of Object.entries(subordinate)) {
    if (!Object.hasOwn(out, op)) {
      setOwn(out, op, operand);
      continue;
    }
    const mine = out[op];
    switch (op) {
      case "value":
      case "default":
        if (!jsonEqual(mine, operand)) throw conflict(where, `${op} differs between superior and subordinate`);
        break;
      case "add":
      case "superset_of":
        out[op] = union(mine as unknown[], operand as unknown[]);
        break;
      case "one_of": {
        const both = intersect(mine as unknown[], operand as unknown[]);
        if (both.length === 0) throw conflict(where, "one_of sets do not intersect");
        out[op] = both;
        break;
      }
      case "subset_of":
        out[op] = intersect(mine as unknown[], operand as unknown[]);
        break;
      case "essential":
        out[op] = mine === true || operand === true;
        break;
      default:
        // Unknown, non-critical operator: keep the superior's operand.
        break;
    }
  }
  checkParameterPolicy(where, out);
  return out;
}

/**
 * Merges `metadata_policy` claims ordered from the trust anchor's statement down to the leaf's
 * immediate superior. Every input policy is checked on its own first.
 */
export function mergeMetadataPolicies(policies: readonly (MetadataPolicy | undefined)[], crit: readonly string[] = []): MetadataPolicy {
  const out: Record<string, Record<string, ParameterPolicy>> = {};
  for (const policy of policies) {
    if (policy === undefined) continue;
    if (!isObject(policy)) throw new FederationError("ERR_FED_MALFORMED", "metadata_policy must be an object");
    for (const [type, typePolicy] of Object.entries(policy)) {
      if (!isObject(typePolicy)) throw new FederationError("ERR_FED_MALFORMED", `metadata_policy.${type} must be an object`);
      // Keys come from statements: "__proto__" stays data (./json/own.ts), never the prototype.
      let target = getOwn(out, type);
      if (target === undefined) setOwn(out, type, (target = {}));
      for (const [param, p] of Object.entries(typePolicy)) {
        const where = `${type}.${param}`;
        if (!isObject(p)) throw new FederationError("ERR_FED_MALFORMED", `metadata_policy.${where} must be an object`);
        checkCrit(where, p, crit);
        checkParameterPolicy(where, p);
        const existing = getOwn(target, param);
        setOwn(target, param, existing === undefined ? { ...p } : mergeParameterPolicies(where, existing, p));
      }
    }
  }
  return out;
}

/** §6.1.4.2: applies one parameter policy to a copy of `metadata` (one entity type). */
function applyParameterPolicy(where: string, metadata: Record<string, unknown>, param: string, p: ParameterPolicy): void {
  const present = (): boolean => Object.hasOwn(metadata, param);
  if (Object.hasOwn(p, "value")) {
    if (p["value"] === null) delete metadata[param];
    else setOwn(metadata, param, p["value"]);
  }
  if (Object.hasOwn(p, "add")) {
    if (!present()) setOwn(metadata, param, [...(p["add"] as unknown[])]);
    else if (!Array.isArray(metadata[param])) throw violation(where, "add needs an array parameter");
    else setOwn(metadata, param, union(metadata[param] as unknown[], p["add"] as unknown[]));
  }
  if (Object.hasOwn(p, "default") && !present()) setOwn(metadata, param, p["default"]);
  if (Object.hasOwn(p, "one_of") && present() && !has(p["one_of"] as unknown[], metadata[param])) {
    throw violation(where, `value ${JSON.stringify(metadata[param])} is not one of ${JSON.stringify(p["one_of"])}`);
  }
  if (Object.hasOwn(p, "subset_of") && present()) {
    if (!Array.isArray(metadata[param])) throw violation(where, "subset_of needs an array parameter");
    setOwn(metadata, param, intersect(metadata[param] as unknown[], p["subset_of"] as unknown[]));
  }
  if (Object.hasOwn(p, "superset_of") && present()) {
    if (!Array.isArray(metadata[param]) || !subset(p["superset_of"] as unknown[], metadata[param] as unknown[])) {
      throw violation(where, `value must contain all of ${JSON.stringify(p["superset_of"])}`);
    }
  }
  if (p["essential"] === true && !present()) throw violation(where, "essential parameter is missing");
}

/** Applies a merged policy to metadata; entity types absent from `metadata` are left out. */
export function applyMetadataPolicy(metadata: Metadata, policy: MetadataPolicy): Metadata {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, params] of Object.entries(metadata)) {
    if (!isObject(params)) throw new FederationError("ERR_FED_MALFORMED", `metadata.${type} must be an object`);
    const copy: Record<string, unknown> = structuredClone(params);
    const typePolicy = Object.hasOwn(policy, type) ? policy[type] : undefined;
    if (typePolicy !== undefined) {
      for (const [param, p] of Object.entries(typePolicy)) applyParameterPolicy(`${type}.${param}`, copy, param, p);
    }
    setOwn(out, type, copy);
  }
  return out;
}

/**
 * Resolved metadata of a leaf (§6.1.4): its own `metadata`, overridden parameter by parameter by
 * the `metadata` claim of its immediate superior's subordinate statement (§3), then the merged
 * policies (`policiesTopDown`: trust anchor first) applied.
 */
export function resolveMetadata(
  leafMetadata: Metadata | undefined,
  superiorMetadata: Metadata | undefined,
  policiesTopDown: readonly (MetadataPolicy | undefined)[],
  crit: readonly string[] = [],
): Metadata {
  const base: Record<string, Record<string, unknown>> = {};
  for (const [type, params] of Object.entries(leafMetadata ?? {})) setOwn(base, type, { ...params });
  for (const [type, params] of Object.entries(superiorMetadata ?? {})) setOwn(base, type, { ...(getOwn(base, type) ?? {}), ...params });
  return applyMetadataPolicy(base, mergeMetadataPolicies(policiesTopDown, crit));
}
