/**
 * OAP-CORE-1.0 §18.3 Pre Action Confidentiality Gate: one test per question (with the expected
 * outcome and explanation), §18.4 information flow control, §17.2 provenance inside the gate,
 * and the Decision Record (`ccc_evaluation`, schema validity, 412 precondition_failed).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { CccGate, StaticSanctionsScreener, type CccDestination, type CccShare, type OapCcc } from "../../../src/oap/governance/ccc.js";
import { TestClock, thrown, upstream } from "../helpers.js";

const HASH = `sha256:${"ab".repeat(32)}`;

/** The §18.2 example CCC (sanctions as the schema's array). */
const CCC: OapCcc = {
  ccc_version: "1.0",
  scope_id: "scope_clientA",
  active_ndas: [
    { id: "nda:nda_2026_clientA", counterparties: ["did:web:clienta.example", "did:web:vendor-approved.example"], type: "mutual", covered_categories: ["financials", "strategy", "personnel"], valid_from: "2026-01-15", valid_until: "2028-12-31", jurisdiction: "DE", document_hash: HASH },
    { id: "nda:nda_2024_old", counterparties: ["did:web:oldpartner.example"], type: "mutual", covered_categories: ["roadmap"], valid_from: "2024-01-01", valid_until: "2025-12-31", jurisdiction: "DE", document_hash: HASH },
  ],
  non_competes: [{ ex_employer: "did:web:formeremployer.example", valid_until: "2026-12-31", scope: "EU", covered_industries: ["payments"] }],
  non_solicits: [{ subject_did: "did:web:formeremployer.example", applies_to: "employees", valid_until: "2026-12-31" }],
  embargo_list: ["did:web:competitorB.example"],
  chinese_walls: [{ between: ["scope_clientA", "scope_clientB"], reason: "competing_clients" }],
  professional_codes: [],
  sanctions_screening: ["ofac", "eu", "un"],
  export_control_classification: null,
};

const DEST: CccDestination = { did: "did:web:vendor-approved.example", jurisdiction: "DE", professional_secrecy: true, clearance: ["client_a"] };
const SHARE: CccShare = { data_classes: ["financials"] };

let clock: TestClock;
let gate: CccGate;
const screener = new StaticSanctionsScreener({ ofac: { dids: ["did:web:sdn-listed.example"], jurisdictions: ["KP"] }, eu: { names: ["Bad Bank Ltd"] } });

beforeEach(() => {
  clock = new TestClock();
  gate = new CccGate({ sanctions: screener, clock: clock.now });
});

function rules(d: { record: { applied_rules: string[] } }): string[] {
  return d.record.applied_rules;
}

describe("§18.3 all clear", () => {
  it("§18.3 an approved NDA counterparty, no other constraint: allow with every question clear", async () => {
    const d = await gate.evaluate(CCC, DEST, SHARE, "de");
    expect(d.outcome).toBe("allow");
    expect(rules(d)).toEqual(["ccc.embargo.clear", "ccc.nda.coverage.nda_2026_clientA", "ccc.non_compete.clear", "ccc.chinese_wall.clear", "ccc.professional.clear", "ccc.sanctions.ofac_clear", "ccc.sanctions.eu_clear", "ccc.sanctions.un_clear", "ccc.export.unclassified"]);
    expect(d.record.ccc_evaluation).toEqual({
      embargo_clear: true,
      nda_coverage: true,
      non_compete_clear: true,
      chinese_wall_clear: true,
      professional_code_compliant: true,
      sanctions_clear: true,
      export_classification_compatible: true,
    });
    expect(d.record.layers_evaluated).toEqual(["L2", "L3", "L4"]);
    expect(d.record.explanation).toBe("CCC gate (§18.3): all questions are clear.");
    expect(d.record.explanation_for_principal).toBe("Die Aktion ist zulässig.");
    expect(validateOapDocument("oap-decision-record", d.record)).toEqual([]);
  });
});

