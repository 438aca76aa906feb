/**
 * The Agent Subscription Lifecycle (OAP-CORE-1.0 §12): the 402 `subscription_required` answer
 * with price options (§12.1), consent (§12.2), activation with a `subscription_token` bound to
 * Principal, Agent, Scope, tier, price hash and expiry (§12.3), price changes with 30 days'
 * notice honoured until the end of the paid period, and termination with no friction asymmetry
 * between the Tool and the Wallet interfaces (§12.4).
 *
 * Subscription token: a compact JWS (EdDSA, `typ: "oap-subscription+jwt"`, `kid` = a DID URL of
 * the Tool) whose claims are `iss`/`aud` (the Tool), `sub` and `oap_principal` (Principal),
 * `oap_agent`, `oap_scope` (absent when unscoped), `oap_subscription` (the id), `tier`,
 * `price_hash`, `iat`, `exp` (= end of the current period) and `jti` — the Appendix D JWT
 * claims. {@link SubscriptionManager.verifyToken} checks the signature, expiry, every binding
 * against the request envelope, the stored subscription (active, same price hash) and the
 * Principal's kill switch.
 *
 * @module
 */
import type { OapSubscription } from "../../../gen/types/oap/oap-subscription.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { PrivateKeyRecord as PrivateKey } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import { b64uDecode, b64uEncode, utf8 } from "../../util/base64url.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import type { Revoker } from "../governance/kill-switch.js";
import type { ReceiptLedger } from "../receipts.js";
import type { OapKeyResolver, OapSigner } from "../sign.js";
import { clockMs, didOf, jcsDigest, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { autonomousSubscriptionPermitted, type AutonomousSubscriptionPolicy, type ConsentRegistry } from "./consent.js";
import { formatMoneyAmount, parseDecimal } from "./money.js";
import { priceHash, priceOptions, subscriptionTiers, type BillingInterval, type Pricing, type SubscriptionTier } from "./pricing.js";

export type { OapSubscription } from "../../../gen/types/oap/oap-subscription.js";

/** The free tier id (available when the pricing lists a `free` model or a `free_tier`). */
export const FREE_TIER = "free";
/** §12.4 minimum notice of a price change. */
export const PRICE_CHANGE_NOTICE_DAYS = 30;
/** JWS `typ` of subscription tokens. */
export const SUBSCRIPTION_TOKEN_TYP = "oap-subscription+jwt";

/** Subscription storage. */
export interface SubscriptionStore {
  get(id: string): OapSubscription | undefined | Promise<OapSubscription | undefined>;
  put(subscription: OapSubscription): void | Promise<void>;
  listByPrincipal(principalDid: string): OapSubscription[] | Promise<OapSubscription[]>;
}

/** In-memory {@link SubscriptionStore}. */
export class MemorySubscriptionStore implements SubscriptionStore {
  readonly #m = new Map<string, OapSubscription>();
  get(id: string): OapSubscription | undefined {
    const s = this.#m.get(id);
    return s === undefined ? undefined : { ...s };
  }
  put(subscription: OapSubscription): void {
    this.#m.set(subscription.subscription_id, { ...subscription });
  }
  listByPrincipal(principalDid: string): OapSubscription[] {
    return [...this.#m.values()].filter((s) => s.principal_did === principalDid).map((s) => ({ ...s }));
  }
}

/** The §12.3 token claims. */
export interface SubscriptionTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly oap_principal: string;
  readonly oap_agent: string;
  readonly oap_scope?: string;
  readonly oap_subscription: string;
  readonly tier: string;
  readonly price_hash: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** A §12.4 price change notice. */
export interface PriceChangeNotice {
  readonly tier: string;
  readonly amount: string;
  readonly currency: string;
  readonly interval: BillingInterval;
  readonly price_hash: string;
  readonly announced_at: string;
  readonly effective_at: string;
}

/** Options of {@link SubscriptionManager}. */
export interface SubscriptionManagerOptions {
  readonly toolDid: string;
  /** The manifest's `pricing`. */
  readonly pricing?: Pricing;
  /** The Tool's signing key (a key of `toolDid`). */
  readonly signer: OapSigner | PrivateKeyRecord;
  /** Resolves the Tool's own keys (token verification). */
  readonly keys: OapKeyResolver;
  readonly consents: ConsentRegistry;
  /** §12.1 URLs. */
  readonly endpoints: { readonly agent_subscribe_url: string; readonly checkout_url?: string };
  readonly trialAvailable?: boolean;
  readonly store?: SubscriptionStore;
  /** Records subscription receipts (§19.1). */
  readonly ledger?: ReceiptLedger;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** A subscription request (`POST subscribe`). */
export interface SubscribeRequest {
  readonly principal_did: string;
  readonly agent_did: string;
  readonly scope_id?: string;
  readonly tier: string;
  /** An explicit consent (`urn:oap:consent:…`). */
  readonly consent_receipt?: string;
  /** The Principal's autonomous-subscription policy, as the Agent asserts it (§12.2). */
  readonly autonomous_policy?: AutonomousSubscriptionPolicy;
}

/** What subscribe / activate / renew answer. */
export interface SubscriptionResult {
  readonly subscription: OapSubscription;
  readonly subscription_token?: string;
  readonly receipt?: JsonObject;
}

/** Ends a subscription; both the Tool and the Wallet call this very function (§12.4). */
export interface SubscriptionTerminator {
  cancel(subscriptionId: string, request: { readonly principal_did: string; readonly channel: "tool" | "wallet" }): Promise<SubscriptionResult>;
}

function addInterval(start: Date, interval: BillingInterval): Date {
  const d = new Date(start.getTime());
  switch (interval) {
    case "day":
      d.setUTCDate(d.getUTCDate() + 1);
      return d;
    case "week":
      d.setUTCDate(d.getUTCDate() + 7);
      return d;
    case "month": {
      const day = d.getUTCDate();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + 1);
      const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      d.setUTCDate(Math.min(day, last));
      return d;
    }
    case "year": {
      const day = d.getUTCDate();
      d.setUTCDate(1);
      d.setUTCFullYear(d.getUTCFullYear() + 1);
      const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      d.setUTCDate(Math.min(day, last));
      return d;
    }
  }
}

/** Subscriptions of one Tool. */
export class SubscriptionManager implements SubscriptionTerminator {
  readonly #o: SubscriptionManagerOptions;
  readonly #store: SubscriptionStore;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #notices: PriceChangeNotice[] = [];
  readonly #revokedBefore = new Map<string, number>();

  constructor(options: SubscriptionManagerOptions) {
    this.#o = options;
    this.#store = options.store ?? new MemorySubscriptionStore();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    const kid = this.#signer().kid;
    if (didOf(kid) !== options.toolDid) throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the signing key ${kid} is not a key of ${options.toolDid}`);
  }

  #signer(): { key: PrivateKeyRecord; kid: string } {
    const s = this.#o.signer instanceof PrivateKey ? { key: this.#o.signer } : (this.#o.signer as OapSigner);
    return { key: s.key, kid: s.kid ?? s.key.kid };
  }

  #freeAvailable(): boolean {
    return this.#o.pricing?.free_tier !== undefined || (this.#o.pricing?.models ?? []).some((m) => m.type === "free");
  }

  /** The tier (free tier included), 404 when unknown. */
  tier(id: string): SubscriptionTier | undefined {
    if (id === FREE_TIER && this.#freeAvailable()) return undefined;
    const t = subscriptionTiers(this.#o.pricing).find((x) => x.id === id);
    if (t === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown subscription tier ${id}`, { details: { tier: id, tiers: subscriptionTiers(this.#o.pricing).map((x) => x.id) } });
    return t;
  }

  /** §12.1 `details` of the 402 answer (the error object's details; see docs/oap.md decision 11). */
  subscriptionRequiredDetails(currency?: string): JsonObject {
    const options = priceOptions(this.#o.pricing, currency);
    return {
      ...(this.#o.endpoints.checkout_url === undefined ? {} : { checkout_url: this.#o.endpoints.checkout_url }),
      agent_subscribe_url: this.#o.endpoints.agent_subscribe_url,
      price_options: (options.length > 0 ? options : priceOptions(this.#o.pricing)) as unknown as JsonObject[],
      user_consent_required: options.some((o) => parseDecimal(o.amount).units > 0n) || options.length === 0,
      trial_available: this.#o.trialAvailable ?? false,
    };
  }

  /** §12.1: the 402 error for an Action whose subscription is unmet. */
  subscriptionRequired(action: string, currency?: string): OapError {
    return new OapError("ERR_OAP_SUBSCRIPTION_REQUIRED", `action ${action} requires an active subscription`, { details: { action, ...this.subscriptionRequiredDetails(currency) } });
  }

  /** The literal §12.1 body (`{"error": "subscription_required", …}`) for callers that want it. */
  subscriptionRequiredBody(currency?: string): JsonObject {
    return { error: "subscription_required", ...this.subscriptionRequiredDetails(currency) };
  }

  /** §12.4: announces a tier's new price; `effective_at` must be ≥ 30 days after now (400 otherwise). */
  announcePriceChange(input: { readonly tier: string; readonly amount: string; readonly effective_at: string }): PriceChangeNotice {
    const current = this.#currentTier(input.tier);
    const now = clockMs(this.#clock);
    const effective = Date.parse(input.effective_at);
    if (Number.isNaN(effective) || effective - now < PRICE_CHANGE_NOTICE_DAYS * 86_400_000) {
      throw new OapError("ERR_OAP_INPUT_INVALID", `price changes need ${PRICE_CHANGE_NOTICE_DAYS} days' notice (§12.4)`, { details: { effective_at: input.effective_at, earliest: rfc3339(new Date(now + PRICE_CHANGE_NOTICE_DAYS * 86_400_000)) } });
    }
    const amount = formatMoneyAmount(parseDecimal(input.amount), current.currency);
    const notice: PriceChangeNotice = {
      tier: input.tier,
      amount,
      currency: current.currency,
      interval: current.interval,
      price_hash: priceHash(this.#o.toolDid, { id: input.tier, amount, currency: current.currency, interval: current.interval }),
      announced_at: rfc3339(new Date(now)),
      effective_at: rfc3339(new Date(effective)),
    };
    this.#notices.push(notice);
    return notice;
  }

  /** Announced price changes (for the `billing` endpoint). */
  priceChangeNotices(): PriceChangeNotice[] {
    return [...this.#notices];
  }

  #currentTier(id: string): SubscriptionTier {
    const t = this.tier(id);
    if (t === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "the free tier has no price to change");
    return t;
  }

  /** The tier's price for a period starting at `periodStart`: the newest notice already effective then, else the manifest price. */
  priceAt(tierId: string, periodStart: Date): SubscriptionTier & { price_hash: string } {
    const base = this.#currentTier(tierId);
    const notice = this.#notices.filter((n) => n.tier === tierId && Date.parse(n.effective_at) <= periodStart.getTime()).sort((a, b) => Date.parse(b.effective_at) - Date.parse(a.effective_at))[0];
    const tier = notice === undefined ? base : { ...base, amount: notice.amount };
    return { ...tier, price_hash: priceHash(this.#o.toolDid, tier) };
  }

  /**
   * `POST subscribe`. The free tier activates at once. A paid tier needs consent: a valid
   * explicit consent receipt covering the tier and price, or an autonomous policy that permits
   * the offer (a `principal_policy` consent is then recorded); otherwise the subscription is
   * stored as `pending_consent` without a token (activate it with {@link activate}).
   */
  async subscribe(request: SubscribeRequest): Promise<SubscriptionResult> {
    const now = this.#clock();
    const id = `urn:oap:subscription:${oapUlid(now.getTime(), this.#random)}`;
    const tier = this.tier(request.tier);
    if (tier === undefined) {
      const free: OapSubscription = {
        subscription_id: id,
        principal_did: request.principal_did,
        agent_did: request.agent_did,
        tool_did: this.#o.toolDid,
        ...(request.scope_id === undefined ? {} : { scope_id: request.scope_id }),
        tier: FREE_TIER,
        price_hash: priceHash(this.#o.toolDid, { id: FREE_TIER, amount: "0", currency: "XXX", interval: "month" }),
        amount: "0",
        status: "pending_consent",
        created_at: rfc3339(now),
      };
      return this.#activate(free, undefined, "month");
    }
    const priced = this.priceAt(request.tier, now);
    const sub: OapSubscription = {
      subscription_id: id,
      principal_did: request.principal_did,
      agent_did: request.agent_did,
      tool_did: this.#o.toolDid,
      ...(request.scope_id === undefined ? {} : { scope_id: request.scope_id }),
      tier: priced.id,
      price_hash: priced.price_hash,
      amount: formatMoneyAmount(parseDecimal(priced.amount), priced.currency),
      currency: priced.currency,
      interval: priced.interval,
      status: "pending_consent",
      created_at: rfc3339(now),
    };
    let consentId = request.consent_receipt;
    if (consentId === undefined) {
      const offer = { tool_did: this.#o.toolDid, tier: priced.id, amount: sub.amount as string, currency: priced.currency, interval: priced.interval };
      if (autonomousSubscriptionPermitted(request.autonomous_policy, offer).permitted) {
        const granted = await this.#o.consents.grant({
          principal_did: request.principal_did,
          agent_did: request.agent_did,
          tool_did: this.#o.toolDid,
          purpose: "subscription",
          tier: priced.id,
          price_hash: priced.price_hash,
          max_amount: { amount: sub.amount as string, currency: priced.currency },
          interval: priced.interval,
          channel: "principal_policy",
        });
        consentId = granted.consent.consent_id;
      }
    }
    if (consentId === undefined) {
      await this.#store.put(sub);
      return { subscription: this.#valid(sub) };
    }
    return this.#activate(sub, consentId, priced.interval);
  }

  /** Activates a `pending_consent` subscription with an explicit consent receipt. */
  async activate(subscriptionId: string, consentReceipt: string): Promise<SubscriptionResult> {
    const sub = await this.#get(subscriptionId);
    if (sub.status !== "pending_consent") throw new OapError("ERR_OAP_CONFLICT", `subscription ${subscriptionId} is ${sub.status}`);
    return this.#activate(sub, consentReceipt, sub.interval ?? "month");
  }

  async #activate(sub: OapSubscription, consentId: string | undefined, interval: BillingInterval): Promise<SubscriptionResult> {
    if (consentId !== undefined) {
      await this.#o.consents.verify(consentId, {
        principal_did: sub.principal_did,
        agent_did: sub.agent_did,
        tool_did: this.#o.toolDid,
        purpose: "subscription",
        price_hash: sub.price_hash,
        ...(sub.currency === undefined || sub.amount === undefined ? {} : { amount: { amount: sub.amount, currency: sub.currency } }),
      });
    }
    const now = this.#clock();
    const end = addInterval(now, interval);
    const active: OapSubscription = {
      ...sub,
      status: "active",
      current_period_start: rfc3339(now),
      current_period_end: rfc3339(end),
      ...(consentId === undefined ? {} : { consent_receipt: consentId }),
    };
    const token = this.#token(active, now, end);
    const stored = this.#valid({ ...active, subscription_token: token });
    await this.#store.put(stored);
    const receipt = await this.#receipt(stored, "subscription.activate", { consent_receipt: consentId ?? null });
    return { subscription: stored, subscription_token: token, ...(receipt === undefined ? {} : { receipt }) };
  }

  /** Starts the next period at the price in effect then (a price change never shortens a paid period). */
  async renew(subscriptionId: string): Promise<SubscriptionResult> {
    const sub = await this.#get(subscriptionId);
    if (sub.status !== "active" && sub.status !== "past_due") throw new OapError("ERR_OAP_CONFLICT", `subscription ${subscriptionId} is ${sub.status}`);
    const start = new Date(Date.parse(sub.current_period_end ?? rfc3339(this.#clock())));
    const interval = sub.interval ?? "month";
    let next: OapSubscription = { ...sub, current_period_start: rfc3339(start), current_period_end: rfc3339(addInterval(start, interval)), status: "active" };
    if (sub.tier !== FREE_TIER) {
      const p = this.priceAt(sub.tier, start);
      next = { ...next, price_hash: p.price_hash, amount: formatMoneyAmount(parseDecimal(p.amount), p.currency) };
    }
    const token = this.#token(next, this.#clock(), addInterval(start, interval));
    const stored = this.#valid({ ...next, subscription_token: token });
    await this.#store.put(stored);
    const receipt = await this.#receipt(stored, "subscription.renew", { period_start: stored.current_period_start ?? null });
    return { subscription: stored, subscription_token: token, ...(receipt === undefined ? {} : { receipt }) };
  }

  /**
   * §12.4 termination — one call, effective immediately, identical whether the Tool's
   * `DELETE subscribe/{id}` or the Wallet calls it (`channel` is only recorded). Cancelling a
   * canceled subscription answers it again (idempotent).
   */
  async cancel(subscriptionId: string, request: { readonly principal_did: string; readonly channel: "tool" | "wallet" }): Promise<SubscriptionResult> {
    const sub = await this.#get(subscriptionId);
    if (sub.principal_did !== request.principal_did) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "only the subscribing Principal may cancel");
    if (sub.status === "canceled") return { subscription: sub };
    const { subscription_token: _token, ...rest } = sub;
    void _token;
    const canceled = this.#valid({ ...rest, status: "canceled", canceled_at: rfc3339(this.#clock()) });
    await this.#store.put(canceled);
    const receipt = await this.#receipt(canceled, "subscription.cancel", { channel: request.channel });
    return { subscription: canceled, ...(receipt === undefined ? {} : { receipt }) };
  }

  /** The Principal's subscriptions (billing endpoint). */
  async list(principalDid: string): Promise<OapSubscription[]> {
    return this.#store.listByPrincipal(principalDid);
  }

  async get(subscriptionId: string): Promise<OapSubscription | undefined> {
    return this.#store.get(subscriptionId);
  }

  async #get(id: string): Promise<OapSubscription> {
    const s = await this.#store.get(id);
    if (s === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown subscription ${id}`);
    return s;
  }

  #valid(s: OapSubscription): OapSubscription {
    assertOapDocument("oap-subscription", s);
    return s;
  }

  async #receipt(sub: OapSubscription, action: string, input: JsonObject): Promise<JsonObject | undefined> {
    if (this.#o.ledger === undefined) return undefined;
    const { subscription_token: _t, ...rest } = sub;
    void _t;
    const issued = await this.#o.ledger.issue({
      type: "subscription",
      principal_did: sub.principal_did,
      agent_did: sub.agent_did,
      tool_did: this.#o.toolDid,
      action_id: action,
      input_hash: jcsDigest({ subscription_id: sub.subscription_id, ...input }),
      output_hash: jcsDigest(rest as unknown as JsonObject),
      ...(sub.amount !== undefined && sub.currency !== undefined && action !== "subscription.cancel" ? { cost: { amount: sub.amount, currency: sub.currency } } : {}),
    });
    return issued.receipt;
  }

  #token(sub: OapSubscription, now: Date, exp: Date): string {
    const { key, kid } = this.#signer();
    const claims: SubscriptionTokenClaims = {
      iss: this.#o.toolDid,
      aud: this.#o.toolDid,
      sub: sub.principal_did,
      oap_principal: sub.principal_did,
      oap_agent: sub.agent_did,
      ...(sub.scope_id === undefined ? {} : { oap_scope: sub.scope_id }),
      oap_subscription: sub.subscription_id,
      tier: sub.tier,
      price_hash: sub.price_hash,
      iat: Math.floor(now.getTime() / 1000),
      exp: Math.floor(exp.getTime() / 1000),
      jti: oapUlid(now.getTime(), this.#random),
    };
    const header = b64uEncode(utf8(JSON.stringify({ alg: "EdDSA", typ: SUBSCRIPTION_TOKEN_TYP, kid })));
    const payload = b64uEncode(utf8(JSON.stringify(claims)));
    return `${header}.${payload}.${b64uEncode(key.sign(utf8(`${header}.${payload}`)))}`;
  }

  /**
   * Verifies a `subscription_token` for a request (401 for a bad or expired token, 402 when it
   * does not cover the request: other Principal / Agent / Scope / tier, canceled, price changed,
   * killed).
   */
  async verifyToken(token: string, request: { readonly principal_did: string; readonly agent_did: string; readonly scope_id?: string }, options: { readonly tiers?: readonly string[] } = {}): Promise<{ subscription: OapSubscription; claims: SubscriptionTokenClaims }> {
    const bad = (why: string): never => {
      throw new OapError("ERR_OAP_TOKEN_INVALID", `invalid subscription token: ${why}`);
    };
    const parts = token.split(".");
    if (parts.length !== 3) return bad("not a compact JWS");
    let header: { alg?: unknown; typ?: unknown; kid?: unknown };
    let claims: SubscriptionTokenClaims;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64uDecode(parts[0] as string))) as typeof header;
      claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64uDecode(parts[1] as string))) as SubscriptionTokenClaims;
    } catch {
      return bad("undecodable header or claims");
    }
    if (header.alg !== "EdDSA" || header.typ !== SUBSCRIPTION_TOKEN_TYP || typeof header.kid !== "string") return bad("wrong alg, typ or kid");
    if (didOf(header.kid) !== this.#o.toolDid) return bad("not signed by this Tool");
    const key = await this.#o.keys.resolve(header.kid);
    if (key === undefined) return bad("unknown signing key");
    let sig: Uint8Array;
    try {
      sig = b64uDecode(parts[2] as string);
    } catch {
      return bad("signature is not base64url");
    }
    if (!(await key.verifyAsync(utf8(`${parts[0]}.${parts[1]}`), sig))) return bad("signature does not verify");
    const now = clockMs(this.#clock);
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= now) throw new OapError("ERR_OAP_TOKEN_EXPIRED", "the subscription token expired");
    if (claims.iss !== this.#o.toolDid || claims.aud !== this.#o.toolDid) return bad("issued for another Tool");
    const need = (cond: boolean, why: string): void => {
      if (!cond) throw new OapError("ERR_OAP_SUBSCRIPTION_REQUIRED", `the subscription token does not cover this request: ${why}`, { details: { reason: why, ...this.subscriptionRequiredDetails() } });
    };
    need(claims.oap_principal === request.principal_did && claims.sub === request.principal_did, "another Principal");
    need(claims.oap_agent === request.agent_did, "another Agent");
    need((claims.oap_scope ?? null) === (request.scope_id ?? null), "another Scope");
    need(options.tiers === undefined || options.tiers.includes(claims.tier), `tier ${claims.tier} does not include this action`);
    const killed = this.#revokedBefore.get(claims.oap_principal);
    need(killed === undefined || claims.iat * 1000 > killed, "revoked by the Principal's kill switch");
    const sub = await this.#store.get(claims.oap_subscription);
    need(sub !== undefined && sub.status === "active", `subscription is ${sub?.status ?? "unknown"}`);
    need((sub as OapSubscription).price_hash === claims.price_hash && (sub as OapSubscription).tier === claims.tier, "the price or tier changed; renew the token");
    return { subscription: sub as OapSubscription, claims };
  }

  /** §22.3 revoker: refuses every token of the Principal issued up to the kill. */
  revoker(): Revoker {
    return {
      name: `subscription-tokens:${this.#o.toolDid}`,
      kind: "subscription_tokens",
      revokeAll: async (principalDid, at) => {
        this.#revokedBefore.set(principalDid, Math.max(at.getTime(), this.#revokedBefore.get(principalDid) ?? 0));
        return (await this.#store.listByPrincipal(principalDid)).filter((s) => s.status === "active").length;
      },
    };
  }
}
