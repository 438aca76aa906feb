/**
 * An OHP node: one party of the control plane, sender and receiver at once. As a receiver,
 * {@link OhpNode.handle} is the {@link OhpEnvelopeHandler} every binding calls: idempotency
 * (same id → the same answer, from the durable store), transport authentication (DPoP at
 * Sealed+ over HTTPS and gRPC), the receiver pipeline, the application's decision, the state
 * machine, and a signed ACCEPT/REJECT written to the store before it leaves. As a sender,
 * {@link OhpNode.propose}, {@link OhpNode.assume}, {@link OhpNode.returnHandoff} and
 * {@link OhpNode.resume} build, sign, send over a binding, verify the answer and move the
 * handoff through D08.
 *
 * Answers (decision recorded in docs/decisions.md #16): every verb that is not itself an answer
 * gets one (ACCEPT or REJECT, `control.refs.proposedId` = the id answered), so every binding
 * carries the same exchange; answers are signed at Signed (Core envelopes get a Core answer),
 * and a `tier-insufficient` REJECT carries the receiver's max tier in `audience.minTier`.
 */
import type { Jwks, PublicJwk } from "../../crypto/jwk.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { publicJwks } from "../../crypto/keys.js";
import { isAgentwireError } from "../../errors.js";
import { canonicalizeJson } from "../../jcs/index.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { InMemoryDpopReplayCache, type DpopReplayCache } from "../../trust/dpop/replay.js";
import { verifyDpopProof } from "../../trust/dpop/verify.js";
import { createDpopProof } from "../../trust/dpop/create.js";
import { buildEnvelope, type EnvelopeInput, type SealInput } from "../builder.js";
import type { InboundMeta, OhpBindingName, OhpEnvelopeHandler } from "../bindings/types.js";
import type { ReceiverHooks, ReceiverPolicy } from "../policy.js";
import type { RateLimiter } from "../receiver-state.js";
import type { RejectReason } from "../reasons.js";
import { isTier, tierAtLeast, TIERS, type Tier } from "../tiers.js";
import { OhpReceiver, verifyEnvelope, type VerifyEnvelopeResult } from "../verify.js";
import { ASSUME_WINDOW_MS, ControlError, nextReceiverState, nextSenderState, type ReceiverState, type SenderState } from "./machine.js";
import type { HandoffEvent, HandoffRecord, HandoffStore } from "./store.js";

/** Who the node is (the `issuer` of what it sends). */
export interface NodeIdentity {
  readonly vendor: string;
  readonly agentId: string;
  readonly region: string;
  readonly did: string;
}

/** The application's verdict on a verified PROPOSE / unsolicited ASSUME. */
export type HandoffDecision = { readonly verdict: "accept" } | { readonly verdict: "reject"; readonly reason: RejectReason; readonly note?: string };

/** A peer as the sender knows it: where to send, how, and its keys. */
export interface PeerRef {
  /** Base URL of the peer (`http://127.0.0.1:8080`), or a `sip:` URI for ohp/sip-info. */
  readonly url: string;
  readonly binding: OhpBindingName;
  /** The peer's public keys (its `/.well-known/ohp-jwks.json`): signature verification and HPKE sealing. */
  readonly jwks: Jwks<PublicJwk>;
  /** The peer's `issuer.did` / `audience.did`. */
  readonly did?: string;
  /** The peer's `/.well-known/ohp-capabilities.json`, when discovered (its `maxTier` is respected). */
  readonly capabilities?: JsonObject;
  readonly vendor?: string;
}

/** Sends one envelope to a peer over a binding and returns the answer envelope (if any). */
export interface OhpTransport {
  send(peer: PeerRef, envelope: JsonObject, extra: { readonly dpop?: string }): Promise<JsonObject | undefined>;
}

/** A structured log line. */
export interface NodeLogEvent {
  readonly at: string;
  readonly event: string;
  readonly handoff?: string;
  readonly verb?: string;
  readonly binding?: string;
  readonly outcome?: string;
  readonly reason?: string | null;
  readonly step?: number | null;
  readonly [key: string]: unknown;
}

/** Options of {@link OhpNode}. */
export interface OhpNodeOptions {
  readonly identity: NodeIdentity;
  /** EdDSA (and ML-DSA-65 for Regulated) signing keys. */
  readonly signingKeys: readonly PrivateKeyRecord[];
  /** X25519 HPKE keys (step 13). */
  readonly encryptionKeys: readonly PrivateKeyRecord[];
  readonly store: HandoffStore;
  /** Per-`kid` rate limiter of the receiver (e.g. one shared by several nodes); default in memory per `policy.rateLimit`. */
  readonly rateLimiter?: RateLimiter;
  /** Issuers this node trusts as a receiver: their public JWKS by DID (or vendor). */
  readonly trustedIssuers?: ReadonlyMap<string, Jwks<PublicJwk>>;
  /** Resolves issuers not in `trustedIssuers` (e.g. did:web); `undefined` = not trusted. */
  readonly resolveIssuerKeys?: (did: string) => Promise<Jwks<PublicJwk> | undefined>;
  readonly policy?: ReceiverPolicy;
  /** Extra receiver hooks (consent, IdP, declarations, GPAI, anchoring, issuer resolution). */
  readonly hooks?: ReceiverHooks;
  /** The application's decision after the pipeline accepted. Default: accept. */
  readonly decide?: (envelope: JsonObject, result: VerifyEnvelopeResult) => Promise<HandoffDecision> | HandoffDecision;
  /** Transports by binding, for sending. */
  readonly transports?: Partial<Record<OhpBindingName, OhpTransport>>;
  /** Require a DPoP proof bound to the issuer's keys for Sealed+ envelopes over HTTPS and gRPC. Default true. */
  readonly requireDpop?: boolean;
  /** DPoP `jti` replay cache (e.g. one shared by several nodes); default in memory, this process. */
  readonly dpopReplayCache?: DpopReplayCache;
  readonly now?: () => Date;
  readonly log?: (event: NodeLogEvent) => void;
}

