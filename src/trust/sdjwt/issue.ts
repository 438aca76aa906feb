/**
 * SD-JWT VC issuance (draft-ietf-oauth-sd-jwt-vc §3, RFC 9901 §4) on top of
 * `@sd-jwt/sd-jwt-vc`, signed with an agentwire Ed25519 {@link PrivateKeyRecord} (`EdDSA`).
 * Meant for tests, demos and an IdP stub: the OHP sender receives the credential from its IdP.
 *
 * @module
 */
import { getOwn, setOwn } from "../../json/own.js";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import type { DisclosureFrame } from "@sd-jwt/types";
import { ALG_EDDSA, type PublicJwk } from "../../crypto/jwk.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import { b64uEncode } from "../../util/base64url.js";
import { SdJwtError } from "./errors.js";
import { DEFAULT_SD_ALG, hashBytes, isObject, randomSalt } from "./hash.js";

/** `typ` of an SD-JWT VC issuer-signed JWT in the current draft. */
export const SD_JWT_VC_TYP = "dc+sd-jwt";
/** `typ` values accepted on verification: the current draft, the earlier draft, the OHP examples. */
export const ACCEPTED_SD_JWT_VC_TYPS: readonly string[] = Object.freeze([SD_JWT_VC_TYP, "vc+sd-jwt", "sd-jwt"]);

/** Registered claims that must never be selectively disclosed (draft-ietf-oauth-sd-jwt-vc §3.2.2). */
export const NEVER_DISCLOSABLE: readonly string[] = Object.freeze(["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd", "_sd_alg", "..."]);

/** Input of {@link issueSdJwtVc}. */
export interface IssueSdJwtVcInput {
  /** The IdP's Ed25519 signing key (header `kid` = its kid). */
  readonly issuerKey: PrivateKeyRecord;
  /** Credential type. */
  readonly vct: string;
  /** Issuer identifier (an https URL or the IdP DID). */
  readonly iss: string;
  /** The credential claims (registered claims are set from the other members). */
  readonly claims: Record<string, unknown>;
  /**
   * Paths made selectively disclosable: `given_name`, `address.street_address` (a member of a
   * nested object), `nationalities.*` (every element of an array) or `nationalities.0`.
   * A parent object named by a deeper path stays plain unless listed itself.
   */
  readonly disclosable: readonly string[];
  /** Holder public key, placed in `cnf.jwk` (RFC 7800) for key binding. */
  readonly holderJwk?: PublicJwk | Record<string, unknown>;
  /** Issued-at, seconds since the epoch (or a Date). */
  readonly iat: number | Date;
  /** Expiry, seconds since the epoch (or a Date). */
  readonly exp?: number | Date;
  /** Not-before, seconds since the epoch (or a Date). */
  readonly nbf?: number | Date;
  /** `sub` claim. */
  readonly sub?: string;
  /** `_sd_alg`; default sha-256. */
  readonly sdAlg?: "sha-256" | "sha-384" | "sha-512";
  /** Salt source (tests pin it); default 128 random bits. */
  readonly saltGenerator?: (length: number) => string;
}

function seconds(t: number | Date, member: string): number {
  const v = t instanceof Date ? Math.floor(t.getTime() / 1000) : t;
  if (!Number.isSafeInteger(v) || v < 0) throw new SdJwtError("ERR_SDJWT_ISSUE", `${member} must be a non-negative integer of seconds`);
  return v;
}

/** Public members only: a `cnf.jwk` must never carry private material or agentwire lifecycle members. */
function holderCnfJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  if (jwk["kty"] !== "OKP" || jwk["crv"] !== "Ed25519" || typeof jwk["x"] !== "string" || "d" in jwk) {
    throw new SdJwtError("ERR_SDJWT_ISSUE", "holderJwk must be a public Ed25519 OKP JWK");
  }
  return { kty: "OKP", crv: "Ed25519", x: jwk["x"] };
}

type Frame = { _sd?: (string | number)[]; [member: string]: unknown };

