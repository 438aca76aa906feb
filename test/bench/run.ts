/**
 * `npm run bench`: runs every benchmark module and prints figures, ratios against their
 * baselines and the targets of the issues (PASS/MISS). Never fails on speed: tests assert
 * behaviour, benchmarks report numbers.
 *
 *   npm run bench               all groups
 *   npm run bench -- cbor ohp   only the named modules
 */
import { availableParallelism, cpus } from "node:os";
import type { BenchResult } from "./types.js";

const MODULES: Record<string, () => Promise<{ bench(): Promise<BenchResult[]> }>> = {
  cbor: () => import("./cbor.js"),
  crypto: () => import("./crypto.js"),
  hpke: () => import("./hpke.js"),
  ohp: () => import("./ohp.js"),
  oap: () => import("./oap.js"),
  tlog: () => import("./tlog.js"),
  "tlog-shared": () => import("./tlog-shared.js"),
  load: () => import("./load.js"),
};

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(MODULES);
  console.log(`agentwire bench: node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${availableParallelism()}\n`);
  let misses = 0;
  for (const name of names) {
    const load = MODULES[name];
    if (!load) {
      console.error(`unknown bench module ${name} (known: ${Object.keys(MODULES).join(", ")})`);
      process.exitCode = 2;
      return;
    }
    const results = await (await load()).bench();
    const groups = [...new Set(results.map((r) => r.group))];
    for (const group of groups) {
      console.log(`## ${group}`);
      const rows = results.filter((r) => r.group === group);
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) {
        let line = `  ${r.name.padEnd(width)}  ${fmt(r.opsPerSec).padStart(12)} ops/s`;
        const base = r.baseline === undefined ? undefined : rows.find((b) => b.name === r.baseline);
        if (base) {
          const ratio = r.opsPerSec / base.opsPerSec;
          line += `  ${ratio.toFixed(2)}x ${r.baseline}`;
          if (r.target !== undefined) {
            const ok = ratio >= r.target;
            if (!ok) misses++;
            line += ` (target >= ${r.target}x: ${ok ? "PASS" : "MISS"})`;
          }
        }
        if (r.note) line += `  ${r.note}`;
        console.log(line);
      }
      console.log("");
    }
  }
  console.log(misses === 0 ? "all targets met" : `${misses} target(s) missed`);
}

await main();
