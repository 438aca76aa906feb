/**
 * Leases of the OAP store (docs/scale-out.md "Leases"), the same checks on every backend — the
 * memory store, two SqliteOapStore handles on one file, two PostgresOapStore pools on one
 * database (two nodes):
 *
 * - tasks: created with the owner's lease; renewed only by their owner; taken over by another
 *   node only once the lease expired, and by exactly one of several claimants (compare-and-set);
 *   the previous owner can no longer renew; a task that ends drops its lease; `all` (a single
 *   node's restart) claims every open task;
 * - in-flight idempotency reservations: a retry of the same request takes over a reservation
 *   whose lease expired (exactly one of many concurrent retries), never one whose owner renews it,
 *   never for another fingerprint or without `takeover` (non-idempotent actions); the previous
 *   owner's completion — alone or with its receipt — is refused (ERR_OAP_IDEMPOTENCY_LEASE_LOST)
 *   and writes nothing, its release does not drop the new owner's reservation.
 *
 * Times are explicit `nowMs` values: nothing here waits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { OAP_RECEIPT_GENESIS } from "../../src/oap/receipts.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import { MemoryOapStore, type OapStore } from "../../src/oap/server/store.js";
import type { AuditEntryInput, TaskRecord, TaskStatus } from "../../src/oap/tasks/index.js";
import { PostgresOapStore } from "../../src/store/index.js";
import { codeOf } from "../oap/helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

const P = "did:web:principal.example";
const A = "node-a";
const B = "node-b";
const C = "node-c";

/** Two handles on one store (two nodes), and how to close them. */
interface Pair {
  readonly a: OapStore;
  readonly b: OapStore;
  close(): Promise<void>;
}

function record(id: string, status: TaskStatus, lease?: { owner: string; expiresAtMs: number }, version = 1): TaskRecord {
  const at = "2026-05-02T10:00:00.000Z";
  return {
    task: { task_id: id, status, request_id: "01J0000000000000000000000", action: "climate_report", principal_did: P, agent_did: "did:web:agent.example", created_at: at, updated_at: at, transitions: [{ seq: 1, status, at }] },
    version,
    expiresAtMs: 1_000_000,
    ...(lease === undefined ? {} : { lease }),
    failure: { receipt: { type: "task_completion", principal_did: P, action_id: "climate_report" } },
  };
}

const audit = (id: string): AuditEntryInput => ({ principal_did: P, at: "2026-05-02T10:00:00.000Z", kind: "task_transition", data: { task_id: id } });

