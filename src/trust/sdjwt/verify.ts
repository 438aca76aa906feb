/**
 * Receiver-side verification of OHP `caller.identity` (OHP §5.4; RFC 9901 §7.1 and §7.3;
 * draft-ietf-oauth-sd-jwt-vc §3). One spec step, one function; {@link verifyOhpIdentity} runs them
 * in order and throws the first {@link SdJwtError}:
 *
 * 1. {@link checkIssuerJwtHeader}: `typ` ∈ {dc+sd-jwt, vc+sd-jwt, sd-jwt}, `alg` EdDSA, no `crit`;
 * 2. {@link verifyIssuerSignature}: Ed25519 signature with the IdP key for `kid` (pluggable resolver);
 * 3. {@link checkValidity}: `exp`, `nbf`, `iat` against `now` (± skew);
 * 4. {@link checkCredentialClaims}: `vct` present (and equal to `expectedVct`), `iss` (= `expectedIssuer`);
 * 5. {@link verifyDisclosures}: hash every disclosure with `_sd_alg` and place it via the `_sd` /
 *    `...` digests ({@link applyDisclosures}); registered claims must not come from a disclosure;
 * 6. key binding (optional / `requireKeyBinding`): {@link verifyKeyBindingJwt};
 * 7. {@link compareClaimsRevealed}: `claimsRevealed` is never trusted; a mismatch is a warning.
 *
 * @module
 */
import { ALG_EDDSA, type Jwks, type PublicJwk } from "../../crypto/jwk.js";
import type { JwkResolver } from "../../crypto/jws.js";
import { findKey, isKeyUsableAt, publicKeyFor } from "../../crypto/keys.js";
import { applyDisclosures, claimPathText, decodeDisclosure, type RevealedClaim } from "./disclosures.js";
import { SdJwtError } from "./errors.js";
import { DEFAULT_SD_ALG, decodeJwt, nodeHashName, type DecodedJwt } from "./hash.js";
import { splitSdJwt, type OhpIdentity } from "./identity.js";
import { ACCEPTED_SD_JWT_VC_TYPS, NEVER_DISCLOSABLE } from "./issue.js";
import { verifyKeyBindingJwt, type VerifiedKeyBinding } from "./kb.js";

/** Options of {@link verifyOhpIdentity}. */
export interface VerifyIdentityOptions {
  /** The IdP's public keys: a JWK Set or a `kid` resolver (e.g. from the federation chain). */
  readonly issuerKeys: Jwks | JwkResolver;
  /** Verification time. */
  readonly now: Date;
  /** Tolerated clock skew in seconds for `exp` / `nbf` / `iat` (default 5, OHP D09 step 3). */
  readonly skewSeconds?: number;
  /** Required `vct`. */
  readonly expectedVct?: string;
  /** Required `iss`. */
  readonly expectedIssuer?: string;
  /** Fail unless a valid KB-JWT is given (default false). */
  readonly requireKeyBinding?: boolean;
  /** A KB-JWT presented next to the identity. Verified whenever given. */
  readonly kbJwt?: string;
  /** Expected KB-JWT `aud` (required when `kbJwt` is given). */
  readonly audience?: string;
  /** Expected KB-JWT `nonce` (required when `kbJwt` is given). */
  readonly nonce?: string;
  /** Oldest accepted KB-JWT `iat`, seconds before `now` (default 300). */
  readonly kbMaxAgeSeconds?: number;
}

/** One disclosed claim. */
export interface DisclosedClaim {
  /** Path from the credential root. */
  readonly path: readonly (string | number)[];
  /** Dotted form of `path`. */
  readonly pathText: string;
  readonly value: unknown;
}

/** A verified OHP identity. */
export interface VerifiedIdentity {
  /** Issuer-signed header. */
  readonly header: Readonly<Record<string, unknown>>;
  /** The IdP key that verified the credential. */
  readonly issuerKey: PublicJwk;
  readonly iss: string | undefined;
  readonly vct: string;
  /** The processed claims: always-visible claims plus every verified disclosure (no `_sd`, `_sd_alg`). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Each verified disclosure, in payload order. */
  readonly disclosed: readonly DisclosedClaim[];
  /** The verified KB-JWT, when one was presented. */
  readonly keyBinding?: VerifiedKeyBinding;
  /** Non-fatal findings (e.g. `claimsRevealed` mismatch). Never authoritative. */
  readonly warnings: readonly string[];
}

