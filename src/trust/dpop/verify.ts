/**
 * DPoP proof verification, RFC 9449 §4.3, one step per check in the RFC's order, plus the
 * replay check of §11.1 and the OHP §5.8 binding of the proof key to the issuer's JWKS.
 *
 * The pipeline (abort on the first failure):
 *  1. exactly one proof                         (§4.3 check 1)
 *  2. a single well-formed JWT                  (check 2)
 *  3. required header members and claims        (check 3, §4.2)
 *  4. `typ` = `dpop+jwt`                         (check 4)
 *  5. `alg` asymmetric, not `none`, allowed     (check 5)
 *  6. `jwk` public, no private members          (check 7; before the signature so no secret is ever imported)
 *  7. signature with the `jwk` key (jose)       (check 6)
 *  8. `htm`, `htu`, `nonce`, `iat`, `ath`, `cnf.jkt`   (checks 8-12)
 *  9. jkt ∈ thumbprints of the issuer JWKS      (OHP §5.8, optional)
 * 10. `jti` not seen before                     (§11.1; last, so invalid proofs never fill the cache)
 *
 * @module
 */
import { compactVerify, importJWK, type JWK } from "jose";
import { PRIVATE_MEMBER_NAMES, type Jwks, type PublicJwk } from "../../crypto/jwk.js";
import { isKeyUsableAt } from "../../crypto/keys.js";
import { jwkThumbprint } from "../../crypto/thumbprint.js";
import { parseJsonStrict } from "../../json/parse.js";
import { b64uDecode } from "../../util/base64url.js";
import { accessTokenHash, DPOP_TYP } from "./create.js";
import { DpopError, type DpopErrorCode } from "./errors.js";
import { htuMatches } from "./htu.js";
import type { DpopReplayCache } from "./replay.js";

/** Upper bound on a proof's length in characters. */
export const MAX_DPOP_PROOF_LENGTH = 8192;

/** Asymmetric JWS algorithms a caller may allow (never `none`, never HMAC). */
export const ASYMMETRIC_JWS_ALGS: ReadonlySet<string> = new Set([
  "EdDSA",
  "Ed25519",
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
  "RS256",
  "RS384",
  "RS512",
]);

/** Options of {@link verifyDpopProof}. */
export interface VerifyDpopProofOptions {
  /** Method of the request the proof came with. */
  readonly htm: string;
  /** Target URI of the request the proof came with. */
  readonly htu: string;
  /** Access token presented with the request: `ath` is then required and checked. */
  readonly accessToken?: string;
  /** Server-provided nonce(s) the proof must carry (one of). */
  readonly nonce?: string | readonly string[];
  /** Verification instant. */
  readonly now: Date;
  /** Oldest accepted `iat`, seconds before `now`. Default 300. */
  readonly maxAgeSeconds?: number;
  /** Clock skew tolerated both ways, seconds. Default 5. */
  readonly skewSeconds?: number;
  /** Replay store for `jti`. */
  readonly replayCache: DpopReplayCache;
  /** Accepted `alg` values (subset of {@link ASYMMETRIC_JWS_ALGS}). Default `["EdDSA"]`. */
  readonly allowedAlgs?: readonly string[];
  /** The access token's `cnf.jkt` (RFC 9449 §6.1): the proof key's thumbprint must equal it. */
  readonly expectedJkt?: string;
  /** OHP §5.8: the proof key's thumbprint must equal that of a key in this JWKS, usable at `now`. */
  readonly issuerJwks?: Jwks<PublicJwk> | readonly PublicJwk[];
}

/** Claims of a verified proof. */
export interface DpopClaims {
  readonly jti: string;
  readonly htm: string;
  readonly htu: string;
  readonly iat: number;
  readonly ath?: string;
  readonly nonce?: string;
  readonly [claim: string]: unknown;
}

/** A verified proof. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key (RFC 9449 §6.1 `jkt`). */
  readonly jkt: string;
  /** The proof's public key. */
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly alg: string;
  readonly claims: DpopClaims;
  /** kid of the issuer JWKS key the proof key matched (with `issuerJwks`). */
  readonly issuerKid?: string;
}

