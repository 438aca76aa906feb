/**
 * The DPoP (RFC 9449 §11.1) `jti` replay cache on PostgreSQL, so a proof is single-use across
 * every node sharing the database, not only per node.
 *
 * `checkAndStore(key, expiresAtMs, nowMs)` is one statement on `dpop_replay (key, expires_at)`
 * (migration 7):
 *
 * ```sql
 * INSERT INTO dpop_replay (key, expires_at) VALUES (sha256(key), expires)
 * ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_replay.expires_at <= now
 * RETURNING 1
 * ```
 *
 * A row comes back only for the one caller that inserted the key or revived an expired one;
 * concurrent callers (any pool, any node) serialise on the primary key and get nothing back — the
 * same `firstUse` as the OHP replay store, with the expiry semantics of
 * {@link InMemoryDpopReplayCache} (a key is a replay while `expires_at > now`). The key stored is
 * SHA-256 of `"<jkt>:<jti>"` (32 bytes: no U+0000 problem with `text`, bounded row size whatever
 * the proof's `jti`). Expired rows are deleted every `sweepEvery` writes of this process, or by
 * {@link PostgresDpopReplayCache.sweepExpired}. A database failure is thrown as
 * `ERR_STORE_UNAVAILABLE`; the verifier then refuses the proof (fail closed).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { DpopReplayCache } from "../trust/dpop/replay.js";
import { StoreError } from "./migrations.js";

/** Options of {@link PostgresDpopReplayCache}. */
export interface PostgresDpopReplayCacheOptions {
  /** A migrated pool (migration 7); the cache never ends it. */
  readonly pool: pg.Pool;
  /** Delete expired rows every this many writes of this process (default 1000; 0 = never). */
  readonly sweepEvery?: number;
  readonly onError?: (error: Error) => void;
}

/** The shared {@link DpopReplayCache} (see the module comment). */
export class PostgresDpopReplayCache implements DpopReplayCache {
  readonly #pool: pg.Pool;
  readonly #sweepEvery: number;
  readonly #onError: ((error: Error) => void) | undefined;
  #writes = 0;

  constructor(options: PostgresDpopReplayCacheOptions) {
    this.#pool = options.pool;
    this.#sweepEvery = Math.max(0, options.sweepEvery ?? 1000);
    this.#onError = options.onError;
  }

  async checkAndStore(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    let r: pg.QueryResult;
    try {
      r = await this.#pool.query(
        `INSERT INTO dpop_replay (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_replay.expires_at <= $3
         RETURNING 1 AS first`,
        [createHash("sha256").update(key, "utf8").digest(), Math.trunc(expiresAtMs), Math.trunc(nowMs)],
      );
    } catch (cause) {
      throw new StoreError("ERR_STORE_UNAVAILABLE", `PostgreSQL DPoP replay check failed: ${(cause as Error).message}`, { cause });
    }
    if (this.#sweepEvery > 0 && ++this.#writes % this.#sweepEvery === 0) void this.sweepExpired(nowMs).catch((e: unknown) => this.#onError?.(e as Error));
    return r.rowCount === 1;
  }

  /** Deletes the entries expired at `nowMs`; returns how many. */
  async sweepExpired(nowMs: number = Date.now()): Promise<number> {
    const r = await this.#pool.query("DELETE FROM dpop_replay WHERE expires_at <= $1", [Math.trunc(nowMs)]);
    return r.rowCount ?? 0;
  }
}
