/**
 * OAP crash soak (bounded): four client loops invoke the weather Tool's get_forecast on one
 * `agentwire serve --store postgres://…` (one Principal per loop, so four receipt chains) while
 * the node is SIGKILLed at random points (150–1250 ms after each restart) and restarted on the
 * same port and database. A client retries an invocation whose answer it did not get with a NEW
 * envelope carrying the SAME OAP-Idempotency-Key and input (each logical invocation has a unique
 * input, so its receipt is recognisable by `input_hash`). Afterwards, with the node stopped, the
 * database is read directly:
 *
 * - every receipt a client received (an acknowledged invocation) is in its Principal's chain
 *   exactly once — none lost;
 * - no logical invocation has two receipts — none duplicated by the retries;
 * - every chain verifies (verifyReceiptChain: links, schema, the cluster key's signatures) and
 *   its `seq` runs 1..n without gaps;
 * - after one more restart, a retry of an acknowledged invocation gets the very response the
 *   client holds (the idempotency record survived);
 * - the node hosts a transparency log in the same database (`"tlog": {"origin"}`) and anchors
 *   every receipt in it: every stored anchor verifies against the log key, every response that
 *   names the log has its anchor stored, every leaf of the log is the hash of a committed receipt
 *   and no receipt is logged twice, the stored subtree hashes agree with the tree rebuilt from the
 *   leaves, and the checkpoints the node signed between kills are all consistent with that tree
 *   (one linear tree across all restarts).
 *
 * The node runs with a short in-flight idempotency lease (AGENTWIRE_OAP_SOAK_LEASE_MS, default
 * 1 000 ms; docs/scale-out.md "Leases"): a key left `in_flight` by a killed node is answered 409
 * until its lease lapses, then a retry takes it over and runs the call ("recoveredAfter409").
 *
 * Bounded: AGENTWIRE_OAP_SOAK_MS (default 8 000); figures are printed as one JSON line
 * ("oap-soak-result").
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { exportPublicJwk, publicKeyFor } from "../../src/crypto/keys.js";
import { jcsDigest } from "../../src/oap/util.js";
import type { JsonObject } from "../../src/json/types.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { receiptHash } from "../../src/oap/anchors.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import { PostgresLogStore } from "../../src/store/postgres-log-store.js";
import { AsyncTransparencyLog } from "../../src/trust/tlog/async-log.js";
import { TransparencyLog } from "../../src/trust/tlog/log.js";
import { MemoryLogStore } from "../../src/trust/tlog/store.js";
import { openCheckpoint } from "../../src/trust/tlog/checkpoint.js";
import { toVerifiers } from "../../src/trust/tlog/client.js";
import { formatSha256Digest } from "../../src/trust/tlog/hash.js";
import { verifyConsistency } from "../../src/trust/tlog/verify.js";
import { didKeyIdentity, envelope, oapHeaders, post } from "../oap/server-helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "../store/postgres-server.js";
import { BIN, CLUSTER_IDENTITY, freePort, kill9, prepareCluster, serve, stop, type Served } from "./cluster.js";

const SOAK_MS = Number(process.env["AGENTWIRE_OAP_SOAK_MS"] ?? 8_000);
const WORKERS = 4;
const LEASE_MS = Number(process.env["AGENTWIRE_OAP_SOAK_LEASE_MS"] ?? 1_000);
const LOG_ORIGIN = "log.soak.example";

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("OAP crash soak on PostgreSQL (SIGKILL under load, restart on the same database)", () => {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-oap-soak-"));
  let server: TestPostgres | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`acknowledged invocations are neither lost nor duplicated; the chains verify (${SOAK_MS} ms)`, async () => {
    server = await startTestPostgres();
    const url = await server.createDatabase();
    const { dataDirs, config } = await prepareCluster(dir, 1, []);
    // A crash soak, not a rate-limit test: per-node limits (reset by every restart) as before the
    // shared PostgreSQL limiter, so the loops keep invoking between kills.
    writeFileSync(config, JSON.stringify({ ...(JSON.parse(readFileSync(config, "utf8")) as JsonObject), oap: { rateLimits: "node", leases: { idempotencyMs: LEASE_MS, taskMs: LEASE_MS } }, tlog: { origin: LOG_ORIGIN } }));
    const data = dataDirs[0]!;
    const port = await freePort();
    const start = (): Promise<Served> => serve({ data, config, port, store: url });
    let node = await start();
    const base = node.url;
    const vkey = String(node.listening["tlogVerifierKey"]);
    const principals = Array.from({ length: WORKERS }, (_, i) => didKeyIdentity(0x70 + i).did);

    /** Logical invocation key → the response the client received. */
    const acked = new Map<string, { principal: string; body: JsonObject; input: JsonObject }>();
    const stats = { invocations: 0, attempts: 0, networkErrors: 0, statuses: {} as Record<string, number>, gaveUp: 0, recoveredAfter409: 0 };
    let running = true;

    const worker = async (w: number): Promise<void> => {
      const principal = principals[w]!;
      for (let n = 0; running; n++) {
        const key = `soak-${w}-${n}`;
        const input = { location: `Soak ${w}-${n}`, days: 1 };
        stats.invocations++;
        let done = false;
        let saw409 = false;
        for (let attempt = 0; attempt < 40 && !done; attempt++) {
          stats.attempts++;
          const env = envelope({ idempotency_key: key, input }, undefined, principal);
          try {
            const r = await post(`${base}/oap/invoke`, env, oapHeaders(env));
            stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
            if (r.status === 200 && r.body["status"] === "ok") {
              acked.set(key, { principal, body: r.body, input });
              done = true;
              if (saw409) stats.recoveredAfter409++;
            } else if (r.status === 409) {
              saw409 = true;
              await new Promise((res) => setTimeout(res, 60));
            } else await new Promise((res) => setTimeout(res, r.status === 429 ? 250 : 60));
          } catch {
            stats.networkErrors++;
            await new Promise((res) => setTimeout(res, 40));
          }
        }
        if (!done) stats.gaveUp++;
      }
    };

    const began = Date.now();
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    let kills = 0;
    const restartMs: number[] = [];
    while (Date.now() - began < SOAK_MS) {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 1100));
      await kill9(node);
      kills++;
      const t = Date.now();
      node = await start();
      restartMs.push(Date.now() - t);
    }
    running = false;
    await Promise.all(workers);
    const elapsed = Date.now() - began;
    await stop(node);

    // --- the database, read directly (node stopped)
    const db = new pg.Pool({ connectionString: url, max: 1 });
    const signing = publicKeyFor(exportPublicJwk((await loadOrCreateKeys(data)).keys.find((k) => k.alg === "EdDSA")!));
    let receipts = 0;
    let unacknowledged = 0;
    let anchorsVerified = 0;
    const committedHashes = new Set<string>();
    try {
      for (const principal of principals) {
        const rows = (await db.query<{ receipt: string; seq: string }>("SELECT receipt, seq FROM oap_receipts WHERE principal = $1 ORDER BY seq", [principal])).rows;
        const chain = rows.map((r) => JSON.parse(r.receipt) as JsonObject);
        receipts += chain.length;
        expect(rows.map((r) => Number(r.seq)), `${principal}: seq 1..n`).toEqual(rows.map((_, i) => i + 1));
        const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_IDENTITY.did}#`) ? signing : undefined) }, logKeys: [vkey] });
        expect(report.firstBroken, `${principal}: chain and anchors verify`).toBeUndefined();
        expect(report.ok).toBe(true);
        expect(report.anchorsSkipped).toBe(0);
        anchorsVerified += report.anchorsVerified;
        for (const r of chain) committedHashes.add(receiptHash(r));
        const byInput = new Map<string, number>();
        for (const r of chain) byInput.set(String(r["input_hash"]), (byInput.get(String(r["input_hash"])) ?? 0) + 1);
        expect([...byInput.values()].filter((c) => c > 1), `${principal}: no invocation has two receipts`).toEqual([]);
        const ids = new Map(chain.map((r) => [String(r["receipt_id"]), r]));
        const mine = [...acked.values()].filter((a) => a.principal === principal);
        for (const a of mine) {
          const id = String((a.body["receipt"] as JsonObject)["id"]);
          const stored = ids.get(id);
          expect(stored, `acknowledged receipt ${id} is in the chain`).toBeDefined();
          expect(stored!["input_hash"]).toBe(jcsDigest(a.input));
          const named = (a.body["receipt"] as JsonObject)["anchored_in"];
          if (Array.isArray(named) && named.includes(LOG_ORIGIN)) {
            expect((stored!["anchors"] as JsonObject[] | undefined)?.map((x) => x["log_id"]), `receipt ${id}: the anchor its response named is stored`).toEqual([LOG_ORIGIN]);
          }
        }
        unacknowledged += chain.length - mine.length;
      }
    } finally {
      await db.end();
    }

    // --- the log, read directly: leaves are committed receipts, each once; all checkpoints consistent
    const logStore = await PostgresLogStore.open({ connectionString: url, origin: LOG_ORIGIN, migrate: false });
    let logSize = 0;
    let checkpointsChecked = 0;
    try {
      const log = new AsyncTransparencyLog(logStore);
      logSize = await log.size();
      const leaves = await Promise.all(Array.from({ length: logSize }, (_, i) => log.entry(i)));
      const leafHashes = leaves.map((e) => formatSha256Digest(e));
      expect(new Set(leafHashes).size, "no receipt logged twice").toBe(logSize);
      expect(leafHashes.filter((h) => !committedHashes.has(h)), "every leaf is a committed receipt").toEqual([]);
      expect(anchorsVerified).toBeLessThanOrEqual(logSize);
      // The tree rebuilt from the stored leaves alone; the stored subtree hashes must agree with it.
      const rebuilt = new TransparencyLog(new MemoryLogStore());
      rebuilt.appendMany(leaves);
      expect(Buffer.from(await log.root()).toString("hex"), "stored subtree hashes agree with the leaves").toBe(Buffer.from(rebuilt.root()).toString("hex"));
      const verifiers = toVerifiers([vkey]);
      // A kill between a log commit and its checkpoint leaves the newest leaves without one.
      expect((await logStore.getCheckpoint())?.size).toBeLessThanOrEqual(logSize);
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      try {
        const notes = (await pool.query<{ note: string }>("SELECT note FROM tlog_checkpoints WHERE origin = $1 AND size > 0 ORDER BY size", [LOG_ORIGIN])).rows;
        // Every 10th checkpoint and the last one (the node signs one per anchored receipt), each
        // consistent with the tree of all leaves: one linear tree across every restart.
        for (const [i, row] of notes.entries()) {
          if (i % 10 !== 0 && i !== notes.length - 1) continue;
          const cp = openCheckpoint(row.note, verifiers, { origin: LOG_ORIGIN });
          verifyConsistency(cp.size, logSize, rebuilt.consistencyProof(cp.size, logSize), cp.rootHash, rebuilt.root());
          checkpointsChecked++;
        }
      } finally {
        await pool.end();
      }
    } finally {
      await logStore.close();
    }

    // --- after one more restart: retries of acknowledged invocations get the response the client holds
    node = await start();
    try {
      for (const [key, a] of [...acked].slice(0, 5)) {
        const env = envelope({ idempotency_key: key, input: a.input }, undefined, a.principal);
        const again = await post(`${base}/oap/invoke`, env, oapHeaders(env));
        expect(again.body).toEqual(a.body);
      }
    } finally {
      await stop(node);
    }

    const result = {
      event: "oap-soak-result",
      seconds: Math.round(elapsed / 100) / 10,
      kills,
      restartMsMedian: restartMs.sort((x, y) => x - y)[Math.floor(restartMs.length / 2)] ?? 0,
      invocations: stats.invocations,
      attempts: stats.attempts,
      acknowledged: acked.size,
      receiptsStored: receipts,
      receiptsNotAcknowledged: unacknowledged,
      networkErrors: stats.networkErrors,
      statuses: stats.statuses,
      gaveUp: stats.gaveUp,
      idempotencyLeaseMs: LEASE_MS,
      recoveredAfter409: stats.recoveredAfter409,
      lostOrDuplicated: 0,
      logLeaves: logSize,
      anchorsVerified,
      receiptsUnanchored: receipts - anchorsVerified,
      checkpointsCheckedConsistent: checkpointsChecked,
    };
    console.log(JSON.stringify(result));
    expect(kills).toBeGreaterThanOrEqual(Math.min(2, Math.floor(SOAK_MS / 2000)));
    expect(acked.size).toBeGreaterThan(kills);
  }, SOAK_MS + 60_000);
});
