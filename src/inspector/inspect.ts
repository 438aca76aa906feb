/**
 * `inspectDocument`: what the inspector's `Inspect` call does, as a plain function. It detects
 * the document type from the JSON text and runs the checks that apply:
 *
 * - OHP envelope: the receiver pipeline ({@link verifyEnvelope}) with fresh replay and
 *   rate-limit state and the node's policy, missing hooks reported as `unverified` (never
 *   failing: `requireHooks` is off); each signature entry verified on its own; the sealed block
 *   described, and opened when a private key is supplied (step 13).
 * - Open Floor / OVON: {@link validateOfp}.
 * - OAP receipts (one, an array, or `{"receipts": [...]}`): schema, signatures one by one and
 *   the hash chain ({@link verifyReceiptChain}).
 * - any other document with a schema: {@link validateDocument} / the OAP schemas.
 *
 * Read-only and never throwing for bad input: every problem is an issue in the response.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BrokenReceiptSchema,
  DocumentType,
  InspectResponseSchema,
  IssueSchema,
  OapPrincipalSchema,
  OapReceiptSchema,
  OapReportSchema,
  OfpReportSchema,
  OhpReportSchema,
  PipelineStepSchema,
  SealedBlockSchema,
  SignatureSchema,
  type InspectRequest,
  type InspectResponse,
  type Issue,
  type OhpReport,
  type SealedBlock,
  type Signature,
} from "../../gen/agentwire/inspector/v1/inspector_pb.js";
import type { Jwks, PublicJwk } from "../crypto/jwk.js";
import { tryVerifyDetached } from "../crypto/jws.js";
import { parseJwks, parsePrivateJwks, publicKeyFor, type PrivateKeyRecord } from "../crypto/keys.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { OAP_SCHEMA_NAMES, validateOapDocument } from "../oap/documents.js";
import { receiptHash, verifyReceiptChain } from "../oap/receipts.js";
import { chainKeyResolvers, jwksKeyResolver, mapKeyResolver, RECEIPT_SIGNATURE_EXCLUDED, signingInput, verifySignatureValue, type OapKeyResolver } from "../oap/sign.js";
import { didOf } from "../oap/util.js";
import { validateOfp } from "../ofp/validate.js";
import type { ReceiverPolicy } from "../ohp/policy.js";
import { boundedSigningSurface, TIER_SIGNATURE_ALGS } from "../ohp/sign.js";
import { isTier } from "../ohp/tiers.js";
import { verifyEnvelope, type VerifyEnvelopeOptions, type VerifyEnvelopeResult } from "../ohp/verify.js";
import { detectSchema, type ValidationIssue } from "../schema/validate.js";
import { didDocumentKeys, validateDidDocument } from "../trust/did/document.js";
import { validateDocument } from "../validate.js";

/** The largest document Inspect reads (a long OAP receipt chain; OHP's own 32 KiB limit is a pipeline check). */
export const INSPECT_MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** Where the inspector finds issuer keys when the request brings none: the node's own trust. */
export interface InspectorTrust {
  /** The node's policy (the pipeline runs with it, `requireHooks` off). Default: OHP's fail-closed defaults. */
  readonly policy?: ReceiverPolicy;
  /** Issuers the node trusts: their public JWKS by DID or vendor (as `OhpNodeOptions.trustedIssuers`). */
  readonly trustedIssuers?: ReadonlyMap<string, Jwks<PublicJwk>>;
  /** Resolves issuers not in `trustedIssuers` (as `OhpNodeOptions.resolveIssuerKeys`, e.g. did:web). */
  readonly resolveIssuerKeys?: (did: string) => Promise<Jwks<PublicJwk> | undefined>;
  /** The node's clock when the request names none. */
  readonly now?: () => Date;
}

function issue(i: ValidationIssue): Issue {
  return create(IssueSchema, { pointer: i.pointer, message: i.message, rule: i.rule });
}

function problem(message: string, rule: string, pointer = ""): Issue {
  return create(IssueSchema, { pointer, message, rule });
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(v) ? v : undefined;
}

function messageOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const m = e instanceof Error ? e.message : String(e);
  return typeof code === "string" && code.startsWith("ERR_") ? `${m} [${code}]` : m;
}

