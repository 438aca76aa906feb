/**
 * Multi Party Review (OAP-CORE-1.0 §20.5): Actions classified high risk, irreversible, or above
 * a Principal-defined monetary threshold are evaluated by an independent Verifier Agent operated
 * by a different vendor before execution; the verifier's decision is recorded in the Decision
 * Record (`verifier_agent`); disagreement escalates to the Principal.
 *
 * Verifiers are pluggable ({@link VerifierAgent}). The review never weakens a decision:
 *  - concur (same outcome): the record gains `verifier_agent {outcome: "concur"}`;
 *  - dissent, or a verifier that fails, times out or is missing: the outcome becomes at least
 *    `require_consent` with condition `escalate_to_principal`, `verifier_agent.outcome` is
 *    "dissent" (or "unavailable"), and the escalation hook is called.
 *
 * @module
 */
import { OapError } from "../errors.js";
import { compareValues, type MoneyValue, type PolicyContext } from "./conditions.js";
import { principalExplanation } from "./locale.js";
import { buildDecisionRecord, mostRestrictive, type DecisionOutcome, type OapDecisionRecord, type PolicyLayer } from "./records.js";

/** What a verifier is asked. */
export interface ReviewRequest {
  readonly context: PolicyContext;
  /** The acting side's decision. */
  readonly proposed: OapDecisionRecord;
  /** Why review is required. */
  readonly reasons: readonly string[];
}

/** A verifier's own decision. */
export interface VerifierVerdict {
  readonly outcome: DecisionOutcome;
  readonly rationale: string;
}

/** An independent Verifier Agent. */
export interface VerifierAgent {
  readonly did: string;
  /** The operating vendor; must differ from the acting agent's vendor. */
  readonly vendor: string;
  review(request: ReviewRequest): VerifierVerdict | Promise<VerifierVerdict>;
}

/** Why a review is (not) required. */
export interface ReviewRequirement {
  readonly required: boolean;
  /** `high_risk`, `irreversible`, `above_threshold`. */
  readonly reasons: readonly string[];
}

/** The Principal's review thresholds. */
export interface ReviewThresholds {
  /** Review every action whose amount exceeds this (same currency; another currency counts as exceeding). */
  readonly amount?: MoneyValue;
}

/** §20.5 trigger: high risk, irreversible (side effect or irreversibility class), or above the threshold. */
export function reviewRequirement(ctx: PolicyContext, thresholds: ReviewThresholds = {}): ReviewRequirement {
  const reasons: string[] = [];
  const risk = ctx.action?.risk_class ?? ctx.tool?.risk_class;
  if (risk === "high") reasons.push("high_risk");
  if (ctx.action?.side_effects === "irreversible" || ctx.action?.irreversibility_class !== undefined) reasons.push("irreversible");
  if (thresholds.amount !== undefined && ctx.amount !== undefined) {
    const c = compareValues(ctx.amount, thresholds.amount);
    if (c === undefined || c > 0) reasons.push("above_threshold");
  }
  return { required: reasons.length > 0, reasons };
}

/** The escalation to the Principal. */
export interface ReviewEscalation {
  readonly record: OapDecisionRecord;
  readonly proposed: OapDecisionRecord;
  readonly verifier?: { readonly did: string; readonly verdict?: VerifierVerdict; readonly error?: string };
  readonly context: PolicyContext;
}

/** Options of {@link MultiPartyReview}. */
export interface MultiPartyReviewOptions {
  /** Candidate verifiers; the first one of another vendor is asked. */
  readonly verifiers: readonly VerifierAgent[];
  /** Vendor of the acting agent (independence: verifiers of this vendor are never asked). */
  readonly actingVendor: string;
  readonly thresholds?: ReviewThresholds;
  /** Notified on every disagreement (and unavailable verifier). */
  readonly escalate?: (escalation: ReviewEscalation) => void | Promise<void>;
  /** Longest wait for a verdict (default 10 s). */
  readonly timeoutMs?: number;
}

