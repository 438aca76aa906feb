/**
 * {@link WalletStore} on PostgreSQL: one wallet ledger shared by several nodes (or pools), which
 * never overspends however captures and charges interleave between them.
 *
 * A wallet transaction function is synchronous (wallet-store.ts), the `pg` driver is not. So a
 * transaction here is: BEGIN (READ COMMITTED) on one connection; run the function against an
 * in-memory copy of what it has read so far; when it asks for something not loaded yet (a
 * wallet, the wallets of a Principal, the wallet of a hold / entry, an import id) the run is
 * abandoned, that data is loaded — after taking a transaction-scoped advisory lock on it
 * (`pg_advisory_xact_lock(hashtextextended('wallet:' || did, 0))`) — and the function runs again
 * from the start; when it completes, its writes are diffed against the loaded state and written
 * in the same transaction, then COMMIT. Every wallet the function touches is therefore locked
 * before it is read and stays locked until the commit, so two transactions on one wallet — from
 * any node — are serialised exactly like SQLite's `BEGIN IMMEDIATE`: the second reads the first's
 * committed result. Lock-order deadlocks (two wallets taken in opposite orders) are detected by
 * PostgreSQL and retried. CHECK constraints (`held ≤ balance`, `captured ≤ amount`, no negative
 * amounts) are the last line of defence, as in SQLite.
 *
 * A loaded wallet is loaded whole (balances, holds, limits and its entries), so a transaction's
 * cost grows with the wallet's history; fine for the reference stack, a production ledger would
 * page entries. `seq` of an entry added inside a transaction is provisional until it is read
 * back from the database.
 *
 * @module
 */
import type pg from "pg";
import { OapError } from "../oap/errors.js";
import type { BalanceRow, EntryRow, HoldRow, LimitRule, WalletRecord, WalletStore, WalletTx } from "../oap/commerce/wallet-store.js";
import { balanceOf, entryOf, holdOf, walletOf, type Row } from "../oap/commerce/wallet-rows.js";
import type { MigrationReport } from "./migrations.js";
import { openPool, sqlState } from "./pg-pool.js";
import type { PostgresStoreOptions } from "./postgres-handoff-store.js";


/** What a wallet transaction has loaded of one wallet (all of it, under its advisory lock). */
interface WalletState {
  wallet: WalletRecord | undefined;
  balances: Map<string, BalanceRow>;
  holds: Map<string, HoldRow>;
  entries: EntryRow[];
  limits: LimitRule[];
}

function copyState(s: WalletState): WalletState {
  return { wallet: s.wallet, balances: new Map(s.balances), holds: new Map(s.holds), entries: [...s.entries], limits: s.limits };
}

/** Thrown inside a run when it needs data that is not loaded yet. */
class Miss {
  constructor(
    readonly kind: "wallet" | "principal" | "hold" | "entry" | "import",
    readonly key: string,
  ) {}
}

/** The data loaded (and locked) so far in one database transaction. */
class Loaded {
  readonly wallets = new Map<string, WalletState>();
  readonly principals = new Set<string>();
  /** Holds / entries looked up by id and not found in any wallet. */
  readonly absentHolds = new Set<string>();
  readonly absentEntries = new Set<string>();
  readonly imports = new Map<string, boolean>();

  async lock(c: pg.PoolClient, key: string): Promise<void> {
    await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
  }

