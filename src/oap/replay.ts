/**
 * Replay protection (OAP-CORE-1.0 §28.3): verifiers reject signed messages whose timestamp is
 * more than five minutes from the verifier clock, and reuse of a nonce within ten minutes.
 *
 * The request envelope has no `nonce` member (docs/oap.md, contradiction 7): its `request_id`
 * (a fresh ULID per request) is the nonce. A retry of the same operation is a new request (new
 * `request_id`, same `idempotency_key`), never a re-sent envelope. Trust Token `nonce` claims
 * use the same store under their own scope.
 *
 * @module
 */
import { ExpiringKeySet } from "../util/expiring-keys.js";
import { OapError } from "./errors.js";
import { clockMs, parseRfc3339Ms, systemClock, type OapClock } from "./util.js";

/** §28.3: accepted distance between a message timestamp and the verifier clock (either way). */
export const OAP_TIMESTAMP_WINDOW_MS = 5 * 60_000;
/** §28.3: how long a nonce stays remembered. */
export const OAP_NONCE_WINDOW_MS = 10 * 60_000;

/** Pluggable nonce memory (in-memory below; a shared store such as Redis `SET NX PX` in a cluster). */
export interface NonceStore {
  /**
   * Atomically records `key` until `expiresAtMs`. Returns false when `key` is already recorded
   * and unexpired at `nowMs` (a replay), true when it was recorded now.
   */
  checkAndStore(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** Options of {@link MemoryNonceStore}. */
export interface MemoryNonceStoreOptions {
  /** Bound on remembered nonces (default 100 000). */
  readonly maxEntries?: number;
}

/**
 * In-memory {@link NonceStore}. When full of unexpired nonces it refuses new ones (503
 * maintenance) rather than forgetting one and re-opening a replay window.
 */
export class MemoryNonceStore implements NonceStore {
  readonly #keys: ExpiringKeySet;

  constructor(options: MemoryNonceStoreOptions = {}) {
    this.#keys = new ExpiringKeySet(options.maxEntries ?? 100_000);
  }

  get size(): number {
    return this.#keys.size;
  }

  checkAndStore(key: string, expiresAtMs: number, nowMs: number): boolean {
    const r = this.#keys.firstUse(key, expiresAtMs, nowMs);
    if (r === "full") throw new OapError("ERR_OAP_MAINTENANCE", "the replay cache is full", { details: { retry_after_seconds: 60 } });
    return r;
  }

  /** Forgets every nonce expired at `nowMs`. */
  sweep(nowMs: number): void {
    this.#keys.sweep(nowMs);
  }
}

/** Options of {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  readonly store?: NonceStore;
  readonly clock?: OapClock;
  /** Default {@link OAP_TIMESTAMP_WINDOW_MS}. */
  readonly timestampWindowMs?: number;
  /** Default {@link OAP_NONCE_WINDOW_MS}. */
  readonly nonceWindowMs?: number;
}

/** §28.3 checks with a clock and a nonce store. */
export class ReplayGuard {
  readonly store: NonceStore;
  readonly #clock: OapClock;
  readonly #timestampWindowMs: number;
  readonly #nonceWindowMs: number;

  constructor(options: ReplayGuardOptions = {}) {
    this.store = options.store ?? new MemoryNonceStore();
    this.#clock = options.clock ?? systemClock;
    this.#timestampWindowMs = options.timestampWindowMs ?? OAP_TIMESTAMP_WINDOW_MS;
    this.#nonceWindowMs = options.nonceWindowMs ?? OAP_NONCE_WINDOW_MS;
  }

  /** Throws ERR_OAP_REPLAY_TIMESTAMP (401) unless `timestamp` is RFC 3339 within ±5 min of now. */
  checkTimestamp(timestamp: unknown): void {
    const ms = parseRfc3339Ms(timestamp);
    if (ms === undefined) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "timestamp must be an RFC 3339 date-time");
    const now = clockMs(this.#clock);
    const skew = ms - now;
    if (Math.abs(skew) > this.#timestampWindowMs) {
      throw new OapError("ERR_OAP_REPLAY_TIMESTAMP", `timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? "behind" : "ahead of"} the verifier clock (limit ${this.#timestampWindowMs / 1000} s)`, {
        details: { timestamp: String(timestamp), skew_ms: skew, window_ms: this.#timestampWindowMs },
      });
    }
  }

  /**
   * Throws ERR_OAP_REPLAY_NONCE (409 conflict) when `nonce` was already seen in `scope` (the
   * signer's DID) within the nonce window; records it otherwise.
   */
  async checkNonce(scope: string, nonce: unknown): Promise<void> {
    if (typeof nonce !== "string" || nonce.length === 0) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a nonce (request_id) is required");
    const now = clockMs(this.#clock);
    const fresh = await this.store.checkAndStore(`${scope}\u0000${nonce}`, now + this.#nonceWindowMs, now);
    if (!fresh) throw new OapError("ERR_OAP_REPLAY_NONCE", `nonce ${nonce} was already used within ${this.#nonceWindowMs / 60_000} min`, { details: { nonce } });
  }

  /** Both checks: timestamp first, then the nonce. */
  async check(message: { readonly timestamp: unknown; readonly nonce: unknown; readonly scope: string }): Promise<void> {
    this.checkTimestamp(message.timestamp);
    await this.checkNonce(message.scope, message.nonce);
  }
}
