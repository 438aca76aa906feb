/**
 * §9.2 asynchronous tasks: creation (status `submitted`), the lifecycle transitions of
 * lifecycle.ts applied under a per-task lock and persisted with optimistic concurrency (every
 * transition appended to the task's history and to the Principal's audit log in the same
 * write), running the work in the background with cancellation, `awaiting_input` round trips,
 * expiry, and watching (the task after each transition, for WatchTask and SSE).
 *
 * Watchers in this process are woken by the transition itself; the store is also re-read every
 * `pollIntervalMs`, so a watcher sees transitions written by another process sharing the store.
 *
 * Ownership (docs/scale-out.md "Leases"): every task is created with a lease held by this
 * manager's `owner` (the node), renewed every third of `leaseMs` while the task is open here. A
 * node that dies stops renewing; {@link TaskManager.reclaim} on any other node (the sweeper runs
 * it every interval) takes over the tasks whose lease expired — a compare-and-set in the store —
 * and fails them (their work was in the dead process and cannot resume). A single node's restart
 * recovery is the same claim over every open task (`reclaim({all: true})`). A task whose lease
 * this node can no longer renew (taken over, or ended on another node: a cancel) has its local
 * work aborted.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import type { JsonObject, JsonValue } from "../../json/types.js";
import { isJsonObject } from "../../json/types.js";
import { defaultActionSchemaCache } from "../actions.js";
import { OapError } from "../errors.js";
import { clockMs, oapIds, rfc3339, systemClock, type OapClock, type OapIds } from "../util.js";
import { Channel } from "./channel.js";
import { assertTransition, isTerminalTaskStatus, TaskTransitionError, type TaskStatus } from "./lifecycle.js";
import type { AuditEntryInput, TaskFailureContext, TaskJson, TaskPage, TaskQuery, TaskRecord, TaskStore, TaskTransitionJson } from "./store.js";

/** Default task lease (ms); the owner renews it every third. */
export const OAP_DEFAULT_TASK_LEASE_MS = 30_000;

/** The members a finished task may gain (the signed response, the receipt, what it asks for). */
export type TaskPatch = Partial<Pick<TaskJson, "input_required" | "response" | "receipt">>;

/** What a task is created from. */
export interface TaskInit {
  readonly request_id: string;
  readonly action: string;
  readonly principal_did: string;
  readonly agent_did: string;
  /** RFC 3339 estimate (§9.2 `estimated_completion`). */
  readonly estimated_completion?: string;
  /** How another node fails the task with a receipt when this node is lost (stored with the task). */
  readonly failure?: TaskFailureContext;
}

/** What a task asks for in `awaiting_input` (`input_required`). */
export interface InputRequest {
  /** Human/agent readable question. */
  readonly prompt: string;
  /** JSON Schema (2020-12) the provided input must satisfy (closed like action inputs). */
  readonly schema?: JsonObject;
  /** Anything else the Tool wants to say (choices, defaults, …). */
  readonly [member: string]: JsonValue | undefined;
}

/** Handed to the work of a running task. */
export interface TaskRunContext {
  readonly taskId: string;
  /** Aborted when the task is canceled or expires. */
  readonly signal: AbortSignal;
  /** Moves the task to `awaiting_input` and resolves with the input a ProvideInput supplies. */
  requestInput(request: InputRequest): Promise<JsonValue>;
}

/** How the work of a task ended. `finalize` runs under the task lock, only if the transition is still allowed. */
export interface TaskCompletion {
  readonly status: "completed" | "failed";
  readonly reason?: string;
  /** Builds the final members (signed response, receipt). Not called when the task was canceled or expired meanwhile. */
  finalize(): Promise<{ readonly response?: JsonObject; readonly receipt?: JsonObject }>;
}

