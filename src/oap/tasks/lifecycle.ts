/**
 * The §9.2 task lifecycle: eight states and the transitions agentwire allows between them. The
 * spec lists the states and says transitions are append only; which transitions are legal is
 * agentwire's decision (docs/oap-server.md, "Task lifecycle"):
 *
 * ```
 * submitted      → accepted | canceled | failed | expired
 * accepted       → working | canceled | failed | expired
 * working        → awaiting_input | completed | failed | canceled | expired
 * awaiting_input → working | canceled | failed | expired
 * completed, failed, canceled, expired: terminal (no transition out)
 * ```
 *
 * Any other change is a {@link TaskTransitionError} (409 conflict on the wire).
 *
 * @module
 */
import { OapError } from "../errors.js";

/** §9.2 task states. */
export type TaskStatus = "submitted" | "accepted" | "working" | "awaiting_input" | "completed" | "failed" | "canceled" | "expired";

/** Every state, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = Object.freeze(["submitted", "accepted", "working", "awaiting_input", "completed", "failed", "canceled", "expired"]);

/** States no transition leaves. */
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = Object.freeze(["completed", "failed", "canceled", "expired"]);

/** The allowed transitions, by source state. */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = Object.freeze({
  submitted: Object.freeze(["accepted", "canceled", "failed", "expired"] as TaskStatus[]),
  accepted: Object.freeze(["working", "canceled", "failed", "expired"] as TaskStatus[]),
  working: Object.freeze(["awaiting_input", "completed", "failed", "canceled", "expired"] as TaskStatus[]),
  awaiting_input: Object.freeze(["working", "canceled", "failed", "expired"] as TaskStatus[]),
  completed: Object.freeze([] as TaskStatus[]),
  failed: Object.freeze([] as TaskStatus[]),
  canceled: Object.freeze([] as TaskStatus[]),
  expired: Object.freeze([] as TaskStatus[]),
});

/** True for a §9.2 state name. */
export function isTaskStatus(s: unknown): s is TaskStatus {
  return typeof s === "string" && (TASK_STATUSES as readonly string[]).includes(s);
}

/** True for completed, failed, canceled and expired. */
export function isTerminalTaskStatus(s: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.includes(s);
}

/** True when `from → to` is allowed. */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** A refused task transition: 409 conflict (ERR_OAP_CONFLICT) naming the states and what is allowed. */
export class TaskTransitionError extends OapError {
  readonly taskId: string;
  readonly from: TaskStatus;
  readonly to: TaskStatus;
  readonly allowed: readonly TaskStatus[];

  constructor(taskId: string, from: TaskStatus, to: TaskStatus) {
    const allowed = TASK_TRANSITIONS[from];
    super("ERR_OAP_CONFLICT", `task ${taskId} cannot go from ${from} to ${to}${allowed.length === 0 ? ` (${from} is terminal)` : ` (allowed: ${allowed.join(", ")})`}`, {
      details: { task_id: taskId, from, to, allowed: [...allowed] },
    });
    this.taskId = taskId;
    this.from = from;
    this.to = to;
    this.allowed = allowed;
  }
}

/** Throws {@link TaskTransitionError} unless `from → to` is allowed. */
export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw new TaskTransitionError(taskId, from, to);
}
