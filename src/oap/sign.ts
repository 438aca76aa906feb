/**
 * OAP signatures (OAP-CORE-1.0 §8.2, §8.3, §8.4, §19.1, Appendix C; docs/oap-signatures.md).
 *
 * Signing input: the UTF-8 bytes of the RFC 8785 (JCS) form of the document with its
 * signature member(s) removed, at the top level only:
 *  - singly signed documents (request and response envelopes, deletion receipts, attestations,
 *    wallet statements, task control messages): without `signature`;
 *  - receipts: without `signatures` and `anchors` (anchors are added after signing);
 *  - conformance receipts: without `signatures` and `peer_witnesses`.
 * Every signer of a multiply signed document signs the same bytes, so signatures are
 * independent of each other and of their order.
 *
 * `value` is unpadded base64url (RFC 4648 §5) of the raw signature (Ed25519: 64 bytes); padded,
 * standard-base64 or otherwise non-canonical text is rejected. Only EdDSA (Ed25519, Appendix C
 * "required") is produced and verified; ES256/ES384 are schema-valid but answered with
 * `ERR_OAP_SIGNATURE_ALG_UNSUPPORTED`.
 *
 * `alg` and `kid` sit inside the excluded member, so they are not covered by the signature:
 * verifiers bind them instead — the key must be an EdDSA key, and `kid` must be a DID URL of the
 * expected signer (the request's `agent_did`, the Tool DID for responses and receipts).
 *
 * @module
 */
import { isKeyUsableAt, PrivateKeyRecord, publicKeyFor, PublicKeyRecord } from "../crypto/keys.js";
import type { Jwks, PublicJwk } from "../crypto/jwk.js";
import { canonicalizeJsonBytes } from "../jcs/index.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { validateSchema, type SchemaName } from "../schema/validate.js";
import type { DidDocumentResolver } from "../trust/did/resolver.js";
import { b64uDecode, b64uEncode } from "../util/base64url.js";
import { OapError } from "./errors.js";
import { ReplayGuard } from "./replay.js";
import { didOf, type OapClock } from "./util.js";

/** Signature algorithms of the OAP schemas. */
export type OapSignatureAlg = "EdDSA" | "ES256" | "ES384";

/** The singly signed documents' signature member. */
export interface OapSignature {
  readonly alg: OapSignatureAlg;
  readonly kid: string;
  readonly value: string;
}

/** One entry of a receipt's `signatures`. */
export interface OapReceiptSignature {
  readonly by: string;
  readonly alg: OapSignatureAlg;
  readonly value: string;
}

/** Top-level members excluded from the signing input of singly signed documents. */
export const SINGLE_SIGNATURE_EXCLUDED: readonly string[] = Object.freeze(["signature"]);
/** Top-level members excluded from a receipt's signing input (and `anchors` from its hash). */
export const RECEIPT_SIGNATURE_EXCLUDED: readonly string[] = Object.freeze(["signatures", "anchors"]);
/** Top-level members excluded from a conformance receipt's signing input (attest.js). */
export const CONFORMANCE_SIGNATURE_EXCLUDED: readonly string[] = Object.freeze(["signatures", "peer_witnesses"]);

/** The JSON document without the named top-level members. */
export function withoutMembers(doc: JsonObject, exclude: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (!exclude.includes(k)) out[k] = v;
  return out;
}

