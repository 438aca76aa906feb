import { describe, expect, it } from "vitest";
import { createWorld } from "../../src/conformance/world.js";
import { signDetached } from "../../src/crypto/jws.js";
import { keyPairFromSeed, publicJwks } from "../../src/crypto/keys.js";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import type { JsonObject } from "../../src/json/types.js";
import type { ReceiverHooks, ReceiverPolicy } from "../../src/ohp/policy.js";
import { parseReceiverPolicy, ReceiverPolicyError } from "../../src/ohp/policy.js";
import { recordProofPayload } from "../../src/ohp/proofs.js";
import type { Tier } from "../../src/ohp/tiers.js";
import { OhpReceiver, verifyEnvelope, type VerifyEnvelopeOptions, type VerifyEnvelopeResult } from "../../src/ohp/verify.js";

const world = createWorld();

/* eslint-disable @typescript-eslint/no-explicit-any */
type Edit = (env: any) => void;

async function receive(
  tier: Tier,
  change: { edit?: Edit; after?: Edit; policy?: ReceiverPolicy; hooks?: ReceiverHooks; options?: (o: VerifyEnvelopeOptions) => VerifyEnvelopeOptions } = {},
): Promise<VerifyEnvelopeResult> {
  const env = await world.envelope(tier, { ...(change.edit ? { edit: change.edit } : {}), ...(change.after ? { after: change.after } : {}) });
  let options = world.receiverOptions(env, { ...(change.policy ? { policy: change.policy } : {}), ...(change.hooks ? { hooks: change.hooks } : {}) });
  if (change.options) options = change.options(options);
  return verifyEnvelope(JSON.parse(JSON.stringify(env)), options);
}

function expectReject(r: VerifyEnvelopeResult, step: number, reason: string, check?: string): void {
  expect({ outcome: r.outcome, firstFailingStep: r.firstFailingStep, rejectReason: r.rejectReason, ...(check ? { check: r.check } : {}) }, JSON.stringify(r.detail)).toEqual({
    outcome: "reject",
    firstFailingStep: step,
    rejectReason: reason,
    ...(check ? { check } : {}),
  });
}

describe("OHP §10 / D09: a valid envelope passes every step with all hooks supplied", () => {
  for (const tier of ["core", "signed", "sealed", "regulated"] as const) {
    it(`${tier}: accept, nothing unverified`, async () => {
      const r = await receive(tier);
      expect(r.outcome, JSON.stringify(r.detail)).toBe("accept");
      expect(r.unverified).toEqual([]);
      expect(r.steps.filter((s) => s.status === "fail" || s.status === "unverified")).toEqual([]);
      if (tier === "regulated") {
        const passed = new Set(r.steps.filter((s) => s.status === "pass").map((s) => s.step));
        for (let step = 1; step <= 14; step++) expect(passed.has(step), `step ${step}`).toBe(true);
        expect(r.sealed?.fields["healthcare.fhirRef"]).toBe("Patient/synthetic-001");
        expect(r.anchorReceipt).toMatchObject({ logId: "rekor.openhandoffprotocol.org" });
      }
    });
  }

  it("§10 D09 order: the checks run in the documented order", async () => {
    const r = await receive("regulated");
    expect(r.steps.map((s) => s.name)).toEqual([
      "size", "schema", "content", "tier-completeness", "echo", "tier-gate", "issuer", "signatures", "rate-limit", "replay",
      "freshness", "call-binding", "consent", "assurance", "high-risk-prerequisites", "prohibited-practices",
      "annex-iii", "art50-disclosure", "oversight", "gpai", "decrypt", "anchor",
    ]);
  });
});