/** Inspects one document (see the module comment). */
export async function inspectDocument(request: Pick<InspectRequest, "documentJson" | "jwksJson" | "privateJwksJson" | "now" | "signerDid" | "logKeys">, trust: InspectorTrust = {}): Promise<InspectResponse> {
  const text = request.documentJson;
  const byteLength = Buffer.byteLength(text, "utf8");
  if (byteLength > INSPECT_MAX_DOCUMENT_BYTES) {
    return create(InspectResponseSchema, {
      summary: "document too large",
      errors: [problem(`the document is ${byteLength} bytes; the inspector reads at most ${INSPECT_MAX_DOCUMENT_BYTES}`, "inspector")],
    });
  }
  if (text.trim() === "") return create(InspectResponseSchema, { summary: "no document", errors: [problem("paste or drop a document", "inspector")] });
  let doc: JsonValue;
  try {
    doc = parseJsonStrict(text);
  } catch (e) {
    return create(InspectResponseSchema, { summary: "not JSON", errors: [problem(messageOf(e), "json")] });
  }
  const now = request.now !== undefined ? timestampDate(request.now) : (trust.now?.() ?? new Date());

  const receipts = oapReceiptsOf(doc);
  if (receipts !== undefined) return inspectOapReceipts(receipts, request, now);

  const schema = detectSchema(doc);
  if (schema === "ohp-envelope") return inspectOhp(doc as JsonObject, byteLength, request, trust, now);
  if (schema !== undefined && (schema.startsWith("ofp-") || schema.startsWith("ovon-"))) return inspectOfp(doc);
  if (schema !== undefined) {
    const r = validateDocument(doc, { schema });
    return create(InspectResponseSchema, {
      type: DocumentType.OTHER,
      schema,
      valid: r.valid,
      summary: `${schema}: ${r.valid ? "valid" : `${r.errors.length} error(s)`}`,
      errors: r.errors.map(issue),
      warnings: r.warnings.map(issue),
    });
  }
  // Other OAP documents: the first OAP schema the document satisfies.
  if (isJsonObject(doc)) {
    for (const name of OAP_SCHEMA_NAMES) {
      if (validateOapDocument(name, doc).length === 0) {
        return create(InspectResponseSchema, { type: DocumentType.OTHER, schema: name, valid: true, summary: `${name}: valid (schema only)` });
      }
    }
  }
  return create(InspectResponseSchema, {
    summary: "unknown document",
    errors: [problem("not an OHP envelope, Open Floor / OVON document, OAP receipt or other agentwire document", "detect")],
  });
}

// ---------------------------------------------------------------------------------------------
// OHP

async function nodeIssuerKeys(issuer: JsonObject, trust: InspectorTrust): Promise<Jwks<PublicJwk> | undefined> {
  const did = str(issuer["did"]);
  const vendor = str(issuer["vendor"]);
  const fixed = (did !== undefined ? trust.trustedIssuers?.get(did) : undefined) ?? (vendor !== undefined ? trust.trustedIssuers?.get(vendor) : undefined);
  if (fixed !== undefined) return fixed;
  if (did === undefined || trust.resolveIssuerKeys === undefined) return undefined;
  try {
    return await trust.resolveIssuerKeys(did);
  } catch {
    return undefined;
  }
}

function signatureReport(env: JsonObject, keys: Jwks<PublicJwk> | undefined, keyError: string | undefined, now: Date): Signature[] {
  const entries = env["signatures"];
  if (!Array.isArray(entries)) return [];
  let surface: Uint8Array | undefined;
  let surfaceError: string | undefined;
  try {
    surface = boundedSigningSurface(env);
  } catch (e) {
    surfaceError = messageOf(e);
  }
  const tier = env["conformance"];
  const allow = isTier(tier) && TIER_SIGNATURE_ALGS[tier].length > 0 ? TIER_SIGNATURE_ALGS[tier] : undefined;
  return entries.map((raw) => {
    const e = obj(raw) ?? {};
    const alg = str(e["alg"]) ?? "";
    const kid = str(e["kid"]) ?? "";
    const jws = str(e["jws"]);
    let error: string | undefined;
    if (jws === undefined) error = "no jws";
    else if (surface === undefined) error = surfaceError ?? "no signing surface";
    else if (keys === undefined) error = keyError ?? "no issuer keys";
    else {
      const r = tryVerifyDetached(jws, surface, keys, { expectedAlg: alg, expectedKid: kid, now, ...(allow ? { allowAlgs: allow } : {}) });
      if (!r.ok) error = messageOf(r.error);
    }
    return create(SignatureSchema, { alg, kid, verified: error === undefined, error: error ?? "" });
  });
}

