/**
 * Receiver state between envelopes: the replay / idempotency store keyed by `(id, nonce)` and
 * the per-`kid` rate limiter (OHP §5.10). Both are interfaces so that a deployment with several
 * nodes can back them with a shared store; the in-memory versions here are bounded and fail
 * closed when full.
 */
import { AgentwireError } from "../errors.js";
import { ExpiringKeySet } from "../util/expiring-keys.js";

/** Remembers `(id, nonce)` pairs until the envelope can no longer be fresh. */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAtMs` and returns `true` when it was NOT seen before (first
   * use), `false` for a replay. Must be atomic per key.
   */
  firstUse(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** Decides whether one more envelope from `kid` is allowed at `nowMs`. */
export interface RateLimiter {
  allow(kid: string, nowMs: number): boolean | Promise<boolean>;
}

/** Thrown by the in-memory stores when they are full of live entries (fail closed). */
export class ReceiverStateFullError extends AgentwireError<"ERR_OHP_RECEIVER_STATE_FULL"> {}

/** In-memory {@link ReplayStore}: expired entries are swept; at `maxEntries` live entries it throws. */
export class MemoryReplayStore implements ReplayStore {
  readonly #keys: ExpiringKeySet;
  readonly #maxEntries: number;

  constructor(options: { readonly maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#keys = new ExpiringKeySet(this.#maxEntries);
  }

  firstUse(key: string, expiresAtMs: number, nowMs: number): boolean {
    const r = this.#keys.firstUse(key, expiresAtMs, nowMs);
    if (r === "full") throw new ReceiverStateFullError("ERR_OHP_RECEIVER_STATE_FULL", `replay store holds ${this.#maxEntries} live entries`);
    return r;
  }

  /** Number of remembered entries (live or not yet swept). */
  get size(): number {
    return this.#keys.size;
  }
}

/** Options of {@link FixedWindowRateLimiter}. */
export interface RateLimitOptions {
  /** Envelopes allowed per `kid` and window. Default 600. */
  readonly max?: number;
  /** Window length in ms. Default 60 000. */
  readonly windowMs?: number;
  /** Distinct kids tracked at once. Default 10 000. */
  readonly maxKeys?: number;
}

/** In-memory fixed-window {@link RateLimiter} per `kid`. */
export class FixedWindowRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly max: number;
  readonly windowMs: number;
  readonly #maxKeys: number;

  constructor(options: RateLimitOptions = {}) {
    this.max = options.max ?? 600;
    this.windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
    if (!(this.max >= 1) || !(this.windowMs >= 1)) throw new RangeError("rate limit max and windowMs must be >= 1");
  }

  allow(kid: string, nowMs: number): boolean {
    let w = this.#windows.get(kid);
    if (w === undefined || nowMs - w.start >= this.windowMs) {
      if (w === undefined && this.#windows.size >= this.#maxKeys) {
        for (const [k, v] of this.#windows) if (nowMs - v.start >= this.windowMs) this.#windows.delete(k);
        if (this.#windows.size >= this.#maxKeys) return false;
      }
      w = { start: nowMs, count: 0 };
      this.#windows.set(kid, w);
    }
    w.count += 1;
    return w.count <= this.max;
  }
}
