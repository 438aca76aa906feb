/**
 * OAP-CORE-1.0 §18.5 Privileged Mode (local-only receipts anchored as opaque commitments,
 * privileged provider list, cross-border block, subprocessor disclosure, privilege-loss
 * notification) and the second §18.5, the Information Provenance Cascade (Cascade Report of
 * the recipients' Deletion Receipts, stored in the Principal's audit log).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { receiptHash } from "../../../src/oap/anchors.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { MemoryRecipientRegistry, ProvenanceCascade, type DataDeleteClient } from "../../../src/oap/governance/cascade.js";
import { CccGate, isPrivilegedMode, type CccDestination, type OapCcc, type PrivilegeLossEvent } from "../../../src/oap/governance/ccc.js";
import { DataRightsService } from "../../../src/oap/governance/data-rights.js";
import { anchorPrivilegedReceipt, PrivilegeMonitor, receiptCommitment, verifyPrivilegedAnchor } from "../../../src/oap/governance/privileged.js";
import { verifyDocument } from "../../../src/oap/sign.js";
import { verifyReceiptChain } from "../../../src/oap/receipts.js";
import { MemoryLogStore, TransparencyLog, ed25519NoteSigner, verifierKeyOf } from "../../../src/trust/tlog/index.js";
import { AGENT_DID, PRINCIPAL_DID, TestClock, counterRandom, keys, upstream } from "../helpers.js";
import { allKeys, extraKeys, testLedger } from "./fixtures.js";

const LOG = "log.agentwire.example";
const SEED = new Uint8Array(32).fill(0x71);

let clock: TestClock;
beforeEach(() => {
  clock = new TestClock();
});

describe("§18.5 Privileged Mode", () => {
  const ccc = upstream<OapCcc>("examples/legal-research-privileged/ccc.json");
  const ok: CccDestination = { did: "did:web:legal-research.example", jurisdiction: "DE", privileged_provider: true, subprocessors_disclosed: true, professional_secrecy: true };
  const share = { data_classes: ["litigation_strategy"], origin_jurisdiction: "DE" };

  it("§18.5 attorney_client_privileged activates it; a compliant destination gets local-only receipt conditions", async () => {
    expect(isPrivilegedMode(ccc)).toBe(true);
    expect(isPrivilegedMode({ regulatory_classification: "banking_secrecy" })).toBe(false);
    const d = await new CccGate({ clock: clock.now, sanctions: { isListed: () => false } }).evaluate(ccc, ok, { ...share, data_classes: ["public"] });
    expect(d.privileged).toBe(true);
    expect(d.outcome).toBe("allow_with_conditions");
    expect(d.record.conditions).toEqual(["local_receipts_only", "commitment_anchoring_only"]);
    expect(d.record.ccc_evaluation?.["privileged_mode_compliant"]).toBe(true);
  });

  it("§18.5(2)(3)(4) provider list, cross-border instrument, subprocessor disclosure; §18.5(5) immediate notification", async () => {
    const events: PrivilegeLossEvent[] = [];
    const gate = new CccGate({ clock: clock.now, sanctions: { isListed: () => false }, onPrivilegeLoss: (e) => events.push(e) });
    const bad = await gate.evaluate(ccc, { did: "did:web:cheap-llm.example", jurisdiction: "US", professional_secrecy: true }, { data_classes: ["public"], origin_jurisdiction: "DE" }, "de");
    expect(bad.outcome).toBe("block");
    expect(bad.record.applied_rules).toEqual(expect.arrayContaining(["ccc.privileged.provider_list", "ccc.privileged.cross_border:DE-US", "ccc.privileged.subprocessors"]));
    expect(bad.record.ccc_evaluation?.["privileged_mode_compliant"]).toBe(false);
    expect(events).toEqual([
      { scope_id: "scope_kanzlei_mueller", regulatory_classification: "attorney_client_privileged", destination: "did:web:cheap-llm.example", rules: ["ccc.privileged.provider_list", "ccc.privileged.cross_border:DE-US", "ccc.privileged.subprocessors"], detected_at: clock.iso() },
    ]);
    const withInstrument = await gate.evaluate(ccc, { ...ok, jurisdiction: "CH" }, { data_classes: ["public"], origin_jurisdiction: "DE", cross_border_instrument: "privilege-preserving-scc:2026-01" });
    expect(withInstrument.record.applied_rules).not.toContain("ccc.privileged.cross_border:DE-CH");
    const listed = new CccGate({ clock: clock.now, sanctions: { isListed: () => false }, privilegedProviders: (did) => did === "did:web:listed.example", homeJurisdiction: "DE" });
    expect((await listed.evaluate(ccc, { did: "did:web:listed.example", jurisdiction: "DE", subprocessors_disclosed: true, professional_secrecy: true }, { data_classes: ["public"] })).outcome).toBe("allow_with_conditions");
  });

  it("§18.5(5) PrivilegeMonitor notifies when a privileged Scope loses its privilege", () => {
    const events: PrivilegeLossEvent[] = [];
    const m = new PrivilegeMonitor((e) => events.push(e), clock.now);
    expect(m.update(ccc)).toBe(false);
    expect(m.update({ ...ccc, regulatory_classification: "none" })).toBe(true);
    expect(events[0]?.rules).toEqual(["ccc.privileged.lost:attorney_client_privileged->none"]);
    expect(m.update({ ...ccc, regulatory_classification: "none" })).toBe(false);
  });

  it("§18.5(1) §19.3 privileged receipts are anchored only as salted commitments", async () => {
    const ledger = testLedger(clock);
    const { receipt } = await ledger.issue({ type: "invocation", principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, tool_did: "did:web:weatherpro.example", action_id: "search_case_law" });
    const log = new TransparencyLog(new MemoryLogStore(), { origin: LOG, signers: [ed25519NoteSigner(LOG, SEED)] });
    const a = anchorPrivilegedReceipt(receipt, log, counterRandom(9));
    const leaf = log.store.entry(0);
    expect(Buffer.from(leaf).toString("hex")).toBe(a.commitment.slice(7));
    expect(a.commitment).not.toBe(receiptHash(receipt));
    expect(verifyPrivilegedAnchor(receipt, a, [verifierKeyOf(LOG, SEED)])).toBe(a.commitment);
    // another salt gives an unrelated commitment; a tampered receipt does not open the anchor
    expect(receiptCommitment(receipt, new Uint8Array(32).fill(1))).not.toBe(a.commitment);
    expect(() => verifyPrivilegedAnchor({ ...receipt, action_id: "other" }, a, [verifierKeyOf(LOG, SEED)])).toThrow();
  });
});

describe("§18.5 Information Provenance Cascade", () => {
  const TAG = "nda:nda_2026_clientA";
  const toolA = "did:web:tool-a.example";
  const toolB = "did:web:tool-b.example";
  const toolC = "did:web:tool-c.example";

  function service(did: string, key = extraKeys.toolA): DataRightsService {
    return new DataRightsService({
      toolDid: did,
      signer: key,
      clock: clock.now,
      random: counterRandom(40),
      store: { erase: (r) => ({ method: "cryptographic_erasure", data_classes: ["financials"], provenance_tags: [...(r.provenance_tags ?? [])] }), export: () => ({}) },
    });
  }

  it("§18.5 every recipient of the tag is asked to delete; receipts are verified and aggregated; the report joins the audit log", async () => {
    const registry = new MemoryRecipientRegistry();
    registry.record({ principal_did: PRINCIPAL_DID, tool_did: toolA, provenance_tags: [TAG, "class:confidential"], shared_at: clock.iso() });
    registry.record({ principal_did: PRINCIPAL_DID, tool_did: toolB, provenance_tags: [TAG], shared_at: clock.iso() });
    registry.record({ principal_did: PRINCIPAL_DID, tool_did: toolC, provenance_tags: [TAG], shared_at: clock.iso() });
    registry.record({ principal_did: PRINCIPAL_DID, tool_did: "did:web:unrelated.example", provenance_tags: ["nda:other"], shared_at: clock.iso() });
    registry.record({ principal_did: "did:plc:someone-else", tool_did: "did:web:x.example", provenance_tags: [TAG], shared_at: clock.iso() });
    const asked: string[] = [];
    const client: DataDeleteClient = {
      async requestDeletion(tool, request) {
        asked.push(tool);
        if (tool === toolA) return (await service(toolA, extraKeys.toolA).delete(request)).receipt;
        if (tool === toolB) return (await service(toolB, extraKeys.toolA).delete(request)).receipt; // signed with the wrong key
        throw new Error("connection refused");
      },
    };
    const ledger = testLedger(clock, keys.agent);
    const cascade = new ProvenanceCascade({ registry, client, keys: allKeys, agentDid: AGENT_DID, ledger, signer: keys.agent, clock: clock.now, random: counterRandom(3) });
    const { report, chainReceipt } = await cascade.run({ principal_did: PRINCIPAL_DID, identifier: TAG, reason: "NDA terminated" });
    expect(asked.sort()).toEqual([toolA, toolB, toolC]);
    expect(report.complete).toBe(false);
    expect(report.recipients.map((r) => [r.tool_did, r.status])).toEqual([
      [toolA, "deleted"],
      [toolB, "invalid_receipt"],
      [toolC, "failed"],
    ]);
    expect(report.deletion_receipts).toHaveLength(1);
    expect(validateOapDocument("oap-deletion-receipt", report.deletion_receipts[0])).toEqual([]);
    expect(report.report_id).toMatch(/^urn:oap:cascade:/);
    await verifyDocument(report, allKeys, { expectedSigner: AGENT_DID });
    expect(chainReceipt).toMatchObject({ type: "deletion", action_id: "provenance_cascade", provenance_tags_in: [TAG] });
    expect((await verifyReceiptChain([chainReceipt], { keys: allKeys, requiredSigners: () => [AGENT_DID] })).ok).toBe(true);
  });

  it("§18.5 a cascade with every recipient deleting is complete", async () => {
    const registry = new MemoryRecipientRegistry();
    registry.record({ principal_did: PRINCIPAL_DID, tool_did: toolA, provenance_tags: ["scope:scope_clientA"], shared_at: clock.iso() });
    const cascade = new ProvenanceCascade({ registry, client: { requestDeletion: async (_t, r) => (await service(toolA).delete(r)).receipt }, keys: allKeys, agentDid: AGENT_DID, clock: clock.now });
    const { report, chainReceipt } = await cascade.run({ principal_did: PRINCIPAL_DID, identifier: "scope:scope_clientA" });
    expect(report.complete).toBe(true);
    expect(chainReceipt).toBeUndefined();
    expect(report.signature).toBeUndefined();
  });
});