/** UTF-8 JCS bytes of `doc` without the `exclude` members (the signing input). */
export function signingInput(doc: JsonObject, exclude: readonly string[] = SINGLE_SIGNATURE_EXCLUDED): Uint8Array {
  if (!isJsonObject(doc)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "an OAP document must be a JSON object");
  try {
    return canonicalizeJsonBytes(withoutMembers(doc, exclude));
  } catch (cause) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the document has no canonical JSON form: ${(cause as Error).message}`, { cause });
  }
}

/** A signing key and the DID URL it signs as. */
export interface OapSigner {
  /** An EdDSA (Ed25519) private key. */
  readonly key: PrivateKeyRecord;
  /** DID URL written as `kid` / `by`, e.g. "did:web:tool.example#key-1". Default: `key.kid`. */
  readonly kid?: string;
}

function signerParts(signer: OapSigner | PrivateKeyRecord): { key: PrivateKeyRecord; kid: string } {
  const s = signer instanceof PrivateKeyRecord ? { key: signer } : signer;
  if (!(s.key instanceof PrivateKeyRecord) || s.key.alg !== "EdDSA") {
    throw new OapError("ERR_OAP_SIGNING", "OAP signatures need an EdDSA (Ed25519) private key");
  }
  return { key: s.key, kid: s.kid ?? s.key.kid };
}

function rawSign(key: PrivateKeyRecord, bytes: Uint8Array): string {
  return b64uEncode(key.sign(bytes));
}

/** Options of {@link signDocument}. */
export interface SignDocumentOptions {
  /** Validate the signed result against this schema (ERR_OAP_ENVELOPE_INVALID when it fails). */
  readonly schema?: SchemaName;
}

/**
 * Signs a singly signed OAP document: returns a copy with `signature: {alg: "EdDSA", kid,
 * value}` (an existing `signature` is replaced).
 */
export function signDocument<T extends object>(doc: T, signer: OapSigner | PrivateKeyRecord, options: SignDocumentOptions = {}): T & { signature: OapSignature } {
  const { key, kid } = signerParts(signer);
  const value = rawSign(key, signingInput(doc as unknown as JsonObject, SINGLE_SIGNATURE_EXCLUDED));
  const signed = { ...withoutMembers(doc as unknown as JsonObject, SINGLE_SIGNATURE_EXCLUDED), signature: { alg: "EdDSA", kid, value } } as unknown as T & {
    signature: OapSignature;
  };
  if (options.schema !== undefined) assertSchema(options.schema, signed);
  return signed;
}

/** §8.2: signs a request envelope (as the agent) and checks it against the request schema. */
export function signRequest<T extends object>(envelope: T, signer: OapSigner | PrivateKeyRecord): T & { signature: OapSignature } {
  return signDocument(envelope, signer, { schema: "oap-request-envelope" });
}

/** §8.3: signs a response envelope (as the Tool) and checks it against the response schema. */
export function signResponse<T extends object>(envelope: T, signer: OapSigner | PrivateKeyRecord): T & { signature: OapSignature } {
  return signDocument(envelope, signer, { schema: "oap-response-envelope" });
}

/**
 * §19.1: adds one signature to a receipt (`signatures[]` gains `{by, alg: "EdDSA", value}`),
 * over the receipt without `signatures` and `anchors`. A previous signature by the same `by`
 * is replaced.
 */
export function addReceiptSignature<T extends object>(receipt: T, signer: OapSigner | PrivateKeyRecord): T & { signatures: OapReceiptSignature[] } {
  const { key, kid } = signerParts(signer);
  const doc = receipt as unknown as JsonObject;
  const value = rawSign(key, signingInput(doc, RECEIPT_SIGNATURE_EXCLUDED));
  const previous = Array.isArray(doc["signatures"]) ? (doc["signatures"] as JsonValue[]) : [];
  const kept = previous.filter((s) => !(isJsonObject(s) && s["by"] === kid)) as unknown as OapReceiptSignature[];
  return { ...receipt, signatures: [...kept, { by: kid, alg: "EdDSA", value }] } as T & { signatures: OapReceiptSignature[] };
}

function assertSchema(schema: SchemaName, doc: unknown): void {
  const issues = validateSchema(schema, doc);
  if (issues.length > 0) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", `not a valid ${schema}: ${issues.map((i) => `${i.pointer || "/"} ${i.message}`).join("; ")}`, {
      details: { schema, issues: issues.map((i) => ({ pointer: i.pointer, message: i.message })) },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// key resolution
// ---------------------------------------------------------------------------------------------

/** Finds the public key of a `kid` / `by` DID URL. */
export interface OapKeyResolver {
  resolve(kid: string): PublicKeyRecord | undefined | Promise<PublicKeyRecord | undefined>;
}

type KeyLike = PublicJwk | PublicKeyRecord | PrivateKeyRecord;

function recordOf(k: KeyLike): PublicKeyRecord {
  if (k instanceof PrivateKeyRecord) return publicKeyFor(k.publicJwk);
  if (k instanceof PublicKeyRecord) return k;
  return publicKeyFor(k);
}

/** Resolves DID URLs from a fixed map (`{"did:web:tool.example#key-1": jwk}`). */
export function mapKeyResolver(keys: Readonly<Record<string, KeyLike>>): OapKeyResolver {
  const map = new Map(Object.entries(keys).map(([kid, k]) => [kid, recordOf(k)]));
  return { resolve: (kid) => map.get(kid) };
}

/**
 * Resolves the keys of a JWK Set published by `did`: `kid` matches when it equals
 * `${did}#${jwk.kid}`, or the JWK's own kid when that already is a DID URL of `did`.
 */
export function jwksKeyResolver(jwks: Jwks<PublicJwk> | readonly KeyLike[], did: string): OapKeyResolver {
  const keys = Array.isArray(jwks) ? (jwks as readonly KeyLike[]) : (jwks as Jwks<PublicJwk>).keys;
  const map: Record<string, KeyLike> = {};
  for (const k of keys) {
    const own = k.kid;
    map[own.startsWith(`${did}#`) ? own : `${did}#${own}`] = k;
  }
  return mapKeyResolver(map);
}

/** Tries resolvers in order. */
export function chainKeyResolvers(...resolvers: readonly OapKeyResolver[]): OapKeyResolver {
  return {
    async resolve(kid) {
      for (const r of resolvers) {
        const key = await r.resolve(kid);
        if (key !== undefined) return key;
      }
      return undefined;
    },
  };
}

/**
 * Resolves `kid` through DID resolution (src/trust/did): the DID of the DID URL is resolved and
 * the verification method whose absolute id equals `kid` is used. Resolution failures resolve
 * to undefined (→ ERR_OAP_SIGNATURE_KEY_UNKNOWN).
 */
export function didKeyResolver(resolver: DidDocumentResolver): OapKeyResolver {
  return {
    async resolve(kid) {
      try {
        const res = await resolver.resolve(didOf(kid));
        const key = res.keys.find((k) => k.id === kid);
        return key === undefined ? undefined : publicKeyFor(key.jwk);
      } catch {
        return undefined;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// verification
// ---------------------------------------------------------------------------------------------

/** A verified signature. */
export interface VerifiedSignature {
  /** The `kid` (or receipt `by`) DID URL. */
  readonly kid: string;
  /** The signer's DID (the DID of `kid`). */
  readonly signerDid: string;
  readonly key: PublicKeyRecord;
}

/** Options of {@link verifySignatureValue}. */
export interface VerifySignatureOptions {
  /** The DID the key must belong to (`kid` must be this DID or a DID URL of it). */
  readonly expectedSigner?: string;
  /** Key lifecycle check time (validFrom/validUntil/revoked); default: the clock's now. */
  readonly now?: OapClock;
}

/**
 * Verifies one signature `{alg, kid|by, value}` over `bytes`. Throws OapError (401
 * auth_required): ERR_OAP_SIGNATURE_MISSING, _ALG_UNSUPPORTED, ERR_OAP_SIGNER_MISMATCH,
 * ERR_OAP_SIGNATURE_KEY_UNKNOWN, ERR_OAP_SIGNATURE_INVALID.
 */
export async function verifySignatureValue(
  signature: unknown,
  bytes: Uint8Array,
  resolver: OapKeyResolver,
  options: VerifySignatureOptions = {},
): Promise<VerifiedSignature> {
  if (!isJsonObject(signature)) throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the document carries no signature");
  const kid = typeof signature["kid"] === "string" ? signature["kid"] : signature["by"];
  const { alg, value } = signature;
  if (typeof kid !== "string" || kid.length === 0 || typeof value !== "string") {
    throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the signature needs alg, kid (or by) and value");
  }
  if (alg !== "EdDSA") throw new OapError("ERR_OAP_SIGNATURE_ALG_UNSUPPORTED", `signature algorithm ${JSON.stringify(alg)} is not supported (EdDSA only)`, { details: { alg: String(alg) } });
  const signerDid = didOf(kid);
  if (options.expectedSigner !== undefined && signerDid !== options.expectedSigner) {
    throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the signing key ${kid} does not belong to ${options.expectedSigner}`, {
      details: { kid, expected: options.expectedSigner },
    });
  }
  let key: PublicKeyRecord | undefined;
  try {
    key = await resolver.resolve(kid);
  } catch (cause) {
    throw new OapError("ERR_OAP_SIGNATURE_KEY_UNKNOWN", `cannot resolve the signing key ${kid}`, { cause, details: { kid } });
  }
  if (key === undefined) throw new OapError("ERR_OAP_SIGNATURE_KEY_UNKNOWN", `unknown signing key ${kid}`, { details: { kid } });
  if (key.alg !== "EdDSA") throw new OapError("ERR_OAP_SIGNATURE_ALG_UNSUPPORTED", `the key ${kid} is not an EdDSA key`, { details: { kid } });
  if (!isKeyUsableAt(key.jwk, (options.now ?? (() => new Date()))())) {
    throw new OapError("ERR_OAP_SIGNATURE_KEY_UNKNOWN", `the key ${kid} is revoked or outside its validity period`, { details: { kid } });
  }
  let raw: Uint8Array;
  try {
    raw = b64uDecode(value);
  } catch {
    throw new OapError("ERR_OAP_SIGNATURE_INVALID", "the signature value is not unpadded base64url", { details: { kid } });
  }
  if (!(await key.verifyAsync(bytes, raw))) throw new OapError("ERR_OAP_SIGNATURE_INVALID", `the signature by ${kid} does not verify`, { details: { kid } });
  return { kid, signerDid, key };
}

/** Verifies the `signature` of a singly signed document. */
export async function verifyDocument(doc: unknown, resolver: OapKeyResolver, options: VerifySignatureOptions = {}): Promise<VerifiedSignature> {
  if (!isJsonObject(doc)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "an OAP document must be a JSON object");
  return verifySignatureValue(doc["signature"], signingInput(doc, SINGLE_SIGNATURE_EXCLUDED), resolver, options);
}

/** Options of {@link verifyRequest}. */
export interface VerifyRequestOptions {
  /** Replay protection (§28.3). Omit only where replays are handled elsewhere. */
  readonly replay?: ReplayGuard;
  /** Check the envelope against the request schema first (default true). */
  readonly validateSchema?: boolean;
  readonly now?: OapClock;
}

/** A request envelope whose signature verified. */
export interface VerifiedRequest {
  readonly envelope: JsonObject;
  readonly signature: VerifiedSignature;
}

/**
 * Receiving a request (§8.2, §28.3), cheap checks first: schema (400), timestamp inside ±5 min
 * (401 ERR_OAP_REPLAY_TIMESTAMP), the signature by a key of `agent_did` (401), then the
 * `request_id` nonce not seen within 10 min (409 ERR_OAP_REPLAY_NONCE; recorded only once the
 * signature verified, so forged requests cannot burn nonces).
 */
export async function verifyRequest(envelope: unknown, resolver: OapKeyResolver, options: VerifyRequestOptions = {}): Promise<VerifiedRequest> {
  if (options.validateSchema !== false) assertSchema("oap-request-envelope", envelope);
  if (!isJsonObject(envelope)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a request envelope must be a JSON object");
  const agent = envelope["agent_did"];
  if (typeof agent !== "string") throw new OapError("ERR_OAP_ENVELOPE_INVALID", "agent_did is required");
  options.replay?.checkTimestamp(envelope["timestamp"]);
  const signature = await verifyDocument(envelope, resolver, { expectedSigner: agent, ...(options.now === undefined ? {} : { now: options.now }) });
  await options.replay?.checkNonce(agent, envelope["request_id"]);
  return { envelope, signature };
}

/** Options of {@link verifyResponse}. */
export interface VerifyResponseOptions {
  /** The Tool's DID: the response must be signed by one of its keys. */
  readonly toolDid?: string;
  /** The request this answers: `request_id` must match. */
  readonly requestId?: string;
  readonly validateSchema?: boolean;
  readonly now?: OapClock;
}

/** Agent side (§8.3): schema, `request_id` correlation, and the Tool's signature. */
export async function verifyResponse(envelope: unknown, resolver: OapKeyResolver, options: VerifyResponseOptions = {}): Promise<VerifiedSignature> {
  if (options.validateSchema !== false) assertSchema("oap-response-envelope", envelope);
  if (!isJsonObject(envelope)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a response envelope must be a JSON object");
  if (options.requestId !== undefined && envelope["request_id"] !== options.requestId) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", "the response answers another request_id", { details: { expected: options.requestId } });
  }
  const opts: VerifySignatureOptions = {
    ...(options.toolDid === undefined ? {} : { expectedSigner: options.toolDid }),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  return verifyDocument(envelope, resolver, opts);
}

/** Options of {@link verifyReceiptSignatures}. */
export interface VerifyReceiptSignaturesOptions {
  /** DIDs that must each have a valid signature (default: `tool_did` when the receipt has one). */
  readonly requiredSigners?: readonly string[];
  readonly now?: OapClock;
}

/**
 * Verifies every entry of a receipt's `signatures` (all must verify) and that each required
 * signer signed. Throws the first failure.
 */
export async function verifyReceiptSignatures(
  receipt: unknown,
  resolver: OapKeyResolver,
  options: VerifyReceiptSignaturesOptions = {},
): Promise<VerifiedSignature[]> {
  if (!isJsonObject(receipt)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a receipt must be a JSON object");
  const sigs = receipt["signatures"];
  if (!Array.isArray(sigs) || sigs.length === 0) throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the receipt has no signatures");
  const bytes = signingInput(receipt, RECEIPT_SIGNATURE_EXCLUDED);
  const now = options.now === undefined ? {} : { now: options.now };
  const verified = await Promise.all(sigs.map((s) => verifySignatureValue(s, bytes, resolver, now)));
  const tool = receipt["tool_did"];
  const required = options.requiredSigners ?? (typeof tool === "string" ? [tool] : []);
  for (const did of required) {
    if (!verified.some((v) => v.signerDid === did)) {
      throw new OapError("ERR_OAP_SIGNATURE_MISSING", `the receipt is not signed by ${did}`, { details: { signer: did } });
    }
  }
  return verified;
}

// ---------------------------------------------------------------------------------------------
// OAP-Signature header (§8.4)
// ---------------------------------------------------------------------------------------------

/** §8.4 `OAP-Signature` value for an envelope: the same base64url value as `signature.value`. */
export function oapSignatureHeader(envelope: unknown): string {
  const sig = isJsonObject(envelope) && isJsonObject(envelope["signature"]) ? envelope["signature"]["value"] : undefined;
  if (typeof sig !== "string") throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the envelope is not signed");
  return sig;
}

/**
 * The §8.4 headers of a signed request envelope: `OAP-Version`, `OAP-Request-Id` (its
 * `request_id`) and `OAP-Signature`.
 */
export function oapRequestHeaders(envelope: unknown): Record<string, string> {
  const requestId = isJsonObject(envelope) ? envelope["request_id"] : undefined;
  return { "oap-version": "1.0", "oap-request-id": String(requestId), "oap-signature": oapSignatureHeader(envelope) };
}

/**
 * Checks an `OAP-Signature` header against the envelope: when both are present they must be
 * the same value (a detached signature over the same JCS bytes); a header alone cannot stand in
 * for `signature`, which the schemas require.
 */
export function checkOapSignatureHeader(envelope: unknown, header: string | null | undefined): void {
  if (header === null || header === undefined || header === "") return;
  if (header.trim() !== oapSignatureHeader(envelope)) {
    throw new OapError("ERR_OAP_SIGNATURE_INVALID", "the OAP-Signature header differs from the envelope signature");
  }
}
