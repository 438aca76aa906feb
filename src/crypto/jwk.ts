/**
 * JWK vocabulary shared by the crypto modules: key types, algorithm identifiers, exact key sizes,
 * the {@link KeyError} class and the pure (crypto-free) shape validation of JWKs.
 *
 * Profiles (OHP §5.9):
 * - Ed25519 signing: `{kty:"OKP", crv:"Ed25519", x, d?}`, `alg:"EdDSA"`, `use:"sig"` (RFC 8037).
 * - ML-DSA-65 signing: `{kty:"AKP", alg:"ML-DSA-65", pub, priv?}`, `priv` = 32-byte seed (RFC 9964).
 * - Composite ML-DSA-65-Ed25519 (opt-in): `{kty:"AKP", alg:"ML-DSA-65-Ed25519", pub, priv?}` with
 *   `pub` = mldsaPub || edPub (1952 + 32) and `priv` = mldsaSeed || edSeed (32 + 32)
 *   (draft-ietf-jose-pq-composite-sigs, "Composite Key Generation").
 * - X25519 encryption for HPKE: `{kty:"OKP", crv:"X25519", x, d?}`, `use:"enc"`,
 *   `alg:"HPKE/X25519-SHA256-CHACHA20POLY1305"`.
 *
 * @module
 */
import { AgentwireError } from "../errors.js";
import { b64uDecode } from "../util/base64url.js";

/** Stable codes carried by {@link KeyError}. */
export type KeyErrorCode =
  | "ERR_KEY_INVALID"
  | "ERR_KEY_UNSUPPORTED"
  | "ERR_JWKS_INVALID"
  | "ERR_JWKS_DUPLICATE_KID";

/** Thrown for malformed, inconsistent or unsupported key material and key sets. */
export class KeyError extends AgentwireError<KeyErrorCode> {}

/** JWS `alg` for Ed25519 (RFC 8037). */
export const ALG_EDDSA = "EdDSA";
/** JWS `alg` for ML-DSA-65 (RFC 9964). */
export const ALG_MLDSA65 = "ML-DSA-65";
/** JWS `alg` for the composite ML-DSA-65 + Ed25519 signature (draft-ietf-jose-pq-composite-sigs). */
export const ALG_MLDSA65_ED25519 = "ML-DSA-65-Ed25519";
/** OHP `alg` label of an X25519 HPKE recipient key. */
export const ALG_HPKE_X25519 = "HPKE/X25519-SHA256-CHACHA20POLY1305";

/** Signature algorithms this library implements. */
export type SigningAlg = typeof ALG_EDDSA | typeof ALG_MLDSA65 | typeof ALG_MLDSA65_ED25519;
/** Key-agreement algorithm labels this library implements. */
export type EncryptionAlg = typeof ALG_HPKE_X25519;
/** Every `alg` a key managed here can carry. */
export type KeyAlg = SigningAlg | EncryptionAlg;

/** Exact byte length of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Exact byte length of an Ed25519 private key seed. */
export const ED25519_SEED_LENGTH = 32;
/** Exact byte length of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;
/** Exact byte length of an X25519 public or private key. */
export const X25519_KEY_LENGTH = 32;
/** Exact byte length of an ML-DSA-65 public key (FIPS 204 Table 2). */
export const MLDSA65_PUBLIC_KEY_LENGTH = 1952;
/** Exact byte length of an ML-DSA-65 signature (FIPS 204 Table 2). */
export const MLDSA65_SIGNATURE_LENGTH = 3309;
/** Exact byte length of an ML-DSA seed (FIPS 204 KeyGen_internal ξ). */
export const MLDSA65_SEED_LENGTH = 32;
/** Exact byte length of a composite ML-DSA-65-Ed25519 public key. */
export const COMPOSITE_PUBLIC_KEY_LENGTH = MLDSA65_PUBLIC_KEY_LENGTH + ED25519_PUBLIC_KEY_LENGTH;
/** Exact byte length of a composite ML-DSA-65-Ed25519 private key (two seeds). */
export const COMPOSITE_PRIVATE_KEY_LENGTH = MLDSA65_SEED_LENGTH + ED25519_SEED_LENGTH;
/** Exact byte length of a composite ML-DSA-65-Ed25519 signature. */
export const COMPOSITE_SIGNATURE_LENGTH = MLDSA65_SIGNATURE_LENGTH + ED25519_SIGNATURE_LENGTH;

