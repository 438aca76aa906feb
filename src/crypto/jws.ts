/**
 * Hybrid detached JWS, exactly the OHP profile (§5.1-5.2):
 *
 * - compact serialisation with a detached payload (RFC 7515 Appendix F):
 *   `BASE64URL(header) ".." BASE64URL(signature)`;
 * - the protected header is exactly `{"alg":…,"kid":…}`: verification parses it strictly and
 *   rejects any other member (`crit`, `b64`, `typ`, …), duplicate members and `alg:"none"`;
 * - signing input = ASCII(BASE64URL(header) "." BASE64URL(payload));
 * - algorithms `EdDSA` (Ed25519) and `ML-DSA-65`; the composite `ML-DSA-65-Ed25519` only when the
 *   caller lists it in `allowAlgs`; anything else is `ERR_JWS_ALG_UNSUPPORTED`;
 * - hybrid: one JWS per algorithm, carried as OHP `signatures[]` entries `{kid, alg, jws}`;
 *   verification is a logical AND over every entry, with each required algorithm present once.
 *
 * Every failure is a {@link JwsError} with a stable code:
 *
 * | code | meaning |
 * | --- | --- |
 * | `ERR_JWS_MALFORMED` | not `header..signature`, attached payload, bad base64url, too long, bad entry shape |
 * | `ERR_JWS_HEADER_INVALID` | header not exactly `{alg, kid}` strings, duplicate member, or alg ≠ `expectedAlg` |
 * | `ERR_JWS_ALG_NONE` | `alg` is `none` (any case) |
 * | `ERR_JWS_ALG_UNSUPPORTED` | `alg` not implemented or not allowed |
 * | `ERR_JWS_KID_UNKNOWN` | `kid` absent from the trusted keys (OHP: treated as revoked) |
 * | `ERR_JWS_KID_REVOKED` | key `revoked`, or `now` outside `validFrom`/`validUntil` |
 * | `ERR_JWS_KID_MISMATCH` | kid ≠ `expectedKid`, or the key's alg/use does not match the header alg |
 * | `ERR_JWS_KEY_INVALID` | the trusted JWK for `kid` is itself malformed |
 * | `ERR_JWS_SIGNATURE_INVALID` | signature of the wrong length for `alg` (well-formed base64url), or failed verification |
 * | `ERR_JWS_HYBRID_INCOMPLETE` | a required algorithm has no entry |
 * | `ERR_JWS_HYBRID_DUPLICATE` | an algorithm or kid appears in more than one entry |
 *
 * @module
 */
import { AgentwireError } from "../errors.js";
import { b64uDecode, b64uEncode, utf8 } from "../util/base64url.js";
import {
  ALG_EDDSA,
  ALG_MLDSA65,
  COMPOSITE_SIGNATURE_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  isSigningAlg,
  KeyError,
  MLDSA65_SIGNATURE_LENGTH,
  type Jwks,
  type PublicJwk,
  type SigningAlg,
} from "./jwk.js";
import { findKey, isKeyUsableAt, PrivateKeyRecord, publicKeyFor, type PublicKeyRecord } from "./keys.js";

/** Stable codes carried by {@link JwsError}. */
export type JwsErrorCode =
  | "ERR_JWS_MALFORMED"
  | "ERR_JWS_HEADER_INVALID"
  | "ERR_JWS_ALG_NONE"
  | "ERR_JWS_ALG_UNSUPPORTED"
  | "ERR_JWS_KID_UNKNOWN"
  | "ERR_JWS_KID_REVOKED"
  | "ERR_JWS_KID_MISMATCH"
  | "ERR_JWS_KEY_INVALID"
  | "ERR_JWS_SIGNATURE_INVALID"
  | "ERR_JWS_HYBRID_INCOMPLETE"
  | "ERR_JWS_HYBRID_DUPLICATE";

/** Thrown by every JWS operation that fails. */
export class JwsError extends AgentwireError<JwsErrorCode> {}

