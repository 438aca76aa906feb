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
 * Leases (docs/scale-out.md "Leases"): with an `owner` (the node's id), an `in_flight` reservation
 * names its node and a lease (default 30 s) that the ticket renews every third of it while the
 * call runs. A retry of the same request (same fingerprint) of an idempotent action that meets an
 * `in_flight` record whose lease expired — its node died while executing — takes the reservation
 * over in one compare-and-set of the store and runs the call again; while the owner lives (renews)
 * a retry gets 409. The owner's completion is fenced: a node whose reservation was taken over
 * cannot store its response (ERR_OAP_IDEMPOTENCY_LEASE_LOST). Non-idempotent actions never take
 * over (fail closed).
 *
 * @module
 */
import { isJsonObject, type JsonObject } from "../json/types.js";
import { OapError } from "./errors.js";
import { clockMs, jcsDigest, systemClock, type OapClock } from "./util.js";

/** Window for non-idempotent actions, which declare none (24 h). */
export const OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS = 86_400;

/** Default lease of an `in_flight` reservation (ms); the owner renews it every third. */
export const OAP_DEFAULT_IDEMPOTENCY_LEASE_MS = 30_000;

/** The owner and lease of an `in_flight` reservation. */
export interface IdempotencyLease {
  /** The node that reserved the key and runs the call. */
  readonly owner: string;
  /** The reservation is the owner's until then (ms since the epoch) unless renewed. */
  readonly expiresAtMs: number;
}

/** A stored idempotency record. */
export interface IdempotencyRecord {
  /** Digest of the request the key was first used with ({@link idempotencyFingerprint}). */
  readonly fingerprint: string;
  readonly state: "in_flight" | "completed";
  /** The stored (signed) response envelope, once completed. */
  readonly response?: JsonObject;
  readonly expiresAtMs: number;
  /** Who reserved the key and (while `in_flight`) until when; absent for reservations without a lease (never taken over). */
  readonly lease?: IdempotencyLease;
}

/** How {@link IdempotencyStore.reserve} leases a new reservation. */
export interface IdempotencyReserveOptions {
  readonly lease: IdempotencyLease;
  /**
   * Take over an `in_flight` record of the same request (equal fingerprint) whose lease expired
   * at `nowMs` (idempotent actions: the call runs again). False: such a record is returned.
   */
  readonly takeover: boolean;
}

/**
 * Pluggable idempotency storage. Implementations must make {@link IdempotencyStore.reserve}
 * atomic, including the takeover (a compare-and-set: of two retries meeting one expired lease,
 * one takes it over and the other gets the fresh record), and fence `complete` / `release` by owner.
 */
export interface IdempotencyStore {
  /**
   * Atomically: when `key` has no record unexpired at `nowMs` — or, with `options.takeover`, an
   * `in_flight` record of `fingerprint` whose lease expired at `nowMs` — stores an `in_flight`
   * record (leased to `options.lease` when given) and returns undefined; otherwise returns the
   * existing record unchanged.
   */
  reserve(key: string, fingerprint: string, expiresAtMs: number, nowMs: number, options?: IdempotencyReserveOptions): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  /**
   * Extends the lease of `owner`'s `in_flight` reservation `key` to `leaseExpiresAtMs`; false
   * when it is not (any more) `owner`'s in-flight reservation (taken over, completed, released).
   */
  renew(key: string, owner: string, leaseExpiresAtMs: number): boolean | Promise<boolean>;
  /**
   * Marks the reservation completed with its response (keeps the expiry). With `owner`: refused
   * with ERR_OAP_IDEMPOTENCY_LEASE_LOST when the record belongs to another owner (taken over);
   * a record without an owner, or none, is completed / ignored as without `owner`.
   */
  complete(key: string, response: JsonObject, owner?: string): void | Promise<void>;
  /** Drops a reservation (the request failed before any effect; a retry may run it again); with `owner`, only if it is not another owner's. */
  release(key: string, owner?: string): void | Promise<void>;
}

/** True when `record` is an `in_flight` reservation of `fingerprint` whose lease expired at `nowMs` (it may be taken over). */
export function leaseExpired(record: IdempotencyRecord, fingerprint: string, nowMs: number): boolean {
  return record.state === "in_flight" && record.fingerprint === fingerprint && record.lease !== undefined && record.lease.expiresAtMs <= nowMs;
}

/** The error of a completion fenced off because another node took the reservation over. */
export function leaseLost(key: string, owner: string, holder: string | undefined): OapError {
  return new OapError("ERR_OAP_IDEMPOTENCY_LEASE_LOST", `the idempotency reservation was taken over by another node (${holder ?? "unknown"}) after the lease of ${owner} expired`, {
    details: { owner, ...(holder === undefined ? {} : { holder }), retry_after_seconds: 1 },
  });
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

  /** The record of `key` (expired or not), for inspection. */
  get(key: string): IdempotencyRecord | undefined {
    return this.#records.get(key);
  }

  reserve(key: string, fingerprint: string, expiresAtMs: number, nowMs: number, options?: IdempotencyReserveOptions): IdempotencyRecord | undefined {
    const existing = this.#records.get(key);
    if (existing !== undefined && existing.expiresAtMs > nowMs && !(options?.takeover === true && leaseExpired(existing, fingerprint, nowMs))) return existing;
    this.#records.delete(key);
    if (this.#records.size >= this.#max) this.sweep(nowMs);
    if (this.#records.size >= this.#max) throw new OapError("ERR_OAP_MAINTENANCE", "the idempotency store is full", { details: { retry_after_seconds: 60 } });
    this.#records.set(key, { fingerprint, state: "in_flight", expiresAtMs, ...(options === undefined ? {} : { lease: { ...options.lease } }) });
    return undefined;
  }

  renew(key: string, owner: string, leaseExpiresAtMs: number): boolean {
    const r = this.#records.get(key);
    if (r === undefined || r.state !== "in_flight" || r.lease?.owner !== owner) return false;
    this.#records.set(key, { ...r, lease: { owner, expiresAtMs: leaseExpiresAtMs } });
    return true;
  }

  complete(key: string, response: JsonObject, owner?: string): void {
    const r = this.#records.get(key);
    if (r === undefined) return;
    if (owner !== undefined && r.lease !== undefined && r.lease.owner !== owner) throw leaseLost(key, owner, r.lease.owner);
    this.#records.set(key, { ...r, state: "completed", response });
  }

  release(key: string, owner?: string): void {
    const r = this.#records.get(key);
    if (owner !== undefined && r?.lease !== undefined && r.lease.owner !== owner) return;
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
  /**
   * First use of the key (or the takeover of a reservation whose node is gone): execute, then call
   * `complete(response)` (or `release()` on failure before any effect). While the call runs the
   * ticket renews the reservation's lease; `complete`, `release` and `end` stop that.
   */
  | {
      readonly kind: "execute";
      readonly key: string;
      /** The record's key in the {@link IdempotencyStore} (`<principal>\0<action>\0<key>`), for stores that complete it atomically with the receipt. */
      readonly storeKey: string;
      /** The lease owner (the node), when the guard leases reservations: completions name it (fencing). */
      readonly owner?: string;
      complete(response: JsonObject): Promise<void>;
      release(): Promise<void>;
      /** Stops renewing the lease (the reservation was completed elsewhere, e.g. with the receipt). */
      end(): void;
    }
  /** Repeat of a completed idempotent request inside the window: answer `response` unchanged. */
  | { readonly kind: "replay"; readonly key: string; readonly response: JsonObject };

/** Options of {@link IdempotencyGuard}. */
export interface IdempotencyGuardOptions {
  readonly store?: IdempotencyStore;
  readonly clock?: OapClock;
  /** Window for non-idempotent actions (default {@link OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS}). */
  readonly nonIdempotentWindowSeconds?: number;
  /** This node's id: reservations are leased to it (absent: no leases, an `in_flight` record is never taken over). */
  readonly owner?: string;
  /** Lease of a reservation (ms, default {@link OAP_DEFAULT_IDEMPOTENCY_LEASE_MS}); renewed every third while the call runs. */
  readonly leaseMs?: number;
  /** Failures of lease renewals (the call goes on; its completion is fenced). */
  readonly onError?: (error: unknown) => void;
}

/** §28.4 idempotency with a store and a clock. */
export class IdempotencyGuard {
  readonly store: IdempotencyStore;
  readonly #clock: OapClock;
  readonly #nonIdempotentWindowS: number;
  readonly #owner: string | undefined;
  readonly #leaseMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;

  constructor(options: IdempotencyGuardOptions = {}) {
    this.store = options.store ?? new MemoryIdempotencyStore();
    this.#clock = options.clock ?? systemClock;
    this.#nonIdempotentWindowS = options.nonIdempotentWindowSeconds ?? OAP_DEFAULT_IDEMPOTENCY_WINDOW_SECONDS;
    this.#owner = options.owner;
    this.#leaseMs = Math.max(3, options.leaseMs ?? OAP_DEFAULT_IDEMPOTENCY_LEASE_MS);
    this.#onError = options.onError;
  }

  /** Renews `owner`'s lease of `storeKey` every third of the lease until stopped or lost; returns the stop function. */
  #heartbeat(storeKey: string, owner: string): () => void {
    let stopped = false;
    const timer = setInterval(() => {
      void Promise.resolve(this.store.renew(storeKey, owner, clockMs(this.#clock) + this.#leaseMs)).then(
        (held) => {
          if (!held) stop();
        },
        (e: unknown) => this.#onError?.(e),
      );
    }, Math.max(1, Math.floor(this.#leaseMs / 3)));
    timer.unref();
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
    };
    return stop;
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
    const owner = this.#owner;
    const lease = owner === undefined ? undefined : { lease: { owner, expiresAtMs: now + this.#leaseMs }, takeover: action.idempotent };
    const existing = await this.store.reserve(storeKey, fingerprint, now + windowS * 1000, now, lease);
    if (existing === undefined) {
      const end = owner === undefined ? () => undefined : this.#heartbeat(storeKey, owner);
      return {
        kind: "execute",
        key,
        storeKey,
        ...(owner === undefined ? {} : { owner }),
        complete: async (response) => {
          end();
          await this.store.complete(storeKey, response, owner);
        },
        release: async () => {
          end();
          await this.store.release(storeKey, owner);
        },
        end,
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
      // While the owner renews its lease a retry waits; once the lease lapses a retry takes over.
      const retryS = existing.lease === undefined ? 1 : Math.max(1, Math.ceil((existing.lease.expiresAtMs - now) / 1000));
      throw new OapError("ERR_OAP_IDEMPOTENCY_IN_FLIGHT", `the request with idempotency key ${key} is still running`, { details: { ...details, retry_after_seconds: retryS } });
    }
    return { kind: "replay", key, response: existing.response };
  }
}