/** Step 1: the issuer-signed JWT header (draft-ietf-oauth-sd-jwt-vc §3.2.1). */
export function checkIssuerJwtHeader(header: Record<string, unknown>): { readonly kid: string | undefined } {
  const typ = header["typ"];
  if (typeof typ !== "string" || !ACCEPTED_SD_JWT_VC_TYPS.includes(typ)) {
    throw new SdJwtError("ERR_SDJWT_HEADER_INVALID", `typ must be one of ${ACCEPTED_SD_JWT_VC_TYPS.join(", ")}`, { detail: { typ } });
  }
  const alg = header["alg"];
  if (alg !== ALG_EDDSA && alg !== "Ed25519") {
    throw new SdJwtError("ERR_SDJWT_HEADER_INVALID", "alg must be EdDSA (Ed25519)", { detail: { alg } });
  }
  if (header["crit"] !== undefined) throw new SdJwtError("ERR_SDJWT_HEADER_INVALID", "crit header parameters are not supported");
  const kid = header["kid"];
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0)) {
    throw new SdJwtError("ERR_SDJWT_HEADER_INVALID", "kid must be a non-empty string");
  }
  return { kid };
}

function resolveIssuerKey(trusted: Jwks | JwkResolver, kid: string | undefined): PublicJwk | undefined {
  if (typeof trusted === "function") return kid === undefined ? undefined : trusted(kid);
  if (kid !== undefined) return findKey(trusted, kid);
  // No kid: only an unambiguous single EdDSA key may be used.
  const candidates = trusted.keys.filter((k) => k.alg === ALG_EDDSA && k.use === "sig");
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Step 2: the IdP signature over the issuer-signed JWT (RFC 9901 §7.1 step 2). */
export function verifyIssuerSignature(jwt: DecodedJwt, kid: string | undefined, trusted: Jwks | JwkResolver, now: Date): PublicJwk {
  const jwk = resolveIssuerKey(trusted, kid);
  if (jwk === undefined) throw new SdJwtError("ERR_SDJWT_KEY_UNKNOWN", `no trusted IdP key for kid ${String(kid)}`, { detail: { kid } });
  let record;
  try {
    record = publicKeyFor(jwk);
  } catch (cause) {
    throw new SdJwtError("ERR_SDJWT_KEY_UNKNOWN", `IdP key ${String(kid)} is invalid`, { cause, detail: { kid } });
  }
  if (record.alg !== ALG_EDDSA || record.jwk.use !== "sig") {
    throw new SdJwtError("ERR_SDJWT_KEY_UNKNOWN", `IdP key ${record.kid} is not an EdDSA signing key`, { detail: { kid } });
  }
  if (!isKeyUsableAt(record.jwk, now)) {
    throw new SdJwtError("ERR_SDJWT_KEY_UNKNOWN", `IdP key ${record.kid} is revoked or outside its validity`, { detail: { kid } });
  }
  if (!record.verify(Buffer.from(jwt.signingInput, "latin1"), jwt.signature)) {
    throw new SdJwtError("ERR_SDJWT_SIGNATURE", "the SD-JWT VC issuer signature does not verify", { detail: { kid: record.kid } });
  }
  return record.jwk;
}

function numericDate(payload: Record<string, unknown>, claim: string): number | undefined {
  const v = payload[claim];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new SdJwtError("ERR_SDJWT_MALFORMED", `${claim} must be a NumericDate`);
  return v;
}

/** Step 3: `exp`, `nbf`, `iat` (RFC 7519 §4.1.4-4.1.6). */
export function checkValidity(payload: Record<string, unknown>, nowSeconds: number, skew: number): void {
  const exp = numericDate(payload, "exp");
  const nbf = numericDate(payload, "nbf");
  const iat = numericDate(payload, "iat");
  if (exp !== undefined && nowSeconds >= exp + skew) throw new SdJwtError("ERR_SDJWT_EXPIRED", "the SD-JWT VC has expired", { detail: { exp } });
  if (nbf !== undefined && nowSeconds < nbf - skew) throw new SdJwtError("ERR_SDJWT_NOT_YET_VALID", "the SD-JWT VC is not yet valid", { detail: { nbf } });
  if (iat !== undefined && nowSeconds < iat - skew) throw new SdJwtError("ERR_SDJWT_NOT_YET_VALID", "the SD-JWT VC is issued in the future", { detail: { iat } });
}

/** Step 4: `vct` / `iss` (draft-ietf-oauth-sd-jwt-vc §3.2.2). */
export function checkCredentialClaims(payload: Record<string, unknown>, options: Pick<VerifyIdentityOptions, "expectedVct" | "expectedIssuer">): { vct: string; iss: string | undefined } {
  const vct = payload["vct"];
  if (typeof vct !== "string" || vct.length === 0) throw new SdJwtError("ERR_SDJWT_MALFORMED", "vct is missing");
  if (options.expectedVct !== undefined && vct !== options.expectedVct) {
    throw new SdJwtError("ERR_SDJWT_VCT", `vct ${vct} is not the expected ${options.expectedVct}`, { detail: { vct } });
  }
  const iss = payload["iss"];
  if (iss !== undefined && typeof iss !== "string") throw new SdJwtError("ERR_SDJWT_MALFORMED", "iss must be a string");
  if (options.expectedIssuer !== undefined && iss !== options.expectedIssuer) {
    throw new SdJwtError("ERR_SDJWT_ISSUER", `iss ${String(iss)} is not the expected ${options.expectedIssuer}`, { detail: { iss } });
  }
  return { vct, iss };
}

/** Step 5: RFC 9901 §7.1 step 3 over the presented disclosures. */
export function verifyDisclosures(payload: Record<string, unknown>, disclosures: readonly unknown[]): { claims: Record<string, unknown>; revealed: readonly RevealedClaim[] } {
  const sdAlgRaw = payload["_sd_alg"];
  if (sdAlgRaw !== undefined && typeof sdAlgRaw !== "string") throw new SdJwtError("ERR_SDJWT_MALFORMED", "_sd_alg must be a string");
  const sdAlg = sdAlgRaw ?? DEFAULT_SD_ALG;
  nodeHashName(sdAlg);
  const decoded = disclosures.map((d) => decodeDisclosure(d, sdAlg));
  const result = applyDisclosures(payload, decoded);
  for (const r of result.revealed) {
    if (r.path.length === 1 && NEVER_DISCLOSABLE.includes(String(r.path[0]))) {
      throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", `registered claim ${String(r.path[0])} must not be selectively disclosed`);
    }
  }
  return result;
}

/** Step 7: OHP §5.4 — `claimsRevealed` is informational; differences become warnings. */
export function compareClaimsRevealed(claimsRevealed: unknown, revealed: readonly RevealedClaim[]): string[] {
  if (claimsRevealed === undefined) return [];
  if (!Array.isArray(claimsRevealed) || claimsRevealed.some((c) => typeof c !== "string")) {
    return ["claimsRevealed is not an array of strings; ignored (OHP §5.4: informational only)"];
  }
  const actual = new Set(revealed.filter((r) => r.disclosure.name !== undefined).map((r) => claimPathText(r.path)));
  const actualTop = new Set(revealed.filter((r) => r.disclosure.name !== undefined).map((r) => String(r.path[r.path.length - 1])));
  const listed = new Set(claimsRevealed as string[]);
  const warnings: string[] = [];
  for (const name of listed) {
    if (!actual.has(name) && !actualTop.has(name)) {
      warnings.push(`claimsRevealed lists ${JSON.stringify(name)} but no verified disclosure reveals it (ignored; OHP §5.4)`);
    }
  }
  for (const r of revealed) {
    if (r.disclosure.name === undefined) continue;
    const text = claimPathText(r.path);
    if (!listed.has(text) && !listed.has(r.disclosure.name)) {
      warnings.push(`disclosure ${JSON.stringify(text)} is not listed in claimsRevealed (OHP §5.4: informational only)`);
    }
  }
  return warnings;
}

function parseIdentity(identity: unknown): OhpIdentity {
  if (typeof identity !== "object" || identity === null || Array.isArray(identity)) {
    throw new SdJwtError("ERR_SDJWT_MALFORMED", "caller.identity must be an object");
  }
  const i = identity as Record<string, unknown>;
  if (typeof i["sdJwtVc"] !== "string") throw new SdJwtError("ERR_SDJWT_MALFORMED", "caller.identity.sdJwtVc must be a string");
  const disclosures = i["disclosures"] ?? [];
  if (!Array.isArray(disclosures)) throw new SdJwtError("ERR_SDJWT_MALFORMED", "caller.identity.disclosures must be an array");
  return { sdJwtVc: i["sdJwtVc"], disclosures: disclosures as string[], ...(i["claimsRevealed"] === undefined ? {} : { claimsRevealed: i["claimsRevealed"] as string[] }) };
}

/**
 * Verifies OHP `caller.identity` (steps in the module comment). Returns the verified claims;
 * throws {@link SdJwtError} with the code of the first failing step.
 */
export function verifyOhpIdentity(identity: OhpIdentity | unknown, options: VerifyIdentityOptions): VerifiedIdentity {
  const id = parseIdentity(identity);
  const now = options.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("options.now must be a valid Date");
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const skew = options.skewSeconds ?? 5;
  const jwt = decodeJwt(id.sdJwtVc, "SD-JWT VC");
  const { kid } = checkIssuerJwtHeader(jwt.header);
  const issuerKey = verifyIssuerSignature(jwt, kid, options.issuerKeys, now);
  checkValidity(jwt.payload, nowSeconds, skew);
  const { vct, iss } = checkCredentialClaims(jwt.payload, options);
  const { claims, revealed } = verifyDisclosures(jwt.payload, id.disclosures);
  let keyBinding: VerifiedKeyBinding | undefined;
  if (options.kbJwt !== undefined) {
    if (options.audience === undefined || options.nonce === undefined) {
      throw new SdJwtError("ERR_SDJWT_KB_INVALID", "verifying a KB-JWT needs the expected audience and nonce");
    }
    keyBinding = verifyKeyBindingJwt(options.kbJwt, {
      credentialPayload: jwt.payload,
      identity: id,
      audience: options.audience,
      nonce: options.nonce,
      now: nowSeconds,
      skewSeconds: skew,
      ...(options.kbMaxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.kbMaxAgeSeconds }),
    });
  } else if (options.requireKeyBinding === true) {
    throw new SdJwtError("ERR_SDJWT_KB_MISSING", "key binding is required but no KB-JWT was presented");
  }
  const warnings = compareClaimsRevealed(id.claimsRevealed, revealed);
  const disclosed = revealed.map((r) => Object.freeze({ path: r.path, pathText: claimPathText(r.path), value: r.disclosure.value }));
  return Object.freeze({
    header: Object.freeze({ ...jwt.header }),
    issuerKey,
    iss,
    vct,
    claims: Object.freeze(claims),
    disclosed: Object.freeze(disclosed),
    ...(keyBinding === undefined ? {} : { keyBinding }),
    warnings: Object.freeze(warnings),
  });
}

/** {@link verifyOhpIdentity} for a compact SD-JWT (a trailing KB-JWT is used as `kbJwt`). */
export function verifySdJwtVc(compact: string, options: VerifyIdentityOptions): VerifiedIdentity {
  const parts = splitSdJwt(compact);
  const identity: OhpIdentity = { sdJwtVc: parts.jwt, disclosures: parts.disclosures };
  return verifyOhpIdentity(identity, parts.kbJwt === undefined ? options : { ...options, kbJwt: parts.kbJwt });
}
