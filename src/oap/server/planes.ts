/**
 * The governance (§18, §20, §29) and commerce (§11, §12) planes wired into the Tool server's
 * invoke pipeline (docs/oap-governance.md and docs/oap-commerce.md "For the server"). Everything
 * is off unless configured — through {@link OapToolServerOptions} `governance` / `commerce` or
 * the same members of a {@link defineTool} definition.
 *
 * Order after authorisation (§10) and the action policies: special categories (§29.3) → policy
 * engine (§20.1; block → 403 policy_block, require_consent → 403 consent_required unless the
 * envelope carries a consent receipt — verified with `commerce.consents` when configured —,
 * require_anonymization → 403) → multi-party review
 * (§20.5; escalated → 403) → CCC gate (§18.3, when a destination is named; 412) → subscription
 * token (§12.3; missing / invalid → 402 subscription_required with the §12.1 details) → wallet
 * hold for a priced action (§11.2; 402 insufficient funds, 403 limits). The hold is captured
 * (final) citing the receipt once the receipt is issued, and released when the call fails.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapCcc } from "../../../gen/types/oap/oap-ccc.js";
import type { OapDecisionRecord } from "../../../gen/types/oap/oap-decision-record.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import { CccGate, type CccDestination, type CccShare } from "../governance/ccc.js";
import { checkSpecialCategories } from "../governance/data-rights.js";
import { invocationPolicyContext, PolicyEngine } from "../governance/policy.js";
import { MultiPartyReview } from "../governance/review.js";
import type { PolicyRuleSet } from "../governance/rules-schema.js";
import type { ConsentRegistry } from "../commerce/consent.js";
import type { RefundDesk } from "../commerce/disputes.js";
import type { IncidentRegistry } from "../governance/incidents.js";
import type { KillSwitch } from "../governance/kill-switch.js";
import type { SubscriptionManager } from "../commerce/subscriptions.js";
import type { Wallet } from "../commerce/wallet.js";
import type { Money } from "../commerce/money.js";
import type { ConflictRegistry, LockManager, VersionedStore } from "../governance/coordination.js";
import type { TimeLockQueue } from "../governance/time-locks.js";
import type { SessionRelay } from "../governance/sessions.js";
import type { OapKeyResolver } from "../sign.js";

/** Governance options of a Tool server (all optional; absent = not enforced). */
export interface ToolGovernanceOptions {
  /** §20 policy engine (or the rule sets to build one from; universal prohibitions are always loaded). */
  readonly policy?: PolicyEngine | PolicyRuleSet | readonly PolicyRuleSet[];
  /** §20.5 multi-party review of high-risk / irreversible / over-threshold actions. */
  readonly review?: MultiPartyReview;
  /** Number of independent verifiers configured (reported to conformance probes; default: 1 with `review`). */
  readonly verifierCount?: number;
  /** §18 the Scope's CCC and the gate; the gate runs when `destination(envelope)` names one. */
  readonly ccc?: {
    readonly document: OapCcc;
    readonly gate?: CccGate;
    readonly destination?: (envelope: OapRequestEnvelope, action: OapAction) => CccDestination | undefined;
    readonly share?: (envelope: OapRequestEnvelope, action: OapAction) => CccShare;
  };
  /** §29.3 refuse GDPR Art. 9 data classes the data policy does not handle (default true when governance is configured). */
  readonly specialCategories?: boolean;
  /** Extra policy context per call (principal attributes, flags, purpose). */
  readonly context?: (envelope: OapRequestEnvelope, action: OapAction) => { readonly principalAttributes?: JsonObject; readonly flags?: readonly string[]; readonly purpose?: string; readonly dataClasses?: readonly string[] };
  /** §22.2 publish incidents through this registry: `GET incident` lists it, `POST incident` with the operator key reports. */
  readonly incidents?: IncidentRegistry;
  /** §22.3 serve `POST kill-switch` (true: built on the server's ledger, revoking subscription tokens and webhook subscriptions). */
  readonly killSwitch?: KillSwitch | boolean;
  /** Operator key (`Authorization: Bearer <key>`) of `POST admin/policy` (hot reload) and incident publication. */
  readonly operatorKey?: string;
  /**
   * §22.4 time locks in the invoke path: a call whose amount exceeds a rule's threshold is
   * answered 202 with the lock (`output.time_lock`) and runs only when re-sent, after
   * `execute_after`, with `OAP-Time-Lock: <lock_id>`; `GET time-lock`, `POST time-lock/cancel`.
   */
  readonly timeLocks?: TimeLockQueue;
  /** The amount a time lock rule is compared with (default: the action's per-call price). */
  readonly timeLockAmount?: (envelope: OapRequestEnvelope, action: OapAction) => Money | undefined;
  /**
   * §15 coordination endpoints: `conflicts` (list / propose / resolve), `lock` / `unlock`, and
   * the shared `state` with optimistic versions (409 on a stale `expected_version`). `true`:
   * built by the server (resolutions recorded in its Receipts; writes need the lock when the
   * manifest declares `collaboration.locking_strategy: pessimistic`).
   */
  readonly coordination?: true | { readonly conflicts?: ConflictRegistry; readonly locks?: LockManager; readonly state?: VersionedStore };
  /**
   * §15.4 coordination sessions served as `session` endpoints (create / join / message / read /
   * close; messages signed by their sender, in the session's Lamport or vector order). `true`:
   * a {@link SessionRelay} built by the server (in memory) on its DID key resolver.
   */
  readonly sessions?: true | SessionRelay;
}