describe("OHP §10 / D09: flipping one gate fails at exactly that gate's step with its reason", () => {
  it("§3.2 tier gate: conformance below audience.minTier → tier-insufficient (step 0, tier-gate)", async () => {
    expectReject(await receive("signed", { edit: (e) => (e.audience.minTier = "sealed") }), 0, "tier-insufficient", "tier-gate");
  });
  it("§3.2 tier gate: conformance above the receiver's maxTier → tier-insufficient", async () => {
    const r = await receive("regulated", { policy: { maxTier: "sealed" } });
    expectReject(r, 0, "tier-insufficient", "tier-gate");
    expect(r.detail?.["receiverMaxTier"]).toBe("sealed");
  });
  it("§3.2 tier gate: below the receiver's floor for the purpose → tier-insufficient", async () => {
    expectReject(await receive("signed", { policy: { minTierByPurpose: { "human-takeover": "sealed", "ai-vendor-handoff": "sealed" } } }), 0, "tier-insufficient", "tier-gate");
  });
  it("§7 binding echo: OHP-Verb differing from control.verb → unknown (step 0, echo)", async () => {
    expectReject(await receive("signed", { options: (o) => ({ ...o, expected: { verb: "ACCEPT" } }) }), 0, "unknown", "echo");
  });
  it("§4.5 size: a JSON envelope over 32 KiB → unknown (step 0, size)", async () => {
    expectReject(await receive("core", { options: (o) => ({ ...o, byteLength: 32 * 1024 + 1 }) }), 0, "unknown", "size");
  });
  it("§4.2 tier completeness: a Regulated envelope without policy.retention → unknown, or a warning when relaxed", async () => {
    const drop: Edit = (e) => delete e.policy.retention;
    expectReject(await receive("regulated", { edit: drop }), 0, "unknown", "tier-completeness");
    const relaxed = await receive("regulated", { edit: drop, policy: { tierCompleteness: "warn" } });
    expect(relaxed.outcome).toBe("accept");
    expect(relaxed.warnings.join()).toMatch(/retention/);
  });
  it("§3.1 content: a card number in the clear transcript of a Signed envelope → unknown (step 0, content)", async () => {
    const r = await receive("signed", { edit: (e) => (e.transcript.summary += " Card 4111 1111 1111 1111.") });
    expectReject(r, 0, "unknown", "content");
    expect(r.detail?.["pointer"]).toBe("/transcript/summary");
  });
  it("D09 step 1: the federation refuses the issuer for a non-crypto reason → unknown", async () => {
    expectReject(await receive("sealed", { hooks: { resolveIssuer: () => ({ refused: true, reason: "unknown", message: "suspended member" }) } }), 1, "unknown");
  });
  it("D09 step 1: an unresolvable issuer → signature-invalid", async () => {
    expectReject(await receive("signed", { hooks: { resolveIssuer: () => ({ refused: true, reason: "signature-invalid", message: "did:web unreachable" }) } }), 1, "signature-invalid");
  });
  it("D09 step 2: a tampered envelope → signature-invalid", async () => {
    expectReject(await receive("regulated", { after: (e) => (e.transcript.summary += ".") }), 2, "signature-invalid");
  });
  it("D09 step 2 (§5.1): a stripped ML-DSA-65 half → signature-invalid", async () => {
    expectReject(await receive("regulated", { after: (e) => (e.signatures = e.signatures.filter((s: any) => s.alg === "EdDSA")) }), 2, "signature-invalid");
  });
  it("D09 step 2 (§5.9): a revoked kid → signature-invalid", async () => {
    const revoked = publicJwks([world.keys.issuerEd]).keys.map((k) => ({ ...k, revoked: true }));
    const keys = { keys: [...revoked, ...publicJwks([world.keys.issuerMl]).keys] };
    expectReject(await receive("regulated", { hooks: { resolveIssuer: () => ({ keys: keys as never, federation: {} }) } }), 2, "signature-invalid");
  });
  it("§5.10 rate limit: the second envelope of a kid over a cap of 1 → rate-limit", async () => {
    const a = await world.envelope("signed");
    const b = await world.envelope("signed");
    const receiver = new OhpReceiver({ ...world.receiverOptions(a), policy: { ...world.receiverOptions(a).policy, rateLimit: { max: 1, windowMs: 60_000 } } });
    expect((await receiver.receive(a)).outcome).toBe("accept");
    expectReject(await receiver.receive(b, world.receiverOptions(b)), 0, "rate-limit", "rate-limit");
  });
  it("§8 idempotency: the same (id, nonce) twice → the second is a replay (unknown, check replay)", async () => {
    const a = await world.envelope("signed");
    const receiver = new OhpReceiver(world.receiverOptions(a));
    expect((await receiver.receive(a)).outcome).toBe("accept");
    const again = await receiver.receive(a);
    expectReject(again, 0, "unknown", "replay");
    expect(again.detail?.code).toBe("ERR_OHP_REPLAY");
  });
  it("D09 step 3: received after notAfter + 5 s → stale", async () => {
    expectReject(await receive("signed", { options: (o) => ({ ...o, now: new Date(o.now!.getTime() + 10 * 60_000) }) }), 3, "stale");
  });
  it("D09 step 4: a different live Call-ID → not-bound-to-call", async () => {
    expectReject(await receive("signed", { hooks: { liveCall: () => ({ callId: "other-call" }) } }), 4, "not-bound-to-call");
  });
  it("D09 step 4 (Sealed+): a different live RTP fingerprint → not-bound-to-call", async () => {
    expectReject(await receive("sealed", { hooks: { liveCall: (e: any) => ({ callId: e.session.callId, rtpFingerprint: `sha256:${"1".repeat(64)}` }) } }), 4, "not-bound-to-call");
  });
  it("D09 step 5: a consent scope beyond the receipt → consent-out-of-scope", async () => {
    expectReject(await receive("signed", { hooks: { consentReceipt: (id) => ({ receiptId: id, scope: ["transcript.summary"] }) } }), 5, "consent-out-of-scope");
  });
  it("D09 step 5: a revoked receipt → consent-out-of-scope", async () => {
    expectReject(await receive("sealed", { hooks: { consentReceipt: (id) => ({ ...world.consentStore.get(id)!, revoked: true }) } }), 5, "consent-out-of-scope");
  });
  it("D09 step 5: intended processing not covered by any scope → consent-out-of-scope", async () => {
    expectReject(await receive("signed", { policy: { intendedProcessing: ["transcript.turns"] } }), 5, "consent-out-of-scope");
  });
  it("D09 step 5: processing outside the consent jurisdiction without a transfer mechanism → consent-out-of-scope", async () => {
    expectReject(await receive("signed", { edit: (e) => { e.caller.consent[0].jurisdiction = "US"; delete e.caller.consent[0].transferMechanism; e.policy.dataResidency = ["US"]; }, policy: { processingJurisdiction: "GB" } }), 5, "consent-out-of-scope");
  });
  it("D09 step 5: an unrecognised lawful basis → consent-out-of-scope", async () => {
    expectReject(await receive("signed", { edit: (e) => (e.caller.consent[0].lawfulBasis = "because") }), 5, "consent-out-of-scope");
  });
  it("D09 step 6: an IdP outside the federation → assurance-insufficient", async () => {
    expectReject(await receive("sealed", { hooks: { resolveIdp: () => undefined } }), 6, "assurance-insufficient");
  });
  it("D09 step 6: an assurance above the IdP's federation cap → assurance-insufficient", async () => {
    expectReject(await receive("sealed", { hooks: { resolveIdp: () => ({ keys: world.idpJwks, caps: { ial: "IAL1", aal: "AAL1", fal: "FAL1" } }) } }), 6, "assurance-insufficient");
  });
  it("D09 step 6: an action needing more assurance than asserted → assurance-insufficient", async () => {
    expectReject(await receive("sealed", { edit: (e) => (e.caller.assurance.aal = "AAL1"), policy: { requiredAssurance: { aal: "AAL2" } } }), 6, "assurance-insufficient");
  });
  it("D09 step 6 (RFC 9901): a tampered SD-JWT disclosure → assurance-insufficient", async () => {
    const tamper: Edit = (e) => {
      const d = JSON.parse(Buffer.from(e.caller.identity.disclosures[0], "base64url").toString());
      d[2] = "Mallory";
      const disclosures = [...e.caller.identity.disclosures];
      disclosures[0] = Buffer.from(JSON.stringify(d)).toString("base64url");
      e.caller.identity = { ...e.caller.identity, disclosures };
    };
    expectReject(await receive("sealed", { edit: tamper }), 6, "assurance-insufficient");
  });
  it("D09 step 6: an assurance proof by another key → assurance-insufficient", async () => {
    const other = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(9));
    expectReject(await receive("sealed", { hooks: { resolveIdp: () => ({ keys: publicJwks([other]) }) } }), 6, "assurance-insufficient");
  });
  it("D09 step 7: an AIIA reviewed more than 12 months before issuedAt → risk-class-not-allowed", async () => {
    expectReject(await receive("regulated", { edit: (e) => (e.governance.aiia.lastReviewedAt = "2025-04-01") }), 7, "risk-class-not-allowed");
  });
  it("D09 step 7: a deployer without FRIA → tier-incomplete (§4.2 F35) first, risk-class-not-allowed at step 7 when relaxed", async () => {
    const edit: Edit = (e) => {
      e.issuer.aiRole = "deployer";
      delete e.governance.fria;
    };
    expectReject(await receive("regulated", { edit }), 0, "unknown", "tier-completeness");
    expectReject(await receive("regulated", { edit, policy: { tierCompleteness: "warn" } }), 7, "risk-class-not-allowed");
  });
  it("D09 step 7: high risk under human-in-command oversight → oversight-missing", async () => {
    expectReject(await receive("regulated", { edit: (e) => (e.oversight.mode = "human-in-command") }), 7, "oversight-missing");
  });
  it("D09 step 7: a declaration whose model card hash differs → risk-class-not-allowed", async () => {
    expectReject(await receive("regulated", { hooks: { fetchDeclaration: async () => ({ ok: true, modelCardSha256: `sha256:${"0".repeat(64)}` }) } }), 7, "risk-class-not-allowed");
  });
  it("D09 step 8: a prohibited practice flag → prohibited-practice", async () => {
    expectReject(await receive("regulated", { edit: (e) => (e.governance.prohibited.socialScoring = true) }), 8, "prohibited-practice");
  });
  it("D09 step 9: an Annex III clause outside the receiver's allowlist → risk-class-not-allowed", async () => {
    expectReject(await receive("regulated", { policy: { annexIIIAllowed: ["4(a)"] } }), 9, "risk-class-not-allowed");
  });
  it("D09 step 10: an Art 50 disclosure proof by a key outside the issuer's JWKS → signature-invalid", async () => {
    const other = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(7));
    const env = await world.envelope("regulated", {
      afterProofs: (e: any) => {
        const art50 = e.governance.art50Disclosure as JsonObject;
        art50["proofJws"] = signDetached(recordProofPayload(art50, "proofJws"), other);
      },
    });
    expectReject(await verifyEnvelope(env, world.receiverOptions(env)), 10, "signature-invalid");
  });
  it("D09 step 8 (§6.2): a prohibited-practice attestation by another key → signature-invalid at step 8", async () => {
    const other = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(8));
    const env = await world.envelope("regulated", {
      afterProofs: (e: any) => {
        const p = e.governance.prohibited as JsonObject;
        p["attestationJws"] = signDetached(recordProofPayload(p, "attestationJws"), other);
      },
    });
    expectReject(await verifyEnvelope(env, world.receiverOptions(env)), 8, "signature-invalid");
  });
  it("D09 step 11: oversight weaker than the receiver's minimum → oversight-missing", async () => {
    expectReject(await receive("regulated", { policy: { oversightMinimum: "human-in-the-loop" } }), 11, "oversight-missing");
  });
  it("D09 step 12: a systemic-risk GPAI without policyUrl → gpai-policy-missing", async () => {
    expectReject(await receive("regulated", { edit: (e) => delete e.aiSystem.gpaiChain[0].policyUrl }), 12, "gpai-policy-missing");
  });
  it("D09 step 12: a policyUrl that does not resolve → gpai-policy-missing", async () => {
    expectReject(await receive("regulated", { hooks: { checkGpaiPolicy: () => false } }), 12, "gpai-policy-missing");
  });
  it("D09 step 13: no receiver key and requireHooks → unknown; without requireHooks it is listed unverified", async () => {
    expectReject(await receive("sealed", { options: (o) => ({ ...o, keys: [] }) }), 13, "unknown");
    const lax = await receive("sealed", { options: (o) => ({ ...o, keys: [] }), policy: { requireHooks: false } });
    expect(lax.outcome).toBe("accept");
    expect(lax.unverified.join()).toMatch(/step 13 decrypt/);
    expect(lax.sealed).toBeUndefined();
  });
  it("D09 step 14: a log that refuses the anchor → unknown", async () => {
    expectReject(await receive("regulated", { hooks: { anchor: async () => { throw new Error("log unavailable"); } } }), 14, "unknown");
  });
  it("a missing hook is never a silent pass: unverified (or unknown with requireHooks)", async () => {
    const noConsent = await receive("signed", { hooks: { consentReceipt: undefined as never }, policy: { requireHooks: false } });
    expect(noConsent.outcome).toBe("accept");
    expect(noConsent.steps.find((s) => s.name === "consent")?.status).toBe("unverified");
    expectReject(await receive("signed", { hooks: { consentReceipt: undefined as never } }), 5, "unknown");
  });
});

describe("receiver policy documents", () => {
  it("parseReceiverPolicy accepts the documented members and rejects unknown ones and bad values", () => {
    expect(parseReceiverPolicy({ maxTier: "sealed", annexIIIAllowed: ["5(b)"], requiredAssurance: { aal: "AAL2" } })).toMatchObject({ maxTier: "sealed" });
    for (const bad of [{ maxTeir: "sealed" }, { maxTier: "gold" }, { oversightMinimum: "loose" }, { requiredAssurance: { aal: "IAL2" } }, { rateLimit: { max: 0, windowMs: 1 } }, []]) {
      expect(() => parseReceiverPolicy(bad), JSON.stringify(bad)).toThrow(ReceiverPolicyError);
    }
  });
});
