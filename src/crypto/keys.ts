/**
 * Key management for OHP (§5.9): generation, import and export of JWKs for Ed25519 and ML-DSA-65
 * signing, opt-in composite ML-DSA-65-Ed25519 signing, and X25519 HPKE recipient keys; JWK Sets;
 * key lifecycle (`validFrom`/`validUntil`/`revoked`).
 *
 * A private key lives in a {@link PrivateKeyRecord}: its public JWK, the secret bytes (never
 * printed or serialised except through {@link PrivateKeyRecord.exportPrivateJwk} /
 * {@link privateJwks}) and the node:crypto KeyObjects built once at import and cached.
 * Public JWKs are plain frozen objects; {@link publicKeyFor} turns one into a
 * {@link PublicKeyRecord} whose KeyObjects are cached per JWK object.
 *
 * @module
 */
import { createPublicKey, randomBytes, timingSafeEqual, verify as nodeVerify, type KeyObject } from "node:crypto";
import { inspect, type InspectOptions } from "node:util";
import { b64uEncode } from "../util/base64url.js";
import {
  compositeKeyFromSeed,
  compositePublicKey,
  compositeSign,
  compositeVerify,
  type CompositePrivateKey,
  type CompositePublicKey,
} from "./composite.js";
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyBytes,
  ed25519PublicKeyFromBytes,
  ed25519Sign,
  ed25519Verify,
  x25519PrivateKeyFromBytes,
  x25519PublicKeyBytes,
  x25519PublicKeyFromBytes,
} from "./ed25519.js";
import {
  ALG_EDDSA,
  ALG_HPKE_X25519,
  ALG_MLDSA65,
  ALG_MLDSA65_ED25519,
  ED25519_SIGNATURE_LENGTH,
  KEY_PROFILES,
  KeyError,
  MLDSA65_SIGNATURE_LENGTH,
  parseRfc3339,
  validateJwk,
  type Jwks,
  type JwkLifecycle,
  type KeyAlg,
  type KeyProfile,
  type PrivateJwk,
  type PublicJwk,
  type SigningAlg,
} from "./jwk.js";
import { mlDsa65Backend, mldsa65Sign, mldsa65Verify, type MlDsa65PrivateKey, type MlDsa65PublicKey } from "./mldsa.js";
import { jwkThumbprint } from "./thumbprint.js";

export type { Jwks, JwkLifecycle, KeyAlg, PrivateJwk, PublicJwk, SigningAlg } from "./jwk.js";

/** Options when creating a key. */
export interface KeyOptions {
  /** Key identifier; default: the RFC 7638 thumbprint of the public key. */
  readonly kid?: string;
  /** Start of validity (inclusive). */
  readonly validFrom?: Date | string;
  /** End of validity (exclusive). */
  readonly validUntil?: Date | string;
  /** Marks the key revoked. */
  readonly revoked?: boolean;
}

/** Placeholder written wherever a secret would otherwise be printed. */
export const REDACTED = "[REDACTED]";

/** Largest number of keys {@link parseJwks} accepts. */
export const MAX_JWKS_KEYS = 256;

/** Largest JWK Set document (UTF-8 bytes) {@link parseJwks} / {@link parsePrivateJwks} accept as text. */
export const MAX_JWKS_BYTES = 1024 * 1024;

type PrivateMaterial =
  | { readonly alg: typeof ALG_EDDSA; readonly keyObject: KeyObject }
  | { readonly alg: typeof ALG_HPKE_X25519; readonly keyObject: KeyObject }
  | { readonly alg: typeof ALG_MLDSA65; readonly mldsa: MlDsa65PrivateKey }
  | { readonly alg: typeof ALG_MLDSA65_ED25519; readonly composite: CompositePrivateKey };

type PublicMaterial =
  | { readonly alg: typeof ALG_EDDSA; readonly keyObject: KeyObject }
  | { readonly alg: typeof ALG_HPKE_X25519; readonly keyObject: KeyObject }
  | { readonly alg: typeof ALG_MLDSA65; readonly mldsa: MlDsa65PublicKey }
  | { readonly alg: typeof ALG_MLDSA65_ED25519; readonly composite: CompositePublicKey };

