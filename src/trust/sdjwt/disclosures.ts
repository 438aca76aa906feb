/**
 * RFC 9901 disclosures: decoding (§4.2.1 object properties, §4.2.2 array elements), digests
 * (§4.2.3) and the digest walk of §7.1 step 3, which replaces every `_sd` digest and every
 * `{"...": digest}` array element by the disclosed value and rejects:
 *
 * - a disclosure sent twice, or a digest present twice in the payload (`ERR_SDJWT_DUPLICATE`);
 * - a disclosure no digest refers to (`ERR_SDJWT_DIGEST`);
 * - a property disclosure referenced from an array, an element disclosure referenced from `_sd`,
 *   a disclosed name `_sd` / `...`, or a name that already exists (`ERR_SDJWT_DISCLOSURE_INVALID`).
 *
 * Unmatched digests are decoys and vanish silently.
 *
 * @module
 */
import { setOwn } from "../../json/own.js";
import { b64uDecode } from "../../util/base64url.js";
import { SdJwtError } from "./errors.js";
import { isObject, sdDigest } from "./hash.js";

/** Largest number of disclosures accepted in one presentation. */
export const MAX_DISCLOSURES = 1024;
/** Deepest object/array nesting the walk follows. */
export const MAX_CLAIM_DEPTH = 32;

/** One decoded disclosure. */
export interface Disclosure {
  /** The base64url text as transmitted (what is hashed). */
  readonly encoded: string;
  /** base64url digest under the credential's `_sd_alg`. */
  readonly digest: string;
  readonly salt: string;
  /** Claim name (object property disclosure); absent for an array element disclosure. */
  readonly name?: string;
  readonly value: unknown;
}

/** A disclosure placed in the claim tree by the walk. */
export interface RevealedClaim {
  /** Path of the disclosed value from the payload root (names and array indices). */
  readonly path: readonly (string | number)[];
  readonly disclosure: Disclosure;
}

/** Result of {@link applyDisclosures}. */
export interface AppliedDisclosures {
  /** The payload with every referenced disclosure in place and `_sd` / `_sd_alg` / decoys removed. */
  readonly claims: Record<string, unknown>;
  /** Each disclosure with the path it was revealed at, in walk order. */
  readonly revealed: readonly RevealedClaim[];
}

/** Decodes one disclosure (RFC 9901 §4.2.1 / §4.2.2) and computes its digest. */
export function decodeDisclosure(encoded: unknown, sdAlg: string): Disclosure {
  if (typeof encoded !== "string" || encoded.length === 0) {
    throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "a disclosure must be a non-empty base64url string");
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b64uDecode(encoded))) as unknown;
  } catch (cause) {
    throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "a disclosure is not base64url of a UTF-8 JSON array", { cause });
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3) || typeof value[0] !== "string") {
    throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "a disclosure must be [salt, name, value] or [salt, value]");
  }
  const digest = sdDigest(encoded, sdAlg);
  if (value.length === 2) return Object.freeze({ encoded, digest, salt: value[0] as string, value: value[1] as unknown });
  if (typeof value[1] !== "string") {
    throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "a property disclosure's claim name must be a string");
  }
  return Object.freeze({ encoded, digest, salt: value[0] as string, name: value[1], value: value[2] as unknown });
}

/**
 * RFC 9901 §7.1 step 3: applies `disclosures` (already decoded with the payload's `_sd_alg`) to
 * the issuer-signed `payload`. Throws {@link SdJwtError} on any rule of the module comment.
 */