function sealedReport(env: JsonObject, result: VerifyEnvelopeResult, keysGiven: boolean, keyError: string | undefined): SealedBlock | undefined {
  const sealed = obj(env["sealed"]);
  if (sealed === undefined) return undefined;
  const recipients = Array.isArray(sealed["recipients"]) ? sealed["recipients"] : [];
  const block = create(SealedBlockSchema, {
    alg: str(sealed["alg"]) ?? "",
    fields: Array.isArray(sealed["fields"]) ? sealed["fields"].filter((f): f is string => typeof f === "string") : [],
    recipientKids: recipients.map((r) => str(obj(r)?.["kid"]) ?? "").filter((k) => k !== ""),
  });
  if (result.sealed !== undefined) {
    block.opened = true;
    block.openedKid = result.sealed.kid;
    block.mode = result.sealed.mode;
    block.valuesJson = JSON.stringify(result.sealed.fields, null, 2);
    return block;
  }
  const decrypt = result.steps.find((s) => s.name === "decrypt");
  if (keyError !== undefined) block.error = keyError;
  else if (!keysGiven) block.error = "no private key supplied to the node";
  else if (decrypt === undefined) block.error = `not reached: the pipeline stopped at ${result.check ?? "an earlier check"}`;
  else block.error = decrypt.note ?? decrypt.status;
  return block;
}

async function inspectOhp(env: JsonObject, byteLength: number, request: Pick<InspectRequest, "jwksJson" | "privateJwksJson">, trust: InspectorTrust, now: Date): Promise<InspectResponse> {
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const validation = validateDocument(env, { schema: "ohp-envelope", byteLength });
  errors.push(...validation.errors.map(issue));
  warnings.push(...validation.warnings.map(issue));

  // Issuer keys: the request's JWKS, else the node's trust.
  let keys: Jwks<PublicJwk> | undefined;
  let keyError: string | undefined;
  let source: "request" | "node" | "none" = "none";
  if (request.jwksJson.trim() !== "") {
    try {
      keys = parseJwks(request.jwksJson, { skipUnsupported: true });
      source = "request";
    } catch (e) {
      keyError = `issuer JWKS: ${messageOf(e)}`;
      errors.push(problem(keyError, "inspector", "/issuer"));
    }
  } else {
    keys = await nodeIssuerKeys(obj(env["issuer"]) ?? {}, trust);
    if (keys !== undefined) source = "node";
    else keyError = "the issuer is not trusted by this node; paste its JWKS";
  }
  let privateKeys: PrivateKeyRecord[] | undefined;
  let privateError: string | undefined;
  if (request.privateJwksJson.trim() !== "") {
    try {
      privateKeys = parsePrivateJwks(parseJsonStrict(request.privateJwksJson));
    } catch (e) {
      privateError = `private JWKS: ${messageOf(e)}`;
      errors.push(problem(privateError, "inspector", "/sealed"));
    }
  }

  const options: VerifyEnvelopeOptions = {
    now,
    byteLength,
    // Inspection shows what is missing instead of failing on it.
    policy: { ...(trust.policy ?? {}), requireHooks: false },
    ...(source === "request" && keys !== undefined ? { jwks: keys } : {}),
    ...(source !== "request"
      ? {
          hooks: {
            resolveIssuer: () =>
              keys !== undefined ? { keys } : { refused: true as const, reason: "signature-invalid" as const, message: keyError ?? "the issuer is not trusted by this node" },
          },
        }
      : {}),
    ...(privateKeys !== undefined ? { keys: privateKeys } : {}),
  };
  const result = await verifyEnvelope(env, options);
  const control = obj(env["control"]);
  const report: OhpReport = create(OhpReportSchema, {
    id: str(env["id"]) ?? "",
    tier: result.tier ?? str(env["conformance"]) ?? "",
    verb: str(control?.["verb"]) ?? "",
    outcome: result.outcome,
    rejectReason: result.rejectReason ?? "",
    ...(result.firstFailingStep === null ? {} : { firstFailingStep: result.firstFailingStep }),
    failedCheck: result.check ?? "",
    detailCode: result.detail?.code ?? "",
    detailMessage: result.detail?.message ?? "",
    detailPointer: typeof result.detail?.pointer === "string" ? result.detail.pointer : "",
    steps: result.steps.map((s) => create(PipelineStepSchema, { number: s.step, name: s.name, status: s.status, note: s.note ?? "" })),
    signatures: signatureReport(env, keys, keyError, now),
    unverified: [...result.unverified],
    warnings: [...result.warnings],
    issuerKeys: source,
    now: timestampFromDate(now),
  });
  const sealed = sealedReport(env, result, privateKeys !== undefined, privateError);
  if (sealed !== undefined) report.sealed = sealed;
  const verdict =
    result.outcome === "accept"
      ? "accept"
      : `reject ${result.rejectReason} at step ${result.firstFailingStep} (${result.check})${result.detail ? `: ${result.detail.message}` : ""}`;
  return create(InspectResponseSchema, {
    type: DocumentType.OHP_ENVELOPE,
    schema: "ohp-envelope",
    valid: result.outcome === "accept" && errors.length === 0,
    summary: `OHP ${report.tier || "?"} ${report.verb || "?"} ${report.id}: ${verdict}`,
    errors,
    warnings,
    ohp: report,
  });
}

