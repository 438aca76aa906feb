/**
 * Consent Receipts (OAP-CORE-1.0 §12.2, §7 `requires_consent`, §19.1 "Consent grant … produces a
 * Receipt"): the Agent evaluates the Principal's policy; when it permits autonomous subscription
 * within stated limits the Agent records a Consent Receipt and proceeds, otherwise it must obtain
 * explicit consent through a registered channel.
 *
 * A consent is a record `urn:oap:consent:<ULID>` bound to Principal, Agent, Tool, purpose and
 * (for subscriptions) tier, price hash and a maximum amount; with a ledger, granting it appends a
 * `consent` receipt to the Principal's chain. {@link ConsentRegistry.verify} is what a Tool runs
 * on the envelope's `consent_receipt`.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import type { ReceiptLedger } from "../receipts.js";
import { clockMs, jcsDigest, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { compareMoney, money, type Money } from "./money.js";
import type { BillingInterval } from "./pricing.js";

/** A recorded consent. */
export interface ConsentRecord {
  readonly consent_id: string;
  readonly principal_did: string;
  readonly agent_did: string;
  readonly tool_did: string;
  /** What was consented to: `subscription`, an action id, `data_sharing:<class>`… */
  readonly purpose: string;
  readonly tier?: string;
  readonly price_hash?: string;
  /** Largest amount covered (per interval for subscriptions). */
  readonly max_amount?: Money;
  readonly interval?: BillingInterval;
  /** `explicit` (the Principal through a consent channel) or `principal_policy` (autonomous, §12.2). */
  readonly channel: "explicit" | "principal_policy";
  readonly granted_at: string;
  readonly expires_at?: string;
  readonly revoked_at?: string;
  /** The chain receipt of the grant. */
  readonly receipt_id?: string;
}

/** Consent storage. */
export interface ConsentStore {
  get(id: string): ConsentRecord | undefined | Promise<ConsentRecord | undefined>;
  put(record: ConsentRecord): void | Promise<void>;
}

/** In-memory {@link ConsentStore}. */
export class MemoryConsentStore implements ConsentStore {
  readonly #m = new Map<string, ConsentRecord>();
  get(id: string): ConsentRecord | undefined {
    return this.#m.get(id);
  }
  put(record: ConsentRecord): void {
    this.#m.set(record.consent_id, record);
  }
}

/** The Principal's policy on autonomous subscriptions (§12.2). */
export interface AutonomousSubscriptionPolicy {
  readonly allowed: boolean;
  /** Largest price per interval the Agent may accept alone. */
  readonly max_amount?: Money;
  readonly tools?: readonly string[];
  readonly tiers?: readonly string[];
  readonly intervals?: readonly BillingInterval[];
}

/** A subscription offer. */
export interface SubscriptionOffer {
  readonly tool_did: string;
  readonly tier: string;
  readonly amount: string;
  readonly currency: string;
  readonly interval: BillingInterval;
}

/** §12.2: does the Principal's policy permit subscribing to the offer without asking? */
export function autonomousSubscriptionPermitted(policy: AutonomousSubscriptionPolicy | undefined, offer: SubscriptionOffer): { permitted: boolean; reason: string } {
  if (policy === undefined || !policy.allowed) return { permitted: false, reason: "the Principal's policy does not allow autonomous subscriptions" };
  if (policy.tools !== undefined && !policy.tools.includes(offer.tool_did)) return { permitted: false, reason: `${offer.tool_did} is not among the Tools the policy allows` };
  if (policy.tiers !== undefined && !policy.tiers.includes(offer.tier)) return { permitted: false, reason: `tier ${offer.tier} is not allowed by the policy` };
  if (policy.intervals !== undefined && !policy.intervals.includes(offer.interval)) return { permitted: false, reason: `interval ${offer.interval} is not allowed by the policy` };
  if (policy.max_amount !== undefined) {
    if (policy.max_amount.currency !== offer.currency) return { permitted: false, reason: `the policy limit is in ${policy.max_amount.currency}, the price in ${offer.currency}` };
    if (compareMoney({ amount: offer.amount, currency: offer.currency }, policy.max_amount) > 0) return { permitted: false, reason: `${offer.amount} ${offer.currency} exceeds the policy limit ${policy.max_amount.amount}` };
  }
  return { permitted: true, reason: "within the Principal's autonomous subscription policy" };
}

