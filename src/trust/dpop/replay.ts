/**
 * `jti` replay detection for DPoP proofs (RFC 9449 §11.1): a store that records each proof
 * identifier until the proof would be rejected as too old anyway.
 *
 * @module
 */
import { ExpiringKeySet } from "../../util/expiring-keys.js";
import { DpopError } from "./errors.js";

/** Pluggable replay store (in-memory below; a shared store such as Redis `SET NX PX` in a cluster). */
export interface DpopReplayCache {
  /**
   * Atomically records `key` until `expiresAtMs`. Returns `false` when `key` is already recorded
   * and not expired at `nowMs` (a replay), `true` when it was recorded now.
   */
  checkAndStore(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** Options of {@link InMemoryDpopReplayCache}. */
export interface InMemoryDpopReplayCacheOptions {
  /** Bound on recorded entries. Default 100 000. */
  readonly maxEntries?: number;
}

/**
 * In-memory {@link DpopReplayCache}. Expired entries are swept when the cache is full; if it is
 * still full, the new proof is refused with `ERR_DPOP_REPLAY_CACHE_FULL` rather than forgetting
 * an unexpired `jti` (which would re-open a replay window).
 */
export class InMemoryDpopReplayCache implements DpopReplayCache {
  readonly #keys: ExpiringKeySet;
  readonly #maxEntries: number;

  constructor(options: InMemoryDpopReplayCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.#keys = new ExpiringKeySet(this.#maxEntries);
  }

  /** Number of recorded entries (expired ones included until swept). */
  get size(): number {
    return this.#keys.size;
  }

  checkAndStore(key: string, expiresAtMs: number, nowMs: number): boolean {
    const r = this.#keys.firstUse(key, expiresAtMs, nowMs);
    if (r === "full") throw new DpopError("ERR_DPOP_REPLAY_CACHE_FULL", `DPoP replay cache is full (${this.#maxEntries} unexpired entries)`);
    return r;
  }

  /** Drops every entry expired at `nowMs`. */
  sweep(nowMs: number): void {
    this.#keys.sweep(nowMs);
  }
}
