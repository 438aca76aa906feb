/**
 * A bounded set of keys that each expire at a given time: the in-memory core of every replay
 * cache (OHP `(id, nonce)`, DPoP `jti`, OAP nonces). When it is full of unexpired keys it
 * refuses the new key (`"full"`) instead of forgetting one, which would re-open a replay window;
 * callers turn that into their own typed error.
 */
export class ExpiringKeySet {
  readonly #entries = new Map<string, number>();
  readonly #max: number;

  constructor(maxEntries = 100_000) {
    this.#max = Math.max(1, maxEntries);
  }

  /** Number of remembered keys (expired ones included until swept). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Records `key` until `expiresAtMs` and returns `true` on first use, `false` when the key is
   * already recorded and unexpired at `nowMs`, or `"full"` when no room is left.
   */
  firstUse(key: string, expiresAtMs: number, nowMs: number): boolean | "full" {
    const existing = this.#entries.get(key);
    if (existing !== undefined && existing > nowMs) return false;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.sweep(nowMs);
    if (this.#entries.size >= this.#max) return "full";
    this.#entries.set(key, expiresAtMs);
    return true;
  }

  /** Drops every key expired at `nowMs`. */
  sweep(nowMs: number): void {
    for (const [key, expiresAtMs] of this.#entries) if (expiresAtMs <= nowMs) this.#entries.delete(key);
  }
}
