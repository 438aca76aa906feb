/**
 * Storage of §9.2 tasks and of the Principal's audit log (the entries that are not receipts:
 * authorisation decision records, task transitions, data-rights events).
 *
 * Interfaces first (the embedded SQLite implementation is in src/oap/server/sqlite-store.ts; a
 * PostgreSQL one can implement the same contracts), then in-memory implementations for tests
 * and ephemeral tools. Every method may return a promise; writes must be durable when it
 * resolves.
 *
 * @module
 */
import type { JsonObject, JsonValue } from "../../json/types.js";
import { OapError } from "../errors.js";
import { isTerminalTaskStatus, type TaskStatus } from "./lifecycle.js";

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

// ---------------------------------------------------------------------------------------------
// audit log
// ---------------------------------------------------------------------------------------------

/** What an audit entry records. */
export type AuditEntryKind =
  /** An authorisation decision record (§10.2, §20.4) of an admitted invocation. */
  | "decision"
  /** A task status change (§9.2 "reflected in the Audit Log"). */
  | "task_transition"
  /** A data deletion (§17.3): what was erased and what was retained. */
  | "deletion"
  /** A data export. */
  | "export"
  /** A webhook subscription created or removed (§9.3). */
  | "webhook_subscription"
  /** An incident report received from the Principal's side. */
  | "incident_report"
  /** Plane operations (server/plane-endpoints.ts): a consent granted / revoked, a dispute filed, the kill switch. */
  | "consent"
  | "dispute"
  | "kill_switch";

/** One entry of a Principal's audit log. */
export interface AuditEntry {
  /** 1, 2, 3, … per Principal. */
  readonly seq: number;
  readonly principal_did: string;
  /** RFC 3339. */
  readonly at: string;
  readonly kind: AuditEntryKind;
  readonly data: JsonObject;
}

/** An entry before the log numbers it. */
export type AuditEntryInput = Omit<AuditEntry, "seq">;

/** Append-only audit log, one sequence per Principal. */
export interface AuditLog {
  append(entry: AuditEntryInput): MaybePromise<AuditEntry>;
  /** The Principal's entries in order (`offset` from the first). */
  list(principalDid: string, options?: { readonly offset?: number; readonly limit?: number }): MaybePromise<AuditEntry[]>;
}

/** In-memory {@link AuditLog}. */
export class MemoryAuditLog implements AuditLog {
  readonly #logs = new Map<string, AuditEntry[]>();

  append(entry: AuditEntryInput): AuditEntry {
    const log = this.#logs.get(entry.principal_did) ?? [];
    this.#logs.set(entry.principal_did, log);
    const full: AuditEntry = { seq: log.length + 1, ...structuredClone(entry) };
    log.push(full);
    return structuredClone(full);
  }

  list(principalDid: string, options: { readonly offset?: number; readonly limit?: number } = {}): AuditEntry[] {
    const all = this.#logs.get(principalDid) ?? [];
    const start = Math.max(0, options.offset ?? 0);
    return all.slice(start, options.limit === undefined ? undefined : start + Math.max(0, options.limit)).map((e) => structuredClone(e));
  }
}

// ---------------------------------------------------------------------------------------------
// tasks
// ---------------------------------------------------------------------------------------------

/** One status change of a task (proto oap.v1.TaskTransition). */
export interface TaskTransitionJson {
  /** 1-based position in the task's history. */
  readonly seq: number;
  readonly status: TaskStatus;
  /** RFC 3339. */
  readonly at: string;
  readonly reason?: string;
}

/** A task as the wire shows it (the ProtoJSON of oap.v1.Task; §9.2 descriptor members first). */
export interface TaskJson {
  readonly task_id: string;
  readonly status: TaskStatus;
  readonly poll_url?: string;
  readonly callback_url_supported?: boolean;
  readonly estimated_completion?: string;
  readonly request_id: string;
  readonly action: string;
  readonly principal_did: string;
  readonly agent_did: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly transitions: readonly TaskTransitionJson[];
  /** awaiting_input: what the Tool needs ({prompt, schema?}). */
  readonly input_required?: JsonValue;
  /** completed / failed: the signed response envelope. */
  readonly response?: JsonObject;
  /** completed / failed: the receipt. */
  readonly receipt?: JsonObject;
}

/**
 * Which node runs an open task and until when it counts as alive (docs/scale-out.md "Leases"):
 * the owner renews the lease while the task is open; another node may take over (and fail) a
 * task whose lease expired.
 */