  async loadWallet(c: pg.PoolClient, did: string): Promise<void> {
    if (this.wallets.has(did)) return;
    await this.lock(c, `wallet:${did}`);
    const w = (await c.query("SELECT * FROM wallet_wallets WHERE wallet_did = $1", [did])).rows[0] as Row | undefined;
    const balances = (await c.query("SELECT * FROM wallet_balances WHERE wallet_did = $1", [did])).rows as Row[];
    const holds = (await c.query("SELECT * FROM wallet_holds WHERE wallet_did = $1", [did])).rows as Row[];
    const entries = (await c.query("SELECT * FROM wallet_entries WHERE wallet_did = $1 ORDER BY seq", [did])).rows as Row[];
    const limits = (await c.query("SELECT rules FROM wallet_limits WHERE wallet_did = $1", [did])).rows[0] as Row | undefined;
    this.wallets.set(did, {
      wallet: w === undefined ? undefined : walletOf(w),
      balances: new Map(balances.map((r) => [String(r["currency"]), balanceOf(r)])),
      holds: new Map(holds.map((r) => [String(r["hold_id"]), holdOf(r)])),
      entries: entries.map(entryOf),
      limits: limits === undefined ? [] : (JSON.parse(String(limits["rules"])) as LimitRule[]),
    });
  }

  async load(c: pg.PoolClient, miss: Miss): Promise<void> {
    switch (miss.kind) {
      case "wallet":
        return this.loadWallet(c, miss.key);
      case "principal": {
        await this.lock(c, `wallet-principal:${miss.key}`);
        const rows = (await c.query("SELECT wallet_did FROM wallet_wallets WHERE principal_did = $1 ORDER BY wallet_did", [miss.key])).rows as Row[];
        for (const r of rows) await this.loadWallet(c, String(r["wallet_did"]));
        this.principals.add(miss.key);
        return;
      }
      case "hold":
      case "entry": {
        const sql = miss.kind === "hold" ? "SELECT wallet_did FROM wallet_holds WHERE hold_id = $1" : "SELECT wallet_did FROM wallet_entries WHERE entry_id = $1";
        const row = (await c.query(sql, [miss.key])).rows[0] as Row | undefined;
        if (row === undefined) (miss.kind === "hold" ? this.absentHolds : this.absentEntries).add(miss.key);
        else await this.loadWallet(c, String(row["wallet_did"]));
        return;
      }
      case "import": {
        await this.lock(c, `wallet-import:${miss.key}`);
        const row = (await c.query("SELECT 1 FROM wallet_imports WHERE export_id = $1", [miss.key])).rows[0];
        this.imports.set(miss.key, row !== undefined);
        return;
      }
    }
  }
}

/** One run of a transaction function over a copy of the loaded data. */
class Run {
  readonly states = new Map<string, WalletState>();
  readonly imports: Map<string, boolean>;
  readonly tx: WalletTx;
  #seq = Number.MAX_SAFE_INTEGER / 2;

