/**
 * The typed way to write an OAP Tool: `defineTool({manifest, actions: {id: handler}})`. The
 * manifest is the §6 document without `endpoints` (the server writes them from where it
 * listens) and, optionally, without the Tool and publisher DIDs (filled in from the server's
 * identity); every manifest action needs exactly one handler.
 *
 * A handler gets the validated `input` and an {@link ActionContext} and returns the output
 * (validated against `output_schema` before anything is signed), or {@link actionResult} with
 * response metadata. It may report progress (streamed as `oap.progress` over SSE / Stream),
 * honour `ctx.signal` (task canceled, call timed out) and, when running as a task, ask for more
 * input (`ctx.requestInput`, §9.2 `awaiting_input`).
 *
 * @module
 */
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import type { JsonObject, JsonValue } from "../../json/types.js";
import type { AuthIdentity } from "../auth.js";
import { OapError } from "../errors.js";
import type { InputRequest } from "../tasks/manager.js";
import type { TraceContext } from "./trace.js";
import type { ToolCommerceOptions, ToolGovernanceOptions } from "./planes.js";

/** A manifest as a tool definition gives it (endpoints and DIDs are filled in by the server). */
export type OapManifestInput = Omit<OapManifest, "endpoints" | "tool"> & {
  readonly endpoints?: Partial<OapManifest["endpoints"]>;
  readonly tool: Omit<OapManifest["tool"], "did" | "publisher"> & {
    readonly did?: string;
    readonly publisher: Omit<OapManifest["tool"]["publisher"], "did"> & { readonly did?: string };
  };
};

/** What a handler sees besides its input. */
export interface ActionContext {
  readonly requestId: string;
  /** The envelope's `timestamp` (the caller's "now", RFC 3339). */
  readonly requestTimestamp: string;
  readonly action: string;
  readonly principalDid: string;
  readonly agentDid: string;
  readonly scopeId?: string;
  /** The envelope's §24.1 context. */
  readonly context: OapRequestEnvelope["context"];
  /** The locale to write human-readable text in (negotiated, §24.1). */
  readonly locale: string;
  /** Who called (§10). */
  readonly identity: AuthIdentity;
  /** Aborted when the call times out (max_call_duration_ms), the client goes away or the task is canceled. */
  readonly signal: AbortSignal;
  /** The Tool's span of the caller's trace: pass `traceparent` downstream. */
  readonly trace: TraceContext;
  readonly traceparent: string;
  /** Set when the action runs as a §9.2 task. */
  readonly taskId?: string;
  /** Reports progress: `oap.progress` events over SSE / gRPC Stream; ignored otherwise. */
  progress(data: JsonValue): void;
  /** Tasks only: moves the task to `awaiting_input` and resolves with the provided input. */
  requestInput(request: InputRequest): Promise<JsonValue>;
  /** A log line carrying the request's trace. */
  log(message: string, data?: JsonObject): void;
}

/** Response metadata a handler can attach to its output. */
export interface ActionResultMeta {
  /** Response and receipt `model_version`. */
  readonly modelVersion?: string;
  /** The price of this call (defaults to a per_call action's declared cost). */
  readonly cost?: { readonly amount: string; readonly currency: string };
  /** Response `warnings`. */
  readonly warnings?: readonly string[];
  /** Receipt `provenance_tags_out` (§17.2). */
  readonly provenanceTagsOut?: readonly string[];
}

/** An output with response metadata (see {@link actionResult}). */
export class ActionResult<O = JsonValue> {
  constructor(
    readonly output: O,
    readonly meta: ActionResultMeta = {},
  ) {}
}

/** Wraps a handler's output with response metadata. */
export function actionResult<O>(output: O, meta: ActionResultMeta = {}): ActionResult<O> {
  return new ActionResult(output, meta);
}

