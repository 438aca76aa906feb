/**
 * The fuzz harness shared by every test/fuzz/*.test.ts file (docs/fuzzing.md).
 *
 * - Budget: `FUZZ_RUNS` runs per property (default {@link DEFAULT_RUNS}, small enough for
 *   `npm test`); a property may scale it with a `weight` (expensive targets such as re-signing
 *   Regulated envelopes with ML-DSA-65 run fewer cases, cheap byte parsers more).
 * - Reproducibility: `FUZZ_SEED` is the base seed; each property runs with
 *   `seed = hash(FUZZ_SEED, property name)`, so one property can be replayed on its own
 *   (`FUZZ_SEED=… npx vitest run test/fuzz -t "<name>"`). fast-check prints the seed and the
 *   counter-example path of a failure.
 * - Hangs: every case is timed; a case slower than `FUZZ_CASE_MS` (default 2000 ms) fails the
 *   property (async properties also get fast-check's per-run `timeout`). A synchronous infinite
 *   loop cannot be interrupted in-process: `npm run fuzz` (test/fuzz/run.mjs) has a watchdog.
 * - Accounting: each property counts the cases it really executed and, with `FUZZ_REPORT=<dir>`,
 *   appends one JSON line per property there (test/fuzz/run.mjs sums them).
 *
 * The oracle is {@link typedOrValue}: an input either yields a value or throws an
 * {@link AgentwireError} subclass whose `code` is a stable `ERR_…` string. Anything else thrown
 * (TypeError, RangeError from a blown stack, a library's own Error, a string) fails the case.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { expect, it } from "vitest";
import { AgentwireError } from "../../src/errors.js";

/** Runs per property in `npm test`. */
export const DEFAULT_RUNS = 200;
/** Base seed when `FUZZ_SEED` is not set (fixed, so `npm test` is deterministic). */
export const DEFAULT_SEED = 20260528;

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

export const FUZZ_RUNS = Math.max(1, intEnv("FUZZ_RUNS", DEFAULT_RUNS));
export const FUZZ_SEED = intEnv("FUZZ_SEED", DEFAULT_SEED);
/** A single case slower than this (ms) is reported as a hang. */
export const FUZZ_CASE_MS = Math.max(1, intEnv("FUZZ_CASE_MS", 2000));
/** Vitest timeout of one property: generous, the per-case budget is what detects hangs. */
const TEST_TIMEOUT_MS = Math.max(120_000, FUZZ_RUNS * 200);

/** FNV-1a of the property name, combined with the base seed (a bijection of the seed for each name). */
export function seedFor(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of name) {
    h ^= ch.codePointAt(0) as number;
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ Math.imul(FUZZ_SEED | 0, 0x9e3779b1)) | 0;
}

/** Runs of a property with weight `w`. */
export function runsFor(weight = 1): number {
  return Math.max(1, Math.ceil(FUZZ_RUNS * weight));
}

const STABLE_CODE = /^ERR_[A-Z0-9_]+$/;

/** A failure of the oracle (not an error of the code under test). */
export class FuzzFinding extends Error {}

