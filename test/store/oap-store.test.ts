/**
 * The OAP store contract (the same checks as test/oap/s19-durable-store.test.ts, which covers
 * memory and SQLite) against PostgresOapStore, plus what only a shared store has to get right:
 * receipt chains that stay linear under concurrent appends from two pools (two nodes), nonces
 * and idempotency reservations atomic across pools, tasks created through one pool and advanced
 * through the other with one gap-free audit sequence, tools isolated from each other, and
 * everything still there after a reopen. Skipped only when the PostgreSQL binaries are absent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OAP_RECEIPT_GENESIS } from "../../src/oap/receipts.js";
import type { OapStore } from "../../src/oap/server/store.js";
import { TaskManager } from "../../src/oap/tasks/manager.js";
import { oapIds } from "../../src/oap/util.js";
import { MIGRATIONS, PostgresOapStore } from "../../src/store/index.js";
import { TestClock, codeOf, counterRandom } from "../oap/helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

const P = "did:web:principal.example";
const Q = "did:web:other.example";

describe.skipIf(!HAVE_POSTGRES)("the PostgreSQL OAP store", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => server?.stop());
  /** A fresh database per store, like a fresh SQLite file. */
  const open = async (): Promise<OapStore> => PostgresOapStore.open({ connectionString: await server.createDatabase(), tool: "weather" });

  it("receipts: appends are a compare-and-set on the Principal's head; lists are in chain order", async () => {
    const s = await open();
    expect(await s.receipts.head(P)).toBeUndefined();
    await s.receipts.append(P, { receipt_id: "r1" }, "sha256:1", OAP_RECEIPT_GENESIS);
    await s.receipts.append(Q, { receipt_id: "q1" }, "sha256:q", OAP_RECEIPT_GENESIS);
    expect(await codeOf(() => s.receipts.append(P, { receipt_id: "r2" }, "sha256:2", OAP_RECEIPT_GENESIS))).toBe("ERR_OAP_RECEIPT_CHAIN");
    expect(await codeOf(() => s.receipts.append(P, { receipt_id: "r1" }, "sha256:2", "sha256:1"))).toBe("ERR_OAP_RECEIPT_CHAIN");
    await s.receipts.append(P, { receipt_id: "r2" }, "sha256:2", "sha256:1");
    expect(await s.receipts.head(P)).toBe("sha256:2");
    expect((await s.receipts.list(P)).map((r) => r["receipt_id"])).toEqual(["r1", "r2"]);
    expect((await s.receipts.list(P, { offset: 1, limit: 5 })).map((r) => r["receipt_id"])).toEqual(["r2"]);
    await s.receipts.setAnchors("r2", [{ log_id: "log.example", log_index: 3, inclusion_proof: "p" }]);
    expect(await s.receipts.get("r2")).toEqual({ receipt_id: "r2", anchors: [{ log_id: "log.example", log_index: 3, inclusion_proof: "p" }] });
    await s.close();
  });

  it("nonces: a key is fresh once until it expires", async () => {
    const s = await open();
    expect(await s.nonces.checkAndStore("a", 2000, 1000)).toBe(true);
    expect(await s.nonces.checkAndStore("a", 2500, 1999)).toBe(false);
    expect(await s.nonces.checkAndStore("a", 4000, 2000)).toBe(true);
    await s.close();
  });

  it("idempotency: reserve, complete, release, expiry, erasure by Principal", async () => {
    const s = await open();
    const k = `${P}\u0000get_forecast\u0000key-1`;
    expect(await s.idempotency.reserve(k, "fp", 5000, 1000)).toBeUndefined();
    expect(await s.idempotency.reserve(k, "fp", 5000, 1001)).toEqual({ fingerprint: "fp", state: "in_flight", expiresAtMs: 5000 });
    await s.idempotency.complete(k, { status: "ok" });
    expect(await s.idempotency.reserve(k, "other", 9000, 1002)).toEqual({ fingerprint: "fp", state: "completed", response: { status: "ok" }, expiresAtMs: 5000 });
    expect(await s.idempotency.reserve(k, "fp2", 9000, 5000)).toBeUndefined();
    await s.idempotency.release(k);
    expect(await s.idempotency.reserve(k, "fp3", 9000, 5001)).toBeUndefined();
    const q = `${Q}\u0000get_forecast\u0000key-1`;
    expect(await s.idempotency.reserve(q, "fp", 9000, 5001)).toBeUndefined();
    expect(await s.idempotency.deleteByPrincipal(P)).toBe(1);
    expect(await s.idempotency.reserve(k, "fp4", 9000, 5002)).toBeUndefined();
    expect(await s.idempotency.reserve(q, "fp", 9000, 5002)).toMatchObject({ state: "in_flight" });
    await s.close();
  });

  it("audit log: one sequence per Principal; webhook subscriptions and incidents", async () => {
    const s = await open();
    await s.audit.append({ principal_did: P, at: "2026-05-02T10:00:00.000Z", kind: "decision", data: { n: 1 } });
    await s.audit.append({ principal_did: Q, at: "2026-05-02T10:00:00.000Z", kind: "decision", data: { n: 2 } });
    await s.audit.append({ principal_did: P, at: "2026-05-02T10:00:01.000Z", kind: "export", data: {} });
    expect((await s.audit.list(P)).map((e) => [e.seq, e.kind])).toEqual([
      [1, "decision"],
      [2, "export"],
    ]);
    await s.webhooks.add({ id: "whs_1", owner: P, principal_did: P, callback_url: "https://x.example/h", events: ["task.*"], created_at: "2026-05-02T10:00:00.000Z" });
    expect((await s.webhooks.all()).map((w) => w.id)).toEqual(["whs_1"]);
    expect(await s.webhooks.deleteByPrincipal(P)).toBe(1);
    await s.incidents.publish({ incident_id: "i1", status: "open" });
    await s.incidents.publish({ incident_id: "i1", status: "resolved" });
    expect(await s.incidents.list()).toEqual([{ incident_id: "i1", status: "resolved" }]);
    await s.close();
  });

  it("commerce records (subscriptions, consents, disputes): upserts, lists per Principal, isolated per tool, kept across a reopen", async () => {
    const db = await server.createDatabase();
    const s = (await PostgresOapStore.open({ connectionString: db, tool: "weather" })) as PostgresOapStore;
    const consent = { consent_id: "urn:oap:consent:1", principal_did: P, agent_did: "did:a", tool_did: "did:t", purpose: "get_forecast", channel: "explicit" as const, granted_at: "2026-01-01T00:00:00Z" };
    await s.commerce.consents.put(consent);
    await s.commerce.consents.put({ ...consent, revoked_at: "2026-01-02T00:00:00Z" });
    const sub = { subscription_id: "urn:oap:subscription:1", principal_did: P, agent_did: "did:a", tool_did: "did:t", tier: "pro", status: "active", price_hash: "h" };
    await s.commerce.subscriptions.put(sub as never);
    await s.commerce.subscriptions.put({ ...sub, subscription_id: "urn:oap:subscription:2", principal_did: Q } as never);
    await s.commerce.disputes.put({ dispute_id: "d1", tool_did: "did:t", principal_did: P, receipt_ids: ["r"], reason: "x", status: "received", received_at: "t", acknowledge_by: "t", resolve_by: "t" });
    await s.close();
    const again = (await PostgresOapStore.open({ connectionString: db, tool: "weather" })) as PostgresOapStore;
    expect(await again.commerce.consents.get(consent.consent_id)).toMatchObject({ revoked_at: "2026-01-02T00:00:00Z" });
    expect((await again.commerce.subscriptions.listByPrincipal(P)).map((x) => x.subscription_id)).toEqual(["urn:oap:subscription:1"]);
    expect((await again.commerce.disputes.list()).map((d) => d.dispute_id)).toEqual(["d1"]);
    await again.close();
    const other = (await PostgresOapStore.open({ connectionString: db, tool: "calendar" })) as PostgresOapStore;
    expect(await other.commerce.consents.get(consent.consent_id)).toBeUndefined();
    expect(await other.commerce.disputes.list()).toEqual([]);
    await other.close();
  });

  it("migrates the OAP tables (schema version 2), the wallet tables (3) and the commerce records (4) under the advisory lock", async () => {
    const s = await PostgresOapStore.open(await server.createDatabase());
    expect(s.migrations?.applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.every((m, i) => i === 0 || m.version > (MIGRATIONS[i - 1] as { version: number }).version)).toBe(true);
    expect(s.backend).toBe("postgres");
    await s.close();
  });

  describe("two pools on one database (two nodes)", () => {
    let db: string;
    let a: PostgresOapStore;
    let b: PostgresOapStore;
    beforeAll(async () => {
      db = await server.createDatabase();
      [a, b] = await Promise.all([PostgresOapStore.open({ connectionString: db, tool: "weather" }), PostgresOapStore.open({ connectionString: db, tool: "weather" })]);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it("receipt chains stay linear: 60 appends racing from both pools (read head, append, retry on a moved head)", async () => {
      let conflicts = 0;
      const appendOne = async (s: OapStore, i: number): Promise<void> => {
        for (;;) {
          const head = (await s.receipts.head(P)) ?? OAP_RECEIPT_GENESIS;
          try {
            await s.receipts.append(P, { receipt_id: `race-${i}`, previous: head }, `sha256:race-${i}`, head);
            return;
          } catch (e) {
            if ((e as { code?: string }).code !== "ERR_OAP_RECEIPT_CHAIN") throw e;
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: 60 }, (_, i) => appendOne(i % 2 === 0 ? a : b, i)));
      const chain = await b.receipts.list(P);
      expect(chain).toHaveLength(60);
      expect(new Set(chain.map((r) => r["receipt_id"])).size).toBe(60);
      // Every receipt names its predecessor's hash: one line from genesis to the head.
      chain.forEach((r, i) => expect(r["previous"]).toBe(i === 0 ? OAP_RECEIPT_GENESIS : `sha256:${String(chain[i - 1]?.["receipt_id"])}`));
      expect(await a.receipts.head(P)).toBe(`sha256:${String(chain.at(-1)?.["receipt_id"])}`);
      expect(conflicts).toBeGreaterThan(0);
      // A duplicate receipt id is refused even with the right head.
      const head = (await a.receipts.head(P)) as string;
      expect(await codeOf(() => b.receipts.append(P, { receipt_id: "race-0" }, "sha256:dup", head))).toBe("ERR_OAP_RECEIPT_CHAIN");
    });

    it("nonces: 40 parallel uses of one key over both pools → exactly one is fresh", async () => {
      const r = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).nonces.checkAndStore("nonce-x", 60_000, 1000)));
      expect(r.filter(Boolean)).toHaveLength(1);
    });

    it("idempotency: 40 parallel reservations of one key over both pools → exactly one reserves; the others see it", async () => {
      const k = `${P}\u0000get_forecast\u0000k-race`;
      const r = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).idempotency.reserve(k, "fp", 60_000, 1000)));
      expect(r.filter((x) => x === undefined)).toHaveLength(1);
      expect(r.filter((x) => x !== undefined).every((x) => x?.state === "in_flight" && x.fingerprint === "fp")).toBe(true);
      await a.idempotency.complete(k, { status: "ok" });
      expect(await b.idempotency.reserve(k, "fp", 60_000, 1001)).toMatchObject({ state: "completed", response: { status: "ok" } });
    });

    it("tasks: created through one pool, read and advanced through the other; racing updates → one wins; one gap-free audit sequence", async () => {
      const clock = new TestClock();
      const mA = new TaskManager({ store: a.tasks, clock: clock.now, ids: oapIds(clock.now, counterRandom(3)), pollUrl: (id) => `https://tool.example/oap/tasks/${id}` });
      const mB = new TaskManager({ store: b.tasks, clock: clock.now, ids: oapIds(clock.now, counterRandom(4)), pollUrl: (id) => `https://tool.example/oap/tasks/${id}` });
      const init = { request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX", action: "climate_report", principal_did: Q, agent_did: "did:web:agent.example" };
      const t = await mA.create(init);
      expect((await mB.get(t.task_id)).status).toBe("submitted");
      await mB.transition(t.task_id, "accepted");
      expect((await mA.get(t.task_id)).status).toBe("accepted");
      const stored = (await a.tasks.get(t.task_id))!;
      const next = { ...stored, version: stored.version + 1 };
      const audit = { principal_did: Q, at: "2026-05-02T10:00:00.000Z", kind: "task_transition" as const, data: {} };
      const won = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).tasks.update(next, stored.version, audit)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect((await b.tasks.open()).map((r) => r.task.task_id)).toContain(t.task_id);
      // Audit appends racing from both pools: 1..n, no gaps, no duplicates.
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).audit.append({ principal_did: Q, at: "2026-05-02T10:00:01.000Z", kind: "decision", data: { i } })));
      const seqs = (await a.audit.list(Q)).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.length).toBe(2 + 1 + 30);
    });

    it("tools are isolated: another tool id on the same database sees none of it", async () => {
      const other = await PostgresOapStore.open({ connectionString: db, tool: "calendar" });
      expect(await other.receipts.head(P)).toBeUndefined();
      expect(await other.nonces.checkAndStore("nonce-x", 60_000, 1000)).toBe(true);
      expect(await other.tasks.list({ limit: 10 })).toEqual({ tasks: [] });
      await other.close();
    });

    it("after a reopen: receipts, nonces, idempotency records and the audit log are still there", async () => {
      const c = await PostgresOapStore.open({ connectionString: db, tool: "weather" });
      expect(c.migrations?.applied).toEqual([]);
      expect(await c.receipts.list(P)).toHaveLength(60);
      expect(await c.nonces.checkAndStore("nonce-x", 60_000, 2000)).toBe(false);
      expect(await c.idempotency.reserve(`${P}\u0000get_forecast\u0000k-race`, "fp", 60_000, 2000)).toMatchObject({ state: "completed" });
      expect((await c.audit.list(Q)).length).toBe(33);
      await c.close();
    });
  });
});
