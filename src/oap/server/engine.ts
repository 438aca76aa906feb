/**
 * The transport-independent OAP Tool server: one implementation behind the HTTPS binding
 * (http.ts) and the gRPC / Connect `oap.v1.ToolService` (grpc.ts).
 *
 * An invocation is admitted in part A's composition order (test/oap/s08-invocation-flow.test.ts):
 * version and §8.4 headers → `catalog.require` (404 first) → `verifyRequest` (schema, ±5 min,
 * agent signature, request_id nonce) → OAP-Signature header → `Authenticator.authorize` (§10;
 * the decision record goes to the audit log) → action policies (§27.3, §24, §7 consent) → rate
 * limit → idempotency → input schema; then it runs synchronously (response), as a stream
 * (progress events, then completion) or as a §9.2 task (202); the output is checked against its
 * schema and §7.1, a receipt is chained, signed (and anchored), and the response is signed.
 * Every refusal is a signed error envelope with the Appendix B status.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapDecisionRecord } from "../../../gen/types/oap/oap-decision-record.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import { PrivateKeyRecord, publicKeyFor } from "../../crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import type { TlogClient } from "../../trust/tlog/client.js";
import type { AsyncTransparencyLog } from "../../trust/tlog/async-log.js";
import type { TransparencyLog } from "../../trust/tlog/log.js";
import { DidResolver } from "../../trust/did/resolver.js";
import {
  ActionCatalog,
  checkConsent,
  checkCurrency,
  checkDeprecation,
  checkJurisdiction,
  effectiveRiskClass,
  negotiateLocale,
  runActionPolicies,
  supportedCurrencies,
  type CompiledAction,
} from "../actions.js";
import { Authenticator, policyDecisionRef, type ApiKeyStore, type AuthIdentity, type MtlsHook, type OAuthHook } from "../auth.js";
import { assertOapDocument } from "../documents.js";
import { errorObjectOf, errorResponseEnvelope, httpErrorOf, isOapError, OapError, type OapErrorObject } from "../errors.js";
import { IdempotencyGuard, type IdempotencyTicket } from "../idempotency.js";
import { RateLimiter, rateLimitKey, type OapRateLimiter } from "../rate-limit.js";
import { invocationReceiptBody, ReceiptLedger, type ReceiptBody } from "../receipts.js";
import { ReplayGuard } from "../replay.js";
import {
  checkOapSignatureHeader,
  didKeyResolver,
  signDocument,
  signResponse,
  verifyDocument,
  verifyRequest,
  type OapKeyResolver,
  type OapSigner,
  type VerifiedSignature,
} from "../sign.js";
import { clockMs, didOf, jcsDigest, oapIds, rfc3339, systemClock, systemRandom, ULID_PATTERN, type OapClock, type OapIds, type OapRandom } from "../util.js";
import { Channel } from "../tasks/channel.js";
import { isTaskStatus, isTerminalTaskStatus, type TaskStatus } from "../tasks/lifecycle.js";
import { TaskManager, taskUlid, type LostTaskCause, type TaskCompletion, type TaskPatch, type TaskRunContext } from "../tasks/manager.js";
import type { AuditEntryKind, TaskJson, TaskQuery, TaskRecord } from "../tasks/store.js";
import { checkCallbackUrl, WebhookDispatcher } from "../webhooks/deliver.js";
import type { WebhookSubscription } from "../webhooks/subscriptions.js";
import { PlaneEndpoints, OAP_PLANE_PATHS } from "./plane-endpoints.js";
import { authenticateCaller, callerActsFor, callerIsParty, requireCaller, type CallerIdentity } from "./caller-auth.js";
import type { HttpMessageView } from "../webhooks/rfc9421.js";
import { compatTool, OAP_CONFORMANCE_RECEIPT_PATH, selfAttestedConformanceReceipt } from "./compat.js";
import { cachingKeyResolver } from "./key-cache.js";
import { MemoryOapStore, type OapStore } from "./store.js";
import { GovernancePlane, needsSubscription, type ToolCommerceOptions, type ToolGovernanceOptions } from "./planes.js";
import { ConsentRegistry } from "../commerce/consent.js";
import type { TimeLock } from "../governance/time-locks.js";
import { SubscriptionManager } from "../commerce/subscriptions.js";
import { priceOptions, type Pricing } from "../commerce/pricing.js";
import { mapKeyResolver } from "../sign.js";
import { ActionResult, type ActionContext, type ActionResultMeta, type ActionSpec, type OapToolDefinition } from "./tool.js";
import { continueTrace, formatTraceparent, type TraceContext } from "./trace.js";

/** `request_id` of error envelopes answering a request whose own id is unknown or malformed. */
export const UNKNOWN_REQUEST_ID = "00000000000000000000000000";

/** A structured log line of the server. */
export interface OapLogEvent {
  readonly at: string;
  readonly event: string;
  readonly [member: string]: JsonValue | undefined;
}

/** The HTTP paths of a Tool (relative to its base path). */
export const OAP_PATHS = Object.freeze({
  manifest: "/.well-known/oap-tool.json",
  didDocument: "/.well-known/did.json",
  invoke: "/oap/invoke",
  stream: "/oap/stream",
  audit: "/oap/audit",
  dataDelete: "/oap/data/delete",
  dataExport: "/oap/data/export",
  incident: "/oap/incident",
  discover: "/oap/discover",
  subscribe: "/oap/subscribe",
  billing: "/oap/billing",
  tasks: "/oap/tasks",
  conformanceReceipt: OAP_CONFORMANCE_RECEIPT_PATH,
});

/** Options of {@link OapToolServer}. */
export interface OapToolServerOptions {
  readonly tool: OapToolDefinition;
  /**
   * At start, fail every task a previous run left open, whatever its lease says (default true:
   * the store is this node's alone, so their owner is gone). Set false on a store shared by
   * several nodes: another node may still be running them; they are failed only once their
   * owner's lease expires (the sweeper's `reclaim`, at start and every interval).
   */
  readonly recoverOpenTasks?: boolean;
  /** This node's id: the owner of its tasks' and in-flight idempotency reservations' leases (default `oap-node:<ULID>`). */
  readonly nodeId?: string;
  /** Task lease (ms; default 30 000), renewed every third by the owning node (docs/scale-out.md "Leases"). */
  readonly taskLeaseMs?: number;
  /** Lease of an in-flight idempotency reservation (ms; default 30 000), renewed every third while the call runs. */
  readonly idempotencyLeaseMs?: number;
  /** The Tool's Ed25519 key; `kid` (default `${did}#${key.kid}`) is the DID URL responses and receipts are signed as. */
  readonly signer: OapSigner | PrivateKeyRecord;
  /** The Tool DID (default: the manifest's tool.did). */
  readonly did?: string;
  /** Public origin, e.g. "https://tool.example" (also settable later: {@link OapToolServer.setBaseUrl}). */
  readonly baseUrl?: string;
  /** Path prefix of every route (default ""). */
  readonly basePath?: string;
  readonly store?: OapStore;
  /** Resolves agents' and Principals' keys (default: DID resolution of did:key and did:web, cached: key-cache.ts). */
  readonly keys?: OapKeyResolver;
  /** DID resolution for the default `keys`: plain http for localhost did:web (local setups). */
  readonly allowInsecureLocalhostDids?: boolean;
  readonly apiKeys?: ApiKeyStore;
  readonly oauth?: OAuthHook;
  readonly mtls?: MtlsHook;
  /** Transparency logs to anchor every receipt in (§19.3). */
  readonly logs?: readonly (TransparencyLog | AsyncTransparencyLog)[];
  readonly logClients?: readonly TlogClient[];
  readonly clock?: OapClock;
  readonly random?: OapRandom;
  /** Upstream-suite compatibility (compat.ts). Default false: strict. */
  readonly compat?: boolean;
  readonly log?: (event: OapLogEvent) => void;
  /** Webhook delivery settings; `false` disables subscriptions. */
  readonly webhooks?: false | { readonly fetch?: typeof fetch; readonly allowInsecureCallbacks?: boolean; readonly retries?: number; readonly backoffMs?: number };
  /** Task time to live and input timeout (ms). */
  readonly taskTtlMs?: number;
  readonly inputTimeoutMs?: number;
  /** Watchers re-read the task store this often (ms; default 1000). */
  readonly taskPollIntervalMs?: number;
  /** Serve a Conformance Receipt (compat serves a self-attested one when absent). */
  readonly conformanceReceipt?: JsonObject;
  /** Governance plane (planes.ts; default: the tool definition's, else off). */
  readonly governance?: ToolGovernanceOptions;
  /** Commerce plane (planes.ts; default: the tool definition's, else off). */
  readonly commerce?: ToolCommerceOptions;
  /** §7 action rate limits (default: in memory, this process; `agentwire serve` on PostgreSQL: rpm shared by the nodes). */
  readonly rateLimiter?: OapRateLimiter;
}

/** What a transport knows about an invocation besides the envelope. */
export interface InvocationMeta {
  readonly transport: "https" | "sse" | "grpc";
  /** Request header / metadata value by lowercase name. */
  header(name: string): string | undefined;
  readonly clientCertificate?: unknown;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
}

/** The result of {@link OapToolServer.invoke}. */
export type InvokeOutcome =
  | { readonly kind: "response"; readonly status: number; readonly body: JsonObject; readonly trace: TraceContext; readonly requestId: string }
  | { readonly kind: "task"; readonly status: 202; readonly body: JsonObject; readonly task: TaskJson; readonly trace: TraceContext; readonly requestId: string }
  | {
      readonly kind: "error";
      readonly status: number;
      readonly body: JsonObject;
      readonly error: OapErrorObject;
      readonly cause: unknown;
      readonly retryAfterSeconds?: number;
      readonly trace: TraceContext;
      readonly requestId: string;
    };

/** A stream event (the ProtoJSON of oap.v1.StreamEvent). */
export interface StreamEventJson extends JsonObject {
  readonly seq: number;
  readonly event: "oap.progress" | "oap.complete" | "oap.error";
}

/** The result of {@link OapToolServer.openStream}. */
export type StreamOutcome =
  | { readonly kind: "stream"; readonly events: AsyncIterable<StreamEventJson>; readonly trace: TraceContext; readonly requestId: string }
  | Extract<InvokeOutcome, { kind: "error" }>;

interface Admitted {
  readonly envelope: JsonObject;
  readonly env: OapRequestEnvelope;
  readonly requestId: string;
  readonly compiled: CompiledAction;
  readonly spec: ActionSpec;
  readonly identity: AuthIdentity;
  readonly decision: OapDecisionRecord;
  readonly warnings: readonly string[];
  readonly locale: string;
  release(): void;
  readonly ticket: IdempotencyTicket;
  readonly trace: TraceContext;
  readonly meta: InvocationMeta;
  /** Decision records of the governance plane (cited in the receipt's policy_decisions). */
  readonly decisions: readonly OapDecisionRecord[];
  /** The wallet hold paying for this call. */
  readonly hold?: string;
}