/** Lifecycle members the OHP JWKS schema allows on a key. */
export interface JwkLifecycle {
  /** RFC 3339 instant from which the key may be used (inclusive). */
  readonly validFrom?: string;
  /** RFC 3339 instant from which the key must no longer be used (exclusive, like JWT `exp`). */
  readonly validUntil?: string;
  /** True once the key has been revoked. */
  readonly revoked?: boolean;
}

interface JwkCommon extends JwkLifecycle {
  /** Key identifier; defaults to the RFC 7638 thumbprint. */
  readonly kid: string;
}

/** Public Ed25519 signing JWK (RFC 8037). */
export interface Ed25519PublicJwk extends JwkCommon {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly alg: typeof ALG_EDDSA;
  readonly use: "sig";
  /** base64url of the 32-byte public key. */
  readonly x: string;
}
/** Private Ed25519 signing JWK. */
export interface Ed25519PrivateJwk extends Ed25519PublicJwk {
  /** base64url of the 32-byte seed. */
  readonly d: string;
}
/** Public ML-DSA-65 JWK (RFC 9964 AKP). */
export interface MlDsa65PublicJwk extends JwkCommon {
  readonly kty: "AKP";
  readonly alg: typeof ALG_MLDSA65;
  readonly use: "sig";
  /** base64url of the 1952-byte public key. */
  readonly pub: string;
}
/** Private ML-DSA-65 JWK: `priv` is the 32-byte seed (RFC 9964). */
export interface MlDsa65PrivateJwk extends MlDsa65PublicJwk {
  readonly priv: string;
}
/** Public composite ML-DSA-65-Ed25519 JWK (AKP, `pub` = mldsaPub || edPub). */
export interface CompositePublicJwk extends JwkCommon {
  readonly kty: "AKP";
  readonly alg: typeof ALG_MLDSA65_ED25519;
  readonly use: "sig";
  readonly pub: string;
}
/** Private composite JWK: `priv` = mldsaSeed || edSeed. */
export interface CompositePrivateJwk extends CompositePublicJwk {
  readonly priv: string;
}
/** Public X25519 HPKE recipient JWK. */
export interface X25519PublicJwk extends JwkCommon {
  readonly kty: "OKP";
  readonly crv: "X25519";
  readonly alg: typeof ALG_HPKE_X25519;
  readonly use: "enc";
  readonly x: string;
}
/** Private X25519 HPKE recipient JWK. */
export interface X25519PrivateJwk extends X25519PublicJwk {
  readonly d: string;
}

/** Any public signing JWK. */
export type SigningPublicJwk = Ed25519PublicJwk | MlDsa65PublicJwk | CompositePublicJwk;
/** Any public JWK managed here. */
export type PublicJwk = SigningPublicJwk | X25519PublicJwk;
/** Any private JWK managed here. */
export type PrivateJwk = Ed25519PrivateJwk | MlDsa65PrivateJwk | CompositePrivateJwk | X25519PrivateJwk;

/** A JWK Set (RFC 7517 §5). */
export interface Jwks<K extends PublicJwk | PrivateJwk = PublicJwk> {
  readonly keys: readonly K[];
}

/** Which of the profiles above a JWK belongs to, with its raw sizes. */
export interface KeyProfile {
  readonly alg: KeyAlg;
  readonly kty: "OKP" | "AKP";
  readonly crv?: "Ed25519" | "X25519";
  readonly use: "sig" | "enc";
  /** Member holding the public key (`x` or `pub`). */
  readonly publicMember: "x" | "pub";
  /** Member holding the private key (`d` or `priv`). */
  readonly privateMember: "d" | "priv";
  readonly publicLength: number;
  readonly privateLength: number;
}

/** Key profiles, by `alg`. */
export const KEY_PROFILES: Readonly<Record<KeyAlg, KeyProfile>> = Object.freeze({
  [ALG_EDDSA]: Object.freeze({
    alg: ALG_EDDSA, kty: "OKP", crv: "Ed25519", use: "sig", publicMember: "x", privateMember: "d",
    publicLength: ED25519_PUBLIC_KEY_LENGTH, privateLength: ED25519_SEED_LENGTH,
  }),
  [ALG_MLDSA65]: Object.freeze({
    alg: ALG_MLDSA65, kty: "AKP", use: "sig", publicMember: "pub", privateMember: "priv",
    publicLength: MLDSA65_PUBLIC_KEY_LENGTH, privateLength: MLDSA65_SEED_LENGTH,
  }),
  [ALG_MLDSA65_ED25519]: Object.freeze({
    alg: ALG_MLDSA65_ED25519, kty: "AKP", use: "sig", publicMember: "pub", privateMember: "priv",
    publicLength: COMPOSITE_PUBLIC_KEY_LENGTH, privateLength: COMPOSITE_PRIVATE_KEY_LENGTH,
  }),
  [ALG_HPKE_X25519]: Object.freeze({
    alg: ALG_HPKE_X25519, kty: "OKP", crv: "X25519", use: "enc", publicMember: "x", privateMember: "d",
    publicLength: X25519_KEY_LENGTH, privateLength: X25519_KEY_LENGTH,
  }),
} satisfies Record<KeyAlg, KeyProfile>);

