/**
 * Hashing, salts and JWT part decoding shared by SD-JWT issuance and verification.
 *
 * RFC 9901 §4.2.3: the digest of a disclosure is base64url(hash(ASCII(disclosure))), where the
 * disclosure is the base64url text exactly as transmitted (never re-encoded).
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { b64uDecode } from "../../util/base64url.js";
import { SdJwtError, type SdJwtErrorCode } from "./errors.js";

/** `_sd_alg` when the payload names none (RFC 9901 §4.1.1). */
export const DEFAULT_SD_ALG = "sha-256";

/** IANA "Named Information Hash Algorithm" names → node:crypto digest names. */
const HASHES: Readonly<Record<string, string>> = Object.freeze({
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
  "sha3-256": "sha3-256",
  "sha3-384": "sha3-384",
  "sha3-512": "sha3-512",
});

/** The `_sd_alg` values this implementation supports. */
export const SUPPORTED_SD_ALGS: readonly string[] = Object.freeze(Object.keys(HASHES));

/** node:crypto name for an `_sd_alg`; `ERR_SDJWT_HASH_ALG_UNSUPPORTED` otherwise. */
export function nodeHashName(sdAlg: string): string {
  const name = Object.hasOwn(HASHES, sdAlg) ? HASHES[sdAlg] : undefined;
  if (name === undefined) {
    throw new SdJwtError("ERR_SDJWT_HASH_ALG_UNSUPPORTED", `_sd_alg ${JSON.stringify(sdAlg)} is not supported`, { detail: { sdAlg } });
  }
  return name;
}

/** Raw hash of bytes or of the ASCII/UTF-8 text with the `_sd_alg` hash. */
export function hashBytes(data: string | Uint8Array, sdAlg: string): Uint8Array {
  const digest = createHash(nodeHashName(sdAlg))
    .update(typeof data === "string" ? Buffer.from(data, "utf8") : data)
    .digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** RFC 9901 §4.2.3: base64url(hash(ASCII(text))) — disclosure digests and KB-JWT `sd_hash`. */
export function sdDigest(text: string, sdAlg: string = DEFAULT_SD_ALG): string {
  return Buffer.from(hashBytes(text, sdAlg)).toString("base64url");
}

/** A fresh salt: base64url of 16 random bytes (RFC 9901 §9.3 recommends 128 bits). */
export function randomSalt(bytes = 16): string {
  return randomBytes(bytes).toString("base64url");
}

/** @internal Decodes a base64url JSON segment; failures become `code`. */
export function decodeJsonSegment(segment: string, what: string, code: SdJwtErrorCode = "ERR_SDJWT_MALFORMED"): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b64uDecode(segment));
  } catch (cause) {
    throw new SdJwtError(code, `${what} is not strict base64url of UTF-8`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SdJwtError(code, `${what} is not JSON`, { cause });
  }
}

/** @internal Plain JSON object test. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @internal A decoded compact JWS/JWT. */
export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** ASCII signing input `header.payload`. */
  readonly signingInput: string;
  readonly signature: Uint8Array;
}

/** @internal Splits and decodes a compact JWT (attached payload). */
export function decodeJwt(jwt: unknown, what: string, code: SdJwtErrorCode = "ERR_SDJWT_MALFORMED"): DecodedJwt {
  if (typeof jwt !== "string" || jwt.length === 0 || jwt.length > 256 * 1024) {
    throw new SdJwtError(code, `${what} must be a non-empty string of at most 256 KiB`);
  }
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new SdJwtError(code, `${what} must have three dot-separated parts`);
  const [h, p, s] = parts as [string, string, string];
  if (p.length === 0) throw new SdJwtError(code, `${what} has a detached payload; an SD-JWT carries its payload`);
  const header = decodeJsonSegment(h, `${what} header`, code);
  const payload = decodeJsonSegment(p, `${what} payload`, code);
  if (!isObject(header) || !isObject(payload)) throw new SdJwtError(code, `${what} header and payload must be JSON objects`);
  let signature: Uint8Array;
  try {
    signature = b64uDecode(s);
  } catch (cause) {
    throw new SdJwtError(code, `${what} signature is not strict base64url`, { cause });
  }
  return { header, payload, signingInput: `${h}.${p}`, signature };
}