/** Algorithms accepted when the caller passes no `allowAlgs`. The composite is opt-in. */
export const DEFAULT_ALLOWED_ALGS: readonly SigningAlg[] = Object.freeze([ALG_EDDSA, ALG_MLDSA65]);
/** OHP §5.1: the Regulated tier requires both an EdDSA and an ML-DSA-65 signature. */
export const REGULATED_REQUIRED_ALGS: readonly SigningAlg[] = Object.freeze([ALG_EDDSA, ALG_MLDSA65]);

/** Looks up a trusted public JWK by `kid`; `undefined` when unknown. */
export type JwkResolver = (kid: string) => PublicJwk | undefined;

/** The protected header of this profile. */
export interface JwsProtectedHeader {
  readonly alg: SigningAlg;
  readonly kid: string;
}

/** A successfully verified detached JWS. */
export interface VerifiedJws {
  readonly alg: SigningAlg;
  readonly kid: string;
  /** The trusted key that verified it. */
  readonly key: PublicJwk;
  readonly header: JwsProtectedHeader;
}

/** Outcome of the non-throwing verifiers. */
export type VerifyResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: JwsError };

/** Options for {@link signDetached}. */
export interface SignOptions {
  /** Algorithms the caller permits; default {@link DEFAULT_ALLOWED_ALGS}. Add `ML-DSA-65-Ed25519` to opt in. */
  readonly allowAlgs?: readonly string[];
}

/** Options for {@link verifyDetached}. */
export interface VerifyOptions {
  /** The header `kid` must equal this (else `ERR_JWS_KID_MISMATCH`). */
  readonly expectedKid?: string;
  /** The header `alg` must equal this (else `ERR_JWS_HEADER_INVALID`). */
  readonly expectedAlg?: string;
  /** Algorithms the caller permits; default {@link DEFAULT_ALLOWED_ALGS}. */
  readonly allowAlgs?: readonly string[];
  /** Instant for the key lifecycle check; default now. */
  readonly now?: Date;
}

/** One OHP `signatures[]` item. */
export interface SignatureEntry {
  readonly kid: string;
  readonly alg: string;
  readonly jws: string;
}

/** Options for {@link signHybrid}. */
export interface HybridSignOptions {
  /** Each of these must be signed exactly once; default {@link REGULATED_REQUIRED_ALGS}. */
  readonly requiredAlgs?: readonly string[];
  /** Algorithms permitted; default `requiredAlgs` plus {@link DEFAULT_ALLOWED_ALGS}. */
  readonly allowAlgs?: readonly string[];
}

/** Options for {@link verifyHybrid}. */
export interface HybridVerifyOptions {
  /** Each must be present exactly once; default {@link REGULATED_REQUIRED_ALGS}. */
  readonly requiredAlgs?: readonly string[];
  /** Algorithms permitted; default `requiredAlgs` plus {@link DEFAULT_ALLOWED_ALGS}. */
  readonly allowAlgs?: readonly string[];
  /** Instant for the key lifecycle checks; default now. */
  readonly now?: Date;
}

/** Upper bound on the encoded protected header. */
export const MAX_HEADER_LENGTH = 2048;
/** Upper bound on entries in a hybrid signature list. */
export const MAX_HYBRID_ENTRIES = 8;

const SIGNATURE_LENGTHS: Readonly<Record<SigningAlg, number>> = {
  EdDSA: ED25519_SIGNATURE_LENGTH,
  "ML-DSA-65": MLDSA65_SIGNATURE_LENGTH,
  "ML-DSA-65-Ed25519": COMPOSITE_SIGNATURE_LENGTH,
};
const MAX_SIGNATURE_TEXT_LENGTH = Math.ceil((COMPOSITE_SIGNATURE_LENGTH * 4) / 3);

// -----------------------------------------------------------------------------------------------
// small pure helpers

