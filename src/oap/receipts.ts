/**
 * Receipts (OAP-CORE-1.0 §19): one signed Receipt per invocation, an append-only hash chain per
 * Principal, transparency-log anchoring, and offline verification of a chain that reports the
 * first broken receipt.
 *
 * Chain (§19.2, docs/oap-signatures.md): every receipt of a Principal cites in
 * `previous_receipt_hash` the {@link receiptHash} ("sha256:<hex>" of the JCS form without
 * `signatures` and `anchors`) of that Principal's previous receipt; the first cites the literal
 * `"genesis"` (the schema's only other allowed value; `null` is rejected).
 *
 * @module
 */
import type { OapReceipt } from "../../gen/types/oap/oap-receipt.js";
import { AgentwireError } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { validateSchema } from "../schema/validate.js";
import { toVerifiers, type TlogClient } from "../trust/tlog/client.js";
import type { AsyncTransparencyLog } from "../trust/tlog/async-log.js";
import { TransparencyLog } from "../trust/tlog/log.js";
import type { NoteVerifier } from "../trust/tlog/note.js";
import { anchorReceipt, anchorReceiptInLog, anchorReceiptInSharedLog, receiptHash, verifyReceiptAnchor, withAnchors, type ReceiptAnchor } from "./anchors.js";
import { OapError } from "./errors.js";
import { addReceiptSignature, verifyReceiptSignatures, type OapKeyResolver, type OapSigner } from "./sign.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { jcsDigest, oapIds, parseRfc3339Ms, rfc3339, systemClock, type OapClock, type OapIds } from "./util.js";

export type { OapReceipt } from "../../gen/types/oap/oap-receipt.js";
export { receiptHash } from "./anchors.js";

/** `previous_receipt_hash` of a Principal's first receipt. */
export const OAP_RECEIPT_GENESIS = "genesis";

// ---------------------------------------------------------------------------------------------
// building
// ---------------------------------------------------------------------------------------------

/** What an invocation receipt is built from. */
export interface InvocationReceiptInput {
  /** The (verified) request envelope. */
  readonly request: {
    readonly principal_did: string;
    readonly agent_did: string;
    readonly action: string;
    readonly input?: unknown;
    readonly policy_assertions?: { readonly provenance_tags?: readonly string[] };
  };
  /** The response (its output is hashed; absent or without output for failures). */
  readonly response?: {
    readonly output?: unknown;
    readonly model_version?: string;
    readonly cost?: { readonly amount?: string; readonly currency?: string };
  };
  readonly toolDid: string;
  /** Action version (action_version). */
  readonly actionVersion?: string;
  /** `policy_decisions[]` (see policyDecisionRef in auth.ts). */
  readonly policyDecisions?: readonly { readonly id: string; readonly outcome: string; readonly rules?: readonly string[] }[];
  readonly provenanceTagsOut?: readonly string[];
  /** Receipt type (default "invocation"; "task_completion" for async tasks). */
  readonly type?: OapReceipt["type"];
}

/** The fields a receipt body carries before the ledger chains and signs it. */
export type ReceiptBody = Omit<OapReceipt, "previous_receipt_hash" | "signatures" | "anchors" | "receipt_id" | "timestamp"> & {
  readonly receipt_id?: string;
  readonly timestamp?: string;
};

/**
 * §19.1 receipt body of an invocation: input_hash / output_hash are "sha256:" + hex of SHA-256
 * over the JCS form of `input` / `output`.
 */
