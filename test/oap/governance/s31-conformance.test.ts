/**
 * OAP-CORE-1.0 §31 Conformance Levels and §32.6: the strict level-by-level probe runner, the
 * signed Conformance Receipt (schema-valid, at most 90 days valid), peer-witness co-signing and
 * verification (L4 ≥ 1 witness, L5 ≥ 3 independent witnesses).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import {
  addPeerWitness,
  builtinProbes,
  conformanceReceiptHash,
  issueConformanceReceipt,
  runConformance,
  verifyConformanceReceipt,
  type ConformanceContext,
  type Probe,
} from "../../../src/oap/governance/conformance.js";
import { TOOL_DID, TestClock, counterRandom, keys, thrown, upstream } from "../helpers.js";
import { allKeys, extraKeys } from "./fixtures.js";

let clock: TestClock;
beforeEach(() => {
  clock = new TestClock();
});

const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
const ccc = upstream("examples/legal-research-privileged/ccc.json");
const attestation = {
  attestation_id: "urn:oap:attestation:soc2-2026",
  type: "external_audit",
  issued_at: "2026-01-15T00:00:00Z",
  issuer_did: "did:web:auditor.example",
  evidence: { framework: "SOC 2 Type II", period: "2025" },
  signature: { alg: "EdDSA", kid: "did:web:auditor.example#key-1", value: "AAAA" },
};
const full: ConformanceContext = { manifest, ccc, verifierCount: 0, conflictsResource: true, coordinationSessions: true, auditAttestation: attestation };

const impl = { did: TOOL_DID, name: "Weather Pro", version: "2.4.1" };
const witness = (n: 1 | 2 | 3, org?: string) => ({
  signer: extraKeys[`witness${n}`],
  witness_receipt_uri: `https://witness-${n}.example/oap-conformance-receipt.json`,
  clock: clock.now,
  ...(org === undefined ? {} : { controller_org: org }),
});

describe("§31 the probe runner (strict, level by level)", () => {
  it("§31 the upstream weather-pro manifest with full local configuration reaches L5", async () => {
    const report = await runConformance(builtinProbes(), full);
    expect(report.results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(report.claimed_levels).toEqual(["L0", "L1", "L2", "L3", "L4", "L5"]);
  });

  it("§31 a failing level stops the run: higher levels are not run and not claimed", async () => {
    const report = await runConformance(builtinProbes(), { ...full, ccc: undefined });
    expect(report.claimed_levels).toEqual(["L0", "L1", "L2"]);
    expect(report.levels).toMatchObject({ L2: "passed", L3: "failed", L4: "not_run", L5: "not_run" });
    expect(report.results.find((r) => r.id === "l3.ccc")).toEqual({ id: "l3.ccc", level: "L3", status: "fail", reason: "no CCC configured" });
    expect(report.results.find((r) => r.id === "l4.collaboration")?.status).toBe("not_run");
  });

  it("§31 strict: a skipped probe is not a pass; a level without probes is not claimed; a throwing probe fails", async () => {
    const probes: Probe<null>[] = [
      { id: "a", level: "L0", run: () => ({ status: "pass" }) },
      { id: "b", level: "L1", run: () => ({ status: "skip", reason: "not applicable" }) },
    ];
    expect((await runConformance(probes, null)).claimed_levels).toEqual(["L0"]);
    expect((await runConformance([{ id: "a", level: "L0", run: () => ({ status: "pass" }) }], null)).claimed_levels).toEqual(["L0"]);
    const throwing = await runConformance([{ id: "x", level: "L0", run: () => { throw new Error("boom"); } }], null);
    expect(throwing.results[0]).toMatchObject({ status: "fail", reason: "the probe threw: boom" });
    expect((await thrown(() => runConformance([probes[0] as Probe<null>, probes[0] as Probe<null>], null))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§31 L3 needs an independent verifier for high-risk actions (§20.5)", async () => {
    const risky = { ...manifest, actions: [{ ...manifest.actions[0], risk_class: "high" }] } as OapManifest;
    const r = await runConformance(builtinProbes(), { ...full, manifest: risky });
    expect(r.results.find((x) => x.id === "l3.multi_party_review")?.status).toBe("fail");
    expect((await runConformance(builtinProbes(), { ...full, manifest: risky, verifierCount: 1 })).claimed_levels).toContain("L3");
  });

  it("§31 an invalid manifest claims nothing", async () => {
    const r = await runConformance(builtinProbes(), { manifest: { oap_version: "1.0" } });
    expect(r.claimed_levels).toEqual([]);
  });
});

describe("§31 §32.6 Conformance Receipts", () => {
  it("§31 the receipt is schema-valid, signed by the implementation, valid 90 days, chained", async () => {
    const report = await runConformance(builtinProbes(), full);
    const receipt = issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://weatherpro.example", manifest }, signer: keys.tool, clock: clock.now, random: counterRandom() });
    expect(validateOapDocument("oap-conformance-receipt", receipt)).toEqual([]);
    expect(receipt).toMatchObject({
      type: "conformance",
      claimed_levels: ["L0", "L1", "L2", "L3", "L4", "L5"],
      suite: { name: "oap-conformance-test-suite", spec_version: "1.0" },
      results_summary: { total: 13, passed: 13, failed: 0, skipped: 0 },
      validity: { not_before: clock.iso(), not_after: clock.iso(90 * 86_400_000) },
      previous_receipt_hash: "genesis",
      attestor: { did: TOOL_DID, method: "self" },
    });
    expect(receipt.receipt_id).toMatch(/^urn:oap:conformance:[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(receipt.signatures).toEqual([{ by: keys.tool.kid, alg: "EdDSA", value: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/) }]);
    const next = issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://weatherpro.example" }, signer: keys.tool, clock: clock.now, previous: receipt });
    expect(next.previous_receipt_hash).toBe(conformanceReceiptHash(receipt));
  });

  it("§32.6 validity beyond 90 days, a foreign signing key, or nothing to claim are refused", async () => {
    const report = await runConformance(builtinProbes(), full);
    expect((await thrown(() => issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://w.example" }, signer: keys.tool, validityDays: 91 }))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://w.example" }, signer: keys.agent }))).code).toBe("ERR_OAP_SIGNER_MISMATCH");
    const none = await runConformance(builtinProbes(), { manifest: {} });
    expect((await thrown(() => issueConformanceReceipt(none, { implementation: impl, target: { uri: "https://w.example" }, signer: keys.tool }))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§31 L4 needs one peer witness, L5 three independent ones; witnesses co-sign the signed receipt", async () => {
    const report = await runConformance(builtinProbes(), full);
    const receipt = issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://weatherpro.example" }, signer: keys.tool, clock: clock.now });
    const alone = await verifyConformanceReceipt(receipt, allKeys, { now: clock.now });
    expect(alone.levels).toEqual(["L0", "L1", "L2", "L3"]);
    expect(alone.valid).toBe(false);
    expect(alone.problems).toContain("L4 needs 1 independent peer witness(es), has 0");

    const one = addPeerWitness(receipt, witness(1, "org-1"));
    expect(validateOapDocument("oap-conformance-receipt", one)).toEqual([]);
    expect((await verifyConformanceReceipt(one, allKeys, { now: clock.now })).levels).toEqual(["L0", "L1", "L2", "L3", "L4"]);

    const sameOrg = addPeerWitness(addPeerWitness(one, witness(2, "org-1")), witness(3, "org-3"));
    const v2 = await verifyConformanceReceipt(sameOrg, allKeys, { now: clock.now });
    expect(v2.witnesses).toHaveLength(2);
    expect(v2.levels).not.toContain("L5");

    const three = addPeerWitness(addPeerWitness(one, witness(2, "org-2")), witness(3, "org-3"));
    const v3 = await verifyConformanceReceipt(three, allKeys, { now: clock.now, witnessHoldsL4: () => true });
    expect(v3).toMatchObject({ valid: true, levels: ["L0", "L1", "L2", "L3", "L4", "L5"], problems: [] });
    expect(v3.witnesses).toEqual([extraKeys.witness1.kid, extraKeys.witness2.kid, extraKeys.witness3.kid]);

    const noL4 = await verifyConformanceReceipt(three, allKeys, { now: clock.now, witnessHoldsL4: (_u, did) => did !== "did:web:witness-3.example" });
    expect(noL4.levels).not.toContain("L5");
    expect(() => addPeerWitness(receipt, { signer: keys.tool, witness_receipt_uri: "https://x.example/r.json" })).toThrow();
  });

  it("§31 tampering, forged witnesses and expiry are detected", async () => {
    const report = await runConformance(builtinProbes(), full);
    const receipt = addPeerWitness(issueConformanceReceipt(report, { implementation: impl, target: { uri: "https://weatherpro.example" }, signer: keys.tool, clock: clock.now }), witness(1));
    const tampered = await verifyConformanceReceipt({ ...receipt, claimed_levels: ["L0", "L1", "L2", "L3", "L4", "L5"], results_summary: { total: 1, passed: 1, failed: 0 } }, allKeys, { now: clock.now });
    expect(tampered.valid).toBe(false);
    expect(tampered.levels).toEqual([]);
    const forged = { ...receipt, peer_witnesses: [{ ...receipt.peer_witnesses?.[0], signature: receipt.signatures[0]?.value }] };
    expect((await verifyConformanceReceipt(forged, allKeys, { now: clock.now })).witnesses).toEqual([]);
    clock.advance(91 * 86_400_000);
    const expired = await verifyConformanceReceipt(receipt, allKeys, { now: clock.now });
    expect(expired.problems).toContain("the receipt is outside its validity window");
    expect(expired.levels).toEqual([]);
  });
});
