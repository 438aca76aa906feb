/**
 * DPoP proof creation (RFC 9449 §4.2): a JWT with header `{typ:"dpop+jwt", alg, jwk}` and claims
 * `jti`, `htm`, `htu`, `iat`, plus `ath` when sent with an access token and `nonce` when the
 * server asked for one. Ed25519 (`EdDSA`) keys only.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { ALG_EDDSA, type Ed25519PublicJwk } from "../../crypto/jwk.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { b64uEncode } from "../../util/base64url.js";
import { DpopError } from "./errors.js";
import { normalizeHtu } from "./htu.js";

/** JOSE `typ` of a DPoP proof (RFC 9449 §4.2). */
export const DPOP_TYP = "dpop+jwt";

/** `ath` (RFC 9449 §4.2): base64url(SHA-256(ASCII(access token))). */
export function accessTokenHash(accessToken: string): string {
  return b64uEncode(createHash("sha256").update(accessToken, "ascii").digest());
}

/** An HTTP method token (RFC 9110 §9.1). */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Options of {@link createDpopProof}. */
export interface CreateDpopProofOptions {
  /** The client's DPoP key (EdDSA). */
  readonly key: PrivateKeyRecord;
  /** HTTP method of the request (`POST`, `GET`, …). */
  readonly htm: string;
  /** HTTP target URI; query and fragment are dropped. */
  readonly htu: string;
  /** Access token the request carries: `ath` is computed from it. */
  readonly accessToken?: string;
  /** Precomputed `ath` (ignored when `accessToken` is given). */
  readonly ath?: string;
  /** Server-provided nonce (RFC 9449 §8 / §9). */
  readonly nonce?: string;
  /** Issued-at: a Date, or NumericDate seconds. Default: now. */
  readonly iat?: Date | number;
  /** Unique identifier; default 128 random bits, base64url. */
  readonly jti?: string;
}

function argument(message: string): DpopError {
  return new DpopError("ERR_DPOP_ARGUMENT_INVALID", message);
}

/** Signs a DPoP proof for one HTTP request. Returns the compact JWT. */
export async function createDpopProof(options: CreateDpopProofOptions): Promise<string> {
  const { key } = options;
  if (key.alg !== ALG_EDDSA || key.keyObject === undefined) {
    throw new DpopError("ERR_DPOP_ALG_UNSUPPORTED", `DPoP proofs are signed with EdDSA keys here, not ${key.alg}`, { detail: { alg: key.alg } });
  }
  if (typeof options.htm !== "string" || !METHOD.test(options.htm)) throw argument("htm must be an HTTP method token");
  const htu = normalizeHtu(options.htu);
  if (htu === undefined) throw argument("htu must be an absolute http(s) URI without credentials");
  const iat = options.iat === undefined ? Math.floor(Date.now() / 1000) : options.iat instanceof Date ? Math.floor(options.iat.getTime() / 1000) : options.iat;
  if (!Number.isSafeInteger(iat) || iat < 0) throw argument("iat must be a non-negative integer NumericDate");
  const jti = options.jti ?? b64uEncode(randomBytes(16));
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw argument("jti must be a non-empty string of at most 256 characters");
  const pub = key.publicJwk as Ed25519PublicJwk;
  const claims: Record<string, unknown> = { jti, htm: options.htm, htu, iat };
  const ath = options.accessToken !== undefined ? accessTokenHash(options.accessToken) : options.ath;
  if (ath !== undefined) claims["ath"] = ath;
  if (options.nonce !== undefined) claims["nonce"] = options.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: DPOP_TYP, alg: ALG_EDDSA, jwk: { kty: "OKP", crv: "Ed25519", x: pub.x } })
    .sign(key.keyObject);
}
