/**
 * Multi Agent Coordination (OAP-CORE-1.0 §15.1–15.3): the declared concurrency mode, an
 * optimistic versioned resource store (version conflicts → 409 conflict), pessimistic
 * `lock` / `unlock`, change broadcast (§15.2), and the `conflicts` resource (§15.3) whose
 * resolutions are recorded in Receipts. CRDTs are in crdt.ts, coordination sessions in
 * sessions.ts.
 *
 * §15.1 optimistic: "Last write wins, version conflicts surfaced through error code" — a write
 * with `expected_version` that is no longer current is refused with 409 (`ERR_OAP_CONFLICT`,
 * `details.conflict_id`, `current_version`) and registered as an open conflict; a write without
 * `expected_version` is last-write-wins.
 *
 * @module
 */
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { JsonObject, JsonValue } from "../../json/types.js";
import { OapError } from "../errors.js";
import type { ReceiptLedger } from "../receipts.js";
import { clockMs, jcsDigest, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

/** §15.1 modes. */
export type ConcurrencyMode = "optimistic" | "pessimistic" | "crdt";

/**
 * The declared mode of a manifest: `collaboration.locking_strategy`; undefined when the Tool
 * does not support concurrent agents. A Tool that supports concurrent agents without declaring
 * a mode violates §15.1 (400).
 */
export function declaredConcurrencyMode(manifest: Pick<OapManifest, "collaboration">): ConcurrencyMode | undefined {
  const c = manifest.collaboration;
  if (c === undefined || c.supports_concurrent_agents !== true) return c?.locking_strategy;
  if (c.locking_strategy === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "a Tool that allows concurrent agents must declare collaboration.locking_strategy (§15.1)");
  return c.locking_strategy;
}

/** A change of shared state (§15.2 broadcast payload). */
export interface ChangeEvent {
  readonly resource: string;
  readonly version: number;
  readonly agent_did: string;
  readonly value_hash: string;
  readonly changed_at: string;
}

// ---------------------------------------------------------------------------------------------
// conflicts (§15.3)
// ---------------------------------------------------------------------------------------------

/** A resolution proposal. */
export interface ConflictProposal {
  readonly proposal_id: string;
  readonly agent_did: string;
  readonly value: JsonValue;
  readonly rationale?: string;
  readonly proposed_at: string;
}

/** An entry of the `conflicts` resource. */
export interface Conflict {
  readonly conflict_id: string;
  readonly resource: string;
  readonly kind: "version" | "lock";
  readonly detected_at: string;
  /** The writer that lost. */
  readonly agent_did: string;
  readonly principal_did: string;
  readonly expected_version?: number;
  readonly current_version: number;
  /** The refused value. */
  readonly attempted: JsonValue;
  readonly attempted_hash: string;
  readonly current_hash: string;
  status: "open" | "resolved";
  proposals: ConflictProposal[];
  resolution?: { readonly value_hash: string; readonly version: number; readonly resolved_by: string; readonly resolved_at: string; readonly receipt_id?: string; readonly proposal_id?: string };
}

/** Options of {@link ConflictRegistry}. */
export interface ConflictRegistryOptions {
  /** Records resolutions in Receipts (§15.3 MUST). */
  readonly ledger?: ReceiptLedger;
  readonly toolDid?: string;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** The §15.3 `conflicts` resource. */
export class ConflictRegistry {
  readonly #o: ConflictRegistryOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #conflicts = new Map<string, Conflict>();
  /** Applies an accepted resolution to the shared state (set by {@link VersionedStore}). */
  apply: ((resource: string, value: JsonValue, agentDid: string, principalDid: string) => number) | undefined;

  constructor(options: ConflictRegistryOptions = {}) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  #id(prefix: string): string {
    return `${prefix}${oapUlid(clockMs(this.#clock), this.#random)}`;
  }

  /** Registers a conflict (called by the stores). */
  open(input: Omit<Conflict, "conflict_id" | "detected_at" | "status" | "proposals" | "attempted_hash"> & { readonly attempted: JsonValue }): Conflict {
    const c: Conflict = { ...structuredClone(input), conflict_id: this.#id("urn:oap:conflict:"), detected_at: rfc3339(this.#clock()), attempted_hash: jcsDigest(input.attempted), status: "open", proposals: [] };
    this.#conflicts.set(c.conflict_id, c);
    return structuredClone(c);
  }

  /** `GET conflicts`: unresolved conflicts (optionally of one resource). */
  list(filter: { readonly resource?: string; readonly status?: "open" | "resolved" } = {}): Conflict[] {
    const status = filter.status ?? "open";
    return [...this.#conflicts.values()].filter((c) => c.status === status && (filter.resource === undefined || c.resource === filter.resource)).map((c) => structuredClone(c));
  }

  get(conflictId: string): Conflict | undefined {
    const c = this.#conflicts.get(conflictId);
    return c === undefined ? undefined : structuredClone(c);
  }

  /** `POST conflicts/{id}/proposals`: a resolution proposal. */
  propose(conflictId: string, proposal: { readonly agent_did: string; readonly value: JsonValue; readonly rationale?: string }): ConflictProposal {
    const c = this.#open(conflictId);
    const p: ConflictProposal = { proposal_id: this.#id("urn:oap:proposal:"), agent_did: proposal.agent_did, value: structuredClone(proposal.value), ...(proposal.rationale === undefined ? {} : { rationale: proposal.rationale }), proposed_at: rfc3339(this.#clock()) };
    c.proposals.push(p);
    return structuredClone(p);
  }

  /**
   * Resolves a conflict with a proposal (or a value): applies it to the shared state, records a
   * Receipt (`action_id: "conflicts.resolve"`, input = the conflict and proposal, output = the
   * resolved value) and closes the conflict.
   */
  async resolve(conflictId: string, input: { readonly resolved_by: string; readonly proposal_id?: string; readonly value?: JsonValue }): Promise<{ conflict: Conflict; receipt?: JsonObject }> {
    const c = this.#open(conflictId);
    const proposal = input.proposal_id === undefined ? undefined : c.proposals.find((p) => p.proposal_id === input.proposal_id);
    if (input.proposal_id !== undefined && proposal === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown proposal ${input.proposal_id}`);
    const value = proposal?.value ?? input.value;
    if (value === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "a resolution needs a proposal_id or a value");
    const version = this.apply?.(c.resource, value, input.resolved_by, c.principal_did) ?? c.current_version;
    let receipt: JsonObject | undefined;
    if (this.#o.ledger !== undefined) {
      const issued = await this.#o.ledger.issue({
        type: "invocation",
        principal_did: c.principal_did,
        agent_did: input.resolved_by,
        ...(this.#o.toolDid === undefined ? {} : { tool_did: this.#o.toolDid }),
        action_id: "conflicts.resolve",
        input_hash: jcsDigest({ conflict_id: c.conflict_id, proposal_id: proposal?.proposal_id ?? null }),
        output_hash: jcsDigest(value),
      });
      receipt = issued.receipt;
    }
    c.status = "resolved";
    c.resolution = {
      value_hash: jcsDigest(value),
      version,
      resolved_by: input.resolved_by,
      resolved_at: rfc3339(this.#clock()),
      ...(receipt === undefined ? {} : { receipt_id: String(receipt["receipt_id"]) }),
      ...(proposal === undefined ? {} : { proposal_id: proposal.proposal_id }),
    };
    return receipt === undefined ? { conflict: structuredClone(c) } : { conflict: structuredClone(c), receipt };
  }

  #open(conflictId: string): Conflict {
    const c = this.#conflicts.get(conflictId);
    if (c === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown conflict ${conflictId}`);
    if (c.status !== "open") throw new OapError("ERR_OAP_CONFLICT", `conflict ${conflictId} is already resolved`);
    return c;
  }
}

// ---------------------------------------------------------------------------------------------
// optimistic (§15.1)
// ---------------------------------------------------------------------------------------------

/** A versioned value. */
export interface Versioned {
  readonly value: JsonValue;
  /** Starts at 1 with the first write; 0 = never written. */
  readonly version: number;
  readonly updated_by?: string;
  readonly updated_at?: string;
}

/** Options of {@link VersionedStore}. */
export interface VersionedStoreOptions {
  readonly conflicts?: ConflictRegistry;
  /** §15.2 broadcast hook (e.g. the webhook subsystem). */
  readonly onChange?: (event: ChangeEvent) => void;
  /** Pessimistic mode: writes must present the lock token. */
  readonly locks?: LockManager;
  readonly clock?: OapClock;
}

/** A write. */
export interface WriteRequest {
  readonly agent_did: string;
  readonly principal_did: string;
  /** Optimistic concurrency: refuse unless this is still the current version. */
  readonly expected_version?: number;
  /** Pessimistic mode: the lock token. */
  readonly lock_token?: string;
}

/** Shared state with optimistic (and optionally pessimistic) concurrency control. */
export class VersionedStore {
  readonly #o: VersionedStoreOptions;
  readonly #clock: OapClock;
  readonly #data = new Map<string, Versioned>();
  readonly conflicts: ConflictRegistry;

  constructor(options: VersionedStoreOptions = {}) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.conflicts = options.conflicts ?? new ConflictRegistry({ clock: this.#clock });
    this.conflicts.apply = (resource, value, agent) => this.#write(resource, value, agent).version;
  }

  get(resource: string): Versioned {
    return structuredClone(this.#data.get(resource) ?? { value: null, version: 0 });
  }

  /** Writes; 409 on a stale `expected_version` (the conflict is registered) or a missing lock. */
  put(resource: string, value: JsonValue, request: WriteRequest): Versioned {
    if (this.#o.locks !== undefined) this.#o.locks.assertHolder(resource, request.agent_did, request.lock_token);
    const current = this.#data.get(resource) ?? { value: null, version: 0 };
    if (request.expected_version !== undefined && request.expected_version !== current.version) {
      const conflict = this.conflicts.open({
        resource,
        kind: "version",
        agent_did: request.agent_did,
        principal_did: request.principal_did,
        expected_version: request.expected_version,
        current_version: current.version,
        attempted: value,
        current_hash: jcsDigest(current.value),
      });
      throw new OapError("ERR_OAP_CONFLICT", `${resource} is at version ${current.version}, not ${request.expected_version}`, {
        details: { conflict_id: conflict.conflict_id, resource, current_version: current.version, expected_version: request.expected_version },
      });
    }
    return this.#write(resource, value, request.agent_did);
  }

  #write(resource: string, value: JsonValue, agent: string): Versioned {
    const current = this.#data.get(resource) ?? { value: null, version: 0 };
    const next: Versioned = { value: structuredClone(value), version: current.version + 1, updated_by: agent, updated_at: rfc3339(this.#clock()) };
    this.#data.set(resource, next);
    this.#o.onChange?.({ resource, version: next.version, agent_did: agent, value_hash: jcsDigest(value), changed_at: next.updated_at as string });
    return structuredClone(next);
  }
}

// ---------------------------------------------------------------------------------------------
// pessimistic (§15.1)
// ---------------------------------------------------------------------------------------------

/** A held lock. */
export interface ResourceLock {
  readonly resource: string;
  readonly holder_did: string;
  readonly lock_token: string;
  readonly acquired_at: string;
  readonly expires_at: string;
}

/** `lock` / `unlock` with expiry (a crashed holder cannot block a resource forever). */
export class LockManager {
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #maxTtl: number;
  readonly #locks = new Map<string, ResourceLock>();

  constructor(options: { readonly clock?: OapClock; readonly random?: OapRandom; readonly maxTtlSeconds?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#maxTtl = options.maxTtlSeconds ?? 300;
  }

  #live(resource: string): ResourceLock | undefined {
    const l = this.#locks.get(resource);
    if (l !== undefined && Date.parse(l.expires_at) <= clockMs(this.#clock)) {
      this.#locks.delete(resource);
      return undefined;
    }
    return l;
  }

  /** Acquires (or, for the same holder, extends) the lock; 409 when another agent holds it. */
  lock(resource: string, holderDid: string, ttlSeconds = 30): ResourceLock {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new OapError("ERR_OAP_INPUT_INVALID", "a lock needs a positive ttl in seconds");
    const held = this.#live(resource);
    if (held !== undefined && held.holder_did !== holderDid) {
      throw new OapError("ERR_OAP_CONFLICT", `${resource} is locked by ${held.holder_did} until ${held.expires_at}`, { details: { resource, holder_did: held.holder_did, expires_at: held.expires_at } });
    }
    const now = clockMs(this.#clock);
    const lock: ResourceLock = {
      resource,
      holder_did: holderDid,
      lock_token: held?.lock_token ?? `urn:oap:lock:${oapUlid(now, this.#random)}`,
      acquired_at: held?.acquired_at ?? rfc3339(new Date(now)),
      expires_at: rfc3339(new Date(now + Math.min(ttlSeconds, this.#maxTtl) * 1000)),
    };
    this.#locks.set(resource, lock);
    return { ...lock };
  }

  /** Releases; 409 when the token is not the current holder's. */
  unlock(resource: string, lockToken: string): void {
    const held = this.#live(resource);
    if (held === undefined) return;
    if (held.lock_token !== lockToken) throw new OapError("ERR_OAP_CONFLICT", `${resource} is locked by another holder`, { details: { resource, holder_did: held.holder_did } });
    this.#locks.delete(resource);
  }

  /** The live lock of a resource. */
  holder(resource: string): ResourceLock | undefined {
    const l = this.#live(resource);
    return l === undefined ? undefined : { ...l };
  }

  /** Writes need the lock: 409 unless `holderDid` holds it with `lockToken`. */
  assertHolder(resource: string, holderDid: string, lockToken: string | undefined): void {
    const held = this.#live(resource);
    if (held === undefined || held.holder_did !== holderDid || held.lock_token !== lockToken) {
      throw new OapError("ERR_OAP_CONFLICT", `writing ${resource} needs its lock`, { details: { resource, ...(held === undefined ? {} : { holder_did: held.holder_did, expires_at: held.expires_at }) } });
    }
  }
}