/** §22.4: the call was recorded and time-locked (answered 202, not executed). */
class TimeLocked extends Error {
  constructor(readonly lock: TimeLock) {
    super(`time-locked until ${lock.execute_after}`);
  }
}

interface Executed {
  readonly output: JsonValue;
  readonly meta: ActionResultMeta;
}

/** §15.2 the webhook event of a shared-state change (`PUT state`). */
export const STATE_CHANGED_EVENT = "state.changed";

/** The OAP Tool server (see the module comment). */
export class OapToolServer {
  readonly tool: OapToolDefinition;
  readonly store: OapStore;
  readonly did: string;
  readonly compat: boolean;
  readonly catalog: ActionCatalog;
  readonly ledger: ReceiptLedger;
  readonly tasks: TaskManager;
  readonly replay: ReplayGuard;
  readonly keys: OapKeyResolver;
  readonly basePath: string;
  /** This node's id (owner of task and idempotency leases). */
  readonly nodeId: string;
  readonly #signer: OapSigner;
  readonly #o: OapToolServerOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #ids: OapIds;
  readonly #auth: Authenticator;
  readonly #limiter: OapRateLimiter;
  readonly #idem: IdempotencyGuard;
  readonly #webhooks: WebhookDispatcher | undefined;
  #baseUrl: string | undefined;
  #manifest: JsonObject | undefined;
  #conformance: JsonObject | undefined;
  #started = false;
  #limiterSweep: NodeJS.Timeout | undefined;
  #subs: SubscriptionManager | undefined;
  /** The governance plane, when configured. */
  readonly governance: GovernancePlane | undefined;
  /** The commerce options, when configured. */
  readonly commerce: ToolCommerceOptions | undefined;
  /** The HTTP operations of the planes (wallet, consent, refunds, kill switch, incidents, policy reload; plane-endpoints.ts). */
  readonly planes: PlaneEndpoints;

