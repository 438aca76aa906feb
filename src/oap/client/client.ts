/**
 * The typed OAP client: `createOapClient(manifestUrl, options)` discovers the Tool (§6.1
 * manifest, validated against the schema; action schemas compiled), then for every call signs
 * the request envelope as the agent (§8.2), sends it over HTTPS (with the §8.4 headers) or over
 * `oap.v1.ToolService` (Connect, gRPC-Web or gRPC), and verifies what comes back:
 *
 * - the response envelope: schema, `request_id`, the Tool's signature (key from its DID
 *   document), the output against the action's output_schema and §7.1;
 * - the receipt: the Tool's signature, `receipt_id` = the response's, Tool / Principal / agent /
 *   action, `input_hash` and `output_hash` of what was sent and received;
 * - the Principal's receipt chain: with Principal credentials (API key, or the Principal's key
 *   for RFC 9421 signatures) the client keeps the chain, extends it with every new receipt and
 *   re-reads the audit endpoint when it missed some (receipts of other agents), verifying each
 *   link from its last known head (a fork or a rewritten receipt is ERR_OAP_RECEIPT_CHAIN).
 *
 * Errors are thrown as OapError `ERR_OAP_REMOTE` with the peer's Appendix B code (`wire`).
 *
 * @module
 */
import { createClient, ConnectError, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import { CancelTaskRequestSchema, ProvideInputRequestSchema } from "../../../gen/oap/v1/task_pb.js";
import { ToolService } from "../../../gen/oap/v1/tool_service_pb.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import { parseJsonStrict } from "../../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { DidResolver } from "../../trust/did/resolver.js";
import { ActionCatalog, type CompiledAction } from "../actions.js";
import { receiptHash } from "../anchors.js";
import { assertOapDocument } from "../documents.js";
import { errorObjectOfConnectError, OapError, remoteError } from "../errors.js";
import { oapMessageFromJson, requestEnvelopeFromJson, responseEnvelopeToJson, streamEventToJson, taskToJson } from "../proto-json.js";
import { verifyReceiptChain } from "../receipts.js";
import { didKeyResolver, oapRequestHeaders, signDocument, signRequest, verifyReceiptSignatures, verifyResponse, type OapKeyResolver, type OapSigner } from "../sign.js";
import { Channel } from "../tasks/channel.js";
import { isTerminalTaskStatus } from "../tasks/lifecycle.js";
import type { TaskJson } from "../tasks/store.js";
import { clockMs, didOf, jcsDigest, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { signCallerRequest } from "../server/caller-auth.js";
import { readSse } from "./sse.js";

/** How to talk to the Tool. */
export type OapClientTransport = "https" | "connect" | "grpc-web" | "grpc";

/** Options of {@link createOapClient}. */
export interface OapClientOptions {
  /** The agent: its DID and the key envelopes are signed with (`kid` a DID URL of `did`). */
  readonly agent: { readonly did: string; readonly signer: OapSigner | PrivateKeyRecord };
  /**
   * The Principal the agent acts for; with credentials (an API key bound to it, or its own key)
   * the client also reads the audit endpoint and keeps the Principal's receipt chain.
   */
  readonly principal: string | { readonly did: string; readonly apiKey?: string; readonly signer?: OapSigner | PrivateKeyRecord };
  /** §24.1 context of every envelope. */
  readonly context: OapRequestEnvelope["context"];
  /** `Authorization` header value of invocations (e.g. "Bearer oap_apikey_…"), or a function (per call: Trust Tokens). */
  readonly authorization?: string | ((action: string) => string | undefined | Promise<string | undefined>);
  /** Default "https". */
  readonly transport?: OapClientTransport;
  /** Base URL of gRPC over HTTP/2 (transport "grpc"); Connect and gRPC-Web use the manifest's origin. */
  readonly grpcUrl?: string;
  /** Resolves the Tool's keys (default: DID resolution of its did:web / did:key). */
  readonly keys?: OapKeyResolver;
  /** Plain http for did:web:localhost (default: when the manifest URL is http on loopback). */
  readonly allowInsecureLocalhost?: boolean;
  /** Validate the manifest against oap-manifest (default true). */
  readonly validateManifest?: boolean;
  readonly fetch?: typeof fetch;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** A verified result. */
export interface OapResult<O = JsonValue> {
  readonly output: O;
  readonly requestId: string;
  /** The signed response envelope. */
  readonly response: JsonObject;
  /** The verified receipt. */
  readonly receipt: JsonObject;
  readonly warnings: readonly string[];
}

/** Per-call options. */
export interface CallOptions {
  /** `OAP-Idempotency-Key` (required by idempotent actions; default: a fresh ULID for them). */
  readonly idempotencyKey?: string;
  readonly scopeId?: string;
  readonly consentReceipt?: string;
  /** Ask for a §9.2 task (`Prefer: respond-async`). */
  readonly async?: boolean;
  /** A W3C traceparent to continue (default: a new trace). */
  readonly traceparent?: string;
  readonly signal?: AbortSignal;
}

/** A §9.2 task of the Tool. */
export interface OapTaskHandle<O = JsonValue> {
  readonly id: string;
  readonly requestId: string;
  readonly action: string;
  /** The task as first answered (the 202 descriptor). */
  readonly initial: TaskJson | JsonObject;
  get(): Promise<TaskJson>;
  /** The task after each transition, until it is terminal. */
  watch(afterSeq?: number): AsyncIterable<TaskJson>;
  cancel(reason?: string): Promise<TaskJson>;
  provideInput(input: JsonValue): Promise<TaskJson>;
  /** Waits for the end: the verified result when completed, the remote error otherwise. */
  result(): Promise<OapResult<O>>;
}

/** The outcome of {@link OapClient.invoke}. */
export type OapInvocation<O = JsonValue> = { readonly kind: "result"; readonly result: OapResult<O> } | { readonly kind: "task"; readonly task: OapTaskHandle<O> };

/** A streamed call. */
export interface OapStream<O = JsonValue> {
  /** The verified events (`oap.progress`…, then `oap.complete` / `oap.error`). */
  readonly events: AsyncIterable<JsonObject>;
  /** The verified final result. */
  readonly result: Promise<OapResult<O>>;
}

/** A client bound to one Tool. */
export interface OapClient {
  readonly manifest: OapManifest;
  readonly toolDid: string;
  readonly transport: OapClientTransport;
  /** Invokes: a verified result, or the task the Tool created. */
  invoke<O = JsonValue>(action: string, input: JsonValue, options?: CallOptions): Promise<OapInvocation<O>>;
  /** Invokes and, when the Tool answers with a task, waits for it. */
  call<O = JsonValue>(action: string, input: JsonValue, options?: CallOptions): Promise<OapResult<O>>;
  /** §9.1 streaming invocation. */
  stream<O = JsonValue>(action: string, input: JsonValue, options?: CallOptions): OapStream<O>;
  /** A handle on an existing task. */
  task<O = JsonValue>(taskId: string): OapTaskHandle<O>;
  /** The verified receipts of this client's Principal, in chain order (with Principal credentials: the whole chain). */
  receipts(): readonly JsonObject[];
  /** Reads new receipts from the audit endpoint and verifies them against the kept chain. */
  syncReceipts(): Promise<readonly JsonObject[]>;
  /** §14 discover. */
  discover(intent: string, constraints?: JsonObject): Promise<JsonObject>;
  close(): void;
}

function toSigner(s: OapSigner | PrivateKeyRecord): OapSigner {
  return s instanceof PrivateKeyRecord ? { key: s } : s;
}

function isLoopbackHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** Discovers the Tool at `manifestUrl` and returns a client (see the module comment). */
export async function createOapClient(manifestUrl: string, options: OapClientOptions): Promise<OapClient> {
  const doFetch = options.fetch ?? fetch;
  const res = await doFetch(manifestUrl, { headers: { accept: "application/json" } });
  if (!res.ok) throw new OapError("ERR_OAP_UPSTREAM", `GET ${manifestUrl}: HTTP ${res.status}`);
  let manifest: unknown;
  try {
    manifest = parseJsonStrict(await res.text());
  } catch (cause) {
    throw new OapError("ERR_OAP_UPSTREAM", `${manifestUrl} is not JSON`, { cause });
  }
  if (options.validateManifest !== false) assertOapDocument("oap-manifest", manifest);
  if (!isJsonObject(manifest) || !isJsonObject(manifest["tool"])) throw new OapError("ERR_OAP_UPSTREAM", "not an OAP manifest");
  return new Client_(manifestUrl, manifest as unknown as OapManifest, options);
}

class Client_ implements OapClient {
  readonly manifest: OapManifest;
  readonly toolDid: string;
  readonly transport: OapClientTransport;
  readonly #o: OapClientOptions;
  readonly #url: string;
  readonly #catalog: ActionCatalog;
  readonly #keys: OapKeyResolver;
  readonly #agent: OapSigner;
  readonly #principal: { readonly did: string; readonly apiKey?: string; readonly signer?: OapSigner };
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #fetch: typeof fetch;
  readonly #rpc: Client<typeof ToolService> | undefined;
  #chain: JsonObject[] = [];
  #head: string | undefined;
  #synced = false;
  readonly #loose: JsonObject[] = [];

  constructor(url: string, manifest: OapManifest, options: OapClientOptions) {
    this.#url = url;
    this.manifest = manifest;
    this.toolDid = manifest.tool.did;
    this.#o = options;
    this.transport = options.transport ?? "https";
    this.#catalog = new ActionCatalog(manifest);
    this.#keys = options.keys ?? didKeyResolver(new DidResolver({ allowInsecureLocalhost: options.allowInsecureLocalhost ?? isLoopbackHttp(url) }));
    this.#agent = toSigner(options.agent.signer);
    if (didOf(this.#agent.kid ?? this.#agent.key.kid) !== options.agent.did) throw new OapError("ERR_OAP_SIGNING", `the agent key ${this.#agent.kid ?? this.#agent.key.kid} is not a DID URL of ${options.agent.did}`);
    const p = options.principal;
    this.#principal = typeof p === "string" ? { did: p } : { did: p.did, ...(p.apiKey === undefined ? {} : { apiKey: p.apiKey }), ...(p.signer === undefined ? {} : { signer: toSigner(p.signer) }) };
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#fetch = options.fetch ?? fetch;
    if (this.transport !== "https") {
      const origin = new URL(url).origin;
      const sign: Interceptor = (next) => async (req) => {
        const h = signCallerRequest({ method: req.requestMethod, url: req.url }, this.#agent, { clock: this.#clock, random: this.#random });
        for (const k of ["signature-input", "signature"]) req.header.set(k, h[k] as string);
        req.header.set("oap-tool", this.manifest.tool.id);
        return next(req);
      };
      let transport: Transport;
      if (this.transport === "grpc") {
        if (options.grpcUrl === undefined) throw new OapError("ERR_OAP_INTERNAL", "transport grpc needs grpcUrl");
        transport = createGrpcTransport({ baseUrl: options.grpcUrl, interceptors: [sign] });
      } else if (this.transport === "grpc-web") {
        transport = createGrpcWebTransport({ baseUrl: origin, httpVersion: "1.1", interceptors: [sign] });
      } else {
        transport = createConnectTransport({ baseUrl: origin, httpVersion: "1.1", interceptors: [sign] });
      }
      this.#rpc = createClient(ToolService, transport);
    }
  }

  #endpoint(name: keyof OapManifest["endpoints"]): string {
    const ep = this.manifest.endpoints[name];
    if (ep === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `the Tool declares no ${name} endpoint`);
    return new URL(ep, this.#url).href;
  }

  #now(): string {
    return rfc3339(this.#clock());
  }

  #ulid(): string {
    return oapUlid(clockMs(this.#clock), this.#random);
  }

  #action(id: string): CompiledAction {
    return this.#catalog.require(id);
  }

  #envelope(compiled: CompiledAction, input: JsonValue, options: CallOptions): { env: JsonObject; idempotencyKey?: string } {
    compiled.assertInput(input);
    const idempotencyKey = options.idempotencyKey ?? (compiled.action.idempotent ? this.#ulid() : undefined);
    const env: JsonObject = {
      oap_version: "1.0",
      request_id: this.#ulid(),
      timestamp: this.#now(),
      principal_did: this.#principal.did,
      agent_did: this.#o.agent.did,
      ...(options.scopeId === undefined ? {} : { scope_id: options.scopeId }),
      action: compiled.id,
      input,
      context: { ...(this.#o.context as unknown as JsonObject) },
      ...(options.consentReceipt === undefined ? {} : { consent_receipt: options.consentReceipt }),
      ...(idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey }),
    };
    return { env: signRequest(env, this.#agent) as unknown as JsonObject, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) };
  }

  async #headers(action: string, env: JsonObject, idempotencyKey: string | undefined, options: CallOptions): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      ...oapRequestHeaders(env),
      "oap-trace": options.traceparent ?? `00-${Buffer.from(this.#random(16)).toString("hex")}-${Buffer.from(this.#random(8)).toString("hex")}-01`,
    };
    if (idempotencyKey !== undefined) h["oap-idempotency-key"] = idempotencyKey;
    if (options.async === true) h["prefer"] = "respond-async";
    const auth = typeof this.#o.authorization === "function" ? await this.#o.authorization(action) : this.#o.authorization;
    if (auth !== undefined) h["authorization"] = auth;
    return h;
  }

  // -------------------------------------------------------------------------------------------
  // verification
  // -------------------------------------------------------------------------------------------

  async #checkEnvelope(body: unknown, requestId: string, status?: number): Promise<JsonObject> {
    await verifyResponse(body, this.#keys, { toolDid: this.toolDid, requestId, now: this.#clock });
    const env = body as JsonObject;
    if (env["status"] === "error") throw remoteError(env["error"], status);
    return env;
  }

  async #checkReceipt(receipt: JsonObject, expect: { id: string; action: string; input: JsonValue; output?: JsonValue }): Promise<void> {
    assertOapDocument("oap-receipt", receipt);
    await verifyReceiptSignatures(receipt, this.#keys, { requiredSigners: [this.toolDid], now: this.#clock });
    const bad = (what: string): never => {
      throw new OapError("ERR_OAP_SIGNATURE_INVALID", `receipt ${expect.id}: ${what}`, { details: { receipt_id: expect.id } });
    };
    if (receipt["receipt_id"] !== expect.id) bad("receipt_id differs from the response");
    if (receipt["tool_did"] !== this.toolDid) bad("another tool_did");
    if (receipt["principal_did"] !== this.#principal.did) bad("another principal_did");
    if (receipt["agent_did"] !== this.#o.agent.did) bad("another agent_did");
    if (receipt["action_id"] !== expect.action) bad("another action_id");
    if (receipt["input_hash"] !== jcsDigest(expect.input)) bad("input_hash does not match the input sent");
    if (expect.output !== undefined && receipt["output_hash"] !== jcsDigest(expect.output)) bad("output_hash does not match the output received");
  }

  /** Verifies a final response (and its receipt, fetched when not given) and records the receipt. */
  async #result<O>(compiled: CompiledAction, input: JsonValue, requestId: string, body: unknown, receipt: JsonObject | undefined, status?: number): Promise<OapResult<O>> {
    const env = await this.#checkEnvelope(body, requestId, status);
    const output = env["output"] as JsonValue;
    compiled.assertOutput(output);
    const ref = env["receipt"];
    if (!isJsonObject(ref) || typeof ref["id"] !== "string") throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the response cites no receipt");
    const id = ref["id"];
    const r = receipt ?? (await this.#fetchReceipt(id));
    await this.#checkReceipt(r, { id, action: compiled.id, input, output });
    await this.#remember(r);
    return { output: output as O, requestId, response: env, receipt: r, warnings: Array.isArray(env["warnings"]) ? (env["warnings"] as string[]) : [] };
  }

  get #hasPrincipalCredentials(): boolean {
    return this.#principal.apiKey !== undefined || this.#principal.signer !== undefined;
  }

  async #principalGet(url: string): Promise<JsonObject> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#principal.apiKey !== undefined) headers["authorization"] = `Bearer ${this.#principal.apiKey}`;
    const signed = this.#principal.signer !== undefined && this.#principal.apiKey === undefined ? signCallerRequest({ method: "GET", url, headers }, this.#principal.signer, { clock: this.#clock, random: this.#random }) : headers;
    return this.#json(await this.#fetch(url, { headers: signed }));
  }

  async #agentRequest(method: string, url: string, body?: JsonObject): Promise<Response> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = signCallerRequest({ method, url, headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" }, ...(text === undefined ? {} : { body: text }) }, this.#agent, {
      clock: this.#clock,
      random: this.#random,
    });
    return this.#fetch(url, { method, headers, ...(text === undefined ? {} : { body: text }) });
  }

  async #json(res: Response): Promise<JsonObject> {
    const text = await res.text();
    let body: unknown;
    try {
      body = parseJsonStrict(text);
    } catch {
      throw new OapError("ERR_OAP_REMOTE", `HTTP ${res.status}: not JSON`, { wire: res.status >= 500 ? "internal_error" : "invalid_input" });
    }
    if (!res.ok) {
      if (isJsonObject(body) && isJsonObject(body["signature"])) await verifyResponse(body, this.#keys, { toolDid: this.toolDid, validateSchema: false, now: this.#clock }).catch(() => undefined);
      throw remoteError(isJsonObject(body) ? body["error"] : undefined, res.status);
    }
    if (!isJsonObject(body)) throw new OapError("ERR_OAP_REMOTE", "expected a JSON object", { wire: "internal_error" });
    return body;
  }

  async #fetchReceipt(id: string): Promise<JsonObject> {
    if (this.#hasPrincipalCredentials) {
      await this.syncReceipts();
      const hit = this.#chain.find((r) => r["receipt_id"] === id);
      if (hit !== undefined) return hit;
    }
    const url = new URL(this.#endpoint("audit"));
    url.searchParams.set("receipt_id", id);
    const body = await this.#json(await this.#agentRequest("GET", url.href));
    const list = body["receipts"];
    const r = Array.isArray(list) ? list.find((x) => isJsonObject(x) && x["receipt_id"] === id) : undefined;
    if (!isJsonObject(r)) throw new OapError("ERR_OAP_NOT_FOUND", `receipt ${id} not found at the audit endpoint`);
    return r;
  }

  async #remember(receipt: JsonObject): Promise<void> {
    const id = receipt["receipt_id"];
    if (this.#chain.some((r) => r["receipt_id"] === id) || this.#loose.some((r) => r["receipt_id"] === id)) return;
    if (this.#synced && this.#head !== undefined && receipt["previous_receipt_hash"] === this.#head) {
      const report = await verifyReceiptChain([receipt], { keys: this.#keys, startHashes: { [this.#principal.did]: this.#head } });
      if (!report.ok) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `receipt ${String(id)} does not extend the chain: ${report.firstBroken?.reason ?? ""}`);
      this.#chain.push(receipt);
      this.#head = receiptHash(receipt);
      return;
    }
    if (this.#hasPrincipalCredentials) {
      await this.syncReceipts();
      if (this.#chain.some((r) => r["receipt_id"] === id)) return;
      throw new OapError("ERR_OAP_RECEIPT_CHAIN", `receipt ${String(id)} is not in the Principal's chain at the audit endpoint`);
    }
    this.#loose.push(receipt);
  }

  receipts(): readonly JsonObject[] {
    return this.#hasPrincipalCredentials ? [...this.#chain] : [...this.#loose];
  }

  async syncReceipts(): Promise<readonly JsonObject[]> {
    if (!this.#hasPrincipalCredentials) throw new OapError("ERR_OAP_AUTH_REQUIRED", "reading the audit log needs Principal credentials (apiKey or signer)");
    for (;;) {
      const url = new URL(this.#endpoint("audit"));
      url.searchParams.set("principal_did", this.#principal.did);
      url.searchParams.set("offset", String(this.#chain.length));
      url.searchParams.set("limit", "1000");
      const body = await this.#principalGet(url.href);
      const fresh = Array.isArray(body["receipts"]) ? (body["receipts"] as JsonValue[]) : [];
      if (fresh.length > 0) {
        const report = await verifyReceiptChain(fresh, { keys: this.#keys, ...(this.#head === undefined ? {} : { startHashes: { [this.#principal.did]: this.#head } }) });
        if (!report.ok) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `the Principal's receipt chain does not verify: ${report.firstBroken?.reason ?? ""}`, { details: { ...(report.firstBroken as unknown as JsonObject) } });
        if (report.principals.some((p) => p.principal_did !== this.#principal.did)) throw new OapError("ERR_OAP_RECEIPT_CHAIN", "the audit answer holds another Principal's receipts");
        this.#chain.push(...(fresh as JsonObject[]));
        this.#head = report.principals[0]?.head ?? this.#head;
      }
      this.#synced = true;
      if (body["next_offset"] === undefined || fresh.length === 0) return [...this.#chain];
    }
  }

  // -------------------------------------------------------------------------------------------
  // calls
  // -------------------------------------------------------------------------------------------

  async invoke<O = JsonValue>(action: string, input: JsonValue, options: CallOptions = {}): Promise<OapInvocation<O>> {
    const compiled = this.#action(action);
    const { env, idempotencyKey } = this.#envelope(compiled, input, options);
    const headers = await this.#headers(action, env, idempotencyKey, options);
    const requestId = String(env["request_id"]);
    if (this.#rpc !== undefined) {
      let body: JsonObject;
      try {
        body = responseEnvelopeToJson(await this.#rpc.invoke(requestEnvelopeFromJson(env), { headers, ...(options.signal === undefined ? {} : { signal: options.signal }) }));
      } catch (e) {
        if (e instanceof ConnectError) throw remoteError(errorObjectOfConnectError(e));
        throw e;
      }
      if (body["status"] === "accepted") {
        await this.#checkEnvelope(body, requestId);
        const d = body["output"] as JsonObject;
        return { kind: "task", task: this.#handle<O>(String(d["task_id"]), requestId, compiled, input, d) };
      }
      return { kind: "result", result: await this.#result<O>(compiled, input, requestId, body, undefined) };
    }
    const res = await this.#fetch(this.#endpoint("invoke"), {
      method: "POST",
      headers: { "content-type": "application/oap+json", accept: "application/oap+json", ...headers },
      body: JSON.stringify(env),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = parseJsonStrict(text);
    } catch {
      throw new OapError("ERR_OAP_REMOTE", `HTTP ${res.status}: the answer is not JSON`, { wire: res.status >= 500 ? "internal_error" : "invalid_input" });
    }
    if (res.headers.get("oap-request-id") !== requestId) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "OAP-Request-Id of the answer differs from the request");
    if (res.status === 202) {
      if (!isJsonObject(body) || typeof body["task_id"] !== "string") throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a 202 answer must carry a task descriptor");
      if (body["request_id"] !== undefined && body["request_id"] !== requestId) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "the task belongs to another request");
      return { kind: "task", task: this.#handle<O>(body["task_id"], requestId, compiled, input, body) };
    }
    if (isJsonObject(body) && res.headers.get("oap-signature") !== (isJsonObject(body["signature"]) ? body["signature"]["value"] : undefined)) {
      throw new OapError("ERR_OAP_SIGNATURE_INVALID", "the OAP-Signature header differs from the response signature");
    }
    return { kind: "result", result: await this.#result<O>(compiled, input, requestId, body, undefined, res.status) };
  }

  async call<O = JsonValue>(action: string, input: JsonValue, options: CallOptions = {}): Promise<OapResult<O>> {
    const r = await this.invoke<O>(action, input, options);
    return r.kind === "result" ? r.result : r.task.result();
  }

  stream<O = JsonValue>(action: string, input: JsonValue, options: CallOptions = {}): OapStream<O> {
    const events = new Channel<JsonObject>();
    const result = (async (): Promise<OapResult<O>> => {
      try {
        const compiled = this.#action(action);
        const { env, idempotencyKey } = this.#envelope(compiled, input, options);
        const headers = await this.#headers(action, env, idempotencyKey, options);
        const requestId = String(env["request_id"]);
        let expected = 1;
        const take = async (ev: JsonObject, sseId?: string): Promise<OapResult<O> | undefined> => {
          if (ev["seq"] !== expected || (sseId !== undefined && sseId !== String(expected))) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `stream event seq ${String(ev["seq"])} (id ${String(sseId)}), expected ${expected}`);
          expected++;
          if (ev["event"] === "oap.progress") {
            events.push(ev);
            return undefined;
          }
          const receipt = isJsonObject(ev["receipt"]) ? ev["receipt"] : undefined;
          if (ev["event"] === "oap.complete") {
            const r = await this.#result<O>(compiled, input, requestId, ev["response"], receipt);
            events.push(ev);
            return r;
          }
          if (ev["event"] === "oap.error") {
            await verifyResponse(ev["response"], this.#keys, { toolDid: this.toolDid, requestId, now: this.#clock });
            if (receipt !== undefined) {
              await this.#checkReceipt(receipt, { id: String(receipt["receipt_id"]), action: compiled.id, input });
              await this.#remember(receipt);
            }
            events.push(ev);
            throw remoteError((ev["response"] as JsonObject)["error"]);
          }
          throw new OapError("ERR_OAP_ENVELOPE_INVALID", `unknown stream event ${String(ev["event"])}`);
        };
        if (this.#rpc !== undefined) {
          try {
            for await (const m of this.#rpc.stream(requestEnvelopeFromJson(env), { headers, ...(options.signal === undefined ? {} : { signal: options.signal }) })) {
              const done = await take(streamEventToJson(m));
              if (done !== undefined) return done;
            }
          } catch (e) {
            if (e instanceof ConnectError) throw remoteError(errorObjectOfConnectError(e));
            throw e;
          }
          throw new OapError("ERR_OAP_REMOTE", "the stream ended without oap.complete", { wire: "upstream_error" });
        }
        const res = await this.#fetch(this.#endpoint("stream"), {
          method: "POST",
          headers: { "content-type": "application/oap+json", accept: "text/event-stream", ...headers },
          body: JSON.stringify(env),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
          const body = await res.json().catch(() => undefined);
          if (isJsonObject(body)) await verifyResponse(body, this.#keys, { toolDid: this.toolDid, validateSchema: false, now: this.#clock }).catch(() => undefined);
          throw remoteError(isJsonObject(body) ? body["error"] : undefined, res.status);
        }
        if (res.body === null) throw new OapError("ERR_OAP_REMOTE", "empty stream", { wire: "upstream_error" });
        for await (const e of readSse(res.body)) {
          let ev: unknown;
          try {
            ev = parseJsonStrict(e.data);
          } catch {
            throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a stream event's data is not JSON");
          }
          if (!isJsonObject(ev) || ev["event"] !== e.event) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "the SSE event name differs from the data's event");
          const done = await take(ev, e.id);
          if (done !== undefined) return done;
        }
        throw new OapError("ERR_OAP_REMOTE", "the stream ended without oap.complete", { wire: "upstream_error" });
      } finally {
        events.end();
      }
    })();
    result.catch(() => undefined);
    return { events, result };
  }

  // -------------------------------------------------------------------------------------------
  // tasks
  // -------------------------------------------------------------------------------------------

  task<O = JsonValue>(taskId: string): OapTaskHandle<O> {
    return this.#handle<O>(taskId, "", undefined, undefined, { task_id: taskId });
  }

  #pollUrl(taskId: string, initial: JsonObject): string {
    if (typeof initial["poll_url"] === "string") return initial["poll_url"];
    return new URL(`tasks/${taskId.slice(taskId.lastIndexOf(":") + 1)}`, this.#endpoint("invoke").replace(/invoke$/, "")).href;
  }

  #control(taskId: string, task: TaskJson | JsonObject, extra: JsonObject): JsonObject {
    return signDocument(
      {
        task_id: taskId,
        request_id: this.#ulid(),
        timestamp: this.#now(),
        principal_did: typeof task["principal_did"] === "string" ? task["principal_did"] : this.#principal.did,
        agent_did: this.#o.agent.did,
        ...extra,
      },
      this.#agent,
    ) as unknown as JsonObject;
  }

  #handle<O>(taskId: string, requestId: string, compiled: CompiledAction | undefined, input: JsonValue | undefined, initial: JsonObject): OapTaskHandle<O> {
    const poll = this.#pollUrl(taskId, initial);
    const rpc = this.#rpc;
    const get = async (): Promise<TaskJson> => {
      if (rpc !== undefined) {
        try {
          return taskToJson(await rpc.getTask({ taskId })) as unknown as TaskJson;
        } catch (e) {
          if (e instanceof ConnectError) throw remoteError(errorObjectOfConnectError(e));
          throw e;
        }
      }
      return (await this.#json(await this.#agentRequest("GET", poll))) as unknown as TaskJson;
    };
    const self = this;
    const watch = async function* (afterSeq = 0): AsyncGenerator<TaskJson> {
      if (rpc !== undefined) {
        try {
          for await (const ev of rpc.watchTask({ taskId, afterSeq })) {
            const t = ev.task === undefined ? undefined : (taskToJson(ev.task) as unknown as TaskJson);
            if (t !== undefined) yield t;
          }
        } catch (e) {
          if (e instanceof ConnectError) throw remoteError(errorObjectOfConnectError(e));
          throw e;
        }
        return;
      }
      const url = `${poll}/events${afterSeq > 0 ? `?after_seq=${afterSeq}` : ""}`;
      const res = await self.#agentRequest("GET", url);
      if (!res.ok || res.body === null) {
        await self.#json(res);
        return;
      }
      for await (const e of readSse(res.body)) {
        const ev = parseJsonStrict(e.data);
        if (isJsonObject(ev) && isJsonObject(ev["task"])) yield ev["task"] as unknown as TaskJson;
      }
    };
    const control = async (kind: "cancel" | "input", extra: JsonObject): Promise<TaskJson> => {
      const current = isJsonObject(initial) && typeof initial["principal_did"] === "string" ? initial : await get();
      const msg = this.#control(taskId, current as JsonObject, extra);
      if (rpc !== undefined) {
        try {
          const t = kind === "cancel" ? await rpc.cancelTask(oapMessageFromJson(CancelTaskRequestSchema, msg)) : await rpc.provideInput(oapMessageFromJson(ProvideInputRequestSchema, msg));
          return taskToJson(t) as unknown as TaskJson;
        } catch (e) {
          if (e instanceof ConnectError) throw remoteError(errorObjectOfConnectError(e));
          throw e;
        }
      }
      const res = await this.#fetch(`${poll}/${kind}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(msg) });
      return (await this.#json(res)) as unknown as TaskJson;
    };
    const result = async (): Promise<OapResult<O>> => {
      let last: TaskJson | undefined;
      for await (const t of watch()) {
        last = t;
        if (isTerminalTaskStatus(t.status)) break;
      }
      if (last === undefined || !isTerminalTaskStatus(last.status)) last = await get();
      if (!isTerminalTaskStatus(last.status)) throw new OapError("ERR_OAP_REMOTE", `task ${taskId} is still ${last.status}`, { wire: "timeout" });
      const c = compiled ?? this.#action(last.action);
      const rid = requestId === "" ? last.request_id : requestId;
      if (last.status === "completed") {
        if (input === undefined) throw new OapError("ERR_OAP_INTERNAL", "the input of this task is not known to this client: verify last.response yourself");
        return this.#result<O>(c, input, rid, last.response, last.receipt);
      }
      if (last.response !== undefined) {
        await verifyResponse(last.response, this.#keys, { toolDid: this.toolDid, requestId: rid, now: this.#clock });
        if (last.receipt !== undefined && input !== undefined) {
          await this.#checkReceipt(last.receipt, { id: String(last.receipt["receipt_id"]), action: c.id, input });
          await this.#remember(last.receipt);
        }
        throw remoteError(last.response["error"]);
      }
      const reason = last.transitions.at(-1)?.reason;
      throw new OapError("ERR_OAP_REMOTE", `task ${taskId} ${last.status}${reason === undefined ? "" : `: ${reason}`}`, { wire: "conflict", details: { task_id: taskId, status: last.status } });
    };
    return {
      id: taskId,
      requestId,
      action: compiled?.id ?? String(initial["action"] ?? ""),
      initial,
      get,
      watch,
      cancel: (reason) => control("cancel", reason === undefined ? {} : { reason }),
      provideInput: (value) => control("input", { input: value }),
      result,
    };
  }

  async discover(intent: string, constraints?: JsonObject): Promise<JsonObject> {
    const res = await this.#fetch(this.#endpoint("discover"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ intent, principal_did: this.#principal.did, ...(constraints === undefined ? {} : { constraints }) }),
    });
    return this.#json(res);
  }

  close(): void {
    // Connect transports hold no resources that need closing; kept for symmetry with servers.
  }
}
