/**
 * The stores behind §19 receipts, §28.3 nonces, §28.4 idempotency, §9.2 tasks, the audit log
 * and §9.3 subscriptions: the in-memory and the embedded SQLite implementation honour the same
 * contracts (compare-and-set receipt appends, atomic nonces, idempotency reservations, data
 * erasure by Principal), and SQLite keeps everything across a reopen.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OAP_RECEIPT_GENESIS } from "../../src/oap/receipts.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import { MemoryOapStore, type OapStore } from "../../src/oap/server/store.js";
import { codeOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "oap-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const P = "did:web:principal.example";
const Q = "did:web:other.example";

describe.each([
  ["memory", () => new MemoryOapStore() as OapStore],
  ["SQLite", () => new SqliteOapStore(join(dir, `contract-${Math.random().toString(36).slice(2)}.sqlite`)) as OapStore],
])("the %s OAP store", (_name, open) => {
  it("receipts: appends are a compare-and-set on the Principal's head; lists are in chain order", async () => {
    const s = open();
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
    const s = open();
    expect(await s.nonces.checkAndStore("a", 2000, 1000)).toBe(true);
    expect(await s.nonces.checkAndStore("a", 2500, 1999)).toBe(false);
    expect(await s.nonces.checkAndStore("a", 4000, 2000)).toBe(true);
    await s.close();
  });

  it("idempotency: reserve, complete, release, expiry, erasure by Principal", async () => {
    const s = open();
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
    const s = open();
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
});

describe("the SQLite OAP store after a reopen", () => {
  it("keeps receipts, nonces, idempotency records and the audit log", async () => {
    const path = join(dir, "reopen.sqlite");
    const a = new SqliteOapStore(path);
    await a.receipts.append(P, { receipt_id: "r1" }, "sha256:1", OAP_RECEIPT_GENESIS);
    await a.nonces.checkAndStore("n", 10_000, 1000);
    await a.idempotency.reserve(`${P}\u0000x\u0000k`, "fp", 10_000, 1000);
    await a.idempotency.complete(`${P}\u0000x\u0000k`, { status: "ok" });
    await a.audit.append({ principal_did: P, at: "2026-05-02T10:00:00.000Z", kind: "decision", data: {} });
    a.close();
    const b = new SqliteOapStore(path);
    expect(await b.receipts.head(P)).toBe("sha256:1");
    expect(await b.nonces.checkAndStore("n", 10_000, 2000)).toBe(false);
    expect(await b.idempotency.reserve(`${P}\u0000x\u0000k`, "fp", 10_000, 2000)).toMatchObject({ state: "completed", response: { status: "ok" } });
    expect(await b.audit.list(P)).toHaveLength(1);
    b.close();
  });
});