export interface TaskLease {
  /** The owning node's id. */
  readonly owner: string;
  /** ms since the epoch. */
  readonly expiresAtMs: number;
}

/** What any node needs to fail a task with a receipt when the node running it is lost. */
export interface TaskFailureContext {
  /** The receipt body of a failed attempt (a `ReceiptBody` without id, timestamps, chain members). */
  readonly receipt: JsonObject;
  /** The wallet hold paying for the task (released when it fails). */
  readonly hold?: string;
}

/** A stored task: the wire form plus bookkeeping. */
export interface TaskRecord {
  readonly task: TaskJson;
  /** Number of writes so far (optimistic concurrency: updates name the version they replace). */
  readonly version: number;
  /** When the task expires if it is still open (ms since the epoch). */
  readonly expiresAtMs?: number;
  /**
   * The owner's lease: written by `create`, `renewLeases` and `claimExpired`, never by `update`
   * (which drops it when the task ends); reads return it while the task is open.
   */
  readonly lease?: TaskLease;
  /** Set at creation: how another node fails the task with a receipt if its node is lost. */
  readonly failure?: TaskFailureContext;
}

/** A {@link TaskStore.claimExpired} request. */
export interface TaskClaim {
  /** The claiming node: it becomes the owner of what it claims. */
  readonly owner: string;
  readonly nowMs: number;
  /** The claimant's lease on what it claims (so a claimant dying while failing them leaves them claimable again). */
  readonly leaseExpiresAtMs: number;
  /** Tasks running in the claimant's own process: never claimed. */
  readonly exclude?: readonly string[];
  /**
   * Claim every open task, leased or not, whatever its lease says. Only for a store no other
   * live node uses (a single node's restart recovery: every previous owner is gone).
   */
  readonly all?: boolean;
}

/** A task listing query. */
export interface TaskQuery {
  readonly principal_did?: string;
  readonly agent_did?: string;
  /** Only these states (all when empty or absent). */
  readonly status?: readonly TaskStatus[];
  /** Page cursor: the last task_id of the previous page (tasks are listed by task_id, i.e. creation order). */
  readonly after?: string;
  readonly limit: number;
}

/** One page of tasks. */
export interface TaskPage {
  readonly tasks: TaskRecord[];
  /** Cursor of the next page, when there is one. */
  readonly next?: string;
}

/**
 * Task storage. `create` and `update` also append `audit` to the audit log, atomically with the
 * task write (so every transition the task shows is in the log, §9.2).
 */
export interface TaskStore {
  /** Stores a new task (ERR_OAP_CONFLICT when the id exists). */
  create(record: TaskRecord, audit: AuditEntryInput): MaybePromise<void>;
  get(taskId: string): MaybePromise<TaskRecord | undefined>;
  /** Replaces the task iff its stored version is `expectedVersion`; false when it moved. */
  update(record: TaskRecord, expectedVersion: number, audit?: AuditEntryInput): MaybePromise<boolean>;
  list(query: TaskQuery): MaybePromise<TaskPage>;
  /** Tasks not in a terminal state (expiry sweep). */
  open(): MaybePromise<TaskRecord[]>;
  /**
   * Extends the leases of the open tasks in `taskIds` that `owner` still owns to
   * `leaseExpiresAtMs`; returns the ids renewed (a missing id was taken over, ended or erased).
   */
  renewLeases(owner: string, taskIds: readonly string[], leaseExpiresAtMs: number): MaybePromise<string[]>;
  /**
   * Atomically takes over the open tasks whose lease expired before `claim.nowMs` (with
   * `claim.all`: every open task) except `claim.exclude`, leasing them to `claim.owner`; returns
   * them (with the new lease). A compare-and-set per task: of several nodes claiming at once each
   * task goes to one.
   */
  claimExpired(claim: TaskClaim): MaybePromise<TaskRecord[]>;
  /** Erases a Principal's tasks (data deletion); returns how many. */
  deleteByPrincipal(principalDid: string): MaybePromise<number>;
}

/**
 * A stored task row back to its record: the JSON column plus the lease columns (the lease lives
 * in columns, so renewals and claims do not rewrite the JSON; SQL stores use this).
 */
export function taskRecordOfRow(recordJson: string, owner: string | null, leaseExpires: number | bigint | string | null): TaskRecord {
  const { lease: _stale, ...record } = JSON.parse(recordJson) as TaskRecord;
  return owner === null || leaseExpires === null ? record : { ...record, lease: { owner, expiresAtMs: Number(leaseExpires) } };
}

