/**
 * Storage of the OAP Wallet ledger (§11.2): the {@link WalletStore} interface and its in-memory
 * implementation. The SQLite implementation is in wallet-sqlite.ts.
 *
 * Every wallet operation runs as ONE synchronous function over a {@link WalletTx} inside
 * {@link WalletStore.transaction}: the store guarantees that the function sees a consistent
 * state, that no other transaction interleaves (memory: JavaScript runs it to completion;
 * SQLite: `BEGIN IMMEDIATE`, i.e. the write lock is taken before the first read), and that all
 * of its writes commit together or not at all. That is what makes check-then-debit safe under
 * concurrent requests.
 *
 * Amounts are bigint ledger units (10^-8 of the currency unit, money.ts LEDGER_SCALE).
 *
 * @module
 */

/** A wallet. */
export interface WalletRecord {
  readonly wallet_did: string;
  readonly principal_did: string;
  readonly status: "open" | "closed";
  readonly created_at: string;
}

/** Balance of one currency: `balance` = posted funds, `held` = reserved by active holds. */
export interface BalanceRow {
  readonly wallet_did: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly held: bigint;
}

/** An authorisation hold. */
export interface HoldRow {
  readonly hold_id: string;
  readonly wallet_did: string;
  readonly currency: string;
  /** Authorised maximum. */
  readonly amount: bigint;
  /** Captured so far. */
  readonly captured: bigint;
  /** `active`; `closed` (fully or finally captured); `released` (voided); `expired`. */
  readonly status: "active" | "closed" | "released" | "expired";
  readonly tool_did: string;
  readonly agent_did?: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly expires_ms: number;
}

/** Ledger entry types (the wallet statement's). */
export type WalletEntryType = "credit" | "debit" | "hold" | "release" | "refund" | "fee";

/** One ledger entry. */
export interface EntryRow {
  readonly entry_id: string;
  readonly wallet_did: string;
  readonly currency: string;
  readonly type: WalletEntryType;
  /** Positive amount of the entry. */
  readonly amount: bigint;
  /** Signed effect on `balance` (credit/refund +, debit/fee −, hold/release 0). */
  readonly effect: bigint;
  readonly timestamp: string;
  readonly ts_ms: number;
  readonly receipt_id: string;
  readonly counterparty_did?: string;
  readonly memo?: string;
  readonly hold_id?: string;
  readonly tool_did?: string;
  readonly agent_did?: string;
  /** For refunds: the refunded debit. */
  readonly refund_of?: string;
  /** For debits: amount refunded so far. */
  readonly refunded: bigint;
  /** Idempotency key (unique per wallet). */
  readonly idem_key?: string;
  /** JCS digest of the request the key was used with. */
  readonly idem_hash?: string;
  /** Insertion order, assigned by the store. */
  readonly seq?: number;
}

/** A spending limit (§11.2 `wallet.limits`), stored as given. */
export interface LimitRule {
  readonly id: string;
  /** Which spend it constrains (all when empty). */
  readonly applies_to?: { readonly tool_did?: string; readonly agent_did?: string };
  /** `transaction`: per hold; otherwise a calendar period (UTC; weeks start on Monday). */
  readonly period: "transaction" | "day" | "week" | "month" | "year";
  readonly amount: string;
  readonly currency: string;
}

/** The operations a wallet transaction may perform (all synchronous). */
export interface WalletTx {
  getWallet(walletDid: string): WalletRecord | undefined;
  walletByPrincipal(principalDid: string): WalletRecord | undefined;
  putWallet(wallet: WalletRecord): void;
  getBalance(walletDid: string, currency: string): BalanceRow | undefined;
  putBalance(row: BalanceRow): void;
  balances(walletDid: string): BalanceRow[];
  getHold(holdId: string): HoldRow | undefined;
  putHold(hold: HoldRow): void;
  activeHolds(walletDid: string): HoldRow[];
  getEntry(entryId: string): EntryRow | undefined;
  findEntryByKey(walletDid: string, idemKey: string): EntryRow | undefined;
  /** Debit entries of a wallet citing a receipt. */
  debitsByReceipt(walletDid: string, receiptId: string): EntryRow[];
  addEntry(entry: EntryRow): void;
  setRefunded(entryId: string, refunded: bigint): void;
  /** Entries in insertion order, optionally one currency and `fromMs <= ts_ms < toMs`. */
  entries(walletDid: string, query?: { readonly currency?: string; readonly fromMs?: number; readonly toMs?: number }): EntryRow[];
  /** Sum of `effect` of entries with `ts_ms < beforeMs`. */
  sumEffects(walletDid: string, currency: string, beforeMs: number): bigint;
  getLimits(walletDid: string): LimitRule[];
  putLimits(walletDid: string, rules: readonly LimitRule[]): void;
  hasImport(exportId: string): boolean;
  addImport(exportId: string): void;
}

