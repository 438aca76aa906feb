import { readFileSync } from "node:fs";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { describe, expect, it } from "vitest";
import { ed25519Verify } from "../../../src/crypto/ed25519.js";
import { publicJwks } from "../../../src/crypto/keys.js";
import {
  createKeyBindingJwt,
  decodeDisclosure,
  presentationOf,
  sdDigest,
  splitSdJwt,
  toOhpIdentity,
  verifyOhpIdentity,
  verifySdJwtVc,
  type OhpIdentity,
} from "../../../src/trust/sdjwt/index.js";
import { ISS, NOW, T0, VCT, credential, holderKey, idpJwks, idpKey, otherKey } from "./helpers.js";

const VECTORS = JSON.parse(readFileSync(new URL("./vectors/rfc9901-disclosures.json", import.meta.url), "utf8")) as {
  vectors: { section: string; disclosure: string; decoded: unknown[]; sha256: string }[];
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v), "utf8").toString("base64url");

function payloadOf(identity: OhpIdentity): Record<string, unknown> {
  return JSON.parse(Buffer.from(identity.sdJwtVc.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Re-signs an issuer JWT with a modified payload (to build structurally hostile credentials). */
function resign(identity: OhpIdentity, mutate: (p: Record<string, unknown>) => void): OhpIdentity {
  const [h] = identity.sdJwtVc.split(".");
  const payload = payloadOf(identity);
  mutate(payload);
  const input = `${h}.${b64json(payload)}`;
  const sig = Buffer.from(idpKey.sign(Buffer.from(input, "latin1"))).toString("base64url");
  return { ...identity, sdJwtVc: `${input}.${sig}` };
}

describe("RFC 9901 §4.2.3 disclosure digests (spec example values)", () => {
  for (const v of VECTORS.vectors) {
    it(`RFC 9901 ${v.section}: SHA-256 over the ASCII disclosure`, () => {
      expect(sdDigest(v.disclosure)).toBe(v.sha256);
      const d = decodeDisclosure(v.disclosure, "sha-256");
      expect(d.digest).toBe(v.sha256);
      expect([d.salt, ...(d.name === undefined ? [] : [d.name]), d.value]).toEqual(v.decoded);
    });
  }
});

describe("SD-JWT VC issue → OHP identity → verify (OHP §5.4, RFC 9901 §7.1)", () => {
  it("OHP §5.4: issuer-signed JWT uses EdDSA and typ dc+sd-jwt; the library's own verifier accepts it", async () => {
    const compact = await credential();
    const { jwt, disclosures } = splitSdJwt(compact);
    const header = JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString());
    expect(header).toEqual({ typ: "dc+sd-jwt", alg: "EdDSA", kid: "idp_2026_05" });
    expect(disclosures).toHaveLength(7); // given, family, accountRef, address, street, 2 nationalities
    const lib = new SDJwtVcInstance({
      verifier: (data: string, sig: string) => ed25519Verify(idpKey.publicKeyObject!, Buffer.from(data), Buffer.from(sig, "base64url")),
      hasher: (data: string | ArrayBuffer) => new Uint8Array(Buffer.from(sdDigest(typeof data === "string" ? data : Buffer.from(data).toString()), "base64url")),
    });
    const verified = await lib.verify(compact, { currentDate: T0 + 60 });
    expect((verified.payload as Record<string, unknown>)["given_name"]).toBe("Alex");
  });

  it("OHP §5.4: toOhpIdentity keeps only the purpose's disclosures and verifyOhpIdentity reveals exactly them", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name", "accountRef"] });
    expect(identity.disclosures).toHaveLength(2);
    expect([...identity.claimsRevealed!].sort()).toEqual(["accountRef", "given_name"]);
    const v = verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, expectedVct: VCT, expectedIssuer: ISS });
    expect(v.claims["given_name"]).toBe("Alex");
    expect(v.claims["accountRef"]).toBe("acc_7781");
    expect(v.claims["family_name"]).toBeUndefined();
    expect(v.claims["_sd"]).toBeUndefined();
    expect(v.claims["_sd_alg"]).toBeUndefined();
    expect(v.claims["nationalities"]).toEqual([]); // undisclosed elements vanish
    expect(v.warnings).toEqual([]);
    expect(v.vct).toBe(VCT);
  });

  it("RFC 9901 §7.1: nested and array-element disclosures are placed recursively; parents are kept with children", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["address.street_address", "nationalities"] });
    expect(identity.claimsRevealed).toEqual(["address", "address.street_address"]);
    const v = verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW });
    expect(v.claims["address"]).toEqual({ street_address: "1 High St", locality: "London", country: "GB" });
    expect(v.claims["nationalities"]).toEqual(["GB", "IE"]);
    expect(v.disclosed.map((d) => d.pathText)).toEqual(["nationalities.0", "nationalities.1", "address", "address.street_address"]);
  });

  it("verifySdJwtVc accepts the compact form and a resolver for the IdP key", async () => {
    const v = verifySdJwtVc(await credential(), { issuerKeys: (kid) => (kid === "idp_2026_05" ? idpKey.publicJwk : undefined), now: NOW });
    expect(v.claims["family_name"]).toBe("Doe");
  });

  it("RFC 9901 §7.1 step 2: a credential signed by another key fails with ERR_SDJWT_SIGNATURE", async () => {
    const identity = toOhpIdentity(await credential({ issuerKey: otherKey }));
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_SIGNATURE");
  });

  it("RFC 9901 §7.1 step 2: an unknown kid fails with ERR_SDJWT_KEY_UNKNOWN", async () => {
    const identity = toOhpIdentity(await credential());
    const keys = publicJwks([otherKey.publicJwk]);
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: (kid) => (kid === "nope" ? keys.keys[0] : undefined), now: NOW }))).toBe("ERR_SDJWT_KEY_UNKNOWN");
  });

  it("RFC 9901 §7.1 step 3: a tampered disclosure (value changed) has no digest in _sd → ERR_SDJWT_DIGEST", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const [salt] = JSON.parse(Buffer.from(identity.disclosures[0]!, "base64url").toString()) as [string];
    const forged = { ...identity, disclosures: [b64json([salt, "given_name", "Mallory"])] };
    expect(codeOf(() => verifyOhpIdentity(forged, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_DIGEST");
  });

  it("RFC 9901 §7.1 step 3: a disclosure that was never in _sd (added by the sender) → ERR_SDJWT_DIGEST", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const added = { ...identity, disclosures: [...identity.disclosures, b64json(["c2FsdHNhbHRzYWx0", "vulnerable", true])] };
    expect(codeOf(() => verifyOhpIdentity(added, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_DIGEST");
  });

  it("RFC 9901 §7.1 step 3: the same disclosure twice → ERR_SDJWT_DUPLICATE", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const twice = { ...identity, disclosures: [identity.disclosures[0]!, identity.disclosures[0]!] };
    expect(codeOf(() => verifyOhpIdentity(twice, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_DUPLICATE");
  });

  it("RFC 9901 §7.1 step 3: a digest listed twice in the payload → ERR_SDJWT_DUPLICATE", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const dup = resign(identity, (p) => {
      const sd = p["_sd"] as string[];
      p["_sd"] = [...sd, sd[0]!];
    });
    expect(codeOf(() => verifyOhpIdentity(dup, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_DUPLICATE");
  });

  it("RFC 9901 §7.1 step 3: a disclosure whose name already exists in the payload → ERR_SDJWT_DISCLOSURE_INVALID", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const clash = resign(identity, (p) => void (p["given_name"] = "Plain"));
    expect(codeOf(() => verifyOhpIdentity(clash, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_DISCLOSURE_INVALID");
  });

  it("RFC 9901 §4.2.1: a disclosure that is not a JSON array → ERR_SDJWT_DISCLOSURE_INVALID", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    expect(codeOf(() => verifyOhpIdentity({ ...identity, disclosures: [b64json({ a: 1 })] }, { issuerKeys: idpJwks, now: NOW }))).toBe(
      "ERR_SDJWT_DISCLOSURE_INVALID",
    );
  });

  it("RFC 7519 §4.1.4: an expired VC → ERR_SDJWT_EXPIRED; nbf in the future → ERR_SDJWT_NOT_YET_VALID", async () => {
    const expired = toOhpIdentity(await credential({ exp: T0 + 30 }));
    expect(codeOf(() => verifyOhpIdentity(expired, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_EXPIRED");
    const early = toOhpIdentity(await credential({ nbf: T0 + 600 }));
    expect(codeOf(() => verifyOhpIdentity(early, { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_NOT_YET_VALID");
  });

  it("draft-ietf-oauth-sd-jwt-vc §3.2.2: wrong vct → ERR_SDJWT_VCT, wrong iss → ERR_SDJWT_ISSUER", async () => {
    const identity = toOhpIdentity(await credential());
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, expectedVct: "urn:other" }))).toBe("ERR_SDJWT_VCT");
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, expectedIssuer: "https://evil.example" }))).toBe("ERR_SDJWT_ISSUER");
  });

  it("draft-ietf-oauth-sd-jwt-vc §3.2.1: an unexpected typ → ERR_SDJWT_HEADER_INVALID; the OHP example typ sd-jwt is accepted", async () => {
    const identity = toOhpIdentity(await credential());
    const reheader = (typ: string): OhpIdentity => {
      const [, p] = identity.sdJwtVc.split(".");
      const h = b64json({ typ, alg: "EdDSA", kid: "idp_2026_05" });
      const sig = Buffer.from(idpKey.sign(Buffer.from(`${h}.${p}`, "latin1"))).toString("base64url");
      return { ...identity, sdJwtVc: `${h}.${p}.${sig}` };
    };
    expect(codeOf(() => verifyOhpIdentity(reheader("JWT"), { issuerKeys: idpJwks, now: NOW }))).toBe("ERR_SDJWT_HEADER_INVALID");
    expect(verifyOhpIdentity(reheader("sd-jwt"), { issuerKeys: idpJwks, now: NOW }).claims["given_name"]).toBe("Alex");
  });

  it("draft-ietf-oauth-sd-jwt-vc §3.2.2: registered claims cannot be issued as disclosable → ERR_SDJWT_ISSUE", async () => {
    await expect(credential({ disclosable: ["given_name"], claims: { vct: "x" } })).rejects.toMatchObject({ code: "ERR_SDJWT_ISSUE" });
    await expect(credential({ disclosable: ["no_such_claim"] })).rejects.toMatchObject({ code: "ERR_SDJWT_ISSUE" });
  });

  it("OHP §5.4: a lying claimsRevealed never adds claims; the mismatch is a warning only", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const lying = { ...identity, claimsRevealed: ["given_name", "nhsId"] };
    const v = verifyOhpIdentity(lying, { issuerKeys: idpJwks, now: NOW });
    expect(v.claims["nhsId"]).toBeUndefined();
    expect(Object.keys(v.claims)).not.toContain("nhsId");
    expect(v.warnings.some((w) => w.includes("nhsId"))).toBe(true);
    const silent = verifyOhpIdentity({ ...identity, claimsRevealed: [] }, { issuerKeys: idpJwks, now: NOW });
    expect(silent.claims["given_name"]).toBe("Alex");
    expect(silent.warnings.some((w) => w.includes("given_name"))).toBe(true);
  });
});

describe("RFC 9901 §4.3 key binding (KB-JWT, optional in OHP)", () => {
  const AUD = "did:web:agents.example.com:asst_b3";
  const NONCE = "n-0S6_WzA2Mj";

  async function presented() {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const kbJwt = createKeyBindingJwt(identity, { holderKey, aud: AUD, nonce: NONCE, iat: T0 + 50 });
    return { identity, kbJwt };
  }

  it("RFC 9901 §7.3: a valid KB-JWT over exactly the presented disclosures verifies", async () => {
    const { identity, kbJwt } = await presented();
    const v = verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, requireKeyBinding: true, kbJwt, audience: AUD, nonce: NONCE });
    expect(v.keyBinding).toMatchObject({ aud: AUD, nonce: NONCE, sdHash: sdDigest(presentationOf(identity)) });
  });

  it("RFC 9901 §7.3: the compact SD-JWT+KB form verifies through verifySdJwtVc", async () => {
    const { identity, kbJwt } = await presented();
    const v = verifySdJwtVc(`${presentationOf(identity)}${kbJwt}`, { issuerKeys: idpJwks, now: NOW, audience: AUD, nonce: NONCE });
    expect(v.keyBinding?.nonce).toBe(NONCE);
  });

  it("RFC 9901 §7.3: wrong nonce → ERR_SDJWT_KB_NONCE; wrong audience → ERR_SDJWT_KB_AUDIENCE", async () => {
    const { identity, kbJwt } = await presented();
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, kbJwt, audience: AUD, nonce: "other" }))).toBe("ERR_SDJWT_KB_NONCE");
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, kbJwt, audience: "did:web:x", nonce: NONCE }))).toBe("ERR_SDJWT_KB_AUDIENCE");
  });

  it("RFC 9901 §4.3.1: sd_hash over other disclosures (one dropped after binding) → ERR_SDJWT_KB_SD_HASH", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name", "accountRef"] });
    const kbJwt = createKeyBindingJwt(identity, { holderKey, aud: AUD, nonce: NONCE, iat: T0 + 50 });
    const fewer = { ...identity, disclosures: identity.disclosures.slice(0, 1) };
    expect(codeOf(() => verifyOhpIdentity(fewer, { issuerKeys: idpJwks, now: NOW, kbJwt, audience: AUD, nonce: NONCE }))).toBe("ERR_SDJWT_KB_SD_HASH");
  });

  it("RFC 9901 §7.3: a KB-JWT signed by a key other than cnf.jwk → ERR_SDJWT_KB_SIGNATURE; stale iat → ERR_SDJWT_KB_IAT", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const wrong = createKeyBindingJwt(identity, { holderKey: otherKey, aud: AUD, nonce: NONCE, iat: T0 + 50 });
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, kbJwt: wrong, audience: AUD, nonce: NONCE }))).toBe("ERR_SDJWT_KB_SIGNATURE");
    const stale = createKeyBindingJwt(identity, { holderKey, aud: AUD, nonce: NONCE, iat: T0 - 3600 });
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, kbJwt: stale, audience: AUD, nonce: NONCE }))).toBe("ERR_SDJWT_KB_IAT");
  });

  it("RFC 9901 §7.3: requireKeyBinding without a KB-JWT → ERR_SDJWT_KB_MISSING", async () => {
    const { identity } = await presented();
    expect(codeOf(() => verifyOhpIdentity(identity, { issuerKeys: idpJwks, now: NOW, requireKeyBinding: true }))).toBe("ERR_SDJWT_KB_MISSING");
  });
});
