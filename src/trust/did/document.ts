/**
 * DID documents (W3C DID Core 1.0, §5.2 verification methods, §5.3 relationships): a shape check
 * that keeps what key resolution needs, and the extraction of verification keys as OHP public
 * JWKs (`publicKeyJwk`, and `publicKeyMultibase` for Ed25519 / X25519 multikeys).
 *
 * @module
 */
import { KeyError, type PublicJwk } from "../../crypto/jwk.js";
import { parsePublicJwk } from "../../crypto/keys.js";
import { b64uEncode } from "../../util/base64url.js";
import { decodeMultibaseKey } from "./did-key.js";
import { DidError } from "./errors.js";

/** A verification method (DID Core §5.2). Members other than these are kept but not interpreted. */
export interface VerificationMethod {
  readonly id: string;
  readonly type: string;
  readonly controller?: string;
  readonly publicKeyJwk?: Readonly<Record<string, unknown>>;
  readonly publicKeyMultibase?: string;
  readonly [member: string]: unknown;
}

/** A DID document as far as key resolution is concerned. */
export interface DidDocument {
  readonly id: string;
  readonly verificationMethod?: readonly VerificationMethod[];
  readonly authentication?: readonly (string | VerificationMethod)[];
  readonly assertionMethod?: readonly (string | VerificationMethod)[];
  readonly keyAgreement?: readonly (string | VerificationMethod)[];
  readonly capabilityInvocation?: readonly (string | VerificationMethod)[];
  readonly capabilityDelegation?: readonly (string | VerificationMethod)[];
  readonly [member: string]: unknown;
}

/** Verification relationships (DID Core §5.3) that may reference or embed verification methods. */
export const VERIFICATION_RELATIONSHIPS = [
  "authentication",
  "assertionMethod",
  "keyAgreement",
  "capabilityInvocation",
  "capabilityDelegation",
] as const;

/** One of {@link VERIFICATION_RELATIONSHIPS}. */
export type VerificationRelationship = (typeof VERIFICATION_RELATIONSHIPS)[number];

/** Upper bound on verification methods (listed plus embedded) in one document. */
export const MAX_VERIFICATION_METHODS = 64;

/** A key taken from a DID document. */
export interface DidDocumentKey {
  /** Absolute verification method id (`did…#fragment`). */
  readonly id: string;
  /** Verification method `type` (`JsonWebKey2020`, `Multikey`, …). */
  readonly type: string;
  /** The key as a normalised public JWK; `kid` = the JWK's own `kid`, else the id's fragment. */
  readonly jwk: PublicJwk;
  /** Relationships that reference or embed this method. */
  readonly relationships: readonly VerificationRelationship[];
}

/** A verification method that was skipped (unsupported key type or encoding). */
export interface SkippedVerificationMethod {
  readonly id: string;
  readonly reason: string;
}

function invalid(message: string, detail: Record<string, unknown> = {}, cause?: unknown): DidError {
  return new DidError("ERR_DID_DOCUMENT_INVALID", message, cause === undefined ? { detail } : { detail, cause });
}

/**
 * Checks that `value` is a DID document for `did`: a JSON object whose `id` is a string equal
 * to `did` (did:web §2.5.2 step 7), with `verificationMethod` and the relationships, when present,
 * arrays of strings / objects. Throws `ERR_DID_DOCUMENT_INVALID` or `ERR_DID_DOCUMENT_ID_MISMATCH`.
 */
export function validateDidDocument(value: unknown, did: string): DidDocument {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("a DID document must be a JSON object");
  const doc = value as Record<string, unknown>;
  if (typeof doc["id"] !== "string") throw invalid('a DID document needs a string "id"');
  if (doc["id"] !== did) {
    throw new DidError("ERR_DID_DOCUMENT_ID_MISMATCH", `document id ${JSON.stringify(doc["id"])} differs from the DID ${did}`, {
      detail: { did, id: doc["id"] },
    });
  }
  for (const member of ["verificationMethod", ...VERIFICATION_RELATIONSHIPS]) {
    const list = doc[member];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(`"${member}" must be an array`, { member });
    list.forEach((item: unknown, index) => {
      const embeddedOk = member !== "verificationMethod" && typeof item === "string";
      if (!embeddedOk && (typeof item !== "object" || item === null || Array.isArray(item))) {
        throw invalid(`"${member}[${index}]" must be ${member === "verificationMethod" ? "an object" : "a string or an object"}`, { member, index });
      }
    });
  }
  return doc as DidDocument;
}

function absoluteId(docId: string, id: string): string {
  return id.startsWith("#") ? `${docId}${id}` : id;
}