/** Options of {@link TaskManager}. */
export interface TaskManagerOptions {
  readonly store: TaskStore;
  readonly clock?: OapClock;
  readonly ids?: OapIds;
  /** The poll URL of a task (descriptor `poll_url`). */
  readonly pollUrl?: (taskId: string) => string;
  /** Descriptor `callback_url_supported` (webhook subscriptions). Default false. */
  readonly callbackUrlSupported?: boolean;
  /** An open task expires this long after creation. Default 24 h. */
  readonly ttlMs?: number;
  /** A task waiting for input expires this long after asking. Default 1 h. */
  readonly inputTimeoutMs?: number;
  /** Store re-read interval of watchers. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Called after every persisted transition (webhooks, logs); failures go to `onError`. */
  readonly onTransition?: (task: TaskJson, transition: TaskTransitionJson) => void | Promise<void>;
  readonly onError?: (error: unknown) => void;
  /** This node's id, the owner of the tasks it creates (default: a fresh `oap-node:<ULID>`). */
  readonly owner?: string;
  /** Task lease (ms, default {@link OAP_DEFAULT_TASK_LEASE_MS}), renewed every third while the task is open here. */
  readonly leaseMs?: number;
  /**
   * The members of a task taken over from a lost node (or left open by a previous run) as it is
   * failed: the signed error response and, when the record has a failure context, the receipt.
   */
  readonly failLost?: (record: TaskRecord, cause: LostTaskCause) => Promise<TaskPatch>;
}

/** Why {@link TaskManager.reclaim} fails a task: its node's lease expired, or the (single) node restarted. */
export type LostTaskCause = "node_lost" | "restart";

/** The transition reason of a reclaimed task, by cause. */
export const LOST_TASK_REASONS: Readonly<Record<LostTaskCause, string>> = Object.freeze({
  node_lost: "node lost: the node running the task stopped renewing its lease",
  restart: "interrupted: the Tool restarted before the task finished",
});

/** The task id's ULID (the last segment of `urn:oap:task:<ULID>`). */
export function taskUlid(taskId: string): string {
  return taskId.slice(taskId.lastIndexOf(":") + 1);
}

