/**
 * State-based CRDTs for the §15.1 `crdt` concurrency mode ("conflict free replicated data types,
 * no explicit locking required"): grow-only and positive-negative counters and a last-writer-wins
 * register. Every state is plain JSON; `merge` is commutative, associative and idempotent, so
 * replicas converge whatever the order and repetition of merges.
 *
 * @module
 */
import type { JsonValue } from "../../json/types.js";
import { OapError } from "../errors.js";

/** G-Counter: one non-negative count per replica. */
export type GCounter = Readonly<Record<string, number>>;

/** An empty G-Counter. */
export function gCounter(): GCounter {
  return {};
}

/** Adds `by` (≥ 0) for `replica`. */
export function gIncrement(c: GCounter, replica: string, by = 1): GCounter {
  if (!Number.isSafeInteger(by) || by < 0) throw new OapError("ERR_OAP_INPUT_INVALID", "a G-Counter only grows by a non-negative integer");
  return { ...c, [replica]: (c[replica] ?? 0) + by };
}

/** The counter's value. */
export function gValue(c: GCounter): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

/** Pointwise maximum. */
export function gMerge(a: GCounter, b: GCounter): GCounter {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

/** PN-Counter: increments and decrements as two G-Counters. */
export interface PNCounter {
  readonly p: GCounter;
  readonly n: GCounter;
}

export function pnCounter(): PNCounter {
  return { p: {}, n: {} };
}

/** Adds `by` (may be negative) for `replica`. */
export function pnAdd(c: PNCounter, replica: string, by: number): PNCounter {
  if (!Number.isSafeInteger(by)) throw new OapError("ERR_OAP_INPUT_INVALID", "a PN-Counter changes by an integer");
  return by >= 0 ? { p: gIncrement(c.p, replica, by), n: c.n } : { p: c.p, n: gIncrement(c.n, replica, -by) };
}

export function pnValue(c: PNCounter): number {
  return gValue(c.p) - gValue(c.n);
}

export function pnMerge(a: PNCounter, b: PNCounter): PNCounter {
  return { p: gMerge(a.p, b.p), n: gMerge(a.n, b.n) };
}

/** LWW-Register: the value with the greatest (timestamp, replica) wins. */
export interface LwwRegister<T extends JsonValue = JsonValue> {
  readonly value: T | null;
  /** Logical or physical timestamp (e.g. a Lamport time or milliseconds). */
  readonly timestamp: number;
  readonly replica: string;
}

export function lwwRegister<T extends JsonValue>(replica: string): LwwRegister<T> {
  return { value: null, timestamp: 0, replica };
}

/** Writes `value` at `timestamp` from `replica` (ignored when older than the current state). */
export function lwwSet<T extends JsonValue>(r: LwwRegister<T>, value: T, timestamp: number, replica: string): LwwRegister<T> {
  return lwwMerge(r, { value, timestamp, replica });
}

/** The later write; equal timestamps are ordered by replica id (lexicographically greater wins). */
export function lwwMerge<T extends JsonValue>(a: LwwRegister<T>, b: LwwRegister<T>): LwwRegister<T> {
  if (b.timestamp !== a.timestamp) return b.timestamp > a.timestamp ? b : a;
  return b.replica > a.replica ? b : a;
}