// ---------------------------------------------------------------------------------------------
// OFP

function inspectOfp(doc: JsonValue): InspectResponse {
  const r = validateOfp(doc);
  const events: string[] = [];
  if (isJsonObject(doc)) {
    const env = obj(doc["openFloor"]) ?? obj(doc["ovon"]);
    const list = env?.["events"];
    if (Array.isArray(list)) for (const e of list) events.push(str(obj(e)?.["eventType"]) ?? "?");
  }
  return create(InspectResponseSchema, {
    type: DocumentType.OFP_DOCUMENT,
    schema: r.schema ?? "",
    valid: r.valid,
    summary: `${r.kind ?? "Open Floor"} (${r.schema ?? "?"}): ${r.valid ? "valid" : `${r.errors.length} error(s)`}${events.length > 0 ? `; events ${events.join(", ")}` : ""}`,
    errors: r.errors.map(issue),
    warnings: r.warnings.map(issue),
    ofp: create(OfpReportSchema, { kind: r.kind ?? "", declaredVersion: r.declaredVersion ?? "", eventTypes: events }),
  });
}

// ---------------------------------------------------------------------------------------------
// OAP receipts

function looksLikeReceipt(v: JsonValue): boolean {
  return isJsonObject(v) && Object.hasOwn(v, "receipt_id") && Object.hasOwn(v, "previous_receipt_hash");
}

/** The receipts of a document: one receipt, an array of receipts, or `{"receipts": [...]}`. */
function oapReceiptsOf(doc: JsonValue): JsonValue[] | undefined {
  if (looksLikeReceipt(doc)) return [doc];
  const list = Array.isArray(doc) ? doc : isJsonObject(doc) && Array.isArray(doc["receipts"]) ? doc["receipts"] : undefined;
  if (list !== undefined && list.length > 0 && list.every(looksLikeReceipt)) return list;
  return undefined;
}

/** OAP signer keys: a DID document, or a JWKS whose kids are relative to `signerDid` (or to each signature's DID). */
function oapResolver(jwksJson: string, signerDid: string): OapKeyResolver {
  const raw = parseJsonStrict(jwksJson);
  if (isJsonObject(raw) && Array.isArray(raw["verificationMethod"])) {
    const id = str(raw["id"]) ?? "";
    const { keys } = didDocumentKeys(validateDidDocument(raw, id));
    return mapKeyResolver(Object.fromEntries(keys.map((k) => [k.id, k.jwk])));
  }
  const jwks = parseJwks(raw, { skipUnsupported: true });
  if (signerDid !== "") return jwksKeyResolver(jwks, signerDid);
  return {
    resolve: (kid) => {
      const own = jwks.keys.find((k) => k.kid === kid);
      return own !== undefined ? publicKeyFor(own) : jwksKeyResolver(jwks, didOf(kid)).resolve(kid);
    },
  };
}

