/**
 * Time Locks (OAP-CORE-1.0 §22.4): an Action above a Principal-defined threshold is recorded but
 * its execution is delayed by a configurable interval, during which the Principal may cancel it
 * without cost.
 *
 * {@link TimeLockQueue.submit} returns `immediate` (below every threshold) or a `locked` entry
 * with `execute_after`; {@link TimeLockQueue.cancel} (the Principal, before release) and
 * {@link TimeLockQueue.release} (the executor, once due) are each allowed once per lock, so a
 * locked action runs at most once and never after a cancellation.
 *
 * @module
 */
import type { JsonValue } from "../../json/types.js";
import { compareMoney, type Money } from "../commerce/money.js";
import { OapError } from "../errors.js";
import { clockMs, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

/** A Principal's time-lock rule. */
export interface TimeLockRule {
  readonly id: string;
  /** Lock actions whose amount exceeds this (same currency; another currency is locked too). */
  readonly threshold: Money;
  readonly delay_seconds: number;
  /** Only these actions (all when absent). */
  readonly actions?: readonly string[];
}

/** A locked action. */
export interface TimeLock {
  readonly lock_id: string;
  readonly principal_did: string;
  readonly action: string;
  readonly amount?: Money;
  readonly rule_id: string;
  readonly created_at: string;
  readonly execute_after: string;
  status: "locked" | "canceled" | "released";
  canceled_at?: string;
  released_at?: string;
  readonly payload?: JsonValue;
}

/** What {@link TimeLockQueue.submit} decided. */
export type TimeLockDecision = { readonly status: "immediate" } | { readonly status: "locked"; readonly lock: TimeLock };

/** Options of {@link TimeLockQueue}. */
export interface TimeLockQueueOptions {
  /** The Principal's rules. */
  readonly rules: (principalDid: string) => readonly TimeLockRule[];
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** §22.4 time locks (in memory). */
export class TimeLockQueue {
  readonly #o: TimeLockQueueOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #locks = new Map<string, TimeLock>();

  constructor(options: TimeLockQueueOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /** The longest-delay rule that applies to the action, if any. */
  applicableRule(principalDid: string, action: string, amount?: Money): TimeLockRule | undefined {
    if (amount === undefined) return undefined;
    let best: TimeLockRule | undefined;
    for (const r of this.#o.rules(principalDid)) {
      if (r.actions !== undefined && !r.actions.includes(action)) continue;
      const above = r.threshold.currency !== amount.currency || compareMoney(amount, r.threshold) > 0;
      if (above && (best === undefined || r.delay_seconds > best.delay_seconds)) best = r;
    }
    return best;
  }

  /** Records the action; locks it when a rule applies. */
  submit(input: { readonly principal_did: string; readonly action: string; readonly amount?: Money; readonly payload?: JsonValue }): TimeLockDecision {
    const rule = this.applicableRule(input.principal_did, input.action, input.amount);
    if (rule === undefined) return { status: "immediate" };
    const now = clockMs(this.#clock);
    const lock: TimeLock = {
      lock_id: `urn:oap:timelock:${oapUlid(now, this.#random)}`,
      principal_did: input.principal_did,
      action: input.action,
      ...(input.amount === undefined ? {} : { amount: input.amount }),
      rule_id: rule.id,
      created_at: rfc3339(new Date(now)),
      execute_after: rfc3339(new Date(now + rule.delay_seconds * 1000)),
      status: "locked",
      ...(input.payload === undefined ? {} : { payload: structuredClone(input.payload) }),
    };
    this.#locks.set(lock.lock_id, lock);
    return { status: "locked", lock: { ...lock } };
  }

  #get(id: string): TimeLock {
    const lock = this.#locks.get(id);
    if (lock === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown time lock ${id}`);
    return lock;
  }

  /** The Principal cancels before release (no cost). 409 once released or canceled. */
  cancel(lockId: string, principalDid: string): TimeLock {
    const lock = this.#get(lockId);
    if (lock.principal_did !== principalDid) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "only the Principal may cancel a time-locked action");
    if (lock.status !== "locked") throw new OapError("ERR_OAP_CONFLICT", `the time lock is already ${lock.status}`, { details: { status: lock.status } });
    lock.status = "canceled";
    lock.canceled_at = rfc3339(this.#clock());
    return { ...lock };
  }

  /** Locks whose delay has passed (ready to release). */
  due(): TimeLock[] {
    const now = clockMs(this.#clock);
    return [...this.#locks.values()].filter((l) => l.status === "locked" && Date.parse(l.execute_after) <= now).map((l) => ({ ...l }));
  }

  /** The executor takes a due lock (once). 409 before `execute_after`, after a cancel, or twice. */
  release(lockId: string): TimeLock {
    const lock = this.#get(lockId);
    if (lock.status !== "locked") throw new OapError("ERR_OAP_CONFLICT", `the time lock is ${lock.status}`, { details: { status: lock.status } });
    if (Date.parse(lock.execute_after) > clockMs(this.#clock)) {
      throw new OapError("ERR_OAP_CONFLICT", `the action is time-locked until ${lock.execute_after}`, { details: { execute_after: lock.execute_after } });
    }
    lock.status = "released";
    lock.released_at = rfc3339(this.#clock());
    return { ...lock };
  }

  get(lockId: string): TimeLock | undefined {
    const l = this.#locks.get(lockId);
    return l === undefined ? undefined : { ...l };
  }
}
