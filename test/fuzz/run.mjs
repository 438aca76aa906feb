#!/usr/bin/env node
/**
 * `npm run fuzz`: the fuzz suite (test/fuzz/*.test.ts) with a large budget, and a summary.
 *
 *   FUZZ_RUNS   runs per property (default 20000; properties scale it by their weight)
 *   FUZZ_SEED   base seed (default: random, printed; re-run with it to reproduce)
 *   FUZZ_CASE_MS  per-case hang threshold in ms (default 2000)
 *   FUZZ_WATCHDOG_MIN  kill the run after this many minutes (a synchronous infinite loop cannot
 *                      be interrupted in-process; default 240)
 *   FUZZ_SUMMARY  write the summary JSON to this path as well
 *
 * Extra arguments go to vitest (e.g. `npm run fuzz -- -t "verifyEnvelope"`).
 * Exit status: vitest's (non-zero on any failure), 124 when the watchdog fired.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const runs = process.env.FUZZ_RUNS ?? "20000";
const seed = process.env.FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
const watchdogMin = Number(process.env.FUZZ_WATCHDOG_MIN ?? "240");
const report = mkdtempSync(join(tmpdir(), "agentwire-fuzz-"));
const vitestJson = join(report, "vitest.json");

console.log(`agentwire fuzz: FUZZ_RUNS=${runs} FUZZ_SEED=${seed} FUZZ_CASE_MS=${process.env.FUZZ_CASE_MS ?? "2000"} (report ${report})`);
const started = performance.now();
const child = spawn(
  process.execPath,
  [
    join("node_modules", "vitest", "vitest.mjs"),
    "run",
    "--dir",
    "test/fuzz",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${vitestJson}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit", env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed, FUZZ_REPORT: report }, detached: true },
);

let watchdogFired = false;
const watchdog = setTimeout(() => {
  watchdogFired = true;
  console.error(`\nagentwire fuzz: watchdog: still running after ${watchdogMin} min — a hang? killing the run`);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}, watchdogMin * 60_000);

const code = await new Promise((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
clearTimeout(watchdog);
const wallMs = performance.now() - started;

const rows = [];
for (const f of readdirSync(report)) {
  if (!f.endsWith(".jsonl")) continue;
  for (const line of readFileSync(join(report, f), "utf8").split("\n")) if (line.trim() !== "") rows.push(JSON.parse(line));
}
rows.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
let failed = 0;
let passed = 0;
try {
  const v = JSON.parse(readFileSync(vitestJson, "utf8"));
  failed = v.numFailedTests ?? 0;
  passed = v.numPassedTests ?? 0;
} catch {
  failed = -1;
}
const total = rows.reduce((n, r) => n + r.cases, 0);
const slowest = rows.reduce((m, r) => Math.max(m, r.maxCaseMs), 0);

console.log("\nagentwire fuzz summary");
for (const r of rows) console.log(`  ${String(r.cases).padStart(8)}  max ${String(r.maxCaseMs).padStart(5)} ms  ${r.file.replace(/^.*\/test\/fuzz\//, "")} › ${r.name}`);
console.log(`  fuzz properties completed: ${rows.length}; vitest tests (properties + regressions): ${passed} passed, ${failed < 0 ? "unknown" : failed} failed`);
console.log(`  total cases: ${total}`);
console.log(`  slowest single case: ${slowest} ms (hang threshold ${process.env.FUZZ_CASE_MS ?? "2000"} ms)`);
console.log(`  failures: ${failed < 0 ? "unknown (no vitest report)" : failed}${watchdogFired ? " + watchdog fired (hang)" : ""}`);
console.log(`  wall time: ${(wallMs / 1000).toFixed(1)} s`);
console.log(`  reproduce: FUZZ_RUNS=${runs} FUZZ_SEED=${seed} npm run fuzz`);

const summary = { runs: Number(runs), seed: Number(seed), totalCases: total, properties: rows.length, passed, failed, watchdogFired, wallSeconds: Math.round(wallMs / 1000), slowestCaseMs: slowest, rows };
if (process.env.FUZZ_SUMMARY) writeFileSync(process.env.FUZZ_SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
rmSync(report, { recursive: true, force: true });
process.exit(watchdogFired ? 124 : code);