/**
 * True when some JSON object in `json` (valid JSON text) has two members with the same name
 * (after unescaping). `JSON.parse` silently keeps the last one, so this runs alongside it.
 */
export function hasDuplicateMemberNames(json: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let i = 0;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < json.length) {
        const d = json.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j += 1;
      }
      let k = j + 1;
      while (k < json.length && " \t\r\n".includes(json.charAt(k))) k += 1;
      const top = stack.length > 0 ? stack[stack.length - 1] : null;
      if (top instanceof Set && json.charAt(k) === ":") {
        const name = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.has(name)) return true;
        top.add(name);
      }
      i = j + 1;
    } else {
      if (c === 0x7b /* { */) stack.push(new Set());
      else if (c === 0x5b /* [ */) stack.push(null);
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
      i += 1;
    }
  }
  return false;
}

function allowedSet(allowAlgs: readonly string[] | undefined): ReadonlySet<string> {
  return new Set(allowAlgs ?? DEFAULT_ALLOWED_ALGS);
}

function requireAllowedAlg(alg: string, allowed: ReadonlySet<string>): SigningAlg {
  if (!isSigningAlg(alg) || !allowed.has(alg)) {
    throw new JwsError("ERR_JWS_ALG_UNSUPPORTED", `JWS algorithm ${alg} is not supported or not allowed`, { detail: { alg } });
  }
  return alg;
}

function encodeHeader(alg: SigningAlg, kid: string): string {
  return b64uEncode(utf8(JSON.stringify({ alg, kid })));
}

function signingInput(encodedHeader: string, encodedPayload: string): Uint8Array {
  return Buffer.from(`${encodedHeader}.${encodedPayload}`, "latin1");
}

function encodePayload(payload: Uint8Array): string {
  if (!(payload instanceof Uint8Array)) throw new TypeError("payload must be a Uint8Array");
  return b64uEncode(payload);
}

/**
 * Parses a protected header strictly: base64url → UTF-8 → JSON object with exactly the string
 * members `alg` and `kid`, no duplicates; `alg` `none` gets its own code.
 */
export function parseProtectedHeader(encodedHeader: string): { readonly alg: string; readonly kid: string } {
  if (encodedHeader.length === 0 || encodedHeader.length > MAX_HEADER_LENGTH) {
    throw new JwsError("ERR_JWS_MALFORMED", "protected header is empty or too long");
  }
  let text: string;
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, so JSON.parse rejects it below.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b64uDecode(encodedHeader));
  } catch (cause) {
    throw new JwsError("ERR_JWS_MALFORMED", "protected header is not strict base64url of UTF-8", { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", "protected header is not JSON", { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", "protected header must be a JSON object");
  }
  if (hasDuplicateMemberNames(text)) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", "protected header has a duplicate member");
  }
  const header = value as Record<string, unknown>;
  const alg = header["alg"];
  if (typeof alg === "string" && alg.toLowerCase() === "none") {
    throw new JwsError("ERR_JWS_ALG_NONE", 'JWS algorithm "none" is never accepted');
  }
  const members = Object.keys(header);
  const extra = members.filter((m) => m !== "alg" && m !== "kid");
  if (extra.length > 0 || members.length !== 2) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", 'protected header must have exactly the members "alg" and "kid"', {
      detail: { members },
    });
  }
  const kid = header["kid"];
  if (typeof alg !== "string" || typeof kid !== "string" || alg.length === 0 || kid.length === 0) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", 'protected header "alg" and "kid" must be non-empty strings');
  }
  return { alg, kid };
}

function splitDetached(jws: unknown): { readonly header: string; readonly signature: string } {
  if (typeof jws !== "string") throw new JwsError("ERR_JWS_MALFORMED", "JWS must be a string");
  if (jws.length > MAX_HEADER_LENGTH + 2 + MAX_SIGNATURE_TEXT_LENGTH) {
    throw new JwsError("ERR_JWS_MALFORMED", "JWS is too long");
  }
  const parts = jws.split(".");
  if (parts.length !== 3) throw new JwsError("ERR_JWS_MALFORMED", "JWS compact serialisation must have three parts");
  const [header, payload, signature] = parts as [string, string, string];
  if (payload !== "") {
    throw new JwsError("ERR_JWS_MALFORMED", "payload must be detached (RFC 7515 Appendix F): expected header..signature");
  }
  return { header, signature };
}