function leaseSuite(name: string, pair: () => Promise<Pair>): void {
  describe(name, () => {
    it("tasks: the owner renews its lease; nobody else can", async () => {
      const { a, b, close } = await pair();
      await a.tasks.create(record("t1", "working", { owner: A, expiresAtMs: 1000 }), audit("t1"));
      expect((await b.tasks.get("t1"))?.lease).toEqual({ owner: A, expiresAtMs: 1000 });
      expect(await b.tasks.renewLeases(B, ["t1"], 5000)).toEqual([]);
      expect(await a.tasks.renewLeases(A, ["t1", "missing"], 2000)).toEqual(["t1"]);
      expect((await b.tasks.get("t1"))?.lease).toEqual({ owner: A, expiresAtMs: 2000 });
      // the failure context travels with the record; the lease lives outside its JSON
      expect((await b.tasks.get("t1"))?.failure).toEqual({ receipt: { type: "task_completion", principal_did: P, action_id: "climate_report" } });
      await close();
    });

    it("tasks: an expired lease is taken over by one claimant, once; the old owner has lost it", async () => {
      const { a, b, close } = await pair();
      await a.tasks.create(record("t2", "awaiting_input", { owner: A, expiresAtMs: 1000 }), audit("t2"));
      await a.tasks.create(record("t3", "working", { owner: A, expiresAtMs: 9000 }), audit("t3"));
      expect(await b.tasks.claimExpired({ owner: B, nowMs: 1000, leaseExpiresAtMs: 3000 })).toEqual([]); // not expired yet (1000 is not before 1000)
      const claimed = await b.tasks.claimExpired({ owner: B, nowMs: 1001, leaseExpiresAtMs: 3000 });
      expect(claimed.map((r) => [r.task.task_id, r.lease])).toEqual([["t2", { owner: B, expiresAtMs: 3000 }]]);
      expect(claimed[0]?.failure?.receipt["action_id"]).toBe("climate_report");
      expect(await a.tasks.claimExpired({ owner: C, nowMs: 1001, leaseExpiresAtMs: 3000 })).toEqual([]); // B's fresh lease
      expect(await a.tasks.renewLeases(A, ["t2", "t3"], 4000)).toEqual(["t3"]);
      expect((await a.tasks.get("t2"))?.lease).toEqual({ owner: B, expiresAtMs: 3000 });
      // the claimant's own lease can lapse too (it died while failing the task): claimable again
      expect((await a.tasks.claimExpired({ owner: C, nowMs: 3001, leaseExpiresAtMs: 6000 })).map((r) => r.task.task_id)).toEqual(["t2"]);
      await close();
    });

    it("tasks: a task that ends drops its lease (update never writes one); unleased tasks are only claimed with `all`; `exclude` is kept", async () => {
      const { a, b, close } = await pair();
      await a.tasks.create(record("t4", "working", { owner: A, expiresAtMs: 1000 }), audit("t4"));
      await a.tasks.create(record("t5", "working"), audit("t5"));
      await a.tasks.create(record("t6", "working", { owner: A, expiresAtMs: 50_000 }), audit("t6"));
      // an update carrying a stale lease does not write it
      expect(await a.tasks.update(record("t6", "awaiting_input", { owner: C, expiresAtMs: 1 }, 2), 1)).toBe(true);
      expect((await b.tasks.get("t6"))?.lease).toEqual({ owner: A, expiresAtMs: 50_000 });
      expect(await a.tasks.update(record("t4", "failed", undefined, 2), 1, audit("t4"))).toBe(true);
      expect((await b.tasks.get("t4"))?.lease).toBeUndefined();
      expect(await a.tasks.renewLeases(A, ["t4"], 9000)).toEqual([]);
      expect(await b.tasks.claimExpired({ owner: B, nowMs: 10_000, leaseExpiresAtMs: 20_000 })).toEqual([]);
      const all = await b.tasks.claimExpired({ owner: B, nowMs: 10_000, leaseExpiresAtMs: 20_000, all: true, exclude: ["t6"] });
      expect(all.map((r) => [r.task.task_id, r.lease?.owner])).toEqual([["t5", B]]);
      expect((await b.tasks.claimExpired({ owner: C, nowMs: 10_000, leaseExpiresAtMs: 20_000, all: true })).map((r) => r.task.task_id).sort()).toEqual(["t5", "t6"]);
      await close();
    });

    it("tasks: 12 expired tasks, 16 claims racing from both handles: every task claimed exactly once", async () => {
      const { a, b, close } = await pair();
      const ids = Array.from({ length: 12 }, (_, i) => `race-${String(i).padStart(2, "0")}`);
      for (const id of ids) await a.tasks.create(record(id, "working", { owner: A, expiresAtMs: 1000 }), audit(id));
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).tasks.claimExpired({ owner: `claimant-${i}`, nowMs: 2000, leaseExpiresAtMs: 60_000 })));
      const claimed = results.flatMap((r) => r.map((t) => t.task.task_id));
      expect(claimed.sort()).toEqual(ids);
      for (const [i, r] of results.entries()) for (const t of r) expect((await a.tasks.get(t.task.task_id))?.lease?.owner).toBe(`claimant-${i}`);
      await close();
    });

    const key = `${P}\u0000get_forecast\u0000lease-key`;
    const leased = (owner: string, expiresAtMs: number, takeover = true) => ({ lease: { owner, expiresAtMs }, takeover });

    it("idempotency: a retry takes over an in-flight reservation only once its lease expired, and only for the same request", async () => {
      const { a, b, close } = await pair();
      expect(await a.idempotency.reserve(key, "fp", 60_000, 1000, leased(A, 2000))).toBeUndefined();
      expect(await b.idempotency.reserve(key, "fp", 60_000, 1500, leased(B, 3500))).toEqual({ fingerprint: "fp", state: "in_flight", expiresAtMs: 60_000, lease: { owner: A, expiresAtMs: 2000 } });
      expect(await a.idempotency.renew(key, A, 4000)).toBe(true); // the owner lives
      expect(await b.idempotency.renew(key, B, 9000)).toBe(false);
      expect(await b.idempotency.reserve(key, "fp", 60_000, 3000, leased(B, 5000))).toMatchObject({ state: "in_flight", lease: { owner: A, expiresAtMs: 4000 } });
      // expired: not for another request, not without takeover (a non-idempotent action fails closed)
      expect(await b.idempotency.reserve(key, "other", 60_000, 4001, leased(B, 6000))).toMatchObject({ fingerprint: "fp", lease: { owner: A } });
      expect(await b.idempotency.reserve(key, "fp", 60_000, 4001, leased(B, 6000, false))).toMatchObject({ lease: { owner: A } });
      expect(await b.idempotency.reserve(key, "fp", 60_000, 4001, leased(B, 6000))).toBeUndefined();
      expect(await a.idempotency.renew(key, A, 9000)).toBe(false);
      expect(await codeOf(() => a.idempotency.complete(key, { status: "ok", by: A }, A))).toBe("ERR_OAP_IDEMPOTENCY_LEASE_LOST");
      await a.idempotency.release(key, A); // the old owner's release leaves B's reservation
      expect(await a.idempotency.reserve(key, "fp", 60_000, 4002, leased(C, 7000))).toMatchObject({ state: "in_flight", lease: { owner: B, expiresAtMs: 6000 } });
      await b.idempotency.complete(key, { status: "ok", by: B }, B);
      expect(await a.idempotency.reserve(key, "fp", 60_000, 5000, leased(C, 99_000))).toMatchObject({ state: "completed", response: { status: "ok", by: B } });
      expect(await b.idempotency.renew(key, B, 99_000)).toBe(false); // completed: nothing to renew
      await close();
    });

    it("idempotency: a reservation without a lease is never taken over before it expires", async () => {
      const { a, b, close } = await pair();
      const k = `${key}-legacy`;
      expect(await a.idempotency.reserve(k, "fp", 60_000, 1000)).toBeUndefined();
      expect(await b.idempotency.reserve(k, "fp", 60_000, 59_999, leased(B, 70_000))).toEqual({ fingerprint: "fp", state: "in_flight", expiresAtMs: 60_000 });
      expect(await b.idempotency.reserve(k, "fp", 120_000, 60_000, leased(B, 70_000))).toBeUndefined();
      await close();
    });

    it("idempotency: 20 retries racing on one expired lease from both handles: exactly one takes it over", async () => {
      const { a, b, close } = await pair();
      const k = `${key}-race`;
      expect(await a.idempotency.reserve(k, "fp", 60_000, 1000, leased(A, 2000))).toBeUndefined();
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).idempotency.reserve(k, "fp", 60_000, 3000, leased(`retry-${i}`, 10_000))));
      const winners = outcomes.flatMap((o, i) => (o === undefined ? [`retry-${i}`] : []));
      expect(winners).toHaveLength(1);
      for (const o of outcomes) if (o !== undefined) expect(o.lease?.owner).toBe(winners[0]);
      await close();
    });

    it("the receipt + completion transaction is fenced: the old owner commits nothing, the new owner commits both", async () => {
      const { a, b, close } = await pair();
      const k = `${key}-receipt`;
      expect(await a.idempotency.reserve(k, "fp", 60_000, 1000, leased(A, 2000))).toBeUndefined();
      expect(await b.idempotency.reserve(k, "fp", 60_000, 2500, leased(B, 9000))).toBeUndefined();
      const receipt = (id: string): JsonObject => ({ receipt_id: id });
      expect(await codeOf(async () => a.appendReceiptCompleting?.(P, receipt("r-a"), "sha256:a", OAP_RECEIPT_GENESIS, { key: k, response: { by: A }, owner: A }))).toBe("ERR_OAP_IDEMPOTENCY_LEASE_LOST");
      expect(await b.receipts.list(P)).toEqual([]);
      await b.appendReceiptCompleting?.(P, receipt("r-b"), "sha256:b", OAP_RECEIPT_GENESIS, { key: k, response: { by: B }, owner: B });
      expect((await a.receipts.list(P)).map((r) => r["receipt_id"])).toEqual(["r-b"]);
      expect(await a.idempotency.reserve(k, "fp", 60_000, 3000, leased(C, 9000))).toMatchObject({ state: "completed", response: { by: B } });
      // the owner may replace its own stored response (anchored later)
      await b.idempotency.complete(k, { by: B, anchored: true }, B);
      expect(await a.idempotency.reserve(k, "fp", 60_000, 3000, leased(C, 9000))).toMatchObject({ response: { by: B, anchored: true } });
      await close();
    });
  });
}

