/**
 * Key Binding JWT (RFC 9901 §4.3): header `{"typ":"kb+jwt","alg":"EdDSA"}`, payload
 * `{iat, aud, nonce, sd_hash}` with `sd_hash` = base64url(hash_{_sd_alg}(ASCII(<JWT>~<D1>~…~<Dn>~))),
 * signed by the holder key the credential names in `cnf.jwk` (RFC 7800).
 *
 * OHP carries no KB-JWT (ohp.md §6.6); agentwire accepts one out of band (e.g. next to the
 * envelope on the transport) and verifies it when the receiver's policy requires holder binding.
 *
 * @module
 */
import { ed25519PublicKeyFromBytes, ed25519Verify } from "../../crypto/ed25519.js";
import { ALG_EDDSA } from "../../crypto/jwk.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import { b64uDecode, b64uEncode } from "../../util/base64url.js";
import { SdJwtError } from "./errors.js";
import { DEFAULT_SD_ALG, decodeJwt, isObject, sdDigest } from "./hash.js";
import { presentationOf, type OhpIdentity } from "./identity.js";

/** `typ` of a Key Binding JWT (RFC 9901 §4.3). */
export const KB_JWT_TYP = "kb+jwt";

/** Input of {@link createKeyBindingJwt}. */
export interface CreateKeyBindingInput {
  /** The holder's Ed25519 key (its public half is the credential's `cnf.jwk`). */
  readonly holderKey: PrivateKeyRecord;
  /** Intended receiver (OHP: the receiver DID / `audience.did`). */
  readonly aud: string;
  /** Receiver-supplied freshness value. */
  readonly nonce: string;
  /** Issued-at, seconds since the epoch (or a Date). */
  readonly iat: number | Date;
  /** `_sd_alg` of the credential; default sha-256. */
  readonly sdAlg?: string;
}

/** Holder side: a KB-JWT over exactly the disclosures of `identity`, in their order. */
export function createKeyBindingJwt(identity: Pick<OhpIdentity, "sdJwtVc" | "disclosures">, input: CreateKeyBindingInput): string {
  const { holderKey } = input;
  if (!(holderKey instanceof PrivateKeyRecord) || holderKey.alg !== ALG_EDDSA) {
    throw new SdJwtError("ERR_SDJWT_ISSUE", "holderKey must be an EdDSA PrivateKeyRecord");
  }
  const iat = input.iat instanceof Date ? Math.floor(input.iat.getTime() / 1000) : input.iat;
  const header = { typ: KB_JWT_TYP, alg: ALG_EDDSA };
  const payload = { iat, aud: input.aud, nonce: input.nonce, sd_hash: sdDigest(presentationOf(identity), input.sdAlg ?? DEFAULT_SD_ALG) };
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v), "utf8").toString("base64url");
  const signingInput = `${enc(header)}.${enc(payload)}`;
  return `${signingInput}.${b64uEncode(holderKey.sign(Buffer.from(signingInput, "latin1")))}`;
}

/** What {@link verifyKeyBindingJwt} checks against. */
export interface KeyBindingExpectations {
  /** Issuer-signed payload (for `cnf.jwk` and `_sd_alg`). */
  readonly credentialPayload: Record<string, unknown>;
  /** The presentation as received. */
  readonly identity: Pick<OhpIdentity, "sdJwtVc" | "disclosures">;
  readonly audience: string;
  readonly nonce: string;
  /** Verification time, seconds since the epoch. */
  readonly now: number;
  /** Oldest accepted `iat`, seconds before `now` (default 300). */
  readonly maxAgeSeconds?: number;
  /** Tolerated clock skew for a future `iat` (default 5). */
  readonly skewSeconds?: number;
}

/** The verified KB-JWT payload. */
export interface VerifiedKeyBinding {
  readonly iat: number;
  readonly aud: string;
  readonly nonce: string;
  readonly sdHash: string;
}

function holderPublicKey(payload: Record<string, unknown>) {
  const cnf = payload["cnf"];
  if (!isObject(cnf)) throw new SdJwtError("ERR_SDJWT_KB_MISSING", "the credential has no cnf claim: key binding is impossible");
  const jwk = cnf["jwk"];
  if (!isObject(jwk) || jwk["kty"] !== "OKP" || jwk["crv"] !== "Ed25519" || typeof jwk["x"] !== "string") {
    throw new SdJwtError("ERR_SDJWT_KB_INVALID", "cnf.jwk must be an Ed25519 OKP JWK");
  }
  try {
    return ed25519PublicKeyFromBytes(b64uDecode(jwk["x"]));
  } catch (cause) {
    throw new SdJwtError("ERR_SDJWT_KB_INVALID", "cnf.jwk.x is not a valid Ed25519 public key", { cause });
  }
}

/** RFC 9901 §7.3 step 5: verifies a KB-JWT against the presentation and the verifier's expectations. */
export function verifyKeyBindingJwt(kbJwt: string, expect: KeyBindingExpectations): VerifiedKeyBinding {
  const key = holderPublicKey(expect.credentialPayload);
  const { header, payload, signingInput, signature } = decodeJwt(kbJwt, "KB-JWT", "ERR_SDJWT_KB_INVALID");
  if (header["typ"] !== KB_JWT_TYP) throw new SdJwtError("ERR_SDJWT_KB_INVALID", `KB-JWT typ must be ${KB_JWT_TYP}`);
  if (header["alg"] !== ALG_EDDSA && header["alg"] !== "Ed25519") throw new SdJwtError("ERR_SDJWT_KB_INVALID", "KB-JWT alg must be EdDSA");
  if (!ed25519Verify(key, Buffer.from(signingInput, "latin1"), signature)) {
    throw new SdJwtError("ERR_SDJWT_KB_SIGNATURE", "KB-JWT signature does not verify with cnf.jwk");
  }
  const { iat, aud, nonce } = payload;
  const sdHash = payload["sd_hash"];
  if (typeof iat !== "number" || typeof aud !== "string" || typeof nonce !== "string" || typeof sdHash !== "string") {
    throw new SdJwtError("ERR_SDJWT_KB_INVALID", "KB-JWT needs iat (number), aud, nonce and sd_hash (strings)");
  }
  const sdAlg = typeof expect.credentialPayload["_sd_alg"] === "string" ? expect.credentialPayload["_sd_alg"] : DEFAULT_SD_ALG;
  if (sdHash !== sdDigest(presentationOf(expect.identity), sdAlg)) {
    throw new SdJwtError("ERR_SDJWT_KB_SD_HASH", "KB-JWT sd_hash does not match the presented SD-JWT");
  }
  if (aud !== expect.audience) throw new SdJwtError("ERR_SDJWT_KB_AUDIENCE", "KB-JWT aud is not this verifier", { detail: { aud } });
  if (nonce !== expect.nonce) throw new SdJwtError("ERR_SDJWT_KB_NONCE", "KB-JWT nonce does not match");
  const skew = expect.skewSeconds ?? 5;
  if (iat > expect.now + skew || iat < expect.now - (expect.maxAgeSeconds ?? 300)) {
    throw new SdJwtError("ERR_SDJWT_KB_IAT", "KB-JWT iat is outside the accepted window", { detail: { iat, now: expect.now } });
  }
  return Object.freeze({ iat, aud, nonce, sdHash });
}
