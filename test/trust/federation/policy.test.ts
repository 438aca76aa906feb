import { describe, expect, it } from "vitest";
import { applyMetadataPolicy, mergeMetadataPolicies, resolveMetadata, type MetadataPolicy } from "../../../src/trust/federation/index.js";

const T = "ohp_issuer";
const md = (params: Record<string, unknown>) => ({ [T]: params });
const pol = (param: string, ops: Record<string, unknown>): MetadataPolicy => ({ [T]: { [param]: ops } });

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

/** Applies policies top-down (trust anchor first) to `metadata`. */
const resolve = (metadata: Record<string, unknown>, ...policies: MetadataPolicy[]) => resolveMetadata(md(metadata), undefined, policies)[T];

describe("OpenID Federation 1.0 §6.1.3.1 policy operators (positive and conflicting cases)", () => {
  it("§6.1.3.1.1 value: sets/overrides, null removes", () => {
    expect(resolve({ max_aal: "AAL3" }, pol("max_aal", { value: "AAL2" }))).toEqual({ max_aal: "AAL2" });
    expect(resolve({ jwks_uri: "https://x" }, pol("jwks_uri", { value: null }))).toEqual({});
  });

  it("§6.1.4.1 value: two different values → ERR_FED_POLICY_CONFLICT", () => {
    expect(codeOf(() => resolve({}, pol("max_aal", { value: "AAL2" }), pol("max_aal", { value: "AAL3" })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.3.1.2 add: unites with the array (or creates it); merged adds unite", () => {
    expect(resolve({ jurisdictions: ["GB"] }, pol("jurisdictions", { add: ["IE"] }), pol("jurisdictions", { add: ["FR"] }))).toEqual({ jurisdictions: ["GB", "IE", "FR"] });
    expect(resolve({}, pol("jurisdictions", { add: ["IE"] }))).toEqual({ jurisdictions: ["IE"] });
  });

  it("§6.1.3.1.2 add: values outside a combined subset_of → ERR_FED_POLICY_CONFLICT; add to a scalar → ERR_FED_POLICY_VIOLATION", () => {
    expect(codeOf(() => resolve({}, pol("jurisdictions", { subset_of: ["GB"] }), pol("jurisdictions", { add: ["IE"] })))).toBe("ERR_FED_POLICY_CONFLICT");
    expect(codeOf(() => resolve({ jurisdictions: "GB" }, pol("jurisdictions", { add: ["IE"] })))).toBe("ERR_FED_POLICY_VIOLATION");
  });

  it("§6.1.3.1.3 default: only fills an absent parameter", () => {
    expect(resolve({}, pol("max_fal", { default: "FAL1" }))).toEqual({ max_fal: "FAL1" });
    expect(resolve({ max_fal: "FAL2" }, pol("max_fal", { default: "FAL1" }))).toEqual({ max_fal: "FAL2" });
  });

  it("§6.1.4.1 default: different defaults → ERR_FED_POLICY_CONFLICT; default with value null → ERR_FED_POLICY_CONFLICT", () => {
    expect(codeOf(() => resolve({}, pol("max_fal", { default: "FAL1" }), pol("max_fal", { default: "FAL2" })))).toBe("ERR_FED_POLICY_CONFLICT");
    expect(codeOf(() => resolve({}, pol("max_fal", { value: null, default: "FAL1" })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.3.1.4 one_of: accepts a listed value; merged one_of intersects", () => {
    expect(resolve({ max_aal: "AAL2" }, pol("max_aal", { one_of: ["AAL1", "AAL2", "AAL3"] }), pol("max_aal", { one_of: ["AAL1", "AAL2"] }))).toEqual({ max_aal: "AAL2" });
  });

  it("§6.1.3.1.4 one_of: an unlisted value → ERR_FED_POLICY_VIOLATION; disjoint sets → ERR_FED_POLICY_CONFLICT; with subset_of → conflict", () => {
    expect(codeOf(() => resolve({ max_aal: "AAL3" }, pol("max_aal", { one_of: ["AAL1", "AAL2"] })))).toBe("ERR_FED_POLICY_VIOLATION");
    expect(codeOf(() => resolve({}, pol("max_aal", { one_of: ["AAL1"] }), pol("max_aal", { one_of: ["AAL3"] })))).toBe("ERR_FED_POLICY_CONFLICT");
    expect(codeOf(() => resolve({}, pol("max_aal", { one_of: ["AAL1"], subset_of: ["AAL1"] })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.3.1.5 subset_of: keeps the intersection; merged subset_of intersects", () => {
    expect(resolve({ annex_iii_allowed: ["5(b)", "5(d)", "8(a)"] }, pol("annex_iii_allowed", { subset_of: ["5(b)", "5(d)"] }), pol("annex_iii_allowed", { subset_of: ["5(d)", "8(a)"] }))).toEqual({
      annex_iii_allowed: ["5(d)"],
    });
  });

  it("§6.1.3.1.5 subset_of: value outside it → ERR_FED_POLICY_CONFLICT; superset_of not within it → ERR_FED_POLICY_CONFLICT", () => {
    expect(codeOf(() => resolve({}, pol("jurisdictions", { subset_of: ["GB"] }), pol("jurisdictions", { value: ["GB", "FR"] })))).toBe("ERR_FED_POLICY_CONFLICT");
    expect(codeOf(() => resolve({}, pol("jurisdictions", { subset_of: ["GB"] }), pol("jurisdictions", { superset_of: ["IE"] })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.3.1.6 superset_of: the parameter must contain every listed value", () => {
    expect(resolve({ jurisdictions: ["GB", "IE"] }, pol("jurisdictions", { superset_of: ["GB"] }))).toEqual({ jurisdictions: ["GB", "IE"] });
  });

  it("§6.1.3.1.6 superset_of: a missing value → ERR_FED_POLICY_VIOLATION; value not a superset → ERR_FED_POLICY_CONFLICT", () => {
    expect(codeOf(() => resolve({ jurisdictions: ["IE"] }, pol("jurisdictions", { superset_of: ["GB"] })))).toBe("ERR_FED_POLICY_VIOLATION");
    expect(codeOf(() => resolve({}, pol("jurisdictions", { superset_of: ["GB"], value: ["IE"] })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.3.1.7 essential: present parameter passes; a superior's essential true survives a subordinate's false", () => {
    expect(resolve({ max_ial: "IAL2" }, pol("max_ial", { essential: true }), pol("max_ial", { essential: false }))).toEqual({ max_ial: "IAL2" });
    expect(mergeMetadataPolicies([pol("max_ial", { essential: true }), pol("max_ial", { essential: false })])[T]!["max_ial"]).toEqual({ essential: true });
  });

  it("§6.1.3.1.7 essential: absent parameter → ERR_FED_POLICY_VIOLATION; essential with value null → ERR_FED_POLICY_CONFLICT", () => {
    expect(codeOf(() => resolve({}, pol("max_ial", { essential: true })))).toBe("ERR_FED_POLICY_VIOLATION");
    expect(codeOf(() => resolve({ max_ial: "IAL2" }, pol("max_ial", { essential: true, value: null })))).toBe("ERR_FED_POLICY_CONFLICT");
  });

  it("§6.1.4.2: operators apply in the order value, add, default, one_of, subset_of, superset_of, essential", () => {
    const policy = pol("jurisdictions", { superset_of: ["GB"], subset_of: ["GB", "IE", "FR"], add: ["GB"], essential: true });
    expect(resolve({ jurisdictions: ["IE", "DE"] }, policy)).toEqual({ jurisdictions: ["IE", "GB"] });
  });

  it("§6.1.4: the immediate superior's metadata overrides the leaf's before policies apply; types without metadata stay absent", () => {
    const out = resolveMetadata(md({ max_aal: "AAL3", jurisdictions: ["GB"] }), md({ max_aal: "AAL2" }), [{ other_type: { x: { value: 1 } } }]);
    expect(out).toEqual(md({ max_aal: "AAL2", jurisdictions: ["GB"] }));
  });

  it("§6.1.4.1 metadata_policy_crit: an unknown critical operator → ERR_FED_POLICY_CRIT; unknown non-critical ones are ignored", () => {
    expect(codeOf(() => mergeMetadataPolicies([pol("max_aal", { regexp: "^AAL" })], ["regexp"]))).toBe("ERR_FED_POLICY_CRIT");
    expect(applyMetadataPolicy(md({ max_aal: "AAL1" }), mergeMetadataPolicies([pol("max_aal", { regexp: "^AAL" })]))).toEqual(md({ max_aal: "AAL1" }));
  });
});