const CONSTRUCT = Symbol("PrivateKeyRecord.construct");

/**
 * A private key with its public JWK and cached KeyObjects. Create with {@link generateKeyPair},
 * {@link keyPairFromSeed}, {@link importPrivateJwk} or {@link parsePrivateJwks}.
 *
 * Secrets are held in private fields: `JSON.stringify`, `util.inspect`, `console.log` and
 * `String()` all show the public members with `d`/`priv` replaced by {@link REDACTED}.
 */
export class PrivateKeyRecord {
  /** Key identifier (header `kid`). */
  readonly kid: string;
  /** Algorithm the key is bound to. */
  readonly alg: KeyAlg;
  /** `sig` or `enc`. */
  readonly use: "sig" | "enc";
  /** The public JWK (frozen). */
  readonly publicJwk: PublicJwk;
  readonly #secret: Uint8Array;
  readonly #material: PrivateMaterial;
  #publicKeyObject: KeyObject | undefined;

  /** @internal Use the factory functions of this module. */
  constructor(token: typeof CONSTRUCT, publicJwk: PublicJwk, secret: Uint8Array, material: PrivateMaterial) {
    if (token !== CONSTRUCT) throw new TypeError("use generateKeyPair / importPrivateJwk to create a PrivateKeyRecord");
    this.kid = publicJwk.kid;
    this.alg = publicJwk.alg;
    this.use = publicJwk.use;
    this.publicJwk = publicJwk;
    this.#secret = Uint8Array.from(secret);
    this.#material = material;
    // kid/alg/use are baked into cached JWS headers: they must not change after construction.
    Object.freeze(this);
  }

  /**
   * The cached private node:crypto KeyObject: Ed25519, X25519, or ML-DSA-65 when the node
   * backend is in use. `undefined` for ML-DSA-65 on the noble backend and for composite keys
   * (two component keys, see {@link PrivateKeyRecord.componentKeyObjects}).
   */
  get keyObject(): KeyObject | undefined {
    const m = this.#material;
    if (m.alg === ALG_EDDSA || m.alg === ALG_HPKE_X25519) return m.keyObject;
    if (m.alg === ALG_MLDSA65) return m.mldsa.keyObject;
    return undefined;
  }

  /** The cached public KeyObject matching {@link PrivateKeyRecord.keyObject}, if any. */
  get publicKeyObject(): KeyObject | undefined {
    if (this.#publicKeyObject === undefined) {
      const keyObject = this.keyObject;
      if (keyObject !== undefined) this.#publicKeyObject = createPublicKey(keyObject);
    }
    return this.#publicKeyObject;
  }

  /** For composite keys: the ML-DSA (node backend only) and Ed25519 private KeyObjects. */
  get componentKeyObjects(): { readonly mldsa?: KeyObject; readonly ed25519: KeyObject } | undefined {
    const m = this.#material;
    if (m.alg !== ALG_MLDSA65_ED25519) return undefined;
    return m.composite.mldsa.keyObject === undefined
      ? { ed25519: m.composite.ed25519 }
      : { mldsa: m.composite.mldsa.keyObject, ed25519: m.composite.ed25519 };
  }

  /**
   * Raw signature of `data` with this key's algorithm (Ed25519: 64 bytes; ML-DSA-65: 3309, empty
   * context; composite: 3373). Throws {@link KeyError} `ERR_KEY_UNSUPPORTED` for an `enc` key.
   */
  sign(data: Uint8Array): Uint8Array {
    const m = this.#material;
    switch (m.alg) {
      case ALG_EDDSA:
        return ed25519Sign(m.keyObject, data);
      case ALG_MLDSA65:
        return mldsa65Sign(m.mldsa, data);
      case ALG_MLDSA65_ED25519:
        return compositeSign(m.composite, data);
      default:
        throw new KeyError("ERR_KEY_UNSUPPORTED", `key ${this.kid} (${this.alg}) is not a signing key`);
    }
  }

