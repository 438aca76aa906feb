import { describe, expect, it } from "vitest";
import {
  annexIIIAllowed,
  assuranceWithinCaps,
  didWebToEntityId,
  entityConfigurationUrl,
  entityIdToDidWeb,
  requireAnnexIIIAllowed,
  requireAssuranceWithinCaps,
  requireJurisdictionAllowed,
  resolveOhpIssuerPolicy,
} from "../../../src/trust/federation/index.js";
import { signAssuranceProof, verifyAssuranceProof } from "../../../src/trust/sdjwt/index.js";
import { LEAF, NOW, TA, buildFederation, leafOhpKey, trustAnchors } from "./helpers.js";

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
    return "no error";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

describe("OHP issuer.federation DID ↔ OpenID Federation entity identifier (agentwire mapping)", () => {
  it("did:web host, port and path segments map to an https entity id and back", () => {
    expect(didWebToEntityId("did:web:federation.openhandoffprotocol.org")).toBe("https://federation.openhandoffprotocol.org");
    expect(didWebToEntityId("did:web:agents.example.com:asst_pay3")).toBe("https://agents.example.com/asst_pay3");
    expect(didWebToEntityId("did:web:localhost%3A8443:fed")).toBe("https://localhost:8443/fed");
    expect(entityIdToDidWeb("https://localhost:8443/fed/")).toBe("did:web:localhost%3A8443:fed");
    expect(entityConfigurationUrl("https://agents.example.com/asst_pay3")).toBe("https://agents.example.com/asst_pay3/.well-known/openid-federation");
  });

  it("other DID methods and non-https ids → ERR_FED_ENTITY_ID", async () => {
    expect(await codeOf(() => didWebToEntityId("did:key:z6Mk"))).toBe("ERR_FED_ENTITY_ID");
    expect(await codeOf(() => entityIdToDidWeb("http://example.com"))).toBe("ERR_FED_ENTITY_ID");
  });
});

describe("OHP §5.6 / D09 step 1: resolveOhpIssuerPolicy", () => {
  it("OHP D09 step 1: the IdP's did:web resolves under the federation; policies shape ohp_issuer", async () => {
    const { fetcher } = await buildFederation();
    const policy = await resolveOhpIssuerPolicy("did:web:idp.bank.example.com", {
      trustAnchors,
      fetcher,
      now: NOW,
      expectedTrustAnchor: "did:web:federation.openhandoffprotocol.org",
    });
    expect(policy.entityId).toBe(LEAF);
    expect(policy.chain.trustAnchorId).toBe(TA);
    expect(policy.effectiveMetadata.jurisdictions).toEqual(["GB", "IE"]); // anchor subset_of dropped FR
    expect(policy.effectiveMetadata.annex_iii_allowed).toEqual(["5(b)", "5(d)"]);
    expect(policy.caps).toEqual({ ial: "IAL3", aal: "AAL3", fal: "FAL2" });
    expect(policy.resolveKey("idp_2026_05")).toEqual(leafOhpKey.publicJwk);
    // D09 step 6 end to end: proofJws verified with the federation-published IdP keys
    const assurance = signAssuranceProof({ method: "phone+otp", ial: "IAL2", aal: "AAL2", fal: "FAL2", idp: "did:web:idp.bank.example.com" }, leafOhpKey);
    expect(verifyAssuranceProof(assurance, policy.resolveKey).kid).toBe("idp_2026_05");
    expect(assuranceWithinCaps(assurance, policy.caps)).toBe(true);
  });

  it("OHP D09 step 1: a chain to another anchor than issuer.federation → ERR_FED_UNKNOWN_ANCHOR", async () => {
    const { fetcher } = await buildFederation();
    expect(await codeOf(resolveOhpIssuerPolicy(LEAF, { trustAnchors, fetcher, now: NOW, expectedTrustAnchor: "did:web:other.example" }))).toBe("ERR_FED_UNKNOWN_ANCHOR");
  });

  it("OHP D09 step 1: an anchor policy the leaf metadata violates → ERR_FED_POLICY_VIOLATION", async () => {
    const { fetcher } = await buildFederation({
      taAboutInt: { metadata_policy: { ohp_issuer: { max_aal: { one_of: ["AAL1", "AAL2"] } } } },
    });
    expect(await codeOf(resolveOhpIssuerPolicy(LEAF, { trustAnchors, fetcher, now: NOW }))).toBe("ERR_FED_POLICY_VIOLATION");
  });

  it("OHP D09 step 1: an entity without ohp_issuer metadata → ERR_FED_METADATA", async () => {
    const { fetcher } = await buildFederation({ leaf: { metadata: { federation_entity: {} } } });
    expect(await codeOf(resolveOhpIssuerPolicy(LEAF, { trustAnchors, fetcher, now: NOW }))).toBe("ERR_FED_METADATA");
  });
});

