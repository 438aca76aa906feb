/**
 * OAP-CORE-1.0 §17.2 provenance tags (propagation, refusal of violating onward sharing), §17.3
 * signed Deletion Receipts, data export, §29.2 purpose limitation, §29.3 special categories,
 * §29.4 keyed pseudonymisation.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { DataRightsService, Pseudonymiser, checkSpecialCategories, specialCategoryOf, verifyDeletionReceipt, type DeletionRequest } from "../../../src/oap/governance/data-rights.js";
import { assertOnwardSharing, derive, highestClassification, onwardSharingViolations, provenanceStrings, purposeViolations, tagsFromStrings, type ProvenanceTag, type Tagged } from "../../../src/oap/governance/provenance.js";
import { verifyDocument } from "../../../src/oap/sign.js";
import { verifyReceiptChain } from "../../../src/oap/receipts.js";
import { PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, thrown } from "../helpers.js";
import { allKeys, testLedger } from "./fixtures.js";

let clock: TestClock;
beforeEach(() => {
  clock = new TestClock();
});

const NDA_TAG: ProvenanceTag = {
  source_did: "did:web:clienta.example",
  received_under: "nda:nda_2026_clientA",
  classification: "confidential",
  purpose_limitation: "advisory_services_only",
  expires: "2028-12-31",
  delete_on_event: "project_end:proj_acme_2026",
};

describe("§17.2 provenance tags", () => {
  it("§17.2 tags propagate through actions: derived data carries the union of its inputs' tags", () => {
    const a: Tagged<string> = { data: "revenue table", provenance: [NDA_TAG] };
    const b: Tagged<string> = { data: "public market data", provenance: [{ classification: "public", source_did: "did:web:stats.example" }] };
    const summary = derive("summary of both", [a, b], [{ source_did: TOOL_DID }]);
    expect(summary.provenance).toEqual([NDA_TAG, { classification: "public", source_did: "did:web:stats.example" }, { source_did: TOOL_DID }]);
    expect(highestClassification(summary.provenance)).toBe("confidential");
    const again = derive("summary of the summary", [summary, a]);
    expect(again.provenance).toHaveLength(3); // no duplicates
  });

  it("§17.2 wire strings: the received_under identifier as is, other facets prefixed; and back", () => {
    const s = provenanceStrings([NDA_TAG]);
    expect(s).toEqual(["class:confidential", "event:project_end:proj_acme_2026", "expires:2028-12-31", "nda:nda_2026_clientA", "purpose:advisory_services_only", "source:did:web:clienta.example"]);
    expect(tagsFromStrings(s)).toEqual([NDA_TAG]);
    expect(tagsFromStrings(["nda:a", "nda:b", "class:internal", "taint:x"])).toEqual([
      { classification: "internal", taint: ["x"], received_under: "nda:a" },
      { classification: "internal", taint: ["x"], received_under: "nda:b" },
    ]);
  });

  it("§17.2 onward sharing that violates any tag is refused (403 policy_block listing every violation)", async () => {
    const checks = { now: clock.now(), permittedRecipients: (u: string) => (u === "nda:nda_2026_clientA" ? ["did:web:vendor-approved.example"] : undefined), eventOccurred: (e: string) => e === "project_end:proj_acme_2026" };
    expect(onwardSharingViolations([{ ...NDA_TAG, delete_on_event: undefined } as ProvenanceTag], { did: "did:web:vendor-approved.example", purpose: "advisory_services", max_classification: "confidential" }, checks)).toEqual([]);
    const v = onwardSharingViolations([NDA_TAG], { did: "did:web:adnetwork.example", purpose: "marketing" }, checks);
    expect(v.map((x) => x.rule)).toEqual(["provenance.deletion_event", "provenance.purpose", "provenance.classification", "provenance.received_under"]);
    const e = await thrown(() => assertOnwardSharing([NDA_TAG], { did: "did:web:adnetwork.example", purpose: "marketing" }, checks));
    expect(e.code).toBe("ERR_OAP_POLICY_BLOCK");
    expect(e.httpStatus).toBe(403);
    expect(e.details?.["rules"]).toEqual(["provenance.deletion_event", "provenance.purpose", "provenance.classification", "provenance.received_under"]);
    // sharing back to the source is always allowed by received_under
    expect(onwardSharingViolations([{ received_under: "nda:x", source_did: "did:web:src.example" }], { did: "did:web:src.example" }, { now: clock.now() })).toEqual([]);
  });

  it("§17.2 an expired tag refuses any use after its last day", () => {
    const tag: ProvenanceTag = { expires: "2026-05-02" };
    expect(onwardSharingViolations([tag], { did: "d" }, { now: new Date("2026-05-02T23:59:59Z") })).toEqual([]);
    expect(onwardSharingViolations([tag], { did: "d" }, { now: new Date("2026-05-03T00:00:00Z") }).map((v) => v.rule)).toEqual(["provenance.expired"]);
  });

  it("§29.2 purpose limitation travels with the tags", () => {
    expect(purposeViolations([NDA_TAG], "advisory_services")).toEqual([]);
    expect(purposeViolations([NDA_TAG], "advisory_services_only")).toEqual([]);
    expect(purposeViolations([NDA_TAG], "model_training")).toEqual([NDA_TAG]);
    expect(purposeViolations([NDA_TAG], undefined)).toEqual([NDA_TAG]);
  });
});

describe("§17.3 deletion with a signed Deletion Receipt", () => {
  const erased: DeletionRequest[] = [];
  function service(extra: { failSub?: boolean; ledger?: boolean } = {}): DataRightsService {
    return new DataRightsService({
      toolDid: TOOL_DID,
      signer: keys.tool,
      clock: clock.now,
      random: counterRandom(7),
      store: {
        erase: (r) => {
          erased.push(r);
          return { method: "cryptographic_erasure", data_classes: ["pii_contact", "usage_logs"], provenance_tags: [...(r.provenance_tags ?? [])], exceptions: [{ reason: "regulatory_retention", retention_until: "2036-05-02" }] };
        },
        export: (p) => ({ principal_did: p, notes: ["a", "b"] }),
      },
      subprocessors: [
        { did: "did:web:hosting.example", erase: () => undefined },
        { did: "did:web:analytics.example", erase: () => (extra.failSub === true ? Promise.reject(new Error("timeout")) : undefined) },
      ],
      ...(extra.ledger === true ? { ledger: testLedger(clock) } : {}),
    });
  }

  it("§17.3 the receipt is schema-valid, signed by the Tool, lists data classes, tags, subprocessors and exceptions", async () => {
    const received = clock.iso();
    clock.advance(1500);
    const { receipt } = await service().delete({ principal_did: PRINCIPAL_DID, scope_id: "scope_clientA", provenance_tags: ["nda:nda_2026_clientA"], received_at: received });
    expect(validateOapDocument("oap-deletion-receipt", receipt)).toEqual([]);
    expect(receipt).toMatchObject({
      tool_did: TOOL_DID,
      principal_did: PRINCIPAL_DID,
      scope_id: "scope_clientA",
      request_received_at: received,
      completed_at: clock.iso(),
      method: "cryptographic_erasure",
      scope: { data_classes: ["pii_contact", "usage_logs"], provenance_tags: ["nda:nda_2026_clientA"], subprocessors_propagated_to: ["did:web:hosting.example", "did:web:analytics.example"] },
      exceptions: [{ reason: "regulatory_retention", retention_until: "2036-05-02" }],
    });
    expect(receipt.receipt_id).toMatch(/^urn:oap:deletion:[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await verifyDeletionReceipt(receipt, allKeys, { principal_did: PRINCIPAL_DID, provenance_tags: ["nda:nda_2026_clientA"] })).toBe(receipt);
    await expect(verifyDeletionReceipt({ ...receipt, method: "tombstone" }, allKeys)).rejects.toMatchObject({ code: "ERR_OAP_SIGNATURE_INVALID" });
    await expect(verifyDeletionReceipt(receipt, allKeys, { provenance_tags: ["nda:other"] })).rejects.toMatchObject({ code: "ERR_OAP_ENVELOPE_INVALID" });
  });

  it("§17.3 a subprocessor that fails makes the deletion fail (no receipt claims a propagation that did not happen)", async () => {
    const e = await thrown(() => service({ failSub: true }).delete({ principal_did: PRINCIPAL_DID }));
    expect(e.code).toBe("ERR_OAP_UPSTREAM");
    expect(e.details).toEqual({ subprocessors_failed: ["did:web:analytics.example"] });
  });

  it("§19.1 with a ledger the deletion joins the Principal's chain as a `deletion` receipt", async () => {
    const { receipt, chainReceipt } = await service({ ledger: true }).delete({ principal_did: PRINCIPAL_DID });
    expect(chainReceipt).toMatchObject({ type: "deletion", principal_did: PRINCIPAL_DID, action_id: "data_delete" });
    expect(chainReceipt?.["output_hash"]).toMatch(/^sha256:/);
    expect(receipt.receipt_id).toMatch(/^urn:oap:deletion:/);
    expect((await verifyReceiptChain([chainReceipt], { keys: allKeys })).ok).toBe(true);
  });

  it("§30 GDPR data_export: the Principal's data, signed by the Tool", async () => {
    const x = await service().export(PRINCIPAL_DID);
    expect(x).toMatchObject({ tool_did: TOOL_DID, principal_did: PRINCIPAL_DID, format: "application/json", data: { principal_did: PRINCIPAL_DID, notes: ["a", "b"] } });
    await verifyDocument(x, allKeys, { expectedSigner: TOOL_DID });
  });
});

describe("§29.3 special categories", () => {
  it("§29.3 undeclared special-category data is refused (403); declared categories pass", async () => {
    expect(specialCategoryOf("special:health_data")).toBe("health_data");
    expect(specialCategoryOf("pii_contact")).toBeUndefined();
    expect(checkSpecialCategories(["pii_contact", "geolocation_coarse"], { special_categories_handled: [] })).toEqual([]);
    const e = await thrown(() => checkSpecialCategories(["health_data", "special:biometric_data", "pii_contact"], { special_categories_handled: ["health_data"] }));
    expect(e.code).toBe("ERR_OAP_POLICY_BLOCK");
    expect(e.details).toMatchObject({ rule: "l2.gdpr.art9.special_categories", categories: ["biometric_data"] });
    expect(checkSpecialCategories(["special:health_data"], { special_categories_handled: ["special:health_data"] })).toEqual(["health_data"]);
  });
});

describe("§29.4 pseudonymisation", () => {
  const key = new Uint8Array(32).fill(7);

  it("§29.4 deterministic per key and context, unlinkable across contexts and keys, resolvable locally only", async () => {
    const p = new Pseudonymiser(key);
    const a = p.pseudonym("alice@example.com", "crm");
    expect(a).toMatch(/^pn_[A-Za-z0-9_-]{43}$/);
    expect(p.pseudonym("alice@example.com", "crm")).toBe(a);
    expect(p.pseudonym("alice@example.com", "billing")).not.toBe(a);
    expect(new Pseudonymiser(new Uint8Array(32).fill(8)).pseudonym("alice@example.com", "crm")).not.toBe(a);
    expect(p.resolve(a, "crm")).toBe("alice@example.com");
    expect(p.resolve(a, "billing")).toBeUndefined();
    expect(new Pseudonymiser(key).resolve(a, "crm")).toBeUndefined(); // another instance holds no vault
    expect(new Pseudonymiser(key).matches(a, "alice@example.com", "crm")).toBe(true);
    expect(p.pseudonymiseFields({ email: "bob@example.com", plan: "pro", age: 3 }, ["email", "age"])).toEqual({ email: p.pseudonym("bob@example.com"), plan: "pro", age: 3 });
    expect((await thrown(() => new Pseudonymiser(new Uint8Array(16)))).code).toBe("ERR_OAP_INTERNAL");
  });
});