  /** The private JWK, secrets included. Handle with care: this is the only way out for them. */
  exportPrivateJwk(): PrivateJwk {
    const profile = KEY_PROFILES[this.alg];
    return Object.freeze({ ...this.publicJwk, [profile.privateMember]: b64uEncode(this.#secret) }) as PrivateJwk;
  }

  /** Redacted JSON form: the public members, with the private member replaced by {@link REDACTED}. */
  toJSON(): Record<string, unknown> {
    return { ...this.publicJwk, [KEY_PROFILES[this.alg].privateMember]: REDACTED };
  }

  /** Short redacted description. */
  toString(): string {
    return `PrivateKeyRecord(${this.alg}, kid=${this.kid})`;
  }

  /** Redacted `util.inspect` / `console.log` form. */
  [inspect.custom](_depth: number, options: InspectOptions, inspectFn: typeof inspect): string {
    return `PrivateKeyRecord ${inspectFn(this.toJSON(), options)}`;
  }
}

/** Alias of {@link PrivateKeyRecord}: a private key together with its public half. */
export type KeyPair = PrivateKeyRecord;

/** A public key ready for verification, with KeyObjects built once and cached. */
export class PublicKeyRecord {
  /** The (validated) public JWK this record was built from. */
  readonly jwk: PublicJwk;
  readonly #material: PublicMaterial;

  /** @internal Use {@link publicKeyFor}. */
  constructor(token: typeof CONSTRUCT, jwk: PublicJwk, material: PublicMaterial) {
    if (token !== CONSTRUCT) throw new TypeError("use publicKeyFor to create a PublicKeyRecord");
    this.jwk = jwk;
    this.#material = material;
    Object.freeze(this);
  }

  /** Key identifier. */
  get kid(): string {
    return this.jwk.kid;
  }

  /** Algorithm the key is bound to. */
  get alg(): KeyAlg {
    return this.jwk.alg;
  }

  /** The cached public KeyObject (undefined for composite keys and ML-DSA on the noble backend). */
  get keyObject(): KeyObject | undefined {
    const m = this.#material;
    if (m.alg === ALG_EDDSA || m.alg === ALG_HPKE_X25519) return m.keyObject;
    if (m.alg === ALG_MLDSA65) return m.mldsa.keyObject;
    return undefined;
  }

  /**
   * Verifies a raw signature over `data` with this key's algorithm. Returns `false` for any
   * invalid or wrong-length signature; throws {@link KeyError} `ERR_KEY_UNSUPPORTED` for an
   * `enc` key.
   */
  verify(data: Uint8Array, signature: Uint8Array): boolean {
    const m = this.#material;
    switch (m.alg) {
      case ALG_EDDSA:
        return ed25519Verify(m.keyObject, data, signature);
      case ALG_MLDSA65:
        return mldsa65Verify(m.mldsa, data, signature);
      case ALG_MLDSA65_ED25519:
        return compositeVerify(m.composite, data, signature);
      default:
        throw new KeyError("ERR_KEY_UNSUPPORTED", `key ${this.kid} (${this.alg}) is not a signing key`);
    }
  }

  /**
   * {@link verify} off the event loop: Ed25519 and node-backed ML-DSA-65 run as a node:crypto
   * job on the libuv thread pool, so independent verifications (the two halves of a hybrid
   * signature, or concurrent envelopes) run in parallel. Other keys verify synchronously.
   * Same results and errors as {@link verify}.
   */
  verifyAsync(data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const m = this.#material;
    let keyObject: KeyObject | undefined;
    let length = 0;
    if (m.alg === ALG_EDDSA) {
      keyObject = m.keyObject;
      length = ED25519_SIGNATURE_LENGTH;
    } else if (m.alg === ALG_MLDSA65 && m.mldsa.keyObject !== undefined) {
      keyObject = m.mldsa.keyObject;
      length = MLDSA65_SIGNATURE_LENGTH;
    }
    if (keyObject === undefined) {
      try {
        return Promise.resolve(this.verify(data, signature));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (!(signature instanceof Uint8Array) || signature.length !== length) return Promise.resolve(false);
    const key = keyObject;
    return new Promise((resolve) => {
      try {
        nodeVerify(null, data, key, signature, (error, ok) => resolve(error === null && ok));
      } catch {
        resolve(false);
      }
    });
  }
}

// -----------------------------------------------------------------------------------------------
// construction helpers

function isoOf(value: Date | string | undefined, member: string): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new KeyError("ERR_KEY_INVALID", `"${member}" is an invalid Date`);
    return value.toISOString();
  }
  return value;
}

function buildPublicJwk(profile: KeyProfile, publicBytes: Uint8Array, options: KeyOptions): PublicJwk {
  const base: Record<string, unknown> =
    profile.kty === "OKP"
      ? { kty: "OKP", crv: profile.crv, x: b64uEncode(publicBytes) }
      : { kty: "AKP", alg: profile.alg, pub: b64uEncode(publicBytes) };
  const kid = options.kid ?? jwkThumbprint(base);
  const jwk: Record<string, unknown> = { kid, ...base, alg: profile.alg, use: profile.use };
  const validFrom = isoOf(options.validFrom, "validFrom");
  const validUntil = isoOf(options.validUntil, "validUntil");
  if (validFrom !== undefined) jwk["validFrom"] = validFrom;
  if (validUntil !== undefined) jwk["validUntil"] = validUntil;
  if (options.revoked !== undefined) jwk["revoked"] = options.revoked;
  // Self-check of everything a caller could have supplied (kid, lifecycle members).
  validateJwk(jwk, { kind: "public" });
  return Object.freeze(jwk) as unknown as PublicJwk;
}

function privateMaterial(alg: KeyAlg, secret: Uint8Array): { material: PrivateMaterial; publicBytes: Uint8Array } {
  switch (alg) {
    case ALG_EDDSA: {
      const keyObject = ed25519PrivateKeyFromSeed(secret);
      return { material: { alg, keyObject }, publicBytes: ed25519PublicKeyBytes(keyObject) };
    }
    case ALG_HPKE_X25519: {
      const keyObject = x25519PrivateKeyFromBytes(secret);
      return { material: { alg, keyObject }, publicBytes: x25519PublicKeyBytes(keyObject) };
    }
    case ALG_MLDSA65: {
      const mldsa = mlDsa65Backend.keyFromSeed(secret);
      return { material: { alg, mldsa }, publicBytes: mldsa.publicKey };
    }
    case ALG_MLDSA65_ED25519: {
      const composite = compositeKeyFromSeed(secret);
      return { material: { alg, composite }, publicBytes: composite.publicKey };
    }
    default:
      throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported algorithm ${String(alg)}`);
  }
}

function publicMaterial(alg: KeyAlg, publicBytes: Uint8Array): PublicMaterial {
  switch (alg) {
    case ALG_EDDSA:
      return { alg, keyObject: ed25519PublicKeyFromBytes(publicBytes) };
    case ALG_HPKE_X25519:
      return { alg, keyObject: x25519PublicKeyFromBytes(publicBytes) };
    case ALG_MLDSA65:
      return { alg, mldsa: mlDsa65Backend.publicKey(publicBytes) };
    case ALG_MLDSA65_ED25519:
      return { alg, composite: compositePublicKey(publicBytes) };
    default:
      throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported algorithm ${String(alg)}`);
  }
}

function requireAlg(alg: unknown): KeyAlg {
  if (typeof alg !== "string" || !Object.hasOwn(KEY_PROFILES, alg)) {
    throw new KeyError("ERR_KEY_UNSUPPORTED", `unsupported algorithm ${String(alg)}`);
  }
  return alg as KeyAlg;
}

// -----------------------------------------------------------------------------------------------
// generation / import / export

/**
 * Deterministic key from its secret: the 32-byte seed (Ed25519 RFC 8032, ML-DSA-65 ξ per
 * RFC 9964), the 32-byte X25519 scalar, or the 64-byte composite mldsaSeed || edSeed.
 * Throws {@link KeyError} `ERR_KEY_INVALID` on a wrong length, `ERR_KEY_UNSUPPORTED` on an
 * unknown `alg`.
 */
export function keyPairFromSeed(alg: KeyAlg, seed: Uint8Array, options: KeyOptions = {}): PrivateKeyRecord {
  const profile = KEY_PROFILES[requireAlg(alg)];
  if (!(seed instanceof Uint8Array) || seed.length !== profile.privateLength) {
    throw new KeyError("ERR_KEY_INVALID", `${profile.alg} private key must be exactly ${profile.privateLength} bytes`);
  }
  const { material, publicBytes } = privateMaterial(profile.alg, seed);
  return new PrivateKeyRecord(CONSTRUCT, buildPublicJwk(profile, publicBytes, options), seed, material);
}

/** Fresh random key for `alg` (`EdDSA`, `ML-DSA-65`, `ML-DSA-65-Ed25519` or the HPKE X25519 label). */
export function generateKeyPair(alg: KeyAlg, options: KeyOptions = {}): PrivateKeyRecord {
  const profile = KEY_PROFILES[requireAlg(alg)];
  return keyPairFromSeed(profile.alg, new Uint8Array(randomBytes(profile.privateLength)), options);
}

/**
 * Imports a private JWK. Validates shape and exact lengths, derives the public key from the
 * secret and requires it to equal the JWK's `x`/`pub` (RFC 9964 "Mismatched AKP parameters").
 * A missing `kid` defaults to the thumbprint.
 */
export function importPrivateJwk(input: unknown): PrivateKeyRecord {
  const v = validateJwk(input, { kind: "private", requireKid: false });
  const secret = v.privateBytes as Uint8Array;
  const { material, publicBytes } = privateMaterial(v.profile.alg, secret);
  if (publicBytes.length !== v.publicBytes.length || !timingSafeEqual(publicBytes, v.publicBytes)) {
    throw new KeyError("ERR_KEY_INVALID", `public member "${v.profile.publicMember}" does not match the private key`, {
      detail: v.kid === undefined ? {} : { kid: v.kid },
    });
  }
  const options: KeyOptions = { ...v.lifecycle, ...(v.kid === undefined ? {} : { kid: v.kid }) };
  return new PrivateKeyRecord(CONSTRUCT, buildPublicJwk(v.profile, publicBytes, options), secret, material);
}

/**
 * Validates a public JWK and returns a normalised frozen copy (only the members defined here).
 * Rejects private members. A missing `kid` defaults to the thumbprint unless `requireKid`.
 */
export function parsePublicJwk(input: unknown, options: { readonly requireKid?: boolean } = {}): PublicJwk {
  const v = validateJwk(input, { kind: "public", requireKid: options.requireKid === true });
  return buildPublicJwk(v.profile, v.publicBytes, { ...v.lifecycle, ...(v.kid === undefined ? {} : { kid: v.kid }) });
}

/** The public JWK of a key (frozen; never carries `d`/`priv`). */
export function exportPublicJwk(key: PrivateKeyRecord): PublicJwk {
  return key.publicJwk;
}

/** The private JWK of a key, secrets included. */
export function exportPrivateJwk(key: PrivateKeyRecord): PrivateJwk {
  return key.exportPrivateJwk();
}

/**
 * Every member that shapes a {@link PublicKeyRecord}: a cached record is reused only while all of
 * them are unchanged (a `revoked: true` or a new `validUntil` written into a plain JWK object
 * must take effect on the next verification).
 */
const RECORD_MEMBERS = ["kty", "crv", "alg", "use", "kid", "x", "pub", "validFrom", "validUntil", "revoked"] as const;

interface CachedPublic {
  /** The values of {@link RECORD_MEMBERS} when the record was built. */
  readonly snapshot: readonly unknown[];
  /** The JWK object was already frozen when cached, so it cannot have changed since. */
  readonly frozen: boolean;
  readonly record: PublicKeyRecord;
}
const publicCache = new WeakMap<object, CachedPublic>();

function snapshotOf(raw: Readonly<Record<string, unknown>>): unknown[] {
  return RECORD_MEMBERS.map((member) => raw[member]);
}

function sameSnapshot(raw: Readonly<Record<string, unknown>>, snapshot: readonly unknown[]): boolean {
  for (let i = 0; i < RECORD_MEMBERS.length; i++) {
    if (raw[RECORD_MEMBERS[i] as string] !== snapshot[i]) return false;
  }
  // A private member added after caching must still be rejected.
  return raw["d"] === undefined && raw["priv"] === undefined;
}

/**
 * The {@link PublicKeyRecord} for a public JWK, cached per JWK object (KeyObject creation is
 * expensive). On first use the JWK is fully validated ({@link KeyError} on failure). A frozen JWK
 * (as returned by {@link parseJwks} and {@link publicJwks}) that was already frozen when first
 * seen is served from the cache directly;
 * for a mutable object the cache entry is reused only while its key type, key bytes, `kid`,
 * `use` and lifecycle members are unchanged, so a mutated object is re-validated.
 */
export function publicKeyFor(jwk: PublicJwk): PublicKeyRecord {
  if (typeof jwk !== "object" || jwk === null) throw new KeyError("ERR_KEY_INVALID", "a JWK must be a JSON object");
  const raw = jwk as unknown as Readonly<Record<string, unknown>>;
  const cached = publicCache.get(jwk);
  if (cached !== undefined && (cached.frozen || sameSnapshot(raw, cached.snapshot))) return cached.record;
  const frozen = Object.isFrozen(jwk);
  const snapshot = snapshotOf(raw);
  const v = validateJwk(jwk, { kind: "public", requireKid: true });
  const normalised = buildPublicJwk(v.profile, v.publicBytes, { ...v.lifecycle, kid: v.kid as string });
  const record = new PublicKeyRecord(CONSTRUCT, normalised, publicMaterial(v.profile.alg, v.publicBytes));
  publicCache.set(jwk, { snapshot, frozen, record });
  return record;
}

// -----------------------------------------------------------------------------------------------
// lifecycle

/**
 * True when the key may be used at `now`: not `revoked`, `now >= validFrom` (if set) and
 * `now < validUntil` (if set). Unparseable dates fail closed.
 */
export function isKeyUsableAt(jwk: JwkLifecycle, now: Date): boolean {
  if (jwk.revoked === true) return false;
  const t = now.getTime();
  if (Number.isNaN(t)) return false;
  if (jwk.validFrom !== undefined) {
    const from = parseRfc3339(jwk.validFrom);
    if (from === undefined || t < from.getTime()) return false;
  }
  if (jwk.validUntil !== undefined) {
    const until = parseRfc3339(jwk.validUntil);
    if (until === undefined || t >= until.getTime()) return false;
  }
  return true;
}

// -----------------------------------------------------------------------------------------------
// JWK Sets

function assertUniqueKids(kids: readonly string[]): void {
  const seen = new Set<string>();
  for (const kid of kids) {
    if (seen.has(kid)) throw new KeyError("ERR_JWKS_DUPLICATE_KID", `duplicate kid ${kid} in key set`, { detail: { kid } });
    seen.add(kid);
  }
}

/** A public JWK Set from keys and/or public JWKs; `d`/`priv` never appear. Kids must be unique. */
export function publicJwks(keys: readonly (PrivateKeyRecord | PublicJwk)[]): Jwks<PublicJwk> {
  const out = keys.map((k) => (k instanceof PrivateKeyRecord ? k.publicJwk : parsePublicJwk(k, { requireKid: true })));
  assertUniqueKids(out.map((k) => k.kid));
  return Object.freeze({ keys: Object.freeze(out) });
}

/** A private JWK Set (for key files), secrets included. Kids must be unique. */
export function privateJwks(keys: readonly PrivateKeyRecord[]): Jwks<PrivateJwk> {
  assertUniqueKids(keys.map((k) => k.kid));
  return Object.freeze({ keys: Object.freeze(keys.map((k) => k.exportPrivateJwk())) });
}

/** Options for {@link parseJwks}. */
export interface ParseJwksOptions {
  /** Drop keys of types/algorithms not implemented here instead of failing. Default false. */
  readonly skipUnsupported?: boolean;
}

function jwksKeysOf(input: unknown): readonly unknown[] {
  let value = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.length;
    if (size > MAX_JWKS_BYTES) {
      throw new KeyError("ERR_JWKS_INVALID", `JWK Set document is larger than ${MAX_JWKS_BYTES} bytes`, { detail: { size } });
    }
    try {
      // ignoreBOM keeps a leading U+FEFF, which JSON.parse then rejects (RFC 8259 §8.1).
      value = JSON.parse(typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input));
    } catch (cause) {
      throw new KeyError("ERR_JWKS_INVALID", "JWK Set is not valid JSON", { cause });
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KeyError("ERR_JWKS_INVALID", "JWK Set must be a JSON object");
  }
  const keys = (value as Record<string, unknown>)["keys"];
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new KeyError("ERR_JWKS_INVALID", 'JWK Set member "keys" must be a non-empty array');
  }
  if (keys.length > MAX_JWKS_KEYS) {
    throw new KeyError("ERR_JWKS_INVALID", `JWK Set has more than ${MAX_JWKS_KEYS} keys`);
  }
  return keys;
}