export function invocationReceiptBody(input: InvocationReceiptInput): ReceiptBody {
  const r = input.request;
  const body: Record<string, JsonValue> = {
    type: input.type ?? "invocation",
    principal_did: r.principal_did,
    agent_did: r.agent_did,
    tool_did: input.toolDid,
    action_id: r.action,
  };
  if (input.actionVersion !== undefined) body["action_version"] = input.actionVersion;
  if (r.input !== undefined) body["input_hash"] = jcsDigest(r.input);
  const out = input.response;
  if (out?.output !== undefined) body["output_hash"] = jcsDigest(out.output);
  if (out?.model_version !== undefined) body["model_version"] = out.model_version;
  if (out?.cost !== undefined) body["cost"] = { ...out.cost } as JsonObject;
  if (input.policyDecisions !== undefined && input.policyDecisions.length > 0) {
    body["policy_decisions"] = input.policyDecisions.map((d): JsonObject => (d.rules === undefined ? { id: d.id, outcome: d.outcome } : { id: d.id, outcome: d.outcome, rules: [...d.rules] }));
  }
  const tags = r.policy_assertions?.provenance_tags;
  if (tags !== undefined && tags.length > 0) body["provenance_tags_in"] = [...tags];
  if (input.provenanceTagsOut !== undefined && input.provenanceTagsOut.length > 0) body["provenance_tags_out"] = [...input.provenanceTagsOut];
  return body as unknown as ReceiptBody;
}

// ---------------------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------------------

/** Append-only receipt storage, one chain per Principal. */
export interface ReceiptStore {
  /** Hash of the Principal's last receipt (undefined for an empty chain). */
  head(principalDid: string): string | undefined | Promise<string | undefined>;
  /**
   * Appends atomically iff the current head is `previous` ("genesis" = empty chain); otherwise
   * throws OapError ERR_OAP_RECEIPT_CHAIN.
   */
  append(principalDid: string, receipt: JsonObject, hash: string, previous: string): void | Promise<void>;
  /** The Principal's receipts in chain order (`offset` from the first; `limit` at most). */
  list(principalDid: string, options?: { readonly offset?: number; readonly limit?: number }): JsonObject[] | Promise<JsonObject[]>;
  get(receiptId: string): JsonObject | undefined | Promise<JsonObject | undefined>;
  /** Replaces a stored receipt's `anchors` (they are outside the hash and the signatures). */
  setAnchors(receiptId: string, anchors: readonly ReceiptAnchor[]): void | Promise<void>;
}

/** Options of {@link ReceiptLedger.issue}. */
export interface IssueOptions {
  /**
   * Stores the chained, signed receipt instead of `store.append` (same contract: atomic
   * compare-and-set on `previous`, ERR_OAP_RECEIPT_CHAIN when the head moved). The engine uses it
   * to commit the receipt together with the idempotency completion in one transaction.
   */
  readonly append?: (principalDid: string, receipt: JsonObject, hash: string, previous: string) => void | Promise<void>;
}

/** In-memory {@link ReceiptStore}. */
export class MemoryReceiptStore implements ReceiptStore {
  readonly #chains = new Map<string, { receipts: JsonObject[]; head: string }>();
  readonly #byId = new Map<string, { principal: string; index: number }>();

  head(principalDid: string): string | undefined {
    return this.#chains.get(principalDid)?.head;
  }

  append(principalDid: string, receipt: JsonObject, hash: string, previous: string): void {
    const chain = this.#chains.get(principalDid);
    const current = chain?.head ?? OAP_RECEIPT_GENESIS;
    if (current !== previous) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `the chain of ${principalDid} moved (head ${current}, expected ${previous})`);
    const id = String(receipt["receipt_id"]);
    if (this.#byId.has(id)) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `duplicate receipt_id ${id}`);
    const c = chain ?? { receipts: [], head: OAP_RECEIPT_GENESIS };
    c.receipts.push(receipt);
    c.head = hash;
    this.#chains.set(principalDid, c);
    this.#byId.set(id, { principal: principalDid, index: c.receipts.length - 1 });
  }

  list(principalDid: string, options: { readonly offset?: number; readonly limit?: number } = {}): JsonObject[] {
    const all = this.#chains.get(principalDid)?.receipts ?? [];
    const start = Math.max(0, options.offset ?? 0);
    return all.slice(start, options.limit === undefined ? undefined : start + Math.max(0, options.limit));
  }

  get(receiptId: string): JsonObject | undefined {
    const at = this.#byId.get(receiptId);
    return at === undefined ? undefined : this.#chains.get(at.principal)?.receipts[at.index];
  }

