/**
 * {@link WalletStore} on Node's built-in `node:sqlite` (no native addon): one database file in
 * WAL mode, amounts as 64-bit INTEGER ledger units read as bigint, and every wallet transaction
 * inside `BEGIN IMMEDIATE … COMMIT`.
 *
 * `BEGIN IMMEDIATE` takes SQLite's write lock before the transaction reads anything, so two
 * connections — in this process, other worker threads or other processes — can never both read
 * the same balance and both spend it: the second waits (busy timeout) until the first commits
 * and then reads the new state. CHECK constraints (`held ≤ balance`, `captured ≤ amount`, no
 * negative amounts) are a last line of defence: a logic error aborts the transaction instead of
 * corrupting the ledger.
 *
 * Schema (version 1):
 *
 *     meta(key PRIMARY KEY, value)
 *     wallets(wallet_did PRIMARY KEY, principal_did, status, created_at)
 *     balances(wallet_did, currency, balance INTEGER, held INTEGER, PRIMARY KEY(wallet_did, currency))
 *     holds(hold_id PRIMARY KEY, wallet_did, currency, amount, captured, status, tool_did, agent_did, created_at, expires_at, expires_ms)
 *     entries(seq INTEGER PRIMARY KEY AUTOINCREMENT, entry_id UNIQUE, wallet_did, currency, type, amount, effect,
 *             timestamp, ts_ms, receipt_id, counterparty_did, memo, hold_id, tool_did, agent_did, refund_of,
 *             refunded, idem_key, idem_hash, UNIQUE(wallet_did, idem_key))
 *     limits(wallet_did PRIMARY KEY, rules JSON)
 *     imports(export_id PRIMARY KEY)
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { OapError } from "../errors.js";
import { balanceOf, big, entryOf, holdOf, walletOf, type Row } from "./wallet-rows.js";
import type { LimitRule, WalletStore, WalletTx } from "./wallet-store.js";

/** Options of {@link SqliteWalletStore}. */
export interface SqliteWalletStoreOptions {
  /** How long a transaction waits for another connection's write lock (ms, default 10,000). */
  readonly busyTimeoutMs?: number;
  /** PRAGMA synchronous (default FULL: a committed payment survives a power loss). */
  readonly synchronous?: "NORMAL" | "FULL";
}

const SCHEMA_VERSION = "1";