/** Result of {@link MultiPartyReview.review}. */
export interface ReviewResult {
  readonly record: OapDecisionRecord;
  readonly requirement: ReviewRequirement;
  readonly reviewed: boolean;
  readonly escalated: boolean;
}

/** Runs §20.5 reviews. */
export class MultiPartyReview {
  readonly #o: MultiPartyReviewOptions;

  constructor(options: MultiPartyReviewOptions) {
    this.#o = options;
  }

  /** The verifier that would be asked (independent vendor), if any. */
  verifier(): VerifierAgent | undefined {
    return this.#o.verifiers.find((v) => v.vendor !== this.#o.actingVendor);
  }

  /**
   * Reviews `proposed` when §20.5 requires it; returns the (possibly escalated) record. A record
   * that does not need review is returned unchanged.
   */
  async review(ctx: PolicyContext, proposed: OapDecisionRecord): Promise<ReviewResult> {
    const requirement = reviewRequirement(ctx, this.#o.thresholds);
    if (!requirement.required) return { record: proposed, requirement, reviewed: false, escalated: false };
    const verifier = this.verifier();
    if (verifier === undefined) {
      const record = this.#escalated(ctx, proposed, undefined, "unavailable", `no independent verifier (vendor other than ${this.#o.actingVendor}) is configured`);
      await this.#o.escalate?.({ record, proposed, context: ctx });
      return { record, requirement, reviewed: false, escalated: true };
    }
    let verdict: VerifierVerdict;
    try {
      verdict = await withTimeout(Promise.resolve(verifier.review({ context: ctx, proposed, reasons: requirement.reasons })), this.#o.timeoutMs ?? 10_000);
    } catch (e) {
      const error = (e as Error).message;
      const record = this.#escalated(ctx, proposed, verifier.did, "unavailable", `verifier ${verifier.did} gave no verdict: ${error}`);
      await this.#o.escalate?.({ record, proposed, context: ctx, verifier: { did: verifier.did, error } });
      return { record, requirement, reviewed: false, escalated: true };
    }
    if (verdict.outcome === proposed.outcome) {
      const record = buildDecisionRecord({
        ...proposed,
        layers_evaluated: proposed.layers_evaluated as PolicyLayer[],
        applied_rules: [...proposed.applied_rules, `oap.20.5.review:${requirement.reasons.join("+")}`, `verifier:${verifier.did}:concur`],
        verifier_agent: { agent_did: verifier.did, outcome: "concur", rationale: verdict.rationale },
      });
      return { record, requirement, reviewed: true, escalated: false };
    }
    const record = this.#escalated(ctx, proposed, verifier.did, "dissent", `verifier proposed ${verdict.outcome}: ${verdict.rationale}`, requirement.reasons);
    await this.#o.escalate?.({ record, proposed, context: ctx, verifier: { did: verifier.did, verdict } });
    return { record, requirement, reviewed: true, escalated: true };
  }

  #escalated(ctx: PolicyContext, proposed: OapDecisionRecord, verifierDid: string | undefined, what: "dissent" | "unavailable", rationale: string, reasons: readonly string[] = []): OapDecisionRecord {
    const outcome = mostRestrictive(proposed.outcome, "require_consent");
    const conditions = outcome === "block" ? [] : [...(proposed.conditions ?? []), "escalate_to_principal"];
    return buildDecisionRecord({
      ...proposed,
      layers_evaluated: proposed.layers_evaluated as PolicyLayer[],
      applied_rules: [...proposed.applied_rules, `oap.20.5.review${reasons.length > 0 ? `:${reasons.join("+")}` : ""}`, `verifier:${verifierDid ?? "none"}:${what}`],
      outcome,
      conditions,
      explanation: `${proposed.explanation} Multi-party review (§20.5): ${what === "dissent" ? "the verifier disagreed" : "no verifier verdict"}; escalated to the Principal.`,
      explanation_for_principal: principalExplanation(ctx.principal?.locale, outcome, conditions, []).text,
      verifier_agent: verifierDid === undefined ? { outcome: what, rationale } : { agent_did: verifierDid, outcome: what, rationale },
    });
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OapError("ERR_OAP_TIMEOUT", `no verdict within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