/** Builds the library's disclosure frame from dotted paths, checking each path exists. */
export function disclosureFrameFor(claims: Record<string, unknown>, paths: readonly string[]): Frame {
  const frame: Frame = {};
  for (const path of paths) {
    const parts = path.split(".");
    if (parts.some((p) => p.length === 0)) throw new SdJwtError("ERR_SDJWT_ISSUE", `bad disclosable path ${JSON.stringify(path)}`);
    if (parts.length === 1 && NEVER_DISCLOSABLE.includes(parts[0] as string)) {
      throw new SdJwtError("ERR_SDJWT_ISSUE", `claim ${parts[0]} must not be selectively disclosable`);
    }
    let node: unknown = claims;
    let f = frame;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      if (Array.isArray(node)) {
        const indices = part === "*" ? node.map((_, k) => k) : [Number(part)];
        if (indices.some((k) => !Number.isInteger(k) || k < 0 || k >= (node as unknown[]).length)) {
          throw new SdJwtError("ERR_SDJWT_ISSUE", `disclosable path ${path} names no array element`);
        }
        if (!last) throw new SdJwtError("ERR_SDJWT_ISSUE", `disclosable path ${path}: only the last segment may index an array`);
        f._sd = [...(f._sd ?? []), ...indices];
      } else if (isObject(node) && Object.hasOwn(node, part)) {
        if (last) f._sd = [...(f._sd ?? []), part];
        else {
          // A claim named "__proto__" is data: never walk into (and write onto) Object.prototype.
          let next = getOwn(f, part) as Frame | undefined;
          if (next === undefined) setOwn(f, part, (next = {}));
          f = next;
          node = node[part];
        }
      } else {
        throw new SdJwtError("ERR_SDJWT_ISSUE", `disclosable path ${path} names no claim`);
      }
    }
  }
  return frame;
}

/**
 * Issues an SD-JWT VC: header `{"typ":"dc+sd-jwt","alg":"EdDSA","kid":…}`, the claims with the
 * `disclosable` paths replaced by `_sd` digests, and returns the compact form
 * `<issuer-signed JWT>~<disclosure>~…~` (RFC 9901 §4).
 */
export async function issueSdJwtVc(input: IssueSdJwtVcInput): Promise<string> {
  const { issuerKey } = input;
  if (!(issuerKey instanceof PrivateKeyRecord) || issuerKey.alg !== ALG_EDDSA || issuerKey.use !== "sig") {
    throw new SdJwtError("ERR_SDJWT_ISSUE", "issuerKey must be an EdDSA signing PrivateKeyRecord");
  }
  if (typeof input.vct !== "string" || input.vct.length === 0) throw new SdJwtError("ERR_SDJWT_ISSUE", "vct must be a non-empty string");
  if (typeof input.iss !== "string" || input.iss.length === 0) throw new SdJwtError("ERR_SDJWT_ISSUE", "iss must be a non-empty string");
  if (!isObject(input.claims)) throw new SdJwtError("ERR_SDJWT_ISSUE", "claims must be an object");
  for (const reserved of NEVER_DISCLOSABLE) {
    if (Object.hasOwn(input.claims, reserved)) throw new SdJwtError("ERR_SDJWT_ISSUE", `claims must not set ${reserved}`);
  }
  const payload: Record<string, unknown> = { ...input.claims, iss: input.iss, vct: input.vct, iat: seconds(input.iat, "iat") };
  if (input.exp !== undefined) payload["exp"] = seconds(input.exp, "exp");
  if (input.nbf !== undefined) payload["nbf"] = seconds(input.nbf, "nbf");
  if (input.sub !== undefined) payload["sub"] = input.sub;
  if (input.holderJwk !== undefined) payload["cnf"] = { jwk: holderCnfJwk(input.holderJwk as Record<string, unknown>) };
  const frame = disclosureFrameFor(input.claims, input.disclosable);
  const sdAlg = input.sdAlg ?? DEFAULT_SD_ALG;
  const instance = new SDJwtVcInstance({
    signer: (data: string) => b64uEncode(issuerKey.sign(Buffer.from(data, "latin1"))),
    signAlg: ALG_EDDSA,
    hasher: (data: string | ArrayBuffer, alg: string) => hashBytes(typeof data === "string" ? data : new Uint8Array(data), alg),
    hashAlg: sdAlg,
    saltGenerator: input.saltGenerator ?? randomSalt,
  });
  try {
    return await instance.issue(payload as { vct: string }, frame as DisclosureFrame<{ vct: string }>, { header: { kid: issuerKey.kid } });
  } catch (cause) {
    if (cause instanceof SdJwtError) throw cause;
    throw new SdJwtError("ERR_SDJWT_ISSUE", `SD-JWT VC issuance failed: ${(cause as Error).message}`, { cause });
  }
}