/** A {@link WalletStore} in one SQLite file (several instances may open the same file). */
export class SqliteWalletStore implements WalletStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  readonly #tx: WalletTx;
  #inTx = false;
  #closed = false;

  constructor(path: string, options: SqliteWalletStoreOptions = {}) {
    try {
      const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000));
      this.#db = new DatabaseSync(path, { timeout: busy, readBigInts: true });
      // busy_timeout again as a PRAGMA for Node versions without the `timeout` option; values are
      // read back through big() so a Node without `readBigInts` still gets exact integers.
      this.#db.exec(`PRAGMA busy_timeout = ${busy}; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}; PRAGMA foreign_keys = ON;`);
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        this.#db.exec(`
          CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS wallets (wallet_did TEXT PRIMARY KEY, principal_did TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open','closed')), created_at TEXT NOT NULL) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS wallets_by_principal ON wallets (principal_did);
          CREATE TABLE IF NOT EXISTS balances (
            wallet_did TEXT NOT NULL REFERENCES wallets(wallet_did), currency TEXT NOT NULL,
            balance INTEGER NOT NULL, held INTEGER NOT NULL,
            CHECK (held >= 0 AND balance >= held),
            PRIMARY KEY (wallet_did, currency)) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS holds (
            hold_id TEXT PRIMARY KEY, wallet_did TEXT NOT NULL REFERENCES wallets(wallet_did), currency TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0), captured INTEGER NOT NULL CHECK (captured >= 0 AND captured <= amount),
            status TEXT NOT NULL CHECK (status IN ('active','closed','released','expired')),
            tool_did TEXT NOT NULL, agent_did TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS holds_active ON holds (wallet_did, status);
          CREATE TABLE IF NOT EXISTS entries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, entry_id TEXT NOT NULL UNIQUE, wallet_did TEXT NOT NULL REFERENCES wallets(wallet_did),
            currency TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('credit','debit','hold','release','refund','fee')),
            amount INTEGER NOT NULL CHECK (amount >= 0), effect INTEGER NOT NULL, timestamp TEXT NOT NULL, ts_ms INTEGER NOT NULL,
            receipt_id TEXT NOT NULL, counterparty_did TEXT, memo TEXT, hold_id TEXT, tool_did TEXT, agent_did TEXT, refund_of TEXT,
            refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount), idem_key TEXT, idem_hash TEXT,
            UNIQUE (wallet_did, idem_key));
          CREATE INDEX IF NOT EXISTS entries_by_wallet ON entries (wallet_did, currency, ts_ms);
          CREATE INDEX IF NOT EXISTS entries_by_receipt ON entries (wallet_did, receipt_id);
          CREATE TABLE IF NOT EXISTS limits (wallet_did TEXT PRIMARY KEY, rules TEXT NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS imports (export_id TEXT PRIMARY KEY) WITHOUT ROWID;
        `);
        const v = this.#db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as Row | undefined;
        if (v === undefined) this.#db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
        else if (v["value"] !== SCHEMA_VERSION) throw new Error(`unsupported wallet store schema version ${String(v["value"])}`);
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
    } catch (e) {
      throw new OapError("ERR_OAP_INTERNAL", `cannot open the SQLite wallet store ${path}: ${(e as Error).message}`, { cause: e });
    }
    const db = this.#db;
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#s = {
      getWallet: p("SELECT * FROM wallets WHERE wallet_did = ?"),
      walletByPrincipal: p("SELECT * FROM wallets WHERE principal_did = ? ORDER BY status = 'open' DESC, created_at LIMIT 1"),
      putWallet: p("INSERT INTO wallets (wallet_did, principal_did, status, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (wallet_did) DO UPDATE SET principal_did = excluded.principal_did, status = excluded.status"),
      getBalance: p("SELECT * FROM balances WHERE wallet_did = ? AND currency = ?"),
      putBalance: p("INSERT INTO balances (wallet_did, currency, balance, held) VALUES (?, ?, ?, ?) ON CONFLICT (wallet_did, currency) DO UPDATE SET balance = excluded.balance, held = excluded.held"),
      balances: p("SELECT * FROM balances WHERE wallet_did = ? ORDER BY currency"),
      getHold: p("SELECT * FROM holds WHERE hold_id = ?"),
      putHold: p(
        "INSERT INTO holds (hold_id, wallet_did, currency, amount, captured, status, tool_did, agent_did, created_at, expires_at, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hold_id) DO UPDATE SET captured = excluded.captured, status = excluded.status",
      ),
      activeHolds: p("SELECT * FROM holds WHERE wallet_did = ? AND status = 'active'"),
      getEntry: p("SELECT * FROM entries WHERE entry_id = ?"),
      findEntryByKey: p("SELECT * FROM entries WHERE wallet_did = ? AND idem_key = ?"),
      debitsByReceipt: p("SELECT * FROM entries WHERE wallet_did = ? AND receipt_id = ? AND type = 'debit' ORDER BY seq"),
      addEntry: p(
        "INSERT INTO entries (entry_id, wallet_did, currency, type, amount, effect, timestamp, ts_ms, receipt_id, counterparty_did, memo, hold_id, tool_did, agent_did, refund_of, refunded, idem_key, idem_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      setRefunded: p("UPDATE entries SET refunded = ? WHERE entry_id = ?"),
      entriesAll: p("SELECT * FROM entries WHERE wallet_did = ? ORDER BY seq"),
      entriesRange: p("SELECT * FROM entries WHERE wallet_did = ? AND (? IS NULL OR currency = ?) AND ts_ms >= ? AND ts_ms < ? ORDER BY seq"),
      sumEffects: p("SELECT COALESCE(SUM(effect), 0) AS s FROM entries WHERE wallet_did = ? AND currency = ? AND ts_ms < ?"),
      getLimits: p("SELECT rules FROM limits WHERE wallet_did = ?"),
      putLimits: p("INSERT INTO limits (wallet_did, rules) VALUES (?, ?) ON CONFLICT (wallet_did) DO UPDATE SET rules = excluded.rules"),
      hasImport: p("SELECT 1 AS x FROM imports WHERE export_id = ?"),
      addImport: p("INSERT INTO imports (export_id) VALUES (?)"),
    };
    const s = this.#s as Record<string, StatementSync>;
    const q = (name: string): StatementSync => s[name] as StatementSync;
    this.#tx = {
      getWallet: (id) => {
        const r = q("getWallet").get(id) as Row | undefined;
        return r === undefined ? undefined : walletOf(r);
      },
      walletByPrincipal: (pd) => {
        const r = q("walletByPrincipal").get(pd) as Row | undefined;
        return r === undefined ? undefined : walletOf(r);
      },
      putWallet: (w) => void q("putWallet").run(w.wallet_did, w.principal_did, w.status, w.created_at),
      getBalance: (id, c) => {
        const r = q("getBalance").get(id, c) as Row | undefined;
        return r === undefined ? undefined : balanceOf(r);
      },
      putBalance: (b) => void q("putBalance").run(b.wallet_did, b.currency, b.balance, b.held),
      balances: (id) => (q("balances").all(id) as Row[]).map(balanceOf),
      getHold: (id) => {
        const r = q("getHold").get(id) as Row | undefined;
        return r === undefined ? undefined : holdOf(r);
      },
      putHold: (h) => void q("putHold").run(h.hold_id, h.wallet_did, h.currency, h.amount, h.captured, h.status, h.tool_did, h.agent_did ?? null, h.created_at, h.expires_at, h.expires_ms),
      activeHolds: (id) => (q("activeHolds").all(id) as Row[]).map(holdOf),
      getEntry: (id) => {
        const r = q("getEntry").get(id) as Row | undefined;
        return r === undefined ? undefined : entryOf(r);
      },
      findEntryByKey: (id, key) => {
        const r = q("findEntryByKey").get(id, key) as Row | undefined;
        return r === undefined ? undefined : entryOf(r);
      },
      debitsByReceipt: (id, receipt) => (q("debitsByReceipt").all(id, receipt) as Row[]).map(entryOf),
      addEntry: (e) =>
        void q("addEntry").run(
          e.entry_id,
          e.wallet_did,
          e.currency,
          e.type,
          e.amount,
          e.effect,
          e.timestamp,
          e.ts_ms,
          e.receipt_id,
          e.counterparty_did ?? null,
          e.memo ?? null,
          e.hold_id ?? null,
          e.tool_did ?? null,
          e.agent_did ?? null,
          e.refund_of ?? null,
          e.refunded,
          e.idem_key ?? null,
          e.idem_hash ?? null,
        ),
      setRefunded: (id, refunded) => void q("setRefunded").run(refunded, id),
      entries: (id, query = {}) => {
        if (query.currency === undefined && query.fromMs === undefined && query.toMs === undefined) return (q("entriesAll").all(id) as Row[]).map(entryOf);
        const c = query.currency ?? null;
        return (q("entriesRange").all(id, c, c, query.fromMs ?? Number.MIN_SAFE_INTEGER, query.toMs ?? Number.MAX_SAFE_INTEGER) as Row[]).map(entryOf);
      },
      sumEffects: (id, c, before) => big((q("sumEffects").get(id, c, before) as Row)["s"]),
      getLimits: (id) => {
        const r = q("getLimits").get(id) as Row | undefined;
        return r === undefined ? [] : (JSON.parse(String(r["rules"])) as LimitRule[]);
      },
      putLimits: (id, rules) => void q("putLimits").run(id, JSON.stringify(rules)),
      hasImport: (id) => q("hasImport").get(id) !== undefined,
      addImport: (id) => void q("addImport").run(id),
    };
  }

  async transaction<T>(fn: (tx: WalletTx) => T): Promise<T> {
    if (this.#closed) throw new OapError("ERR_OAP_INTERNAL", "the wallet store is closed");
    if (this.#inTx) throw new OapError("ERR_OAP_INTERNAL", "nested wallet transaction");
    // BEGIN IMMEDIATE waits up to the busy timeout inside SQLite; a few extra attempts cover
    // lock-upgrade deadlock detection (SQLITE_BUSY without waiting).
    for (let attempt = 0; ; attempt++) {
      try {
        this.#db.exec("BEGIN IMMEDIATE");
        break;
      } catch (e) {
        if (attempt >= 20 || !/busy|locked/iu.test((e as Error).message)) throw new OapError("ERR_OAP_MAINTENANCE", `the wallet store is busy: ${(e as Error).message}`, { cause: e, details: { retry_after_seconds: 1 } });
        await sleep(5 + attempt * 5);
      }
    }
    this.#inTx = true;
    try {
      const result = fn(this.#tx);
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // the transaction is already rolled back (e.g. SQLITE_FULL); the error below stands
      }
      if (e instanceof OapError) throw e;
      throw new OapError("ERR_OAP_INTERNAL", `wallet transaction failed: ${(e as Error).message}`, { cause: e });
    } finally {
      this.#inTx = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
