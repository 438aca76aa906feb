/**
 * A TTL cache for fetched DID documents and key sets, with the lifetime taken from the response's
 * `Cache-Control: max-age` (RFC 9111 §5.2.2.1) clamped to configured bounds. The clock is a
 * constructor argument.
 *
 * @module
 */

/** Milliseconds since the epoch; injectable for tests. */
export type DidClock = () => number;

/** The system clock. */
export const systemDidClock: DidClock = () => Date.now();

/** Pluggable cache store (in-memory by default; anything keyed by URL works). */
export interface DidCache<V = unknown> {
  /** The value stored under `key` unless it expired at `nowMs`. */
  get(key: string, nowMs: number): V | undefined;
  /** Stores `value` until `expiresAtMs`. */
  set(key: string, value: V, expiresAtMs: number): void;
  /** Removes `key`. */
  delete(key: string): void;
}

/** In-memory {@link DidCache} with a bound on entries (when full, the oldest insertion is dropped). */
export class InMemoryDidCache<V = unknown> implements DidCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();
  readonly #maxEntries: number;

  constructor(options: { readonly maxEntries?: number } = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 1000);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAtMs: number): void {
    this.#entries.delete(key);
    // Full: drop the oldest insertion (a cache miss only costs a refetch).
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { value, expiresAtMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** Bounds for cache lifetimes, in seconds. */
export interface CacheTtlOptions {
  /** Used when the response has no usable `max-age`. Default 300. */
  readonly defaultTtlSeconds?: number;
  /** Lower bound (also applied to `no-store` / `no-cache` / `max-age=0`). Default 30. */
  readonly minTtlSeconds?: number;
  /** Upper bound: the longest a revoked or removed key can stay trusted from cache. Default 3600. */
  readonly maxTtlSeconds?: number;
}

/**
 * Cache lifetime in seconds for a response with this `Cache-Control` header: `max-age` (or 0 for
 * `no-store` / `no-cache`), else the default, clamped to [min, max].
 */
export function cacheTtlSeconds(cacheControl: string | null | undefined, options: CacheTtlOptions = {}): number {
  const min = options.minTtlSeconds ?? 30;
  const max = Math.max(min, options.maxTtlSeconds ?? 3600);
  let ttl = options.defaultTtlSeconds ?? 300;
  if (typeof cacheControl === "string") {
    const directives = cacheControl.toLowerCase().split(",").map((d) => d.trim());
    const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)).find((m) => m !== null);
    if (directives.includes("no-store") || directives.includes("no-cache")) ttl = 0;
    else if (maxAge) ttl = Number(maxAge[1]);
  }
  return Math.min(max, Math.max(min, ttl));
}