describe("§18.3 the seven questions", () => {
  it("§18.3 Q1 embargo: the destination is on the embargo list → block", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:competitorB.example" }, { data_classes: ["public"] }, "en");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.embargo.listed:competitorB.example");
    expect(d.record.ccc_evaluation?.embargo_clear).toBe(false);
    expect(d.record.explanation).toBe("CCC gate (§18.3) outcome block: ccc.embargo.listed:competitorB.example: The destination did:web:competitorB.example is on the embargo list.");
    expect(d.record.explanation_for_principal).toBe("The action was blocked. The destination did:web:competitorB.example is on the embargo list.");
  });

  it("§18.3 Q1 embargo: a did:web entry covers paths under its domain", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:competitorB.example:eu" }, SHARE);
    expect(d.outcome).toBe("block");
  });

  it("§18.3 Q2 NDA coverage: covered classes to a non-party → require_consent", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:newvendor.example" }, { data_classes: ["financials", "strategy"] }, "de");
    expect(d.outcome).toBe("require_consent");
    expect(rules(d)).toContain("ccc.nda.uncovered:financials+strategy");
    expect(d.record.ccc_evaluation?.nda_coverage).toBe(false);
    expect(d.record.conditions).toEqual(["principal_consent"]);
    expect(d.record.explanation).toBe("CCC gate (§18.3) outcome require_consent: ccc.nda.uncovered:financials+strategy: No active NDA with did:web:newvendor.example covers financials, strategy.");
    expect(d.record.explanation_for_principal).toBe(
      "Die Aktion benötigt Ihre ausdrückliche Zustimmung, bevor sie ausgeführt werden kann. Keine aktive NDA mit did:web:newvendor.example deckt financials, strategy ab.",
    );
  });

  it("§18.3 Q2 NDA coverage: an expired NDA does not cover; data received under it must not be used (block)", async () => {
    const expired = await gate.evaluate(CCC, { ...DEST, did: "did:web:oldpartner.example" }, { data_classes: ["roadmap"] });
    expect(expired.outcome).toBe("require_consent");
    const tagged = await gate.evaluate(CCC, { ...DEST, did: "did:web:oldpartner.example" }, { data_classes: ["roadmap"], provenance: [{ received_under: "nda:nda_2024_old", source_did: "did:web:oldpartner.example" }] });
    expect(tagged.outcome).toBe("block");
    expect(rules(tagged)).toContain("ccc.nda.expired:nda:nda_2024_old");
  });

  it("§18.3 Q2 NDA coverage: data received under an NDA to a party of it is covered; to a third party needs consent", async () => {
    const tag = { received_under: "nda:nda_2026_clientA", source_did: "did:web:clienta.example", classification: "confidential" as const };
    expect((await gate.evaluate(CCC, DEST, { data_classes: ["strategy"], provenance: [tag] })).outcome).toBe("allow");
    const third = await gate.evaluate(CCC, { ...DEST, did: "did:web:third.example" }, { data_classes: ["notes"], provenance: [tag] });
    expect(third.outcome).toBe("require_consent");
    expect(rules(third)).toEqual(expect.arrayContaining(["ccc.nda.received_under:nda:nda_2026_clientA", "ccc.nda.uncovered:notes"]));
  });

  it("§18.3 Q2 NDA coverage: consent turns require_consent into allow_with_conditions citing the consent", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:newvendor.example" }, { data_classes: ["financials"], consent_receipt: "urn:oap:consent:01J9V8B7H1ZK4D2A0M9R8F0KQX" });
    expect(d.outcome).toBe("allow_with_conditions");
    expect(d.record.conditions).toEqual(["consent:urn:oap:consent:01J9V8B7H1ZK4D2A0M9R8F0KQX"]);
    expect(d.record.ccc_evaluation?.nda_coverage).toBe(true);
  });

  it("§18.3 Q3 non-compete: a destination in a covered industry inside the scope → block", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, industries: ["payments", "banking"], jurisdiction: "FR" }, SHARE, "en");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.non_compete.formeremployer.example");
    expect(d.record.ccc_evaluation?.non_compete_clear).toBe(false);
    expect(d.record.explanation).toContain("violates the non-compete with did:web:formeremployer.example until 2026-12-31");
    // outside the scope (US) or after it ends: clear
    expect((await gate.evaluate(CCC, { ...DEST, industries: ["payments"], jurisdiction: "US" }, SHARE)).outcome).toBe("allow");
    clock.ms = Date.parse("2027-01-01T00:00:00Z");
    expect((await gate.evaluate(CCC, { ...DEST, industries: ["payments"], jurisdiction: "FR" }, SHARE)).record.ccc_evaluation?.non_compete_clear).toBe(true);
  });

  it("§18.3 Q3 non-solicitation: soliciting the ex-employer's employees → block", async () => {
    const d = await gate.evaluate(CCC, DEST, { ...SHARE, solicitation: { subject_did: "did:web:formeremployer.example", target: "employees" } }, "de");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.non_solicit.formeremployer.example");
    expect(d.record.explanation_for_principal).toBe("Die Aktion wurde blockiert. Die Abwerbung von Mitarbeitern von did:web:formeremployer.example verletzt ein Abwerbeverbot.");
    expect((await gate.evaluate(CCC, DEST, { ...SHARE, solicitation: { subject_did: "did:web:formeremployer.example", target: "customers" } })).outcome).toBe("allow");
  });

  it("§18.3 Q4 Chinese Wall: data of scope_clientA to scope_clientB → block", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:internal-agent.example", scope_id: "scope_clientB" }, { data_classes: ["public"] }, "fr");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.chinese_wall.scope_clientA_scope_clientB");
    expect(d.record.ccc_evaluation?.chinese_wall_clear).toBe(false);
    expect(d.record.explanation_for_principal).toBe("L'action a été bloquée. Une muraille de Chine (competing_clients) sépare scope_clientA de scope_clientB.");
    // provenance from another scope counts as a source too
    const viaTag = await gate.evaluate({ ...CCC, scope_id: "scope_other" }, { ...DEST, scope_id: "scope_clientB" }, { data_classes: ["public"], provenance: [{ received_under: "scope:scope_clientA" }] });
    expect(viaTag.outcome).toBe("block");
  });

  it("§18.3 Q5 professional code: bar:de to a destination without professional secrecy → require_consent; med: → require_anonymization", async () => {
    const lawyer = { ...CCC, professional_codes: ["bar:de"] };
    const d = await gate.evaluate(lawyer, { ...DEST, professional_secrecy: false }, SHARE, "de");
    expect(d.outcome).toBe("require_consent");
    expect(rules(d)).toContain("ccc.professional.bar:de");
    expect(d.record.ccc_evaluation?.professional_code_compliant).toBe(false);
    expect(d.record.explanation_for_principal).toContain("Der Berufscode bar:de beschränkt die Weitergabe an did:web:vendor-approved.example");
    const doctor = { ...CCC, professional_codes: ["med:de"] };
    const m = await gate.evaluate(doctor, { ...DEST, professional_secrecy: false }, SHARE, "en");
    expect(m.outcome).toBe("require_anonymization");
    expect(m.record.explanation_for_principal).toBe(
      "The data must be anonymised before it can be shared. Professional code med:de forbids disclosing identifiable data to did:web:vendor-approved.example, which is not bound by equivalent secrecy.",
    );
    const anonymised = await gate.evaluate(doctor, { ...DEST, professional_secrecy: false }, { ...SHARE, anonymized: true });
    expect(anonymised.outcome).toBe("allow_with_conditions");
    expect(anonymised.record.conditions).toEqual(["anonymized"]);
    expect((await gate.evaluate(lawyer, DEST, SHARE)).outcome).toBe("allow"); // bound by secrecy
  });

  it("§18.3 Q6 sanctions: a listed destination → block; declared lists without a screener → block (fail closed)", async () => {
    const d = await gate.evaluate(CCC, { ...DEST, did: "did:web:sdn-listed.example" }, SHARE, "fr");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.sanctions.ofac_listed");
    expect(d.record.ccc_evaluation?.sanctions_clear).toBe(false);
    expect(d.record.explanation_for_principal).toBe("L'action a été bloquée. La destination did:web:sdn-listed.example figure sur la liste de sanctions OFAC.");
    expect(rules(await gate.evaluate(CCC, { ...DEST, legal_name: "bad bank ltd" }, SHARE))).toContain("ccc.sanctions.eu_listed");
    const blind = await new CccGate({ clock: clock.now }).evaluate(CCC, DEST, SHARE);
    expect(blind.outcome).toBe("block");
    expect(rules(blind)).toContain("ccc.sanctions.unavailable");
    const failing = await new CccGate({ clock: clock.now, sanctions: { isListed: () => Promise.reject(new Error("timeout")) } }).evaluate(CCC, DEST, SHARE);
    expect(rules(failing)).toContain("ccc.sanctions.ofac_unavailable");
  });

  it("§18.3 Q7 export classification: dual-use to a non-EU001 country → block; to the EU → allow; ITAR stays in the US", async () => {
    const dual = { ...CCC, export_control_classification: "5A002" };
    const d = await gate.evaluate(dual, { ...DEST, jurisdiction: "CN" }, SHARE, "en");
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.export.5a002_blocked:CN");
    expect(d.record.ccc_evaluation?.export_classification_compatible).toBe(false);
    expect(d.record.explanation_for_principal).toBe("The action was blocked. Classification 5A002 may not be transferred to CN.");
    expect((await gate.evaluate(dual, { ...DEST, jurisdiction: "FR" }, SHARE)).outcome).toBe("allow");
    expect((await gate.evaluate(dual, { ...DEST, jurisdiction: "JP" }, SHARE)).outcome).toBe("allow");
    const itar = { ...CCC, export_control_classification: "ITAR:XI" };
    expect((await gate.evaluate(itar, { ...DEST, jurisdiction: "DE" }, SHARE)).outcome).toBe("block");
    expect((await gate.evaluate(itar, { ...DEST, jurisdiction: "US" }, SHARE)).outcome).toBe("allow");
    expect(rules(await gate.evaluate({ ...CCC, export_control_classification: "EAR99" }, { ...DEST, jurisdiction: "IR" }, SHARE))).toContain("ccc.export.ear99_embargoed:IR");
    expect(rules(await gate.evaluate({ ...CCC, export_control_classification: "XYZ-1" }, DEST, SHARE))).toContain("ccc.export.xyz-1_unknown");
    expect(rules(await gate.evaluate(dual, { did: DEST.did, professional_secrecy: true }, SHARE))).toContain("ccc.export.5a002_destination_unknown");
  });
});

