/**
 * Decision Records (OAP-CORE-1.0 §20.4) shared by the policy engine, the CCC gate and the
 * multi-party review: the outcome order, and a builder that validates every record against
 * schemas/oap/oap-decision-record before it leaves the library.
 *
 * @module
 */
import type { OapDecisionRecord } from "../../../gen/types/oap/oap-decision-record.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";

export type { OapDecisionRecord } from "../../../gen/types/oap/oap-decision-record.js";

/** The five outcomes of §18.3 / §20.4. */
export type DecisionOutcome = OapDecisionRecord["outcome"];
/** Policy layers of §20.1. */
export type PolicyLayer = "L1" | "L2" | "L3" | "L4";

/** §20.1 evaluation order. */
export const POLICY_LAYERS: readonly PolicyLayer[] = Object.freeze(["L1", "L2", "L3", "L4"]);

/**
 * How restrictive each outcome is. When several findings apply, the most restrictive wins:
 * block > require_consent (a human must act) > require_anonymization (the data must be
 * transformed) > allow_with_conditions > allow.
 */
export const OUTCOME_SEVERITY: Readonly<Record<DecisionOutcome, number>> = Object.freeze({
  allow: 0,
  allow_with_conditions: 1,
  require_anonymization: 2,
  require_consent: 3,
  block: 4,
});

/** Every outcome, least restrictive first. */
export const DECISION_OUTCOMES: readonly DecisionOutcome[] = Object.freeze(["allow", "allow_with_conditions", "require_anonymization", "require_consent", "block"]);

/** The more restrictive of two outcomes. */
export function mostRestrictive(a: DecisionOutcome, b: DecisionOutcome): DecisionOutcome {
  return OUTCOME_SEVERITY[b] > OUTCOME_SEVERITY[a] ? b : a;
}

/** Members of a decision record before validation. */
export interface DecisionRecordInput {
  readonly decision_id: string;
  readonly evaluated_at: string;
  readonly layers_evaluated: readonly PolicyLayer[];
  readonly applied_rules: readonly string[];
  readonly outcome: DecisionOutcome;
  readonly conditions?: readonly string[];
  readonly explanation: string;
  readonly explanation_for_principal?: string;
  readonly verifier_agent?: { readonly agent_did?: string; readonly outcome?: string; readonly rationale?: string };
  readonly ccc_evaluation?: Readonly<Record<string, unknown>>;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * A schema-valid Decision Record (duplicates removed from rules and conditions; empty
 * `conditions` omitted). Throws ERR_OAP_INTERNAL when the result would not validate — a bug,
 * never the caller's input.
 */
export function buildDecisionRecord(input: DecisionRecordInput): OapDecisionRecord {
  const record: OapDecisionRecord = {
    decision_id: input.decision_id,
    evaluated_at: input.evaluated_at,
    layers_evaluated: [...input.layers_evaluated],
    applied_rules: unique(input.applied_rules),
    outcome: input.outcome,
    explanation: input.explanation,
  };
  const conditions = unique(input.conditions ?? []);
  if (conditions.length > 0) record.conditions = conditions;
  if (input.explanation_for_principal !== undefined) record.explanation_for_principal = input.explanation_for_principal;
  if (input.verifier_agent !== undefined) record.verifier_agent = { ...input.verifier_agent };
  if (input.ccc_evaluation !== undefined) record.ccc_evaluation = { ...input.ccc_evaluation };
  try {
    assertOapDocument("oap-decision-record", record);
  } catch (cause) {
    throw new OapError("ERR_OAP_INTERNAL", `built an invalid decision record: ${(cause as Error).message}`, { cause });
  }
  return record;
}

/** The receipt's `policy_decisions[]` entry citing a record (§19.1). */
export function decisionRef(record: OapDecisionRecord): { id: string; outcome: DecisionOutcome; rules: string[] } {
  return { id: record.decision_id, outcome: record.outcome, rules: [...record.applied_rules] };
}
