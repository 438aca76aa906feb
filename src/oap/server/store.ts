/**
 * Everything an OAP Tool server persists, behind one interface: receipts (per-Principal hash
 * chains), replay nonces, idempotency records, tasks, the audit log, webhook subscriptions and
 * published incidents. {@link MemoryOapStore} here; the embedded SQLite store is
 * sqlite-store.ts; a PostgreSQL store implements the same member interfaces.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { leaseLost, MemoryIdempotencyStore, type IdempotencyRecord, type IdempotencyReserveOptions, type IdempotencyStore } from "../idempotency.js";
import { MemoryReceiptStore, type ReceiptStore } from "../receipts.js";
import { MemoryNonceStore, type NonceStore } from "../replay.js";
import { MemoryAuditLog, MemoryTaskStore, type AuditLog, type MaybePromise, type TaskStore } from "../tasks/store.js";
import { MemoryWebhookSubscriptionStore, type WebhookSubscriptionStore } from "../webhooks/subscriptions.js";
import { MemoryConsentStore, type ConsentStore } from "../commerce/consent.js";
import { MemoryDisputeStore, type DisputeStore } from "../commerce/disputes.js";
import { MemorySubscriptionStore, type SubscriptionStore } from "../commerce/subscriptions.js";

/**
 * The commerce-plane records a store may keep durably: §12 subscriptions, consents and
 * `billing/refund` disputes. The server's planes use them when the store provides them (a
 * restarted server keeps subscription tokens and consents valid, revoked consents revoked).
 */
export interface OapCommerceStores {
  readonly subscriptions: SubscriptionStore;
  readonly consents: ConsentStore;
  readonly disputes: DisputeStore;
}

/** Published §22.2 incidents (oap-incident documents). */
export interface PublishedIncidentStore {
  publish(incident: JsonObject): MaybePromise<void>;
  list(): MaybePromise<JsonObject[]>;
}

/** In-memory {@link PublishedIncidentStore}. */
export class MemoryPublishedIncidentStore implements PublishedIncidentStore {
  readonly #items = new Map<string, JsonObject>();
  publish(incident: JsonObject): void {
    this.#items.set(String(incident["incident_id"]), structuredClone(incident));
  }
  list(): JsonObject[] {
    return [...this.#items.values()].map((i) => structuredClone(i));
  }
}

/** An idempotency store that can also erase a Principal's records (data deletion, §17.3). */
export interface PrincipalIdempotencyStore extends IdempotencyStore {
  deleteByPrincipal(principalDid: string): MaybePromise<number>;
}

/**
 * Wraps an {@link IdempotencyStore} whose keys start with `<principal>\0` (as IdempotencyGuard
 * writes them) and remembers them per Principal, so they can be erased.
 */
export class PrincipalIndexedIdempotencyStore implements PrincipalIdempotencyStore {
  readonly #inner: IdempotencyStore;
  readonly #byPrincipal = new Map<string, Set<string>>();

  constructor(inner: IdempotencyStore = new MemoryIdempotencyStore()) {
    this.#inner = inner;
  }

  async reserve(key: string, fingerprint: string, expiresAtMs: number, nowMs: number, options?: IdempotencyReserveOptions): Promise<IdempotencyRecord | undefined> {
    const r = await this.#inner.reserve(key, fingerprint, expiresAtMs, nowMs, options);
    if (r === undefined) {
      const principal = key.slice(0, key.indexOf("\u0000"));
      let set = this.#byPrincipal.get(principal);
      if (set === undefined) this.#byPrincipal.set(principal, (set = new Set()));
      set.add(key);
    }
    return r;
  }
  renew(key: string, owner: string, leaseExpiresAtMs: number): MaybePromise<boolean> {
    return this.#inner.renew(key, owner, leaseExpiresAtMs);
  }
  complete(key: string, response: JsonObject, owner?: string): MaybePromise<void> {
    return this.#inner.complete(key, response, owner);
  }
  release(key: string, owner?: string): MaybePromise<void> {
    return this.#inner.release(key, owner);
  }
  async deleteByPrincipal(principalDid: string): Promise<number> {
    const keys = this.#byPrincipal.get(principalDid) ?? new Set();
    for (const k of keys) await this.#inner.release(k);
    this.#byPrincipal.delete(principalDid);
    return keys.size;
  }
}

/** The storage of one Tool. */
export interface OapStore {
  readonly receipts: ReceiptStore;
  readonly nonces: NonceStore;
  readonly idempotency: PrincipalIdempotencyStore;
  readonly tasks: TaskStore;
  readonly audit: AuditLog;
  readonly webhooks: WebhookSubscriptionStore;
  readonly incidents: PublishedIncidentStore;
  /** Subscriptions, consents and disputes (optional: without it the planes keep them in memory). */
  readonly commerce?: OapCommerceStores;
  /** "memory", "sqlite", … (logs, /healthz). */
  readonly backend: string;
  /**
   * Appends a receipt (as {@link ReceiptStore.append}: compare-and-set on `previous`) and marks
   * the idempotency reservation `completion.key` completed with `completion.response`, in ONE
   * transaction: a node killed after the receipt is durable cannot leave its key `in_flight`
   * (a retry with the same key gets the stored response). With `completion.owner` nothing is
   * written when another node took the reservation over (ERR_OAP_IDEMPOTENCY_LEASE_LOST): one
   * receipt per idempotent call. Optional: without it the engine appends, then completes.
   */
  appendReceiptCompleting?(principalDid: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion): MaybePromise<void>;
  close(): MaybePromise<void>;
}

/** The idempotency record {@link OapStore.appendReceiptCompleting} completes. */
export interface IdempotencyCompletion {
  /** The record's store key (`<principal>\0<action>\0<key>`). */
  readonly key: string;
  /** The signed response envelope to store. */
  readonly response: JsonObject;
  /** The reservation's lease owner (this node): refused when the record is another owner's. */
  readonly owner?: string;
}

/** Everything in memory (tests, ephemeral tools). */
export class MemoryOapStore implements OapStore {
  readonly receipts: ReceiptStore = new MemoryReceiptStore();
  readonly nonces: NonceStore = new MemoryNonceStore();
  readonly #idempotency = new MemoryIdempotencyStore();
  readonly idempotency: PrincipalIdempotencyStore = new PrincipalIndexedIdempotencyStore(this.#idempotency);
  readonly audit: AuditLog = new MemoryAuditLog();
  readonly tasks: TaskStore = new MemoryTaskStore(this.audit);
  readonly webhooks: WebhookSubscriptionStore = new MemoryWebhookSubscriptionStore();
  readonly incidents: PublishedIncidentStore = new MemoryPublishedIncidentStore();
  readonly commerce: OapCommerceStores = { subscriptions: new MemorySubscriptionStore(), consents: new MemoryConsentStore(), disputes: new MemoryDisputeStore() };
  readonly backend = "memory";
  /** The owner check and both writes happen synchronously (nothing else can run in between). */
  appendReceiptCompleting(principalDid: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion): MaybePromise<void> {
    const holder = this.#idempotency.get(completion.key)?.lease?.owner;
    if (completion.owner !== undefined && holder !== undefined && holder !== completion.owner) throw leaseLost(completion.key, completion.owner, holder);
    const appended = this.receipts.append(principalDid, receipt, hash, previous);
    if (appended instanceof Promise) return appended.then(() => this.idempotency.complete(completion.key, completion.response, completion.owner));
    return this.idempotency.complete(completion.key, completion.response, completion.owner);
  }
  close(): void {}
}