const B64URL_ALPHABET = /^[A-Za-z0-9_-]+$/;

/**
 * Decodes the signature part. Text that is not strict base64url is `ERR_JWS_MALFORMED`; well-formed
 * base64url of the wrong length for `alg` is `ERR_JWS_SIGNATURE_INVALID` for every algorithm alike
 * (decided from the text length, before decoding). The overall length of the JWS is capped by
 * {@link splitDetached}.
 */
function decodeSignature(text: string, alg: SigningAlg): Uint8Array {
  const expected = SIGNATURE_LENGTHS[alg];
  // The alphabet scan only runs when the length is wrong (to pick the code); on the expected
  // length, b64uDecode's canonical round trip rejects anything that is not base64url.
  if (text.length !== Math.ceil((expected * 4) / 3)) {
    if (text.length === 0 || text.length % 4 === 1 || !B64URL_ALPHABET.test(text)) {
      throw new JwsError("ERR_JWS_MALFORMED", "JWS signature part is empty or not base64url", { detail: { alg } });
    }
    throw new JwsError("ERR_JWS_SIGNATURE_INVALID", `${alg} signature must be exactly ${expected} bytes`, { detail: { alg } });
  }
  let signature: Uint8Array;
  try {
    signature = b64uDecode(text);
  } catch (cause) {
    throw new JwsError("ERR_JWS_MALFORMED", "JWS signature part is not strict base64url", { cause, detail: { alg } });
  }
  if (signature.length !== expected) {
    throw new JwsError("ERR_JWS_SIGNATURE_INVALID", `${alg} signature must be exactly ${expected} bytes`, { detail: { alg } });
  }
  return signature;
}

function resolveKey(trusted: Jwks | JwkResolver, kid: string): PublicJwk | undefined {
  return typeof trusted === "function" ? trusted(kid) : findKey(trusted, kid);
}

function keyRecordFor(jwk: PublicJwk, kid: string): PublicKeyRecord {
  try {
    return publicKeyFor(jwk);
  } catch (cause) {
    if (cause instanceof KeyError) {
      throw new JwsError("ERR_JWS_KEY_INVALID", `trusted key ${kid} is invalid: ${cause.message}`, { cause, detail: { kid } });
    }
    throw cause;
  }
}

// -----------------------------------------------------------------------------------------------
// signing

const headerCache = new WeakMap<PrivateKeyRecord, string>();

function signEncoded(encodedPayload: string, key: PrivateKeyRecord, allowed: ReadonlySet<string>): string {
  if (!(key instanceof PrivateKeyRecord)) throw new TypeError("key must be a PrivateKeyRecord");
  if (key.use !== "sig") {
    throw new JwsError("ERR_JWS_ALG_UNSUPPORTED", `key ${key.kid} is not a signing key`, { detail: { kid: key.kid, alg: key.alg } });
  }
  const alg = requireAllowedAlg(key.alg, allowed);
  let header = headerCache.get(key);
  if (header === undefined) {
    header = encodeHeader(alg, key.kid);
    headerCache.set(key, header);
  }
  const signature = key.sign(signingInput(header, encodedPayload));
  return `${header}..${b64uEncode(signature)}`;
}

/**
 * Detached compact JWS of `payload` with `key` (header `{"alg": key.alg, "kid": key.kid}`).
 * Throws `ERR_JWS_ALG_UNSUPPORTED` when the key's algorithm is not allowed (the composite needs
 * `allowAlgs` to include `ML-DSA-65-Ed25519`) or the key is not a signing key.
 */