describe("§18.4 information flow control and §17.2 provenance in the gate", () => {
  it("§18.4 taint labels must be dominated by the destination's clearance", async () => {
    const ok = await gate.evaluate(CCC, DEST, { ...SHARE, taint: ["client_a"] });
    expect(ok.outcome).toBe("allow");
    expect(ok.record.ccc_evaluation?.["ifc_clear"]).toBe(true);
    const leak = await gate.evaluate(CCC, DEST, { ...SHARE, taint: ["client_a", "client_b"] });
    expect(leak.outcome).toBe("block");
    expect(rules(leak)).toContain("ccc.ifc.taint:client_b");
    const noClearance = await gate.evaluate(CCC, { ...DEST, clearance: undefined } as CccDestination, { ...SHARE, provenance: [{ taint: ["secret"] }] });
    expect(noClearance.outcome).toBe("block");
  });

  it("§17.2 an expired tag or another purpose blocks; privileged data to a confidential-only destination blocks", async () => {
    const expired = await gate.evaluate(CCC, DEST, { ...SHARE, provenance: [{ expires: "2026-05-01" }] });
    expect(rules(expired)).toContain("provenance.expired");
    const purpose = await gate.evaluate(CCC, DEST, { ...SHARE, purpose: "marketing", provenance: [{ purpose_limitation: "advisory_services_only" }] });
    expect(purpose.outcome).toBe("block");
    expect(rules(purpose)).toContain("provenance.purpose");
    expect((await gate.evaluate(CCC, DEST, { ...SHARE, purpose: "advisory_services", provenance: [{ purpose_limitation: "advisory_services_only" }] })).outcome).toBe("allow");
    const classified = await gate.evaluate(CCC, DEST, { ...SHARE, provenance: [{ classification: "privileged" }] });
    expect(rules(classified)).toContain("provenance.classification");
  });
});