/**
 * Parses and validates a public JWK Set (JSON text, UTF-8 bytes or an already parsed value):
 * non-empty `keys`, every key valid with a `kid`, no private members, unique kids. Returns
 * normalised frozen JWKs. Errors are {@link KeyError}s: `ERR_JWKS_INVALID`,
 * `ERR_JWKS_DUPLICATE_KID`, `ERR_KEY_INVALID`, `ERR_KEY_UNSUPPORTED` (with `detail.index`).
 */
export function parseJwks(input: unknown, options: ParseJwksOptions = {}): Jwks<PublicJwk> {
  const out: PublicJwk[] = [];
  jwksKeysOf(input).forEach((key, index) => {
    try {
      out.push(parsePublicJwk(key, { requireKid: true }));
    } catch (e) {
      if (e instanceof KeyError && e.code === "ERR_KEY_UNSUPPORTED" && options.skipUnsupported === true) return;
      throw reindexed(e, index);
    }
  });
  if (out.length === 0) throw new KeyError("ERR_JWKS_INVALID", "JWK Set has no supported key");
  assertUniqueKids(out.map((k) => k.kid));
  return Object.freeze({ keys: Object.freeze(out) });
}

/** Parses a private JWK Set (a key file) into key records; same rules as {@link parseJwks}. */
export function parsePrivateJwks(input: unknown): PrivateKeyRecord[] {
  const out = jwksKeysOf(input).map((key, index) => {
    try {
      return importPrivateJwk(key);
    } catch (e) {
      throw reindexed(e, index);
    }
  });
  assertUniqueKids(out.map((k) => k.kid));
  return out;
}

function reindexed(e: unknown, index: number): unknown {
  if (!(e instanceof KeyError)) return e;
  return new KeyError(e.code, `keys[${index}]: ${e.message}`, { cause: e, detail: { ...(e.detail ?? {}), index } });
}

/** The key with `kid` in a JWK Set, or `undefined`. */
export function findKey<K extends PublicJwk | PrivateJwk>(jwks: Jwks<K>, kid: string): K | undefined {
  return jwks.keys.find((k) => k.kid === kid);
}