/** Commerce options of a Tool server. */
export interface ToolCommerceOptions {
  /** §12 subscriptions; built by the server (pricing from the manifest) when a consent registry is given. */
  readonly subscriptions?: SubscriptionManager;
  /**
   * Consents (`POST consent`, verification of cited consent receipts). `true`: a registry built
   * by the server on its store's durable consent records (`OapStore.commerce`; memory otherwise),
   * granting into the server's receipt chain.
   */
  readonly consents?: ConsentRegistry | true;
  readonly trialAvailable?: boolean;
  /** Actions that need an active subscription besides those with `cost.type: subscription_included`. */
  readonly subscriptionRequired?: readonly string[];
  /** Tiers that cover an action (default: any tier). */
  readonly tiers?: Readonly<Record<string, readonly string[]>>;
  /** §11.2 charge priced actions to the Principal's wallet. */
  readonly wallet?: Wallet;
  /** The Principal's wallet (default: `wallet.walletOf(principal)`). */
  readonly walletOf?: (principalDid: string) => string | undefined | Promise<string | undefined>;
  /** `POST billing/refund` (true: a desk over the server's receipts, refunding to `wallet` when set). */
  readonly refunds?: RefundDesk | boolean;
  /** Resolves the provider key of a wallet export given to `POST wallet/import` (default: the server's key resolver). */
  readonly walletImportKeys?: OapKeyResolver;
}

/** The outcome of the governance checks of one call. */
export interface GovernanceAdmission {
  readonly records: readonly OapDecisionRecord[];
}

function blockError(record: OapDecisionRecord, code: "ERR_OAP_POLICY_BLOCK" | "ERR_OAP_CONSENT_REQUIRED"): OapError {
  return new OapError(code, record.explanation, {
    details: {
      decision_id: record.decision_id,
      outcome: record.outcome,
      rules: [...record.applied_rules],
      conditions: [...(record.conditions ?? [])],
      decision_record: record as unknown as JsonObject,
    },
  });
}

/** The governance checks of an invocation (see the module comment). */
export class GovernancePlane {
  readonly engine: PolicyEngine | undefined;
  readonly #o: ToolGovernanceOptions;
  readonly #gate: CccGate | undefined;

  constructor(options: ToolGovernanceOptions, clock?: () => Date) {
    this.#o = options;
    const p = options.policy;
    this.engine = p === undefined ? undefined : p instanceof PolicyEngine ? p : new PolicyEngine({ rules: p as PolicyRuleSet | readonly PolicyRuleSet[], ...(clock === undefined ? {} : { clock }) });
    this.#gate = options.ccc === undefined ? undefined : (options.ccc.gate ?? new CccGate(clock === undefined ? {} : { clock }));
  }

  get ccc(): OapCcc | undefined {
    return this.#o.ccc?.document;
  }

  get verifierCount(): number {
    return this.#o.verifierCount ?? (this.#o.review === undefined ? 0 : 1);
  }

  async admit(
    env: OapRequestEnvelope,
    action: OapAction,
    manifest: OapManifest,
    amount: { amount: string; currency: string } | undefined,
    verifyConsent?: (consentReceipt: string | undefined) => Promise<void>,
  ): Promise<GovernanceAdmission> {
    const extra = this.#o.context?.(env, action) ?? {};
    const classes = [...action.data_classes_in, ...(extra.dataClasses ?? [])];
    if (this.#o.specialCategories !== false) {
      const refused = checkSpecialCategories(classes, manifest.data_policy);
      if (refused.length > 0) throw new OapError("ERR_OAP_POLICY_BLOCK", `special categories not handled: ${refused.join(", ")}`, { details: { rules: ["l2.gdpr.art9.special_categories"], categories: refused } });
    }
    const records: OapDecisionRecord[] = [];
    if (this.engine !== undefined) {
      const ctx = invocationPolicyContext({
        envelope: env,
        action,
        manifest,
        ...(amount === undefined ? {} : { amount }),
        ...(extra.dataClasses === undefined ? {} : { dataClasses: extra.dataClasses }),
        ...(extra.principalAttributes === undefined ? {} : { principalAttributes: extra.principalAttributes }),
        ...(extra.flags === undefined ? {} : { flags: extra.flags }),
        ...(extra.purpose === undefined ? {} : { purpose: extra.purpose }),
        ...(manifest.jurisdictions[0] === undefined ? {} : { toolJurisdiction: manifest.jurisdictions[0] }),
      });
      let { record } = this.engine.evaluate(ctx);
      if (this.#o.review !== undefined && record.outcome !== "block") {
        const reviewed = await this.#o.review.review(ctx, record);
        record = reviewed.record;
        if (reviewed.escalated) throw blockError(record, "ERR_OAP_CONSENT_REQUIRED");
      }
      if (record.outcome === "block") throw blockError(record, "ERR_OAP_POLICY_BLOCK");
      if (record.outcome === "require_consent" && env.consent_receipt === undefined) throw blockError(record, "ERR_OAP_CONSENT_REQUIRED");
      if (record.outcome === "require_consent" && verifyConsent !== undefined) await verifyConsent(env.consent_receipt);
      if (record.outcome === "require_anonymization") throw blockError(record, "ERR_OAP_POLICY_BLOCK");
      records.push(record);
    }
    const ccc = this.#o.ccc;
    if (ccc !== undefined && this.#gate !== undefined && ccc.destination !== undefined) {
      const destination = ccc.destination(env, action);
      if (destination !== undefined) {
        const share = ccc.share?.(env, action) ?? { data_classes: classes };
        const decision = await this.#gate.assert(ccc.document, destination, share, env.context.locale);
        records.push(decision.record);
      }
    }
    return { records };
  }
}

/** True when the action needs an active subscription. */
export function needsSubscription(action: OapAction, options: ToolCommerceOptions): boolean {
  return action.cost?.type === "subscription_included" || (options.subscriptionRequired ?? []).includes(action.id);
}