/** True when `alg` is one of the algorithms in {@link KEY_PROFILES}. */
export function isKeyAlg(alg: unknown): alg is KeyAlg {
  return typeof alg === "string" && Object.hasOwn(KEY_PROFILES, alg);
}

/** True when `alg` is a signature algorithm implemented here. */
export function isSigningAlg(alg: unknown): alg is SigningAlg {
  return alg === ALG_EDDSA || alg === ALG_MLDSA65 || alg === ALG_MLDSA65_ED25519;
}

/** Upper bound on `kid` length, to keep hostile key sets from growing unbounded. */
export const MAX_KID_LENGTH = 512;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 date-time as OHP uses it, or returns `undefined` when it is not one. */
export function parseRfc3339(text: string): Date | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** Strict base64url decode of a JWK member with an exact expected byte length. */
export function decodeKeyMember(value: unknown, member: string, length: number, kid?: string): Uint8Array {
  if (typeof value !== "string") {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "${member}" must be a base64url string`, { detail: detailOf(member, kid) });
  }
  // Length first: a base64url string of the wrong length can never decode to `length` bytes.
  if (value.length !== Math.ceil((length * 4) / 3)) {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "${member}" must encode exactly ${length} bytes`, {
      detail: detailOf(member, kid),
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = b64uDecode(value);
  } catch (cause) {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "${member}" is not strict unpadded base64url`, {
      cause,
      detail: detailOf(member, kid),
    });
  }
  if (bytes.length !== length) {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "${member}" must encode exactly ${length} bytes`, {
      detail: detailOf(member, kid),
    });
  }
  return bytes;
}

function detailOf(member: string, kid: string | undefined): Record<string, unknown> {
  return kid === undefined ? { member } : { member, kid };
}

