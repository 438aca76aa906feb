/**
 * Issuer-signed record proofs inside a Regulated envelope: `governance.art50Disclosure.proofJws`
 * (D09 step 10) and `governance.prohibited.attestationJws` (§6.2, checked at step 8).
 *
 * The spec names the signer (the issuer) but not the payload. agentwire fixes it (docs/decisions.md #15): a detached JWS (the envelope's profile: header exactly `{alg, kid}`) by an issuer
 * EdDSA key over the canonical CBOR of the record without its proof member, with tag 0 around
 * `at`. The proofs sit inside the envelope, so the envelope signature covers them as well.
 */
import { CborTag, encodeCanonical, type CborValue } from "../cbor/index.js";
import { signDetached } from "../crypto/jws.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { isJsonObject, type JsonObject } from "../json/types.js";
import { OhpCryptoError } from "./errors.js";

/** Canonical CBOR of `record` without `proofMember`, `at` under tag 0. */
export function recordProofPayload(record: JsonObject, proofMember: string): Uint8Array {
  const model: { [k: string]: CborValue } = {};
  for (const key of Object.keys(record)) {
    if (key === proofMember) continue;
    const value = record[key] as CborValue;
    Object.defineProperty(model, key, {
      value: key === "at" && typeof value === "string" ? new CborTag(0, value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return encodeCanonical(model);
}

/** The proof members an issuer signs, by record pointer. */
export const ISSUER_PROOFS = Object.freeze([
  { record: ["governance", "art50Disclosure"], member: "proofJws" },
  { record: ["governance", "prohibited"], member: "attestationJws" },
] as const);

/**
 * Sender side: returns a copy of `envelope` with every issuer record proof present in it
 * (re)signed by `key` (an EdDSA issuer key). Run before {@link signEnvelope}.
 */
export function signIssuerProofs(envelope: JsonObject, key: PrivateKeyRecord): JsonObject {
  if (key.alg !== "EdDSA") throw new OhpCryptoError("ERR_OHP_SIGN_KEY_MISSING", "issuer record proofs are signed with an EdDSA key");
  const copy = structuredClone(envelope);
  for (const { record, member } of ISSUER_PROOFS) {
    const parent = copy[record[0]];
    const target = isJsonObject(parent) ? parent[record[1]] : undefined;
    if (!isJsonObject(target)) continue;
    target[member] = signDetached(recordProofPayload(target, member), key);
  }
  return copy;
}
