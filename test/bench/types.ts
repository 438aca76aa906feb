/**
 * Shared shape of `npm run bench` modules. Each module under test/bench/ exports
 * `bench(): Promise<BenchResult[]>`; run.ts prints them as a table with ratios against their
 * baselines and the targets. Benchmarks print figures; tests never assert wall-clock time.
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface BenchResult {
  /** Group heading, e.g. "canonical CBOR (4 KB envelope)". */
  readonly group: string;
  /** What was measured, e.g. "agentwire encodeCanonical". */
  readonly name: string;
  /** Operations per second (median of the sampled rounds). */
  readonly opsPerSec: number;
  /** Name of another result in the same group this one is compared against. */
  readonly baseline?: string;
  /** Minimum acceptable opsPerSec / baseline.opsPerSec, printed as PASS/MISS (never asserted). */
  readonly target?: number;
  /** Free-form remark printed after the row. */
  readonly note?: string;
}

export interface MeasureOptions {
  /** Sampling rounds (the median is reported). Default 5. */
  readonly rounds?: number;
  /** Minimum duration of one round in milliseconds. Default 200. */
  readonly roundMs?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Measures a synchronous function: ops/s, median of `rounds` rounds of at least `roundMs` each. */
export function measure(fn: () => unknown, options: MeasureOptions = {}): number {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 200;
  let sink: unknown;
  // Warm up until the JIT has seen the function for a while.
  const warmEnd = performance.now() + roundMs;
  while (performance.now() < warmEnd) sink = fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < 16; i++) sink = fn();
      n += 16;
      elapsed = performance.now() - start;
    } while (elapsed < roundMs);
    samples.push((n * 1000) / elapsed);
  }
  if (sink === Symbol.for("never")) console.log(sink);
  return median(samples);
}

/** Measures an asynchronous function the same way (awaiting each call). */
export async function measureAsync(fn: () => Promise<unknown>, options: MeasureOptions = {}): Promise<number> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 200;
  const warmEnd = performance.now() + roundMs;
  while (performance.now() < warmEnd) await fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      await fn();
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < roundMs);
    samples.push((n * 1000) / elapsed);
  }
  return median(samples);
}

/** A full garbage collection (without --expose-gc on the command line), so heap figures mean live data. */
export function forceGc(): void {
  setFlagsFromString("--expose-gc");
  const fn = runInNewContext("gc") as (() => void) | undefined;
  fn?.();
  fn?.();
}