/** Identifies the profile of a JWK-shaped object from `kty`/`crv`/`alg`, or throws {@link KeyError}. */
export function profileOf(jwk: Readonly<Record<string, unknown>>): KeyProfile {
  const { kty, crv, alg } = jwk;
  if (typeof kty !== "string") throw new KeyError("ERR_KEY_INVALID", 'JWK member "kty" must be a string');
  if (alg !== undefined && typeof alg !== "string") {
    throw new KeyError("ERR_KEY_INVALID", 'JWK member "alg" must be a string');
  }
  if (kty === "OKP") {
    if (crv === "Ed25519" && (alg === undefined || alg === ALG_EDDSA)) return KEY_PROFILES[ALG_EDDSA];
    if (crv === "X25519" && (alg === undefined || alg === ALG_HPKE_X25519)) return KEY_PROFILES[ALG_HPKE_X25519];
    if (typeof crv !== "string") throw new KeyError("ERR_KEY_INVALID", 'OKP JWK member "crv" must be a string');
    throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported OKP key (crv ${crv}, alg ${String(alg)})`);
  }
  if (kty === "AKP") {
    // RFC 9964: "alg" is REQUIRED for every AKP key.
    if (alg === undefined) throw new KeyError("ERR_KEY_INVALID", 'AKP JWK requires member "alg"');
    if (alg === ALG_MLDSA65) return KEY_PROFILES[ALG_MLDSA65];
    if (alg === ALG_MLDSA65_ED25519) return KEY_PROFILES[ALG_MLDSA65_ED25519];
    throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported AKP algorithm ${alg}`);
  }
  throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported key type ${kty}`);
}

/**
 * Members that hold private key material in any JWK profile: `d` (OKP, EC, RSA), `priv` (AKP),
 * the RSA CRT members (RFC 7518 §6.3.2) and `k` (oct). None may appear in a public JWK.
 */
export const PRIVATE_MEMBER_NAMES: readonly string[] = Object.freeze(["d", "priv", "p", "q", "dp", "dq", "qi", "oth", "k"]);

/** Options for {@link validateJwk}. */
export interface ValidateJwkOptions {
  /** `public` rejects `d`/`priv`; `private` requires them. */
  readonly kind: "public" | "private";
  /** When false a missing `kid` is allowed (the caller derives the thumbprint). Default true. */
  readonly requireKid?: boolean;
}

/** Result of {@link validateJwk}: normalised members plus decoded bytes. */
export interface ValidatedJwk {
  readonly profile: KeyProfile;
  readonly kid: string | undefined;
  readonly publicBytes: Uint8Array;
  readonly privateBytes: Uint8Array | undefined;
  readonly lifecycle: JwkLifecycle;
}

/**
 * Validates the shape of one JWK (types, profile, exact lengths, strict base64url, `use`,
 * lifecycle members). Unknown members are ignored (RFC 7517 §4). Does no cryptography: the
 * consistency of a private key with its public half is checked by the key importers.
 */
export function validateJwk(input: unknown, options: ValidateJwkOptions): ValidatedJwk {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new KeyError("ERR_KEY_INVALID", "a JWK must be a JSON object");
  }
  const jwk = input as Readonly<Record<string, unknown>>;
  if (options.kind === "public") {
    // Checked before the profile, so that a foreign key type carrying secrets (an RSA `d`, an
    // OKP `priv`…) is rejected rather than skipped as merely unsupported.
    const leaked = PRIVATE_MEMBER_NAMES.filter((member) => jwk[member] !== undefined);
    if (leaked.length > 0) {
      const kid = typeof jwk["kid"] === "string" ? jwk["kid"] : undefined;
      throw new KeyError("ERR_KEY_INVALID", `public JWK must not carry private member(s) ${leaked.map((m) => `"${m}"`).join(", ")}`, {
        detail: kid === undefined ? { members: leaked } : { members: leaked, kid },
      });
    }
  }
  const profile = profileOf(jwk);
  const kid = jwk["kid"];
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "kid" must be a non-empty string of at most ${MAX_KID_LENGTH} characters`);
  }
  if (kid === undefined && options.requireKid !== false) {
    throw new KeyError("ERR_KEY_INVALID", 'JWK member "kid" is required');
  }
  const use = jwk["use"];
  if (use !== undefined && use !== profile.use) {
    throw new KeyError("ERR_KEY_INVALID", `JWK member "use" must be "${profile.use}" for ${profile.alg}`, {
      detail: kid === undefined ? {} : { kid },
    });
  }
  const publicBytes = decodeKeyMember(jwk[profile.publicMember], profile.publicMember, profile.publicLength, kid);
  const privateValue = jwk[profile.privateMember];
  let privateBytes: Uint8Array | undefined;
  if (options.kind === "public") {
    if (privateValue !== undefined) {
      throw new KeyError("ERR_KEY_INVALID", `public JWK must not carry private member "${profile.privateMember}"`, {
        detail: kid === undefined ? {} : { kid },
      });
    }
  } else {
    privateBytes = decodeKeyMember(privateValue, profile.privateMember, profile.privateLength, kid);
  }
  return { profile, kid, publicBytes, privateBytes, lifecycle: validateLifecycle(jwk, kid) };
}

function validateLifecycle(jwk: Readonly<Record<string, unknown>>, kid: string | undefined): JwkLifecycle {
  const out: { validFrom?: string; validUntil?: string; revoked?: boolean } = {};
  for (const member of ["validFrom", "validUntil"] as const) {
    const value = jwk[member];
    if (value === undefined) continue;
    if (typeof value !== "string" || parseRfc3339(value) === undefined) {
      throw new KeyError("ERR_KEY_INVALID", `JWK member "${member}" must be an RFC 3339 date-time`, {
        detail: kid === undefined ? { member } : { member, kid },
      });
    }
    out[member] = value;
  }
  const revoked = jwk["revoked"];
  if (revoked !== undefined) {
    if (typeof revoked !== "boolean") {
      throw new KeyError("ERR_KEY_INVALID", 'JWK member "revoked" must be a boolean', {
        detail: kid === undefined ? {} : { kid },
      });
    }
    out.revoked = revoked;
  }
  if (out.validFrom !== undefined && out.validUntil !== undefined) {
    const from = parseRfc3339(out.validFrom)!.getTime();
    const until = parseRfc3339(out.validUntil)!.getTime();
    if (until <= from) {
      throw new KeyError("ERR_KEY_INVALID", '"validUntil" must be later than "validFrom"', {
        detail: kid === undefined ? {} : { kid },
      });
    }
  }
  return out;
}