  constructor(readonly loaded: Loaded) {
    for (const [k, s] of loaded.wallets) this.states.set(k, copyState(s));
    this.imports = new Map(loaded.imports);
    const need = (did: string): WalletState => {
      const s = this.states.get(did);
      if (s === undefined) throw new Miss("wallet", did);
      return s;
    };
    const findHold = (id: string): HoldRow | undefined => {
      for (const s of this.states.values()) {
        const h = s.holds.get(id);
        if (h !== undefined) return h;
      }
      if (loaded.absentHolds.has(id)) return undefined;
      throw new Miss("hold", id);
    };
    const findEntry = (id: string): { state: WalletState; index: number } | undefined => {
      for (const s of this.states.values()) {
        const index = s.entries.findIndex((e) => e.entry_id === id);
        if (index >= 0) return { state: s, index };
      }
      if (loaded.absentEntries.has(id)) return undefined;
      throw new Miss("entry", id);
    };
    this.tx = {
      getWallet: (id) => need(id).wallet,
      walletByPrincipal: (p) => {
        if (!loaded.principals.has(p)) throw new Miss("principal", p);
        const mine = [...this.states.values()].map((s) => s.wallet).filter((w): w is WalletRecord => w !== undefined && w.principal_did === p);
        mine.sort((a, b) => (a.status === b.status ? (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) : a.status === "open" ? -1 : 1));
        return mine[0];
      },
      putWallet: (w) => {
        need(w.wallet_did).wallet = { ...w };
      },
      getBalance: (id, c) => need(id).balances.get(c),
      putBalance: (r) => void need(r.wallet_did).balances.set(r.currency, { ...r }),
      balances: (id) => [...need(id).balances.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0)),
      getHold: (id) => findHold(id),
      putHold: (h) => void need(h.wallet_did).holds.set(h.hold_id, { ...h }),
      activeHolds: (id) => [...need(id).holds.values()].filter((h) => h.status === "active"),
      getEntry: (id) => {
        const f = findEntry(id);
        return f === undefined ? undefined : f.state.entries[f.index];
      },
      findEntryByKey: (id, key) => need(id).entries.find((e) => e.idem_key === key),
      debitsByReceipt: (id, r) => need(id).entries.filter((e) => e.type === "debit" && e.receipt_id === r),
      addEntry: (e) => {
        const s = need(e.wallet_did);
        if (s.entries.some((x) => x.entry_id === e.entry_id)) throw new Error(`duplicate entry ${e.entry_id}`);
        if (e.idem_key !== undefined && s.entries.some((x) => x.idem_key === e.idem_key)) throw new Error(`duplicate idempotency key ${e.idem_key}`);
        s.entries.push({ ...e, seq: ++this.#seq });
      },
      setRefunded: (id, refunded) => {
        const f = findEntry(id);
        if (f === undefined) throw new Error(`unknown entry ${id}`);
        f.state.entries[f.index] = { ...(f.state.entries[f.index] as EntryRow), refunded };
      },
      entries: (id, q = {}) => need(id).entries.filter((e) => (q.currency === undefined || e.currency === q.currency) && (q.fromMs === undefined || e.ts_ms >= q.fromMs) && (q.toMs === undefined || e.ts_ms < q.toMs)),
      sumEffects: (id, c, before) => need(id).entries.reduce((sum, e) => (e.currency === c && e.ts_ms < before ? sum + e.effect : sum), 0n),
      getLimits: (id) => [...need(id).limits],
      putLimits: (id, rules) => {
        need(id).limits = [...rules];
      },
      hasImport: (id) => {
        const v = this.imports.get(id);
        if (v === undefined) throw new Miss("import", id);
        return v;
      },
      addImport: (id) => {
        if (this.imports.get(id) === undefined) throw new Miss("import", id);
        if (this.imports.get(id) === true) throw new Error(`duplicate import ${id}`);
        this.imports.set(id, true);
      },
    };
  }

  /** Writes what the run changed relative to the loaded state. */
  async flush(c: pg.PoolClient): Promise<void> {
    for (const [did, s] of this.states) {
      const base = this.loaded.wallets.get(did) as WalletState;
      if (s.wallet !== base.wallet && s.wallet !== undefined) {
        const w = s.wallet;
        await c.query(
          "INSERT INTO wallet_wallets (wallet_did, principal_did, status, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (wallet_did) DO UPDATE SET principal_did = EXCLUDED.principal_did, status = EXCLUDED.status",
          [w.wallet_did, w.principal_did, w.status, w.created_at],
        );
      }
      for (const [currency, b] of s.balances) {
        if (base.balances.get(currency) === b) continue;
        await c.query("INSERT INTO wallet_balances (wallet_did, currency, balance, held) VALUES ($1, $2, $3, $4) ON CONFLICT (wallet_did, currency) DO UPDATE SET balance = EXCLUDED.balance, held = EXCLUDED.held", [
          did,
          currency,
          b.balance.toString(),
          b.held.toString(),
        ]);
      }
      for (const [id, h] of s.holds) {
        if (base.holds.get(id) === h) continue;
        await c.query(
          `INSERT INTO wallet_holds (hold_id, wallet_did, currency, amount, captured, status, tool_did, agent_did, created_at, expires_at, expires_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (hold_id) DO UPDATE SET captured = EXCLUDED.captured, status = EXCLUDED.status`,
          [h.hold_id, h.wallet_did, h.currency, h.amount.toString(), h.captured.toString(), h.status, h.tool_did, h.agent_did ?? null, h.created_at, h.expires_at, h.expires_ms],
        );
      }
      for (let i = 0; i < s.entries.length; i++) {
        const e = s.entries[i] as EntryRow;
        if (i < base.entries.length) {
          const old = base.entries[i] as EntryRow;
          if (old !== e && old.refunded !== e.refunded) await c.query("UPDATE wallet_entries SET refunded = $2 WHERE entry_id = $1", [e.entry_id, e.refunded.toString()]);
          continue;
        }
        await c.query(
          `INSERT INTO wallet_entries (entry_id, wallet_did, currency, type, amount, effect, timestamp, ts_ms, receipt_id, counterparty_did, memo, hold_id, tool_did, agent_did, refund_of, refunded, idem_key, idem_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
          [
            e.entry_id,
            e.wallet_did,
            e.currency,
            e.type,
            e.amount.toString(),
            e.effect.toString(),
            e.timestamp,
            e.ts_ms,
            e.receipt_id,
            e.counterparty_did ?? null,
            e.memo ?? null,
            e.hold_id ?? null,
            e.tool_did ?? null,
            e.agent_did ?? null,
            e.refund_of ?? null,
            e.refunded.toString(),
            e.idem_key ?? null,
            e.idem_hash ?? null,
          ],
        );
      }
      if (s.limits !== base.limits) {
        await c.query("INSERT INTO wallet_limits (wallet_did, rules) VALUES ($1, $2) ON CONFLICT (wallet_did) DO UPDATE SET rules = EXCLUDED.rules", [did, JSON.stringify(s.limits)]);
      }
    }
    for (const [id, v] of this.imports) if (v && this.loaded.imports.get(id) !== true) await c.query("INSERT INTO wallet_imports (export_id) VALUES ($1)", [id]);
  }
}

/** Options of {@link PostgresWalletStore.open}. */
export type PostgresWalletStoreOptions = PostgresStoreOptions;

/** The PostgreSQL {@link WalletStore} (see the module comment). */
export class PostgresWalletStore implements WalletStore {
  readonly backend = "postgres";
  readonly migrations: MigrationReport | undefined;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  #closed = false;
  /** Transactions retried after a deadlock or serialization failure (for tests and metrics). */
  retries = 0;

  static async open(options: PostgresWalletStoreOptions | string): Promise<PostgresWalletStore> {
    const opened = await openPool(options);
    return new PostgresWalletStore(opened.pool, opened.ownsPool, opened.migrations);
  }

  private constructor(pool: pg.Pool, ownsPool: boolean, migrations: MigrationReport | undefined) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.migrations = migrations;
  }

  async transaction<T>(fn: (tx: WalletTx) => T): Promise<T> {
    if (this.#closed) throw new OapError("ERR_OAP_INTERNAL", "the wallet store is closed");
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (e) {
        throw new OapError("ERR_OAP_MAINTENANCE", `the wallet store is unavailable: ${(e as Error).message}`, { cause: e, details: { retry_after_seconds: 1 } });
      }
      let broken = false;
      try {
        await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
        const loaded = new Loaded();
        let result: T;
        let run: Run;
        for (let loads = 0; ; loads++) {
          run = new Run(loaded);
          try {
            result = fn(run.tx);
            break;
          } catch (e) {
            if (!(e instanceof Miss) || loads > 10_000) throw e;
            await loaded.load(client, e);
          }
        }
        await run.flush(client);
        await client.query("COMMIT");
        return result;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        const state = sqlState(e);
        if ((state === "40P01" || state === "40001") && attempt < 10) {
          this.retries++;
          continue;
        }
        if (e instanceof OapError) throw e;
        if (state !== undefined && state.startsWith("08")) throw new OapError("ERR_OAP_MAINTENANCE", `the wallet store is unavailable: ${(e as Error).message}`, { cause: e, details: { retry_after_seconds: 1 } });
        throw new OapError("ERR_OAP_INTERNAL", `wallet transaction failed: ${(e as Error).message}`, { cause: e });
      } finally {
        client.release(broken ? true : undefined);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }
}
