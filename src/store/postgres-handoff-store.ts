/**
 * {@link HandoffStore} on PostgreSQL, for several agentwire nodes sharing one control plane.
 *
 * Everything a node must agree on with its peers lives here: handoff records (so an ASSUME may
 * land on another node than the PROPOSE), the answer cache (the same envelope id gets the same
 * answer from every node), the `(id, nonce)` replay store and the per-`kid` rate-limit windows.
 *
 * Durability: every write is one autocommitted statement on a connection with
 * `synchronous_commit = on` (a startup parameter of every pooled connection; `off` is refused at
 * open), so when a write's promise resolves
 * its transaction is committed and flushed to the WAL; the node acknowledges a handoff only after
 * that. Atomicity across nodes comes from single-statement UPSERTs:
 *
 * - `replay.firstUse`: `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at < now RETURNING`:
 *   a row comes back only for the one caller that inserted the key or revived an expired one;
 *   concurrent callers for the same key serialise on the primary key and get nothing back.
 * - `put`: a conditional UPSERT on the history length refuses stale writes (lost updates
 *   between nodes) with `ERR_OHP_CONTROL_STORE`.
 * - {@link PostgresRateLimiter.allow}: one UPSERT that either opens a new fixed window or
 *   increments the current one and returns the count.
 *
 * Records and answers are stored as the exact JSON text (not `jsonb`, which reorders members and
 * refuses U+0000); state, role and times are columns for the queries. The schema comes from
 * versioned migrations (./migrations.ts) run at {@link PostgresHandoffStore.open}.
 */
import pg from "pg";
import type { JsonObject } from "../json/types.js";
import { ControlError } from "../ohp/control/machine.js";
import type { HandoffRecord, HandoffStore } from "../ohp/control/store.js";
import type { RateLimiter, RateLimitOptions, ReplayStore } from "../ohp/receiver-state.js";
import { StoreError, type MigrationReport } from "./migrations.js";
import { openPool } from "./pg-pool.js";

type Pool = pg.Pool;

/** Options of {@link PostgresHandoffStore.open}. */
export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/db[?…]`; libpq `PG*` variables and `~/.pgpass` fill in what it omits. */
  readonly connectionString?: string;
  /** Use this pool instead of creating one (the store then does not end it on close). */
  readonly pool?: Pool;
  /** Maximum connections of the created pool. Default 10. */
  readonly maxConnections?: number;
  /** Run the migrations at open (default true). */
  readonly migrate?: boolean;
  /** Per-statement timeout in ms (`statement_timeout`). Default 10 000. */
  readonly statementTimeoutMs?: number;
  /** `application_name` of the connections. Default `agentwire`. */
  readonly applicationName?: string;
  /** Sweep expired replay keys and answers every this many replay writes (per node). Default 1000. */
  readonly sweepEvery?: number;
  /** Reports pool-level errors (an idle connection lost); they are otherwise ignored. */
  readonly onError?: (error: Error) => void;
}

/** Removes the password from a connection string (for logs). */
export function redactConnectionString(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/** True for `postgres://` and `postgresql://` URLs. */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

function wrap(what: string, cause: unknown): StoreError {
  return new StoreError("ERR_STORE_UNAVAILABLE", `PostgreSQL ${what} failed: ${(cause as Error).message}`, { cause });
}

/** The PostgreSQL {@link HandoffStore} (see the module comment). */
export class PostgresHandoffStore implements HandoffStore {
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  readonly #sweepEvery: number;
  #writes = 0;
  #closed = false;
  /** What the migrations did at open (undefined when `migrate: false`). */
  readonly migrations: MigrationReport | undefined;
  readonly replay: ReplayStore;

  private constructor(pool: Pool, ownsPool: boolean, migrations: MigrationReport | undefined, sweepEvery: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.migrations = migrations;
    this.#sweepEvery = sweepEvery;
    this.replay = {
      firstUse: async (key, expiresAtMs, nowMs) => {
        const r = await this.#q(
          "replay firstUse",
          `INSERT INTO ohp_replay (key, expires_at) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE ohp_replay.expires_at < $3
           RETURNING 1 AS first`,
          [key, Math.trunc(expiresAtMs), Math.trunc(nowMs)],
        );
        if (this.#sweepEvery > 0 && ++this.#writes % this.#sweepEvery === 0) void this.sweepExpired(nowMs).catch(() => undefined);
        return r.rowCount === 1;
      },
    };
  }

  /** Connects, runs the migrations (under the advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions | string): Promise<PostgresHandoffStore> {
    const { pool, ownsPool, migrations } = await openPool(options);
    const sweepEvery = typeof options === "string" ? undefined : options.sweepEvery;
    return new PostgresHandoffStore(pool, ownsPool, migrations, sweepEvery ?? 1000);
  }

  /** The pool (for rate limiters, health checks and tests). */
  get pool(): Pool {
    return this.#pool;
  }

  async #q(what: string, sql: string, params: unknown[]): Promise<pg.QueryResult> {
    if (this.#closed) throw new StoreError("ERR_STORE_UNAVAILABLE", `PostgreSQL ${what}: the store is closed`);
    try {
      return await this.#pool.query(sql, params);
    } catch (e) {
      throw wrap(what, e);
    }
  }

