/**
 * Crash soak: an in-process sender keeps PROPOSE → (ACCEPT) → ASSUME loops running against one
 * `agentwire serve` while a killer SIGKILLs the node at random points and restarts it on the same
 * port and store, for SQLite and for PostgreSQL. The sender re-sends the SAME envelope until a
 * node answers (receivers are idempotent by id). Afterwards, with the node stopped, the store is
 * checked directly:
 *
 * - every ACCEPT the sender received is a receiver record (exactly one, one `accept-sent` step)
 *   and the cached answer for its id is that very ACCEPT;
 * - every ASSUME the sender saw ACCEPTed left the record HANDED_OFF with one `assume-received`;
 * - no record anywhere has a duplicated step;
 * - the replay store still holds every acknowledged `(id, nonce)`, and after one more restart a
 *   re-sent PROPOSE gets its original answer from the cache, or with the cached answer removed,
 *   a replay REJECT.
 *
 * Bounded: AGENTWIRE_SOAK_MS per backend (default 15 s); figures are printed as one JSON line
 * per backend ("soak-result").
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../src/conformance/world.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import type { JsonObject } from "../../src/json/types.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import { SqliteHandoffStore, type HandoffStore } from "../../src/ohp/control/store.js";
import { PostgresHandoffStore } from "../../src/store/index.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "../store/postgres-server.js";
import { BIN, freePort, kill9, prepareCluster, retryingTransport, senderNode, senderParty, serve, stop, type RetryStats, type Served } from "./cluster.js";

const SOAK_MS = Number(process.env["AGENTWIRE_SOAK_MS"] ?? 15_000);
const WORKERS = 4;
const SENDER = senderParty(91, "soak");
const verbOf = (e: JsonObject | undefined): unknown => (e?.["control"] as JsonObject | undefined)?.["verb"];

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Backend {
  readonly name: "sqlite" | "postgres";
  /** `--store` value (undefined = the SQLite default in the data dir). */
  store(data: string): string | undefined;
  /** Opens the store for inspection (the node is stopped). */
  open(data: string): Promise<HandoffStore>;
  /** Removes a cached answer (as the sweeper would after its expiry). */
  dropAnswer(data: string, id: string): Promise<void>;
}