leaseSuite("memory store (one process)", async () => {
  const s = new MemoryOapStore();
  return { a: s, b: s, close: async () => undefined };
});

const dir = mkdtempSync(join(tmpdir(), "agentwire-oap-leases-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

leaseSuite("SQLite store (two handles on one file)", async () => {
  const path = join(dir, `leases-${++files}.sqlite`);
  const a = new SqliteOapStore(path);
  const b = new SqliteOapStore(path);
  return {
    a,
    b,
    close: async () => {
      a.close();
      b.close();
    },
  };
});

describe("SQLite: a file created before the lease columns", () => {
  it("gets them at open; its open tasks (unleased) are claimed by a restart's `all` claim", async () => {
    const path = join(dir, "legacy.sqlite");
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE oap_tasks (task_id TEXT PRIMARY KEY, principal TEXT NOT NULL, agent TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL, expires_at INTEGER, record TEXT NOT NULL);
             CREATE TABLE oap_idempotency (key TEXT PRIMARY KEY, principal TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL, response TEXT, expires_at INTEGER NOT NULL);`);
    const old = record("old-1", "working");
    db.prepare("INSERT INTO oap_tasks VALUES (?, ?, ?, ?, ?, ?, ?)").run("old-1", P, "did:web:agent.example", "working", 1, 1_000_000, JSON.stringify(old));
    db.prepare("INSERT INTO oap_idempotency VALUES (?, ?, ?, 'in_flight', NULL, ?)").run(key(), P, "fp", 60_000);
    db.close();
    const s = new SqliteOapStore(path);
    expect((await s.tasks.get("old-1"))?.lease).toBeUndefined();
    expect(await s.tasks.claimExpired({ owner: A, nowMs: 5000, leaseExpiresAtMs: 9000 })).toEqual([]);
    expect((await s.tasks.claimExpired({ owner: A, nowMs: 5000, leaseExpiresAtMs: 9000, all: true })).map((r) => [r.task.task_id, r.lease])).toEqual([["old-1", { owner: A, expiresAtMs: 9000 }]]);
    expect(await s.idempotency.reserve(key(), "fp", 60_000, 5000, { lease: { owner: A, expiresAtMs: 9000 }, takeover: true })).toEqual({ fingerprint: "fp", state: "in_flight", expiresAtMs: 60_000 });
    s.close();
    const again = new SqliteOapStore(path); // evolving twice is a no-op
    expect((await again.tasks.get("old-1"))?.lease).toEqual({ owner: A, expiresAtMs: 9000 });
    again.close();
    function key(): string {
      return `${P}\u0000get_forecast\u0000legacy`;
    }
  });
});

describe.skipIf(!HAVE_POSTGRES)("PostgreSQL", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => server?.stop());

  leaseSuite("PostgreSQL store (two pools on one database)", async () => {
    const url = await server.createDatabase();
    const a = await PostgresOapStore.open({ connectionString: url, tool: "weather" });
    const b = await PostgresOapStore.open({ connectionString: url, tool: "weather" });
    return {
      a,
      b,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });
});