export function signDetached(payload: Uint8Array, key: PrivateKeyRecord, options: SignOptions = {}): string {
  return signEncoded(encodePayload(payload), key, allowedSet(options.allowAlgs));
}

// -----------------------------------------------------------------------------------------------
// verification

function prepareEncoded(
  jws: unknown,
  encodedPayload: string,
  trusted: Jwks | JwkResolver,
  options: VerifyOptions,
  allowed: ReadonlySet<string>,
): PreparedJws {
  const parts = splitDetached(jws);
  const parsed = parseProtectedHeader(parts.header);
  const alg = requireAllowedAlg(parsed.alg, allowed);
  const { kid } = parsed;
  const detail = { kid, alg };
  if (options.expectedAlg !== undefined && options.expectedAlg !== alg) {
    throw new JwsError("ERR_JWS_HEADER_INVALID", `header alg ${alg} differs from the expected ${options.expectedAlg}`, { detail });
  }
  if (options.expectedKid !== undefined && options.expectedKid !== kid) {
    throw new JwsError("ERR_JWS_KID_MISMATCH", `header kid ${kid} differs from the expected ${options.expectedKid}`, { detail });
  }
  const signature = decodeSignature(parts.signature, alg);
  const jwk = resolveKey(trusted, kid);
  if (jwk === undefined) {
    throw new JwsError("ERR_JWS_KID_UNKNOWN", `kid ${kid} is not in the trusted key set (treated as revoked)`, { detail });
  }
  const record = keyRecordFor(jwk, kid);
  if (record.alg !== alg || record.jwk.use !== "sig" || record.kid !== kid) {
    throw new JwsError("ERR_JWS_KID_MISMATCH", `key ${kid} is bound to ${record.alg}, not ${alg}`, { detail });
  }
  if (!isKeyUsableAt(record.jwk, options.now ?? new Date())) {
    throw new JwsError("ERR_JWS_KID_REVOKED", `key ${kid} is revoked or outside its validity period`, { detail });
  }
  return {
    record,
    input: signingInput(parts.header, encodedPayload),
    signature,
    verified: Object.freeze({ alg, kid, key: record.jwk, header: Object.freeze({ alg, kid }) }),
  };
}

/** Everything but the signature check, done: what remains is `record.verify(input, signature)`. */
interface PreparedJws {
  readonly record: PublicKeyRecord;
  readonly input: Uint8Array;
  readonly signature: Uint8Array;
  readonly verified: VerifiedJws;
}

function signatureInvalid(verified: VerifiedJws): JwsError {
  return new JwsError("ERR_JWS_SIGNATURE_INVALID", `${verified.alg} signature does not verify`, {
    detail: { kid: verified.kid, alg: verified.alg },
  });
}

function verifyEncoded(
  jws: unknown,
  encodedPayload: string,
  trusted: Jwks | JwkResolver,
  options: VerifyOptions,
  allowed: ReadonlySet<string>,
): VerifiedJws {
  const prepared = prepareEncoded(jws, encodedPayload, trusted, options, allowed);
  if (!prepared.record.verify(prepared.input, prepared.signature)) throw signatureInvalid(prepared.verified);
  return prepared.verified;
}

/**
 * Verifies a detached compact JWS over `payload` against trusted keys (a JWK Set or a resolver).
 * Returns the verified header and key, or throws {@link JwsError} (codes in the module table).
 */
export function verifyDetached(
  jws: string,
  payload: Uint8Array,
  trusted: Jwks | JwkResolver,
  options: VerifyOptions = {},
): VerifiedJws {
  return verifyEncoded(jws, encodePayload(payload), trusted, options, allowedSet(options.allowAlgs));
}

function attempt<T>(run: () => T): VerifyResult<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    if (error instanceof JwsError) return { ok: false, error };
    throw error;
  }
}