interface Parsed {
  readonly compact: string;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

function fail(code: DpopErrorCode, message: string, detail?: Record<string, unknown>): DpopError {
  return new DpopError(code, message, detail === undefined ? undefined : { detail });
}

/** Check 1: exactly one DPoP header field value. */
function step1SingleProof(proof: string | readonly string[] | undefined | null): string {
  if (proof === undefined || proof === null || (Array.isArray(proof) && proof.length === 0)) {
    throw fail("ERR_DPOP_MISSING", "no DPoP proof presented");
  }
  if (Array.isArray(proof)) {
    if (proof.length > 1) throw fail("ERR_DPOP_MULTIPLE", "more than one DPoP header field", { count: proof.length });
    return proof[0] as string;
  }
  if (typeof proof !== "string" || proof.length === 0) throw fail("ERR_DPOP_MISSING", "no DPoP proof presented");
  // A combined field value ("a, b") is two header fields folded into one.
  if (proof.includes(",")) throw fail("ERR_DPOP_MULTIPLE", "more than one DPoP proof in the header value");
  return proof;
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonStrict(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b64uDecode(part)));
  } catch (cause) {
    throw new DpopError("ERR_DPOP_MALFORMED", `DPoP ${what} is not base64url of strict JSON`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail("ERR_DPOP_MALFORMED", `DPoP ${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** Check 2: a single well-formed JWS compact serialisation with JSON object header and payload. */
function step2WellFormed(compact: string): Parsed {
  if (compact.length > MAX_DPOP_PROOF_LENGTH) throw fail("ERR_DPOP_MALFORMED", `DPoP proof longer than ${MAX_DPOP_PROOF_LENGTH} characters`);
  const parts = compact.split(".");
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) throw fail("ERR_DPOP_MALFORMED", "DPoP proof is not a compact JWS with three non-empty parts");
  const [h, p] = parts as [string, string, string];
  return { compact, header: decodeJsonPart(h, "header"), claims: decodeJsonPart(p, "payload") };
}

/** Check 3 (§4.2): typ, alg, jwk; jti, htm, htu, iat — present and of the right JSON type. */
function step3RequiredMembers({ header, claims }: Parsed): void {
  for (const member of ["typ", "alg", "jwk"]) {
    if (header[member] === undefined) throw fail("ERR_DPOP_CLAIM_MISSING", `DPoP header member "${member}" is missing`, { member });
  }
  for (const claim of ["jti", "htm", "htu", "iat"]) {
    if (claims[claim] === undefined) throw fail("ERR_DPOP_CLAIM_MISSING", `DPoP claim "${claim}" is missing`, { claim });
  }
  if (typeof header["typ"] !== "string" || typeof header["alg"] !== "string") throw fail("ERR_DPOP_MALFORMED", '"typ" and "alg" must be strings');
  for (const claim of ["jti", "htm", "htu"]) {
    if (typeof claims[claim] !== "string" || (claims[claim] as string).length === 0) throw fail("ERR_DPOP_MALFORMED", `DPoP claim "${claim}" must be a non-empty string`, { claim });
  }
  if ((claims["jti"] as string).length > 256) throw fail("ERR_DPOP_MALFORMED", 'DPoP claim "jti" is longer than 256 characters');
  if (typeof claims["iat"] !== "number" || !Number.isFinite(claims["iat"])) throw fail("ERR_DPOP_MALFORMED", 'DPoP claim "iat" must be a NumericDate');
  for (const claim of ["ath", "nonce"]) {
    if (claims[claim] !== undefined && typeof claims[claim] !== "string") throw fail("ERR_DPOP_MALFORMED", `DPoP claim "${claim}" must be a string`, { claim });
  }
}

/** Check 4: `typ` is `dpop+jwt` (media types compare case-insensitively, RFC 7515 §4.1.9). */
function step4Typ({ header }: Parsed): void {
  if ((header["typ"] as string).toLowerCase() !== DPOP_TYP) throw fail("ERR_DPOP_TYP_INVALID", `DPoP typ must be "${DPOP_TYP}"`, { typ: header["typ"] });
}

/** Check 5: asymmetric, not `none`, allowed by local policy. */
function step5Alg({ header }: Parsed, allowedAlgs: readonly string[]): string {
  const alg = header["alg"] as string;
  if (alg.toLowerCase() === "none") throw fail("ERR_DPOP_ALG_NONE", 'DPoP alg "none" is never accepted');
  if (!ASYMMETRIC_JWS_ALGS.has(alg) || !allowedAlgs.includes(alg)) {
    throw fail("ERR_DPOP_ALG_UNSUPPORTED", `DPoP alg ${alg} is not an allowed asymmetric algorithm`, { alg });
  }
  return alg;
}

/** Check 7: `jwk` is a JSON object without private key members. */
function step6PublicJwk({ header }: Parsed): Record<string, unknown> {
  const jwk = header["jwk"];
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw fail("ERR_DPOP_JWK_INVALID", 'DPoP header "jwk" must be a JSON object');
  const leaked = PRIVATE_MEMBER_NAMES.filter((m) => (jwk as Record<string, unknown>)[m] !== undefined);
  if (leaked.length > 0) throw fail("ERR_DPOP_JWK_PRIVATE", "DPoP header jwk carries private key members", { members: leaked });
  return jwk as Record<string, unknown>;
}

/** Check 6: the signature verifies with the `jwk` key. */
async function step7Signature(parsed: Parsed, jwk: Record<string, unknown>, alg: string): Promise<void> {
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK({ ...(jwk as JWK), ext: true }, alg);
  } catch (cause) {
    throw new DpopError("ERR_DPOP_JWK_INVALID", `DPoP header jwk is not a valid ${alg} public key`, { cause, detail: { alg } });
  }
  if (key instanceof Uint8Array) throw fail("ERR_DPOP_JWK_INVALID", "DPoP header jwk is a symmetric key");
  try {
    await compactVerify(parsed.compact, key, { algorithms: [alg] });
  } catch (cause) {
    throw new DpopError("ERR_DPOP_SIGNATURE_INVALID", "DPoP proof signature does not verify", { cause, detail: { alg } });
  }
}

/** Check 8: `htm` equals the request method (case-sensitive, RFC 9110 §9.1). */
function step8Htm(claims: Record<string, unknown>, htm: string): void {
  if (claims["htm"] !== htm) throw fail("ERR_DPOP_HTM_MISMATCH", `DPoP htm ${String(claims["htm"])} differs from the request method ${htm}`);
}

/** Check 9: `htu` equals the request URI, query and fragment ignored, normalised. */
function step9Htu(claims: Record<string, unknown>, htu: string): void {
  if (!htuMatches(claims["htu"] as string, htu)) throw fail("ERR_DPOP_HTU_MISMATCH", "DPoP htu differs from the request URI", { htu: claims["htu"] });
}

/** Check 10: server-provided nonce. */
function step10Nonce(claims: Record<string, unknown>, nonce: string | readonly string[] | undefined): void {
  if (nonce === undefined) return;
  const accepted = typeof nonce === "string" ? [nonce] : nonce;
  if (typeof claims["nonce"] !== "string" || !accepted.includes(claims["nonce"])) {
    throw fail("ERR_DPOP_NONCE_INVALID", claims["nonce"] === undefined ? "DPoP nonce required" : "DPoP nonce is not the one provided");
  }
}

/** Check 11: `iat` within [now - maxAge - skew, now + skew]. */
function step11Iat(claims: Record<string, unknown>, nowSeconds: number, maxAge: number, skew: number): void {
  const iat = claims["iat"] as number;
  if (iat > nowSeconds + skew) throw fail("ERR_DPOP_IAT_FUTURE", "DPoP proof iat is in the future", { iat, now: nowSeconds });
  if (iat < nowSeconds - maxAge - skew) throw fail("ERR_DPOP_IAT_EXPIRED", "DPoP proof is too old", { iat, now: nowSeconds, maxAgeSeconds: maxAge });
}

/** Check 12: `ath` for the presented access token, and the token's key binding. */
function step12TokenBinding(claims: Record<string, unknown>, jkt: string, options: VerifyDpopProofOptions): void {
  if (options.accessToken !== undefined) {
    if (claims["ath"] === undefined) throw fail("ERR_DPOP_CLAIM_MISSING", 'DPoP claim "ath" is required with an access token', { claim: "ath" });
    if (claims["ath"] !== accessTokenHash(options.accessToken)) throw fail("ERR_DPOP_ATH_MISMATCH", "DPoP ath does not match the access token");
  }
  if (options.expectedJkt !== undefined && options.expectedJkt !== jkt) {
    throw fail("ERR_DPOP_JKT_MISMATCH", "DPoP proof key is not the key the access token is bound to", { jkt, expectedJkt: options.expectedJkt });
  }
}

/** OHP §5.8: the proof key is one of the issuer's published keys (by RFC 7638 thumbprint). */
function stepIssuerBinding(jkt: string, issuerJwks: Jwks<PublicJwk> | readonly PublicJwk[], now: Date): string {
  const keys: readonly PublicJwk[] = Array.isArray(issuerJwks) ? issuerJwks : (issuerJwks as Jwks<PublicJwk>).keys;
  let revoked: string | undefined;
  for (const key of keys) {
    let thumbprint: string;
    try {
      thumbprint = jwkThumbprint(key as unknown as Record<string, unknown>);
    } catch {
      continue;
    }
    if (thumbprint !== jkt) continue;
    if (isKeyUsableAt(key, now)) return key.kid;
    revoked = key.kid;
  }
  if (revoked !== undefined) throw fail("ERR_DPOP_JKT_KEY_REVOKED", `DPoP key is issuer key ${revoked}, which is revoked or outside its validity`, { kid: revoked, jkt });
  throw fail("ERR_DPOP_JKT_NOT_IN_JWKS", "DPoP key is not a key of the issuer's JWKS", { jkt });
}

/** §11.1: the `jti` must not have been used with this key inside the acceptance window. */
async function stepReplay(cache: DpopReplayCache, jkt: string, jti: string, iat: number, nowMs: number, maxAge: number, skew: number): Promise<void> {
  const expiresAtMs = Math.max(nowMs, (iat + maxAge + skew) * 1000) + 1000;
  if (!(await cache.checkAndStore(`${jkt}:${jti}`, expiresAtMs, nowMs))) {
    throw fail("ERR_DPOP_REPLAY", "DPoP proof jti was already used", { jti });
  }
}

/**
 * Verifies a DPoP proof (the `DPoP` header value, or every value of that header as an array)
 * for one request. Returns the proof key's `jkt` and the claims, or throws {@link DpopError}.
 */
export async function verifyDpopProof(proof: string | readonly string[] | undefined | null, options: VerifyDpopProofOptions): Promise<VerifiedDpopProof> {
  const nowMs = options.now.getTime();
  if (Number.isNaN(nowMs)) throw new TypeError("options.now must be a valid Date");
  const maxAge = options.maxAgeSeconds ?? 300;
  const skew = options.skewSeconds ?? 5;
  const parsed = step2WellFormed(step1SingleProof(proof));
  step3RequiredMembers(parsed);
  step4Typ(parsed);
  const alg = step5Alg(parsed, options.allowedAlgs ?? ["EdDSA"]);
  const jwk = step6PublicJwk(parsed);
  await step7Signature(parsed, jwk, alg);
  let jkt: string;
  try {
    jkt = jwkThumbprint(jwk);
  } catch (cause) {
    throw new DpopError("ERR_DPOP_JWK_INVALID", "cannot compute the RFC 7638 thumbprint of the DPoP key", { cause });
  }
  const { claims } = parsed;
  step8Htm(claims, options.htm);
  step9Htu(claims, options.htu);
  step10Nonce(claims, options.nonce);
  step11Iat(claims, nowMs / 1000, maxAge, skew);
  step12TokenBinding(claims, jkt, options);
  const issuerKid = options.issuerJwks === undefined ? undefined : stepIssuerBinding(jkt, options.issuerJwks, options.now);
  await stepReplay(options.replayCache, jkt, claims["jti"] as string, claims["iat"] as number, nowMs, maxAge, skew);
  return Object.freeze({
    jkt,
    jwk: Object.freeze({ ...jwk }),
    alg,
    claims: Object.freeze({ ...claims }) as DpopClaims,
    ...(issuerKid === undefined ? {} : { issuerKid }),
  });
}