  async get(id: string, role: "sender" | "receiver"): Promise<HandoffRecord | undefined> {
    const r = await this.#q("get", "SELECT record FROM ohp_handoffs WHERE role = $1 AND id = $2", [role, id]);
    const row = r.rows[0] as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as HandoffRecord);
  }

  /**
   * Inserts or replaces the record, refusing a stale write: the node appends exactly one history
   * step per write, so a write whose history is not longer than the stored one was computed from
   * an older read (another node moved the handoff meanwhile, e.g. an ASSUME on node 2 racing the
   * PT10S release on node 1). It throws `ERR_OHP_CONTROL_STORE` instead of losing the other
   * update; the node then answers REJECT (or logs a timer error) and the stored state stands.
   */
  async put(record: HandoffRecord): Promise<void> {
    const r = await this.#q(
      "put",
      `INSERT INTO ohp_handoffs (role, id, state, record, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (role, id) DO UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE ohp_handoffs.version < EXCLUDED.version`,
      [record.role, record.id, record.state, JSON.stringify(record), record.history.length, record.updatedAt],
    );
    if (r.rowCount !== 1) {
      throw new ControlError("ERR_OHP_CONTROL_STORE", `handoff ${record.role}:${record.id} was changed concurrently (a write with ${record.history.length} history steps is stale)`, {
        detail: { id: record.id, role: record.role, state: record.state },
      });
    }
  }

  async pending(): Promise<HandoffRecord[]> {
    const r = await this.#q("pending", "SELECT record FROM ohp_handoffs WHERE (role = 'sender' AND state = 'PROPOSING') OR (role = 'receiver' AND state = 'ACCEPTED')", []);
    return r.rows.map((row: { record: string }) => JSON.parse(row.record) as HandoffRecord);
  }

  async list(role?: "sender" | "receiver"): Promise<HandoffRecord[]> {
    const r =
      role === undefined
        ? await this.#q("list", "SELECT record FROM ohp_handoffs ORDER BY updated_at, role, id", [])
        : await this.#q("list", "SELECT record FROM ohp_handoffs WHERE role = $1 ORDER BY updated_at, id", [role]);
    return r.rows.map((row: { record: string }) => JSON.parse(row.record) as HandoffRecord);
  }

  /** Number of handoff records (cheaper than `list().length`). */
  async count(role?: "sender" | "receiver"): Promise<number> {
    const r =
      role === undefined
        ? await this.#q("count", "SELECT count(*)::int AS n FROM ohp_handoffs", [])
        : await this.#q("count", "SELECT count(*)::int AS n FROM ohp_handoffs WHERE role = $1", [role]);
    return Number((r.rows[0] as { n: number }).n);
  }

  async getAnswer(envelopeId: string): Promise<JsonObject | undefined> {
    const r = await this.#q("getAnswer", "SELECT answer FROM ohp_answers WHERE envelope_id = $1 AND expires_at >= $2", [envelopeId, Date.now()]);
    const row = r.rows[0] as { answer: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.answer) as JsonObject);
  }

  async putAnswer(envelopeId: string, answer: JsonObject, expiresAtMs: number): Promise<void> {
    await this.#q(
      "putAnswer",
      `INSERT INTO ohp_answers (envelope_id, answer, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (envelope_id) DO UPDATE SET answer = EXCLUDED.answer, expires_at = EXCLUDED.expires_at`,
      [envelopeId, JSON.stringify(answer), Math.trunc(expiresAtMs)],
    );
  }

  /** Deletes replay keys and cached answers that expired before `nowMs`; returns how many. */
  async sweepExpired(nowMs: number = Date.now()): Promise<{ replay: number; answers: number }> {
    const a = await this.#q("sweep", "DELETE FROM ohp_replay WHERE expires_at < $1", [Math.trunc(nowMs)]);
    const b = await this.#q("sweep", "DELETE FROM ohp_answers WHERE expires_at < $1", [Math.trunc(nowMs)]);
    return { replay: a.rowCount ?? 0, answers: b.rowCount ?? 0 };
  }

  /** A per-`kid` fixed-window rate limiter shared by every node on this database. */
  rateLimiter(options: RateLimitOptions = {}): PostgresRateLimiter {
    return new PostgresRateLimiter(this.#pool, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }
}

/**
 * Fixed-window {@link RateLimiter} per `kid` in `ohp_rate_limits`, shared across nodes: one
 * UPSERT opens a new window (count 1) when the stored one is at least `windowMs` old and
 * otherwise increments it; the envelope is allowed while the count is at most `max`. Same
 * semantics as the in-memory {@link FixedWindowRateLimiter} (windows start at a kid's first
 * envelope), with `nowMs` from the calling node's clock.
 */
export class PostgresRateLimiter implements RateLimiter {
  readonly #pool: Pool;
  readonly max: number;
  readonly windowMs: number;

  constructor(pool: Pool, options: RateLimitOptions = {}) {
    this.#pool = pool;
    this.max = options.max ?? 600;
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.max >= 1) || !(this.windowMs >= 1)) throw new RangeError("rate limit max and windowMs must be >= 1");
  }

  async allow(kid: string, nowMs: number): Promise<boolean> {
    let r: pg.QueryResult<{ count: string }>;
    try {
      r = await this.#pool.query<{ count: string }>(
        `INSERT INTO ohp_rate_limits (kid, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (kid) DO UPDATE SET
           window_start = CASE WHEN $2 - ohp_rate_limits.window_start >= $3 THEN $2 ELSE ohp_rate_limits.window_start END,
           count        = CASE WHEN $2 - ohp_rate_limits.window_start >= $3 THEN 1 ELSE ohp_rate_limits.count + 1 END
         RETURNING count`,
        [kid, Math.trunc(nowMs), this.windowMs],
      );
    } catch (e) {
      throw wrap("rate limit", e);
    }
    return Number(r.rows[0]?.count ?? Infinity) <= this.max;
  }
}