describe("OHP D09 steps 6 and 9: caps and allowlists", () => {
  const caps = { ial: "IAL2", aal: "AAL3", fal: "FAL2" };

  it("OHP D09 step 6: assurance at or below every cap is accepted", () => {
    expect(assuranceWithinCaps({ ial: "IAL2", aal: "AAL2", fal: "FAL1" }, caps)).toBe(true);
    expect(() => requireAssuranceWithinCaps({ ial: "IAL1", aal: "AAL3", fal: "FAL2" }, caps)).not.toThrow();
  });

  it("OHP D09 step 6: assurance above the cap (IAL3 > IAL2) → ERR_FED_ASSURANCE_ABOVE_CAP", async () => {
    expect(assuranceWithinCaps({ ial: "IAL3", aal: "AAL3", fal: "FAL2" }, caps)).toBe(false);
    expect(await codeOf(() => requireAssuranceWithinCaps({ ial: "IAL3", aal: "AAL3", fal: "FAL2" }, caps))).toBe("ERR_FED_ASSURANCE_ABOVE_CAP");
  });

  it("OHP D09 step 6: a missing cap or an unknown level fails closed → ERR_FED_ASSURANCE_ABOVE_CAP", async () => {
    expect(await codeOf(() => requireAssuranceWithinCaps({ aal: "AAL1" }, { ial: "IAL3" }))).toBe("ERR_FED_ASSURANCE_ABOVE_CAP");
    expect(await codeOf(() => requireAssuranceWithinCaps({ aal: "AAL9" }, caps))).toBe("ERR_FED_ASSURANCE_ABOVE_CAP");
  });

  it("OHP D09 step 9: an Annex III clause in annex_iii_allowed is accepted (whitespace/case-insensitive)", () => {
    expect(annexIIIAllowed("5(d)", { annex_iii_allowed: ["5(b)", "5(D)"] })).toBe(true);
    expect(() => requireAnnexIIIAllowed(" 5(b) ", { annex_iii_allowed: ["5(b)"] })).not.toThrow();
  });

  it("OHP D09 step 9: a clause outside the allowlist → ERR_FED_ANNEX_III_NOT_ALLOWED", async () => {
    expect(annexIIIAllowed("4(a)", { annex_iii_allowed: ["5(b)", "5(d)"] })).toBe(false);
    expect(await codeOf(() => requireAnnexIIIAllowed("4(a)", { annex_iii_allowed: ["5(b)", "5(d)"] }))).toBe("ERR_FED_ANNEX_III_NOT_ALLOWED");
    expect(await codeOf(() => requireAnnexIIIAllowed("5(d)", {}))).toBe("ERR_FED_ANNEX_III_NOT_ALLOWED");
  });

  it("OHP §6.8: a jurisdiction outside the issuer's jurisdictions → ERR_FED_JURISDICTION_NOT_ALLOWED", async () => {
    expect(() => requireJurisdictionAllowed("gb", { jurisdictions: ["GB"] })).not.toThrow();
    expect(await codeOf(() => requireJurisdictionAllowed("US", { jurisdictions: ["GB"] }))).toBe("ERR_FED_JURISDICTION_NOT_ALLOWED");
  });
});