describe("§18.3 decision handling", () => {
  it("§18.3 the most restrictive finding wins and every ground is recorded", async () => {
    const d = await gate.evaluate({ ...CCC, professional_codes: ["bar:de"] }, { ...DEST, did: "did:web:competitorB.example", professional_secrecy: false }, { data_classes: ["financials"] });
    expect(d.outcome).toBe("block");
    expect(rules(d)).toEqual(expect.arrayContaining(["ccc.embargo.listed:competitorB.example", "ccc.nda.uncovered:financials", "ccc.professional.bar:de"]));
    expect(d.record.conditions).toBeUndefined();
  });

  it("§18.3 assert() answers 412 precondition_failed with the grounds", async () => {
    const e = await thrown(() => gate.assert(CCC, { ...DEST, did: "did:web:competitorB.example" }, SHARE));
    expect(e.code).toBe("ERR_OAP_CCC_PRECONDITION");
    expect(e.httpStatus).toBe(412);
    expect(e.details).toMatchObject({ outcome: "block", rules: ["ccc.embargo.listed:competitorB.example", "ccc.nda.uncovered:financials"] });
    await expect(gate.assert(CCC, DEST, SHARE)).resolves.toMatchObject({ outcome: "allow" });
  });

  it("§18.2 an invalid CCC is refused (400)", async () => {
    const e = await thrown(() => gate.evaluate({ ...CCC, sanctions_screening: "ofac_eu_un" } as unknown as OapCcc, DEST, SHARE));
    expect(e.code).toBe("ERR_OAP_ENVELOPE_INVALID");
  });

  it("§18.3 the upstream legal example CCC validates and gates", async () => {
    const ccc = upstream<OapCcc>("examples/legal-research-privileged/ccc.json");
    const d = await gate.evaluate(ccc, { did: "did:web:opposing-counsel.example", jurisdiction: "DE", privileged_provider: true, subprocessors_disclosed: true, professional_secrecy: true }, { data_classes: ["litigation_strategy"] });
    expect(d.outcome).toBe("block");
    expect(rules(d)).toContain("ccc.embargo.listed:opposing-counsel.example");
    expect(d.privileged).toBe(true);
  });
});
