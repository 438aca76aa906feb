/**
 * Receiver-side deduplication for `ohp/ws` (§7.2): an envelope `id` seen on a tenant pair is
 * remembered for (`notAfter` − `issuedAt`) + 5 s, with the answer the handler gave, so a repeat
 * gets `ack` `duplicate` and the same answer instead of a second run of the handler. Memory is
 * bounded twice: no entry outlives the longest legal lifetime (PT5M) + 5 s, and a cache holds at
 * most `maxEntries` ids (oldest evicted first).
 */
import type { JsonObject } from "../../../json/types.js";

/** Longest envelope lifetime OHP allows (`notAfter − issuedAt ≤ PT5M`, §4). */
export const OHP_MAX_LIFETIME_MS = 5 * 60 * 1000;
/** Clock skew added to every window (§5.4). */
export const OHP_SKEW_MS = 5 * 1000;
/** Default bound on remembered ids per tenant pair. */
export const OHP_WS_DEDUPE_MAX_ENTRIES = 10_000;

/** One remembered envelope id. */
export interface OhpWsDedupeEntry {
  readonly expiresAtMs: number;
  /** The answer the handler returned (set once it has). */
  answer?: JsonObject;
}

/**
 * How long to remember `envelope`'s id: (`notAfter − issuedAt`) + 5 s, capped at PT5M + 5 s; the
 * cap also applies when either timestamp is missing or unparseable (the node will REJECT such an
 * envelope, and the REJECT is what a repeat must get back).
 */
export function ohpWsDedupeWindowMs(envelope: JsonObject): number {
  const issuedAt = envelope["issuedAt"];
  const notAfter = envelope["notAfter"];
  const i = typeof issuedAt === "string" ? Date.parse(issuedAt) : NaN;
  const n = typeof notAfter === "string" ? Date.parse(notAfter) : NaN;
  if (!Number.isFinite(i) || !Number.isFinite(n) || n < i) return OHP_MAX_LIFETIME_MS + OHP_SKEW_MS;
  return Math.min(n - i, OHP_MAX_LIFETIME_MS) + OHP_SKEW_MS;
}

export interface OhpWsDedupeCacheOptions {
  readonly maxEntries?: number;
  /** Clock in ms (default `Date.now`). */
  readonly now?: () => number;
}

/** Envelope ids seen on one tenant pair, with their answers. */
export class OhpWsDedupeCache {
  readonly #entries = new Map<string, OhpWsDedupeEntry>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: OhpWsDedupeCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? OHP_WS_DEDUPE_MAX_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /** Number of ids held (expired ones included until the next prune). */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `id`, if any. */
  get(id: string): OhpWsDedupeEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Remembers `id` for `windowMs` from now and returns its (answer-less) entry. */
  add(id: string, windowMs: number): OhpWsDedupeEntry {
    this.#entries.delete(id);
    if (this.#entries.size >= this.#maxEntries) {
      this.prune();
      for (const key of this.#entries.keys()) {
        if (this.#entries.size < this.#maxEntries) break;
        this.#entries.delete(key);
      }
    }
    const entry: OhpWsDedupeEntry = { expiresAtMs: this.#now() + windowMs };
    this.#entries.set(id, entry);
    return entry;
  }

  /** Drops expired entries. */
  prune(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) if (entry.expiresAtMs <= now) this.#entries.delete(id);
  }
}