function fragmentOf(id: string): string {
  const hash = id.indexOf("#");
  return hash >= 0 && hash < id.length - 1 ? id.slice(hash + 1) : id;
}

const JWK_ALG_ALIASES: Readonly<Record<string, readonly string[]>> = {
  // RFC 9864 fully-specified name; OHP keys carry "EdDSA".
  Ed25519: ["Ed25519"],
  // Generic ECDH-ES labels of X25519 keys in DID documents; OHP labels them with the HPKE suite.
  X25519: ["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"],
};

function jwkFromMethod(vm: VerificationMethod, kid: string): PublicJwk {
  if (vm.publicKeyJwk !== undefined) {
    if (typeof vm.publicKeyJwk !== "object" || vm.publicKeyJwk === null || Array.isArray(vm.publicKeyJwk)) {
      throw invalid(`verification method ${vm.id}: "publicKeyJwk" must be an object`, { id: vm.id });
    }
    const jwk: Record<string, unknown> = { ...vm.publicKeyJwk };
    const aliases = typeof jwk["crv"] === "string" ? JWK_ALG_ALIASES[jwk["crv"]] : undefined;
    if (aliases !== undefined && typeof jwk["alg"] === "string" && aliases.includes(jwk["alg"])) delete jwk["alg"];
    if (typeof jwk["kid"] !== "string") jwk["kid"] = kid;
    return parsePublicJwk(jwk, { requireKid: true });
  }
  if (vm.publicKeyMultibase !== undefined) {
    if (typeof vm.publicKeyMultibase !== "string") throw invalid(`verification method ${vm.id}: "publicKeyMultibase" must be a string`, { id: vm.id });
    const { type, publicKey } = decodeMultibaseKey(vm.publicKeyMultibase);
    return parsePublicJwk({ kid, kty: "OKP", crv: type, x: b64uEncode(publicKey) }, { requireKid: true });
  }
  throw new KeyError("ERR_KEY_UNSUPPORTED", "no publicKeyJwk or publicKeyMultibase");
}

/**
 * The keys of a (validated) DID document: every method of `verificationMethod` plus those embedded
 * in relationships, in document order, with the relationships that reference each. Methods whose
 * key type or encoding is not supported here are returned in `skipped`; a malformed method, a
 * duplicate id or a public key carrying private members is `ERR_DID_DOCUMENT_INVALID`.
 */
export function didDocumentKeys(doc: DidDocument): { keys: DidDocumentKey[]; skipped: SkippedVerificationMethod[] } {
  const methods = new Map<string, { vm: VerificationMethod; relationships: VerificationRelationship[] }>();
  const add = (item: unknown, where: string): string => {
    if (typeof item !== "object" || item === null) throw invalid(`${where} must be an object`);
    const vm = item as VerificationMethod;
    if (typeof vm.id !== "string" || vm.id.length === 0 || typeof vm.type !== "string") {
      throw invalid(`${where} needs string "id" and "type"`, { where });
    }
    const id = absoluteId(doc.id, vm.id);
    if (methods.has(id)) throw invalid(`duplicate verification method id ${id}`, { id });
    if (methods.size >= MAX_VERIFICATION_METHODS) throw invalid(`more than ${MAX_VERIFICATION_METHODS} verification methods`);
    methods.set(id, { vm, relationships: [] });
    return id;
  };
  (doc.verificationMethod ?? []).forEach((vm, i) => add(vm, `verificationMethod[${i}]`));
  for (const rel of VERIFICATION_RELATIONSHIPS) {
    (doc[rel] ?? []).forEach((item, i) => {
      const id = typeof item === "string" ? absoluteId(doc.id, item) : add(item, `${rel}[${i}]`);
      methods.get(id)?.relationships.push(rel);
    });
  }
  const keys: DidDocumentKey[] = [];
  const skipped: SkippedVerificationMethod[] = [];
  for (const [id, { vm, relationships }] of methods) {
    try {
      const jwk = jwkFromMethod(vm, fragmentOf(id));
      keys.push(Object.freeze({ id, type: vm.type, jwk, relationships: Object.freeze(relationships) }));
    } catch (e) {
      const unsupported =
        (e instanceof KeyError && e.code === "ERR_KEY_UNSUPPORTED") || (e instanceof DidError && e.code === "ERR_DID_KEY_CODEC_UNSUPPORTED");
      if (unsupported) {
        skipped.push({ id, reason: (e as Error).message });
        continue;
      }
      if (e instanceof DidError && e.code === "ERR_DID_DOCUMENT_INVALID") throw e;
      throw invalid(`verification method ${id}: ${(e as Error).message}`, { id }, e);
    }
  }
  return { keys, skipped };
}
