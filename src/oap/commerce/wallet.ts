/**
 * The OAP Wallet (OAP-CORE-1.0 §11.2): `wallet.balance`, `wallet.authorize` (holds),
 * `wallet.capture`, `wallet.refund`, a signed `wallet.statement`, `wallet.limits` per Tool /
 * Agent / period, and ledger export / import between Wallet providers; plus funding (`credit`),
 * hold release, and subscription termination through the Wallet (§12.4).
 *
 * Money never is a float: amounts are decimal strings on the API and bigint ledger units
 * (10^-8) in the store. Every operation is one store transaction (wallet-store.ts), so
 * concurrent captures against one hold can never capture more than it authorised, and a balance
 * can never be spent twice: the check and the update happen under the store's write lock.
 *
 * Idempotency: `authorize`, `capture`, `refund` and `credit` take an optional idempotency key
 * (unique per wallet). Repeating a request with its key answers the first result; the same key
 * with a different request is 409 `ERR_OAP_IDEMPOTENCY_MISMATCH`.
 *
 * Errors: insufficient funds 402 (`details.reason: "insufficient_funds"`); a limit 403
 * (`"limit_exceeded"`); an exhausted, closed or expired hold, or an over-refund 409
 * (`"hold_exhausted"`, `"hold_closed"`, `"hold_expired"`, `"refund_exceeds_capture"`); unknown
 * wallet / hold / entry 404; closed wallet 409 (`"wallet_closed"`).
 *
 * @module
 */