  constructor(options: OapToolServerOptions) {
    this.#o = options;
    this.compat = options.compat === true;
    this.tool = this.compat ? compatTool(options.tool) : options.tool;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#ids = oapIds(this.#clock, this.#random);
    this.nodeId = options.nodeId ?? `oap-node:${this.#ids.ulid()}`;
    const did = options.did ?? options.tool.manifest.tool.did;
    if (did === undefined) throw new OapError("ERR_OAP_ACTION_INVALID", `tool ${options.tool.manifest.tool.id}: no DID (give options.did or manifest tool.did)`);
    this.did = did;
    const s: OapSigner = options.signer instanceof PrivateKeyRecord ? { key: options.signer } : options.signer;
    this.#signer = { key: s.key, kid: s.kid ?? (s.key.kid.startsWith("did:") ? s.key.kid : `${did}#${s.key.kid}`) };
    if (didOf(this.#signer.kid as string) !== did) throw new OapError("ERR_OAP_SIGNING", `the signing key ${this.#signer.kid} is not a key of ${did}`);
    this.basePath = (options.basePath ?? "").replace(/\/$/, "");
    this.store = options.store ?? new MemoryOapStore();
    this.keys = options.keys ?? cachingKeyResolver(didKeyResolver(new DidResolver({ allowInsecureLocalhost: options.allowInsecureLocalhostDids === true })));
    this.catalog = new ActionCatalog(this.tool.manifest.actions);
    this.replay = new ReplayGuard({ store: this.store.nonces, clock: this.#clock });
    this.#auth = new Authenticator({
      manifest: this.tool.manifest,
      audience: [did],
      ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys }),
      ...(options.oauth === undefined ? {} : { oauth: options.oauth }),
      ...(options.mtls === undefined ? {} : { mtls: options.mtls }),
      trustTokens: { keys: this.keys },
      replay: this.replay,
      clock: this.#clock,
      ids: this.#ids,
    });
    this.#limiter = options.rateLimiter ?? new RateLimiter({ clock: this.#clock });
    this.#idem = new IdempotencyGuard({
      store: this.store.idempotency,
      clock: this.#clock,
      owner: this.nodeId,
      ...(options.idempotencyLeaseMs === undefined ? {} : { leaseMs: options.idempotencyLeaseMs }),
      onError: (e) => this.#log("oap.idempotency-lease-error", { message: (e as Error).message }),
    });
    this.ledger = new ReceiptLedger({
      signer: this.#signer,
      store: this.store.receipts,
      clock: this.#clock,
      ids: this.#ids,
      ...(options.logs === undefined ? {} : { logs: options.logs }),
      ...(options.logClients === undefined ? {} : { logClients: options.logClients }),
    });
    this.#webhooks =
      options.webhooks === false
        ? undefined
        : new WebhookDispatcher({
            signer: this.#signer,
            toolDid: did,
            clock: this.#clock,
            random: this.#random,
            ...(options.webhooks?.fetch === undefined ? {} : { fetch: options.webhooks.fetch }),
            ...(options.webhooks?.retries === undefined ? {} : { retries: options.webhooks.retries }),
            ...(options.webhooks?.backoffMs === undefined ? {} : { backoffMs: options.webhooks.backoffMs }),
            log: (e) => this.#log(String(e["event"]), e),
          });
    this.tasks = new TaskManager({
      store: this.store.tasks,
      clock: this.#clock,
      ids: this.#ids,
      pollUrl: (id) => this.url(`${OAP_PATHS.tasks}/${taskUlid(id)}`),
      callbackUrlSupported: this.#webhooks !== undefined,
      ...(options.taskTtlMs === undefined ? {} : { ttlMs: options.taskTtlMs }),
      ...(options.inputTimeoutMs === undefined ? {} : { inputTimeoutMs: options.inputTimeoutMs }),
      ...(options.taskPollIntervalMs === undefined ? {} : { pollIntervalMs: options.taskPollIntervalMs }),
      onTransition: async (task, t) => {
        this.#log("oap.task", { task_id: task.task_id, status: t.status, seq: t.seq, request_id: task.request_id, ...(t.reason === undefined ? {} : { reason: t.reason }) });
        if (this.#webhooks !== undefined) this.#webhooks.dispatchTask(await this.store.webhooks.all(), task);
      },
      onError: (e) => this.#log("oap.task-error", { message: (e as Error).message }),
      owner: this.nodeId,
      ...(options.taskLeaseMs === undefined ? {} : { leaseMs: options.taskLeaseMs }),
      failLost: (r, cause) => this.#failLostTask(r, cause),
    });
    const gov = options.governance ?? options.tool.governance;
    this.governance = gov === undefined ? undefined : new GovernancePlane(gov, this.#clock);
    this.commerce = options.commerce ?? options.tool.commerce;
    this.planes = new PlaneEndpoints({
      toolDid: this.did,
      ledger: this.ledger,
      receipts: this.store.receipts,
      webhooks: this.store.webhooks,
      commerce: this.commerce,
      governanceOptions: gov,
      governance: this.governance,
      subscriptions: () => this.subscriptions,
      consents: () => this.consents,
      ...(this.store.commerce === undefined ? {} : { disputes: this.store.commerce.disputes }),
      onStateChange: (change) => this.#broadcastStateChange(change),
      keys: this.keys,
      clock: this.#clock,
      ...(this.tool.manifest.collaboration === undefined ? {} : { collaboration: this.tool.manifest.collaboration as unknown as OapManifest["collaboration"] }),
      audit: async (principal, kind, data) => {
        await this.store.audit.append({ principal_did: principal, at: rfc3339(this.#clock()), kind: kind as AuditEntryKind, data });
      },
    });
    if (options.baseUrl !== undefined) this.setBaseUrl(options.baseUrl);
  }

  /** §15.2: delivers `state.changed` (signed like every webhook, RFC 9421) to the subscriptions that asked for it. */
  #broadcastStateChange(change: JsonObject): void {
    const hooks = this.#webhooks;
    if (hooks === undefined) return;
    const p = (async () => {
      const subs = (await this.store.webhooks.all()).filter((s) => s.events.includes(STATE_CHANGED_EVENT) && (s.resource === undefined || s.resource === change["resource"]));
      hooks.dispatch(subs, STATE_CHANGED_EVENT, change);
    })().catch((e: unknown) => this.#log("oap.webhook-failed", { event_type: STATE_CHANGED_EVENT, message: (e as Error).message }));
    void p;
  }

  /** The consent registry (commerce `consents`; `true`: built on the store's consent records and the server's ledger). */
  get consents(): ConsentRegistry | undefined {
    const c = this.commerce?.consents;
    if (c === undefined) return undefined;
    if (c !== true) return c;
    this.#consents ??= new ConsentRegistry({ ledger: this.ledger, clock: this.#clock, random: this.#random, ...(this.store.commerce === undefined ? {} : { store: this.store.commerce.consents }) });
    return this.#consents;
  }
  #consents: ConsentRegistry | undefined;

  /** §12 subscriptions (commerce plane; built once the base URL is known; on the store's subscription records when it has them). */
  get subscriptions(): SubscriptionManager | undefined {
    const c = this.commerce;
    if (c === undefined) return undefined;
    if (c.subscriptions !== undefined) return c.subscriptions;
    this.#subs ??= new SubscriptionManager({
      toolDid: this.did,
      ...(this.tool.manifest.pricing === undefined ? {} : { pricing: this.tool.manifest.pricing as unknown as Pricing }),
      signer: this.#signer,
      keys: mapKeyResolver({ [this.#signer.kid as string]: this.#signer.key.publicJwk }),
      consents: this.consents ?? new ConsentRegistry({ clock: this.#clock, ...(this.store.commerce === undefined ? {} : { store: this.store.commerce.consents }) }),
      ...(this.store.commerce === undefined ? {} : { store: this.store.commerce.subscriptions }),
      endpoints: { agent_subscribe_url: this.url(OAP_PATHS.subscribe) },
      ledger: this.ledger,
      clock: this.#clock,
      random: this.#random,
      ...(c.trialAvailable === undefined ? {} : { trialAvailable: c.trialAvailable }),
    });
    return this.#subs;
  }

  /** Publishes (or replaces) the Conformance Receipt served at /oap-conformance-receipt.json. */
  setConformanceReceipt(receipt: JsonObject | undefined): void {
    this.#published = receipt;
  }
  #published: JsonObject | undefined;

  /** The Tool's signer (DID URL kid). */
  get signer(): OapSigner {
    return this.#signer;
  }

  #log(event: string, data: Record<string, JsonValue | undefined> = {}): void {
    this.#o.log?.({ at: rfc3339(this.#clock()), event, tool: this.tool.manifest.tool.id, ...data });
  }

  /** Sets the public origin (endpoints are built from it) and (re)builds the manifest. */
  setBaseUrl(baseUrl: string): void {
    this.#baseUrl = baseUrl.replace(/\/$/, "");
    this.#manifest = undefined;
    this.#conformance = undefined;
  }

  /** The absolute URL of a Tool path (strict) — or the path alone in compat mode when `relative`. */
  url(path: string, relative = false): string {
    const p = `${this.basePath}${path}`;
    if (relative || this.#baseUrl === undefined) return p;
    return `${this.#baseUrl}${p}`;
  }

  /** The served manifest (§6): the definition with endpoints and DIDs filled in. */
  get manifest(): JsonObject {
    if (this.#manifest !== undefined) return this.#manifest;
    if (this.#baseUrl === undefined && !this.compat) throw new OapError("ERR_OAP_INTERNAL", "the server's base URL is not known yet");
    const rel = this.compat;
    const input = this.tool.manifest;
    const endpoints: Record<string, string> = {
      invoke: this.url(OAP_PATHS.invoke, rel),
      stream: this.url(OAP_PATHS.stream, rel),
      audit: this.url(OAP_PATHS.audit, rel),
      data_export: this.url(OAP_PATHS.dataExport, rel),
      data_delete: this.url(OAP_PATHS.dataDelete, rel),
      incident: this.url(OAP_PATHS.incident, rel),
      discover: this.url(OAP_PATHS.discover, rel),
      ...(this.#webhooks === undefined && this.commerce === undefined ? {} : { subscribe: this.url(OAP_PATHS.subscribe, rel) }),
      ...(this.commerce === undefined ? {} : { billing: this.url(OAP_PATHS.billing, rel) }),
      ...(this.consents === undefined ? {} : { consent: this.url(OAP_PLANE_PATHS.consent, rel) }),
      ...(input.endpoints ?? {}),
    };
    const manifest: JsonObject = {
      ...(input as unknown as JsonObject),
      tool: { ...(input.tool as unknown as JsonObject), did: this.did, publisher: { ...(input.tool.publisher as unknown as JsonObject), did: input.tool.publisher.did ?? this.did } },
      endpoints,
    };
    if (this.compat) {
      manifest["accountability"] = { recovery: { export_endpoint: endpoints["data_export"] as string } };
    } else {
      try {
        assertOapDocument("oap-manifest", manifest);
      } catch (e) {
        throw new OapError("ERR_OAP_INTERNAL", `tool ${input.tool.id}: the manifest is not a valid oap-manifest: ${(e as Error).message}`, { cause: e });
      }
    }
    this.#manifest = manifest;
    return manifest;
  }

  /** The Tool's DID document (did:web): its signing key and the OAP service endpoints. */
  didDocument(extra: { readonly keys?: readonly JsonObject[] } = {}): JsonObject {
    const jwk = { ...(this.#signer.key.publicJwk as unknown as JsonObject) };
    delete jwk["kid"];
    delete jwk["alg"];
    delete jwk["use"];
    const kid = this.#signer.kid as string;
    const governance = this.tool.manifest.governance;
    return {
      "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
      id: this.did,
      verificationMethod: [{ id: kid, type: "JsonWebKey2020", controller: this.did, publicKeyJwk: jwk }, ...(extra.keys ?? [])],
      assertionMethod: [kid],
      authentication: [kid],
      service: this.services(governance.revocation_status_url),
    };
  }

  /** The DID document `service` entries of the Tool (§5.1 service types). */
  services(revocation?: string): JsonObject[] {
    const out: JsonObject[] = [
      { id: `${this.did}#oap-invoke`, type: "OAPInvocationEndpoint", serviceEndpoint: this.url(OAP_PATHS.invoke) },
      { id: `${this.did}#oap-manifest`, type: "OAPToolManifest", serviceEndpoint: this.url(OAP_PATHS.manifest) },
    ];
    const rev = revocation ?? this.tool.manifest.governance.revocation_status_url;
    if (rev !== undefined) out.push({ id: `${this.did}#oap-revocation`, type: "OAPRevocationStatus", serviceEndpoint: rev });
    return out;
  }

  /** The Conformance Receipt to serve, if any (compat: self-attested). */
  conformanceReceipt(): JsonObject | undefined {
    if (this.#published !== undefined) return this.#published;
    if (this.#o.conformanceReceipt !== undefined) return this.#o.conformanceReceipt;
    if (!this.compat) return undefined;
    this.#conformance ??= selfAttestedConformanceReceipt({
      toolDid: this.did,
      name: this.tool.manifest.tool.name,
      version: this.tool.manifest.tool.version,
      targetUri: this.#baseUrl === undefined ? "http://localhost/" : `${this.#baseUrl}${this.basePath}/`,
      receiptUlid: this.#ids.ulid(),
      now: this.#clock(),
      signer: this.#signer,
    });
    return this.#conformance;
  }

  /**
   * Fails the tasks of lost nodes — with `recoverOpenTasks` every task a previous run left open
   * (claimed whatever its lease), on a shared store only those whose owner's lease expired — and
   * starts the sweeper (expiry, and the same lease claim every interval).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    try {
      if (this.#o.recoverOpenTasks !== false) await this.tasks.reclaim({ all: true });
      await this.tasks.reclaim();
    } catch (e) {
      this.#log("oap.task-error", { message: (e as Error).message });
    }
    this.tasks.startSweeper();
    this.#limiterSweep = setInterval(() => this.#limiter.sweep(), 60_000);
    this.#limiterSweep.unref();
  }

  /** Stops background work and waits for webhook deliveries in flight. */
  async close(): Promise<void> {
    if (this.#limiterSweep !== undefined) clearInterval(this.#limiterSweep);
    // The work of open tasks stops with this process: let their leases lapse now, so another node fails them at once.
    await this.tasks.releaseLeases().catch((e: unknown) => this.#log("oap.task-error", { message: (e as Error).message }));
    this.tasks.close();
    await this.#webhooks?.idle();
  }

  /** Resolves when no webhook delivery is in flight. */
  async webhooksIdle(): Promise<void> {
    await this.#webhooks?.idle();
  }

  // -------------------------------------------------------------------------------------------
  // signing helpers
  // -------------------------------------------------------------------------------------------

  #sign(doc: JsonObject): JsonObject {
    return (this.compat ? signDocument(doc, this.#signer) : signResponse(doc, this.#signer)) as unknown as JsonObject;
  }

  #signErrorEnvelope(e: unknown, requestId: string, receiptId?: string): JsonObject {
    const env = errorResponseEnvelope(e, { request_id: requestId, response_id: this.#ids.ulid(), timestamp: rfc3339(this.#clock()) });
    if (receiptId !== undefined) env["receipt"] = { id: receiptId };
    return this.#sign(env);
  }

  /** A signed error envelope for `e` answering `requestId` (Appendix B status in `status`). */
  errorAnswer(e: unknown, requestId: string | undefined): { status: number; body: JsonObject; error: OapErrorObject; retryAfterSeconds?: number } {
    const id = typeof requestId === "string" && ULID_PATTERN.test(requestId) ? requestId : UNKNOWN_REQUEST_ID;
    const answer = httpErrorOf(e);
    const retry = e instanceof OapError ? e.retryAfterSeconds : undefined;
    let body: JsonObject;
    try {
      body = this.#signErrorEnvelope(e, id);
    } catch {
      body = this.#signErrorEnvelope(new OapError("ERR_OAP_INTERNAL", "internal error"), UNKNOWN_REQUEST_ID);
    }
    return { status: answer.status, body, error: answer.error, ...(retry === undefined ? {} : { retryAfterSeconds: retry }) };
  }

  // -------------------------------------------------------------------------------------------
  // admission
  // -------------------------------------------------------------------------------------------

  /** True for the actions compat mode relaxes (free, side_effects none/read, minimal risk). */
  #probeEligible(action: OapAction): boolean {
    return this.compat && action.cost?.type === "free" && (action.side_effects === "none" || action.side_effects === "read") && effectiveRiskClass(action, this.tool.manifest) === "minimal";
  }

  async #admit(raw: unknown, meta: InvocationMeta, trace: TraceContext): Promise<Admitted> {
    const version = meta.header("oap-version");
    if (version !== undefined && version.trim() !== "1.0") throw new OapError("ERR_OAP_VERSION_UNSUPPORTED", `OAP-Version ${version} is not supported (1.0)`);
    if (!isJsonObject(raw)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "the request body must be a JSON object (an OAP request envelope)");
    const compiled = this.catalog.require(raw["action"]);
    const action = compiled.action;
    const spec = this.tool.actions.get(action.id) as ActionSpec;
    const headerId = meta.header("oap-request-id");
    if (meta.transport !== "grpc" && !this.compat) {
      const missing = ["oap-version", "oap-request-id", "oap-signature"].filter((h) => meta.header(h) === undefined);
      if (missing.length > 0) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `missing §8.4 header(s): ${missing.join(", ")}`, { details: { missing_headers: missing } });
    }
    if (headerId !== undefined && headerId.trim() !== raw["request_id"]) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "OAP-Request-Id differs from the envelope's request_id");
    const eligible = this.#probeEligible(action);
    let signature: VerifiedSignature | undefined;
    let unverified = false;
    try {
      signature = (await verifyRequest(raw, this.keys, { replay: this.replay, now: this.#clock })).signature;
    } catch (e) {
      const sigFailure = isOapError(e) && ["ERR_OAP_SIGNATURE_MISSING", "ERR_OAP_SIGNATURE_INVALID", "ERR_OAP_SIGNATURE_KEY_UNKNOWN", "ERR_OAP_SIGNATURE_ALG_UNSUPPORTED", "ERR_OAP_SIGNER_MISMATCH"].includes(e.code);
      if (!eligible || !sigFailure) throw e;
      // compat "unverified-signature": the replay rules still hold.
      await this.replay.checkNonce(String(raw["agent_did"]), raw["request_id"]);
      unverified = true;
    }
    if (!unverified) checkOapSignatureHeader(raw, meta.header("oap-signature"));
    const env = raw as unknown as OapRequestEnvelope;
    const authorization = meta.header("authorization");
    const decision = await this.#auth.authorize(
      {
        envelope: env,
        authorization: authorization ?? null,
        ...(signature === undefined ? {} : { agentSignature: signature }),
        ...(meta.clientCertificate === undefined ? {} : { clientCertificate: meta.clientCertificate }),
      },
      action,
    );
    let identity: AuthIdentity;
    let record: OapDecisionRecord;
    if (decision.ok) {
      identity = decision.identity;
      record = decision.record;
    } else if (eligible && authorization === undefined && decision.error.code === "ERR_OAP_ANONYMOUS_NOT_ALLOWED") {
      identity = { method: "anonymous", credential: "anonymous", scopes: [] };
      record = { ...decision.record, outcome: "allow", applied_rules: ["oap.10.1.anonymous", "oap.compat.anonymous_read"], explanation: `compat mode: anonymous call of the free ${action.side_effects} action ${action.id}` };
    } else {
      this.#log("oap.refused", { request_id: env.request_id, action: action.id, principal_did: env.principal_did, agent_did: env.agent_did, code: decision.error.wire, reason: decision.error.code, decision_id: decision.record.decision_id, trace: formatTraceparent(trace) });
      throw decision.error;
    }
    if (unverified) record = { ...record, applied_rules: [...record.applied_rules, "oap.compat.unverified_signature"] };
    const policy = runActionPolicies([
      () => checkDeprecation(action, this.#clock()),
      () => checkJurisdiction(this.tool.manifest, env.context),
      () => checkCurrency(action, env.context, supportedCurrencies(this.tool.manifest)),
      () => checkConsent(action, env),
    ]);
    if (policy.error !== undefined) throw policy.error;
    const price = this.#cost(action, {});
    const consents = this.consents;
    const verifyConsent =
      consents === undefined
        ? undefined
        : async (receipt: string | undefined, purpose?: string): Promise<void> => {
            await consents.verify(receipt, { principal_did: env.principal_did, agent_did: env.agent_did, tool_did: this.did, ...(purpose === undefined ? {} : { purpose }), ...(price === undefined ? {} : { amount: price }) });
          };
    // §7 requires_consent: with a consent registry the cited receipt must exist, be unrevoked and cover this call.
    if (verifyConsent !== undefined && action.requires_consent === true) await verifyConsent(env.consent_receipt, action.id);
    const decisions = this.governance === undefined ? [] : (await this.governance.admit(env, action, this.tool.manifest as unknown as OapManifest, price, verifyConsent)).records;
    await this.#checkSubscription(env, action);
    this.#checkTimeLock(env, action, price, meta);
    const warnings = [...policy.warnings];
    let locale = env.context.locale;
    if (this.tool.locales !== undefined && this.tool.locales.length > 0) {
      const choice = negotiateLocale(env.context.locale, this.tool.locales, this.tool.locales[0] as string);
      locale = choice.locale;
      warnings.push(...choice.warnings);
    }
    const slot = await this.#limiter.acquire(rateLimitKey(env.principal_did, action.id), action.rate_limit);
    if (!slot.allowed) throw slot.error;
    let ticket: IdempotencyTicket;
    try {
      ticket = await this.#idem.begin(raw, action, meta.header("oap-idempotency-key"));
    } catch (e) {
      slot.release();
      throw e;
    }
    let hold: string | undefined;
    if (ticket.kind !== "replay") {
      try {
        compiled.assertInput(env.input);
        await this.store.audit.append({ principal_did: env.principal_did, at: record.evaluated_at, kind: "decision", data: { ...(record as unknown as JsonObject), request_id: env.request_id, action: action.id, agent_did: env.agent_did } });
        for (const d of decisions) await this.store.audit.append({ principal_did: env.principal_did, at: d.evaluated_at, kind: "decision", data: { ...(d as unknown as JsonObject), request_id: env.request_id, action: action.id, agent_did: env.agent_did } });
        hold = await this.#authorizeHold(env, price);
      } catch (e) {
        slot.release();
        if (ticket.kind === "execute") await ticket.release();
        throw e;
      }
    }
    return { envelope: raw, env, requestId: env.request_id, compiled, spec, identity, decision: record, warnings, locale, release: slot.release, ticket, trace, meta, decisions, ...(hold === undefined ? {} : { hold }) };
  }

  /**
   * §22.4 time locks (governance `timeLocks`): a call over a rule's threshold is recorded as a
   * lock (answered 202 by invoke, 409 by stream); re-sent with `OAP-Time-Lock: <lock_id>` after
   * `execute_after` (same Principal, action and input) it is released once and runs.
   */
  #checkTimeLock(env: OapRequestEnvelope, action: OapAction, price: { amount: string; currency: string } | undefined, meta: InvocationMeta): void {
    const gov = this.#o.governance ?? this.tool.governance;
    const queue = gov?.timeLocks;
    if (gov === undefined || queue === undefined) return;
    const inputHash = jcsDigest(env.input as unknown as JsonValue);
    const lockId = meta.header("oap-time-lock")?.trim();
    if (lockId !== undefined && lockId !== "") {
      const lock = queue.get(lockId);
      if (lock === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown time lock ${lockId}`, { details: { lock_id: lockId } });
      const payload = isJsonObject(lock.payload) ? lock.payload : {};
      if (lock.principal_did !== env.principal_did || lock.action !== action.id || payload["input_hash"] !== inputHash) {
        throw new OapError("ERR_OAP_POLICY_BLOCK", "the time lock was recorded for another call (Principal, action or input differ)", { details: { lock_id: lockId } });
      }
      const released = queue.release(lockId);
      this.#log("oap.time-lock", { lock_id: released.lock_id, status: released.status, request_id: env.request_id, action: action.id });
      return;
    }
    const amount = gov.timeLockAmount?.(env, action) ?? price;
    const d = queue.submit({ principal_did: env.principal_did, action: action.id, ...(amount === undefined ? {} : { amount }), payload: { request_id: env.request_id, agent_did: env.agent_did, input_hash: inputHash } });
    if (d.status === "locked") {
      this.#log("oap.time-lock", { lock_id: d.lock.lock_id, status: "locked", execute_after: d.lock.execute_after, request_id: env.request_id, action: action.id });
      throw new TimeLocked(d.lock);
    }
  }

  /** The 202 answer of a time-locked call: a signed `accepted` envelope whose output is the lock. */
  #timeLockedOutcome(e: TimeLocked, raw: unknown, trace: TraceContext): InvokeOutcome {
    const requestId = isJsonObject(raw) ? String(raw["request_id"]) : UNKNOWN_REQUEST_ID;
    const l = e.lock;
    const body = this.#sign({
      oap_version: "1.0",
      request_id: requestId,
      response_id: this.#ids.ulid(),
      timestamp: rfc3339(this.#clock()),
      status: "accepted",
      output: {
        time_lock: {
          lock_id: l.lock_id,
          status: l.status,
          action: l.action,
          rule_id: l.rule_id,
          created_at: l.created_at,
          execute_after: l.execute_after,
          ...(l.amount === undefined ? {} : { amount: { ...l.amount } }),
          cancel_url: this.url(OAP_PLANE_PATHS.timeLockCancel),
          status_url: `${this.url(OAP_PLANE_PATHS.timeLock)}?lock_id=${encodeURIComponent(l.lock_id)}`,
        },
      },
      warnings: [`time-locked until ${l.execute_after}: re-send with OAP-Time-Lock: ${l.lock_id}`],
    });
    return { kind: "response", status: 202, body, trace, requestId };
  }

  /** §12.3: the subscription token of an action that needs one (402 with the §12.1 details otherwise). */
  async #checkSubscription(env: OapRequestEnvelope, action: OapAction): Promise<void> {
    const c = this.commerce;
    if (c === undefined || !needsSubscription(action, c)) return;
    const subs = this.subscriptions as SubscriptionManager;
    const token = env.subscription_token;
    if (typeof token !== "string" || token.length === 0) throw subs.subscriptionRequired(action.id, env.context.currency);
    const tiers = c.tiers?.[action.id];
    await subs.verifyToken(token, { principal_did: env.principal_did, agent_did: env.agent_did, ...(env.scope_id === undefined ? {} : { scope_id: env.scope_id }) }, tiers === undefined ? {} : { tiers });
  }

  /** §11.2: a hold on the Principal's wallet for a priced call (402 without a wallet or funds). */
  async #authorizeHold(env: OapRequestEnvelope, price: { amount: string; currency: string } | undefined): Promise<string | undefined> {
    const wallet = this.commerce?.wallet;
    if (wallet === undefined || price === undefined || !/[1-9]/.test(price.amount)) return undefined;
    const walletDid = this.commerce?.walletOf !== undefined ? await this.commerce.walletOf(env.principal_did) : await wallet.walletOf(env.principal_did);
    if (walletDid === undefined) {
      throw new OapError("ERR_OAP_SUBSCRIPTION_REQUIRED", `the priced call needs a wallet of ${env.principal_did}`, { details: { reason: "no_wallet", price_options: priceOptions(this.tool.manifest.pricing as unknown as Pricing | undefined, env.context.currency) as unknown as JsonObject[] } });
    }
    const hold = await wallet.authorize(walletDid, { amount: price.amount, currency: price.currency, tool_did: this.did, agent_did: env.agent_did, idempotency_key: `oap-invoke:${env.request_id}` });
    return hold.hold_id;
  }

  /** Captures the call's hold citing its receipt (or releases it when nothing is owed). */
  async #settleHold(a: Admitted, receiptId: string | undefined, cost: { amount: string; currency: string } | undefined): Promise<void> {
    const wallet = this.commerce?.wallet;
    if (a.hold === undefined || wallet === undefined) return;
    if (receiptId === undefined || cost === undefined || !/[1-9]/.test(cost.amount)) {
      await wallet.release(a.hold);
      return;
    }
    await wallet.capture(a.hold, { amount: cost.amount, receipt_id: receiptId, final: true, idempotency_key: `oap-capture:${a.requestId}` });
  }

  /**
   * A replayed paid call whose node died between the receipt commit and the wallet capture:
   * settle it again. The hold and the capture use the original request's idempotency keys, so
   * the money moves exactly once however often this runs (found by the wallet SIGKILL soak).
   */
  async #resettleReplay(a: Admitted, stored: JsonObject): Promise<void> {
    const wallet = this.commerce?.wallet;
    if (wallet === undefined) return;
    const cost = isJsonObject(stored["cost"]) ? stored["cost"] : undefined;
    const ref = isJsonObject(stored["receipt"]) ? stored["receipt"] : undefined;
    const original = typeof stored["request_id"] === "string" ? stored["request_id"] : undefined;
    const price = this.#cost(a.compiled.action, {});
    if (cost === undefined || ref === undefined || original === undefined || price === undefined) return;
    if (typeof cost["amount"] !== "string" || typeof cost["currency"] !== "string" || !/[1-9]/.test(cost["amount"])) return;
    try {
      const walletDid = this.commerce?.walletOf !== undefined ? await this.commerce.walletOf(a.env.principal_did) : await wallet.walletOf(a.env.principal_did);
      if (walletDid === undefined) return;
      const hold = await wallet.authorize(walletDid, { amount: price.amount, currency: price.currency, tool_did: this.did, agent_did: a.env.agent_did, idempotency_key: `oap-invoke:${original}` });
      await wallet.capture(hold.hold_id, { amount: cost["amount"], receipt_id: String(ref["id"]), final: true, idempotency_key: `oap-capture:${original}` });
    } catch (e) {
      this.#log("oap.wallet-error", { request_id: original, message: (e as Error).message, replay: true });
    }
  }

  // -------------------------------------------------------------------------------------------
  // execution
  // -------------------------------------------------------------------------------------------

  async #execute(a: Admitted, progress: (data: JsonValue) => void, task?: TaskRunContext): Promise<Executed> {
    const controller = new AbortController();
    const limitMs = task === undefined ? this.tool.manifest.sla.max_call_duration_ms : undefined;
    const timer =
      limitMs === undefined
        ? undefined
        : setTimeout(() => controller.abort(new OapError("ERR_OAP_TIMEOUT", `action ${a.compiled.id} exceeded max_call_duration_ms (${limitMs} ms)`)), limitMs);
    timer?.unref();
    const onAbort = (s: AbortSignal) => (): void => controller.abort(s.reason);
    // A task outlives the request that created it: only its own signal cancels it.
    const sources = (task === undefined ? [a.meta.signal] : [task.signal]).filter((s): s is AbortSignal => s !== undefined);
    for (const s of sources) {
      if (s.aborted) controller.abort(s.reason);
      else s.addEventListener("abort", onAbort(s), { once: true });
    }
    const traceparent = formatTraceparent(a.trace);
    const ctx: ActionContext = {
      requestId: a.requestId,
      requestTimestamp: a.env.timestamp,
      action: a.compiled.id,
      principalDid: a.env.principal_did,
      agentDid: a.env.agent_did,
      ...(a.env.scope_id === undefined ? {} : { scopeId: a.env.scope_id }),
      context: a.env.context,
      locale: a.locale,
      identity: a.identity,
      signal: controller.signal,
      trace: a.trace,
      traceparent,
      ...(task === undefined ? {} : { taskId: task.taskId }),
      progress,
      requestInput: (request) => {
        if (task === undefined) return Promise.reject(new OapError("ERR_OAP_CONFLICT", "requestInput is only available when the action runs as a task"));
        return task.requestInput(request);
      },
      log: (message, data) => this.#log("oap.handler", { request_id: a.requestId, action: a.compiled.id, message, trace: traceparent, ...(data === undefined ? {} : { data }) }),
    };
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (controller.signal.aborted) reject(controller.signal.reason);
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
      });
      aborted.catch(() => undefined);
      const result = await Promise.race([Promise.resolve().then(() => a.spec.handler(a.env.input, ctx)), aborted]);
      const { output, meta } = result instanceof ActionResult ? { output: result.output as JsonValue, meta: result.meta } : { output: result as JsonValue, meta: {} };
      a.compiled.assertOutput(output);
      return { output, meta };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  #cost(action: OapAction, meta: ActionResultMeta): { amount: string; currency: string } | undefined {
    if (meta.cost !== undefined) return { amount: meta.cost.amount, currency: meta.cost.currency };
    const c = action.cost;
    if (c !== undefined && c.type === "per_call" && typeof c.amount === "string" && typeof c.currency === "string") return { amount: c.amount, currency: c.currency };
    return undefined;
  }

  /**
   * The reservation an invocation's receipt completes in the same transaction (a node killed
   * after the receipt commit leaves the key completed, not `in_flight`): the sync / stream
   * invocation's `execute` ticket; on failure only when the action may have had an effect (a
   * read-only failure releases the key instead). Tasks completed their ticket with the 202.
   */
  #completing(a: Admitted, type: "invocation" | "task_completion", failed: boolean): Extract<IdempotencyTicket, { kind: "execute" }> | undefined {
    if (type !== "invocation" || a.ticket.kind !== "execute") return undefined;
    const fx = a.compiled.action.side_effects;
    if (failed && (fx === "none" || fx === "read")) return undefined;
    return a.ticket;
  }

  /** The §19.1 body of the receipt of `a` (no output: a failed attempt). */
  #receiptBody(a: Admitted, output: JsonValue | undefined, meta: ActionResultMeta, type: "invocation" | "task_completion"): ReceiptBody {
    const cost = output === undefined ? undefined : this.#cost(a.compiled.action, meta);
    const response: { output?: unknown; model_version?: string; cost?: { amount?: string; currency?: string } } = {};
    if (output !== undefined) response.output = output;
    if (meta.modelVersion !== undefined) response.model_version = meta.modelVersion;
    if (cost !== undefined) response.cost = cost;
    return invocationReceiptBody({
      request: a.env,
      response,
      toolDid: this.did,
      actionVersion: a.compiled.action.version,
      policyDecisions: [policyDecisionRef(a.decision), ...a.decisions.map(policyDecisionRef)],
      ...(meta.provenanceTagsOut === undefined ? {} : { provenanceTagsOut: meta.provenanceTagsOut }),
      type,
    });
  }

  /**
   * The members of a task failed because its node is gone (a lease that expired on a shared
   * store, or a previous run of this node): a signed error response and — when the task was
   * created with its failure context — a `task_completion` receipt of the failed attempt (the
   * same receipt a task failing on its own node gets); the task's wallet hold is released.
   */
  async #failLostTask(r: TaskRecord, cause: LostTaskCause): Promise<TaskPatch> {
    const e = new OapError("ERR_OAP_INTERNAL", cause === "restart" ? "the task was interrupted by a restart of the Tool" : "the node running the task was lost before the task finished");
    if (r.failure === undefined) return { response: this.#signErrorEnvelope(e, r.task.request_id) };
    const issued = await this.ledger.issue(r.failure.receipt as unknown as ReceiptBody);
    const hasLogs = (this.#o.logs?.length ?? 0) + (this.#o.logClients?.length ?? 0) > 0;
    const receipt = hasLogs ? await this.ledger.anchor(issued.receipt) : issued.receipt;
    const wallet = this.commerce?.wallet;
    const hold = r.failure.hold;
    if (wallet !== undefined && hold !== undefined) await Promise.resolve(wallet.release(hold)).catch((x: unknown) => this.#log("oap.wallet-error", { request_id: r.task.request_id, message: (x as Error).message }));
    this.#log("oap.task-reclaimed", { task_id: r.task.task_id, cause, previous_owner: r.lease?.owner ?? null, receipt_id: receipt["receipt_id"] as string });
    return { response: this.#signErrorEnvelope(e, r.task.request_id, receipt["receipt_id"] as string), receipt };
  }

  /**
   * Chains, signs, stores (and anchors) the receipt. With `completion`, the receipt id is chosen
   * first, `completion.response(receiptId)` is the signed response, and it is stored as the
   * ticket's idempotency completion together with the receipt (one transaction when the store
   * has {@link OapStore.appendReceiptCompleting}).
   */
  async #issueReceipt(
    a: Admitted,
    output: JsonValue | undefined,
    meta: ActionResultMeta,
    type: "invocation" | "task_completion",
    completion?: { readonly ticket: Extract<IdempotencyTicket, { kind: "execute" }>; readonly response: (receiptId: string) => JsonObject },
  ): Promise<JsonObject> {
    const body = this.#receiptBody(a, output, meta, type);
    let issued;
    if (completion === undefined) {
      issued = await this.ledger.issue(body);
    } else {
      const receiptId = this.#ids.receiptId();
      const answer = completion.response(receiptId);
      const store = this.store;
      const ticket = completion.ticket;
      issued = await this.ledger.issue({ ...body, receipt_id: receiptId } as ReceiptBody, {
        append: async (principal, receipt, hash, previous) => {
          if (store.appendReceiptCompleting !== undefined) {
            await store.appendReceiptCompleting(principal, receipt, hash, previous, { key: ticket.storeKey, response: answer, ...(ticket.owner === undefined ? {} : { owner: ticket.owner }) });
            ticket.end();
          } else {
            await store.receipts.append(principal, receipt, hash, previous);
            await ticket.complete(answer);
          }
        },
      });
    }
    const hasLogs = (this.#o.logs?.length ?? 0) + (this.#o.logClients?.length ?? 0) > 0;
    return hasLogs ? this.ledger.anchor(issued.receipt) : issued.receipt;
  }

  async #finish(a: Admitted, x: Executed, type: "invocation" | "task_completion"): Promise<{ response: JsonObject; receipt: JsonObject }> {
    const cost = this.#cost(a.compiled.action, x.meta);
    const responseId = this.#ids.ulid();
    const timestamp = rfc3339(this.#clock());
    const envelope = (receiptId: string, anchoredIn: readonly string[]): JsonObject => {
      const env: JsonObject = {
        oap_version: "1.0",
        request_id: a.requestId,
        response_id: responseId,
        timestamp,
        status: "ok",
        output: x.output,
        ...(x.meta.modelVersion === undefined ? {} : { model_version: x.meta.modelVersion }),
        ...(cost === undefined ? {} : { cost }),
        receipt: anchoredIn.length > 0 ? { id: receiptId, anchored_in: [...anchoredIn] } : { id: receiptId },
        warnings: [...a.warnings, ...(x.meta.warnings ?? [])],
      };
      if (this.compat) env["receipt_id"] = receiptId;
      return this.#sign(env);
    };
    const ticket = this.#completing(a, type, false);
    let stored: JsonObject | undefined;
    const receipt = await this.#issueReceipt(a, x.output, x.meta, type, ticket === undefined ? undefined : { ticket, response: (id) => (stored = envelope(id, [])) });
    const receiptId = receipt["receipt_id"] as string;
    await this.#settleHold(a, receiptId, cost);
    const anchoredIn = Array.isArray(receipt["anchors"]) ? receipt["anchors"].filter(isJsonObject).map((r) => String(r["log_id"])) : [];
    if (stored !== undefined && anchoredIn.length === 0) return { response: stored, receipt };
    // Anchored after the commit: the stored answer (which a retry after a crash gets) is replaced by the one naming the logs.
    const response = envelope(receiptId, anchoredIn);
    if (ticket !== undefined) await ticket.complete(response);
    return { response, receipt };
  }

  async #finishError(a: Admitted, e: unknown, type: "invocation" | "task_completion"): Promise<{ response: JsonObject; receipt: JsonObject }> {
    const ticket = this.#completing(a, type, true);
    let stored: JsonObject | undefined;
    const receipt = await this.#issueReceipt(a, undefined, {}, type, ticket === undefined ? undefined : { ticket, response: (id) => (stored = this.#signErrorEnvelope(e, a.requestId, id)) });
    await this.#settleHold(a, undefined, undefined).catch((e: unknown) => this.#log("oap.wallet-error", { request_id: a.requestId, message: (e as Error).message }));
    return { response: stored ?? this.#signErrorEnvelope(e, a.requestId, receipt["receipt_id"] as string), receipt };
  }

  /** Ends an idempotency reservation after a failure that happened while executing. */
  async #settleFailure(a: Admitted): Promise<void> {
    if (a.ticket.kind !== "execute") return;
    const fx = a.compiled.action.side_effects;
    // An action that may have had an effect: #finishError completed the key with the receipt.
    if (fx === "none" || fx === "read") await a.ticket.release();
  }

  #logOutcome(a: Admitted, status: number, extra: Record<string, JsonValue | undefined> = {}): void {
    this.#log("oap.invoke", { request_id: a.requestId, action: a.compiled.id, principal_did: a.env.principal_did, agent_did: a.env.agent_did, status, trace: formatTraceparent(a.trace), ...extra });
  }

  #errorOutcome(e: unknown, raw: unknown, meta: InvocationMeta, trace: TraceContext): Extract<InvokeOutcome, { kind: "error" }> {
    const rid = isJsonObject(raw) && typeof raw["request_id"] === "string" ? raw["request_id"] : meta.header("oap-request-id");
    const answer = this.errorAnswer(e, rid);
    if (!isOapError(e)) this.#log("oap.internal-error", { request_id: rid ?? null, message: (e as Error)?.message ?? String(e), trace: formatTraceparent(trace) });
    this.#log("oap.invoke", { request_id: rid ?? null, action: isJsonObject(raw) && typeof raw["action"] === "string" ? raw["action"] : null, status: answer.status, code: answer.error.code, trace: formatTraceparent(trace) });
    return { kind: "error", status: answer.status, body: answer.body, error: answer.error, cause: e, ...(answer.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: answer.retryAfterSeconds }), trace, requestId: String(answer.body["request_id"]) };
  }

  /** The trace of a request (OAP-Trace, else traceparent). */
  trace(meta: InvocationMeta): TraceContext {
    return continueTrace(meta.header("oap-trace") ?? meta.header("traceparent"), this.#random);
  }

  /** §8 invoke: a response, a 202 task (async actions, `Prefer: respond-async`), or an error envelope. Never throws. */
  async invoke(raw: unknown, meta: InvocationMeta): Promise<InvokeOutcome> {
    const trace = this.trace(meta);
    let a: Admitted;
    try {
      a = await this.#admit(raw, meta, trace);
    } catch (e) {
      if (e instanceof TimeLocked) return this.#timeLockedOutcome(e, raw, trace);
      return this.#errorOutcome(e, raw, meta, trace);
    }
    if (a.ticket.kind === "replay") {
      a.release();
      await this.#resettleReplay(a, a.ticket.response);
      return this.#replayOutcome(a, a.ticket.response);
    }
    const wantsAsync = a.spec.mode === "async" || /\brespond-async\b/i.test(meta.header("prefer") ?? "");
    if (wantsAsync) {
      try {
        return await this.#startTask(a);
      } catch (e) {
        a.release();
        await this.#settleHold(a, undefined, undefined).catch(() => undefined);
        if (a.ticket.kind === "execute") await a.ticket.release();
        return this.#errorOutcome(e, raw, meta, trace);
      }
    }
    let executed: Executed;
    try {
      executed = await this.#execute(a, () => undefined);
    } catch (e) {
      a.release();
      try {
        const { response } = await this.#finishError(a, e, "invocation");
        await this.#settleFailure(a);
        const answer = httpErrorOf(e);
        this.#logOutcome(a, answer.status, { code: answer.error.code });
        const retry = e instanceof OapError ? e.retryAfterSeconds : undefined;
        return { kind: "error", status: answer.status, body: response, error: answer.error, cause: e, ...(retry === undefined ? {} : { retryAfterSeconds: retry }), trace, requestId: a.requestId };
      } catch (e2) {
        if (a.ticket.kind === "execute") await a.ticket.release();
        return this.#errorOutcome(e2, raw, meta, trace);
      }
    }
    try {
      const { response } = await this.#finish(a, executed, "invocation");
      this.#logOutcome(a, 200, { receipt_id: (response["receipt"] as JsonObject)["id"] as string });
      return { kind: "response", status: 200, body: response, trace, requestId: a.requestId };
    } catch (e) {
      if (a.ticket.kind === "execute") await a.ticket.release();
      return this.#errorOutcome(e, raw, meta, trace);
    } finally {
      a.release();
    }
  }

  async #replayOutcome(a: Admitted, stored: JsonObject): Promise<InvokeOutcome> {
    this.#logOutcome(a, 200, { idempotent_replay: true });
    if (stored["status"] === "accepted") {
      const out = stored["output"];
      const taskId = isJsonObject(out) && typeof out["task_id"] === "string" ? out["task_id"] : undefined;
      if (taskId !== undefined) {
        const task = await this.tasks.get(taskId).catch(() => undefined);
        if (task !== undefined) return { kind: "task", status: 202, body: stored, task, trace: a.trace, requestId: a.requestId };
      }
    }
    if (stored["status"] === "error" && isJsonObject(stored["error"])) {
      const code = String(stored["error"]["code"]);
      const e = new OapError("ERR_OAP_REMOTE", String(stored["error"]["message"]), { wire: code as OapErrorObject["code"] });
      return { kind: "error", status: e.httpStatus, body: stored, error: e.toErrorObject(), cause: e, trace: a.trace, requestId: a.requestId };
    }
    return { kind: "response", status: 200, body: stored, trace: a.trace, requestId: a.requestId };
  }

  /** The §9.2 descriptor members of a task. */
  static descriptor(task: TaskJson): JsonObject {
    return {
      task_id: task.task_id,
      status: task.status,
      ...(task.poll_url === undefined ? {} : { poll_url: task.poll_url }),
      callback_url_supported: task.callback_url_supported === true,
      ...(task.estimated_completion === undefined ? {} : { estimated_completion: task.estimated_completion }),
    };
  }

  async #startTask(a: Admitted): Promise<InvokeOutcome> {
    const est = a.spec.estimatedSeconds;
    const created = await this.tasks.create({
      request_id: a.requestId,
      action: a.compiled.id,
      principal_did: a.env.principal_did,
      agent_did: a.env.agent_did,
      ...(est === undefined ? {} : { estimated_completion: new Date(clockMs(this.#clock) + est * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") }),
      // If this node dies, the node that takes the task over fails it with this receipt.
      failure: { receipt: this.#receiptBody(a, undefined, {}, "task_completion") as unknown as JsonObject, ...(a.hold === undefined ? {} : { hold: a.hold }) },
    });
    const task = await this.tasks.transition(created.task_id, "accepted");
    const accepted = this.#sign({
      oap_version: "1.0",
      request_id: a.requestId,
      response_id: this.#ids.ulid(),
      timestamp: rfc3339(this.#clock()),
      status: "accepted",
      output: OapToolServer.descriptor(task),
      warnings: [...a.warnings],
    });
    if (a.ticket.kind === "execute") await a.ticket.complete(accepted);
    this.tasks.run(task.task_id, async (ctx): Promise<TaskCompletion> => {
      try {
        const x = await this.#execute(a, () => undefined, ctx);
        return { status: "completed", finalize: async () => this.#finish(a, x, "task_completion") };
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        const error = errorObjectOf(e);
        return { status: "failed", reason: `${error.code}: ${error.message}`, finalize: async () => this.#finishError(a, e, "task_completion") };
      } finally {
        a.release();
      }
    });
    this.#logOutcome(a, 202, { task_id: task.task_id });
    return { kind: "task", status: 202, body: accepted, task, trace: a.trace, requestId: a.requestId };
  }

  /**
   * §9.1 stream: admission as for invoke (errors are answered before any event), then
   * `oap.progress` events (seq 1, 2, …) and one final `oap.complete` with the signed response
   * and the receipt, or `oap.error` (with the receipt when execution had started).
   */
  async openStream(raw: unknown, meta: InvocationMeta): Promise<StreamOutcome> {
    const trace = this.trace(meta);
    let a: Admitted;
    try {
      a = await this.#admit(raw, meta, trace);
    } catch (e) {
      if (e instanceof TimeLocked) {
        const l = e.lock;
        const locked = new OapError("ERR_OAP_CONFLICT", `the action is time-locked until ${l.execute_after}; re-send with OAP-Time-Lock: ${l.lock_id}`, { details: { lock_id: l.lock_id, execute_after: l.execute_after, status: l.status } });
        return this.#errorOutcome(locked, raw, meta, trace);
      }
      return this.#errorOutcome(e, raw, meta, trace);
    }
    const ch = new Channel<StreamEventJson>();
    let seq = 0;
    if (a.ticket.kind === "replay") {
      a.release();
      const stored = a.ticket.response;
      await this.#resettleReplay(a, stored);
      const ref = stored["receipt"];
      const receipt = isJsonObject(ref) && typeof ref["id"] === "string" ? await this.store.receipts.get(ref["id"]) : undefined;
      const event = stored["status"] === "error" ? "oap.error" : "oap.complete";
      ch.push({ seq: 1, event, response: stored, ...(receipt === undefined ? {} : { receipt }) } as StreamEventJson);
      ch.end();
      this.#logOutcome(a, 200, { idempotent_replay: true, stream: true });
      return { kind: "stream", events: ch, trace, requestId: a.requestId };
    }
    const progress = (data: JsonValue): void => {
      if (!ch.ended) ch.push({ seq: ++seq, event: "oap.progress", data } as StreamEventJson);
    };
    void (async () => {
      try {
        let executed: Executed;
        try {
          executed = await this.#execute(a, progress);
        } catch (e) {
          const { response, receipt } = await this.#finishError(a, e, "invocation");
          await this.#settleFailure(a);
          ch.push({ seq: ++seq, event: "oap.error", response, receipt } as StreamEventJson);
          this.#logOutcome(a, httpErrorOf(e).status, { code: errorObjectOf(e).code, stream: true });
          return;
        }
        const { response, receipt } = await this.#finish(a, executed, "invocation");
        ch.push({ seq: ++seq, event: "oap.complete", response, receipt } as StreamEventJson);
        this.#logOutcome(a, 200, { stream: true, receipt_id: receipt["receipt_id"] as string });
      } catch (e) {
        if (a.ticket.kind === "execute") await a.ticket.release().catch(() => undefined);
        ch.push({ seq: ++seq, event: "oap.error", response: this.#signErrorEnvelope(e, a.requestId) } as StreamEventJson);
      } finally {
        a.release();
        ch.end();
      }
    })();
    return { kind: "stream", events: ch, trace, requestId: a.requestId };
  }

  // -------------------------------------------------------------------------------------------
  // tasks
  // -------------------------------------------------------------------------------------------

  /** Resolves a task id given as URN or bare ULID. */
  taskIdOf(idOrUlid: string): string {
    return idOrUlid.startsWith("urn:oap:task:") ? idOrUlid : `urn:oap:task:${idOrUlid}`;
  }

  async #partyTask(taskId: string, caller: CallerIdentity | undefined): Promise<TaskJson> {
    const c = requireCaller(caller);
    const task = await this.tasks.get(this.taskIdOf(taskId)).catch(() => undefined);
    if (task === undefined || !callerIsParty(c, task)) throw new OapError("ERR_OAP_NOT_FOUND", `unknown task ${taskId}`, { details: { task_id: taskId } });
    return task;
  }

  /** GetTask / poll: the task, for its Principal or agent. */
  async getTask(taskId: string, caller: CallerIdentity | undefined): Promise<TaskJson> {
    return this.#partyTask(taskId, caller);
  }

  /** WatchTask / SSE: the task after each transition (see TaskManager.watch). */
  async watchTask(taskId: string, afterSeq: number, caller: CallerIdentity | undefined, signal?: AbortSignal): Promise<AsyncGenerator<{ readonly seq: number; readonly task: TaskJson }>> {
    const task = await this.#partyTask(taskId, caller);
    return this.tasks.watch(task.task_id, afterSeq, signal);
  }

  /** ListTasks: the caller's tasks (as Principal, or as agent). */
  async listTasks(query: { readonly principal_did?: string; readonly status?: readonly string[]; readonly page_size?: number; readonly page_token?: string }, caller: CallerIdentity | undefined): Promise<{ tasks: TaskJson[]; next_page_token?: string }> {
    const c = requireCaller(caller);
    const status = (query.status ?? []).filter((s): s is TaskStatus => isTaskStatus(s));
    if ((query.status ?? []).length !== status.length) throw new OapError("ERR_OAP_INPUT_INVALID", "status must name §9.2 task states");
    const limit = Math.min(Math.max(1, Math.floor(query.page_size ?? 50)), 500);
    let q: TaskQuery;
    if (query.principal_did !== undefined && callerActsFor(c, query.principal_did)) q = { principal_did: query.principal_did, status, limit };
    else if (query.principal_did === undefined && c.principal_did !== undefined) q = { principal_did: c.principal_did, status, limit };
    else if (c.did !== undefined) q = { agent_did: c.did, ...(query.principal_did === undefined ? {} : { principal_did: query.principal_did }), status, limit };
    else throw new OapError("ERR_OAP_POLICY_BLOCK", "the credential does not act for that Principal");
    const page = await this.tasks.list(query.page_token === undefined || query.page_token === "" ? q : { ...q, after: query.page_token });
    return { tasks: page.tasks.map((r) => r.task), ...(page.next === undefined ? {} : { next_page_token: page.next }) };
  }

  async #verifyControl(raw: unknown, kind: string): Promise<{ msg: JsonObject; task: TaskJson }> {
    if (!isJsonObject(raw)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `a ${kind} must be a JSON object`);
    for (const m of ["task_id", "request_id", "timestamp", "principal_did", "agent_did"]) {
      if (typeof raw[m] !== "string" || (raw[m] as string).length === 0) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `${kind}: ${m} is required`);
    }
    if (!ULID_PATTERN.test(raw["request_id"] as string)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `${kind}: request_id must be a ULID`);
    const agent = raw["agent_did"] as string;
    this.replay.checkTimestamp(raw["timestamp"]);
    await verifyDocument(raw, this.keys, { expectedSigner: agent, now: this.#clock });
    await this.replay.checkNonce(agent, raw["request_id"]);
    const task = await this.tasks.get(this.taskIdOf(raw["task_id"] as string)).catch(() => undefined);
    if (task === undefined || task.agent_did !== agent || task.principal_did !== raw["principal_did"]) {
      throw new OapError("ERR_OAP_NOT_FOUND", `unknown task ${String(raw["task_id"])}`, { details: { task_id: String(raw["task_id"]) } });
    }
    return { msg: raw, task };
  }

  /** CancelTask: a signed control message of the task's agent (docs/oap-signatures.md). */
  async cancelTask(raw: unknown): Promise<TaskJson> {
    const { msg, task } = await this.#verifyControl(raw, "CancelTaskRequest");
    const reason = typeof msg["reason"] === "string" && msg["reason"].length > 0 ? msg["reason"] : "canceled by the agent";
    return this.tasks.cancel(task.task_id, reason.slice(0, 500));
  }

  /** ProvideInput: a signed control message of the task's agent; the task must be awaiting_input. */
  async provideInput(raw: unknown): Promise<TaskJson> {
    const { msg, task } = await this.#verifyControl(raw, "ProvideInputRequest");
    if (!Object.hasOwn(msg, "input")) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "ProvideInputRequest: input is required");
    return this.tasks.provideInput(task.task_id, msg["input"] as JsonValue);
  }

  // -------------------------------------------------------------------------------------------
  // audit, data rights, incidents, discovery, webhooks
  // -------------------------------------------------------------------------------------------

  /**
   * The audit endpoint: the receipt chain and audit entries of the authenticated Principal
   * (`principal_did`, default the caller's), paged by `offset` / `events_offset`; or one receipt
   * by `receipt_id` for its Principal or agent.
   */
  async audit(
    query: { readonly principal_did?: string; readonly receipt_id?: string; readonly offset?: number; readonly limit?: number; readonly events_offset?: number },
    caller: CallerIdentity | undefined,
  ): Promise<JsonObject> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 100)), 1000);
    if (query.receipt_id !== undefined) {
      const r = await this.store.receipts.get(query.receipt_id);
      const party = r !== undefined && (this.compat || callerIsParty(caller, { principal_did: String(r["principal_did"]), agent_did: String(r["agent_did"]) }));
      if (r === undefined || !party) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${query.receipt_id}`);
      return { principal_did: String(r["principal_did"]), receipts: [r], events: [] };
    }
    const principal = query.principal_did ?? caller?.principal_did ?? caller?.did;
    if (this.compat && caller === undefined) {
      if (principal === undefined) return { receipts: [], events: [], total: 0 };
    } else {
      const c = requireCaller(caller);
      if (principal === undefined || !callerActsFor(c, principal)) throw new OapError("ERR_OAP_POLICY_BLOCK", "the audit log is readable by its Principal only");
    }
    const p = principal as string;
    const offset = Math.max(0, Math.floor(query.offset ?? 0));
    const eventsOffset = Math.max(0, Math.floor(query.events_offset ?? 0));
    const receipts = await this.store.receipts.list(p, { offset, limit });
    const events = await this.store.audit.list(p, { offset: eventsOffset, limit });
    return {
      principal_did: p,
      receipts,
      events: events as unknown as JsonObject[],
      ...(receipts.length === limit ? { next_offset: offset + limit } : {}),
      ...(events.length === limit ? { next_events_offset: eventsOffset + limit } : {}),
    };
  }

  /**
   * §17.3 data_delete: erases the Principal's tasks, cached idempotent responses, webhook
   * subscriptions and the Tool's own data (hook), records a `deletion` receipt in the chain and
   * an audit entry, and returns a signed oap-deletion-receipt. Receipts and the audit log are
   * retained (they hold hashes and decisions, not payloads: `exceptions: regulatory_retention`).
   */
  async dataDelete(body: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    if (!isJsonObject(body) || typeof body["principal_did"] !== "string") throw new OapError("ERR_OAP_INPUT_INVALID", "data_delete needs {principal_did}");
    const principal = body["principal_did"];
    if (!callerActsFor(c, principal)) throw new OapError("ERR_OAP_POLICY_BLOCK", "only the Principal may erase its data");
    const received = rfc3339(this.#clock());
    const tasks = await this.store.tasks.deleteByPrincipal(principal);
    const idem = await this.store.idempotency.deleteByPrincipal(principal);
    const hooks = await this.store.webhooks.deleteByPrincipal(principal);
    const own = await this.tool.data?.delete?.(principal);
    const classes = ["task_records", "idempotent_responses", "webhook_subscriptions", ...((own && own.data_classes) ?? [])];
    const issued = await this.ledger.issue({ type: "deletion", principal_did: principal, agent_did: c.did ?? principal, tool_did: this.did } as ReceiptBody);
    const completed = rfc3339(this.#clock());
    await this.store.audit.append({ principal_did: principal, at: completed, kind: "deletion", data: { erased: { tasks, idempotent_responses: idem, webhook_subscriptions: hooks }, data_classes: classes, receipt_id: issued.receipt["receipt_id"] as string, credential: c.credential } });
    const doc: JsonObject = {
      receipt_id: `urn:oap:deletion:${this.#ids.ulid()}`,
      tool_did: this.did,
      principal_did: principal,
      request_received_at: received,
      completed_at: completed,
      method: "logical_purge",
      scope: { data_classes: classes, provenance_tags: [], subprocessors_propagated_to: [] },
      exceptions: [{ reason: "regulatory_retention" }],
    };
    this.#log("oap.data-delete", { principal_did: principal, tasks, idempotent_responses: idem });
    return signDocument(doc, this.#signer, { schema: "oap-deletion-receipt" }) as unknown as JsonObject;
  }

  /** data_export: everything kept about the Principal, signed by the Tool. */
  async dataExport(principalDid: string | undefined, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    const principal = principalDid ?? c.principal_did ?? c.did;
    if (principal === undefined || !callerActsFor(c, principal)) throw new OapError("ERR_OAP_POLICY_BLOCK", "only the Principal may export its data");
    const tasks: TaskJson[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.tasks.list({ principal_did: principal, limit: 500, ...(after === undefined ? {} : { after }) });
      tasks.push(...page.tasks.map((r) => r.task));
      if (page.next === undefined) break;
      after = page.next;
    }
    const at = rfc3339(this.#clock());
    await this.store.audit.append({ principal_did: principal, at, kind: "export", data: { credential: c.credential } });
    const doc: JsonObject = {
      principal_did: principal,
      tool_did: this.did,
      exported_at: at,
      receipts: await this.store.receipts.list(principal),
      tasks: tasks as unknown as JsonObject[],
      audit: (await this.store.audit.list(principal)) as unknown as JsonObject[],
      data: (await this.tool.data?.export?.(principal)) ?? null,
    };
    return signDocument(doc, this.#signer) as unknown as JsonObject;
  }

  /** §22.2: publishes an incident (an oap-incident document of this Tool). */
  async publishIncident(incident: JsonObject): Promise<void> {
    assertOapDocument("oap-incident", incident);
    if (incident["tool_did"] !== this.did) throw new OapError("ERR_OAP_INPUT_INVALID", "the incident names another Tool");
    await this.store.incidents.publish(incident);
  }

  /** The incident endpoint (GET): published incidents. */
  async incidents(): Promise<JsonObject> {
    return { tool_did: this.did, incidents: await this.store.incidents.list() };
  }

  /** The incident endpoint (POST): a report from a Principal or agent, acknowledged with an id. */
  async reportIncident(body: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    if (!isJsonObject(body) || typeof body["summary"] !== "string" || body["summary"].length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "an incident report needs a summary");
    const id = `inr_${this.#ids.ulid()}`;
    const who = c.principal_did ?? (c.did as string);
    const at = rfc3339(this.#clock());
    await this.store.audit.append({ principal_did: who, at, kind: "incident_report", data: { report_id: id, report: body, credential: c.credential } });
    this.#log("oap.incident-report", { report_id: id, from: who });
    return { report_id: id, status: "received", received_at: at };
  }

  /**
   * §14 discover: ranks the actions against the intent (word overlap with id, summary,
   * descriptions and the Tool's categories), filters by `constraints.max_cost_<currency>`, and
   * returns `matching_actions` with a confidence in [0, 1] and the estimated cost.
   */
  discover(body: unknown): JsonObject {
    if (!isJsonObject(body) || typeof body["intent"] !== "string" || body["intent"].trim() === "") throw new OapError("ERR_OAP_INPUT_INVALID", "discover needs {intent: string}");
    const words = (t: string): string[] => t.toLowerCase().split(/[^a-z0-9]+/u).filter((w) => w.length >= 3 && !STOPWORDS.has(w));
    const intent = [...new Set(words(body["intent"]))];
    const constraints = isJsonObject(body["constraints"]) ? body["constraints"] : {};
    const categories = this.tool.manifest.tool.categories.join(" ");
    const matches: JsonObject[] = [];
    for (const a of this.tool.manifest.actions) {
      const text = new Set(words(`${a.id.replace(/_/g, " ")} ${a.summary} ${a.description_for_agents} ${categories}`));
      const hits = intent.filter((w) => text.has(w) || [...text].some((t) => t.startsWith(w) || w.startsWith(t))).length;
      if (hits === 0) continue;
      const cost = a.cost?.type === "free" ? { amount: "0", currency: "EUR" } : typeof a.cost?.amount === "string" && typeof a.cost.currency === "string" ? { amount: a.cost.amount, currency: a.cost.currency } : null;
      const max = cost === null ? undefined : constraints[`max_cost_${cost.currency.toLowerCase()}`];
      if (cost !== null && (typeof max === "string" || typeof max === "number") && Number(cost.amount) > Number(max)) continue;
      matches.push({ id: a.id, version: a.version, summary: a.summary, confidence: Math.round((hits / intent.length) * 1000) / 1000, estimated_cost: cost, side_effects: a.side_effects, risk_class: effectiveRiskClass(a, this.tool.manifest) });
    }
    matches.sort((x, y) => (y["confidence"] as number) - (x["confidence"] as number));
    return { tool_did: this.did, intent: body["intent"], matching_actions: matches };
  }

  /** §9.3 subscribe: a webhook subscription for the caller's (or one of its) tasks. */
  async subscribe(body: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    if (this.#webhooks === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool takes no webhook subscriptions");
    const c = requireCaller(caller);
    if (!isJsonObject(body)) throw new OapError("ERR_OAP_INPUT_INVALID", "subscribe needs {callback_url, events?, task_id?}");
    const callback = checkCallbackUrl(body["callback_url"], this.#o.webhooks !== false && this.#o.webhooks?.allowInsecureCallbacks === true);
    const events = body["events"] === undefined ? ["task.*"] : body["events"];
    const coordination = (this.#o.governance ?? this.tool.governance)?.coordination !== undefined;
    if (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === "string" && ((coordination && e === STATE_CHANGED_EVENT) || (/^task\.(\*|[a-z_]+)$/.test(e) && (e === "task.*" || isTaskStatus(e.slice(5))))))) {
      throw new OapError("ERR_OAP_INPUT_INVALID", `events must name task.<status> or task.*${coordination ? ` or ${STATE_CHANGED_EVENT}` : ""}`);
    }
    if (body["resource"] !== undefined && (typeof body["resource"] !== "string" || !events.includes(STATE_CHANGED_EVENT))) throw new OapError("ERR_OAP_INPUT_INVALID", `resource (a string) narrows ${STATE_CHANGED_EVENT} subscriptions`);
    let taskId: string | undefined;
    if (body["task_id"] !== undefined) {
      if (typeof body["task_id"] !== "string") throw new OapError("ERR_OAP_INPUT_INVALID", "task_id must be a string");
      taskId = (await this.#partyTask(body["task_id"], c)).task_id;
    }
    const owner = c.principal_did ?? (c.did as string);
    const asPrincipal = c.principal_did !== undefined || (typeof body["principal_did"] === "string" && body["principal_did"] === c.did);
    const sub: WebhookSubscription = {
      id: `whs_${this.#ids.ulid()}`,
      owner,
      ...(asPrincipal ? { principal_did: owner } : { agent_did: c.did as string }),
      ...(taskId === undefined ? {} : { task_id: taskId }),
      ...(typeof body["resource"] === "string" ? { resource: body["resource"] } : {}),
      callback_url: callback,
      events: events as string[],
      created_at: rfc3339(this.#clock()),
    };
    await this.store.webhooks.add(sub);
    await this.store.audit.append({ principal_did: owner, at: sub.created_at, kind: "webhook_subscription", data: { action: "created", subscription_id: sub.id, callback_url: callback, events: [...sub.events] } });
    return { subscription_id: sub.id, status: "active", ...(sub as unknown as JsonObject) };
  }

  /**
   * §12.2 `POST subscribe` with a `tier` (commerce; the webhook form has `callback_url`): the
   * caller must act for the Principal (or be the named Agent).
   */
  async commerceSubscribe(body: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const subs = this.subscriptions;
    if (subs === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool sells no subscriptions");
    const c = requireCaller(caller);
    if (!isJsonObject(body) || typeof body["tier"] !== "string" || typeof body["principal_did"] !== "string") throw new OapError("ERR_OAP_INPUT_INVALID", "subscribe needs {principal_did, agent_did?, tier, scope_id?, consent_receipt?, autonomous_policy?}");
    const principalDid = body["principal_did"];
    const agentDid = typeof body["agent_did"] === "string" ? body["agent_did"] : (c.did ?? principalDid);
    if (!callerIsParty(c, { principal_did: principalDid, agent_did: agentDid })) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "the caller acts neither for the Principal nor as the Agent");
    const r = await subs.subscribe({
      principal_did: principalDid,
      agent_did: agentDid,
      tier: body["tier"],
      ...(typeof body["scope_id"] === "string" ? { scope_id: body["scope_id"] } : {}),
      ...(typeof body["consent_receipt"] === "string" ? { consent_receipt: body["consent_receipt"] } : {}),
      ...(isJsonObject(body["autonomous_policy"]) ? { autonomous_policy: body["autonomous_policy"] as never } : {}),
    });
    return { subscription_id: r.subscription.subscription_id, status: r.subscription.status, ...(r.subscription_token === undefined ? {} : { subscription_token: r.subscription_token }), subscription: r.subscription as unknown as JsonObject };
  }

  /** §12.4 cancel a commercial subscription (`DELETE subscribe/{urn:oap:subscription:…}`). */
  async commerceCancel(id: string, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const subs = this.subscriptions;
    if (subs === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown subscription ${id}`);
    const c = requireCaller(caller);
    const sub = await subs.get(id);
    if (sub === undefined || !callerActsFor(c, sub.principal_did)) throw new OapError("ERR_OAP_NOT_FOUND", `unknown subscription ${id}`);
    const r = await subs.cancel(id, { principal_did: sub.principal_did, channel: "tool" });
    return { subscription_id: id, status: r.subscription.status };
  }

  /** `GET billing?principal_did=`: the Principal's subscriptions, price options and price-change notices. */
  async billing(principalDid: string | undefined, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const subs = this.subscriptions;
    if (subs === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no billing");
    const pricing = this.tool.manifest.pricing as unknown as Pricing | undefined;
    const out: JsonObject = { tool_did: this.did, price_options: priceOptions(pricing) as unknown as JsonObject[], price_change_notices: subs.priceChangeNotices() as unknown as JsonObject[] };
    if (principalDid !== undefined) {
      if (!callerActsFor(requireCaller(caller), principalDid)) throw new OapError("ERR_OAP_NOT_FOUND", "no billing for this Principal");
      out["principal_did"] = principalDid;
      out["subscriptions"] = (await subs.list(principalDid)) as unknown as JsonObject[];
    }
    return out;
  }

  /** Removes a webhook subscription (its owner only). */
  async unsubscribe(id: string, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    const sub = await this.store.webhooks.get(id);
    if (sub === undefined || (sub.owner !== c.principal_did && sub.owner !== c.did)) throw new OapError("ERR_OAP_NOT_FOUND", `unknown subscription ${id}`);
    await this.store.webhooks.remove(id);
    await this.store.audit.append({ principal_did: sub.owner, at: rfc3339(this.#clock()), kind: "webhook_subscription", data: { action: "removed", subscription_id: id } });
    return { subscription_id: id, status: "canceled" };
  }

  /**
   * The caller of a non-invocation request (caller-auth.ts): an RFC 9421 signature by a DID key,
   * or a bearer credential bound to a Principal; undefined when none is presented.
   */
  async authenticateCaller(msg: HttpMessageView, body?: Uint8Array): Promise<CallerIdentity | undefined> {
    return authenticateCaller(msg, body, {
      keys: this.keys,
      nonces: this.store.nonces,
      clock: this.#clock,
      ...(this.#o.apiKeys === undefined ? {} : { apiKeys: this.#o.apiKeys }),
      ...(this.#o.oauth === undefined ? {} : { oauth: this.#o.oauth }),
    });
  }

  /** The public JWK of the Tool key (for tests and DID documents). */
  get publicKey(): JsonObject {
    return publicKeyFor(this.#signer.key.publicJwk).jwk as unknown as JsonObject;
  }

  /** True when a task status is terminal. */
  static isTerminal(status: TaskStatus): boolean {
    return isTerminalTaskStatus(status);
  }
}

const STOPWORDS = new Set(["the", "and", "for", "from", "with", "next", "this", "that", "into", "over", "about", "what", "when", "where", "which", "want", "need", "please", "get", "give", "find"]);
