/**
 * Data rights (OAP-CORE-1.0 §17.3, §29, §30 GDPR row): deletion with a signed Deletion Receipt,
 * export, special-category refusal, and a keyed pseudonymiser.
 *
 *  - {@link DataRightsService.delete}: erases a Principal's data (optionally one Scope, data
 *    classes or provenance tags) in the Tool's store and at every subprocessor, then returns a
 *    signed, schema-valid oap-deletion-receipt (`urn:oap:deletion:<ULID>`); with a ledger, a
 *    `deletion` receipt citing its hash joins the Principal's chain (§19.1).
 *  - {@link DataRightsService.export}: the Principal's data as a signed export document.
 *  - {@link checkSpecialCategories} (§29.3): special-category data (GDPR Art. 9) must be tagged
 *    in the input and the Tool must declare handling capability, else 403 policy_block.
 *  - {@link Pseudonymiser} (§29.4): HMAC-SHA-256 pseudonyms under a secret key, resolvable
 *    locally only.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { OapDeletionReceipt } from "../../../gen/types/oap/oap-deletion-receipt.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import { b64uEncode } from "../../util/base64url.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import type { ReceiptLedger } from "../receipts.js";
import { signDocument, verifyDocument, type OapKeyResolver, type OapSigner } from "../sign.js";
import { jcsDigest, oapUlid, clockMs, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

export type { OapDeletionReceipt } from "../../../gen/types/oap/oap-deletion-receipt.js";

/** §17.3 deletion methods (schema enum). */
export type DeletionMethod = OapDeletionReceipt["method"];

/** What to delete. */
export interface DeletionRequest {
  readonly principal_did: string;
  readonly scope_id?: string;
  readonly data_classes?: readonly string[];
  readonly provenance_tags?: readonly string[];
  /** When the request arrived (default: now). */
  readonly received_at?: string;
  /** The agent acting for the Principal (for the chain receipt; default: the Principal). */
  readonly agent_did?: string;
}

/** What the Tool's store erased. */
export interface ErasureResult {
  readonly method: DeletionMethod;
  readonly data_classes: readonly string[];
  readonly provenance_tags: readonly string[];
  /** Data kept on a legal ground. */
  readonly exceptions?: readonly { readonly reason: "legal_hold" | "regulatory_retention" | "ongoing_dispute"; readonly retention_until?: string }[];
}

/** The Tool's store of Principal data. */
export interface PrincipalDataStore {
  erase(request: DeletionRequest): ErasureResult | Promise<ErasureResult>;
  /** Everything held about the Principal, as JSON. */
  export(principalDid: string): JsonObject | Promise<JsonObject>;
}

/** A subprocessor the deletion must propagate to. */
export interface Subprocessor {
  readonly did: string;
  erase(request: DeletionRequest): void | Promise<void>;
}