import type { OapWalletStatement } from "../../../gen/types/oap/oap-wallet-statement.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import { signDocument, verifyDocument, type OapKeyResolver, type OapSigner } from "../sign.js";
import { clockMs, jcsDigest, oapUlid, parseRfc3339Ms, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { assertCurrency, fromLedgerUnits, toLedgerUnits } from "./money.js";
import type { SubscriptionResult, SubscriptionTerminator } from "./subscriptions.js";
import { MemoryWalletStore, type BalanceRow, type EntryRow, type HoldRow, type LimitRule, type WalletEntryType, type WalletRecord, type WalletStore, type WalletTx } from "./wallet-store.js";

export type { OapWalletStatement } from "../../../gen/types/oap/oap-wallet-statement.js";
export type { LimitRule, WalletEntryType } from "./wallet-store.js";

/** A balance per currency. */
export interface CurrencyBalance {
  readonly currency: string;
  readonly balance: string;
  readonly held: string;
  readonly available: string;
}

/** `wallet.balance`. */
export interface WalletBalance {
  readonly wallet_did: string;
  readonly principal_did: string;
  readonly status: "open" | "closed";
  readonly balances: readonly CurrencyBalance[];
}

/** A hold as the API shows it. */
export interface Hold {
  readonly hold_id: string;
  readonly wallet_did: string;
  readonly currency: string;
  readonly amount: string;
  readonly captured: string;
  readonly remaining: string;
  readonly status: HoldRow["status"];
  readonly tool_did: string;
  readonly agent_did?: string;
  readonly created_at: string;
  readonly expires_at: string;
}

/** A ledger entry as the API shows it. */
export interface WalletEntry {
  readonly entry_id: string;
  readonly wallet_did: string;
  readonly timestamp: string;
  readonly type: WalletEntryType;
  readonly currency: string;
  readonly amount: string;
  readonly receipt_id: string;
  readonly counterparty_did?: string;
  readonly memo?: string;
  readonly hold_id?: string;
  readonly refund_of?: string;
}

/** A capture's result. */
export interface CaptureResult {
  readonly entry: WalletEntry;
  readonly hold: Hold;
}

/** A signed ledger export (§11.2 portability). */
export interface WalletExport {
  readonly format: "agentwire-oap-wallet-ledger/1";
  readonly export_id: string;
  readonly provider_did: string;
  readonly wallet_did: string;
  readonly principal_did: string;
  readonly exported_at: string;
  /** True: the funds move (the source wallet is closed and emptied); false: a history copy. */
  readonly transfer: boolean;
  readonly balances: readonly { readonly currency: string; readonly balance: string }[];
  readonly entries: readonly WalletEntry[];
  readonly limits: readonly LimitRule[];
  readonly signature: { readonly alg: string; readonly kid: string; readonly value: string };
}

/** Options of {@link Wallet}. */
export interface WalletOptions {
  /** The Wallet provider's DID (signs statements and exports). */
  readonly providerDid: string;
  readonly signer: OapSigner | PrivateKeyRecord;
  readonly store?: WalletStore;
  /** Default hold lifetime (seconds, default 3600). */
  readonly defaultHoldSeconds?: number;
  /** Longest hold lifetime (seconds, default 7 days). */
  readonly maxHoldSeconds?: number;
  /** Subscription termination through the Wallet (§12.4): the Tool's terminator by Tool DID. */
  readonly subscriptions?: (toolDid: string) => SubscriptionTerminator | undefined;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

type IdemInput = { readonly idempotency_key?: string };

/** A transaction outcome whose writes must commit even though the call fails (hold expiry). */
class Deferred {
  readonly error: OapError;
  constructor(error: OapError) {
    this.error = error;
  }
}

function refuse(code: "ERR_OAP_SUBSCRIPTION_REQUIRED" | "ERR_OAP_POLICY_BLOCK" | "ERR_OAP_CONFLICT" | "ERR_OAP_NOT_FOUND" | "ERR_OAP_INPUT_INVALID" | "ERR_OAP_IDEMPOTENCY_MISMATCH", reason: string, message: string, details: JsonObject = {}): OapError {
  return new OapError(code, message, { details: { reason, ...details } });
}

function periodStart(now: number, period: LimitRule["period"]): number {
  const d = new Date(now);
  switch (period) {
    case "transaction":
      return now;
    case "day":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case "week": {
      const day = (d.getUTCDay() + 6) % 7; // Monday = 0
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
    }
    case "month":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "year":
      return Date.UTC(d.getUTCFullYear(), 0, 1);
  }
}

/** The §11.2 OAP Wallet service (many wallets, one store). */
export class Wallet {
  readonly store: WalletStore;
  readonly #o: WalletOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: WalletOptions) {
    this.#o = options;
    this.store = options.store ?? new MemoryWalletStore();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  #id(prefix: string, ms: number): string {
    return `${prefix}${oapUlid(ms, this.#random)}`;
  }

  async #run<T>(fn: (tx: WalletTx, now: number) => T | Deferred): Promise<T> {
    const now = clockMs(this.#clock);
    const result = await this.store.transaction((tx) => fn(tx, now));
    if (result instanceof Deferred) throw result.error;
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // wallets and balances
  // -------------------------------------------------------------------------------------------

  /** Opens a wallet for a Principal (409 when the DID is taken). */
  async open(walletDid: string, principalDid: string): Promise<WalletBalance> {
    return this.#run((tx, now) => {
      if (tx.getWallet(walletDid) !== undefined) throw refuse("ERR_OAP_CONFLICT", "wallet_exists", `wallet ${walletDid} exists`);
      tx.putWallet({ wallet_did: walletDid, principal_did: principalDid, status: "open", created_at: rfc3339(new Date(now)) });
      return this.#balanceView(tx, walletDid);
    });
  }

  /** The open (else any) wallet of a Principal. */
  async walletOf(principalDid: string): Promise<string | undefined> {
    return this.#run((tx) => tx.walletByPrincipal(principalDid)?.wallet_did);
  }

  /** `wallet.balance`: balances per currency (expired holds are released first). */
  async balance(walletDid: string): Promise<WalletBalance> {
    return this.#run((tx, now) => {
      this.#wallet(tx, walletDid, false);
      this.#expireHolds(tx, walletDid, now);
      return this.#balanceView(tx, walletDid);
    });
  }

  #balanceView(tx: WalletTx, walletDid: string): WalletBalance {
    const w = tx.getWallet(walletDid) as WalletRecord;
    return {
      wallet_did: w.wallet_did,
      principal_did: w.principal_did,
      status: w.status,
      balances: tx.balances(walletDid).map((b) => ({
        currency: b.currency,
        balance: fromLedgerUnits(b.balance, b.currency),
        held: fromLedgerUnits(b.held, b.currency),
        available: fromLedgerUnits(b.balance - b.held, b.currency),
      })),
    };
  }

  #wallet(tx: WalletTx, walletDid: string, mustBeOpen = true): WalletRecord {
    const w = tx.getWallet(walletDid);
    if (w === undefined) throw refuse("ERR_OAP_NOT_FOUND", "wallet_unknown", `unknown wallet ${walletDid}`);
    if (mustBeOpen && w.status !== "open") throw refuse("ERR_OAP_CONFLICT", "wallet_closed", `wallet ${walletDid} is closed`);
    return w;
  }

  #row(tx: WalletTx, walletDid: string, currency: string): BalanceRow {
    return tx.getBalance(walletDid, currency) ?? { wallet_did: walletDid, currency, balance: 0n, held: 0n };
  }

  #units(amount: string): bigint {
    const units = toLedgerUnits(amount);
    if (units <= 0n) throw refuse("ERR_OAP_INPUT_INVALID", "amount_not_positive", "the amount must be positive");
    return units;
  }

  #entry(tx: WalletTx, now: number, e: Omit<EntryRow, "entry_id" | "timestamp" | "ts_ms" | "refunded" | "receipt_id"> & { receipt_id?: string; refunded?: bigint }): EntryRow {
    const entry_id = this.#id("urn:oap:wallet-entry:", now);
    const row: EntryRow = { ...e, entry_id, timestamp: rfc3339(new Date(now)), ts_ms: now, receipt_id: e.receipt_id ?? entry_id, refunded: e.refunded ?? 0n };
    tx.addEntry(row);
    return row;
  }

  /** The earlier result of an idempotent request, or undefined; 409 when the key was used for another request. */
  #replay(tx: WalletTx, walletDid: string, key: string | undefined, request: unknown): EntryRow | undefined {
    if (key === undefined) return undefined;
    const e = tx.findEntryByKey(walletDid, key);
    if (e === undefined) return undefined;
    if (e.idem_hash !== jcsDigest(request)) throw refuse("ERR_OAP_IDEMPOTENCY_MISMATCH", "idempotency_mismatch", `idempotency key ${key} was used for another request`);
    return e;
  }

  // -------------------------------------------------------------------------------------------
  // credit
  // -------------------------------------------------------------------------------------------

  /** Funds a wallet (top-up, incoming transfer). */
  async credit(walletDid: string, input: { readonly amount: string; readonly currency: string; readonly receipt_id?: string; readonly counterparty_did?: string; readonly memo?: string } & IdemInput): Promise<WalletEntry> {
    assertCurrency(input.currency);
    const units = this.#units(input.amount);
    return this.#run((tx, now) => {
      this.#wallet(tx, walletDid);
      const replay = this.#replay(tx, walletDid, input.idempotency_key, { op: "credit", ...input });
      if (replay !== undefined) return entryView(replay);
      const b = this.#row(tx, walletDid, input.currency);
      tx.putBalance({ ...b, balance: b.balance + units });
      const e = this.#entry(tx, now, {
        wallet_did: walletDid,
        currency: input.currency,
        type: "credit",
        amount: units,
        effect: units,
        ...(input.receipt_id === undefined ? {} : { receipt_id: input.receipt_id }),
        ...(input.counterparty_did === undefined ? {} : { counterparty_did: input.counterparty_did }),
        ...(input.memo === undefined ? {} : { memo: input.memo }),
        ...idem(input, { op: "credit", ...input }),
      });
      return entryView(e);
    });
  }

  // -------------------------------------------------------------------------------------------
  // holds
  // -------------------------------------------------------------------------------------------

  #expireHolds(tx: WalletTx, walletDid: string, now: number): void {
    for (const h of tx.activeHolds(walletDid)) if (h.expires_ms <= now) this.#closeHold(tx, h, "expired", now, "hold expired");
  }

  /** Ends a hold: the unused remainder is released. */
  #closeHold(tx: WalletTx, h: HoldRow, status: "closed" | "released" | "expired", now: number, memo: string): HoldRow {
    const rest = h.amount - h.captured;
    if (rest > 0n) {
      const b = this.#row(tx, h.wallet_did, h.currency);
      tx.putBalance({ ...b, held: b.held - rest });
      this.#entry(tx, now, { wallet_did: h.wallet_did, currency: h.currency, type: "release", amount: rest, effect: 0n, hold_id: h.hold_id, tool_did: h.tool_did, memo, ...(h.agent_did === undefined ? {} : { agent_did: h.agent_did }) });
    }
    const closed: HoldRow = { ...h, status };
    tx.putHold(closed);
    return closed;
  }

  /** §11.2 limits: 403 when the new hold would exceed a limit. */
  #checkLimits(tx: WalletTx, walletDid: string, currency: string, units: bigint, toolDid: string, agentDid: string | undefined, now: number): void {
    for (const rule of tx.getLimits(walletDid)) {
      if (rule.currency !== currency) continue;
      if (rule.applies_to?.tool_did !== undefined && rule.applies_to.tool_did !== toolDid) continue;
      if (rule.applies_to?.agent_did !== undefined && rule.applies_to.agent_did !== agentDid) continue;
      const limit = toLedgerUnits(rule.amount);
      let used = 0n;
      if (rule.period !== "transaction") {
        const matches = (e: { tool_did?: string; agent_did?: string }): boolean =>
          (rule.applies_to?.tool_did === undefined || e.tool_did === rule.applies_to.tool_did) && (rule.applies_to?.agent_did === undefined || e.agent_did === rule.applies_to.agent_did);
        for (const e of tx.entries(walletDid, { currency, fromMs: periodStart(now, rule.period) })) {
          if ((e.type === "debit" || e.type === "refund") && matches(e)) used -= e.effect;
        }
        for (const h of tx.activeHolds(walletDid)) if (h.currency === currency && matches(h)) used += h.amount - h.captured;
      }
      if (used + units > limit) {
        throw refuse("ERR_OAP_POLICY_BLOCK", "limit_exceeded", `the ${rule.period} limit ${rule.id} (${rule.amount} ${currency}) would be exceeded`, {
          limit_id: rule.id,
          limit: rule.amount,
          used: fromLedgerUnits(used, currency),
          requested: fromLedgerUnits(units, currency),
        });
      }
    }
  }

  /** `wallet.authorize`: reserves up to `amount` for a Tool until `expires_in_seconds`. */
  async authorize(
    walletDid: string,
    input: { readonly amount: string; readonly currency: string; readonly tool_did: string; readonly agent_did?: string; readonly expires_in_seconds?: number; readonly memo?: string } & IdemInput,
  ): Promise<Hold> {
    assertCurrency(input.currency);
    const units = this.#units(input.amount);
    const seconds = input.expires_in_seconds ?? this.#o.defaultHoldSeconds ?? 3600;
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > (this.#o.maxHoldSeconds ?? 7 * 86_400)) throw refuse("ERR_OAP_INPUT_INVALID", "hold_lifetime", "the hold lifetime is out of range");
    return this.#run((tx, now) => {
      this.#wallet(tx, walletDid);
      const replay = this.#replay(tx, walletDid, input.idempotency_key, { op: "authorize", ...input });
      if (replay !== undefined) return holdView(tx.getHold(replay.hold_id as string) as HoldRow);
      this.#expireHolds(tx, walletDid, now);
      const b = this.#row(tx, walletDid, input.currency);
      if (b.balance - b.held < units) {
        throw refuse("ERR_OAP_SUBSCRIPTION_REQUIRED", "insufficient_funds", "insufficient funds", { available: fromLedgerUnits(b.balance - b.held, input.currency), requested: fromLedgerUnits(units, input.currency), currency: input.currency });
      }
      this.#checkLimits(tx, walletDid, input.currency, units, input.tool_did, input.agent_did, now);
      tx.putBalance({ ...b, held: b.held + units });
      const expires = now + seconds * 1000;
      const hold: HoldRow = {
        hold_id: this.#id("urn:oap:hold:", now),
        wallet_did: walletDid,
        currency: input.currency,
        amount: units,
        captured: 0n,
        status: "active",
        tool_did: input.tool_did,
        ...(input.agent_did === undefined ? {} : { agent_did: input.agent_did }),
        created_at: rfc3339(new Date(now)),
        expires_at: rfc3339(new Date(expires)),
        expires_ms: expires,
      };
      tx.putHold(hold);
      this.#entry(tx, now, {
        wallet_did: walletDid,
        currency: input.currency,
        type: "hold",
        amount: units,
        effect: 0n,
        hold_id: hold.hold_id,
        tool_did: input.tool_did,
        counterparty_did: input.tool_did,
        ...(input.agent_did === undefined ? {} : { agent_did: input.agent_did }),
        ...(input.memo === undefined ? {} : { memo: input.memo }),
        ...idem(input, { op: "authorize", ...input }),
      });
      return holdView(hold);
    });
  }

  /** A hold. */
  async hold(holdId: string): Promise<Hold> {
    return this.#run((tx) => {
      const h = tx.getHold(holdId);
      if (h === undefined) throw refuse("ERR_OAP_NOT_FOUND", "hold_unknown", `unknown hold ${holdId}`);
      return holdView(h);
    });
  }

  /**
   * `wallet.capture`: takes `amount` from a hold for the invocation `receipt_id`. Several
   * partial captures are allowed until the hold is exhausted; `final: true` releases the rest.
   */
  async capture(holdId: string, input: { readonly amount: string; readonly receipt_id: string; readonly final?: boolean; readonly memo?: string } & IdemInput): Promise<CaptureResult> {
    const units = this.#units(input.amount);
    return this.#run((tx, now) => {
      const h = tx.getHold(holdId);
      if (h === undefined) throw refuse("ERR_OAP_NOT_FOUND", "hold_unknown", `unknown hold ${holdId}`);
      this.#wallet(tx, h.wallet_did);
      const replay = this.#replay(tx, h.wallet_did, input.idempotency_key, { op: "capture", hold_id: holdId, ...input });
      if (replay !== undefined) return { entry: entryView(replay), hold: holdView(tx.getHold(holdId) as HoldRow) };
      if (h.status === "active" && h.expires_ms <= now) {
        this.#closeHold(tx, h, "expired", now, "hold expired");
        return new Deferred(refuse("ERR_OAP_CONFLICT", "hold_expired", `hold ${holdId} expired at ${h.expires_at}`));
      }
      if (h.status !== "active") throw refuse("ERR_OAP_CONFLICT", h.status === "expired" ? "hold_expired" : "hold_closed", `hold ${holdId} is ${h.status}`);
      const remaining = h.amount - h.captured;
      if (units > remaining) {
        throw refuse("ERR_OAP_CONFLICT", "hold_exhausted", `the capture exceeds the hold's remaining ${fromLedgerUnits(remaining, h.currency)} ${h.currency}`, { remaining: fromLedgerUnits(remaining, h.currency), requested: fromLedgerUnits(units, h.currency) });
      }
      const b = this.#row(tx, h.wallet_did, h.currency);
      tx.putBalance({ ...b, balance: b.balance - units, held: b.held - units });
      let hold: HoldRow = { ...h, captured: h.captured + units };
      tx.putHold(hold);
      const e = this.#entry(tx, now, {
        wallet_did: h.wallet_did,
        currency: h.currency,
        type: "debit",
        amount: units,
        effect: -units,
        receipt_id: input.receipt_id,
        counterparty_did: h.tool_did,
        hold_id: h.hold_id,
        tool_did: h.tool_did,
        ...(h.agent_did === undefined ? {} : { agent_did: h.agent_did }),
        ...(input.memo === undefined ? {} : { memo: input.memo }),
        ...idem(input, { op: "capture", hold_id: holdId, ...input }),
      });
      if (input.final === true || hold.captured === hold.amount) hold = this.#closeHold(tx, hold, "closed", now, "hold closed");
      return { entry: entryView(e), hold: holdView(hold) };
    });
  }

  /** Voids a hold's remainder. */
  async release(holdId: string): Promise<Hold> {
    return this.#run((tx, now) => {
      const h = tx.getHold(holdId);
      if (h === undefined) throw refuse("ERR_OAP_NOT_FOUND", "hold_unknown", `unknown hold ${holdId}`);
      if (h.status !== "active") return holdView(h);
      return holdView(this.#closeHold(tx, h, "released", now, "hold released"));
    });
  }

  /** Authorise and capture in one step (subscription fees, settlement debits). */
  async charge(walletDid: string, input: { readonly amount: string; readonly currency: string; readonly tool_did: string; readonly agent_did?: string; readonly receipt_id: string; readonly memo?: string } & IdemInput): Promise<CaptureResult> {
    const { receipt_id, idempotency_key, ...rest } = input;
    const hold = await this.authorize(walletDid, { ...rest, expires_in_seconds: Math.min(60, this.#o.maxHoldSeconds ?? 60), ...(idempotency_key === undefined ? {} : { idempotency_key: `${idempotency_key}:authorize` }) });
    return this.capture(hold.hold_id, { amount: input.amount, receipt_id, final: true, ...(idempotency_key === undefined ? {} : { idempotency_key: `${idempotency_key}:capture` }) });
  }

  // -------------------------------------------------------------------------------------------
  // refunds
  // -------------------------------------------------------------------------------------------

  /**
   * `wallet.refund`: returns up to the captured amount of a debit (by `entry_id`, or the debit
   * citing `receipt_id`). Refunds never exceed the capture, summed over all refunds.
   */
  async refund(walletDid: string, input: { readonly amount: string; readonly entry_id?: string; readonly receipt_id?: string; readonly reason?: string; readonly dispute_id?: string } & IdemInput): Promise<WalletEntry> {
    const units = this.#units(input.amount);
    return this.#run((tx, now) => {
      this.#wallet(tx, walletDid, false);
      const replay = this.#replay(tx, walletDid, input.idempotency_key, { op: "refund", ...input });
      if (replay !== undefined) return entryView(replay);
      let debit: EntryRow | undefined;
      if (input.entry_id !== undefined) debit = tx.getEntry(input.entry_id);
      else if (input.receipt_id !== undefined) debit = tx.debitsByReceipt(walletDid, input.receipt_id).find((d) => d.amount > d.refunded);
      if (debit === undefined || debit.wallet_did !== walletDid || debit.type !== "debit") throw refuse("ERR_OAP_NOT_FOUND", "capture_unknown", "no captured debit to refund");
      const refundable = debit.amount - debit.refunded;
      if (units > refundable) {
        throw refuse("ERR_OAP_CONFLICT", "refund_exceeds_capture", `only ${fromLedgerUnits(refundable, debit.currency)} ${debit.currency} of the capture is refundable`, { refundable: fromLedgerUnits(refundable, debit.currency) });
      }
      tx.setRefunded(debit.entry_id, debit.refunded + units);
      const b = this.#row(tx, walletDid, debit.currency);
      tx.putBalance({ ...b, balance: b.balance + units });
      const memo = [input.reason, input.dispute_id === undefined ? undefined : `dispute ${input.dispute_id}`].filter((x) => x !== undefined).join("; ");
      const e = this.#entry(tx, now, {
        wallet_did: walletDid,
        currency: debit.currency,
        type: "refund",
        amount: units,
        effect: units,
        receipt_id: debit.receipt_id,
        refund_of: debit.entry_id,
        ...(debit.counterparty_did === undefined ? {} : { counterparty_did: debit.counterparty_did }),
        ...(debit.tool_did === undefined ? {} : { tool_did: debit.tool_did }),
        ...(debit.agent_did === undefined ? {} : { agent_did: debit.agent_did }),
        ...(memo.length === 0 ? {} : { memo }),
        ...idem(input, { op: "refund", ...input }),
      });
      return entryView(e);
    });
  }

  // -------------------------------------------------------------------------------------------
  // statement, limits
  // -------------------------------------------------------------------------------------------

  /** `wallet.statement`: the signed, schema-valid statement of one currency over [from, to). */
  async statement(walletDid: string, input: { readonly currency: string; readonly from: string; readonly to: string }): Promise<OapWalletStatement> {
    assertCurrency(input.currency);
    const from = parseRfc3339Ms(input.from);
    const to = parseRfc3339Ms(input.to);
    if (from === undefined || to === undefined || to < from) throw refuse("ERR_OAP_INPUT_INVALID", "period_invalid", "the statement period must be two RFC 3339 times, from ≤ to");
    const doc = await this.#run((tx, now) => {
      const w = this.#wallet(tx, walletDid, false);
      const opening = tx.sumEffects(walletDid, input.currency, from);
      const entries = tx.entries(walletDid, { currency: input.currency, fromMs: from, toMs: to });
      const closing = entries.reduce((s, e) => s + e.effect, opening);
      return {
        statement_id: this.#id("urn:oap:wallet-statement:", now),
        wallet_did: walletDid,
        principal_did: w.principal_did,
        period_start: rfc3339(new Date(from)),
        period_end: rfc3339(new Date(to)),
        currency: input.currency,
        opening_balance: fromLedgerUnits(opening, input.currency),
        closing_balance: fromLedgerUnits(closing, input.currency),
        entries: entries.map((e) => {
          const v = entryView(e);
          return {
            entry_id: v.entry_id,
            timestamp: v.timestamp,
            type: v.type,
            amount: v.amount,
            receipt_id: v.receipt_id,
            ...(v.counterparty_did === undefined ? {} : { counterparty_did: v.counterparty_did }),
            ...(v.memo === undefined ? {} : { memo: v.memo }),
          };
        }),
      };
    });
    return signDocument(doc, this.#o.signer, { schema: "oap-wallet-statement" }) as unknown as OapWalletStatement;
  }

  /**
   * `wallet.statement` by Principal (the `GET wallet?principal_did=` form): the statement of the
   * Principal's wallet, or — when the Principal has none here — an empty signed statement of
   * this provider (`wallet_did` = the provider DID, balances 0).
   */
  async statementForPrincipal(principalDid: string, input: { readonly currency: string; readonly from: string; readonly to: string }): Promise<OapWalletStatement> {
    const walletDid = await this.walletOf(principalDid);
    if (walletDid !== undefined) return this.statement(walletDid, input);
    assertCurrency(input.currency);
    const from = parseRfc3339Ms(input.from);
    const to = parseRfc3339Ms(input.to);
    if (from === undefined || to === undefined || to < from) throw refuse("ERR_OAP_INPUT_INVALID", "period_invalid", "the statement period must be two RFC 3339 times, from ≤ to");
    const zero = fromLedgerUnits(0n, input.currency);
    const doc = {
      statement_id: this.#id("urn:oap:wallet-statement:", clockMs(this.#clock)),
      wallet_did: this.#o.providerDid,
      principal_did: principalDid,
      period_start: rfc3339(new Date(from)),
      period_end: rfc3339(new Date(to)),
      currency: input.currency,
      opening_balance: zero,
      closing_balance: zero,
      entries: [],
    };
    return signDocument(doc, this.#o.signer, { schema: "oap-wallet-statement" }) as unknown as OapWalletStatement;
  }

  /** `wallet.limits` GET. */
  async limits(walletDid: string): Promise<LimitRule[]> {
    return this.#run((tx) => {
      this.#wallet(tx, walletDid, false);
      return tx.getLimits(walletDid);
    });
  }

  /** `wallet.limits` PUT: replaces the limits (validated; ids unique). */
  async setLimits(walletDid: string, rules: readonly LimitRule[]): Promise<LimitRule[]> {
    const ids = new Set<string>();
    const clean = rules.map((r): LimitRule => {
      if (typeof r.id !== "string" || r.id.length === 0 || ids.has(r.id)) throw refuse("ERR_OAP_INPUT_INVALID", "limit_invalid", "every limit needs a unique id");
      ids.add(r.id);
      if (!["transaction", "day", "week", "month", "year"].includes(r.period)) throw refuse("ERR_OAP_INPUT_INVALID", "limit_invalid", `unknown limit period ${String(r.period)}`);
      assertCurrency(r.currency);
      toLedgerUnits(r.amount);
      const applies = { ...(r.applies_to?.tool_did === undefined ? {} : { tool_did: r.applies_to.tool_did }), ...(r.applies_to?.agent_did === undefined ? {} : { agent_did: r.applies_to.agent_did }) };
      return { id: r.id, period: r.period, amount: r.amount, currency: r.currency, ...(Object.keys(applies).length === 0 ? {} : { applies_to: applies }) };
    });
    return this.#run((tx) => {
      this.#wallet(tx, walletDid);
      tx.putLimits(walletDid, clean);
      return clean;
    });
  }

  /** Every ledger entry of a wallet (all currencies), in order. */
  async entries(walletDid: string): Promise<WalletEntry[]> {
    return this.#run((tx) => {
      this.#wallet(tx, walletDid, false);
      return tx.entries(walletDid).map(entryView);
    });
  }

  // -------------------------------------------------------------------------------------------
  // portability (§11.2)
  // -------------------------------------------------------------------------------------------

  /**
   * Exports the full ledger, signed by this provider. With `transfer: true` the funds move: no
   * hold may be active (409), every balance is debited to zero and the wallet is closed in the
   * same transaction, so the funds exist in exactly one wallet.
   */
  async exportLedger(walletDid: string, options: { readonly transfer?: boolean } = {}): Promise<WalletExport> {
    const transfer = options.transfer === true;
    const doc = await this.#run((tx, now) => {
      const w = this.#wallet(tx, walletDid, transfer);
      this.#expireHolds(tx, walletDid, now);
      if (transfer && tx.activeHolds(walletDid).length > 0) throw refuse("ERR_OAP_CONFLICT", "holds_active", "release or capture the active holds before transferring the wallet");
      const export_id = this.#id("urn:oap:wallet-export:", now);
      const balances = tx.balances(walletDid).map((b) => ({ currency: b.currency, balance: fromLedgerUnits(b.balance, b.currency) }));
      const entries = tx.entries(walletDid).map(entryView);
      const limits = tx.getLimits(walletDid);
      if (transfer) {
        for (const b of tx.balances(walletDid)) {
          if (b.balance === 0n) continue;
          tx.putBalance({ ...b, balance: 0n });
          this.#entry(tx, now, { wallet_did: walletDid, currency: b.currency, type: "debit", amount: b.balance, effect: -b.balance, receipt_id: export_id, memo: "ledger transferred to another Wallet provider" });
        }
        tx.putWallet({ ...w, status: "closed" });
      }
      return {
        format: "agentwire-oap-wallet-ledger/1" as const,
        export_id,
        provider_did: this.#o.providerDid,
        wallet_did: walletDid,
        principal_did: w.principal_did,
        exported_at: rfc3339(new Date(now)),
        transfer,
        balances,
        entries,
        limits,
      };
    });
    return signDocument(doc, this.#o.signer) as unknown as WalletExport;
  }

  /**
   * Imports another provider's export into a new wallet `walletDid` of the same Principal:
   * verifies the exporting provider's signature and that the entries add up to the balances;
   * each export imports once (409 on a repeat). A transfer carries the balances (entries keep
   * their effects); a history copy carries the entries with no effect on the balance.
   */
  async importLedger(exported: unknown, walletDid: string, keys: OapKeyResolver): Promise<WalletBalance> {
    const verified = await verifyDocument(exported, keys);
    const doc = exported as WalletExport;
    if (doc.format !== "agentwire-oap-wallet-ledger/1") throw refuse("ERR_OAP_INPUT_INVALID", "export_format", "not an agentwire wallet ledger export");
    if (verified.signerDid !== doc.provider_did) throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the export is signed by ${verified.signerDid}, not its provider ${doc.provider_did}`);
    const sums = new Map<string, bigint>();
    for (const e of doc.entries) {
      assertCurrency(e.currency);
      const u = toLedgerUnits(e.amount);
      const effect = e.type === "credit" || e.type === "refund" ? u : e.type === "debit" || e.type === "fee" ? -u : 0n;
      sums.set(e.currency, (sums.get(e.currency) ?? 0n) + effect);
    }
    for (const b of doc.balances) {
      if ((sums.get(b.currency) ?? 0n) !== toLedgerUnits(b.balance)) throw refuse("ERR_OAP_INPUT_INVALID", "export_inconsistent", `the ${b.currency} entries do not add up to the exported balance`);
    }
    return this.#run((tx, now) => {
      if (tx.hasImport(doc.export_id)) throw refuse("ERR_OAP_CONFLICT", "export_imported", `export ${doc.export_id} was already imported`);
      if (tx.getWallet(walletDid) !== undefined) throw refuse("ERR_OAP_CONFLICT", "wallet_exists", `wallet ${walletDid} exists`);
      tx.addImport(doc.export_id);
      tx.putWallet({ wallet_did: walletDid, principal_did: doc.principal_did, status: "open", created_at: rfc3339(new Date(now)) });
      for (const e of doc.entries) {
        const u = toLedgerUnits(e.amount);
        const effect = !doc.transfer ? 0n : e.type === "credit" || e.type === "refund" ? u : e.type === "debit" || e.type === "fee" ? -u : 0n;
        const ms = parseRfc3339Ms(e.timestamp) ?? now;
        const row: EntryRow = {
          entry_id: this.#id("urn:oap:wallet-entry:", now),
          wallet_did: walletDid,
          currency: e.currency,
          type: e.type,
          amount: u,
          effect,
          timestamp: e.timestamp,
          ts_ms: ms,
          receipt_id: e.receipt_id,
          refunded: 0n,
          memo: `imported from ${doc.wallet_did} (${e.entry_id})${e.memo === undefined ? "" : `: ${e.memo}`}`,
          ...(e.counterparty_did === undefined ? {} : { counterparty_did: e.counterparty_did }),
        };
        tx.addEntry(row);
      }
      if (doc.transfer) for (const b of doc.balances) tx.putBalance({ wallet_did: walletDid, currency: b.currency, balance: toLedgerUnits(b.balance), held: 0n });
      tx.putLimits(walletDid, doc.limits);
      return this.#balanceView(tx, walletDid);
    });
  }

  // -------------------------------------------------------------------------------------------
  // §12.4 subscription termination through the Wallet
  // -------------------------------------------------------------------------------------------

  /** Cancels a subscription through the Wallet: the same single call the Tool offers. */
  async cancelSubscription(input: { readonly tool_did: string; readonly subscription_id: string; readonly principal_did: string }): Promise<SubscriptionResult> {
    const terminator = this.#o.subscriptions?.(input.tool_did);
    if (terminator === undefined) throw refuse("ERR_OAP_NOT_FOUND", "tool_unknown", `no subscription channel to ${input.tool_did}`);
    return terminator.cancel(input.subscription_id, { principal_did: input.principal_did, channel: "wallet" });
  }
}

function idem(input: IdemInput, request: unknown): { idem_key?: string; idem_hash?: string } {
  return input.idempotency_key === undefined ? {} : { idem_key: input.idempotency_key, idem_hash: jcsDigest(request) };
}

function entryView(e: EntryRow): WalletEntry {
  return {
    entry_id: e.entry_id,
    wallet_did: e.wallet_did,
    timestamp: e.timestamp,
    type: e.type,
    currency: e.currency,
    amount: fromLedgerUnits(e.amount, e.currency),
    receipt_id: e.receipt_id,
    ...(e.counterparty_did === undefined ? {} : { counterparty_did: e.counterparty_did }),
    ...(e.memo === undefined ? {} : { memo: e.memo }),
    ...(e.hold_id === undefined ? {} : { hold_id: e.hold_id }),
    ...(e.refund_of === undefined ? {} : { refund_of: e.refund_of }),
  };
}

function holdView(h: HoldRow): Hold {
  return {
    hold_id: h.hold_id,
    wallet_did: h.wallet_did,
    currency: h.currency,
    amount: fromLedgerUnits(h.amount, h.currency),
    captured: fromLedgerUnits(h.captured, h.currency),
    remaining: fromLedgerUnits(h.amount - h.captured, h.currency),
    status: h.status,
    tool_did: h.tool_did,
    ...(h.agent_did === undefined ? {} : { agent_did: h.agent_did }),
    created_at: h.created_at,
    expires_at: h.expires_at,
  };
}
