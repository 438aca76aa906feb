/**
 * The refund endpoint (OAP-CORE-1.0 §23.4): "Tools MUST expose a `billing/refund` operation that
 * accepts disputes referencing one or more Receipts. The Tool MUST acknowledge within seventy
 * two hours and resolve within thirty days or escalate to the Community Dispute Resolution
 * Process."
 *
 * {@link RefundDesk.file} checks the cited receipts (they exist, belong to the Principal and
 * were issued by this Tool; the requested amount does not exceed what they cost) and opens a
 * dispute with its two deadlines. `acknowledge`, `resolve` (a refund is executed through the
 * {@link RefundExecutor} — e.g. the Wallet — receipt by receipt, never more than each receipt
 * cost) and `escalate` move it on; {@link RefundDesk.sweep} escalates every dispute past its
 * resolution deadline and reports missed acknowledgements.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import type { ReceiptStore } from "../receipts.js";
import { clockMs, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { addDecimal, assertCurrency, compareDecimal, formatMoneyAmount, parseDecimal, subDecimal, type Decimal, type Money } from "./money.js";

/** §23.4 deadlines. */
export const ACKNOWLEDGE_WITHIN_HOURS = 72;
export const RESOLVE_WITHIN_DAYS = 30;

/** Dispute states. */
export type DisputeStatus = "received" | "acknowledged" | "resolved" | "escalated";

/** A dispute. */
export interface Dispute {
  readonly dispute_id: string;
  readonly tool_did: string;
  readonly principal_did: string;
  readonly agent_did?: string;
  readonly receipt_ids: readonly string[];
  readonly reason: string;
  readonly amount_requested?: Money;
  readonly status: DisputeStatus;
  readonly received_at: string;
  readonly acknowledge_by: string;
  readonly resolve_by: string;
  readonly acknowledged_at?: string;
  readonly resolved_at?: string;
  readonly resolution?: { readonly outcome: "refunded" | "rejected"; readonly amount?: Money; readonly refunds?: readonly { readonly receipt_id: string; readonly amount: string; readonly reference?: string }[]; readonly note?: string };
  readonly escalated_at?: string;
  readonly escalation?: { readonly process: string; readonly reason: string };
}

/** Dispute storage. */
export interface DisputeStore {
  get(id: string): Dispute | undefined | Promise<Dispute | undefined>;
  put(dispute: Dispute): void | Promise<void>;
  list(): Dispute[] | Promise<Dispute[]>;
}