/** Options of {@link DataRightsService}. */
export interface DataRightsOptions {
  readonly toolDid: string;
  readonly signer: OapSigner | PrivateKeyRecord;
  readonly store: PrincipalDataStore;
  readonly subprocessors?: readonly Subprocessor[];
  /** Records a `deletion` receipt in the Principal's chain. */
  readonly ledger?: ReceiptLedger;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** A signed data export. */
export interface DataExport {
  readonly export_id: string;
  readonly tool_did: string;
  readonly principal_did: string;
  readonly exported_at: string;
  readonly format: "application/json";
  readonly data: JsonObject;
  readonly signature: { readonly alg: string; readonly kid: string; readonly value: string };
}

/** §17.3 / §29 data rights of a Tool. */
export class DataRightsService {
  readonly #o: DataRightsOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: DataRightsOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /**
   * Erases and answers the signed Deletion Receipt. A subprocessor that fails makes the whole
   * request fail (502 upstream_error): a receipt must not claim a propagation that did not
   * happen. Subprocessors run in parallel.
   */
  async delete(request: DeletionRequest): Promise<{ receipt: OapDeletionReceipt; chainReceipt?: JsonObject }> {
    const receivedAt = request.received_at ?? rfc3339(this.#clock());
    const erased = await this.#o.store.erase(request);
    const subs = this.#o.subprocessors ?? [];
    const results = await Promise.allSettled(subs.map((s) => Promise.resolve(s.erase(request))));
    const failed = subs.filter((_, i) => results[i]?.status === "rejected").map((s) => s.did);
    if (failed.length > 0) {
      throw new OapError("ERR_OAP_UPSTREAM", `deletion did not propagate to ${failed.join(", ")}`, { details: { subprocessors_failed: failed } });
    }
    const doc: Record<string, unknown> = {
      receipt_id: `urn:oap:deletion:${oapUlid(clockMs(this.#clock), this.#random)}`,
      tool_did: this.#o.toolDid,
      principal_did: request.principal_did,
      request_received_at: receivedAt,
      completed_at: rfc3339(this.#clock()),
      method: erased.method,
      scope: {
        data_classes: [...erased.data_classes],
        provenance_tags: [...erased.provenance_tags],
        subprocessors_propagated_to: subs.map((s) => s.did),
      },
    };
    if (request.scope_id !== undefined) doc["scope_id"] = request.scope_id;
    if (erased.exceptions !== undefined && erased.exceptions.length > 0) doc["exceptions"] = erased.exceptions.map((e) => ({ ...e }));
    const receipt = signDocument(doc, this.#o.signer, { schema: "oap-deletion-receipt" }) as unknown as OapDeletionReceipt;
    if (this.#o.ledger === undefined) return { receipt };
    const issued = await this.#o.ledger.issue({
      type: "deletion",
      principal_did: request.principal_did,
      agent_did: request.agent_did ?? request.principal_did,
      tool_did: this.#o.toolDid,
      action_id: "data_delete",
      input_hash: jcsDigest({ principal_did: request.principal_did, scope_id: request.scope_id ?? null, data_classes: request.data_classes ?? null, provenance_tags: request.provenance_tags ?? null }),
      output_hash: jcsDigest(receipt),
    });
    return { receipt, chainReceipt: issued.receipt };
  }

  /** The Principal's data, signed by the Tool (`data_export`, GDPR Art. 20). */
  async export(principalDid: string): Promise<DataExport> {
    const data = await this.#o.store.export(principalDid);
    const doc = {
      export_id: `urn:oap:export:${oapUlid(clockMs(this.#clock), this.#random)}`,
      tool_did: this.#o.toolDid,
      principal_did: principalDid,
      exported_at: rfc3339(this.#clock()),
      format: "application/json" as const,
      data,
    };
    return signDocument(doc, this.#o.signer) as unknown as DataExport;
  }
}

/**
 * Verifies a Deletion Receipt: schema, the Tool's signature, and (optionally) the Principal and
 * provenance tags it must cover. Returns the receipt typed.
 */
export async function verifyDeletionReceipt(
  receipt: unknown,
  keys: OapKeyResolver,
  expect: { readonly toolDid?: string; readonly principal_did?: string; readonly provenance_tags?: readonly string[] } = {},
): Promise<OapDeletionReceipt> {
  assertOapDocument("oap-deletion-receipt", receipt);
  const r = receipt as OapDeletionReceipt;
  const signer = expect.toolDid ?? r.tool_did;
  await verifyDocument(r, keys, { expectedSigner: signer });
  if (r.tool_did !== signer) throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the deletion receipt names ${r.tool_did}, expected ${signer}`);
  if (expect.principal_did !== undefined && r.principal_did !== expect.principal_did) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the deletion receipt is for ${r.principal_did}, not ${expect.principal_did}`);
  }
  const missing = (expect.provenance_tags ?? []).filter((t) => !(r.scope.provenance_tags ?? []).includes(t));
  if (missing.length > 0) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the deletion receipt does not cover ${missing.join(", ")}`, { details: { missing } });
  return r;
}

// ---------------------------------------------------------------------------------------------
// §29.3 special categories
// ---------------------------------------------------------------------------------------------

/** GDPR Article 9 special categories (data class names; `special:<name>` is accepted too). */
export const SPECIAL_CATEGORIES: readonly string[] = Object.freeze([
  "racial_or_ethnic_origin",
  "political_opinions",
  "religious_or_philosophical_beliefs",
  "trade_union_membership",
  "genetic_data",
  "biometric_data",
  "health_data",
  "sex_life",
  "sexual_orientation",
]);

/** The Article 9 category of a data class tag, if it is one (`health_data`, `special:health_data`). */
export function specialCategoryOf(dataClass: string): string | undefined {
  const name = dataClass.startsWith("special:") ? dataClass.slice(8) : dataClass;
  return SPECIAL_CATEGORIES.includes(name) ? name : undefined;
}

/**
 * §29.3: the special categories in `dataClasses` (the input's tags, e.g. the request's data
 * classes plus the Action's `data_classes_in`) must all be declared in the manifest's
 * `data_policy.special_categories_handled`; otherwise 403 policy_block (an L2 refusal) naming
 * them. Returns the categories found.
 */
export function checkSpecialCategories(dataClasses: readonly string[], dataPolicy: Pick<OapManifest["data_policy"], "special_categories_handled">): string[] {
  const found = [...new Set(dataClasses.map(specialCategoryOf).filter((c): c is string => c !== undefined))];
  const handled = new Set((dataPolicy.special_categories_handled ?? []).map((c) => specialCategoryOf(c) ?? c));
  const refused = found.filter((c) => !handled.has(c));
  if (refused.length > 0) {
    throw new OapError("ERR_OAP_POLICY_BLOCK", `the Tool does not declare handling of special-category data: ${refused.join(", ")}`, {
      details: { rule: "l2.gdpr.art9.special_categories", categories: refused, handled: [...handled] },
    });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// §29.4 pseudonymisation
// ---------------------------------------------------------------------------------------------

/** Pseudonym prefix. */
export const PSEUDONYM_PREFIX = "pn_";

/**
 * Keyed pseudonyms (§29.4): `pn_` + base64url(HMAC-SHA-256(key, context ‖ 0x00 ‖ value)).
 * Deterministic per key and context (joins still work), unlinkable across contexts, and not
 * reversible without the key; {@link resolve} maps back only the values this instance
 * pseudonymised (the local resolution the spec asks for).
 */
export class Pseudonymiser {
  readonly #key: Buffer;
  readonly #vault = new Map<string, string>();

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length < 32) throw new OapError("ERR_OAP_INTERNAL", "the pseudonymisation key needs at least 32 bytes");
    this.#key = Buffer.from(key);
  }

  /** The pseudonym of `value` in `context` (default "default"); remembered for {@link resolve}. */
  pseudonym(value: string, context = "default"): string {
    const mac = createHmac("sha256", this.#key).update(context, "utf8").update(Buffer.from([0])).update(value, "utf8").digest();
    const p = PSEUDONYM_PREFIX + b64uEncode(new Uint8Array(mac));
    this.#vault.set(`${context}\u0000${p}`, value);
    return p;
  }

  /** True when `pseudonym` is the pseudonym of `value` in `context` (constant-time compare). */
  matches(pseudonym: string, value: string, context = "default"): boolean {
    const mac = createHmac("sha256", this.#key).update(context, "utf8").update(Buffer.from([0])).update(value, "utf8").digest();
    const expected = Buffer.from(PSEUDONYM_PREFIX + b64uEncode(new Uint8Array(mac)));
    const given = Buffer.from(pseudonym);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** Local resolution: the original of a pseudonym this instance produced, else undefined. */
  resolve(pseudonym: string, context = "default"): string | undefined {
    return this.#vault.get(`${context}\u0000${pseudonym}`);
  }

  /** Replaces the named string members of an object (shallow) by pseudonyms. */
  pseudonymiseFields<T extends Record<string, unknown>>(obj: T, fields: readonly (keyof T & string)[], context = "default"): T {
    const out: Record<string, unknown> = { ...obj };
    for (const f of fields) if (typeof out[f] === "string") out[f] = this.pseudonym(out[f] as string, context);
    return out as T;
  }
}
