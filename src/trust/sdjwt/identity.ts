/**
 * The OHP split form of an SD-JWT VC (OHP §5.4, `caller.identity`): the compact
 * `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]` (RFC 9901 §4) is carried as
 * `{sdJwtVc: <JWT>, disclosures: [<D…>], claimsRevealed: [names]}`. The sender keeps only the
 * disclosures its `audience.purpose` allows; `claimsRevealed` is informational and never
 * trusted by a receiver.
 *
 * @module
 */
import { applyDisclosures, claimPathText, decodeDisclosure, type Disclosure } from "./disclosures.js";
import { SdJwtError } from "./errors.js";
import { DEFAULT_SD_ALG, decodeJwt } from "./hash.js";

/** OHP `caller.identity`. */
export interface OhpIdentity {
  /** The issuer-signed JWT of the SD-JWT VC. */
  readonly sdJwtVc: string;
  /** The disclosures sent for this purpose (base64url, as issued). */
  readonly disclosures: readonly string[];
  /** Informational names of the revealed claims (OHP §5.4: never authoritative). */
  readonly claimsRevealed?: readonly string[];
}

/** The parts of a compact SD-JWT (RFC 9901 §4). */
export interface SdJwtParts {
  readonly jwt: string;
  readonly disclosures: readonly string[];
  /** The KB-JWT after the last `~`, if any. */
  readonly kbJwt?: string;
}

/** Splits a compact SD-JWT / SD-JWT+KB (RFC 9901 §4). */
export function splitSdJwt(compact: string): SdJwtParts {
  if (typeof compact !== "string" || !compact.includes("~")) {
    throw new SdJwtError("ERR_SDJWT_MALFORMED", "a compact SD-JWT is <JWT>~<disclosures>~[<KB-JWT>]");
  }
  const parts = compact.split("~");
  const jwt = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  const disclosures = parts.slice(1, -1);
  if (jwt.length === 0 || disclosures.some((d) => d.length === 0)) {
    throw new SdJwtError("ERR_SDJWT_MALFORMED", "a compact SD-JWT has an empty component");
  }
  return last.length === 0 ? { jwt, disclosures } : { jwt, disclosures, kbJwt: last };
}

/**
 * The SD-JWT presentation a KB-JWT `sd_hash` covers (RFC 9901 §4.3.1): `<JWT>~<D1>~…~<Dn>~`,
 * disclosures in the order sent.
 */
export function presentationOf(identity: Pick<OhpIdentity, "sdJwtVc" | "disclosures">): string {
  return `${identity.sdJwtVc}~${identity.disclosures.map((d) => `${d}~`).join("")}`;
}

/** Options of {@link toOhpIdentity}. */
export interface ToOhpIdentityOptions {
  /**
   * Claim paths the purpose permits (`given_name`, `address`, `address.locality`). A disclosure
   * is kept when its path equals or lies under one of them; the disclosures of enclosing
   * objects/arrays it needs are kept too. Default: every disclosure.
   */
  readonly purposeClaims?: readonly string[];
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

/**
 * Sender side: turns a compact SD-JWT VC into OHP `caller.identity`, keeping only the
 * disclosures `purposeClaims` allows (plus the parent disclosures they depend on), in the
 * issued order. A trailing KB-JWT is dropped (OHP carries none; see {@link createKeyBindingJwt}).
 * `claimsRevealed` lists the dotted paths of the kept property disclosures.
 */
export function toOhpIdentity(compact: string, options: ToOhpIdentityOptions = {}): OhpIdentity {
  const parts = splitSdJwt(compact);
  const { payload } = decodeJwt(parts.jwt, "SD-JWT VC");
  const sdAlg = typeof payload["_sd_alg"] === "string" ? payload["_sd_alg"] : DEFAULT_SD_ALG;
  const decoded: Disclosure[] = parts.disclosures.map((d) => decodeDisclosure(d, sdAlg));
  const { revealed } = applyDisclosures(payload, decoded);
  const wanted = options.purposeClaims;
  const keep = new Set<string>();
  for (const r of revealed) {
    const text = claimPathText(r.path);
    if (wanted === undefined || wanted.some((p) => under(text, p))) {
      keep.add(r.disclosure.digest);
      // Ancestors revealed by other disclosures are needed to reach this one.
      for (const a of revealed) if (under(text, claimPathText(a.path))) keep.add(a.disclosure.digest);
    }
  }
  const kept = decoded.filter((d) => keep.has(d.digest));
  const claimsRevealed = revealed
    .filter((r) => keep.has(r.disclosure.digest) && r.disclosure.name !== undefined)
    .map((r) => claimPathText(r.path));
  return Object.freeze({
    sdJwtVc: parts.jwt,
    disclosures: Object.freeze(kept.map((d) => d.encoded)),
    claimsRevealed: Object.freeze(claimsRevealed),
  });
}