/** In-memory {@link DisputeStore}. */
export class MemoryDisputeStore implements DisputeStore {
  readonly #m = new Map<string, Dispute>();
  get(id: string): Dispute | undefined {
    return this.#m.get(id);
  }
  put(d: Dispute): void {
    this.#m.set(d.dispute_id, d);
  }
  list(): Dispute[] {
    return [...this.#m.values()];
  }
}

/** Executes one refund (the Wallet's `refund` for the capture citing the receipt). */
export interface RefundExecutor {
  refund(input: { readonly principal_did: string; readonly receipt_id: string; readonly amount: Money; readonly dispute_id: string }): Promise<{ readonly reference?: string }>;
}

/** Options of {@link RefundDesk}. */
export interface RefundDeskOptions {
  readonly toolDid: string;
  /** The Tool's receipts (the disputes cite them). */
  readonly receipts: ReceiptStore;
  readonly refunds?: RefundExecutor;
  readonly store?: DisputeStore;
  /** The community process disputes escalate to. */
  readonly escalationProcess?: string;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** The `billing/refund` operation. */
export class RefundDesk {
  readonly #o: RefundDeskOptions;
  readonly #store: DisputeStore;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: RefundDeskOptions) {
    this.#o = options;
    this.#store = options.store ?? new MemoryDisputeStore();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  async #receipts(principal: string, ids: readonly string[]): Promise<JsonObject[]> {
    if (ids.length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "a dispute references at least one receipt");
    const out: JsonObject[] = [];
    for (const id of new Set(ids)) {
      const r = await this.#o.receipts.get(id);
      if (r === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${id}`, { details: { receipt_id: id } });
      if (r["principal_did"] !== principal) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `receipt ${id} belongs to another Principal`);
      if (r["tool_did"] !== undefined && r["tool_did"] !== this.#o.toolDid) throw new OapError("ERR_OAP_INPUT_INVALID", `receipt ${id} was issued by another Tool`);
      out.push(r);
    }
    return out;
  }

  /** The disputed total: the sum of the receipts' costs in `currency`. */
  #billed(receipts: readonly JsonObject[], currency: string): Decimal {
    let total: Decimal = { units: 0n, scale: 0 };
    for (const r of receipts) {
      const c = r["cost"] as { amount?: string; currency?: string } | undefined;
      if (c?.amount !== undefined && c.currency === currency) total = addDecimal(total, parseDecimal(c.amount));
    }
    return total;
  }

  /** `POST billing/refund`: opens a dispute (status `received`). */
  async file(input: { readonly principal_did: string; readonly agent_did?: string; readonly receipt_ids: readonly string[]; readonly reason: string; readonly amount?: Money }): Promise<Dispute> {
    const receipts = await this.#receipts(input.principal_did, input.receipt_ids);
    if (input.amount !== undefined) {
      assertCurrency(input.amount.currency);
      const billed = this.#billed(receipts, input.amount.currency);
      if (compareDecimal(parseDecimal(input.amount.amount), billed) > 0) {
        throw new OapError("ERR_OAP_INPUT_INVALID", `the requested refund exceeds the ${formatMoneyAmount(billed, input.amount.currency)} ${input.amount.currency} the receipts cost`);
      }
    }
    const now = clockMs(this.#clock);
    const dispute: Dispute = {
      dispute_id: `urn:oap:dispute:${oapUlid(now, this.#random)}`,
      tool_did: this.#o.toolDid,
      principal_did: input.principal_did,
      ...(input.agent_did === undefined ? {} : { agent_did: input.agent_did }),
      receipt_ids: [...new Set(input.receipt_ids)],
      reason: input.reason,
      ...(input.amount === undefined ? {} : { amount_requested: { ...input.amount } }),
      status: "received",
      received_at: rfc3339(new Date(now)),
      acknowledge_by: rfc3339(new Date(now + ACKNOWLEDGE_WITHIN_HOURS * 3_600_000)),
      resolve_by: rfc3339(new Date(now + RESOLVE_WITHIN_DAYS * 86_400_000)),
    };
    await this.#store.put(dispute);
    return dispute;
  }

  async #get(id: string): Promise<Dispute> {
    const d = await this.#store.get(id);
    if (d === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown dispute ${id}`);
    return d;
  }

  /** Acknowledges a received dispute. */
  async acknowledge(id: string): Promise<Dispute> {
    const d = await this.#get(id);
    if (d.status !== "received") return d;
    const next: Dispute = { ...d, status: "acknowledged", acknowledged_at: rfc3339(this.#clock()) };
    await this.#store.put(next);
    return next;
  }

  /**
   * Resolves: `refund` pays back `amount` (default: the requested amount) across the cited
   * receipts in order, each at most its own cost; `reject` closes without payment.
   */
  async resolve(id: string, decision: { readonly outcome: "refund" | "reject"; readonly amount?: Money; readonly note?: string }): Promise<Dispute> {
    const d = await this.#get(id);
    if (d.status === "resolved" || d.status === "escalated") throw new OapError("ERR_OAP_CONFLICT", `dispute ${id} is ${d.status}`);
    const now = rfc3339(this.#clock());
    const acknowledged = d.acknowledged_at ?? now;
    if (decision.outcome === "reject") {
      const next: Dispute = { ...d, status: "resolved", acknowledged_at: acknowledged, resolved_at: now, resolution: { outcome: "rejected", ...(decision.note === undefined ? {} : { note: decision.note }) } };
      await this.#store.put(next);
      return next;
    }
    const amount = decision.amount ?? d.amount_requested;
    if (amount === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "a refund needs an amount");
    if (this.#o.refunds === undefined) throw new OapError("ERR_OAP_INTERNAL", "no refund executor is configured");
    const receipts = await this.#receipts(d.principal_did, d.receipt_ids);
    let left = parseDecimal(amount.amount);
    const billed = this.#billed(receipts, amount.currency);
    if (compareDecimal(left, billed) > 0) throw new OapError("ERR_OAP_INPUT_INVALID", "the refund exceeds what the receipts cost");
    const refunds: { receipt_id: string; amount: string; reference?: string }[] = [];
    for (const r of receipts) {
      if (left.units === 0n) break;
      const c = r["cost"] as { amount?: string; currency?: string } | undefined;
      if (c?.amount === undefined || c.currency !== amount.currency) continue;
      const cost = parseDecimal(c.amount);
      const part = compareDecimal(left, cost) <= 0 ? left : cost;
      const partText = formatMoneyAmount(part, amount.currency);
      const done = await this.#o.refunds.refund({ principal_did: d.principal_did, receipt_id: String(r["receipt_id"]), amount: { amount: partText, currency: amount.currency }, dispute_id: d.dispute_id });
      refunds.push({ receipt_id: String(r["receipt_id"]), amount: partText, ...(done.reference === undefined ? {} : { reference: done.reference }) });
      left = subDecimal(left, part);
    }
    const next: Dispute = {
      ...d,
      status: "resolved",
      acknowledged_at: acknowledged,
      resolved_at: now,
      resolution: { outcome: "refunded", amount: { amount: formatMoneyAmount(parseDecimal(amount.amount), amount.currency), currency: amount.currency }, refunds, ...(decision.note === undefined ? {} : { note: decision.note }) },
    };
    await this.#store.put(next);
    return next;
  }

  /** Escalates to the Community Dispute Resolution Process. */
  async escalate(id: string, reason: string): Promise<Dispute> {
    const d = await this.#get(id);
    if (d.status === "resolved" || d.status === "escalated") throw new OapError("ERR_OAP_CONFLICT", `dispute ${id} is ${d.status}`);
    const next: Dispute = { ...d, status: "escalated", escalated_at: rfc3339(this.#clock()), escalation: { process: this.#o.escalationProcess ?? "OAP Community Dispute Resolution Process (§23.5)", reason } };
    await this.#store.put(next);
    return next;
  }

  /** Escalates disputes past `resolve_by`; returns them and the disputes whose acknowledgement is overdue. */
  async sweep(): Promise<{ escalated: Dispute[]; acknowledgementOverdue: Dispute[] }> {
    const now = clockMs(this.#clock);
    const escalated: Dispute[] = [];
    const overdue: Dispute[] = [];
    for (const d of await this.#store.list()) {
      if ((d.status === "received" || d.status === "acknowledged") && Date.parse(d.resolve_by) <= now) escalated.push(await this.escalate(d.dispute_id, "not resolved within 30 days (§23.4)"));
      else if (d.status === "received" && Date.parse(d.acknowledge_by) <= now) overdue.push(d);
    }
    return { escalated, acknowledgementOverdue: overdue };
  }

  /** A Principal's disputes. */
  async list(principalDid: string): Promise<Dispute[]> {
    return (await this.#store.list()).filter((d) => d.principal_did === principalDid);
  }

  async get(id: string): Promise<Dispute | undefined> {
    return this.#store.get(id);
  }
}
