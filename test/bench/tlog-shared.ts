/**
 * The transparency log on PostgreSQL (several nodes, one log): submits/s into one log from one
 * node and from two nodes at once (two pools), with group commit (concurrent submits share a
 * transaction) against one transaction per entry (maxBatch 1); inclusion proofs/s (one batched
 * read each). Starts a throwaway PostgreSQL from Debian's binaries (test/store/postgres-server.ts)
 * and reports nothing when they are absent. Figures are printed, never asserted.
 *
 *   npm run bench -- tlog-shared
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { PostgresLogStore } from "../../src/store/postgres-log-store.js";
import { AsyncTransparencyLog } from "../../src/trust/tlog/async-log.js";
import { HAVE_POSTGRES, startTestPostgres } from "../store/postgres-server.js";
import type { BenchResult } from "./types.js";

const ENTRIES = 6_000;
const IN_FLIGHT = 256;

async function fill(logs: readonly AsyncTransparencyLog[], n: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      const log = logs[w % logs.length] as AsyncTransparencyLog;
      while (next < n) {
        next++;
        await log.submit(randomBytes(32));
      }
    }),
  );
  return (n * 1000) / (performance.now() - start);
}

export async function bench(): Promise<BenchResult[]> {
  if (!HAVE_POSTGRES) {
    console.log("tlog-shared: no PostgreSQL binaries, skipped");
    return [];
  }
  const server = await startTestPostgres();
  const results: BenchResult[] = [];
  const open = async (url: string, maxBatch?: number) =>
    new AsyncTransparencyLog(await PostgresLogStore.open({ connectionString: url, origin: "bench.example/log", maxConnections: 4 }), maxBatch === undefined ? {} : { maxBatch });
  try {
    const g = `PostgreSQL transparency log, ${IN_FLIGHT} submits in flight (32-byte digests)`;
    const single = await open(await server.createDatabase(), 1);
    results.push({ group: g, name: "1 node, one transaction per entry", opsPerSec: await fill([single], 1_500) });
    await single.store.close();
    const one = await open(await server.createDatabase());
    results.push({ group: g, name: "1 node, group commit", opsPerSec: await fill([one], ENTRIES), baseline: "1 node, one transaction per entry" });
    const url = await server.createDatabase();
    const a = await open(url);
    const b = await open(url);
    results.push({ group: g, name: "2 nodes on one log, group commit", opsPerSec: await fill([a, b], ENTRIES), baseline: "1 node, one transaction per entry" });
    const size = await a.size();
    const g2 = `proofs from PostgreSQL (log of ${size.toLocaleString("en-US")} leaves)`;
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      await a.inclusionProof(Math.floor(Math.random() * size), size);
      done++;
    }
    results.push({ group: g2, name: "inclusion proof (one batched read, node cache warm)", opsPerSec: (done * 1000) / (performance.now() - t0) });
    await a.store.close();
    await b.store.close();
    await one.store.close();
  } finally {
    await server.stop();
  }
  return results;
}
