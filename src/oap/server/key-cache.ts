/**
 * A caching {@link OapKeyResolver}: did:key keys are immutable and cached (bounded, least
 * recently used first out); keys of other DID methods (did:web) are cached for `ttlMs` (default
 * 60 s), so a key removed from a DID document stops verifying within that time. Misses are not
 * cached. Resolving a did:key recomputes its document (an X25519 conversion) every time, which
 * otherwise costs about a tenth of an invocation.
 *
 * @module
 */
import type { PublicKeyRecord } from "../../crypto/keys.js";
import type { OapKeyResolver } from "../sign.js";

/** Options of {@link cachingKeyResolver}. */
export interface KeyCacheOptions {
  /** Entries kept (default 4096). */
  readonly maxEntries?: number;
  /** Lifetime of non-did:key entries (default 60 000 ms). */
  readonly ttlMs?: number;
  /** Milliseconds clock (default Date.now). */
  readonly now?: () => number;
}

/** Wraps `inner` with a cache (see the module comment). */
export function cachingKeyResolver(inner: OapKeyResolver, options: KeyCacheOptions = {}): OapKeyResolver {
  const max = Math.max(1, options.maxEntries ?? 4096);
  const ttl = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { key: PublicKeyRecord; until: number }>();
  return {
    async resolve(kid) {
      const hit = cache.get(kid);
      if (hit !== undefined && hit.until > now()) {
        cache.delete(kid);
        cache.set(kid, hit);
        return hit.key;
      }
      cache.delete(kid);
      const key = await inner.resolve(kid);
      if (key !== undefined) {
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(kid, { key, until: kid.startsWith("did:key:") ? Number.POSITIVE_INFINITY : now() + ttl });
      }
      return key;
    },
  };
}