/** Transactional wallet storage. */
export interface WalletStore {
  /** Runs `fn` atomically and in isolation; a throw rolls every write back. */
  transaction<T>(fn: (tx: WalletTx) => T): Promise<T>;
  close?(): void;
}

/** In-memory {@link WalletStore} (writes are undone when the transaction function throws). */
export class MemoryWalletStore implements WalletStore {
  readonly #wallets = new Map<string, WalletRecord>();
  readonly #balances = new Map<string, BalanceRow>();
  readonly #holds = new Map<string, HoldRow>();
  readonly #entries: EntryRow[] = [];
  readonly #entryIndex = new Map<string, number>();
  readonly #limits = new Map<string, LimitRule[]>();
  readonly #imports = new Set<string>();
  #busy = false;

  transaction<T>(fn: (tx: WalletTx) => T): Promise<T> {
    if (this.#busy) return Promise.reject(new Error("nested wallet transaction"));
    const undo: (() => void)[] = [];
    const setIn = <K, V>(map: Map<K, V>, key: K, value: V): void => {
      const had = map.has(key);
      const old = map.get(key);
      undo.push(() => (had ? map.set(key, old as V) : map.delete(key)));
      map.set(key, value);
    };
    const tx: WalletTx = {
      getWallet: (id) => this.#wallets.get(id),
      walletByPrincipal: (p) => [...this.#wallets.values()].find((w) => w.principal_did === p && w.status === "open") ?? [...this.#wallets.values()].find((w) => w.principal_did === p),
      putWallet: (w) => setIn(this.#wallets, w.wallet_did, { ...w }),
      getBalance: (id, c) => this.#balances.get(`${id}\u0000${c}`),
      putBalance: (r) => setIn(this.#balances, `${r.wallet_did}\u0000${r.currency}`, { ...r }),
      balances: (id) => [...this.#balances.values()].filter((b) => b.wallet_did === id).sort((a, b) => (a.currency < b.currency ? -1 : 1)),
      getHold: (id) => this.#holds.get(id),
      putHold: (h) => setIn(this.#holds, h.hold_id, { ...h }),
      activeHolds: (id) => [...this.#holds.values()].filter((h) => h.wallet_did === id && h.status === "active"),
      getEntry: (id) => {
        const i = this.#entryIndex.get(id);
        return i === undefined ? undefined : this.#entries[i];
      },
      findEntryByKey: (id, key) => this.#entries.find((e) => e.wallet_did === id && e.idem_key === key),
      debitsByReceipt: (id, r) => this.#entries.filter((e) => e.wallet_did === id && e.type === "debit" && e.receipt_id === r),
      addEntry: (e) => {
        if (this.#entryIndex.has(e.entry_id)) throw new Error(`duplicate entry ${e.entry_id}`);
        if (e.idem_key !== undefined && this.#entries.some((x) => x.wallet_did === e.wallet_did && x.idem_key === e.idem_key)) throw new Error(`duplicate idempotency key ${e.idem_key}`);
        const seq = this.#entries.length + 1;
        this.#entries.push({ ...e, seq });
        this.#entryIndex.set(e.entry_id, seq - 1);
        undo.push(() => {
          this.#entries.pop();
          this.#entryIndex.delete(e.entry_id);
        });
      },
      setRefunded: (id, refunded) => {
        const i = this.#entryIndex.get(id);
        if (i === undefined) throw new Error(`unknown entry ${id}`);
        const old = this.#entries[i] as EntryRow;
        this.#entries[i] = { ...old, refunded };
        undo.push(() => (this.#entries[i] = old));
      },
      entries: (id, q = {}) =>
        this.#entries.filter((e) => e.wallet_did === id && (q.currency === undefined || e.currency === q.currency) && (q.fromMs === undefined || e.ts_ms >= q.fromMs) && (q.toMs === undefined || e.ts_ms < q.toMs)),
      sumEffects: (id, c, before) => this.#entries.reduce((s, e) => (e.wallet_did === id && e.currency === c && e.ts_ms < before ? s + e.effect : s), 0n),
      getLimits: (id) => [...(this.#limits.get(id) ?? [])],
      putLimits: (id, rules) => setIn(this.#limits, id, [...rules]),
      hasImport: (id) => this.#imports.has(id),
      addImport: (id) => {
        this.#imports.add(id);
        undo.push(() => this.#imports.delete(id));
      },
    };
    this.#busy = true;
    try {
      return Promise.resolve(fn(tx));
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
      return Promise.reject(e);
    } finally {
      this.#busy = false;
    }
  }
}
