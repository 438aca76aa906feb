/**
 * Transparency log benchmarks: SHA-256 node hashing backends, appends/s to the in-memory and
 * SQLite stores, inclusion / consistency proof generation and verification at 1M leaves, and
 * heap used before/after appending 1M leaves to the SQLite store (which keeps only a bounded
 * node cache in memory). Figures are printed, never asserted.
 *
 *   npm run build && node dist/test/bench/tlog.js      (standalone)
 */
import { createHash, hash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  MemoryLogStore,
  SqliteLogStore,
  TransparencyLog,
  verifyConsistency,
  verifyInclusion,
} from "../../src/trust/tlog/index.js";
import { forceGc, measure, type BenchResult } from "./types.js";

const MILLION = 1_000_000;
const BATCH = 10_000;

const gc = forceGc;

/** JS heap plus ArrayBuffer memory (typed-array arenas live outside heapUsed). */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function digests(n: number): Uint8Array[] {
  const all = randomBytes(32 * n);
  return Array.from({ length: n }, (_, i) => new Uint8Array(all.buffer, all.byteOffset + i * 32, 32));
}

function fillBatched(log: TransparencyLog, n: number): number {
  const start = performance.now();
  for (let done = 0; done < n; done += BATCH) log.appendMany(digests(Math.min(BATCH, n - done)));
  return (n * 1000) / (performance.now() - start);
}

export async function bench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const node = new Uint8Array(65).fill(7);

  const g0 = "SHA-256 of a 65-byte interior node input";
  results.push({ group: g0, name: "node:crypto hash() (used)", opsPerSec: measure(() => hash("sha256", node, "buffer")) });
  results.push({ group: g0, name: "node:crypto createHash", opsPerSec: measure(() => createHash("sha256").update(node).digest()), baseline: "node:crypto hash() (used)" });
  results.push({ group: g0, name: "@noble/hashes sha256", opsPerSec: measure(() => nobleSha256(node)), baseline: "node:crypto hash() (used)" });

  // Appends, one at a time (SQLite: one transaction each) and batched.
  const g1 = "append (32-byte digest entries)";
  const pool = digests(4096);
  let k = 0;
  const mem = new TransparencyLog(new MemoryLogStore());
  results.push({ group: g1, name: "memory store, append()", opsPerSec: measure(() => mem.append(pool[k++ & 4095]!)) });
  const dir = mkdtempSync(join(tmpdir(), "agentwire-tlog-bench-"));
  try {
    const single = new SqliteLogStore(join(dir, "single.db"));
    const singleLog = new TransparencyLog(single);
    results.push({ group: g1, name: "SQLite store, append() (1 txn each)", opsPerSec: measure(() => singleLog.append(pool[k++ & 4095]!), { rounds: 3 }), baseline: "memory store, append()" });
    single.close();

    gc();
    const heapBefore = used();
    const store = new SqliteLogStore(join(dir, "big.db"));
    const log = new TransparencyLog(store);
    const sqlRate = fillBatched(log, MILLION);
    gc();
    const heapAfter = used();
    results.push({
      group: g1,
      name: "SQLite store, 1M leaves, appendMany(10k)",
      opsPerSec: sqlRate,
      baseline: "memory store, append()",
      note: `heap+arrayBuffers before ${mb(heapBefore)}, after 1M leaves ${mb(heapAfter)} (delta ${mb(heapAfter - heapBefore)}; bounded node cache)`,
    });

    gc();
    const memHeapBefore = used();
    const memBig = new TransparencyLog(new MemoryLogStore());
    const memRate = fillBatched(memBig, MILLION);
    gc();
    results.push({
      group: g1,
      name: "memory store, 1M leaves, appendMany(10k)",
      opsPerSec: memRate,
      baseline: "memory store, append()",
      note: `heap+arrayBuffers +${mb(used() - memHeapBefore)} (all hashes and entries in memory)`,
    });

    // Proofs at 1M leaves (random indices, both stores).
    const g2 = "proofs at 1M leaves (RFC 9162 §2.1.3 / §2.1.4)";
    const size = log.size;
    const root = log.root();
    const rnd = () => Math.floor(Math.random() * size);
    results.push({ group: g2, name: "inclusion proof, memory store", opsPerSec: measure(() => memBig.inclusionProof(rnd(), size)) });
    results.push({ group: g2, name: "inclusion proof, SQLite store", opsPerSec: measure(() => log.inclusionProof(rnd(), size)), baseline: "inclusion proof, memory store" });
    const fixed = Array.from({ length: 256 }, () => {
      const i = rnd();
      return { i, leaf: log.store.node(0, i), proof: log.inclusionProof(i, size) };
    });
    let j = 0;
    results.push({
      group: g2,
      name: "inclusion verify",
      opsPerSec: measure(() => {
        const f = fixed[j++ & 255]!;
        verifyInclusion(f.i, size, f.leaf, f.proof, root);
      }),
      note: `${fixed[0]!.proof.length} hashes per proof`,
    });
    results.push({ group: g2, name: "inclusion proof + verify, SQLite store", opsPerSec: measure(() => {
      const i = rnd();
      verifyInclusion(i, size, log.store.node(0, i), log.inclusionProof(i, size), root);
    }) });
    const first = 654_321;
    const firstRoot = log.root(first);
    const cproof = log.consistencyProof(first, size);
    results.push({ group: g2, name: "consistency proof, SQLite store", opsPerSec: measure(() => log.consistencyProof(1 + rnd(), size)) });
    results.push({ group: g2, name: "consistency verify", opsPerSec: measure(() => verifyConsistency(first, size, cproof, firstRoot, root)) });
    results.push({ group: g2, name: "root at an old size, SQLite store", opsPerSec: measure(() => log.root(1 + rnd())) });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

// Standalone: node dist/test/bench/tlog.js
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").slice(-3).join("/"))) {
  const start = performance.now();
  for (const r of await bench()) {
    console.log(`${r.group} | ${r.name}: ${Math.round(r.opsPerSec).toLocaleString("en-US")} ops/s${r.note ? `  ${r.note}` : ""}`);
  }
  console.log(`total ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