function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}\n${e.stack ?? ""}`;
  return `non-Error value ${typeof e}: ${String(e)}`;
}

/** Throws a {@link FuzzFinding} unless `e` is an AgentwireError with a stable code. */
export function assertTyped(e: unknown, where: string): AgentwireError {
  if (!(e instanceof AgentwireError)) throw new FuzzFinding(`${where}: untyped error ${describeThrown(e)}`);
  if (typeof e.code !== "string" || !STABLE_CODE.test(e.code)) throw new FuzzFinding(`${where}: AgentwireError without a stable code: ${String(e.code)}`);
  return e;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AgentwireError };

/** Runs `fn`: a value, or a typed error; anything else is a {@link FuzzFinding}. */
export function typedOrValue<T>(where: string, fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof FuzzFinding) throw e;
    return { ok: false, error: assertTyped(e, where) };
  }
}

/** {@link typedOrValue} for async functions (a rejection is judged like a throw). */
export async function typedOrValueAsync<T>(where: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof FuzzFinding) throw e;
    return { ok: false, error: assertTyped(e, where) };
  }
}

/** For functions documented never to throw on bad input: any throw is a finding. */
export function neverThrows<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FuzzFinding) throw e;
    throw new FuzzFinding(`${where}: threw although documented not to: ${describeThrown(e)}`);
  }
}

/** Async {@link neverThrows}. */
export async function neverThrowsAsync<T>(where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FuzzFinding) throw e;
    throw new FuzzFinding(`${where}: rejected although documented not to: ${describeThrown(e)}`);
  }
}

interface Stats {
  cases: number;
  maxMs: number;
  totalMs: number;
  tally: Map<string, number>;
}

let current: Stats | undefined;

/**
 * Counts an outcome class of the running property (e.g. `reject:signatures`): printed with
 * `FUZZ_VERBOSE=1` and written to the report, to show how deep the mutations reach.
 */
export function tally(key: string): void {
  if (current !== undefined) current.tally.set(key, (current.tally.get(key) ?? 0) + 1);
}

function newStats(): Stats {
  const s: Stats = { cases: 0, maxMs: 0, totalMs: 0, tally: new Map() };
  current = s;
  return s;
}

function slow(name: string, ms: number): FuzzFinding {
  return new FuzzFinding(`${name}: one case took ${ms.toFixed(0)} ms (> FUZZ_CASE_MS=${FUZZ_CASE_MS}): a hang or super-linear blow-up`);
}

function report(file: string, name: string, stats: Stats, runs: number, seed: number, wallMs: number): void {
  const tallies = Object.fromEntries([...stats.tally].sort((a, b) => b[1] - a[1]));
  if (process.env["FUZZ_VERBOSE"] === "1") console.log(`${name}: ${stats.cases} cases, max ${stats.maxMs.toFixed(0)} ms, checks ${stats.totalMs.toFixed(0)} ms of ${wallMs.toFixed(0)} ms`, tallies);
  const dir = process.env["FUZZ_REPORT"];
  if (dir === undefined || dir === "") return;
  mkdirSync(dir, { recursive: true });
  const line = JSON.stringify({ file, name, cases: stats.cases, runs, seed, maxCaseMs: Math.round(stats.maxMs), wallMs: Math.round(wallMs), tally: tallies });
  appendFileSync(join(dir, `${basename(file)}.${process.pid}.jsonl`), `${line}\n`);
}

export interface FuzzOptions {
  /** Multiplier on FUZZ_RUNS for this property (default 1). */
  readonly weight?: number;
}

/** The built-in prototypes a parser fed hostile keys ("__proto__", "constructor") could pollute. */
const PROTOTYPES: readonly object[] = [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype, Boolean.prototype];
const PROTOTYPE_KEYS = PROTOTYPES.map((p) => new Set(Reflect.ownKeys(p)));

/**
 * Checked after every case: no member was added to a built-in prototype (prototype pollution). A
 * finding is cleaned up before it is thrown, so fast-check's shrinking sees a clean process.
 */
function checkPrototypes(name: string): void {
  PROTOTYPES.forEach((proto, i) => {
    const added = Reflect.ownKeys(proto).filter((k) => !(PROTOTYPE_KEYS[i] as Set<string | symbol>).has(k));
    if (added.length === 0) return;
    for (const k of added) delete (proto as Record<string | symbol, unknown>)[k];
    throw new Error(`${name}: prototype pollution: ${added.map(String).join(", ")} added to ${(proto.constructor as { name: string }).name}.prototype`);
  });
}

function params(name: string, weight: number | undefined): { seed: number; numRuns: number } {
  return { seed: seedFor(name), numRuns: runsFor(weight) };
}

/**
 * Declares a synchronous fuzz property as a vitest test: `check` runs on `runs` generated
 * inputs; it fails on a {@link FuzzFinding}, any other assertion, or a slow case.
 */
export function fuzz<T>(file: string, name: string, arb: fc.Arbitrary<T>, check: (input: T) => void, options: FuzzOptions = {}): void {
  it(
    name,
    () => {
      const stats = newStats();
      const p = params(name, options.weight);
      const started = performance.now();
      fc.assert(
        fc.property(arb, (input) => {
          const t0 = performance.now();
          check(input);
          checkPrototypes(name);
          const ms = performance.now() - t0;
          stats.cases++;
          stats.totalMs += ms;
          if (ms > stats.maxMs) stats.maxMs = ms;
          if (ms > FUZZ_CASE_MS) throw slow(name, ms);
        }),
        { ...p, endOnFailure: false },
      );
      report(file, name, stats, p.numRuns, p.seed, performance.now() - started);
      expect(stats.cases).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
}

/** The async form of {@link fuzz} (fast-check's per-run `timeout` also guards pending promises). */
export function fuzzAsync<T>(file: string, name: string, arb: fc.Arbitrary<T>, check: (input: T) => Promise<void>, options: FuzzOptions = {}): void {
  it(
    name,
    async () => {
      const stats = newStats();
      const p = params(name, options.weight);
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(arb, async (input) => {
          const t0 = performance.now();
          await check(input);
          checkPrototypes(name);
          const ms = performance.now() - t0;
          stats.cases++;
          stats.totalMs += ms;
          if (ms > stats.maxMs) stats.maxMs = ms;
          if (ms > FUZZ_CASE_MS) throw slow(name, ms);
        }),
        { ...p, timeout: FUZZ_CASE_MS * 5, endOnFailure: false },
      );
      report(file, name, stats, p.numRuns, p.seed, performance.now() - started);
      expect(stats.cases).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
}