async function soak(backend: Backend): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `agentwire-soak-${backend.name}-`));
  dirs.push(dir);
  const { dataDirs, config } = await prepareCluster(dir, 1, [SENDER], { rateLimit: false });
  const data = dataDirs[0]!;
  const port = await freePort();
  const start = (): Promise<Served> => serve({ data, config, port, ...(backend.store(data) ? { store: backend.store(data)! } : {}) });
  let node = await start();
  const peer = await discoverPeer(node.url, "ohp/https", { cache: new Map() });
  const stats: RetryStats = { sends: 0, retries: 0 };
  const sender = senderNode(SENDER, retryingTransport(httpsTransport({ timeoutMs: 4_000 }), { deadlineMs: 12_000, delayMs: 40, stats }));

  const acked = new Map<string, JsonObject>(); // PROPOSE id → the ACCEPT received
  const assumed = new Set<string>();
  const proposes = new Map<string, JsonObject>(); // every PROPOSE envelope sent, by id
  const outcome = { proposed: 0, rejected: 0, errors: 0, assumeRejected: 0, assumeErrors: 0 };
  const rejectReasons = new Map<string, number>();
  let running = true;

  const worker = async (): Promise<void> => {
    while (running) {
      let id: string | undefined;
      try {
        outcome.proposed++;
        const r = await sender.propose(peer, builderInputOf(baseEnvelope("signed")));
        id = r.handoffId;
        if (r.verb !== "ACCEPT") {
          outcome.rejected++;
          const why = String((r.answer?.["transcript"] as JsonObject | undefined)?.["summary"] ?? r.reason).replace(/cse_\w+|[0-9A-HJKMNP-TV-Z]{26}/g, "…").slice(0, 80);
          rejectReasons.set(why, (rejectReasons.get(why) ?? 0) + 1);
          continue;
        }
        acked.set(id, r.answer!);
      } catch {
        outcome.errors++;
        continue;
      }
      if (Math.random() < 0.3) continue; // some handoffs stay ACCEPTED (then RELEASED by the PT10S timer)
      try {
        const a = await sender.assume(peer, id);
        if (a.state === "HANDED_OFF" && verbOf(a.answer) === "ACCEPT") assumed.add(id);
        else outcome.assumeRejected++;
      } catch {
        outcome.assumeErrors++;
      }
    }
  };

  const began = Date.now();
  const workers = Array.from({ length: WORKERS }, () => worker());
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
  for (const h of await sender.handoffs("sender")) if (h.envelopes["PROPOSE"]) proposes.set(h.id, h.envelopes["PROPOSE"]);
  await stop(node);

  // --- the store, inspected directly
  const store = await backend.open(data);
  let receiverRecords = 0;
  let orphans = 0;
  let heldWithoutAck = 0;
  try {
    const all = await store.list("receiver");
    receiverRecords = all.length;
    const ids = all.map((r) => r.id);
    expect(new Set(ids).size, "no handoff is stored twice").toBe(ids.length);
    const byId = new Map(all.map((r) => [r.id, r]));
    for (const r of all) {
      const events = r.history.map((h) => h.event);
      expect(events.filter((e) => e === "accept-sent" || e === "resume-accepted").length, `${r.id}: one acceptance`).toBeLessThanOrEqual(1);
      expect(events.filter((e) => e === "assume-received").length, `${r.id}: at most one ASSUME`).toBeLessThanOrEqual(1);
      if (!acked.has(r.id)) orphans++;
      else if (r.state === "HANDED_OFF" && !assumed.has(r.id)) heldWithoutAck++;
    }
    for (const [id, answer] of acked) {
      const r = byId.get(id);
      expect(r, `acknowledged handoff ${id} is in the store`).toBeDefined();
      expect(r!.envelopes["PROPOSE"]?.["id"]).toBe(id);
      expect(["ACCEPTED", "HANDED_OFF", "RELEASED"]).toContain(r!.state);
      expect(r!.history[0]?.event).toBe("accept-sent");
      expect(await store.getAnswer(id), `the cached answer of ${id} is the ACCEPT the sender holds`).toEqual(answer);
      const nonce = String((proposes.get(id)?.["control"] as JsonObject)["nonce"]);
      expect(await store.replay.firstUse(`${id} ${nonce}`, Date.now() + 60_000, Date.now()), `(id, nonce) of ${id} is still remembered`).toBe(false);
    }
    for (const id of assumed) {
      expect(byId.get(id)?.state, `ASSUME-acknowledged ${id} is HANDED_OFF`).toBe("HANDED_OFF");
    }
  } finally {
    await store.close();
  }

  // --- replays after one more restart: the cached answer, or (cache entry gone) the same answer
  // recovered from the handoff record, never a second decision
  node = await start();
  try {
    const sample = [...acked.keys()].slice(0, 5);
    for (const id of sample) {
      const again = await httpsTransport().send(peer, proposes.get(id)!, {});
      expect(again).toEqual(acked.get(id));
    }
    for (const id of sample.slice(0, 3)) await backend.dropAnswer(data, id);
    for (const id of sample.slice(0, 3)) {
      const again = await httpsTransport().send(peer, proposes.get(id)!, {});
      expect(again).toEqual(acked.get(id));
    }
  } finally {
    await stop(node);
  }

  const result = {
    event: "soak-result",
    backend: backend.name,
    seconds: Math.round(elapsed / 100) / 10,
    kills,
    restartMsMedian: restartMs.sort((a, b) => a - b)[Math.floor(restartMs.length / 2)] ?? 0,
    proposesSent: outcome.proposed,
    acceptsReceived: acked.size,
    assumesAccepted: assumed.size,
    senderRejects: outcome.rejected,
    rejectReasons: Object.fromEntries(rejectReasons),
    senderErrors: outcome.errors + outcome.assumeErrors,
    assumeRejected: outcome.assumeRejected,
    transportRetries: stats.retries,
    receiverRecords,
    unacknowledgedRecords: orphans,
    handedOffWithoutSenderAck: heldWithoutAck,
    acceptedPerSecond: Math.round((acked.size / elapsed) * 10_000) / 10,
  };
  console.log(JSON.stringify(result));
  // The soak must have done real work and real crashes.
  expect(kills).toBeGreaterThanOrEqual(Math.min(5, Math.floor(SOAK_MS / 2000)));
  expect(acked.size).toBeGreaterThan(kills);
  expect(assumed.size).toBeGreaterThan(0);
}

describe.skipIf(!existsSync(BIN))("crash soak (SIGKILL under load, restart on the same store)", () => {
  it(`SQLite (${SOAK_MS} ms)`, async () => {
    await soak({
      name: "sqlite",
      store: () => undefined,
      open: async (data) => new SqliteHandoffStore(join(data, "ohp.sqlite")),
      dropAnswer: async (data, id) => {
        const db = new DatabaseSync(join(data, "ohp.sqlite"));
        try {
          db.prepare("DELETE FROM answers WHERE envelope_id = ?").run(id);
        } finally {
          db.close();
        }
      },
    });
  }, SOAK_MS + 60_000);

  describe.skipIf(!HAVE_POSTGRES)("PostgreSQL", () => {
    let server: TestPostgres | undefined;
    afterAll(async () => server?.stop());
    it(`PostgreSQL (${SOAK_MS} ms)`, async () => {
      server = await startTestPostgres();
      const url = await server.createDatabase();
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      try {
        await soak({
          name: "postgres",
          store: () => url,
          open: async () => PostgresHandoffStore.open(url),
          dropAnswer: async (_data, id) => {
            await admin.query("DELETE FROM ohp_answers WHERE envelope_id = $1", [id]);
          },
            });
      } finally {
        await admin.end();
      }
    }, SOAK_MS + 60_000);
  });
});