/** What {@link OhpNode.propose} returns. */
export interface ProposeResult {
  readonly handoffId: string;
  readonly state: SenderState;
  readonly answer?: JsonObject;
  readonly verb?: "ACCEPT" | "REJECT";
  readonly reason?: string;
  /** The ids of every PROPOSE sent (more than one after a fallback re-issue). */
  readonly attempts: readonly string[];
}

/** Options of {@link OhpNode.propose}. */
export interface ProposeOptions {
  readonly seal?: Omit<SealInput, "recipients">;
  /** Re-issue on these REJECT reasons (a `control.fallback` of the node), with this edit. */
  readonly fallback?: { readonly onReasons: readonly string[]; readonly edit: (input: EnvelopeInput, reject: JsonObject) => EnvelopeInput };
}

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(v) ? v : undefined;
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function refOf(envelope: JsonObject): string | undefined {
  return str(obj(obj(envelope["control"])?.["refs"])?.["proposedId"]);
}

/** An OHP node (see the module comment). */
export class OhpNode {
  readonly #o: OhpNodeOptions;
  readonly #receiver: OhpReceiver;
  readonly #dpopReplay: DpopReplayCache;
  readonly #now: () => Date;

  constructor(options: OhpNodeOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#dpopReplay = options.dpopReplayCache ?? new InMemoryDpopReplayCache();
    this.#receiver = new OhpReceiver({
      replayStore: options.store.replay,
      keys: options.encryptionKeys,
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.rateLimiter && options.policy?.rateLimit !== false ? { rateLimiter: options.rateLimiter } : {}),
    });
  }

  /** The node's identity. */
  get identity(): NodeIdentity {
    return this.#o.identity;
  }

  /** The node's public JWKS (`/.well-known/ohp-jwks.json`): signing and HPKE keys. */
  jwks(): Jwks<PublicJwk> {
    return publicJwks([...this.#o.signingKeys, ...this.#o.encryptionKeys]);
  }

  /** The highest tier this node receives. */
  get maxTier(): Tier {
    return this.#o.policy?.maxTier ?? "regulated";
  }

  #log(event: Omit<NodeLogEvent, "at">): void {
    this.#o.log?.({ at: this.#now().toISOString(), ...event } as NodeLogEvent);
  }

  async #record(base: Omit<HandoffRecord, "history" | "updatedAt">, previous: HandoffRecord | undefined, event: string, envelopeId?: string, note?: string): Promise<HandoffRecord> {
    const at = this.#now().toISOString();
    const step: HandoffEvent = { at, event, state: base.state, ...(envelopeId ? { envelopeId } : {}), ...(note ? { note } : {}) };
    const record: HandoffRecord = { ...base, history: [...(previous?.history ?? []), step], updatedAt: at };
    await this.#o.store.put(record);
    return record;
  }

  // ---------------------------------------------------------------------------------------------
  // receiving

  /** The handler every binding calls (never throws for bad input). */
  readonly handle: OhpEnvelopeHandler = async (envelope: unknown, meta: InboundMeta): Promise<JsonObject | undefined> => {
    try {
      return await this.#handle(envelope, meta);
    } catch (e) {
      // Defensive: an unexpected failure still answers with a REJECT, never a crash.
      this.#log({ event: "internal-error", message: (e as Error).message, binding: meta.binding });
      const env = isJsonObject(envelope as JsonValue) ? (envelope as JsonObject) : {};
      return this.#answer(env, "REJECT", "unknown", `internal error: ${(e as Error).message}`);
    }
  };

  async #handle(envelope: unknown, meta: InboundMeta): Promise<JsonObject | undefined> {
    const env = isJsonObject(envelope as JsonValue) ? (envelope as JsonObject) : undefined;
    const id = env === undefined ? undefined : str(env["id"]);
    const verb = env === undefined ? undefined : str(obj(env["control"])?.["verb"]);
    if (id !== undefined) {
      const cached = await this.#o.store.getAnswer(id);
      // Only an exact retransmission of the recorded request gets its answer back; another
      // envelope reusing the id (a re-signed twin, or a forgery naming a known id) goes through
      // the pipeline and is rejected there (replay, signature), without learning the answer.
      if (cached !== undefined && (env === undefined || (await this.#isRecordedRequest(env, id, verb)) !== false)) {
        this.#log({ event: "duplicate", handoff: id, verb, binding: meta.binding });
        return cached;
      }
    }
    if (verb === "ACCEPT" || verb === "REJECT") {
      // Answers are correlated by the binding that sent the request; one arriving here is late
      // or unsolicited: logged, never answered (answers are not answered).
      this.#log({ event: "uncorrelated-answer", handoff: env === undefined ? undefined : refOf(env), verb, binding: meta.binding });
      return undefined;
    }
    // Transport authentication (RFC 9449) for Sealed+ over HTTPS / gRPC.
    const tier = env?.["conformance"];
    const dpopFailure = await this.#checkDpop(env, meta);
    if (dpopFailure !== undefined) return this.#finish(env ?? {}, id, "REJECT", "signature-invalid", dpopFailure, meta, undefined);

    const result = await this.#receiver.receive(envelope, {
      ...(meta.expected ? { expected: meta.expected } : {}),
      ...(meta.byteLength !== undefined ? { byteLength: meta.byteLength } : {}),
      now: this.#now(),
      hooks: this.#hooks(meta),
    });
    this.#log({ event: "verified", handoff: id, verb, binding: meta.binding, ...(meta.traceparent ? { trace: meta.traceparent } : {}), outcome: result.outcome, reason: result.rejectReason, step: result.firstFailingStep, check: result.check, unverified: result.unverified.length });
    if (result.check === "replay" && env !== undefined && id !== undefined) {
      const recovered = await this.#recover(env, id, verb);
      if (recovered !== undefined) {
        this.#log({ event: "recovered-answer", handoff: id, verb, binding: meta.binding });
        await this.#o.store.putAnswer(id, recovered, this.#cacheUntil(env));
        return recovered;
      }
    }
    if (result.outcome === "reject" || env === undefined) {
      return this.#finish(env ?? {}, id, "REJECT", result.rejectReason ?? "unknown", result.detail?.message, meta, result);
    }
    switch (verb) {
      case "PROPOSE":
        return this.#onPropose(env, result, meta);
      case "ASSUME":
        return this.#onAssume(env, result, meta);
      case "RETURN":
        return this.#onReturn(env, meta);
      case "INCIDENT":
        if (!isTier(tier) || tier !== "regulated") return this.#finish(env, id, "REJECT", "tier-insufficient", "INCIDENT is Regulated only", meta, result);
        this.#log({ event: "incident", handoff: id, reason: str(obj(env["control"])?.["reason"]) ?? null });
        return this.#finish(env, id, "ACCEPT", undefined, "incident recorded", meta, result);
      default:
        return this.#finish(env, id, "REJECT", "unknown", `unsupported verb ${String(verb)}`, meta, result);
    }
  }

  /** The trusted keys of an issuer object (static trust first, then the resolver). */
  async #issuerKeys(issuer: JsonObject): Promise<Jwks<PublicJwk> | undefined> {
    const did = str(issuer["did"]);
    const vendor = str(issuer["vendor"]);
    const trusted = this.#o.trustedIssuers;
    const fixed = (did !== undefined ? trusted?.get(did) : undefined) ?? (vendor !== undefined ? trusted?.get(vendor) : undefined);
    if (fixed !== undefined) return fixed;
    if (did === undefined || this.#o.resolveIssuerKeys === undefined) return undefined;
    try {
      return await this.#o.resolveIssuerKeys(did);
    } catch (e) {
      this.#log({ event: "issuer-resolution-failed", did, message: (e as Error).message });
      return undefined;
    }
  }

  #hooks(meta: InboundMeta): ReceiverHooks {
    const base = this.#o.hooks ?? {};
    const hooks: { -readonly [K in keyof ReceiverHooks]: ReceiverHooks[K] } = { ...base };
    if (hooks.resolveIssuer === undefined) {
      hooks.resolveIssuer = async (issuer) => {
        const jwks = await this.#issuerKeys(issuer);
        const name = str(issuer["did"]) ?? str(issuer["vendor"]) ?? "?";
        return jwks === undefined ? { refused: true, reason: "signature-invalid", message: `issuer ${name} is not trusted by this node` } : { keys: jwks };
      };
    }
    if (meta.sipCallId !== undefined) {
      const live = base.liveCall;
      const callId = meta.sipCallId;
      hooks.liveCall = async (e) => ({ ...(live ? await live(e) : {}), callId });
    }
    return hooks;
  }

  async #checkDpop(env: JsonObject | undefined, meta: InboundMeta): Promise<string | undefined> {
    if (this.#o.requireDpop === false || env === undefined) return undefined;
    const tier = env["conformance"];
    if (!isTier(tier) || !tierAtLeast(tier, "sealed") || (meta.binding !== "ohp/https" && meta.binding !== "ohp/grpc")) return undefined;
    const jwks = await this.#issuerKeys(obj(env["issuer"]) ?? {});
    try {
      await verifyDpopProof(meta.dpop, {
        htm: meta.httpMethod ?? "POST",
        htu: meta.httpUri ?? "",
        now: this.#now(),
        replayCache: this.#dpopReplay,
        ...(jwks ? { issuerJwks: jwks } : {}),
      });
      return undefined;
    } catch (e) {
      return `DPoP (RFC 9449) required at ${tier} over ${meta.binding}: ${isAgentwireError(e) ? `${e.code}: ` : ""}${(e as Error).message}`;
    }
  }

  /**
   * A retransmission whose (id, nonce) is already seen but whose answer never reached the
   * answer cache (the node died in between): the answer is in the handoff record.
   */
  async #recover(env: JsonObject, id: string, verb: string | undefined): Promise<JsonObject | undefined> {
    // The same (id, nonce) on other content is a replay, not a retransmission.
    if ((await this.#isRecordedRequest(env, id, verb)) === false) return undefined;
    if (verb === "PROPOSE") {
      const r = await this.#o.store.get(id, "receiver");
      return r?.envelopes["ACCEPT"] ?? r?.envelopes["REJECT"];
    }
    const ref = refOf(env);
    if (verb === "ASSUME") {
      const r = (ref === undefined ? undefined : await this.#o.store.get(ref, "receiver")) ?? (await this.#o.store.get(id, "receiver"));
      return r?.envelopes["ASSUME"]?.["id"] === id ? r.envelopes["ASSUME/answer"] : undefined;
    }
    if (verb === "RETURN" && ref !== undefined) {
      const r = await this.#o.store.get(ref, "sender");
      return r?.envelopes["RETURN"]?.["id"] === id ? r.envelopes["RETURN/answer"] : undefined;
    }
    return undefined;
  }

  /**
   * Whether `env` is the request recorded for its handoff (canonical JSON equal, so the same
   * envelope arriving over another binding matches): true / false, or undefined when no request
   * is recorded for it (e.g. a REJECTed PROPOSE before any state, or another verb).
   */
  async #isRecordedRequest(env: JsonObject, id: string, verb: string | undefined): Promise<boolean | undefined> {
    let recorded: JsonObject | undefined;
    if (verb === "PROPOSE") recorded = (await this.#o.store.get(id, "receiver"))?.envelopes["PROPOSE"];
    else if (verb === "ASSUME" || verb === "RETURN") {
      const ref = refOf(env);
      const r = ref === undefined ? undefined : await this.#o.store.get(ref, verb === "ASSUME" ? "receiver" : "sender");
      const held = r?.envelopes[verb];
      recorded = held?.["id"] === id ? held : undefined;
    }
    if (recorded === undefined) return undefined;
    try {
      return canonicalizeJson(recorded) === canonicalizeJson(env);
    } catch {
      return false;
    }
  }

  async #onPropose(env: JsonObject, result: VerifyEnvelopeResult, meta: InboundMeta): Promise<JsonObject> {
    const id = str(env["id"]) as string;
    const decision = this.#o.decide ? await this.#o.decide(env, result) : ({ verdict: "accept" } as const);
    if (decision.verdict === "reject") return this.#finish(env, id, "REJECT", decision.reason, decision.note, meta, result);
    return this.#finish(env, id, "ACCEPT", undefined, undefined, meta, result);
  }

  async #onAssume(env: JsonObject, result: VerifyEnvelopeResult, meta: InboundMeta): Promise<JsonObject> {
    const id = str(env["id"]) as string;
    const ref = refOf(env);
    const held = ref === undefined ? undefined : await this.#o.store.get(ref, "receiver");
    if (held !== undefined && held.state === "ACCEPTED") {
      const now = this.#now().getTime();
      if (held.assumeDeadlineMs !== undefined && now > held.assumeDeadlineMs) {
        await this.#record({ ...held, state: nextReceiverState(held.state as ReceiverState, "assume-window-passed") }, held, "assume-window-passed");
        return this.#finish(env, id, "REJECT", "stale", "no ASSUME within PT10S: the handoff was released (§8.4)", meta, result, { skipRecord: true });
      }
      const proposer = str(obj(held.envelopes["PROPOSE"]?.["issuer"])?.["vendor"]);
      if (proposer !== undefined && proposer !== str(obj(env["issuer"])?.["vendor"])) {
        return this.#finish(env, id, "REJECT", "signature-invalid", "ASSUME from another issuer than the PROPOSE", meta, result, { skipRecord: true });
      }
      const next = nextReceiverState(held.state as ReceiverState, "assume-received");
      this.#log({ event: "handed-off", handoff: held.id, binding: meta.binding });
      return this.#finish(env, id, "ACCEPT", undefined, undefined, meta, result, {
        skipRecord: true,
        beforeCache: (answer) => this.#record({ ...held, state: next, envelopes: { ...held.envelopes, ASSUME: env, "ASSUME/answer": answer } }, held, "assume-received", id),
      });
    }
    if (held !== undefined) {
      return this.#finish(env, id, "REJECT", "stale", `handoff ${held.id} is ${held.state}, not waiting for ASSUME`, meta, result, { skipRecord: true });
    }
    // Flow D: an unsolicited ASSUME (cross-channel resume) is judged like a PROPOSE.
    const decision = this.#o.decide ? await this.#o.decide(env, result) : ({ verdict: "accept" } as const);
    if (decision.verdict === "reject") return this.#finish(env, id, "REJECT", decision.reason, decision.note, meta, result);
    return this.#finish(env, id, "ACCEPT", undefined, "cross-channel resume", meta, result, {
      skipRecord: true,
      beforeCache: (answer) =>
        this.#record(
          { id, role: "receiver", state: "HANDED_OFF", tier: env["conformance"] as Tier, binding: meta.binding, ...this.#peerOf(env), envelopes: { ASSUME: env, ACCEPT: answer, "ASSUME/answer": answer } },
          undefined,
          "resume-accepted",
          id,
          ref === undefined ? undefined : `resumes ${ref}`,
        ),
    });
  }

  async #onReturn(env: JsonObject, meta: InboundMeta): Promise<JsonObject> {
    const id = str(env["id"]) as string;
    const ref = refOf(env);
    const mine = ref === undefined ? undefined : await this.#o.store.get(ref, "sender");
    if (mine === undefined || mine.state !== "HANDED_OFF") {
      return this.#finish(env, id, "REJECT", "unknown", `RETURN references ${String(ref)}, which this node did not hand off`, meta, undefined, { skipRecord: true });
    }
    this.#log({ event: "resumed", handoff: mine.id, binding: meta.binding });
    const next = nextSenderState(mine.state as SenderState, "return-received");
    return this.#finish(env, id, "ACCEPT", undefined, undefined, meta, undefined, {
      skipRecord: true,
      beforeCache: (answer) => this.#record({ ...mine, state: next, envelopes: { ...mine.envelopes, RETURN: env, "RETURN/answer": answer } }, mine, "return-received", id),
    });
  }

  #peerOf(env: JsonObject): { peer?: string; callId?: string } {
    const issuer = obj(env["issuer"]);
    const peer = str(issuer?.["did"]) ?? str(issuer?.["vendor"]);
    const callId = str(obj(env["session"])?.["callId"]);
    return { ...(peer ? { peer } : {}), ...(callId ? { callId } : {}) };
  }

  /** Builds, persists (idempotency + state) and returns the answer. */
  async #finish(
    env: JsonObject,
    id: string | undefined,
    verb: "ACCEPT" | "REJECT",
    reason: string | undefined,
    note: string | undefined,
    meta: InboundMeta,
    result: VerifyEnvelopeResult | undefined,
    options: { readonly skipRecord?: boolean; readonly beforeCache?: (answer: JsonObject) => Promise<unknown> } = {},
  ): Promise<JsonObject> {
    const answer = await this.#answer(env, verb, reason, note, result);
    // State (with the answer inside it) is written before the answer cache, so a node killed in
    // between can still answer a retransmission from the record (#recover).
    await options.beforeCache?.(answer);
    const received = str(obj(env["control"])?.["verb"]);
    if (id !== undefined && received === "PROPOSE" && options.skipRecord !== true && result?.outcome !== "reject") {
      const state: ReceiverState = verb === "ACCEPT" ? "ACCEPTED" : "REJECTED";
      await this.#record(
        {
          id,
          role: "receiver",
          state,
          tier: (isTier(env["conformance"]) ? env["conformance"] : "core") as Tier,
          binding: meta.binding,
          ...this.#peerOf(env),
          envelopes: { PROPOSE: env, [verb]: answer },
          ...(verb === "ACCEPT" ? { assumeDeadlineMs: this.#now().getTime() + ASSUME_WINDOW_MS } : {}),
          ...(reason ? { rejectReason: reason } : {}),
        },
        undefined,
        verb === "ACCEPT" ? "accept-sent" : "reject-sent",
        id,
        note,
      );
    }
    if (id !== undefined) {
      const keep = this.#cacheUntil(env);
      // Only authenticated envelopes' ids are cached: a forged copy must not poison the cache; nor
      // does a replay (its id's answer belongs to the envelope first received with it).
      if (result?.check !== "replay" && (result?.outcome === "accept" || (result !== undefined && result.firstFailingStep !== null && result.firstFailingStep > 2))) {
        await this.#o.store.putAnswer(id, answer, keep);
      }
    }
    this.#log({ event: "answered", handoff: id, verb, reason: reason ?? null, binding: meta.binding, ...(meta.traceparent ? { trace: meta.traceparent } : {}) });
    return answer;
  }

  /** How long an answer stays in the idempotency cache: at least `notAfter` + 5 s, and 5 minutes. */
  #cacheUntil(env: JsonObject): number {
    const notAfter = Date.parse(str(env["notAfter"]) ?? "");
    return Math.max(Number.isNaN(notAfter) ? 0 : notAfter + 5_000, this.#now().getTime() + 5 * 60_000);
  }

  /** A signed ACCEPT/REJECT answering `env`. */
  async #answer(env: JsonObject, verb: "ACCEPT" | "REJECT", reason: string | undefined, note: string | undefined, result?: VerifyEnvelopeResult): Promise<JsonObject> {
    const receivedTier = isTier(env["conformance"]) ? (env["conformance"] as Tier) : "core";
    const issuer = obj(env["issuer"]) ?? {};
    const session = obj(env["session"]) ?? {};
    const canSign = receivedTier !== "core" && typeof issuer["did"] === "string";
    const tier: Tier = canSign ? "signed" : "core";
    const minTier: Tier = reason === "tier-insufficient" ? this.maxTier : tier;
    const policy = obj(env["policy"]);
    const input: Record<string, unknown> = {
      tier,
      verb,
      issuer: { ...this.#o.identity },
      audience: {
        vendor: str(issuer["vendor"]) ?? "unknown",
        ...(typeof issuer["did"] === "string" ? { did: issuer["did"] } : {}),
        purpose: str(obj(env["audience"])?.["purpose"]) ?? "ai-vendor-handoff",
        minTier,
      },
      session: {
        callId: str(session["callId"]) ?? "unknown",
        channel: str(session["channel"]) ?? "voice/sip",
        locale: str(session["locale"]) ?? "en",
      },
      intent: { current: { name: `ohp.${verb.toLowerCase()}`, confidence: 1 }, stack: [], slots: {} },
      transcript: {
        summary: `${verb}${reason ? ` (${reason})` : ""} of ${str(env["id"]) ?? "an unreadable envelope"}${note ? `: ${note}` : ""}`.slice(0, 480),
        ...(tier === "signed" ? { redaction: { policy: "pii-mask+pci-drop+phi-mask", version: "1.1" } } : {}),
      },
      control: {
        reason: reason ?? "accepted",
        ...(typeof env["id"] === "string" ? { refs: { proposedId: env["id"] } } : {}),
      },
    };
    if (tier === "signed") {
      input["policy"] = {
        retention: obj(policy?.["retention"]) ?? { transcript: "P30D", audio: "P0D", embeddings: "P0D" },
        redaction: obj(policy?.["redaction"]) ?? { pii: "mask", pci: "drop", phi: "mask" },
        dataResidency: Array.isArray(policy?.["dataResidency"]) ? policy["dataResidency"] : ["GB"],
      };
    }
    void result;
    const built = await buildEnvelope(input as unknown as EnvelopeInput, {
      keys: this.#o.signingKeys.filter((k) => k.alg === "EdDSA"),
      anchor: false,
      now: this.#now,
      redaction: false,
      piiScanExempt: ["/transcript/summary"],
    });
    return built.envelope;
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  async #send(peer: PeerRef, envelope: JsonObject): Promise<JsonObject | undefined> {
    const transport = this.#o.transports?.[peer.binding];
    if (transport === undefined) throw new ControlError("ERR_OHP_CONTROL_BINDING", `no transport for ${peer.binding}`);
    let dpop: string | undefined;
    const tier = envelope["conformance"];
    if (isTier(tier) && tierAtLeast(tier, "sealed") && (peer.binding === "ohp/https" || peer.binding === "ohp/grpc")) {
      const key = this.#o.signingKeys.find((k) => k.alg === "EdDSA");
      if (key !== undefined) {
        const htu = peer.binding === "ohp/https" ? `${peer.url.replace(/\/$/, "")}/ohp/v1/transfer` : `${peer.url.replace(/\/$/, "")}/ohp.v0_1.Handoff/Stream`;
        dpop = await createDpopProof({ key, htm: "POST", htu });
      }
    }
    this.#log({ event: "send", handoff: str(envelope["id"]), verb: str(obj(envelope["control"])?.["verb"]), binding: peer.binding });
    return transport.send(peer, envelope, dpop === undefined ? {} : { dpop });
  }

  /** Verifies an answer from `peer` (its signature at least); returns the verified verb. */
  async #verifyAnswer(peer: PeerRef, answer: JsonObject, sentId: string): Promise<{ verb: "ACCEPT" | "REJECT"; reason?: string }> {
    const verb = str(obj(answer["control"])?.["verb"]);
    if (verb !== "ACCEPT" && verb !== "REJECT") throw new ControlError("ERR_OHP_CONTROL_NO_ANSWER", `the peer answered with ${String(verb)}`);
    if (refOf(answer) !== sentId) throw new ControlError("ERR_OHP_CONTROL_PEER", `the answer references ${String(refOf(answer))}, not ${sentId}`);
    const r = await verifyEnvelope(answer, {
      jwks: peer.jwks,
      now: this.#now(),
      policy: { tierCompleteness: "warn", requireHooks: false, contentScan: "warn", rateLimit: false },
    });
    if (r.outcome !== "accept") {
      throw new ControlError("ERR_OHP_CONTROL_PEER", `the peer's ${verb} does not verify: ${r.rejectReason} at step ${String(r.firstFailingStep)} (${r.detail?.message ?? ""})`);
    }
    const reason = str(obj(answer["control"])?.["reason"]);
    return { verb, ...(reason ? { reason } : {}) };
  }

  #inputFor(input: EnvelopeInput, peer: PeerRef): EnvelopeInput {
    return {
      ...input,
      issuer: { ...input.issuer, ...this.#o.identity },
      audience: { ...input.audience, ...(peer.did ? { did: peer.did } : {}), ...(peer.vendor ? { vendor: peer.vendor } : {}) },
    };
  }

  async #build(input: EnvelopeInput, peer: PeerRef, seal: ProposeOptions["seal"]): Promise<JsonObject> {
    const sealed = tierAtLeast(input.tier, "sealed");
    const recipients = sealed ? peer.jwks.keys.filter((k) => k.use === "enc") : [];
    if (sealed && recipients.length === 0) throw new ControlError("ERR_OHP_CONTROL_PEER", "the peer publishes no HPKE key to seal for");
    const built = await buildEnvelope(input, {
      keys: this.#o.signingKeys,
      anchor: false,
      now: this.#now,
      ...(sealed ? { seal: { ...(seal ?? {}), recipients } } : {}),
    });
    return built.envelope;
  }

  /**
   * Sender: PROPOSE to `peer`, verify the answer, record the state (PROPOSING → ACCEPTED |
   * REJECTED), and re-issue once per configured fallback reason.
   */
  async propose(peer: PeerRef, input: EnvelopeInput, options: ProposeOptions = {}): Promise<ProposeResult> {
    const attempts: string[] = [];
    const advertised = peer.capabilities?.["maxTier"];
    if (isTier(advertised) && !tierAtLeast(advertised, input.tier)) {
      throw new ControlError("ERR_OHP_CONTROL_PEER", `the receiver advertises maxTier ${advertised}; a ${input.tier} PROPOSE would be rejected (§11)`, {
        detail: { maxTier: advertised, tier: input.tier },
      });
    }
    let current = this.#inputFor({ ...input, verb: "PROPOSE" }, peer);
    for (let round = 0; round < 3; round++) {
      const envelope = await this.#build(current, peer, options.seal);
      const id = envelope["id"] as string;
      attempts.push(id);
      const base = { id, role: "sender" as const, tier: current.tier, binding: peer.binding, peer: peer.url, callId: current.session.callId, notAfterMs: Date.parse(envelope["notAfter"] as string) };
      let record = await this.#record({ ...base, state: nextSenderState("READY", "propose-sent"), envelopes: { PROPOSE: envelope } }, undefined, "propose-sent", id);
      const answer = await this.#send(peer, envelope);
      if (answer === undefined) throw new ControlError("ERR_OHP_CONTROL_NO_ANSWER", `no answer to ${id}`);
      const { verb, reason } = await this.#verifyAnswer(peer, answer, id);
      const state = nextSenderState("PROPOSING", verb === "ACCEPT" ? "accept-received" : "reject-received");
      record = await this.#record({ ...record, state, envelopes: { ...record.envelopes, [verb]: answer }, ...(reason && verb === "REJECT" ? { rejectReason: reason } : {}) }, record, verb === "ACCEPT" ? "accept-received" : "reject-received", answer["id"] as string, reason);
      if (verb === "ACCEPT") return { handoffId: id, state, answer, verb, attempts };
      const fb = options.fallback;
      if (fb !== undefined && reason !== undefined && fb.onReasons.includes(reason) && round < 2) {
        await this.#record({ ...record, state: nextSenderState("REJECTED", "fallback-reissue") }, record, "fallback-reissue", undefined, reason);
        current = this.#inputFor({ ...fb.edit(current, answer), verb: "PROPOSE" }, peer);
        continue;
      }
      await this.#record({ ...record, state: nextSenderState("REJECTED", "give-up") }, record, "give-up");
      return { handoffId: id, state: "REJECTED", answer, verb, ...(reason ? { reason } : {}), attempts };
    }
    throw new ControlError("ERR_OHP_CONTROL_NO_ANSWER", "fallback re-issues exhausted");
  }

  /** Sender: after ACCEPT, commit with ASSUME (ACCEPTED → HANDED_OFF). */
  async assume(peer: PeerRef, handoffId: string): Promise<{ state: SenderState; answer?: JsonObject }> {
    const record = await this.#o.store.get(handoffId, "sender");
    if (record === undefined) throw new ControlError("ERR_OHP_CONTROL_UNKNOWN_HANDOFF", `no handoff ${handoffId}`);
    const next = nextSenderState(record.state as SenderState, "assume-sent");
    const propose = record.envelopes["PROPOSE"] as JsonObject;
    const input = this.#followUp(propose, "ASSUME", handoffId, "handoff-committed");
    const envelope = await this.#build(input, peer, undefined);
    const answer = await this.#send(peer, envelope);
    if (answer !== undefined) {
      const { verb, reason } = await this.#verifyAnswer(peer, answer, envelope["id"] as string);
      if (verb === "REJECT") {
        const rejected = await this.#record({ ...record, state: nextSenderState(record.state as SenderState, "reject-received"), ...(reason ? { rejectReason: reason } : {}) }, record, "reject-received", answer["id"] as string, reason);
        return { state: rejected.state as SenderState, answer };
      }
    }
    const updated = await this.#record({ ...record, state: next, envelopes: { ...record.envelopes, ASSUME: envelope } }, record, "assume-sent", envelope["id"] as string);
    return { state: updated.state as SenderState, ...(answer ? { answer } : {}) };
  }

  /** Receiver that holds a handoff: give it back with RETURN (HANDED_OFF → RETURNED). */
  async returnHandoff(peer: PeerRef, handoffId: string, slots: Record<string, JsonValue> = {}): Promise<{ state: ReceiverState; answer?: JsonObject }> {
    const record = await this.#o.store.get(handoffId, "receiver");
    if (record === undefined) throw new ControlError("ERR_OHP_CONTROL_UNKNOWN_HANDOFF", `no held handoff ${handoffId}`);
    const next = nextReceiverState(record.state as ReceiverState, "return-sent");
    const propose = record.envelopes["PROPOSE"] as JsonObject;
    const input = this.#followUp(propose, "RETURN", handoffId, "task-complete", slots, peer);
    const envelope = await this.#build(input, peer, undefined);
    const answer = await this.#send(peer, envelope);
    if (answer !== undefined) await this.#verifyAnswer(peer, answer, envelope["id"] as string);
    const updated = await this.#record({ ...record, state: next, envelopes: { ...record.envelopes, RETURN: envelope } }, record, "return-sent", envelope["id"] as string);
    return { state: updated.state as ReceiverState, ...(answer ? { answer } : {}) };
  }

  /** Flow D: claim a conversation on another channel with an unsolicited ASSUME referencing `priorId`. */
  async resume(peer: PeerRef, input: EnvelopeInput, priorId: string): Promise<ProposeResult> {
    const slots = { ...(input.intent.slots ?? {}), resumeFromEnvelopeId: priorId };
    const current = this.#inputFor(
      { ...input, verb: "ASSUME", intent: { ...input.intent, slots }, control: { ...(input.control ?? {}), reason: "cross-channel-resume", refs: { proposedId: priorId } } } as EnvelopeInput,
      peer,
    );
    const envelope = await this.#build(current, peer, undefined);
    const id = envelope["id"] as string;
    const answer = await this.#send(peer, envelope);
    if (answer === undefined) throw new ControlError("ERR_OHP_CONTROL_NO_ANSWER", `no answer to ${id}`);
    const { verb, reason } = await this.#verifyAnswer(peer, answer, id);
    const state: SenderState = verb === "ACCEPT" ? "HANDED_OFF" : "REJECTED";
    await this.#record({ id, role: "sender", state, tier: current.tier, binding: peer.binding, peer: peer.url, envelopes: { ASSUME: envelope, [verb]: answer } }, undefined, verb === "ACCEPT" ? "resume-accepted" : "resume-rejected", answer["id"] as string, reason);
    return { handoffId: id, state, answer, verb, ...(reason ? { reason } : {}), attempts: [id] };
  }

  /**
   * Regulated only (§5.1, Art 73): report a serious incident to `peer` with an INCIDENT
   * envelope (`control.reason` = the incident category); resolves with the verified answer.
   */
  async incident(peer: PeerRef, input: EnvelopeInput, category: string): Promise<{ verb: "ACCEPT" | "REJECT"; reason?: string; answer: JsonObject; id: string }> {
    if (input.tier !== "regulated") throw new ControlError("ERR_OHP_CONTROL_TRANSITION", "INCIDENT is a Regulated verb (§5.1)");
    const current = this.#inputFor({ ...input, verb: "INCIDENT", control: { ...(input.control ?? {}), reason: category } } as EnvelopeInput, peer);
    const envelope = await this.#build(current, peer, undefined);
    const id = envelope["id"] as string;
    const answer = await this.#send(peer, envelope);
    if (answer === undefined) throw new ControlError("ERR_OHP_CONTROL_NO_ANSWER", `no answer to ${id}`);
    const verified = await this.#verifyAnswer(peer, answer, id);
    this.#log({ event: "incident-sent", handoff: id, verb: verified.verb, reason: verified.reason ?? null });
    return { ...verified, answer, id };
  }

  /** The builder input for ASSUME / RETURN following `propose` (same call, same intent). */
  #followUp(propose: JsonObject, verb: "ASSUME" | "RETURN", ref: string, reason: string, slots: Record<string, JsonValue> = {}, peer?: PeerRef): EnvelopeInput {
    const p = structuredClone(propose);
    const tier = p["conformance"] as Tier;
    const audience = obj(p["audience"]) ?? {};
    const issuer = obj(p["issuer"]) ?? {};
    const intent = obj(p["intent"]) ?? {};
    const input: Record<string, unknown> = {
      tier,
      verb,
      // The holder's RETURN keeps the issuer attributes the tier needs (federation, aiRole) but is
      // issued under the holder's own identity.
      issuer: { ...issuer, ...this.#o.identity },
      audience:
        verb === "RETURN"
          ? { vendor: str(issuer["vendor"]) ?? peer?.vendor ?? "unknown", ...(typeof issuer["did"] === "string" ? { did: issuer["did"] } : {}), purpose: audience["purpose"], minTier: tier }
          : { ...audience, minTier: audience["minTier"] ?? tier },
      session: p["session"],
      intent: { ...intent, slots: { ...(obj(intent["slots"]) ?? {}), ...slots } },
      transcript: p["transcript"],
      control: { reason, refs: { proposedId: ref } },
    };
    for (const k of ["caller", "memory", "policy", "aiSystem", "governance", "oversight"]) if (p[k] !== undefined) input[k] = p[k];
    const decisions = p["decisions"];
    if (Array.isArray(decisions)) input["decisions"] = decisions.map((d) => { const { id: _i, at: _a, ...rest } = d as JsonObject; return rest; });
    const transparency = obj(p["transparency"]);
    if (transparency !== undefined) input["transparency"] = { logId: transparency["logId"] };
    if (verb === "RETURN") delete (input["audience"] as Record<string, unknown>)["recipientKeys"];
    delete (input["audience"] as Record<string, unknown>)["recipientKeys"];
    return input as unknown as EnvelopeInput;
  }

  // ---------------------------------------------------------------------------------------------
  // timers

  /**
   * Fires the timers (§5.4): a PROPOSE unanswered past `notAfter` + 5 s becomes REJECTED
   * (`stale`); an ACCEPT without ASSUME within PT10S is RELEASED. Returns what changed.
   */
  async sweep(): Promise<HandoffRecord[]> {
    const now = this.#now().getTime();
    const changed: HandoffRecord[] = [];
    for (const r of await this.#o.store.pending()) {
      if (r.role === "sender" && r.notAfterMs !== undefined && now > r.notAfterMs + 5_000) {
        changed.push(await this.#record({ ...r, state: nextSenderState(r.state as SenderState, "not-after-passed"), rejectReason: "stale" }, r, "not-after-passed"));
      } else if (r.role === "receiver" && r.assumeDeadlineMs !== undefined && now > r.assumeDeadlineMs) {
        changed.push(await this.#record({ ...r, state: nextReceiverState(r.state as ReceiverState, "assume-window-passed") }, r, "assume-window-passed"));
      }
    }
    return changed;
  }

  /** The handoff records (for `agentwire serve` status and tests). */
  async handoffs(role?: "sender" | "receiver"): Promise<HandoffRecord[]> {
    return await this.#o.store.list(role);
  }

  /** `/.well-known/ohp-capabilities.json` of this node. */
  capabilities(endpoints: Readonly<Record<string, string>>, extra: JsonObject = {}): JsonObject {
    const policy = this.#o.policy ?? {};
    return {
      ohp: "0.1",
      maxTier: this.maxTier,
      bindings: Object.keys(endpoints),
      verbs: ["PROPOSE", "ACCEPT", "REJECT", "ASSUME", "RETURN", "INCIDENT"],
      purposes: ["ai-vendor-handoff", "human-takeover", "queue-routing", "cross-channel-resume"],
      jurisdictions: policy.processingJurisdiction ? [policy.processingJurisdiction] : ["GB", "EEA"],
      annexIIIAllowed: [...(policy.annexIIIAllowed ?? [])],
      endpoints: { ...endpoints },
      rateLimits: policy.rateLimit === false ? {} : { envelopesPerMinute: Math.max(1, policy.rateLimit ? Math.round((policy.rateLimit.max * 60_000) / policy.rateLimit.windowMs) : 600) },
      publishedAt: this.#now().toISOString(),
      ...extra,
    };
  }
}

/** Every tier, for option parsing. */
export const NODE_TIERS: readonly Tier[] = TIERS;
