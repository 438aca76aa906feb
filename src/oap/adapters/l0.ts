/**
 * Shared pieces of the §38 importers: OAP action ids from foreign names, a minimal instance of a
 * JSON Schema (the synthetic example an L0 manifest needs, since neither MCP tools nor A2A
 * skills carry input/output examples), and the L0 manifest skeleton.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { assertOapDocument } from "../documents.js";

const ACTION_ID = /^[a-z][a-z0-9_]{0,62}$/u;

/**
 * An OAP action id (`^[a-z][a-z0-9_]{0,62}$`) for a foreign name: lower-cased, other characters
 * → `_`, `a_` prefixed when it does not start with a letter, cut to 63; `taken` ids get a
 * numeric suffix.
 */
export function actionIdFor(name: string, taken: ReadonlySet<string> = new Set()): string {
  let id = name
    .toLowerCase()
    .replace(/[^a-z0-9_]+/gu, "_")
    .replace(/_+/gu, "_")
    .replace(/^_+|_+$/gu, "");
  if (!/^[a-z]/u.test(id)) id = `a_${id}`;
  id = id.slice(0, 63).replace(/_+$/u, "") || "action";
  if (!ACTION_ID.test(id)) id = "action";
  let candidate = id;
  for (let n = 2; taken.has(candidate); n++) candidate = `${id.slice(0, 63 - String(n).length - 1)}_${n}`;
  return candidate;
}

/** A manifest tool id (`^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$`) for a foreign name. */
export function toolIdFor(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/gu, "-")
    .replace(/^-+|-+$/gu, "")
    .slice(0, 64)
    .replace(/-+$/gu, "");
  return id.length >= 2 ? id : `tool-${id || "x"}`;
}

/**
 * A minimal instance of a JSON Schema: `examples[0]`, `default`, `const` or the first `enum`
 * value when given; otherwise the simplest value of the type (objects get their required
 * properties, arrays `minItems` items, strings `minLength` characters, numbers the minimum or 0).
 * Good enough for the common schemas of tool inputs; not a general generator (`$ref`, `oneOf`…
 * use their first branch or give up with `{}`).
 */
export function minimalInstance(schema: unknown, depth = 0): JsonValue {
  if (depth > 16 || !isJsonObject(schema as JsonValue)) return {};
  const s = schema as JsonObject;
  if (Array.isArray(s["examples"]) && s["examples"].length > 0) return s["examples"][0] as JsonValue;
  if (s["default"] !== undefined) return s["default"] as JsonValue;
  if (s["const"] !== undefined) return s["const"] as JsonValue;
  if (Array.isArray(s["enum"]) && s["enum"].length > 0) return s["enum"][0] as JsonValue;
  for (const k of ["oneOf", "anyOf", "allOf"]) if (Array.isArray(s[k]) && (s[k] as JsonValue[]).length > 0) return minimalInstance((s[k] as JsonValue[])[0], depth + 1);
  const type = Array.isArray(s["type"]) ? (s["type"].find((t) => t !== "null") ?? s["type"][0]) : s["type"];
  switch (type) {
    case "string": {
      const n = typeof s["minLength"] === "number" ? s["minLength"] : 0;
      if (s["format"] === "date-time") return "2026-01-01T00:00:00Z";
      if (s["format"] === "date") return "2026-01-01";
      if (s["format"] === "uri") return "https://example.com/";
      if (s["format"] === "email") return "user@example.com";
      return "x".repeat(n);
    }
    case "integer":
    case "number":
      return typeof s["minimum"] === "number" ? s["minimum"] : typeof s["exclusiveMinimum"] === "number" ? s["exclusiveMinimum"] + 1 : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array": {
      const n = typeof s["minItems"] === "number" ? s["minItems"] : 0;
      return Array.from({ length: n }, () => minimalInstance(s["items"], depth + 1));
    }
    default: {
      const props = isJsonObject(s["properties"] as JsonValue) ? (s["properties"] as JsonObject) : {};
      const out: JsonObject = {};
      for (const r of Array.isArray(s["required"]) ? s["required"] : []) if (typeof r === "string") out[r] = minimalInstance(props[r], depth + 1);
      return out;
    }
  }
}

/** Facts about the Tool only its publisher knows (an L0 manifest must state them). */
export interface L0ManifestInput {
  readonly tool: OapManifest["tool"];
  /** Base URL of the OAP endpoints (`{base}/oap/invoke`, …). */
  readonly baseUrl: string;
  readonly jurisdictions: OapManifest["jurisdictions"];
  readonly governance: OapManifest["governance"];
  readonly data_policy: OapManifest["data_policy"];
  readonly auth?: OapManifest["auth"];
  /** Default "limited". */
  readonly risk_class?: OapManifest["risk_class"];
  /** Default: no commitments (uptime 0, p95 = max duration = 30 s, region "global", disclosure 72 h). */
  readonly sla?: OapManifest["sla"];
  /** Default: unverified publisher, no residency claims, gdpr_compliant false. */
  readonly trust?: OapManifest["trust"];
}

/** An L0 manifest around imported actions, validated against oap-manifest (400 when invalid). */
export function l0Manifest(input: L0ManifestInput, actions: readonly OapAction[]): OapManifest {
  const base = input.baseUrl.replace(/\/+$/u, "");
  const manifest: OapManifest = {
    oap_version: "1.0",
    tool: input.tool,
    endpoints: { invoke: `${base}/oap/invoke`, audit: `${base}/oap/audit`, data_delete: `${base}/oap/data/delete`, incident: `${base}/oap/incident` },
    auth: input.auth ?? [{ method: "oap_trust_token" }],
    actions: [...actions] as OapManifest["actions"],
    sla: input.sla ?? { uptime_target: 0, latency_p95_ms: 30_000, max_call_duration_ms: 30_000, regions: ["global"], incident_disclosure_within_hours: 72 },
    trust: input.trust ?? { publisher_verified: false, data_residency: [], gdpr_compliant: false },
    data_policy: input.data_policy,
    risk_class: input.risk_class ?? "limited",
    jurisdictions: input.jurisdictions,
    governance: input.governance,
    conformance: { claimed_levels: ["L0"], attestor: { method: "self" } },
  };
  assertOapDocument("oap-manifest", manifest);
  return manifest;
}
