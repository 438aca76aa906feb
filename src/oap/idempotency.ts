/**
 * Idempotency (OAP-CORE-1.0 §7, §8.4, §28.4).
 *
 * - An action declaring `idempotent: true` needs an idempotency key (`OAP-Idempotency-Key`
 *   header or envelope `idempotency_key`; when both are given they must agree). Repeating the
 *   same request (same principal, action, scope and input) with the same key inside the
 *   action's `idempotency_window_seconds` returns the stored response unchanged ("identical
 *   results"); the same key with a different request is a 409 conflict, as is a repeat while the
 *   first is still running.
 * - A non-idempotent action "fails closed": a key it has seen inside the window (default 24 h)
 *   is refused with 409 and the action is never run twice.
 *
 * Keys are scoped to (principal, action): two principals may use the same key.
 *
 * @module
 */
import { isJsonObject, type JsonObject } from "../json/types.js";
import { OapError } from "./errors.js";
import { clockMs, jcsDigest, systemClock, type OapClock } from "./util.js";

/** Window for non-idempotent actions, which declare none (24 h). */
export const OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS = 86_400;

/** A stored idempotency record. */
export interface IdempotencyRecord {
  /** Digest of the request the key was first used with ({@link idempotencyFingerprint}). */
  readonly fingerprint: string;
  readonly state: "in_flight" | "completed";
  /** The stored (signed) response envelope, once completed. */
  readonly response?: JsonObject;
  readonly expiresAtMs: number;
}

/** Pluggable idempotency storage. Implementations must make {@link IdempotencyStore.reserve} atomic. */
export interface IdempotencyStore {
  /**
   * Atomically: when `key` has no record unexpired at `nowMs`, stores an `in_flight` record and
   * returns undefined; otherwise returns the existing record unchanged.
   */
  reserve(key: string, fingerprint: string, expiresAtMs: number, nowMs: number): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  /** Marks the reservation completed with its response (keeps the expiry). */
  complete(key: string, response: JsonObject): void | Promise<void>;
  /** Drops a reservation (the request failed before any effect; a retry may run it again). */
  release(key: string): void | Promise<void>;
}

/** Options of {@link MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Bound on records (default 100 000); when full of unexpired records new keys get 503. */
  readonly maxEntries?: number;
}

/** In-memory {@link IdempotencyStore}. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #max: number;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.#max = Math.max(1, options.maxEntries ?? 100_000);
  }

  get size(): number {
    return this.#records.size;
  }

  reserve(key: string, fingerprint: string, expiresAtMs: number, nowMs: number): IdempotencyRecord | undefined {
    const existing = this.#records.get(key);
    if (existing !== undefined && existing.expiresAtMs > nowMs) return existing;
    this.#records.delete(key);
    if (this.#records.size >= this.#max) this.sweep(nowMs);
    if (this.#records.size >= this.#max) throw new OapError("ERR_OAP_MAINTENANCE", "the idempotency store is full", { details: { retry_after_seconds: 60 } });
    this.#records.set(key, { fingerprint, state: "in_flight", expiresAtMs });
    return undefined;
  }

  complete(key: string, response: JsonObject): void {
    const r = this.#records.get(key);
    if (r !== undefined) this.#records.set(key, { ...r, state: "completed", response });
  }

  release(key: string): void {
    this.#records.delete(key);
  }

  /** Drops records expired at `nowMs`. */
  sweep(nowMs: number): void {
    for (const [k, r] of this.#records) if (r.expiresAtMs <= nowMs) this.#records.delete(k);
  }
}

/**
 * The request identity a key is bound to: SHA-256 over the JCS form of
 * `{principal_did, scope_id, action, input}` (not request_id, timestamp or signature, which
 * differ between retries).
 */
export function idempotencyFingerprint(envelope: JsonObject): string {
  return jcsDigest({
    principal_did: envelope["principal_did"] ?? null,
    scope_id: envelope["scope_id"] ?? null,
    action: envelope["action"] ?? null,
    input: envelope["input"] ?? null,
  });
}

/**
 * The idempotency key of a request: the `OAP-Idempotency-Key` header and/or the envelope's
 * `idempotency_key` (400 when both are present and differ), or undefined.
 */
export function idempotencyKeyOf(envelope: JsonObject, header?: string | null): string | undefined {
  const inBody = envelope["idempotency_key"];
  const fromBody = typeof inBody === "string" && inBody.length > 0 ? inBody : undefined;
  const fromHeader = typeof header === "string" && header.length > 0 ? header : undefined;
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) {
    throw new OapError("ERR_OAP_ENVELOPE_INVALID", "OAP-Idempotency-Key differs from the envelope's idempotency_key");
  }
  return fromBody ?? fromHeader;
}