/** {@link verifyDetached} without throwing: `{ok:true, value}` or `{ok:false, error}`. */
export function tryVerifyDetached(
  jws: string,
  payload: Uint8Array,
  trusted: Jwks | JwkResolver,
  options: VerifyOptions = {},
): VerifyResult<VerifiedJws> {
  return attempt(() => verifyDetached(jws, payload, trusted, options));
}

// -----------------------------------------------------------------------------------------------
// hybrid

function hybridPolicy(options: { readonly requiredAlgs?: readonly string[]; readonly allowAlgs?: readonly string[] }): {
  readonly required: readonly SigningAlg[];
  readonly allowed: ReadonlySet<string>;
} {
  const requiredInput = options.requiredAlgs ?? REGULATED_REQUIRED_ALGS;
  const required = requiredInput.map((alg) => {
    if (!isSigningAlg(alg)) throw new JwsError("ERR_JWS_ALG_UNSUPPORTED", `required algorithm ${alg} is not supported`, { detail: { alg } });
    return alg;
  });
  if (new Set(required).size !== required.length) {
    throw new JwsError("ERR_JWS_HYBRID_DUPLICATE", "requiredAlgs lists an algorithm twice");
  }
  return { required, allowed: new Set([...(options.allowAlgs ?? DEFAULT_ALLOWED_ALGS), ...required]) };
}

function checkCoverage(algs: readonly string[], kids: readonly string[], required: readonly SigningAlg[]): void {
  const seenAlgs = new Set<string>();
  for (const alg of algs) {
    if (seenAlgs.has(alg)) throw new JwsError("ERR_JWS_HYBRID_DUPLICATE", `algorithm ${alg} appears twice`, { detail: { alg } });
    seenAlgs.add(alg);
  }
  const seenKids = new Set<string>();
  for (const kid of kids) {
    if (seenKids.has(kid)) throw new JwsError("ERR_JWS_HYBRID_DUPLICATE", `kid ${kid} appears twice`, { detail: { kid } });
    seenKids.add(kid);
  }
  for (const alg of required) {
    if (!seenAlgs.has(alg)) throw new JwsError("ERR_JWS_HYBRID_INCOMPLETE", `required ${alg} signature is missing`, { detail: { alg } });
  }
}

/**
 * Signs `payload` once per key, returning OHP `signatures[]` entries `{kid, alg, jws}` in key
 * order. Each required algorithm must be covered exactly once and no alg or kid may repeat.
 */
export function signHybrid(payload: Uint8Array, keys: readonly PrivateKeyRecord[], options: HybridSignOptions = {}): SignatureEntry[] {
  const { required, allowed } = hybridPolicy(options);
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_HYBRID_ENTRIES) {
    throw new JwsError("ERR_JWS_HYBRID_INCOMPLETE", `hybrid signing needs 1 to ${MAX_HYBRID_ENTRIES} keys`);
  }
  checkCoverage(
    keys.map((k) => k.alg),
    keys.map((k) => k.kid),
    required,
  );
  const encodedPayload = encodePayload(payload);
  return keys.map((key) => Object.freeze({ kid: key.kid, alg: key.alg, jws: signEncoded(encodedPayload, key, allowed) }));
}

function parseEntries(entries: unknown): readonly SignatureEntry[] {
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_HYBRID_ENTRIES) {
    throw new JwsError("ERR_JWS_MALFORMED", `signatures must be an array of 1 to ${MAX_HYBRID_ENTRIES} entries`);
  }
  return entries.map((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new JwsError("ERR_JWS_MALFORMED", `signatures[${index}] must be an object`, { detail: { index } });
    }
    const e = entry as Record<string, unknown>;
    const members = Object.keys(e);
    if (
      members.length !== 3 ||
      typeof e["kid"] !== "string" ||
      typeof e["alg"] !== "string" ||
      typeof e["jws"] !== "string"
    ) {
      throw new JwsError("ERR_JWS_MALFORMED", `signatures[${index}] must have exactly the string members kid, alg, jws`, {
        detail: { index },
      });
    }
    return { kid: e["kid"], alg: e["alg"], jws: e["jws"] };
  });
}