/** Creates, transitions, runs and watches tasks. */
export class TaskManager {
  readonly store: TaskStore;
  readonly #o: TaskManagerOptions;
  readonly #clock: OapClock;
  readonly #ids: OapIds;
  readonly #events = new EventEmitter();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #running = new Map<string, AbortController>();
  readonly #waiters = new Map<string, { resolve: (v: JsonValue) => void; reject: (e: unknown) => void }>();
  /** Open tasks this manager owns (created here, not ended): their leases are renewed. */
  readonly #held = new Set<string>();
  readonly #leaseMs: number;
  /** This node's id (the owner of its tasks' leases). */
  readonly owner: string;
  #sweeper: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: TaskManagerOptions) {
    this.#o = options;
    this.store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock);
    this.owner = options.owner ?? `oap-node:${this.#ids.ulid()}`;
    this.#leaseMs = Math.max(3, options.leaseMs ?? OAP_DEFAULT_TASK_LEASE_MS);
    this.#events.setMaxListeners(0);
  }

  /** The lease (ms) of the tasks this manager creates. */
  get leaseMs(): number {
    return this.#leaseMs;
  }

  async #locked<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(taskId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(taskId, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(taskId) === tail) this.#locks.delete(taskId);
    }
  }

  #audit(task: TaskJson, t: TaskTransitionJson, from: TaskStatus | null): AuditEntryInput {
    const data: JsonObject = { task_id: task.task_id, seq: t.seq, from, to: t.status, action: task.action, agent_did: task.agent_did, request_id: task.request_id };
    if (t.reason !== undefined) data["reason"] = t.reason;
    return { principal_did: task.principal_did, at: t.at, kind: "task_transition", data };
  }

  /** Creates a task in `submitted` (persisted, audited). */
  async create(init: TaskInit): Promise<TaskJson> {
    const taskId = this.#ids.taskId();
    const now = this.#clock();
    const at = rfc3339(now);
    const first: TaskTransitionJson = { seq: 1, status: "submitted", at };
    const poll = this.#o.pollUrl?.(taskId);
    const task: TaskJson = {
      task_id: taskId,
      status: "submitted",
      ...(poll === undefined ? {} : { poll_url: poll }),
      callback_url_supported: this.#o.callbackUrlSupported === true,
      ...(init.estimated_completion === undefined ? {} : { estimated_completion: init.estimated_completion }),
      request_id: init.request_id,
      action: init.action,
      principal_did: init.principal_did,
      agent_did: init.agent_did,
      created_at: at,
      updated_at: at,
      transitions: [first],
    };
    const record: TaskRecord = {
      task,
      version: 1,
      expiresAtMs: now.getTime() + (this.#o.ttlMs ?? 86_400_000),
      lease: { owner: this.owner, expiresAtMs: now.getTime() + this.#leaseMs },
      ...(init.failure === undefined ? {} : { failure: init.failure }),
    };
    await this.store.create(record, this.#audit(task, first, null));
    this.#hold(taskId);
    await this.#after(task, first);
    return task;
  }

  #hold(taskId: string): void {
    this.#held.add(taskId);
    if (this.#heartbeat !== undefined) return;
    this.#heartbeat = setInterval(() => void this.renewLeases().catch((e: unknown) => this.#o.onError?.(e)), Math.max(1, Math.floor(this.#leaseMs / 3)));
    this.#heartbeat.unref();
  }

  #unhold(taskId: string): void {
    this.#held.delete(taskId);
    if (this.#held.size === 0 && this.#heartbeat !== undefined) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  /**
   * Renews the leases of the open tasks this node owns (the heartbeat does this every third of
   * the lease). A task whose lease could not be renewed was taken over or ended on another node:
   * its local work is aborted. Returns the ids lost.
   */
  async renewLeases(): Promise<string[]> {
    const ids = [...this.#held];
    if (ids.length === 0) return [];
    const renewed = new Set(await this.store.renewLeases(this.owner, ids, clockMs(this.#clock) + this.#leaseMs));
    const lost = ids.filter((id) => !renewed.has(id) && this.#held.has(id));
    for (const id of lost) {
      this.#unhold(id);
      const gone = new OapError("ERR_OAP_CONFLICT", `task ${id} is no longer owned by this node (taken over or ended elsewhere)`, { details: { task_id: id } });
      this.#running.get(id)?.abort(gone);
      this.#running.delete(id);
      const w = this.#waiters.get(id);
      this.#waiters.delete(id);
      w?.reject(gone);
    }
    return lost;
  }

  /**
   * Takes over the open tasks whose owner's lease expired (with `all`: every open task not
   * owned here — only for a store no other live node uses, i.e. a single node's restart) and
   * fails them with `failLost`'s members. Returns the failed tasks.
   */
  async reclaim(options: { readonly all?: boolean } = {}): Promise<TaskJson[]> {
    const now = clockMs(this.#clock);
    const claimed = await this.store.claimExpired({ owner: this.owner, nowMs: now, leaseExpiresAtMs: now + this.#leaseMs, exclude: [...this.#held], ...(options.all === true ? { all: true } : {}) });
    const cause: LostTaskCause = options.all === true ? "restart" : "node_lost";
    const out: TaskJson[] = [];
    for (const r of claimed) {
      try {
        const failLost = this.#o.failLost;
        out.push(await this.transition(r.task.task_id, "failed", { reason: LOST_TASK_REASONS[cause], ...(failLost === undefined ? {} : { patch: () => failLost(r, cause) }) }));
      } catch (e) {
        if (!(e instanceof TaskTransitionError)) this.#o.onError?.(e);
      }
    }
    return out;
  }

  /** Makes the leases of the tasks this node owns expire now (graceful shutdown: another node may fail them at once). */
  async releaseLeases(): Promise<void> {
    const ids = [...this.#held];
    if (ids.length > 0) await this.store.renewLeases(this.owner, ids, clockMs(this.#clock) - 1);
  }

  async #after(task: TaskJson, t: TaskTransitionJson): Promise<void> {
    this.#events.emit(task.task_id, task);
    try {
      await this.#o.onTransition?.(task, t);
    } catch (e) {
      this.#o.onError?.(e);
    }
  }

  /** The task, or ERR_OAP_NOT_FOUND (404). */
  async get(taskId: string): Promise<TaskJson> {
    const r = await this.store.get(taskId);
    if (r === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown task ${taskId}`, { details: { task_id: taskId } });
    return r.task;
  }

  /** One page of tasks. */
  async list(query: TaskQuery): Promise<TaskPage> {
    return this.store.list(query);
  }

  /**
   * Moves a task to `to` (TaskTransitionError when lifecycle.ts does not allow it). `patch`
   * members are set on the task; a function is called under the lock once the transition is
   * known to be allowed (e.g. to issue the receipt only then).
   */
  async transition(
    taskId: string,
    to: TaskStatus,
    options: {
      readonly reason?: string;
      readonly patch?: TaskPatch | (() => Promise<TaskPatch>);
      readonly expiresAtMs?: number;
    } = {},
  ): Promise<TaskJson> {
    const result = await this.#locked(taskId, async () => {
      let patch: TaskPatch | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        const rec = await this.store.get(taskId);
        if (rec === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown task ${taskId}`, { details: { task_id: taskId } });
        const from = rec.task.status;
        assertTransition(taskId, from, to);
        if (patch === undefined) patch = typeof options.patch === "function" ? await options.patch() : (options.patch ?? {});
        const at = rfc3339(this.#clock());
        const t: TaskTransitionJson = options.reason === undefined ? { seq: rec.task.transitions.length + 1, status: to, at } : { seq: rec.task.transitions.length + 1, status: to, at, reason: options.reason };
        const { input_required: _dropped, ...rest } = rec.task;
        const base = to === "awaiting_input" ? rec.task : (rest as TaskJson);
        const task: TaskJson = { ...base, ...patch, status: to, updated_at: at, transitions: [...rec.task.transitions, t] };
        const expiresAtMs = isTerminalTaskStatus(to) ? undefined : (options.expiresAtMs ?? rec.expiresAtMs);
        const failure = rec.failure === undefined || isTerminalTaskStatus(to) ? {} : { failure: rec.failure };
        const next: TaskRecord = expiresAtMs === undefined ? { task, version: rec.version + 1, ...failure } : { task, version: rec.version + 1, expiresAtMs, ...failure };
        if (await this.store.update(next, rec.version, this.#audit(task, t, from))) return { task, t };
      }
      throw new OapError("ERR_OAP_CONFLICT", `task ${taskId} keeps changing; try again`, { details: { task_id: taskId, retry_after_seconds: 1 } });
    });
    if (isTerminalTaskStatus(to)) {
      this.#unhold(taskId);
      this.#running.get(taskId)?.abort(new OapError("ERR_OAP_CONFLICT", `task ${taskId} is ${to}`));
      this.#running.delete(taskId);
      const w = this.#waiters.get(taskId);
      this.#waiters.delete(taskId);
      w?.reject(new OapError("ERR_OAP_CONFLICT", `task ${taskId} is ${to}`));
    }
    await this.#after(result.task, result.t);
    return result.task;
  }

  /**
   * Runs `work` in the background: accepted → working, then the completion's transition
   * (finalize under the lock). A work that throws fails the task with reason "internal error".
   */
  run(taskId: string, work: (ctx: TaskRunContext) => Promise<TaskCompletion>): void {
    const controller = new AbortController();
    this.#running.set(taskId, controller);
    const ctx: TaskRunContext = {
      taskId,
      signal: controller.signal,
      requestInput: (request) => this.#requestInput(taskId, request, controller.signal),
    };
    void (async () => {
      try {
        await this.transition(taskId, "working");
        const done = await work(ctx);
        if (controller.signal.aborted) return;
        await this.transition(taskId, done.status, { ...(done.reason === undefined ? {} : { reason: done.reason }), patch: () => done.finalize() });
      } catch (e) {
        if (e instanceof TaskTransitionError || controller.signal.aborted) return;
        this.#o.onError?.(e);
        await this.transition(taskId, "failed", { reason: "internal error" }).catch(() => undefined);
      } finally {
        if (this.#running.get(taskId) === controller) this.#running.delete(taskId);
      }
    })();
  }

  async #requestInput(taskId: string, request: InputRequest, signal: AbortSignal): Promise<JsonValue> {
    if (signal.aborted) throw signal.reason;
    const waiting = new Promise<JsonValue>((resolve, reject) => this.#waiters.set(taskId, { resolve, reject }));
    try {
      await this.transition(taskId, "awaiting_input", {
        patch: { input_required: request as unknown as JsonValue },
        expiresAtMs: clockMs(this.#clock) + (this.#o.inputTimeoutMs ?? 3_600_000),
      });
    } catch (e) {
      this.#waiters.delete(taskId);
      throw e;
    }
    return waiting;
  }

  /**
   * ProvideInput: the task must be `awaiting_input` (TaskTransitionError otherwise); the input
   * must satisfy `input_required.schema` (400 ERR_OAP_INPUT_INVALID); then → working and the
   * work resumes with it.
   */
  async provideInput(taskId: string, input: JsonValue): Promise<TaskJson> {
    const current = await this.get(taskId);
    if (current.status !== "awaiting_input") throw new TaskTransitionError(taskId, current.status, "working");
    const required = current.input_required;
    const schema = isJsonObject(required) && isJsonObject(required["schema"]) ? required["schema"] : undefined;
    if (schema !== undefined) {
      const validate = defaultActionSchemaCache.get(schema, true);
      if (!validate(input)) {
        const issues = (validate.errors ?? []).map((e) => ({ pointer: e.instancePath, message: e.message ?? e.keyword }));
        throw new OapError("ERR_OAP_INPUT_INVALID", `the input does not match what task ${taskId} asked for`, { details: { issues } });
      }
    }
    const waiter = this.#waiters.get(taskId);
    if (waiter === undefined) throw new OapError("ERR_OAP_CONFLICT", `task ${taskId} is not waiting in this process`, { details: { task_id: taskId } });
    const task = await this.transition(taskId, "working", { reason: "input provided", expiresAtMs: clockMs(this.#clock) + (this.#o.ttlMs ?? 86_400_000) });
    this.#waiters.delete(taskId);
    waiter.resolve(input);
    return task;
  }

  /** Cancels a task (TaskTransitionError when it is terminal); the running work is aborted. */
  async cancel(taskId: string, reason = "canceled by the agent"): Promise<TaskJson> {
    return this.transition(taskId, "canceled", { reason });
  }

  /**
   * Watches a task: yields `{seq, task}` whenever the task has a transition later than
   * `afterSeq` (the current state first), and ends after a terminal state or when `signal` aborts.
   * Intermediate states may be coalesced: every snapshot carries the full `transitions` history.
   */
  async *watch(taskId: string, afterSeq = 0, signal?: AbortSignal): AsyncGenerator<{ readonly seq: number; readonly task: TaskJson }> {
    const ch = new Channel<TaskJson>();
    const listener = (t: TaskJson): void => ch.push(t);
    this.#events.on(taskId, listener);
    const poll = setInterval(() => {
      void Promise.resolve(this.store.get(taskId)).then(
        (r) => r !== undefined && ch.push(r.task),
        () => undefined,
      );
    }, this.#o.pollIntervalMs ?? 1000);
    poll.unref();
    const abort = (): void => ch.end();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      let last = afterSeq;
      const first = await this.get(taskId);
      ch.push(first);
      for await (const task of ch) {
        const seq = task.transitions.length;
        if (seq > last) {
          last = seq;
          yield { seq, task };
        }
        if (isTerminalTaskStatus(task.status) && seq <= last) return;
      }
    } finally {
      clearInterval(poll);
      signal?.removeEventListener("abort", abort);
      this.#events.off(taskId, listener);
    }
  }

  /** Expires open tasks whose time is up (at the clock's now); returns them. */
  async sweep(): Promise<TaskJson[]> {
    const now = clockMs(this.#clock);
    const out: TaskJson[] = [];
    for (const r of await this.store.open()) {
      if (r.expiresAtMs === undefined || r.expiresAtMs > now) continue;
      try {
        out.push(await this.transition(r.task.task_id, "expired", { reason: r.task.status === "awaiting_input" ? "no input within the timeout" : "time to live exceeded" }));
      } catch (e) {
        if (!(e instanceof TaskTransitionError)) this.#o.onError?.(e);
      }
    }
    return out;
  }

  /**
   * Runs {@link sweep} and {@link reclaim} (tasks of lost nodes) every `intervalMs` (unref'd
   * timer; default 1 s, or half the lease when that is shorter) until {@link close}.
   */
  startSweeper(intervalMs = Math.min(1000, Math.max(10, Math.floor(this.#leaseMs / 2)))): void {
    if (this.#sweeper !== undefined) return;
    let busy = false;
    this.#sweeper = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.sweep()
        .then(() => this.reclaim())
        .catch((e: unknown) => this.#o.onError?.(e))
        .finally(() => (busy = false));
    }, intervalMs);
    this.#sweeper.unref();
  }

  /** True while the work of `taskId` runs in this process. */
  isRunning(taskId: string): boolean {
    return this.#running.has(taskId);
  }

  /** True while this node owns the open task `taskId` (renews its lease). */
  holds(taskId: string): boolean {
    return this.#held.has(taskId);
  }

  /** Stops the sweeper and the lease heartbeat and aborts running work (tasks stay as stored; their leases lapse). */
  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#held.clear();
    for (const c of this.#running.values()) c.abort(new OapError("ERR_OAP_MAINTENANCE", "the Tool is shutting down"));
    this.#running.clear();
  }
}