/** What a consent must cover when verified. */
export interface ConsentExpectation {
  readonly principal_did: string;
  readonly agent_did?: string;
  readonly tool_did?: string;
  readonly purpose?: string;
  readonly price_hash?: string;
  readonly amount?: Money;
}

/** Options of {@link ConsentRegistry}. */
export interface ConsentRegistryOptions {
  readonly store?: ConsentStore;
  readonly ledger?: ReceiptLedger;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** Grants, revokes and verifies consents. */
export class ConsentRegistry {
  readonly #store: ConsentStore;
  readonly #ledger: ReceiptLedger | undefined;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: ConsentRegistryOptions = {}) {
    this.#store = options.store ?? new MemoryConsentStore();
    this.#ledger = options.ledger;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /** Records a consent (and its `consent` chain receipt with a ledger). */
  async grant(input: Omit<ConsentRecord, "consent_id" | "granted_at" | "revoked_at" | "receipt_id">): Promise<{ consent: ConsentRecord; receipt?: JsonObject }> {
    const maxAmount = input.max_amount === undefined ? undefined : money(input.max_amount.amount, input.max_amount.currency);
    const base: ConsentRecord = {
      ...input,
      ...(maxAmount === undefined ? {} : { max_amount: maxAmount }),
      consent_id: `urn:oap:consent:${oapUlid(clockMs(this.#clock), this.#random)}`,
      granted_at: rfc3339(this.#clock()),
    };
    let receipt: JsonObject | undefined;
    if (this.#ledger !== undefined) {
      const issued = await this.#ledger.issue({
        type: "consent",
        principal_did: base.principal_did,
        agent_did: base.agent_did,
        tool_did: base.tool_did,
        action_id: base.purpose,
        input_hash: jcsDigest(base as unknown as JsonObject),
        ...(maxAmount === undefined ? {} : { cost: { ...maxAmount } }),
      });
      receipt = issued.receipt;
    }
    const consent = receipt === undefined ? base : { ...base, receipt_id: String(receipt["receipt_id"]) };
    await this.#store.put(consent);
    return receipt === undefined ? { consent } : { consent, receipt };
  }

  /** Withdraws a consent (only its Principal). */
  async revoke(consentId: string, principalDid: string): Promise<ConsentRecord> {
    const c = await this.#store.get(consentId);
    if (c === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown consent ${consentId}`);
    if (c.principal_did !== principalDid) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "only the Principal may revoke a consent");
    const revoked = { ...c, revoked_at: c.revoked_at ?? rfc3339(this.#clock()) };
    await this.#store.put(revoked);
    return revoked;
  }

  /** The consent, if it exists and covers `expect`; 403 ERR_OAP_CONSENT_REQUIRED (`details.reason`) otherwise. */
  async verify(consentId: string | undefined, expect: ConsentExpectation): Promise<ConsentRecord> {
    const refuse = (reason: string): never => {
      throw new OapError("ERR_OAP_CONSENT_REQUIRED", `consent required: ${reason}`, { details: { reason, ...(consentId === undefined ? {} : { consent_receipt: consentId }) } });
    };
    if (consentId === undefined || consentId.length === 0) return refuse("no consent receipt");
    const c = await this.#store.get(consentId);
    if (c === undefined) return refuse("unknown consent receipt");
    if (c.revoked_at !== undefined) return refuse("the consent was revoked");
    if (c.expires_at !== undefined && Date.parse(c.expires_at) <= clockMs(this.#clock)) return refuse("the consent expired");
    if (c.principal_did !== expect.principal_did) return refuse("the consent belongs to another Principal");
    if (expect.agent_did !== undefined && c.agent_did !== expect.agent_did) return refuse("the consent was given to another Agent");
    if (expect.tool_did !== undefined && c.tool_did !== expect.tool_did) return refuse("the consent covers another Tool");
    if (expect.purpose !== undefined && c.purpose !== expect.purpose) return refuse(`the consent covers ${c.purpose}, not ${expect.purpose}`);
    if (expect.price_hash !== undefined && c.price_hash !== undefined && c.price_hash !== expect.price_hash) return refuse("the price changed since the consent");
    if (expect.amount !== undefined && c.max_amount !== undefined && (c.max_amount.currency !== expect.amount.currency || compareMoney(expect.amount, c.max_amount) > 0)) {
      return refuse(`the amount exceeds the consented ${c.max_amount.amount} ${c.max_amount.currency}`);
    }
    return c;
  }
}
