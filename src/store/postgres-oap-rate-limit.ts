/**
 * OAP action rate limits (§7 `rate_limit: {rpm, concurrent}`) shared by every node on one
 * PostgreSQL database: the `rpm` window is global, `concurrent` is counted per node.
 *
 * **rpm** — one row per (tool, limiter key) in `oap_rate_limits` (migration 7) holding the
 * admission times (ms) of the last 60 s. One statement per call:
 *
 * ```sql
 * INSERT … VALUES (tool, key, ARRAY[now], true)
 * ON CONFLICT (tool, key) DO UPDATE SET
 *   admitted = (count of stored times > now - 60 000) < rpm,
 *   times    = (stored times > now - 60 000, sorted) || (now if admitted)
 * RETURNING admitted, times
 * ```
 *
 * The UPSERT takes the row lock and evaluates its SET against the latest committed row, so
 * concurrent calls for one key — from any pool or node — serialise on that row: each sees the
 * admissions of the ones before it, and when one slot is left exactly one of them gets it. This
 * is the same sliding window as the in-memory {@link RateLimiter} (no fixed-window
 * approximation), with `now` from the calling node's clock. Error bound: with node clocks apart
 * by at most δ, a node whose clock runs ahead sees the other nodes' admissions leave the window
 * up to δ early, so any 60 s of real time admits at most `rpm` plus the admissions of one
 * δ-long stretch (nothing extra when the clocks agree; NTP keeps δ in milliseconds). The row
 * holds at most `rpm` times (a refused call adds none); rows with no time inside the window are
 * deleted by {@link PostgresOapRateLimiter.sweep} (the engine calls it every minute).
 *
 * **concurrent** — calls in flight are counted in this process (as by {@link RateLimiter}), so a
 * cluster of N nodes runs up to N × `concurrent` calls of one key at once. A shared count would
 * need leases (a killed node's slots must come back) renewed for as long as a call runs, and an
 * awaited release on every exit path of the engine; per node keeps the release synchronous and
 * never leaks a slot. A call refused for concurrency consumes no rpm slot; a call refused for
 * rpm releases its concurrency reservation at once.
 *
 * Database failures refuse the call with `ERR_OAP_MAINTENANCE` (503, Retry-After 1), like the
 * PostgreSQL OAP store: a limit that cannot be checked is not waived.
 *
 * @module
 */
import type pg from "pg";
import { OapError } from "../oap/errors.js";
import { concurrencyRefusal, RATE_LIMIT_WINDOW_MS, rpmRefusal, type OapRateLimiter, type RateLimit, type RateLimitDecision } from "../oap/rate-limit.js";
import { clockMs, systemClock, type OapClock } from "../oap/util.js";
import { pgText } from "./pg-pool.js";

/** Options of {@link PostgresOapRateLimiter}. */
export interface PostgresOapRateLimiterOptions {
  /** A migrated pool (migration 7); the limiter never ends it. */
  readonly pool: pg.Pool;
  /** The Tool whose windows these are (rows are keyed by tool id, like the OAP store). */
  readonly tool: string;
  readonly clock?: OapClock;
  /** Reports sweep failures (they are otherwise ignored: the next sweep retries). */
  readonly onError?: (error: Error) => void;
}

const ACQUIRE_SQL = `
  INSERT INTO oap_rate_limits AS r (tool, key, times, admitted) VALUES ($1, $2, ARRAY[$3::bigint], true)
  ON CONFLICT (tool, key) DO UPDATE SET
    admitted = (SELECT count(*) FROM unnest(r.times) AS w(t) WHERE w.t > $3::bigint - $5::bigint) < $4::int,
    times = ARRAY(SELECT w.t FROM unnest(r.times) AS w(t) WHERE w.t > $3::bigint - $5::bigint ORDER BY w.t)
            || CASE WHEN (SELECT count(*) FROM unnest(r.times) AS w(t) WHERE w.t > $3::bigint - $5::bigint) < $4::int
                    THEN ARRAY[$3::bigint] ELSE ARRAY[]::bigint[] END
  RETURNING admitted, times`;

/** The shared rpm / per-node concurrency limiter of one Tool (see the module comment). */
export class PostgresOapRateLimiter implements OapRateLimiter {
  readonly #pool: pg.Pool;
  readonly #clock: OapClock;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #inFlight = new Map<string, number>();
  readonly tool: string;

  constructor(options: PostgresOapRateLimiterOptions) {
    this.#pool = options.pool;
    this.tool = options.tool;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError;
  }

  async acquire(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    const held = this.#inFlight.get(key) ?? 0;
    if (held >= limit.concurrent) return concurrencyRefusal(limit);
    // Reserved before the await, so this node never runs more than `concurrent` at once.
    this.#inFlight.set(key, held + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const n = (this.#inFlight.get(key) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, n);
    };
    const now = clockMs(this.#clock);
    let row: { admitted: boolean; times: (string | number)[] } | undefined;
    try {
      row = (await this.#pool.query<{ admitted: boolean; times: (string | number)[] }>(ACQUIRE_SQL, [this.tool, pgText(key), now, limit.rpm, RATE_LIMIT_WINDOW_MS])).rows[0];
    } catch (cause) {
      release();
      throw new OapError("ERR_OAP_MAINTENANCE", `the rate limit could not be checked: ${(cause as Error).message}`, { cause, details: { retry_after_seconds: 1 } });
    }
    if (row?.admitted === true) return { allowed: true, release };
    release();
    return rpmRefusal((row?.times ?? []).map(Number), now, limit);
  }

  /** Calls of `key` in flight on this node. */
  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  /** Deletes this Tool's rows with no admission inside the window (in the background). */
  sweep(): void {
    void this.sweepIdle().catch((e: unknown) => this.#onError?.(e as Error));
  }

  /** {@link sweep}, awaited: returns how many rows were deleted. */
  async sweepIdle(): Promise<number> {
    const now = clockMs(this.#clock);
    const r = await this.#pool.query(
      "DELETE FROM oap_rate_limits AS r WHERE r.tool = $1 AND NOT EXISTS (SELECT 1 FROM unnest(r.times) AS w(t) WHERE w.t > $2::bigint - $3::bigint)",
      [this.tool, now, RATE_LIMIT_WINDOW_MS],
    );
    return r.rowCount ?? 0;
  }
}
