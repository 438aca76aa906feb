/**
 * OAP-CORE-1.0 §20 Policy Engine: four layers in order, first deny terminates (§20.1), the
 * universal prohibitions are built in and not overridable (§20.2), L2 freshness (§20.3), every
 * evaluation is a schema-valid Decision Record with `explanation_for_principal` in the
 * Principal's locale (§20.4); rules are schema-validated data, hot-reloadable.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { evaluateCondition, type PolicyContext } from "../../../src/oap/governance/conditions.js";
import { PolicyEngine, UNIVERSAL_PROHIBITIONS, invocationPolicyContext } from "../../../src/oap/governance/policy.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import { POLICY_RULES_SCHEMA, validateRuleSet, type PolicyRuleSet } from "../../../src/oap/governance/rules-schema.js";
import { oapIds } from "../../../src/oap/util.js";
import { TestClock, counterRandom, thrown, unsignedRequest, upstream } from "../helpers.js";

const RULES: PolicyRuleSet = {
  version: "test-1",
  source: "tests",
  published_at: "2026-04-01T00:00:00Z",
  rules: [
    {
      id: "l2.eu.ai_act.high_risk_oversight",
      layer: "L2",
      when: { all: [{ field: "action.risk_class", op: "eq", value: "high" }, { field: "jurisdiction.user", op: "in", value: ["DE", "FR", "AT"] }] },
      effect: "allow_with_conditions",
      conditions: ["require_human_review"],
      explanation: { en: "High-risk action under the EU AI Act: human oversight required.", de: "Hochrisiko-Aktion nach der KI-Verordnung: menschliche Aufsicht erforderlich.", fr: "Action à haut risque selon le règlement IA : supervision humaine requise." },
    },
    {
      id: "l2.us.ofac.embargoed_country",
      layer: "L2",
      when: { field: "jurisdiction.tool", op: "in", value: ["KP", "IR"] },
      effect: "deny",
      explanation: { en: "The Tool operates in an embargoed country.", de: "Das Tool wird in einem Embargoland betrieben." },
    },
    {
      id: "l3.profession.bar_de.client_data",
      layer: "L3",
      when: { all: [{ field: "principal.attributes.profession", op: "eq", value: "lawyer" }, { field: "data_classes", op: "contains", value: "client_file" }] },
      effect: "require_consent",
      explanation: { en: "Client files leave the firm only with the client's consent.", de: "Mandantenakten verlassen die Kanzlei nur mit Zustimmung des Mandanten." },
    },
    {
      id: "l4.principal.spending_cap",
      layer: "L4",
      when: { field: "amount", op: "gt", value: { amount: "100.00", currency: "EUR" } },
      effect: "deny",
      explanation: { en: "Above your spending cap of 100 EUR.", de: "Über Ihrem Ausgabenlimit von 100 EUR.", fr: "Au-dessus de votre plafond de dépenses de 100 EUR." },
    },
    {
      id: "l4.principal.no_health_sharing",
      layer: "L4",
      when: { field: "data_classes", op: "contains", value: "health_data" },
      effect: "require_anonymization",
      explanation: { en: "You asked never to share health data in identifiable form.", de: "Sie haben verfügt, Gesundheitsdaten nie identifizierbar zu teilen." },
    },
  ],
};

let clock: TestClock;
let engine: PolicyEngine;

beforeEach(() => {
  clock = new TestClock();
  engine = new PolicyEngine({ rules: RULES, clock: clock.now, ids: oapIds(clock.now, counterRandom()) });
});

function ctx(extra: Partial<PolicyContext> = {}): PolicyContext {
  return {
    action: { id: "get_forecast", risk_class: "minimal", side_effects: "none" },
    principal: { did: "did:plc:abc123", locale: "de-DE", attributes: {} },
    jurisdiction: { user: "DE", agent: "DE", tool: "DE" },
    data_classes: [],
    amount: { amount: "0.001", currency: "EUR" },
    ...extra,
  };
}

describe("§20.1 four layers, first deny terminates", () => {
  it("§20.1 nothing matches: allow after all four layers, schema-valid record", () => {
    const { record } = engine.evaluate(ctx());
    expect(record.outcome).toBe("allow");
    expect(record.layers_evaluated).toEqual(["L1", "L2", "L3", "L4"]);
    expect(record.applied_rules).toEqual([]);
    expect(validateOapDocument("oap-decision-record", record)).toEqual([]);
  });

  it("§20.1 a deny at L2 stops before L3 and L4 (their matching rules are not applied)", () => {
    const { record, deniedAt } = engine.evaluate(
      ctx({ jurisdiction: { user: "DE", agent: "DE", tool: "KP" }, amount: { amount: "500.00", currency: "EUR" }, data_classes: ["health_data"] }),
    );
    expect(deniedAt).toBe("L2");
    expect(record.outcome).toBe("block");
    expect(record.layers_evaluated).toEqual(["L1", "L2"]);
    expect(record.applied_rules).toEqual(["l2.us.ofac.embargoed_country"]);
    expect(record.conditions).toBeUndefined();
    expect(record.explanation).toMatch(/^Blocked at layer L2 by L2 l2\.us\.ofac\.embargoed_country/);
    expect(record.explanation_for_principal).toBe("Die Aktion wurde blockiert. Das Tool wird in einem Embargoland betrieben.");
  });

  it("§20.1 L4 personal deny (spending cap) after L2 conditions: block, conditions dropped", () => {
    const { record } = engine.evaluate(ctx({ action: { risk_class: "high" }, amount: { amount: "100.01", currency: "EUR" } }));
    expect(record.outcome).toBe("block");
    expect(record.layers_evaluated).toEqual(["L1", "L2", "L3", "L4"]);
    expect(record.applied_rules).toEqual(["l2.eu.ai_act.high_risk_oversight", "l4.principal.spending_cap"]);
  });

  it("§20.1 without a deny the most restrictive outcome wins and conditions accumulate", () => {
    const { record } = engine.evaluate(ctx({ action: { risk_class: "high" }, data_classes: ["client_file", "health_data"], principal: { did: "did:plc:abc123", locale: "en", attributes: { profession: "lawyer" } } }));
    expect(record.outcome).toBe("require_consent");
    expect(record.applied_rules).toEqual(["l2.eu.ai_act.high_risk_oversight", "l3.profession.bar_de.client_data", "l4.principal.no_health_sharing"]);
    expect(record.conditions).toEqual(["require_human_review"]);
    expect(validateOapDocument("oap-decision-record", record)).toEqual([]);
  });

  it("§20.1 allow_with_conditions: the conditions are in the record", () => {
    const { record } = engine.evaluate(ctx({ action: { risk_class: "high" } }));
    expect(record.outcome).toBe("allow_with_conditions");
    expect(record.conditions).toEqual(["require_human_review"]);
    expect(record.explanation_for_principal).toBe(
      "Die Aktion ist unter Bedingungen zulässig: menschliche Überprüfung. Hochrisiko-Aktion nach der KI-Verordnung: menschliche Aufsicht erforderlich.",
    );
  });

  it("§20.1 money is compared exactly, as decimals (100.00 EUR is not above the cap, 100.000000001 is)", () => {
    expect(engine.evaluate(ctx({ amount: { amount: "100.00", currency: "EUR" } })).record.outcome).toBe("allow");
    expect(engine.evaluate(ctx({ amount: { amount: "100.000000001", currency: "EUR" } })).record.outcome).toBe("block");
  });

  it("§20.1 an undecidable deny condition fails closed (amount in another currency)", () => {
    const { record, matches } = engine.evaluate(ctx({ amount: { amount: "1.00", currency: "USD" } }));
    expect(record.outcome).toBe("block");
    expect(matches[0]?.truth).toBe("unknown");
    expect(record.explanation).toContain("undecidable condition, failing closed");
  });

  it("§20.1 defaultOutcome block: no matching rule → block", () => {
    const strict = new PolicyEngine({ rules: RULES, defaultOutcome: "block", clock: clock.now });
    const { record } = strict.evaluate(ctx());
    expect(record.outcome).toBe("block");
    expect(record.explanation).toBe("No rule permits this action (default deny).");
  });
});

describe("§20.2 universal prohibitions", () => {
  it("§20.2 built in: a CSAM flag is blocked at L1 before any other layer", () => {
    const { record } = engine.evaluate(ctx({ flags: ["csam"], action: { risk_class: "high" } }));
    expect(record.outcome).toBe("block");
    expect(record.layers_evaluated).toEqual(["L1"]);
    expect(record.applied_rules).toEqual(["l1.universal.no_csam"]);
    expect(record.explanation_for_principal).toBe("Die Aktion wurde blockiert. Universelles Verbot: Förderung von Darstellungen sexuellen Kindesmissbrauchs.");
  });

  it("§20.2 every prohibition of the list is present", () => {
    for (const flag of ["csam", "realtime_mass_biometric_identification", "social_scoring", "manipulation_of_vulnerable_groups", "wmd", "eu_ai_act_art5"]) {
      expect(engine.evaluate(ctx({ flags: [flag] })).record.outcome, flag).toBe("block");
    }
  });

  it("§20.2 not subject to local override: an L4 allow rule for the same context changes nothing", () => {
    engine.reload({ version: "override", rules: [{ id: "l4.principal.allow_everything", layer: "L4", when: { always: true }, effect: "allow" }] });
    const { record } = engine.evaluate(ctx({ flags: ["wmd"] }));
    expect(record.outcome).toBe("block");
    expect(record.applied_rules).toEqual(["l1.universal.no_wmd"]);
  });

  it("§20.2 a reload cannot replace or remove a universal prohibition", async () => {
    const e = await thrown(() => engine.reload({ version: "evil", rules: [{ id: "l1.universal.no_wmd", layer: "L1", when: { always: false as unknown as true }, effect: "allow" }] }));
    expect(e.code).toBe("ERR_OAP_INPUT_INVALID");
    const e2 = await thrown(() => engine.reload({ version: "evil", rules: [{ id: "l1.universal.no_wmd", layer: "L1", when: { always: true }, effect: "allow" }] }));
    expect(e2.message).toContain("built-in universal prohibition");
    engine.reload([]);
    expect(engine.rules("L1").map((r) => r.id)).toEqual(UNIVERSAL_PROHIBITIONS.rules.map((r) => r.id));
  });

  it("§20.2 autonomous human targeting is routed to a human: escalate, then the human decides", () => {
    const pending = engine.evaluate(ctx({ flags: ["human_target_selection"] })).record;
    expect(pending.outcome).toBe("require_consent");
    expect(pending.conditions).toEqual(["escalate_to_human"]);
    const approved = engine.evaluate(ctx({ flags: ["human_target_selection"], human_decision: { approved: true, by: "did:web:officer.example" } })).record;
    expect(approved.outcome).toBe("allow");
    const refused = engine.evaluate(ctx({ flags: ["human_target_selection"], human_decision: { approved: false } })).record;
    expect(refused.outcome).toBe("block");
    expect(refused.applied_rules).toEqual(["l1.universal.human_target_selection.refused"]);
  });
});

describe("§20.3 L2 freshness", () => {
  it("§20.3 a source published upstream more than 30 days ago and not loaded is overdue", () => {
    expect(engine.overdueSources({ tests: "2026-04-01T00:00:00Z" })).toEqual([]);
    expect(engine.overdueSources({ tests: "2026-04-10T00:00:00Z" })).toEqual([]); // newer, but within 30 days (now = 2026-05-02)
    expect(engine.overdueSources({ tests: "2026-03-25T00:00:00Z", "wg/l2-eu": "2026-01-01T00:00:00Z" })).toEqual([{ source: "wg/l2-eu", published: "2026-01-01T00:00:00Z" }]);
    clock.advance(40 * 86_400_000);
    expect(engine.overdueSources({ tests: "2026-04-10T00:00:00Z" })).toEqual([{ source: "tests", loaded: "2026-04-01T00:00:00Z", published: "2026-04-10T00:00:00Z" }]);
  });
});

describe("§20.4 Decision Record and explanation for the Principal", () => {
  const highRisk = (locale: string): PolicyContext => ctx({ action: { risk_class: "high" }, principal: { did: "did:plc:x", locale } });

  it("§20.4 de, fr and en; an unsupported locale falls back to English", () => {
    expect(engine.evaluate(highRisk("fr-FR")).record.explanation_for_principal).toBe(
      "L'action est autorisée sous conditions : examen humain. Action à haut risque selon le règlement IA : supervision humaine requise.",
    );
    expect(engine.evaluate(highRisk("en-GB")).record.explanation_for_principal).toBe(
      "The action is permitted under conditions: human review. High-risk action under the EU AI Act: human oversight required.",
    );
    expect(engine.evaluate(highRisk("es-ES")).record.explanation_for_principal).toBe(
      "The action is permitted under conditions: human review. High-risk action under the EU AI Act: human oversight required.",
    );
  });

  it("§20.4 a rule text missing in the Principal's language: the whole message falls back to English (no mixing)", () => {
    const { record } = engine.evaluate(ctx({ data_classes: ["client_file"], principal: { did: "did:plc:x", locale: "fr", attributes: { profession: "lawyer" } } }));
    expect(record.explanation_for_principal).toBe("The action needs your explicit consent before it can proceed. Client files leave the firm only with the client's consent.");
  });

  it("§20.4 decision ids are dec_<ULID>, evaluated_at is the clock", () => {
    const { record } = engine.evaluate(ctx());
    expect(record.decision_id).toMatch(/^dec_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(record.evaluated_at).toBe("2026-05-02T10:00:00.000Z");
  });
});

describe("§20 rules as data: schema, hot reload", () => {
  it("the rule schema is a JSON Schema object and the test rules validate", () => {
    expect(POLICY_RULES_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(validateRuleSet(RULES)).toEqual([]);
  });

  it("invalid rule sets are refused with pointers: bad op, missing value, wrong layer prefix, duplicate id, unknown member", () => {
    const bad = {
      version: "x",
      rules: [
        { id: "l2.a", layer: "L2", when: { field: "amount", op: "between", value: 1 }, effect: "deny" },
        { id: "l2.b", layer: "L2", when: { field: "amount", op: "gt" }, effect: "deny" },
      ],
    };
    expect(validateRuleSet(bad).map((i) => i.pointer)).toContain("/rules/0/when");
    expect(validateRuleSet({ version: "x", rules: [{ id: "l3.a", layer: "L2", when: { always: true }, effect: "deny" }] })[0]?.message).toContain('starts with "l2."');
    expect(validateRuleSet({ version: "x", rules: [{ id: "l2.a", layer: "L2", when: { always: true }, effect: "deny" }, { id: "l2.a", layer: "L2", when: { always: true }, effect: "allow" }] })[0]?.message).toBe("duplicate rule id l2.a");
    expect(validateRuleSet({ version: "x", rules: [], extra: 1 }).length).toBeGreaterThan(0);
    expect(validateRuleSet({ version: "x", rules: [{ id: "l2.a", layer: "L2", when: { field: "x", op: "gt", value: "lots" }, effect: "deny" }] }).length).toBeGreaterThan(0);
  });

  it("reload swaps the rules atomically; a bad reload keeps the running rules", async () => {
    const before = engine.loaded;
    const e = await thrown(() => engine.reload({ version: "broken", rules: [{ id: "l4.x", layer: "L4", when: { field: "x", op: "nope" }, effect: "deny" }] }));
    expect(e.code).toBe("ERR_OAP_INPUT_INVALID");
    expect(e.details?.["issues"]).toBeDefined();
    expect(engine.loaded).toBe(before);
    expect(engine.evaluate(ctx({ amount: { amount: "500", currency: "EUR" } })).record.outcome).toBe("block");

    const info = engine.reload({ version: "test-2", rules: [{ id: "l4.principal.spending_cap", layer: "L4", when: { field: "amount", op: "gt", value: { amount: "1000", currency: "EUR" } }, effect: "deny" }] });
    expect(info.versions).toEqual(["oap-core-1.0-20.2", "test-2"]);
    expect(engine.evaluate(ctx({ amount: { amount: "500", currency: "EUR" } })).record.outcome).toBe("allow");
  });
});

describe("§20 rule language", () => {
  const c: PolicyContext = { action: { risk_class: "high" }, data_classes: ["a", "b"], principal: { attributes: { age: 40 } }, time: "2026-05-02T10:00:00Z" };

  it("Kleene logic: unknown propagates through all/any/not", () => {
    const unknown = { field: "amount", op: "gt", value: "1" } as const;
    expect(evaluateCondition(unknown, c)).toBe("unknown");
    expect(evaluateCondition({ all: [unknown, { always: true }] }, c)).toBe("unknown");
    expect(evaluateCondition({ all: [unknown, { field: "action.risk_class", op: "eq", value: "low" }] }, c)).toBe(false);
    expect(evaluateCondition({ any: [unknown, { field: "action.risk_class", op: "eq", value: "high" }] }, c)).toBe(true);
    expect(evaluateCondition({ not: unknown }, c)).toBe("unknown");
  });

  it("set operators, missing fields, numbers, dates and prefixes", () => {
    expect(evaluateCondition({ field: "data_classes", op: "contains_all", value: ["a", "b"] }, c)).toBe(true);
    expect(evaluateCondition({ field: "data_classes", op: "contains_any", value: ["z", "b"] }, c)).toBe(true);
    expect(evaluateCondition({ field: "missing.path", op: "eq", value: 1 }, c)).toBe(false);
    expect(evaluateCondition({ field: "missing.path", op: "ne", value: 1 }, c)).toBe(true);
    expect(evaluateCondition({ field: "missing.path", op: "exists" }, c)).toBe(false);
    expect(evaluateCondition({ field: "principal.attributes.age", op: "gte", value: 18 }, c)).toBe(true);
    expect(evaluateCondition({ field: "time", op: "lt", value: "2026-05-02T11:00:00+00:00" }, c)).toBe(true);
    expect(evaluateCondition({ field: "action.risk_class", op: "prefix", value: "hi" }, c)).toBe(true);
    expect(evaluateCondition({ field: "action.constructor", op: "exists" }, c)).toBe(false);
  });
});

describe("§20 invocation context", () => {
  it("§20 the context of a request envelope, its action and manifest feeds the engine", () => {
    const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
    const envelope = unsignedRequest(new TestClock(), { scope_id: "scope_a", policy_assertions: { confidentiality_class: "confidential", provenance_tags: ["nda:x"] } }) as unknown as OapRequestEnvelope;
    const c = invocationPolicyContext({ envelope, action: manifest.actions[0] as never, manifest, amount: { amount: "150.00", currency: "EUR" }, toolJurisdiction: "DE", dataClasses: ["health_data"] });
    expect(c).toMatchObject({
      action: { id: "get_forecast", side_effects: "none", risk_class: "minimal", data_classes_in: ["geolocation_coarse"] },
      tool: { did: "did:web:weatherpro.example", risk_class: "minimal" },
      principal: { did: "did:plc:abc123", locale: "de-DE", jurisdiction: "DE" },
      scope_id: "scope_a",
      data_classes: ["geolocation_coarse", "health_data"],
      jurisdiction: { user: "DE", agent: "DE", tool: "DE" },
      provenance_tags: ["nda:x"],
      confidentiality_class: "confidential",
    });
    const { record } = new PolicyEngine({ rules: RULES }).evaluate(c);
    expect(record.outcome).toBe("block"); // spending cap at L4 after the health-data anonymisation rule
    expect(record.applied_rules).toEqual(["l4.principal.spending_cap", "l4.principal.no_health_sharing"]);
  });
});