  setAnchors(receiptId: string, anchors: readonly ReceiptAnchor[]): void {
    const at = this.#byId.get(receiptId);
    const chain = at === undefined ? undefined : this.#chains.get(at.principal);
    if (at === undefined || chain === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${receiptId}`);
    chain.receipts[at.index] = withAnchors(chain.receipts[at.index] as JsonObject, anchors);
  }

  /** Every Principal with a chain. */
  principals(): string[] {
    return [...this.#chains.keys()];
  }
}

// ---------------------------------------------------------------------------------------------
// the ledger
// ---------------------------------------------------------------------------------------------

/** Options of {@link ReceiptLedger}. */
export interface ReceiptLedgerOptions {
  /** The Tool's signing key (receipts are signed as `kid`). */
  readonly signer: OapSigner | PrivateKeyRecord;
  readonly store?: ReceiptStore;
  /** Logs to anchor in over HTTP (§19.3: at least two recommended). */
  readonly logClients?: readonly TlogClient[];
  /** Logs to anchor in: in-process, or on a store shared by several nodes. */
  readonly logs?: readonly (TransparencyLog | AsyncTransparencyLog)[];
  readonly clock?: OapClock;
  readonly ids?: OapIds;
  /** Check every issued receipt against schemas/oap/oap-receipt (default true). */
  readonly validate?: boolean;
}

/** An issued receipt and its hash. */
export interface IssuedReceipt {
  readonly receipt: JsonObject;
  readonly hash: string;
}

/** Issues, chains, signs, stores and anchors receipts; appends are serialised per Principal. */
export class ReceiptLedger {
  readonly store: ReceiptStore;
  readonly #o: ReceiptLedgerOptions;
  readonly #clock: OapClock;
  readonly #ids: OapIds;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: ReceiptLedgerOptions) {
    this.#o = options;
    this.store = options.store ?? new MemoryReceiptStore();
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock);
  }

  async #serial<T>(principal: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(principal) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(principal, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(principal) === tail) this.#locks.delete(principal);
    }
  }

  /**
   * Chains (previous_receipt_hash = the Principal's head or "genesis"), signs and stores a
   * receipt. `receipt_id` and `timestamp` default to a new ULID URN and the clock.
   */
  async issue(body: ReceiptBody, options: IssueOptions = {}): Promise<IssuedReceipt> {
    const principal = body.principal_did;
    if (typeof principal !== "string" || principal.length === 0) throw new OapError("ERR_OAP_INTERNAL", "a receipt needs principal_did");
    // Appends are serialised per Principal in this process; a store shared by several nodes
    // (PostgreSQL) may still see another node's append land between our head read and our
    // compare-and-set append: then the head moved, and the receipt is chained and signed again.
    return this.#serial(principal, async () => {
      for (let attempt = 0; ; attempt++) {
        const previous = (await this.store.head(principal)) ?? OAP_RECEIPT_GENESIS;
        try {
          return await this.#issueOn(body, principal, previous, options.append);
        } catch (e) {
          const moved = e instanceof OapError && e.code === "ERR_OAP_RECEIPT_CHAIN" && attempt < 50 && ((await this.store.head(principal)) ?? OAP_RECEIPT_GENESIS) !== previous;
          if (!moved) throw e;
        }
      }
    });
  }

  async #issueOn(body: ReceiptBody, principal: string, previous: string, append?: IssueOptions["append"]): Promise<IssuedReceipt> {
    const unsigned: JsonObject = {
      ...(body as unknown as JsonObject),
      receipt_id: body.receipt_id ?? this.#ids.receiptId(),
      timestamp: body.timestamp ?? rfc3339(this.#clock()),
      previous_receipt_hash: previous,
    };
    const receipt = addReceiptSignature(unsigned, this.#o.signer) as unknown as JsonObject;
    if (this.#o.validate !== false) {
      const issues = validateSchema("oap-receipt", receipt);
      if (issues.length > 0) throw new OapError("ERR_OAP_INTERNAL", `issued receipt is not a valid oap-receipt: ${issues.map((i) => `${i.pointer} ${i.message}`).join("; ")}`);
    }
    const hash = receiptHash(receipt);
    if (append !== undefined) await append(principal, receipt, hash, previous);
    else await this.store.append(principal, receipt, hash, previous);
    return { receipt, hash };
  }

  /** Anchors a stored receipt in every configured log and stores the anchors; returns the updated receipt. */
  async anchor(receipt: JsonObject): Promise<JsonObject> {
    const anchors: ReceiptAnchor[] = [];
    for (const log of this.#o.logs ?? []) anchors.push(log instanceof TransparencyLog ? anchorReceiptInLog(receipt, log) : await anchorReceiptInSharedLog(receipt, log));
    for (const client of this.#o.logClients ?? []) anchors.push(await anchorReceipt(receipt, client));
    if (anchors.length === 0) return receipt;
    await this.store.setAnchors(String(receipt["receipt_id"]), anchors);
    return withAnchors(receipt, anchors);
  }

  /** {@link issue} then {@link anchor}. */
  async issueAndAnchor(body: ReceiptBody): Promise<IssuedReceipt> {
    const issued = await this.issue(body);
    return { receipt: await this.anchor(issued.receipt), hash: issued.hash };
  }
}

// ---------------------------------------------------------------------------------------------
// offline verification
// ---------------------------------------------------------------------------------------------

/** Why a chain failed. */
export type ReceiptChainErrorCode =
  /** Not an object, not a valid oap-receipt, or no canonical JSON form. */
  | "ERR_OAP_RECEIPT_INVALID"
  /** A receipt_id seen earlier in the input. */
  | "ERR_OAP_RECEIPT_DUPLICATE"
  /** A Principal's first receipt does not cite "genesis" (or the given start hash). */
  | "ERR_OAP_RECEIPT_GENESIS"
  /** previous_receipt_hash is not the hash of the Principal's previous receipt. */
  | "ERR_OAP_RECEIPT_LINK"
  /** A signature does not verify, or a required signer did not sign. */
  | "ERR_OAP_RECEIPT_SIGNATURE"
  /** timestamp earlier than the Principal's previous receipt. */
  | "ERR_OAP_RECEIPT_TIME_ORDER"
  /** An anchor of a trusted log does not verify, or too few anchors. */
  | "ERR_OAP_RECEIPT_ANCHOR";

/** Raised by {@link assertReceiptChain}. */
export class ReceiptChainError extends AgentwireError<ReceiptChainErrorCode> {}

/** The first broken receipt. */
export interface BrokenReceipt {
  /** Position in the input. */
  readonly index: number;
  readonly receipt_id?: string;
  readonly principal_did?: string;
  readonly code: ReceiptChainErrorCode;
  readonly reason: string;
  /** For ERR_OAP_RECEIPT_LINK: position of the Principal's previous receipt (it or this one was altered). */
  readonly previousIndex?: number;
}

/** Result of {@link verifyReceiptChain}. */
export interface ReceiptChainReport {
  readonly ok: boolean;
  readonly receipts: number;
  /** Per Principal: receipt count and head hash (compare with an anchored head to detect truncation). */
  readonly principals: readonly { readonly principal_did: string; readonly count: number; readonly head: string }[];
  /** True when signatures were checked (keys given). */
  readonly signaturesVerified: boolean;
  /** Anchors verified against trusted log keys, and anchors of logs without a trusted key. */
  readonly anchorsVerified: number;
  readonly anchorsSkipped: number;
  readonly firstBroken?: BrokenReceipt;
}

/** Options of {@link verifyReceiptChain}. */
export interface VerifyReceiptChainOptions {
  /** Verify signatures with these keys (skipped when absent). */
  readonly keys?: OapKeyResolver;
  /** DIDs that must have signed a receipt (default: its tool_did). */
  readonly requiredSigners?: (receipt: JsonObject) => readonly string[];
  /** Trusted log keys (note verifiers or verifier key texts; key name = log origin = log_id). */
  readonly logKeys?: readonly (NoteVerifier | string)[];
  /** Minimum number of verified anchors per receipt (default 0). */
  readonly minAnchors?: number;
  /** Check each receipt against schemas/oap/oap-receipt (default true). */
  readonly checkSchema?: boolean;
  /** Expected previous hash of a Principal's first receipt when verifying a later segment. */
  readonly startHashes?: Readonly<Record<string, string>>;
  /** Key lifecycle reference time (default now). */
  readonly now?: OapClock;
}

interface PerReceipt {
  readonly hash?: string;
  readonly failure?: { code: ReceiptChainErrorCode; reason: string };
  /** Failure found after the sequential checks would run (signature, anchor). */
  readonly late?: { code: ReceiptChainErrorCode; reason: string };
  readonly anchorsVerified: number;
  readonly anchorsSkipped: number;
}

async function checkOne(raw: unknown, options: VerifyReceiptChainOptions, verifiers: readonly NoteVerifier[]): Promise<PerReceipt> {
  if (!isJsonObject(raw)) return { failure: { code: "ERR_OAP_RECEIPT_INVALID", reason: "not a JSON object" }, anchorsVerified: 0, anchorsSkipped: 0 };
  if (options.checkSchema !== false) {
    const issues = validateSchema("oap-receipt", raw);
    if (issues.length > 0) {
      return { failure: { code: "ERR_OAP_RECEIPT_INVALID", reason: `not a valid oap-receipt: ${issues.slice(0, 3).map((i) => `${i.pointer || "/"} ${i.message}`).join("; ")}` }, anchorsVerified: 0, anchorsSkipped: 0 };
    }
  }
  let hash: string;
  try {
    hash = receiptHash(raw);
  } catch (e) {
    return { failure: { code: "ERR_OAP_RECEIPT_INVALID", reason: (e as Error).message }, anchorsVerified: 0, anchorsSkipped: 0 };
  }
  if (options.keys !== undefined) {
    try {
      const required = options.requiredSigners?.(raw);
      await verifyReceiptSignatures(raw, options.keys, { ...(required === undefined ? {} : { requiredSigners: required }), ...(options.now === undefined ? {} : { now: options.now }) });
    } catch (e) {
      return { hash, late: { code: "ERR_OAP_RECEIPT_SIGNATURE", reason: (e as Error).message }, anchorsVerified: 0, anchorsSkipped: 0 };
    }
  }
  let verified = 0;
  let skipped = 0;
  const anchors = Array.isArray(raw["anchors"]) ? raw["anchors"] : [];
  for (const a of anchors) {
    const logId = isJsonObject(a) ? a["log_id"] : undefined;
    const keys = verifiers.filter((v) => v.name === logId);
    if (keys.length === 0) {
      skipped++;
      continue;
    }
    try {
      verifyReceiptAnchor(hash, a, keys);
      verified++;
    } catch (e) {
      return { hash, late: { code: "ERR_OAP_RECEIPT_ANCHOR", reason: `anchor in ${String(logId)}: ${(e as Error).message}` }, anchorsVerified: verified, anchorsSkipped: skipped };
    }
  }
  if (verified < (options.minAnchors ?? 0)) {
    return { hash, late: { code: "ERR_OAP_RECEIPT_ANCHOR", reason: `${verified} verified anchors, ${options.minAnchors} required` }, anchorsVerified: verified, anchorsSkipped: skipped };
  }
  return { hash, anchorsVerified: verified, anchorsSkipped: skipped };
}

/**
 * Offline verification of receipts (any number of Principals, each Principal's receipts in
 * chain order, interleaving allowed): schema, duplicate ids, the per-Principal hash chain from
 * "genesis", non-decreasing timestamps, signatures (with `keys`) and anchors (with `logKeys`).
 * Reports the FIRST broken receipt by input position; never throws for bad input.
 *
 * With keys, an altered receipt is pinpointed by its own failing signature. Without keys, the
 * alteration shows as the next receipt of the Principal citing a hash that no longer matches
 * (`ERR_OAP_RECEIPT_LINK` at that position, `previousIndex` = the altered one).
 */
export async function verifyReceiptChain(receipts: readonly unknown[], options: VerifyReceiptChainOptions = {}): Promise<ReceiptChainReport> {
  const verifiers = toVerifiers(options.logKeys ?? []);
  const per: PerReceipt[] = new Array(receipts.length);
  const BATCH = 512;
  for (let start = 0; start < receipts.length; start += BATCH) {
    const slice = receipts.slice(start, start + BATCH);
    const results = await Promise.all(slice.map((r) => checkOne(r, options, verifiers)));
    results.forEach((r, i) => (per[start + i] = r));
  }

  const heads = new Map<string, { head: string; count: number; lastIndex: number; lastTime: number | undefined }>();
  const seen = new Set<string>();
  let anchorsVerified = 0;
  let anchorsSkipped = 0;
  let firstBroken: BrokenReceipt | undefined;
  for (let i = 0; i < receipts.length && firstBroken === undefined; i++) {
    const p = per[i] as PerReceipt;
    const raw = receipts[i];
    const r = isJsonObject(raw) ? raw : undefined;
    const id = typeof r?.["receipt_id"] === "string" ? r["receipt_id"] : undefined;
    const principal = typeof r?.["principal_did"] === "string" ? r["principal_did"] : undefined;
    const broken = (code: ReceiptChainErrorCode, reason: string, extra: { previousIndex?: number } = {}): BrokenReceipt => ({
      index: i,
      ...(id === undefined ? {} : { receipt_id: id }),
      ...(principal === undefined ? {} : { principal_did: principal }),
      code,
      reason,
      ...extra,
    });
    if (p.failure !== undefined || r === undefined || principal === undefined || p.hash === undefined) {
      firstBroken = broken(p.failure?.code ?? "ERR_OAP_RECEIPT_INVALID", p.failure?.reason ?? "principal_did is required");
      break;
    }
    if (id !== undefined) {
      if (seen.has(id)) {
        firstBroken = broken("ERR_OAP_RECEIPT_DUPLICATE", `receipt_id ${id} appears twice`);
        break;
      }
      seen.add(id);
    }
    const state = heads.get(principal);
    const cited = r["previous_receipt_hash"];
    if (state === undefined) {
      const expected = options.startHashes?.[principal] ?? OAP_RECEIPT_GENESIS;
      if (cited !== expected) {
        firstBroken = broken("ERR_OAP_RECEIPT_GENESIS", `the first receipt of ${principal} must cite ${JSON.stringify(expected)}, not ${JSON.stringify(cited)}`);
        break;
      }
    } else if (cited !== state.head) {
      firstBroken = broken(
        "ERR_OAP_RECEIPT_LINK",
        `cites ${String(cited)}, but the previous receipt of ${principal} (position ${state.lastIndex}) hashes to ${state.head}: that receipt was altered or this link was`,
        { previousIndex: state.lastIndex },
      );
      break;
    }
    if (p.late?.code === "ERR_OAP_RECEIPT_SIGNATURE") {
      firstBroken = broken(p.late.code, p.late.reason);
      break;
    }
    const t = parseRfc3339Ms(r["timestamp"]);
    if (state?.lastTime !== undefined && t !== undefined && t < state.lastTime) {
      firstBroken = broken("ERR_OAP_RECEIPT_TIME_ORDER", `timestamp ${String(r["timestamp"])} is earlier than the previous receipt of ${principal}`);
      break;
    }
    if (p.late !== undefined) {
      firstBroken = broken(p.late.code, p.late.reason);
      break;
    }
    anchorsVerified += p.anchorsVerified;
    anchorsSkipped += p.anchorsSkipped;
    heads.set(principal, { head: p.hash, count: (state?.count ?? 0) + 1, lastIndex: i, lastTime: t ?? state?.lastTime });
  }
  const principals = [...heads].map(([principal_did, s]) => ({ principal_did, count: s.count, head: s.head }));
  const base = { receipts: receipts.length, principals, signaturesVerified: options.keys !== undefined, anchorsVerified, anchorsSkipped };
  return firstBroken === undefined ? { ok: true, ...base } : { ok: false, ...base, firstBroken };
}

/** {@link verifyReceiptChain}, throwing a {@link ReceiptChainError} (detail = the broken receipt). */
export async function assertReceiptChain(receipts: readonly unknown[], options: VerifyReceiptChainOptions = {}): Promise<ReceiptChainReport> {
  const report = await verifyReceiptChain(receipts, options);
  if (report.firstBroken !== undefined) {
    const b = report.firstBroken;
    throw new ReceiptChainError(b.code, `receipt ${b.index}${b.receipt_id === undefined ? "" : ` (${b.receipt_id})`}: ${b.reason}`, { detail: { ...b } });
  }
  return report;
}
