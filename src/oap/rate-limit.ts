/**
 * Action rate limits (OAP-CORE-1.0 §7 `rate_limit: {rpm, concurrent}`, Appendix B 429): a
 * sliding 60-second window of admitted calls and a count of calls in flight, per key (by
 * default principal + action). A refusal carries `retry_after_seconds` (HTTP `Retry-After`):
 * for rpm, the seconds until the oldest call in the window leaves it; for concurrency, 1.
 *
 * {@link OapRateLimiter} is what the engine calls; {@link RateLimiter} keeps the state in process
 * memory (one node). Several nodes on one PostgreSQL database share the rpm windows through
 * `PostgresOapRateLimiter` (src/store/postgres-oap-rate-limit.ts), whose `acquire` is async.
 *
 * @module
 */
import { OapError } from "./errors.js";
import { clockMs, systemClock, type OapClock } from "./util.js";

/** An action's declared limits. */
export interface RateLimit {
  /** Calls per minute (≥ 1). */
  readonly rpm: number;
  /** Calls in flight at once (≥ 1). */
  readonly concurrent: number;
}

/** Result of {@link RateLimiter.acquire}. */
export type RateLimitDecision =
  | { readonly allowed: true; /** Call when the invocation ends (idempotent). */ release(): void }
  | { readonly allowed: false; readonly reason: "rpm" | "concurrent"; readonly retryAfterSeconds: number; readonly error: OapError };

/** The rpm window (ms). */
export const RATE_LIMIT_WINDOW_MS = 60_000;
const WINDOW_MS = RATE_LIMIT_WINDOW_MS;

/** A limiter the engine can use: in memory ({@link RateLimiter}) or shared by several nodes. */
export interface OapRateLimiter {
  /** Admits one call for `key` under `limit`, or refuses it with a 429 decision. */
  acquire(key: string, limit: RateLimit): RateLimitDecision | Promise<RateLimitDecision>;
  /** Forgets idle keys (called every minute; must not throw). */
  sweep(): void;
}

interface Bucket {
  /** Admission times (ms) inside the window, oldest first. */
  times: number[];
  inFlight: number;
}

/** Per-key rpm and concurrency limiter with an injected clock. State is in memory. */
export class RateLimiter implements OapRateLimiter {
  readonly #clock: OapClock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: { readonly clock?: OapClock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Admits one call for `key` under `limit`, or refuses it with a 429 decision. */
  acquire(key: string, limit: RateLimit): RateLimitDecision {
    const now = clockMs(this.#clock);
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { times: [], inFlight: 0 };
      this.#buckets.set(key, b);
    }
    let drop = 0;
    while (drop < b.times.length && (b.times[drop] as number) <= now - WINDOW_MS) drop++;
    if (drop > 0) b.times.splice(0, drop);
    if (b.inFlight >= limit.concurrent) {
      return concurrencyRefusal(limit);
    }
    if (b.times.length >= limit.rpm) return rpmRefusal(b.times, now, limit);
    b.times.push(now);
    b.inFlight++;
    const bucket = b;
    let released = false;
    return {
      allowed: true,
      release: () => {
        if (released) return;
        released = true;
        bucket.inFlight = Math.max(0, bucket.inFlight - 1);
      },
    };
  }

  /** Forgets keys with nothing in flight and nothing in the window. */
  sweep(): void {
    const now = clockMs(this.#clock);
    for (const [k, b] of this.#buckets) if (b.inFlight === 0 && b.times.every((t) => t <= now - WINDOW_MS)) this.#buckets.delete(k);
  }
}

/** The 429 decision for a key with `limit.concurrent` calls in flight. */
export function concurrencyRefusal(limit: RateLimit): RateLimitDecision & { readonly allowed: false } {
  return refuse("concurrent", 1, `more than ${limit.concurrent} concurrent calls`, limit);
}

/**
 * The 429 decision for a full window: `times` are the admissions inside the window at `nowMs`,
 * oldest first (at least `limit.rpm` of them); Retry-After is when enough of them have left it.
 */
export function rpmRefusal(times: readonly number[], nowMs: number, limit: RateLimit): RateLimitDecision & { readonly allowed: false } {
  const oldest = times[Math.max(0, times.length - limit.rpm)] ?? nowMs;
  const wait = Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000));
  return refuse("rpm", wait, `more than ${limit.rpm} calls per minute`, limit);
}

function refuse(reason: "rpm" | "concurrent", retryAfterSeconds: number, what: string, limit: RateLimit): RateLimitDecision & { readonly allowed: false } {
  const error = new OapError(reason === "rpm" ? "ERR_OAP_RATE_LIMITED" : "ERR_OAP_CONCURRENCY_LIMITED", `rate limit exceeded: ${what}`, {
    details: { retry_after_seconds: retryAfterSeconds, limit: reason, rpm: limit.rpm, concurrent: limit.concurrent },
  });
  return { allowed: false, reason, retryAfterSeconds, error };
}

/** The default limiter key: principal and action. */
export function rateLimitKey(principalDid: string, actionId: string): string {
  return `${principalDid}\u0000${actionId}`;
}
