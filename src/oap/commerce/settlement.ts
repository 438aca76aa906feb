/**
 * Settlement (OAP-CORE-1.0 §11.3): "Settlement between participants MUST produce a signed
 * Settlement Receipt referencing the underlying Invocation Receipts."
 *
 * {@link SettlementService.settle} builds a schema-valid oap-settlement-statement whose
 * `line_items` cite the invocation receipts, signs it as the provider (`role:
 * "provider_issuance"`), and — with a ledger — appends a `settlement` receipt to the Principal's
 * chain whose `output_hash` is the statement's hash and whose `cost` is the total. The agent
 * accepts by counter-signing ({@link acceptSettlement}, `role: "agent_acceptance"`).
 *
 * With a receipt store, each line is checked against its receipt (exists, same Principal, issued
 * by this provider, same currency and amount when the receipt states a cost), and a receipt is
 * settled at most once (409 on a second settlement: no double billing).
 *
 * Signatures: every signer signs the JCS form of the statement without `signatures` and
 * `anchor` (the statement's anchor is added after signing, like a receipt's).
 *
 * @module
 */
import type { OapSettlementStatement } from "../../../gen/types/oap/oap-settlement-statement.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import { b64uEncode } from "../../util/base64url.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import type { ReceiptLedger, ReceiptStore } from "../receipts.js";
import { signingInput, verifySignatureValue, type OapKeyResolver, type OapSigner } from "../sign.js";
import { clockMs, didOf, jcsDigest, oapUlid, rfc3339, sha256Digest, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { addDecimal, assertCurrency, compareDecimal, formatMoneyAmount, parseDecimal, type Decimal } from "./money.js";

export type { OapSettlementStatement } from "../../../gen/types/oap/oap-settlement-statement.js";

/** Members excluded from a settlement statement's signing input. */
export const SETTLEMENT_SIGNATURE_EXCLUDED: readonly string[] = Object.freeze(["signatures", "anchor"]);

/** A line: one invocation receipt and what it costs. */
export type SettlementLine = OapSettlementStatement["line_items"][number];
/** An adjustment (refunds, discounts, fees…; signed amount). */
export type SettlementAdjustment = NonNullable<OapSettlementStatement["adjustments"]>[number];

/** What to settle. */
export interface SettleInput {
  readonly agent_did: string;
  readonly principal_did: string;
  readonly currency: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly lines: readonly SettlementLine[];
  readonly adjustments?: readonly SettlementAdjustment[];
  readonly payment_instrument?: OapSettlementStatement["payment_instrument"];
}

/** Options of {@link SettlementService}. */
export interface SettlementServiceOptions {
  readonly providerDid: string;
  readonly signer: OapSigner | PrivateKeyRecord;
  /** Checks lines against the invocation receipts. */
  readonly receipts?: ReceiptStore;
  /** Appends the `settlement` receipt to the Principal's chain. */
  readonly ledger?: ReceiptLedger;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

function signerParts(signer: OapSigner | PrivateKeyRecord): { key: PrivateKeyRecord; kid: string } {
  const s = signer instanceof PrivateKeyRecord ? { key: signer } : signer;
  return { key: s.key, kid: s.kid ?? s.key.kid };
}

function addSignature(doc: OapSettlementStatement, signer: OapSigner | PrivateKeyRecord, role: "provider_issuance" | "agent_acceptance"): OapSettlementStatement {
  const { key, kid } = signerParts(signer);
  const value = b64uEncode(key.sign(signingInput(doc as unknown as JsonObject, SETTLEMENT_SIGNATURE_EXCLUDED)));
  const others = (doc.signatures ?? []).filter((s) => s.by !== kid);
  return { ...doc, signatures: [...others, { by: kid, alg: "EdDSA", value, role }] } as unknown as OapSettlementStatement;
}

/** The statement hash (cited by the chain receipt). */
export function settlementHash(statement: OapSettlementStatement): string {
  return sha256Digest(signingInput(statement as unknown as JsonObject, SETTLEMENT_SIGNATURE_EXCLUDED));
}

/** §11.3 settlement. */
export class SettlementService {
  readonly #o: SettlementServiceOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #settled = new Map<string, string>();

  constructor(options: SettlementServiceOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    if (didOf(signerParts(options.signer).kid) !== options.providerDid) throw new OapError("ERR_OAP_SIGNER_MISMATCH", "the settlement signer is not a key of the provider");
  }

  /** Builds, checks and signs the statement; records the chain receipt with a ledger. */
  async settle(input: SettleInput): Promise<{ statement: OapSettlementStatement; receipt?: JsonObject }> {
    assertCurrency(input.currency);
    if (input.lines.length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "a settlement needs at least one line item");
    const seen = new Set<string>();
    let total: Decimal = { units: 0n, scale: 0 };
    for (const line of input.lines) {
      if (seen.has(line.receipt_id)) throw new OapError("ERR_OAP_INPUT_INVALID", `receipt ${line.receipt_id} appears twice`);
      seen.add(line.receipt_id);
      const earlier = this.#settled.get(line.receipt_id);
      if (earlier !== undefined) throw new OapError("ERR_OAP_CONFLICT", `receipt ${line.receipt_id} was already settled in ${earlier}`, { details: { receipt_id: line.receipt_id, statement_id: earlier } });
      const amount = parseDecimal(line.amount);
      await this.#checkLine(line, input);
      total = addDecimal(total, amount);
    }
    for (const a of input.adjustments ?? []) total = addDecimal(total, parseDecimal(a.amount, { signed: true }));
    if (compareDecimal(total, { units: 0n, scale: 0 }) < 0) throw new OapError("ERR_OAP_INPUT_INVALID", "adjustments exceed the line items: the total would be negative");
    const statementId = `urn:oap:settlement:${oapUlid(clockMs(this.#clock), this.#random)}`;
    const doc = {
      statement_id: statementId,
      provider_did: this.#o.providerDid,
      agent_did: input.agent_did,
      principal_did: input.principal_did,
      window_start: input.window_start,
      window_end: input.window_end,
      currency: input.currency,
      total_amount_due: formatMoneyAmount(total, input.currency),
      line_items: input.lines.map((l) => ({ ...l })),
      ...(input.adjustments === undefined || input.adjustments.length === 0 ? {} : { adjustments: input.adjustments.map((a) => ({ ...a })) }),
      ...(input.payment_instrument === undefined ? {} : { payment_instrument: { ...input.payment_instrument } }),
      signatures: [],
    } as unknown as OapSettlementStatement;
    const statement = addSignature(doc, this.#o.signer, "provider_issuance");
    assertOapDocument("oap-settlement-statement", statement);
    for (const l of input.lines) this.#settled.set(l.receipt_id, statementId);
    if (this.#o.ledger === undefined) return { statement };
    const issued = await this.#o.ledger.issue({
      type: "settlement",
      principal_did: input.principal_did,
      agent_did: input.agent_did,
      tool_did: this.#o.providerDid,
      action_id: "settlement",
      input_hash: jcsDigest(input.lines.map((l) => l.receipt_id)),
      output_hash: settlementHash(statement),
      cost: { amount: statement.total_amount_due, currency: input.currency },
    });
    return { statement, receipt: issued.receipt };
  }

  async #checkLine(line: SettlementLine, input: SettleInput): Promise<void> {
    const store = this.#o.receipts;
    if (store === undefined) return;
    const r = await store.get(line.receipt_id);
    if (r === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${line.receipt_id}`);
    if (r["principal_did"] !== input.principal_did) throw new OapError("ERR_OAP_INPUT_INVALID", `receipt ${line.receipt_id} belongs to another Principal`);
    if (r["tool_did"] !== undefined && r["tool_did"] !== this.#o.providerDid) throw new OapError("ERR_OAP_INPUT_INVALID", `receipt ${line.receipt_id} was issued by another Tool`);
    const cost = r["cost"] as { amount?: string; currency?: string } | undefined;
    if (cost?.amount !== undefined && cost.currency !== undefined) {
      if (cost.currency !== input.currency || compareDecimal(parseDecimal(cost.amount), parseDecimal(line.amount)) !== 0) {
        throw new OapError("ERR_OAP_INPUT_INVALID", `line ${line.receipt_id} bills ${line.amount} ${input.currency}, its receipt states ${cost.amount} ${cost.currency}`);
      }
    }
  }
}

/** The agent accepts a statement by counter-signing it (`role: "agent_acceptance"`). */
export function acceptSettlement(statement: OapSettlementStatement, agentSigner: OapSigner | PrivateKeyRecord): OapSettlementStatement {
  if (didOf(signerParts(agentSigner).kid) !== statement.agent_did) throw new OapError("ERR_OAP_SIGNER_MISMATCH", "the accepting key is not a key of the statement's agent");
  return addSignature(statement, agentSigner, "agent_acceptance");
}

/** Verifies the provider's (and, with `requireAgent`, the agent's) signature. */
export async function verifySettlement(statement: unknown, keys: OapKeyResolver, options: { readonly requireAgent?: boolean } = {}): Promise<OapSettlementStatement> {
  assertOapDocument("oap-settlement-statement", statement);
  const s = statement as OapSettlementStatement;
  const bytes = signingInput(s as unknown as JsonObject, SETTLEMENT_SIGNATURE_EXCLUDED);
  const signers = new Set<string>();
  for (const sig of s.signatures) signers.add((await verifySignatureValue(sig, bytes, keys)).signerDid);
  if (!signers.has(s.provider_did)) throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the statement is not signed by its provider");
  if (options.requireAgent === true && !signers.has(s.agent_did)) throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the agent has not accepted the statement");
  return s;
}