/** The JSON column of a task record (without its lease, which SQL stores keep in columns). */
export function taskRecordJson(record: TaskRecord): string {
  const { lease: _columns, ...rest } = record;
  return JSON.stringify(rest);
}

/**
 * The column values of a new task row, in the order both SQL stores insert them: task_id,
 * principal, agent, status, version, expires_at, record (JSON without the lease), owner,
 * lease_expires.
 */
export function taskRowValues(record: TaskRecord): [string, string, string, string, number, number | null, string, string | null, number | null] {
  return [
    record.task.task_id,
    record.task.principal_did,
    record.task.agent_did,
    record.task.status,
    record.version,
    record.expiresAtMs ?? null,
    taskRecordJson(record),
    record.lease?.owner ?? null,
    record.lease === undefined ? null : Math.trunc(record.lease.expiresAtMs),
  ];
}

/** In-memory {@link TaskStore} writing transitions to an {@link AuditLog}. */
export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #audit: AuditLog;

  constructor(audit: AuditLog = new MemoryAuditLog()) {
    this.#audit = audit;
  }

  async create(record: TaskRecord, audit: AuditEntryInput): Promise<void> {
    if (this.#tasks.has(record.task.task_id)) throw new OapError("ERR_OAP_CONFLICT", `task ${record.task.task_id} exists`);
    this.#tasks.set(record.task.task_id, structuredClone(record));
    await this.#audit.append(audit);
  }

  renewLeases(owner: string, taskIds: readonly string[], leaseExpiresAtMs: number): string[] {
    const renewed: string[] = [];
    for (const id of taskIds) {
      const r = this.#tasks.get(id);
      if (r === undefined || isTerminalTaskStatus(r.task.status) || r.lease?.owner !== owner) continue;
      this.#tasks.set(id, { ...r, lease: { owner, expiresAtMs: leaseExpiresAtMs } });
      renewed.push(id);
    }
    return renewed;
  }

  claimExpired(claim: TaskClaim): TaskRecord[] {
    const out: TaskRecord[] = [];
    const exclude = new Set(claim.exclude ?? []);
    for (const [id, r] of this.#tasks) {
      if (isTerminalTaskStatus(r.task.status) || exclude.has(id)) continue;
      if (claim.all !== true && (r.lease === undefined || r.lease.expiresAtMs >= claim.nowMs)) continue;
      const claimed: TaskRecord = { ...r, lease: { owner: claim.owner, expiresAtMs: claim.leaseExpiresAtMs } };
      this.#tasks.set(id, claimed);
      out.push(structuredClone(claimed));
    }
    return out;
  }

  get(taskId: string): TaskRecord | undefined {
    const r = this.#tasks.get(taskId);
    return r === undefined ? undefined : structuredClone(r);
  }

  async update(record: TaskRecord, expectedVersion: number, audit?: AuditEntryInput): Promise<boolean> {
    const current = this.#tasks.get(record.task.task_id);
    if (current === undefined || current.version !== expectedVersion) return false;
    const { lease: _ignored, ...rest } = structuredClone(record);
    this.#tasks.set(record.task.task_id, isTerminalTaskStatus(record.task.status) || current.lease === undefined ? rest : { ...rest, lease: current.lease });
    if (audit !== undefined) await this.#audit.append(audit);
    return true;
  }

  list(query: TaskQuery): TaskPage {
    const all = [...this.#tasks.values()]
      .filter((r) => query.principal_did === undefined || r.task.principal_did === query.principal_did)
      .filter((r) => query.agent_did === undefined || r.task.agent_did === query.agent_did)
      .filter((r) => query.status === undefined || query.status.length === 0 || query.status.includes(r.task.status))
      .filter((r) => query.after === undefined || r.task.task_id > query.after)
      .sort((a, b) => (a.task.task_id < b.task.task_id ? -1 : 1));
    const page = all.slice(0, query.limit).map((r) => structuredClone(r));
    const last = page.at(-1);
    return all.length > query.limit && last !== undefined ? { tasks: page, next: last.task.task_id } : { tasks: page };
  }

  open(): TaskRecord[] {
    return [...this.#tasks.values()].filter((r) => !isTerminalTaskStatus(r.task.status)).map((r) => structuredClone(r));
  }

  deleteByPrincipal(principalDid: string): number {
    let n = 0;
    for (const [id, r] of this.#tasks) {
      if (r.task.principal_did === principalDid) {
        this.#tasks.delete(id);
        n++;
      }
    }
    return n;
  }
}
