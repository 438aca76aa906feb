/**
 * Cached HTTP JSON loading shared by DID resolution and issuer key sets: one {@link DidCache}
 * keyed by URL, lifetimes from `Cache-Control` (bounded), concurrent loads of one URL merged.
 *
 * @module
 */
import type { JsonValue } from "../../json/types.js";
import { cacheTtlSeconds, InMemoryDidCache, systemDidClock, type CacheTtlOptions, type DidClock, type DidCache } from "./cache.js";
import { fetchJson, type HttpLoaderOptions } from "./fetcher.js";

/** A cached document. */
export interface CachedDocument {
  readonly url: string;
  readonly value: JsonValue;
  readonly fetchedAtMs: number;
  readonly expiresAtMs: number;
}

/** Options of {@link DocumentLoader}. */
export interface DocumentLoaderOptions extends HttpLoaderOptions, CacheTtlOptions {
  /** Cache store; default a fresh {@link InMemoryDidCache}. */
  readonly cache?: DidCache<CachedDocument>;
  /** DidClock for cache expiry; default the system clock. */
  readonly clock?: DidClock;
}

/** Loads JSON documents over HTTPS through a TTL cache. */
export class DocumentLoader {
  readonly #options: DocumentLoaderOptions;
  readonly #cache: DidCache<CachedDocument>;
  readonly #clock: DidClock;
  readonly #inFlight = new Map<string, Promise<CachedDocument>>();

  constructor(options: DocumentLoaderOptions = {}) {
    this.#options = options;
    this.#cache = options.cache ?? new InMemoryDidCache<CachedDocument>();
    this.#clock = options.clock ?? systemDidClock;
  }

  /**
   * The URL to fetch for an https document URL: unchanged, except that with
   * `allowInsecureLocalhost` a `localhost` URL is fetched over plain http (tests, local dev).
   */
  fetchUrl(httpsUrl: string): string {
    if (this.#options.allowInsecureLocalhost === true && /^https:\/\/localhost[:/]/i.test(httpsUrl)) return `http://${httpsUrl.slice("https://".length)}`;
    return httpsUrl;
  }

  /** The loader's clock (ms). */
  now(): number {
    return this.#clock();
  }

  /**
   * The document at `url`: from the cache while fresh, else fetched (errors of
   * {@link fetchJson}; failures are not cached). `refresh` bypasses the cache.
   */
  async load(url: string, accept: string, options: { readonly refresh?: boolean } = {}): Promise<CachedDocument> {
    if (options.refresh !== true) {
      const cached = this.#cache.get(url, this.#clock());
      if (cached !== undefined) return cached;
    }
    const pending = this.#inFlight.get(url);
    if (pending !== undefined) return pending;
    const promise = (async () => {
      const loaded = await fetchJson(url, accept, this.#options);
      const fetchedAtMs = this.#clock();
      const entry: CachedDocument = Object.freeze({
        url,
        value: loaded.value,
        fetchedAtMs,
        expiresAtMs: fetchedAtMs + cacheTtlSeconds(loaded.cacheControl, this.#options) * 1000,
      });
      this.#cache.set(url, entry, entry.expiresAtMs);
      return entry;
    })();
    this.#inFlight.set(url, promise);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(url);
    }
  }
}
