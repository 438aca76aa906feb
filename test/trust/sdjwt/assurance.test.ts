import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CborTag, encodeCanonical } from "../../../src/cbor/index.js";
import { verifyDetached } from "../../../src/crypto/jws.js";
import { publicJwks } from "../../../src/crypto/keys.js";
import { assuranceProofPayload, signAssuranceProof, verifyAssuranceProof, type OhpAssurance } from "../../../src/trust/sdjwt/index.js";
import { UPSTREAM_OHP } from "../../helpers/upstream.js";
import { idpJwks, idpKey, otherKey } from "./helpers.js";

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

const envelope = JSON.parse(readFileSync(join(UPSTREAM_OHP, "examples", "envelopes", "03-sealed-payment.json"), "utf8")) as {
  caller: { assurance: OhpAssurance };
};
const example = envelope.caller.assurance;

describe("OHP §6.3 / decision B15: caller.assurance.proofJws", () => {
  it("B15: the payload is canonical CBOR of caller.assurance minus proofJws, lastStepUpAt under tag 0", () => {
    const { proofJws: _omit, ...rest } = example;
    const expected = encodeCanonical({ ...rest, lastStepUpAt: new CborTag(0, example.lastStepUpAt as string) } as never);
    expect(Buffer.from(assuranceProofPayload(example)).equals(Buffer.from(expected))).toBe(true);
    // the proof member itself never influences the payload
    expect(Buffer.from(assuranceProofPayload({ ...example, proofJws: "x" })).equals(Buffer.from(expected))).toBe(true);
  });

  it("OHP §10 D09 step 6: an IdP-signed proof over the upstream example assurance verifies (header exactly {alg,kid})", () => {
    const signed = signAssuranceProof(example, idpKey);
    const header = JSON.parse(Buffer.from(signed.proofJws.split(".")[0]!, "base64url").toString());
    expect(header).toEqual({ alg: "EdDSA", kid: "idp_2026_05" });
    expect(signed.proofJws.split(".")[1]).toBe("");
    const v = verifyAssuranceProof(signed, idpJwks);
    expect(v.kid).toBe("idp_2026_05");
    expect(verifyDetached(signed.proofJws, assuranceProofPayload(signed), idpJwks).alg).toBe("EdDSA");
  });

  it("OHP §10 D09 step 6: raising aal after signing → ERR_ASSURANCE_PROOF_INVALID (jwsCode ERR_JWS_SIGNATURE_INVALID)", () => {
    const signed = signAssuranceProof({ ...example, aal: "AAL2" }, idpKey);
    try {
      verifyAssuranceProof({ ...signed, aal: "AAL3" }, idpJwks);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe("ERR_ASSURANCE_PROOF_INVALID");
      expect((e as { detail: Record<string, unknown> }).detail["jwsCode"]).toBe("ERR_JWS_SIGNATURE_INVALID");
    }
  });

  it("OHP §10 D09 step 6: an added member or a changed lastStepUpAt also breaks the proof", () => {
    const signed = signAssuranceProof(example, idpKey);
    expect(codeOf(() => verifyAssuranceProof({ ...signed, extra: 1 }, idpJwks))).toBe("ERR_ASSURANCE_PROOF_INVALID");
    expect(codeOf(() => verifyAssuranceProof({ ...signed, lastStepUpAt: "2026-05-28T14:01:13Z" }, idpJwks))).toBe("ERR_ASSURANCE_PROOF_INVALID");
  });

  it("OHP §10 D09 step 6: a proof by a key the IdP does not publish → ERR_ASSURANCE_PROOF_INVALID", () => {
    const signed = signAssuranceProof(example, otherKey); // same kid, different key
    expect(codeOf(() => verifyAssuranceProof(signed, idpJwks))).toBe("ERR_ASSURANCE_PROOF_INVALID");
    expect(codeOf(() => verifyAssuranceProof(signAssuranceProof(example, idpKey), publicJwks([])))).toBe("ERR_ASSURANCE_PROOF_INVALID");
  });

  it("OHP §3.5: the upstream placeholder proof and a missing proof are rejected with typed codes", () => {
    expect(codeOf(() => verifyAssuranceProof(example, idpJwks))).toBe("ERR_ASSURANCE_PROOF_INVALID");
    const { proofJws: _omit, ...bare } = example;
    expect(codeOf(() => verifyAssuranceProof(bare, idpJwks))).toBe("ERR_ASSURANCE_PROOF_MISSING");
    expect(codeOf(() => verifyAssuranceProof({ ...example, ial: 3 }, idpJwks))).toBe("ERR_ASSURANCE_MALFORMED");
  });
});
