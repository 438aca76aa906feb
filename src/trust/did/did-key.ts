/**
 * did:key (W3C CCG did:key method) for the two key types OHP uses: Ed25519 (multicodec
 * `ed25519-pub` 0xed, varint `ed 01`) and X25519 (`x25519-pub` 0xec, varint `ec 01`), multibase
 * base58btc (`z`). Other multicodecs are refused with `ERR_DID_KEY_CODEC_UNSUPPORTED`.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import type { PublicJwk } from "../../crypto/jwk.js";
import { parsePublicJwk } from "../../crypto/keys.js";
import { b64uDecode, b64uEncode } from "../../util/base64url.js";
import { base58btcDecode, base58btcEncode } from "./base58.js";
import type { DidDocument, VerificationMethod } from "./document.js";
import { DidError } from "./errors.js";
import { MAX_DID_LENGTH } from "./did-web.js";

/** Multicodec code of an Ed25519 public key. */
export const MULTICODEC_ED25519_PUB = 0xed;
/** Multicodec code of an X25519 public key. */
export const MULTICODEC_X25519_PUB = 0xec;

/** Key types did:key supports here. */
export type DidKeyType = "Ed25519" | "X25519";

const CODEC_OF: Readonly<Record<DidKeyType, number>> = { Ed25519: MULTICODEC_ED25519_PUB, X25519: MULTICODEC_X25519_PUB };
const KEY_LENGTH = 32;

/** A decoded did:key. */
export interface DidKey {
  readonly did: string;
  /** The multibase value (`z…`), also the fragment of its verification method. */
  readonly multibase: string;
  readonly type: DidKeyType;
  /** Raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Public JWK (`kid` = the multibase value). */
  readonly jwk: PublicJwk;
}

function invalid(value: string, reason: string): DidError {
  return new DidError("ERR_DID_INVALID", `invalid did:key ${JSON.stringify(value.slice(0, 200))}: ${reason}`, { detail: { reason } });
}

/** Unsigned LEB128 varint (multiformats unsigned-varint, at most 9 bytes, minimal). */
function readVarint(bytes: Uint8Array): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < Math.min(bytes.length, 9); i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return undefined; // non-minimal
      return { value, length: i + 1 };
    }
  }
  return undefined;
}

function writeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * Decodes a multibase (base58btc) multicodec public key (did:key §3.1.3 "Decode Public Key"),
 * as found in a did:key or a `publicKeyMultibase`. Throws `ERR_DID_INVALID` or
 * `ERR_DID_KEY_CODEC_UNSUPPORTED`.
 */
export function decodeMultibaseKey(multibase: string): { readonly type: DidKeyType; readonly publicKey: Uint8Array } {
  if (typeof multibase !== "string" || !multibase.startsWith("z")) throw invalid(String(multibase), 'multibase value must be base58btc ("z" prefix)');
  const bytes = base58btcDecode(multibase.slice(1));
  if (bytes === undefined) throw invalid(multibase, "not base58btc");
  const header = readVarint(bytes);
  if (header === undefined) throw invalid(multibase, "bad multicodec varint");
  const type = header.value === MULTICODEC_ED25519_PUB ? "Ed25519" : header.value === MULTICODEC_X25519_PUB ? "X25519" : undefined;
  if (type === undefined) {
    throw new DidError("ERR_DID_KEY_CODEC_UNSUPPORTED", `multicodec 0x${header.value.toString(16)} is not ed25519-pub or x25519-pub`, {
      detail: { codec: `0x${header.value.toString(16)}` },
    });
  }
  const publicKey = bytes.slice(header.length);
  if (publicKey.length !== KEY_LENGTH) throw invalid(multibase, `${type} public key must be ${KEY_LENGTH} bytes`);
  return { type, publicKey };
}

/** Multibase (base58btc) multicodec encoding of a raw public key. */
export function encodeMultibaseKey(type: DidKeyType, publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_LENGTH) {
    throw new DidError("ERR_DID_INVALID", `${type} public key must be ${KEY_LENGTH} bytes`);
  }
  return `z${base58btcEncode(Uint8Array.from([...writeVarint(CODEC_OF[type]), ...publicKey]))}`;
}

function jwkOf(type: DidKeyType, publicKey: Uint8Array, kid: string): PublicJwk {
  return parsePublicJwk({ kid, kty: "OKP", crv: type, x: b64uEncode(publicKey) }, { requireKid: true });
}

