/**
 * OHP `caller.assurance.proofJws` (OHP §3.5, D09 step 6) — agentwire profile, decision B15.
 *
 * The spec only says the IdP signs "over the assurance claim". agentwire fixes the payload as
 * **the canonical CBOR (RFC 8949 §4.2.1, src/cbor) of the `caller.assurance` object minus its
 * `proofJws` member**, with CBOR tag 0 around the text of `lastStepUpAt` (the same RFC 3339
 * tagging the envelope signing surface applies to `/caller/assurance/lastStepUpAt`). Every other
 * member, unknown ones included, is covered. The proof is a detached compact JWS
 * (src/crypto/jws.ts: header exactly `{alg, kid}`) by the IdP named in `assurance.idp`.
 *
 * Not covered: the envelope `id` / `callId` — like the spec, the proof is replayable across
 * calls of the same caller until the assurance expires; receivers bound freshness with
 * `lastStepUpAt` and the envelope's own signature.
 *
 * @module
 */
import { CborTag, encodeCanonical, type CborValue } from "../../cbor/index.js";
import type { Jwks } from "../../crypto/jwk.js";
import { JwsError, signDetached, verifyDetached, type JwkResolver, type VerifiedJws } from "../../crypto/jws.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { AssuranceProofError } from "./errors.js";

/** OHP `caller.assurance` (§3.5). */
export interface OhpAssurance {
  readonly method: string;
  readonly ial: string;
  readonly aal: string;
  readonly fal: string;
  /** DID of the IdP. */
  readonly idp: string;
  readonly proofJws?: string;
  /** RFC 3339. */
  readonly lastStepUpAt?: string;
  readonly [member: string]: unknown;
}

const REQUIRED = ["method", "ial", "aal", "fal", "idp"] as const;

function checkShape(assurance: unknown): Record<string, unknown> {
  if (typeof assurance !== "object" || assurance === null || Array.isArray(assurance)) {
    throw new AssuranceProofError("ERR_ASSURANCE_MALFORMED", "caller.assurance must be an object");
  }
  const a = assurance as Record<string, unknown>;
  for (const member of REQUIRED) {
    if (typeof a[member] !== "string" || (a[member] as string).length === 0) {
      throw new AssuranceProofError("ERR_ASSURANCE_MALFORMED", `caller.assurance.${member} must be a non-empty string`, { detail: { member } });
    }
  }
  if (a["lastStepUpAt"] !== undefined && typeof a["lastStepUpAt"] !== "string") {
    throw new AssuranceProofError("ERR_ASSURANCE_MALFORMED", "caller.assurance.lastStepUpAt must be an RFC 3339 string");
  }
  return a;
}

/** The B15 payload: canonical CBOR of `assurance` without `proofJws`, `lastStepUpAt` under tag 0. */
export function assuranceProofPayload(assurance: unknown): Uint8Array {
  const a = checkShape(assurance);
  const model: { [k: string]: CborValue } = {};
  for (const key of Object.keys(a)) {
    if (key === "proofJws") continue;
    const value = a[key] as CborValue;
    const v = key === "lastStepUpAt" ? new CborTag(0, value) : value;
    Object.defineProperty(model, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return encodeCanonical(model);
}

/** IdP side: returns a copy of `assurance` with `proofJws` set (any previous proof is replaced). */
export function signAssuranceProof<A extends OhpAssurance>(assurance: A, idpKey: PrivateKeyRecord): A & { proofJws: string } {
  const proofJws = signDetached(assuranceProofPayload(assurance), idpKey);
  return { ...assurance, proofJws };
}

/** Options of {@link verifyAssuranceProof}. */
export interface VerifyAssuranceOptions {
  /** Key lifecycle instant (default now). */
  readonly now?: Date;
}

/**
 * Receiver side (D09 step 6, first half): verifies `proofJws` with the IdP keys (`trusted`: the
 * JWKS of `assurance.idp`, e.g. from its federation chain). Returns the verified JWS; throws
 * {@link AssuranceProofError} (`detail.jwsCode` names the underlying JWS failure).
 */
export function verifyAssuranceProof(assurance: unknown, trusted: Jwks | JwkResolver, options: VerifyAssuranceOptions = {}): VerifiedJws {
  const a = checkShape(assurance);
  const proof = a["proofJws"];
  if (proof === undefined) throw new AssuranceProofError("ERR_ASSURANCE_PROOF_MISSING", "caller.assurance.proofJws is missing");
  if (typeof proof !== "string") throw new AssuranceProofError("ERR_ASSURANCE_MALFORMED", "caller.assurance.proofJws must be a string");
  try {
    return verifyDetached(proof, assuranceProofPayload(a), trusted, options.now === undefined ? {} : { now: options.now });
  } catch (cause) {
    if (cause instanceof JwsError) {
      throw new AssuranceProofError("ERR_ASSURANCE_PROOF_INVALID", `caller.assurance.proofJws: ${cause.message}`, {
        cause,
        detail: { jwsCode: cause.code },
      });
    }
    throw cause;
  }
}
