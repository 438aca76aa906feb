/**
 * OAP-CORE-1.0 §20.5 Multi Party Review: high-risk, irreversible or above-threshold actions are
 * evaluated by an independent Verifier Agent of another vendor; its decision is recorded in the
 * Decision Record; disagreement escalates to the Principal.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { validateOapDocument } from "../../../src/oap/documents.js";
import type { PolicyContext } from "../../../src/oap/governance/conditions.js";
import { PolicyEngine } from "../../../src/oap/governance/policy.js";
import { MultiPartyReview, reviewRequirement, type ReviewEscalation, type VerifierAgent } from "../../../src/oap/governance/review.js";
import { TestClock } from "../helpers.js";

let clock: TestClock;
let engine: PolicyEngine;
let escalations: ReviewEscalation[];

const concur: VerifierAgent = { did: "did:web:verifier.example", vendor: "verifier-inc", review: (r) => ({ outcome: r.proposed.outcome, rationale: "Independent re-evaluation produced the same outcome." }) };
const dissent: VerifierAgent = { did: "did:web:skeptic.example", vendor: "skeptic-gmbh", review: () => ({ outcome: "block", rationale: "The counterparty looks like a shell company." }) };
const sameVendor: VerifierAgent = { did: "did:web:own-verifier.example", vendor: "assistnet", review: () => ({ outcome: "allow", rationale: "rubber stamp" }) };

beforeEach(() => {
  clock = new TestClock();
  escalations = [];
  engine = new PolicyEngine({
    clock: clock.now,
    rules: { version: "t", rules: [{ id: "l2.eu.ai_act.high_risk_oversight", layer: "L2", when: { field: "action.risk_class", op: "eq", value: "high" }, effect: "allow_with_conditions", conditions: ["require_human_review"] }] },
  });
});

function review(verifiers: VerifierAgent[], extra: { timeoutMs?: number } = {}): MultiPartyReview {
  return new MultiPartyReview({ verifiers, actingVendor: "assistnet", thresholds: { amount: { amount: "1000.00", currency: "EUR" } }, escalate: (e) => void escalations.push(e), ...extra });
}

const high: PolicyContext = { action: { id: "transfer", risk_class: "high", side_effects: "external" }, principal: { did: "did:plc:abc", locale: "de" } };

describe("§20.5 when review is required", () => {
  it("§20.5 high risk, irreversible, above the Principal's threshold (other currency counts as above)", () => {
    expect(reviewRequirement({ action: { risk_class: "minimal" } }).required).toBe(false);
    expect(reviewRequirement(high).reasons).toEqual(["high_risk"]);
    expect(reviewRequirement({ action: { side_effects: "irreversible" } }).reasons).toEqual(["irreversible"]);
    expect(reviewRequirement({ action: { irreversibility_class: "irreversible_financial" } }).reasons).toEqual(["irreversible"]);
    const t = { amount: { amount: "1000.00", currency: "EUR" } };
    expect(reviewRequirement({ amount: { amount: "1000.00", currency: "EUR" } }, t).required).toBe(false);
    expect(reviewRequirement({ amount: { amount: "1000.01", currency: "EUR" } }, t).reasons).toEqual(["above_threshold"]);
    expect(reviewRequirement({ amount: { amount: "5", currency: "USD" } }, t).reasons).toEqual(["above_threshold"]);
    expect(reviewRequirement({ tool: { risk_class: "high" } }).reasons).toEqual(["high_risk"]);
  });

  it("§20.5 a decision that needs no review is returned unchanged", async () => {
    const proposed = engine.evaluate({ action: { risk_class: "minimal" } }).record;
    const r = await review([concur]).review({ action: { risk_class: "minimal" } }, proposed);
    expect(r.reviewed).toBe(false);
    expect(r.record).toBe(proposed);
  });
});

describe("§20.5 verdicts", () => {
  it("§20.5 concurrence is recorded in verifier_agent", async () => {
    const proposed = engine.evaluate(high).record;
    const r = await review([concur]).review(high, proposed);
    expect(r).toMatchObject({ reviewed: true, escalated: false });
    expect(r.record.outcome).toBe("allow_with_conditions");
    expect(r.record.verifier_agent).toEqual({ agent_did: "did:web:verifier.example", outcome: "concur", rationale: "Independent re-evaluation produced the same outcome." });
    expect(r.record.applied_rules).toContain("verifier:did:web:verifier.example:concur");
    expect(validateOapDocument("oap-decision-record", r.record)).toEqual([]);
    expect(escalations).toEqual([]);
  });

  it("§20.5 disagreement escalates to the Principal: require_consent + escalate_to_principal, hook called", async () => {
    const proposed = engine.evaluate(high).record;
    const r = await review([dissent]).review(high, proposed);
    expect(r).toMatchObject({ reviewed: true, escalated: true });
    expect(r.record.outcome).toBe("require_consent");
    expect(r.record.conditions).toEqual(["require_human_review", "escalate_to_principal"]);
    expect(r.record.verifier_agent).toEqual({ agent_did: "did:web:skeptic.example", outcome: "dissent", rationale: "verifier proposed block: The counterparty looks like a shell company." });
    expect(r.record.explanation_for_principal).toBe("Die Aktion benötigt Ihre ausdrückliche Zustimmung, bevor sie ausgeführt werden kann.");
    expect(escalations).toHaveLength(1);
    expect(escalations[0]?.verifier?.verdict?.outcome).toBe("block");
    expect(validateOapDocument("oap-decision-record", r.record)).toEqual([]);
  });

  it("§20.5 a block stays a block when the verifier would allow (review never weakens)", async () => {
    const blocked = new PolicyEngine({ rules: { version: "t", rules: [{ id: "l4.no", layer: "L4", when: { always: true }, effect: "deny" }] } }).evaluate(high).record;
    const r = await review([{ ...concur, review: () => ({ outcome: "allow", rationale: "fine" }) }]).review(high, blocked);
    expect(r.record.outcome).toBe("block");
    expect(r.escalated).toBe(true);
  });

  it("§20.5 independence: verifiers of the acting vendor are never asked", async () => {
    const mpr = review([sameVendor, concur]);
    expect(mpr.verifier()?.did).toBe("did:web:verifier.example");
    const r = await review([sameVendor]).review(high, engine.evaluate(high).record);
    expect(r.escalated).toBe(true);
    expect(r.record.verifier_agent?.outcome).toBe("unavailable");
    expect(r.record.verifier_agent?.rationale).toContain("no independent verifier");
  });

  it("§20.5 a verifier that fails or times out escalates (fail closed)", async () => {
    const broken: VerifierAgent = { did: "did:web:down.example", vendor: "other", review: () => Promise.reject(new Error("503")) };
    const r1 = await review([broken]).review(high, engine.evaluate(high).record);
    expect(r1.record.outcome).toBe("require_consent");
    expect(r1.record.verifier_agent).toMatchObject({ agent_did: "did:web:down.example", outcome: "unavailable" });
    const slow: VerifierAgent = { did: "did:web:slow.example", vendor: "other", review: () => new Promise(() => undefined) };
    const r2 = await review([slow], { timeoutMs: 20 }).review(high, engine.evaluate(high).record);
    expect(r2.record.verifier_agent?.rationale).toContain("no verdict within 20 ms");
    expect(escalations).toHaveLength(2);
  });
});
