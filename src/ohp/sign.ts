/**
 * Signing OHP envelopes (§5.1-§5.2, §5.7): the detached JWS profile over the canonical CBOR
 * signing surface, one EdDSA signature at Signed and Sealed, EdDSA + ML-DSA-65 at Regulated, and
 * `transparency.leafHash` set to the hash of the surface whenever `transparency` is present.
 *
 * Signing is the last step of emission: seal first (the `sealed` block is inside the surface).
 */
import { ALG_EDDSA, ALG_MLDSA65, type SigningAlg } from "../crypto/jwk.js";
import { signHybrid, type SignatureEntry } from "../crypto/jws.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { isJsonObject, type JsonObject } from "../json/types.js";
import { OhpCryptoError } from "./errors.js";
import { leafHashOf, OHP_MAX_SURFACE_BYTES, signingSurface } from "./surface.js";
import { isTier, type Tier } from "./tiers.js";

/** §5.1: the signature algorithms each tier carries, in the order they are emitted. */
export const TIER_SIGNATURE_ALGS: Readonly<Record<Tier, readonly SigningAlg[]>> = Object.freeze({
  core: Object.freeze<SigningAlg[]>([]),
  signed: Object.freeze<SigningAlg[]>([ALG_EDDSA]),
  sealed: Object.freeze<SigningAlg[]>([ALG_EDDSA]),
  regulated: Object.freeze<SigningAlg[]>([ALG_EDDSA, ALG_MLDSA65]),
});

/** Options of {@link signEnvelope}. */
export interface SignEnvelopeOptions {
  /**
   * Candidate signing keys (e.g. a parsed private JWKS). For each algorithm the tier needs, the
   * first key of that algorithm is used; encryption keys and other algorithms are ignored.
   */
  readonly keys: readonly PrivateKeyRecord[];
}

/** Result of {@link signEnvelope}. */
export interface SignedEnvelope {
  /** The envelope with its `signatures` (and `transparency.leafHash`, when present) filled in. */
  readonly envelope: JsonObject;
  /** The canonical CBOR signing surface the signatures cover. */
  readonly surface: Uint8Array;
  /** `"sha256:" + hex(SHA-256(surface))` (§5.7), also written to `transparency.leafHash` when present. */
  readonly leafHash: string;
  /** The `signatures[]` entries. */
  readonly signatures: readonly SignatureEntry[];
}

/** The declared tier of an envelope, or an {@link OhpCryptoError} `ERR_OHP_TIER`. */
export function envelopeTier(envelope: JsonObject): Tier {
  const tier = envelope["conformance"];
  if (!isTier(tier)) {
    throw new OhpCryptoError("ERR_OHP_TIER", `conformance must be one of core, signed, sealed, regulated (got ${JSON.stringify(tier)})`);
  }
  return tier;
}

/** The keys `signEnvelope` would use for `tier`, or `ERR_OHP_SIGN_KEY_MISSING`. */
export function selectSigningKeys(tier: Tier, keys: readonly PrivateKeyRecord[]): PrivateKeyRecord[] {
  return TIER_SIGNATURE_ALGS[tier].map((alg) => {
    const key = keys.find((k) => k.alg === alg && k.use === "sig");
    if (key === undefined) {
      throw new OhpCryptoError("ERR_OHP_SIGN_KEY_MISSING", `a ${tier} envelope needs an ${alg} signing key and none was given`, {
        detail: { tier, alg },
      });
    }
    return key;
  });
}

/**
 * The canonical CBOR signing surface, with the §4.5 size cap enforced
 * (`ERR_OHP_SURFACE_TOO_LARGE` above 8 KiB).
 */
export function boundedSigningSurface(envelope: JsonObject): Uint8Array {
  const surface = signingSurface(envelope);
  if (surface.length > OHP_MAX_SURFACE_BYTES) {
    throw new OhpCryptoError(
      "ERR_OHP_SURFACE_TOO_LARGE",
      `the canonical CBOR signing surface is ${surface.length} bytes; OHP §4.5 allows ${OHP_MAX_SURFACE_BYTES}`,
      { detail: { bytes: surface.length, limit: OHP_MAX_SURFACE_BYTES } },
    );
  }
  return surface;
}

/**
 * Signs an envelope for its declared tier. Existing `signatures` are replaced; member order is
 * kept (`signatures` is appended when absent). Throws {@link OhpCryptoError} for a Core envelope
 * (`ERR_OHP_SIGN_CORE`: Core is unsigned), a missing key, an oversize surface, and the CBOR/JWS
 * errors of the layers below for values CBOR cannot hold.
 */
export function signEnvelope(envelope: unknown, options: SignEnvelopeOptions): SignedEnvelope {
  if (!isJsonObject(envelope)) throw new OhpCryptoError("ERR_OHP_ENVELOPE_INVALID", "an OHP envelope must be a JSON object");
  const tier = envelopeTier(envelope);
  if (tier === "core") {
    throw new OhpCryptoError("ERR_OHP_SIGN_CORE", "Core envelopes carry no signatures (OHP §3.1.1); raise conformance to signed or above");
  }
  const keys = selectSigningKeys(tier, options.keys);
  const surface = boundedSigningSurface(envelope);
  const leafHash = leafHashOf(surface);
  const signatures = signHybrid(surface, keys, { requiredAlgs: TIER_SIGNATURE_ALGS[tier] });
  const out: JsonObject = {};
  for (const key of Object.keys(envelope)) {
    const value = envelope[key];
    if (value !== undefined) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const transparency = envelope["transparency"];
  if (isJsonObject(transparency)) out["transparency"] = { ...transparency, leafHash };
  out["signatures"] = signatures.map((s) => ({ kid: s.kid, alg: s.alg, jws: s.jws }));
  return { envelope: out, surface, leafHash, signatures };
}
