/**
 * RFC 7638 JWK Thumbprints (SHA-256, base64url), used as the default `kid`.
 *
 * Required members, in the lexicographic order RFC 7638 §3.3 prescribes:
 * - OKP (RFC 8037 §2): `crv`, `kty`, `x`.
 * - AKP (RFC 9964, "AKP Thumbprints", = draft-ietf-cose-dilithium; checked against the
 *   draft source at cose-wg/draft-ietf-cose-dilithium): the required parameters are "kty", "alg"
 *   and "pub", whose lexicographic order is `alg`, `kty`, `pub`. The private `priv` member never
 *   takes part. Verified against both published examples: the ML-DSA-65 example of the draft
 *   (kid `Suiu29qbfuaBaR4Ats-c6XQBePB_OpAxAwcTR_0KXVM`) and the composite ML-DSA-65-Ed25519
 *   example of draft-ietf-jose-pq-composite-sigs (kid `87Vn3JTmvTdxvpetv0rA5GwfoLnCkMxBDCJvYgFVuh4`),
 *   which says thumbprints of composite AKP keys follow the same rule.
 * - EC (RFC 7638 §3.2): `crv`, `kty`, `x`, `y`; RSA: `e`, `kty`, `n` (only so that foreign keys
 *   in a key set can be identified; they are never used for signing here).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { b64uEncode } from "../util/base64url.js";
import { KeyError } from "./jwk.js";

const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  OKP: ["crv", "kty", "x"],
  AKP: ["alg", "kty", "pub"],
  EC: ["crv", "kty", "x", "y"],
  RSA: ["e", "kty", "n"],
};

/**
 * The RFC 7638 canonical JSON of a JWK's required public members: those members only, sorted,
 * no whitespace. Throws {@link KeyError} `ERR_KEY_UNSUPPORTED` for an unknown `kty` and
 * `ERR_KEY_INVALID` when a required member is missing or not a string.
 */
export function thumbprintInput(jwk: Readonly<Record<string, unknown>>): string {
  const kty = jwk["kty"];
  const members = typeof kty === "string" && Object.hasOwn(REQUIRED_MEMBERS, kty) ? REQUIRED_MEMBERS[kty] : undefined;
  if (members === undefined) {
    throw new KeyError("ERR_KEY_UNSUPPORTED", `no thumbprint rule for key type ${String(kty)}`);
  }
  const canonical: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== "string") {
      throw new KeyError("ERR_KEY_INVALID", `thumbprint member "${member}" must be a string`);
    }
    canonical[member] = value;
  }
  // Members were inserted in sorted order; JSON.stringify keeps insertion order and emits no
  // whitespace, which is exactly the RFC 7638 §3.3 form for these ASCII values.
  return JSON.stringify(canonical);
}

/** RFC 7638 JWK SHA-256 thumbprint, base64url (unpadded). */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const digest = createHash("sha256").update(thumbprintInput(jwk), "utf8").digest();
  return b64uEncode(digest);
}