/** What both hybrid verifiers check before any signature: policy, entry shape, coverage. */
function hybridPrologue(
  payload: Uint8Array,
  entries: readonly SignatureEntry[],
  options: HybridVerifyOptions,
): { list: readonly SignatureEntry[]; allowed: ReadonlySet<string>; encodedPayload: string; now: Date } {
  const { required, allowed } = hybridPolicy(options);
  const list = parseEntries(entries);
  checkCoverage(
    list.map((e) => e.alg),
    list.map((e) => e.kid),
    required,
  );
  return { list, allowed, encodedPayload: encodePayload(payload), now: options.now ?? new Date() };
}

/**
 * Verifies OHP `signatures[]` entries over `payload` (logical AND): every required algorithm
 * (default EdDSA and ML-DSA-65, OHP §5.1 Regulated) present exactly once, no alg or kid
 * repeated, each entry's `alg`/`kid` equal to its JWS header, and every entry verifying.
 * Returns the verified entries in order, or throws the first {@link JwsError} (with
 * `detail.index` of the failing entry).
 */
export function verifyHybrid(
  payload: Uint8Array,
  entries: readonly SignatureEntry[],
  trusted: Jwks | JwkResolver,
  options: HybridVerifyOptions = {},
): VerifiedJws[] {
  const { list, allowed, encodedPayload, now } = hybridPrologue(payload, entries, options);
  return list.map((entry, index) =>
    atIndex(index, () =>
      verifyEncoded(entry.jws, encodedPayload, trusted, { expectedAlg: entry.alg, expectedKid: entry.kid, now }, allowed),
    ),
  );
}

function atIndex<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof JwsError) {
      throw new JwsError(e.code, `signatures[${index}]: ${e.message}`, { cause: e, detail: { ...(e.detail ?? {}), index } });
    }
    throw e;
  }
}

/**
 * {@link verifyHybrid} with the signature checks run in parallel on the libuv thread pool
 * (Ed25519 and ML-DSA-65 through node:crypto): the latency of a Regulated envelope becomes the
 * slower half instead of the sum, and the event loop stays free. Every structural check runs
 * first, synchronously, exactly as in {@link verifyHybrid}; the promise rejects with the same
 * {@link JwsError} (the lowest failing index) that {@link verifyHybrid} would throw.
 */
export async function verifyHybridAsync(
  payload: Uint8Array,
  entries: readonly SignatureEntry[],
  trusted: Jwks | JwkResolver,
  options: HybridVerifyOptions = {},
): Promise<VerifiedJws[]> {
  const { list, allowed, encodedPayload, now } = hybridPrologue(payload, entries, options);
  // A preparation failure is held (not thrown) until the signatures are in, so the error reported
  // is the one at the lowest index, structural or cryptographic, as in the synchronous verifier.
  const prepared = list.map((entry, index) => {
    try {
      return atIndex(index, () =>
        prepareEncoded(entry.jws, encodedPayload, trusted, { expectedAlg: entry.alg, expectedKid: entry.kid, now }, allowed),
      );
    } catch (error) {
      return { error };
    }
  });
  const outcomes = await Promise.all(
    prepared.map((p) => ("error" in p ? Promise.resolve(false) : p.record.verifyAsync(p.input, p.signature))),
  );
  return prepared.map((p, index) => {
    if ("error" in p) throw p.error;
    if (outcomes[index] !== true) {
      atIndex(index, () => {
        throw signatureInvalid(p.verified);
      });
    }
    return p.verified;
  });
}

/** {@link verifyHybrid} without throwing. */
export function tryVerifyHybrid(
  payload: Uint8Array,
  entries: readonly SignatureEntry[],
  trusted: Jwks | JwkResolver,
  options: HybridVerifyOptions = {},
): VerifyResult<VerifiedJws[]> {
  return attempt(() => verifyHybrid(payload, entries, trusted, options));
}