/** Decodes `did:key:z…` (did:key §2). Throws {@link DidError}. */
export function parseDidKey(did: string): DidKey {
  if (typeof did !== "string" || did.length > MAX_DID_LENGTH) throw invalid(String(did), "not a DID");
  if (!did.startsWith("did:key:")) {
    if (/^did:[a-z0-9]+:/.test(did)) {
      throw new DidError("ERR_DID_METHOD_UNSUPPORTED", `not a did:key: ${JSON.stringify(did.slice(0, 200))}`, { detail: { method: did.split(":")[1] } });
    }
    throw invalid(did, 'must start with "did:key:"');
  }
  const multibase = did.slice("did:key:".length);
  if (/[:/?#]/.test(multibase)) throw invalid(did, "a DID URL or versioned did:key is not supported");
  const { type, publicKey } = decodeMultibaseKey(multibase);
  return Object.freeze({ did, multibase, type, publicKey, jwk: jwkOf(type, publicKey, multibase) });
}

/** The did:key of an Ed25519 or X25519 public key (raw bytes, or a public OKP JWK). */
export function didKeyFromPublicKey(key: { readonly type: DidKeyType; readonly publicKey: Uint8Array } | PublicJwk): string {
  if ("publicKey" in key) return `did:key:${encodeMultibaseKey(key.type, key.publicKey)}`;
  const raw = key as unknown as Readonly<Record<string, unknown>>;
  if (raw["kty"] !== "OKP" || (raw["crv"] !== "Ed25519" && raw["crv"] !== "X25519") || typeof raw["x"] !== "string") {
    throw new DidError("ERR_DID_KEY_CODEC_UNSUPPORTED", "did:key is supported for Ed25519 and X25519 OKP keys only", {
      detail: { kty: String(raw["kty"]), crv: String(raw["crv"]) },
    });
  }
  let publicKey: Uint8Array;
  try {
    publicKey = b64uDecode(raw["x"]);
  } catch (cause) {
    throw new DidError("ERR_DID_INVALID", 'JWK member "x" is not base64url', { cause });
  }
  return `did:key:${encodeMultibaseKey(raw["crv"], publicKey)}`;
}

/**
 * did:key §3.1.6 "Derive Encryption Key": the X25519 (Montgomery) form of an Ed25519 public key
 * (birational map u = (1 + y) / (1 - y)). Throws `ERR_DID_INVALID` for a point not on the curve.
 */
export function ed25519ToX25519PublicKey(publicKey: Uint8Array): Uint8Array {
  try {
    return Uint8Array.from(ed25519.utils.toMontgomery(publicKey));
  } catch (cause) {
    throw new DidError("ERR_DID_INVALID", "Ed25519 public key is not a valid curve point", { cause });
  }
}

/** Options of {@link didKeyDocument}. */
export interface DidKeyDocumentOptions {
  /** did:key `enableEncryptionKeyDerivation`: add the derived X25519 key as `keyAgreement`. Default true. */
  readonly enableEncryptionKeyDerivation?: boolean;
}

const CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"];

function multikey(did: string, multibase: string): VerificationMethod {
  return { id: `${did}#${multibase}`, type: "Multikey", controller: did, publicKeyMultibase: multibase };
}

/**
 * did:key §3.1.1 "Document Creation Algorithm" (Multikey form): one verification method for the
 * key; an Ed25519 key is referenced from authentication, assertionMethod, capabilityInvocation and
 * capabilityDelegation, plus (by default) its derived X25519 key as keyAgreement; an X25519 key
 * only as keyAgreement.
 */
export function didKeyDocument(did: string, options: DidKeyDocumentOptions = {}): DidDocument {
  const key = parseDidKey(did);
  const vm = multikey(did, key.multibase);
  if (key.type === "X25519") {
    return { "@context": CONTEXT, id: did, verificationMethod: [vm], keyAgreement: [vm.id] };
  }
  const refs = [vm.id];
  const doc: Record<string, unknown> = {
    "@context": CONTEXT,
    id: did,
    verificationMethod: [vm],
    authentication: refs,
    assertionMethod: refs,
    capabilityInvocation: refs,
    capabilityDelegation: refs,
  };
  if (options.enableEncryptionKeyDerivation !== false) {
    const x = encodeMultibaseKey("X25519", ed25519ToX25519PublicKey(key.publicKey));
    doc["keyAgreement"] = [multikey(did, x)];
  }
  return doc as DidDocument;
}
