/**
 * MCP ⇄ OAP mapping (OAP-CORE-1.0 §38.1): expose an OAP manifest as an MCP tool list and map MCP
 * `tools/call` to OAP request envelopes and OAP responses back to MCP results; import an MCP tool
 * list as an L0 OAP manifest. Pure functions over the MCP 2025-06-18 shapes (`Tool`,
 * `CallToolRequest.params`, `CallToolResult`); no transport.
 *
 * Action → MCP tool:
 *
 * | OAP | MCP |
 * |-|-|
 * | `id` | `name` (optionally prefixed) |
 * | `summary` | `title`, `annotations.title` |
 * | `description_for_agents` | `description` |
 * | `input_schema` (object root) | `inputSchema`; another root is wrapped as `{input: …}` |
 * | `output_schema` (object root) | `outputSchema` |
 * | `side_effects` none/read | `readOnlyHint: true` |
 * | `side_effects` write/irreversible | `destructiveHint: true` |
 * | `side_effects` external | `openWorldHint: true` |
 * | `idempotent` | `idempotentHint` |
 * | id, version, cost, risk, consent | `_meta["oap/action"]` |
 *
 * MCP tool → OAP action (conservative: what MCP does not say is assumed risky): `readOnlyHint`
 * → `read`; otherwise `destructiveHint` (MCP default true) → `irreversible`; else
 * `openWorldHint` (default true) → `external`; else `write`. `idempotentHint` → `idempotent`
 * with a 300 s window. `outputSchema` or a free-form object; a synthetic example built from the
 * schemas (MCP has none). Cost free, consent not required, rate limit 60 rpm / 1 concurrent
 * unless given.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { OapError } from "../errors.js";
import { oapIds, rfc3339, systemClock, type OapClock, type OapIds } from "../util.js";
import { actionIdFor, l0Manifest, minimalInstance, type L0ManifestInput } from "./l0.js";

/** MCP tool annotations. */
export interface McpToolAnnotations {
  readonly title?: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

/** An MCP tool definition. */
export interface McpTool {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: JsonObject;
  readonly outputSchema?: JsonObject;
  readonly annotations?: McpToolAnnotations;
  readonly _meta?: JsonObject;
}

/** `tools/call` params. */
export interface McpCallParams {
  readonly name: string;
  readonly arguments?: JsonObject;
}

/** A `CallToolResult`. */
export interface McpCallResult {
  readonly content: readonly JsonObject[];
  readonly structuredContent?: JsonObject;
  readonly isError: boolean;
  readonly _meta?: JsonObject;
}

/** `_meta` key carrying the OAP action facts. */
export const MCP_META_ACTION = "oap/action";
/** `_meta` key carrying the OAP receipt of a call. */
export const MCP_META_RECEIPT = "oap/receipt";
/** `_meta` key marking an input wrapped under `input`. */
export const MCP_META_WRAPPED = "oap/input_wrapped";

function objectRoot(schema: unknown): boolean {
  return isJsonObject(schema as JsonValue) && (schema as JsonObject)["type"] === "object";
}

/** One OAP action as an MCP tool. */
export function oapActionToMcpTool(action: OapAction, options: { readonly namePrefix?: string } = {}): McpTool {
  const wrapped = !objectRoot(action.input_schema);
  const readOnly = action.side_effects === "none" || action.side_effects === "read";
  const meta: JsonObject = {
    id: action.id,
    version: action.version,
    side_effects: action.side_effects,
    ...(action.cost === undefined ? {} : { cost: action.cost as unknown as JsonObject }),
    ...(action.risk_class === undefined ? {} : { risk_class: action.risk_class }),
    ...(action.requires_consent === undefined ? {} : { requires_consent: action.requires_consent }),
  };
  return {
    name: `${options.namePrefix ?? ""}${action.id}`,
    title: action.summary,
    description: action.description_for_agents,
    inputSchema: wrapped ? { type: "object", properties: { input: action.input_schema as JsonObject }, required: ["input"], additionalProperties: false } : (action.input_schema as JsonObject),
    ...(objectRoot(action.output_schema) ? { outputSchema: action.output_schema as JsonObject } : {}),
    annotations: {
      title: action.summary,
      readOnlyHint: readOnly,
      destructiveHint: action.side_effects === "write" || action.side_effects === "irreversible",
      idempotentHint: action.idempotent,
      openWorldHint: action.side_effects === "external",
    },
    _meta: { [MCP_META_ACTION]: meta, ...(wrapped ? { [MCP_META_WRAPPED]: true } : {}) },
  };
}

/** `tools/list` result of a manifest (deprecated actions are left out unless asked for). */
export function oapManifestToMcpTools(manifest: Pick<OapManifest, "actions">, options: { readonly namePrefix?: string; readonly includeDeprecated?: boolean } = {}): { tools: McpTool[] } {
  return { tools: manifest.actions.filter((a) => options.includeDeprecated === true || a.deprecated !== true).map((a) => oapActionToMcpTool(a, options)) };
}

/** Who calls, for {@link mcpCallToOapRequest}. */
export interface McpCallContext {
  readonly principal_did: string;
  readonly agent_did: string;
  readonly context: { readonly locale: string; readonly currency: string; readonly jurisdiction_user: string; readonly jurisdiction_agent: string };
  readonly scope_id?: string;
  readonly subscription_token?: string;
  readonly consent_receipt?: string;
  readonly namePrefix?: string;
  readonly clock?: OapClock;
  readonly ids?: OapIds;
}

/**
 * `tools/call` → an unsigned OAP request envelope (sign it with `signRequest`). 404 for a tool
 * name the manifest does not have.
 */
export function mcpCallToOapRequest(params: McpCallParams, manifest: Pick<OapManifest, "actions">, call: McpCallContext): JsonObject {
  const prefix = call.namePrefix ?? "";
  const id = params.name.startsWith(prefix) ? params.name.slice(prefix.length) : params.name;
  const action = manifest.actions.find((a) => a.id === id);
  if (action === undefined || !params.name.startsWith(prefix)) throw new OapError("ERR_OAP_ACTION_NOT_FOUND", `unknown tool ${params.name}`, { details: { name: params.name } });
  const args = params.arguments ?? {};
  const input = objectRoot(action.input_schema) ? args : args["input"];
  if (input === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", `tool ${params.name} takes its input in arguments.input`);
  const clock = call.clock ?? systemClock;
  const ids = call.ids ?? oapIds(clock);
  return {
    oap_version: "1.0",
    request_id: ids.ulid(),
    timestamp: rfc3339(clock()),
    principal_did: call.principal_did,
    agent_did: call.agent_did,
    ...(call.scope_id === undefined ? {} : { scope_id: call.scope_id }),
    action: action.id,
    input: structuredClone(input) as JsonValue,
    context: { ...call.context },
    ...(call.consent_receipt === undefined ? {} : { consent_receipt: call.consent_receipt }),
    ...(call.subscription_token === undefined ? {} : { subscription_token: call.subscription_token }),
  };
}

/**
 * An OAP response envelope (or an error thrown while invoking) → `CallToolResult`. Output
 * objects become `structuredContent` plus their JSON text; errors become `isError: true` with
 * `code: message`; an accepted async task is a non-error result carrying the task descriptor.
 */
export function oapResponseToMcpResult(response: unknown): McpCallResult {
  if (response instanceof OapError) return { content: [{ type: "text", text: `${response.wire}: ${response.message}` }], isError: true, _meta: { "oap/error": response.toErrorObject() as unknown as JsonObject } };
  if (!isJsonObject(response as JsonValue)) return { content: [{ type: "text", text: "internal_error: not an OAP response" }], isError: true };
  const r = response as JsonObject;
  const receipt: JsonObject = isJsonObject(r["receipt"] as JsonValue) ? { [MCP_META_RECEIPT]: r["receipt"] as JsonObject } : {};
  if (r["status"] === "error") {
    const e = isJsonObject(r["error"] as JsonValue) ? (r["error"] as JsonObject) : {};
    return { content: [{ type: "text", text: `${String(e["code"] ?? "internal_error")}: ${String(e["message"] ?? "")}` }], isError: true, _meta: { "oap/error": e, ...receipt } };
  }
  const output = r["output"];
  const text = output === undefined ? "" : typeof output === "string" ? output : JSON.stringify(output);
  return {
    content: [{ type: "text", text }],
    ...(isJsonObject(output as JsonValue) ? { structuredContent: output as JsonObject } : {}),
    isError: false,
    _meta: { "oap/status": String(r["status"]), ...receipt },
  };
}

/** Defaults for imported actions. */
export interface McpImportDefaults {
  readonly version?: string;
  readonly cost?: OapAction["cost"];
  readonly rate_limit?: OapAction["rate_limit"];
  readonly risk_class?: OapAction["risk_class"];
  readonly idempotency_window_seconds?: number;
}

/** An MCP tool as an OAP action (conservative defaults; see the module comment). */
export function mcpToolToOapAction(tool: McpTool, defaults: McpImportDefaults = {}, taken: ReadonlySet<string> = new Set()): OapAction {
  const a = tool.annotations ?? {};
  const side: OapAction["side_effects"] = a.readOnlyHint === true ? "read" : a.destructiveHint !== false ? "irreversible" : a.openWorldHint !== false ? "external" : "write";
  const description = (tool.description ?? "").trim();
  const summary = (tool.title ?? a.title ?? description.split(/(?<=[.!?])\s/u)[0] ?? "").trim().slice(0, 240) || tool.name.slice(0, 240);
  const input_schema = isJsonObject(tool.inputSchema as JsonValue) ? structuredClone(tool.inputSchema) : { type: "object" };
  const output_schema = tool.outputSchema === undefined ? { type: "object" } : structuredClone(tool.outputSchema);
  const idempotent = a.idempotentHint === true;
  return {
    id: actionIdFor(tool.name, taken),
    version: defaults.version ?? "1.0.0",
    summary,
    description_for_agents: (description.length > 0 ? description : `MCP tool ${tool.name}.`).slice(0, 4000),
    input_schema,
    output_schema,
    side_effects: side,
    idempotent,
    ...(idempotent ? { idempotency_window_seconds: defaults.idempotency_window_seconds ?? 300 } : {}),
    cost: defaults.cost ?? { type: "free" },
    requires_consent: false,
    ...(defaults.risk_class === undefined ? {} : { risk_class: defaults.risk_class }),
    rate_limit: defaults.rate_limit ?? { rpm: 60, concurrent: 1 },
    data_classes_in: [],
    data_classes_out: [],
    examples: [{ input: minimalInstance(input_schema), output: minimalInstance(output_schema), description: "Synthetic example generated from the MCP schemas (MCP tools carry no examples)." }],
  } as OapAction;
}

/** An MCP `tools/list` (or its `tools` array) as an L0 OAP manifest. */
export function mcpToolsToOapManifest(tools: { readonly tools: readonly McpTool[] } | readonly McpTool[], input: L0ManifestInput, defaults: McpImportDefaults = {}): OapManifest {
  const list = Array.isArray(tools) ? (tools as readonly McpTool[]) : (tools as { tools: readonly McpTool[] }).tools;
  if (list.length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "an OAP manifest needs at least one action");
  const taken = new Set<string>();
  const actions = list.map((t) => {
    const a = mcpToolToOapAction(t, defaults, taken);
    taken.add(a.id);
    return a;
  });
  return l0Manifest(input, actions);
}