/** The action members idempotency depends on. */
export interface IdempotencyActionInfo {
  readonly id: string;
  readonly idempotent: boolean;
  readonly idempotency_window_seconds?: number;
}

/** What {@link IdempotencyGuard.begin} decided. */
export type IdempotencyTicket =
  /** No key and none required: just execute. */
  | { readonly kind: "none" }
  /** First use of the key: execute, then call `complete(response)` (or `release()` on failure before any effect). */
  | {
      readonly kind: "execute";
      readonly key: string;
      /** The record's key in the {@link IdempotencyStore} (`<principal>\0<action>\0<key>`), for stores that complete it atomically with the receipt. */
      readonly storeKey: string;
      complete(response: JsonObject): Promise<void>;
      release(): Promise<void>;
    }
  /** Repeat of a completed idempotent request inside the window: answer `response` unchanged. */
  | { readonly kind: "replay"; readonly key: string; readonly response: JsonObject };

/** Options of {@link IdempotencyGuard}. */
export interface IdempotencyGuardOptions {
  readonly store?: IdempotencyStore;
  readonly clock?: OapClock;
  /** Window for non-idempotent actions (default {@link OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS}). */
  readonly nonIdempotentWindowSeconds?: number;
}

/** §28.4 idempotency with a store and a clock. */
export class IdempotencyGuard {
  readonly store: IdempotencyStore;
  readonly #clock: OapClock;
  readonly #nonIdempotentWindowS: number;

  constructor(options: IdempotencyGuardOptions = {}) {
    this.store = options.store ?? new MemoryIdempotencyStore();
    this.#clock = options.clock ?? systemClock;
    this.#nonIdempotentWindowS = options.nonIdempotentWindowSeconds ?? OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS;
  }

  /**
   * Decides how to handle a (verified) request for `action`. Throws OapError:
   * ERR_OAP_IDEMPOTENCY_KEY_REQUIRED (400), ERR_OAP_IDEMPOTENCY_MISMATCH,
   * ERR_OAP_IDEMPOTENCY_IN_FLIGHT, ERR_OAP_IDEMPOTENCY_REUSED (409).
   */
  async begin(envelope: JsonObject, action: IdempotencyActionInfo, header?: string | null): Promise<IdempotencyTicket> {
    if (!isJsonObject(envelope)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a request envelope must be a JSON object");
    const key = idempotencyKeyOf(envelope, header);
    if (key === undefined) {
      if (action.idempotent) {
        throw new OapError("ERR_OAP_IDEMPOTENCY_KEY_REQUIRED", `action ${action.id} is idempotent: an OAP-Idempotency-Key is required (§8.4)`);
      }
      return { kind: "none" };
    }
    const windowS = action.idempotent ? action.idempotency_window_seconds : this.#nonIdempotentWindowS;
    if (windowS === undefined || !Number.isSafeInteger(windowS) || windowS < 0) {
      throw new OapError("ERR_OAP_ACTION_INVALID", `action ${action.id} is idempotent but declares no idempotency_window_seconds`);
    }
    const now = clockMs(this.#clock);
    const storeKey = `${String(envelope["principal_did"])}\u0000${action.id}\u0000${key}`;
    const fingerprint = idempotencyFingerprint(envelope);
    const existing = await this.store.reserve(storeKey, fingerprint, now + windowS * 1000, now);
    if (existing === undefined) {
      return {
        kind: "execute",
        key,
        storeKey,
        complete: async (response) => {
          await this.store.complete(storeKey, response);
        },
        release: async () => {
          await this.store.release(storeKey);
        },
      };
    }
    const details = { idempotency_key: key };
    if (!action.idempotent) {
      throw new OapError("ERR_OAP_IDEMPOTENCY_REUSED", `action ${action.id} is not idempotent: idempotency key ${key} was already used (§28.4 fail closed)`, { details });
    }
    if (existing.fingerprint !== fingerprint) {
      throw new OapError("ERR_OAP_IDEMPOTENCY_MISMATCH", `idempotency key ${key} was used for a different request`, { details });
    }
    if (existing.state !== "completed" || existing.response === undefined) {
      throw new OapError("ERR_OAP_IDEMPOTENCY_IN_FLIGHT", `the request with idempotency key ${key} is still running`, { details: { ...details, retry_after_seconds: 1 } });
    }
    return { kind: "replay", key, response: existing.response };
  }
}