/** An action handler. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ActionHandler<I = any, O = any> = (input: I, ctx: ActionContext) => O | ActionResult<O> | Promise<O | ActionResult<O>>;

/** A handler with options. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ActionSpec<I = any, O = any> {
  readonly handler: ActionHandler<I, O>;
  /**
   * `async`: `invoke` always answers 202 with a §9.2 task. `sync` (default): the call is
   * answered in the response, unless the caller sends `Prefer: respond-async`.
   */
  readonly mode?: "sync" | "async";
  /** Estimate for the task descriptor's `estimated_completion` (seconds after submission). */
  readonly estimatedSeconds?: number;
}

/** A handler or a handler with options. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ActionImpl<I = any, O = any> = ActionHandler<I, O> | ActionSpec<I, O>;

/** Principal data the Tool keeps outside agentwire's stores (§17.3 deletion, export). */
export interface PrincipalDataHooks {
  /** Everything kept about the Principal (included in `data_export`). */
  export?(principalDid: string): JsonValue | Promise<JsonValue>;
  /** Erase it; return the data classes erased (listed in the Deletion Receipt's scope). */
  delete?(principalDid: string): { readonly data_classes?: readonly string[] } | void | Promise<{ readonly data_classes?: readonly string[] } | void>;
}

/** What {@link defineTool} takes. */
export interface ToolDefinitionInput<A extends Readonly<Record<string, ActionImpl>>> {
  readonly manifest: OapManifestInput;
  readonly actions: A;
  readonly data?: PrincipalDataHooks;
  /** Locales human-readable output is available in (§24.1); absent: any locale is accepted as is. */
  readonly locales?: readonly string[];
  /** Governance plane (policy engine, review, CCC, special categories; planes.ts). Off when absent. */
  readonly governance?: ToolGovernanceOptions;
  /** Commerce plane (subscriptions, wallet charging; planes.ts). Off when absent. */
  readonly commerce?: ToolCommerceOptions;
}

/** A defined tool, ready to be served ({@link OapToolDefinition.actions} normalised). */
export interface OapToolDefinition {
  readonly manifest: OapManifestInput;
  readonly actions: ReadonlyMap<string, ActionSpec>;
  readonly data?: PrincipalDataHooks;
  readonly locales?: readonly string[];
  readonly governance?: ToolGovernanceOptions;
  readonly commerce?: ToolCommerceOptions;
}

/**
 * Defines a Tool: checks that every manifest action has a handler and every handler an action
 * (ERR_OAP_ACTION_INVALID otherwise). The manifest itself is validated against the schema when
 * a server is created for it (once its endpoints are known).
 */
export function defineTool<A extends Readonly<Record<string, ActionImpl>>>(definition: ToolDefinitionInput<A>): OapToolDefinition {
  const ids = definition.manifest.actions.map((a) => a.id);
  const handlers = Object.keys(definition.actions);
  const missing = ids.filter((id) => !handlers.includes(id));
  const extra = handlers.filter((h) => !ids.includes(h));
  if (missing.length > 0 || extra.length > 0) {
    throw new OapError(
      "ERR_OAP_ACTION_INVALID",
      `tool ${definition.manifest.tool.id}: ${missing.length > 0 ? `no handler for ${missing.join(", ")}` : ""}${missing.length > 0 && extra.length > 0 ? "; " : ""}${extra.length > 0 ? `no manifest action for ${extra.join(", ")}` : ""}`,
    );
  }
  const actions = new Map<string, ActionSpec>();
  for (const [id, impl] of Object.entries(definition.actions)) actions.set(id, typeof impl === "function" ? { handler: impl } : impl);
  return {
    manifest: definition.manifest,
    actions,
    ...(definition.data === undefined ? {} : { data: definition.data }),
    ...(definition.locales === undefined ? {} : { locales: definition.locales }),
    ...(definition.governance === undefined ? {} : { governance: definition.governance }),
    ...(definition.commerce === undefined ? {} : { commerce: definition.commerce }),
  };
}