async function inspectOapReceipts(receipts: JsonValue[], request: Pick<InspectRequest, "jwksJson" | "signerDid" | "logKeys">, now: Date): Promise<InspectResponse> {
  const errors: Issue[] = [];
  let resolver: OapKeyResolver | undefined;
  if (request.jwksJson.trim() !== "") {
    try {
      resolver = chainKeyResolvers(oapResolver(request.jwksJson, request.signerDid));
    } catch (e) {
      errors.push(problem(`signer keys: ${messageOf(e)}`, "inspector"));
    }
  }
  const clock = () => now;
  // One receipt is checked on its own: its previous_receipt_hash is taken as the chain's start.
  const single = receipts.length === 1 ? obj(receipts[0]) : undefined;
  const start = single !== undefined && typeof single["principal_did"] === "string" && typeof single["previous_receipt_hash"] === "string" ? { [single["principal_did"]]: single["previous_receipt_hash"] } : {};
  const chain = await verifyReceiptChain(receipts, { ...(resolver ? { keys: resolver } : {}), logKeys: [...request.logKeys], now: clock, startHashes: start }).catch((e: unknown) => {
    errors.push(problem(messageOf(e), "inspector"));
    return undefined;
  });
  const items = await Promise.all(
    receipts.map(async (r) => {
      const receipt = obj(r) ?? {};
      let hash = "";
      let input: Uint8Array | undefined;
      try {
        hash = receiptHash(receipt);
        input = signingInput(receipt, RECEIPT_SIGNATURE_EXCLUDED);
      } catch {
        // reported by the chain check
      }
      const sigs = Array.isArray(receipt["signatures"]) ? receipt["signatures"] : [];
      const signatures = await Promise.all(
        sigs.map(async (s) => {
          const o = obj(s) ?? {};
          const kid = str(o["kid"]) ?? str(o["by"]) ?? "";
          let error: string | undefined;
          if (resolver === undefined) error = "no signer keys supplied";
          else if (input === undefined) error = "no canonical form";
          else {
            try {
              await verifySignatureValue(s, input, resolver, { now: clock });
            } catch (e) {
              error = messageOf(e);
            }
          }
          return create(SignatureSchema, { alg: str(o["alg"]) ?? "", kid, verified: error === undefined, error: error ?? "" });
        }),
      );
      return create(OapReceiptSchema, {
        receiptId: str(receipt["receipt_id"]) ?? "",
        principalDid: str(receipt["principal_did"]) ?? "",
        toolDid: str(receipt["tool_did"]) ?? "",
        hash,
        previousReceiptHash: str(receipt["previous_receipt_hash"]) ?? "",
        signatures,
      });
    }),
  );
  const report = create(OapReportSchema, {
    receipts: receipts.length,
    ok: chain?.ok ?? false,
    signaturesVerified: chain?.signaturesVerified ?? false,
    anchorsVerified: chain?.anchorsVerified ?? 0,
    anchorsSkipped: chain?.anchorsSkipped ?? 0,
    principals: (chain?.principals ?? []).map((p) => create(OapPrincipalSchema, { principalDid: p.principal_did, count: p.count, head: p.head })),
    items,
  });
  const broken = chain?.firstBroken;
  if (broken !== undefined) {
    report.firstBroken = create(BrokenReceiptSchema, { index: broken.index, receiptId: broken.receipt_id ?? "", code: broken.code, reason: broken.reason });
    errors.push(problem(`receipt ${broken.index}${broken.receipt_id ? ` (${broken.receipt_id})` : ""}: ${broken.reason}`, broken.code, receipts.length === 1 ? "" : `/${broken.index}`));
  }
  const valid = errors.length === 0 && report.ok;
  const what = receipts.length === 1 ? "OAP receipt" : `OAP receipt chain of ${receipts.length}`;
  return create(InspectResponseSchema, {
    type: DocumentType.OAP_RECEIPT,
    schema: "oap-receipt",
    valid,
    summary: `${what}: ${valid ? (report.signaturesVerified ? "chain and signatures verify" : "chain verifies (signatures not checked: no keys)") : (broken?.code ?? "invalid")}`,
    errors,
    oap: report,
  });
}