export function applyDisclosures(payload: Record<string, unknown>, disclosures: readonly Disclosure[]): AppliedDisclosures {
  if (disclosures.length > MAX_DISCLOSURES) {
    throw new SdJwtError("ERR_SDJWT_MALFORMED", `more than ${MAX_DISCLOSURES} disclosures`);
  }
  const byDigest = new Map<string, Disclosure>();
  for (const d of disclosures) {
    if (byDigest.has(d.digest)) {
      throw new SdJwtError("ERR_SDJWT_DUPLICATE", "the same disclosure is presented twice", { detail: { digest: d.digest } });
    }
    byDigest.set(d.digest, d);
  }
  const seen = new Set<string>();
  const used = new Set<string>();
  const revealed: RevealedClaim[] = [];

  const claimDigest = (digest: unknown): Disclosure | undefined => {
    if (typeof digest !== "string") throw new SdJwtError("ERR_SDJWT_MALFORMED", "a digest must be a string");
    if (seen.has(digest)) {
      throw new SdJwtError("ERR_SDJWT_DUPLICATE", "a digest appears more than once in the payload", { detail: { digest } });
    }
    seen.add(digest);
    const d = byDigest.get(digest);
    if (d !== undefined) used.add(digest);
    return d;
  };

  const walkValue = (value: unknown, path: readonly (string | number)[]): unknown => {
    if (path.length > MAX_CLAIM_DEPTH) throw new SdJwtError("ERR_SDJWT_MALFORMED", `claims nest deeper than ${MAX_CLAIM_DEPTH}`);
    if (Array.isArray(value)) return walkArray(value, path);
    if (isObject(value)) return walkObject(value, path);
    return value;
  };

  const walkArray = (arr: readonly unknown[], path: readonly (string | number)[]): unknown[] => {
    const out: unknown[] = [];
    for (const element of arr) {
      if (isObject(element) && Object.hasOwn(element, "...") && Object.keys(element).length === 1) {
        const d = claimDigest(element["..."]);
        if (d === undefined) continue; // decoy
        if (d.name !== undefined) {
          throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "a property disclosure is referenced as an array element", {
            detail: { path: [...path, out.length] },
          });
        }
        const at = [...path, out.length];
        revealed.push({ path: at, disclosure: d });
        out.push(walkValue(d.value, at));
      } else {
        out.push(walkValue(element, [...path, out.length]));
      }
    }
    return out;
  };

  const walkObject = (obj: Record<string, unknown>, path: readonly (string | number)[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) {
      if (key === "_sd") continue;
      if (key === "_sd_alg") {
        if (path.length > 0) throw new SdJwtError("ERR_SDJWT_MALFORMED", "_sd_alg is allowed only at the top level");
        continue;
      }
      setOwn(out, key, walkValue(obj[key], [...path, key]));
    }
    if (Object.hasOwn(obj, "_sd")) {
      const sd = obj["_sd"];
      if (!Array.isArray(sd)) throw new SdJwtError("ERR_SDJWT_MALFORMED", "_sd must be an array of digests", { detail: { path } });
      for (const digest of sd) {
        const d = claimDigest(digest);
        if (d === undefined) continue; // decoy
        if (d.name === undefined) {
          throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", "an array element disclosure is referenced from _sd", { detail: { path } });
        }
        if (d.name === "_sd" || d.name === "...") {
          throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", `a disclosure may not carry the reserved name ${d.name}`, { detail: { path } });
        }
        if (Object.hasOwn(out, d.name)) {
          throw new SdJwtError("ERR_SDJWT_DISCLOSURE_INVALID", `disclosed claim ${d.name} already exists`, {
            detail: { path: [...path, d.name] },
          });
        }
        const at = [...path, d.name];
        revealed.push({ path: at, disclosure: d });
        setOwn(out, d.name, walkValue(d.value, at));
      }
    }
    return out;
  };

  const claims = walkObject(payload, []);
  for (const d of disclosures) {
    if (!used.has(d.digest)) {
      throw new SdJwtError("ERR_SDJWT_DIGEST", "a disclosure is not referenced by any digest of the credential", {
        detail: { digest: d.digest },
      });
    }
  }
  return { claims, revealed };
}

/** Dotted display form of a claim path (`address.street_address`, `nationalities.1`). */
export function claimPathText(path: readonly (string | number)[]): string {
  return path.map(String).join(".");
}
