/**
 * OAP-CORE-1.0 §8.2 / §8.3 / §8.4 / §19.1 / Appendix C signatures (docs/oap-signatures.md):
 * Ed25519 over the RFC 8785 JCS form without the signature member(s), base64url values.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { canonicalizeJson } from "../../src/jcs/index.js";
import type { JsonObject } from "../../src/json/types.js";
import {
  addReceiptSignature,
  checkOapSignatureHeader,
  jwksKeyResolver,
  oapSignatureHeader,
  signDocument,
  signResponse,
  signingInput,
  verifyDocument,
  verifyReceiptSignatures,
  verifyRequest,
  verifyResponse,
  RECEIPT_SIGNATURE_EXCLUDED,
} from "../../src/oap/sign.js";
import { ReplayGuard } from "../../src/oap/replay.js";
import { validateOapDocument } from "../../src/oap/documents.js";
import { b64uDecode } from "../../src/util/base64url.js";
import { publicJwks } from "../../src/crypto/keys.js";
import { AGENT_DID, TOOL_DID, TestClock, agentSigner, codeOf, keys, resolver, signedRequest, toolSigner, unsignedRequest, upstream } from "./helpers.js";

const VECTOR = JSON.parse(readFileSync(join(import.meta.dirname, "vectors", "signature-vectors.json"), "utf8")) as {
  seed_hex: string;
  cases: { name: string; exclude: string[]; document: JsonObject; signing_input: string; value: string }[];
};

describe("§8.2 request envelope signatures", () => {
  it("signs with EdDSA over the JCS form without `signature`, base64url; the result is schema-valid and verifies", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock);
    expect(validateOapDocument("oap-request-envelope", env)).toEqual([]);
    const sig = env["signature"] as { alg: string; kid: string; value: string };
    expect(sig.alg).toBe("EdDSA");
    expect(sig.kid).toBe(`${AGENT_DID}#key-1`);
    expect(sig.value).toMatch(/^[A-Za-z0-9_-]{86}$/);
    const { signature: _s, ...rest } = env;
    expect(new TextDecoder().decode(signingInput(env))).toBe(canonicalizeJson(rest));
    // Independent check with noble: the signature is plain Ed25519 over those bytes.
    expect(ed25519.verify(b64uDecode(sig.value), new TextEncoder().encode(canonicalizeJson(rest)), b64uDecode((keys.agent.publicJwk as { x: string }).x))).toBe(true);
    const v = await verifyRequest(env, resolver, { now: clock.now });
    expect(v.signature.signerDid).toBe(AGENT_DID);
  });

  it("member order and whitespace do not matter (JCS), any changed value does", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(env).reverse()), null, 2)) as JsonObject;
    await verifyRequest(reordered, resolver, { now: clock.now });
    const tampered = { ...env, input: { location: "Paris, FR", days: 3 } };
    expect(await codeOf(() => verifyRequest(tampered, resolver, { now: clock.now }))).toBe("ERR_OAP_SIGNATURE_INVALID");
    const tamperedContext = { ...env, context: { ...(env["context"] as JsonObject), currency: "USD" } };
    expect(await codeOf(() => verifyRequest(tamperedContext, resolver, { now: clock.now }))).toBe("ERR_OAP_SIGNATURE_INVALID");
  });

  it("tampered, stripped, re-encoded and foreign signatures are refused with typed 401 codes", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock);
    const sig = env["signature"] as JsonObject;
    const value = String(sig["value"]);
    const flipped = (value[5] === "A" ? "B" : "A") + "";
    const cases: [string, JsonObject, string][] = [
      ["one character changed", { ...env, signature: { ...sig, value: value.slice(0, 5) + flipped + value.slice(6) } }, "ERR_OAP_SIGNATURE_INVALID"],
      ["standard base64 with padding", { ...env, signature: { ...sig, value: Buffer.from(b64uDecode(value)).toString("base64") } }, "ERR_OAP_SIGNATURE_INVALID"],
      ["signature by another key under the agent's kid", signDocument(unsignedRequest(clock), { key: keys.attacker }) as unknown as JsonObject, "ERR_OAP_SIGNATURE_INVALID"],
      ["kid of another DID (the tool signs as itself for the agent)", signDocument(unsignedRequest(clock), toolSigner) as unknown as JsonObject, "ERR_OAP_SIGNER_MISMATCH"],
      ["unknown kid", { ...env, signature: { ...sig, kid: `${AGENT_DID}#key-9` } }, "ERR_OAP_SIGNATURE_KEY_UNKNOWN"],
      ["ES256 (schema-valid, not supported)", { ...env, signature: { ...sig, alg: "ES256" } }, "ERR_OAP_SIGNATURE_ALG_UNSUPPORTED"],
    ];
    for (const [what, doc, code] of cases) expect(`${what}: ${await codeOf(() => verifyRequest(doc, resolver, { now: clock.now }))}`).toBe(`${what}: ${code}`);
    const { signature: _s, ...unsigned } = env;
    expect(await codeOf(() => verifyRequest(unsigned, resolver, { now: clock.now }))).toBe("ERR_OAP_ENVELOPE_INVALID");
    expect(await codeOf(() => verifyRequest(unsigned, resolver, { now: clock.now, validateSchema: false }))).toBe("ERR_OAP_SIGNATURE_MISSING");
  });

  it("a revoked or expired key is refused", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock);
    const revoked = jwksKeyResolver([{ ...keys.agent.publicJwk, kid: "key-1", revoked: true }], AGENT_DID);
    expect(await codeOf(() => verifyRequest(env, revoked, { now: clock.now }))).toBe("ERR_OAP_SIGNATURE_KEY_UNKNOWN");
    const expired = jwksKeyResolver([{ ...keys.agent.publicJwk, kid: "key-1", validUntil: clock.iso(-1) }], AGENT_DID);
    expect(await codeOf(() => verifyRequest(env, expired, { now: clock.now }))).toBe("ERR_OAP_SIGNATURE_KEY_UNKNOWN");
    const fine = jwksKeyResolver(publicJwks([keys.agent]), AGENT_DID);
    expect((await verifyRequest(env, fine, { now: clock.now })).signature.kid).toBe(`${AGENT_DID}#key-1`);
  });

  it("the upstream probe envelope (signature.value \"probe\") does not verify (contradiction 6)", async () => {
    const clock = new TestClock();
    const probe = { ...unsignedRequest(clock), signature: { alg: "EdDSA", kid: `${AGENT_DID}#key-1`, value: "probe" } };
    expect(validateOapDocument("oap-request-envelope", probe)).toEqual([]);
    expect(await codeOf(() => verifyRequest(probe, resolver, { now: clock.now }))).toBe("ERR_OAP_SIGNATURE_INVALID");
  });
});

describe("§8.3 response envelope signatures", () => {
  const response = (): JsonObject => ({
    oap_version: "1.0",
    request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX",
    response_id: "01J9V8B7HM3K8E2A0M9R8F0LZP",
    timestamp: "2026-05-02T10:00:00.215Z",
    status: "ok",
    output: { forecast: [] },
    cost: { amount: "0.001", currency: "EUR" },
    receipt: { id: "urn:oap:receipt:01J9V8B7HM3K8E2A0M9R8F0LZP", anchored_in: ["log.example"] },
    warnings: [],
  });

  it("signed by the Tool; verified against the Tool DID and the request id", async () => {
    const signed = signResponse(response(), toolSigner) as unknown as JsonObject;
    expect(validateOapDocument("oap-response-envelope", signed)).toEqual([]);
    const v = await verifyResponse(signed, resolver, { toolDid: TOOL_DID, requestId: "01J9V8B7H1ZK4D2A0M9R8F0KQX" });
    expect(v.kid).toBe(`${TOOL_DID}#key-1`);
    expect(await codeOf(() => verifyResponse(signed, resolver, { toolDid: "did:web:other.example" }))).toBe("ERR_OAP_SIGNER_MISMATCH");
    expect(await codeOf(() => verifyResponse(signed, resolver, { requestId: "01J9V8B7H1ZK4D2A0M9R8F0KQY" }))).toBe("ERR_OAP_ENVELOPE_INVALID");
    expect(await codeOf(() => verifyResponse({ ...signed, output: { forecast: [1] } }, resolver, { toolDid: TOOL_DID }))).toBe("ERR_OAP_SIGNATURE_INVALID");
  });

  it("signResponse refuses to produce a schema-invalid envelope", async () => {
    expect(await codeOf(() => signResponse({ ...response(), status: "success" }, toolSigner))).toBe("ERR_OAP_ENVELOPE_INVALID");
  });

  it("§8.4 OAP-Signature: the header is the body signature value; a different one is refused", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock);
    const header = oapSignatureHeader(env);
    expect(header).toBe((env["signature"] as JsonObject)["value"]);
    checkOapSignatureHeader(env, header);
    checkOapSignatureHeader(env, undefined);
    expect(await codeOf(() => checkOapSignatureHeader(env, header.slice(1)))).toBe("ERR_OAP_SIGNATURE_INVALID");
  });
});

describe("§19.1 receipt signatures (several signers, same bytes)", () => {
  it("tool and agent sign the receipt without `signatures` and `anchors`; both verify; adding anchors later keeps them valid", async () => {
    const base = upstream("test-suite/schema/valid/receipt-genesis.json");
    const { signatures: _x, ...core } = base;
    const body = { ...core, tool_did: TOOL_DID, agent_did: AGENT_DID };
    const byTool = addReceiptSignature(body, toolSigner);
    const both = addReceiptSignature(byTool, agentSigner) as unknown as JsonObject;
    expect((both["signatures"] as unknown[]).length).toBe(2);
    expect(validateOapDocument("oap-receipt", both)).toEqual([]);
    const verified = await verifyReceiptSignatures(both, resolver, { requiredSigners: [TOOL_DID, AGENT_DID] });
    expect(verified.map((v) => v.signerDid)).toEqual([TOOL_DID, AGENT_DID]);
    const anchored = { ...both, anchors: [{ log_id: "log.example", log_index: 3, inclusion_proof: "x" }] };
    await verifyReceiptSignatures(anchored, resolver);
    expect(signingInput(anchored, RECEIPT_SIGNATURE_EXCLUDED)).toEqual(signingInput(both, RECEIPT_SIGNATURE_EXCLUDED));
  });

  it("a stripped tool signature, a forged one, or an altered field fails", async () => {
    const base = upstream("test-suite/schema/valid/receipt-genesis.json");
    const { signatures: _x, ...core } = base;
    const body = { ...core, tool_did: TOOL_DID, agent_did: AGENT_DID };
    const byAgent = addReceiptSignature(body, agentSigner) as unknown as JsonObject;
    expect(await codeOf(() => verifyReceiptSignatures(byAgent, resolver))).toBe("ERR_OAP_SIGNATURE_MISSING");
    const byTool = addReceiptSignature(body, toolSigner) as unknown as JsonObject;
    expect(await codeOf(() => verifyReceiptSignatures({ ...byTool, output_hash: `sha256:${"2".repeat(64)}` }, resolver))).toBe("ERR_OAP_SIGNATURE_INVALID");
    const forged = { ...byTool, signatures: [{ by: `${TOOL_DID}#key-1`, alg: "EdDSA", value: (byAgent["signatures"] as JsonObject[])[0]!["value"] }] };
    expect(await codeOf(() => verifyReceiptSignatures(forged, resolver))).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await codeOf(() => verifyReceiptSignatures({ ...byTool, signatures: [] }, resolver))).toBe("ERR_OAP_SIGNATURE_MISSING");
  });

  it("re-signing by the same signer replaces its signature instead of adding one", () => {
    const body = { ...upstream("test-suite/schema/valid/receipt-genesis.json"), signatures: [] };
    const once = addReceiptSignature(body, toolSigner);
    const twice = addReceiptSignature(once, toolSigner);
    expect(twice.signatures).toHaveLength(1);
  });
});

describe("known-answer vectors (test/oap/vectors/signature-vectors.json)", () => {
  for (const c of VECTOR.cases) {
    it(`${c.name}: signing input and Ed25519 value`, async () => {
      expect(new TextDecoder().decode(signingInput(c.document, c.exclude))).toBe(c.signing_input);
      const pub = ed25519.getPublicKey(Buffer.from(VECTOR.seed_hex, "hex"));
      expect(ed25519.verify(b64uDecode(c.value), new TextEncoder().encode(c.signing_input), pub)).toBe(true);
      expect(Buffer.from(pub).toString("base64url")).toBe((keys.agent.publicJwk as { x: string }).x);
      const signed = c.exclude.includes("signatures") ? addReceiptSignature({ ...c.document, signatures: [] }, agentSigner) : signDocument(c.document, agentSigner);
      const value = "signatures" in signed ? (signed.signatures as { value: string }[])[0]!.value : (signed as unknown as { signature: { value: string } }).signature.value;
      expect(value).toBe(c.value);
      if (!c.exclude.includes("signatures")) await verifyDocument({ ...c.document, signature: { alg: "EdDSA", kid: keys.agent.kid, value } }, resolver);
    });
  }
});

describe("§28.3 is wired into verifyRequest", () => {
  it("the same signed request twice: the second is a nonce replay (409), even with members reordered", async () => {
    const clock = new TestClock();
    const replay = new ReplayGuard({ clock: clock.now });
    const env = signedRequest(clock);
    await verifyRequest(env, resolver, { replay, now: clock.now });
    const again = Object.fromEntries(Object.entries(env).reverse());
    expect(await codeOf(() => verifyRequest(again, resolver, { replay, now: clock.now }))).toBe("ERR_OAP_REPLAY_NONCE");
  });

  it("a forged request does not burn the request_id of the real one", async () => {
    const clock = new TestClock();
    const replay = new ReplayGuard({ clock: clock.now });
    const env = signedRequest(clock);
    const forged = signDocument({ ...env, input: { location: "X", days: 1 } }, { key: keys.attacker }) as unknown as JsonObject;
    expect(await codeOf(() => verifyRequest(forged, resolver, { replay, now: clock.now }))).toBe("ERR_OAP_SIGNATURE_INVALID");
    await verifyRequest(env, resolver, { replay, now: clock.now });
  });
});
