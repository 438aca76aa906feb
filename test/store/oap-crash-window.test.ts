/**
 * The OAP crash window between the receipt commit and the idempotency completion (the OAP
 * SIGKILL soak's "given up" invocations): the engine stores the signed response as the key's
 * completion in the same transaction as the receipt (`OapStore.appendReceiptCompleting`), so a
 * node killed right after that commit leaves the key completed, not `in_flight`. Simulated
 * deterministically: node 1's store commits the receipt + completion, then "dies" (throws, and
 * none of its later writes, e.g. the release of the failed request, reach the store); a retry
 * with the same idempotency key on node 2 (a fresh store over the same SQLite file / PostgreSQL
 * database) gets the original response, citing the one committed receipt, instead of 409.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import { MemoryOapStore, type OapStore, type PrincipalIdempotencyStore } from "../../src/oap/server/store.js";
import { jcsDigest } from "../../src/oap/util.js";
import { PostgresOapStore } from "../../src/store/index.js";
import { envelope, invoke, principal, startTool } from "../oap/server-helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

/** `inner`, killed right after its first receipt + idempotency completion commits. */
function killedAfterReceiptCommit(inner: OapStore): OapStore & { readonly state: { killed: boolean } } {
  const state = { killed: false };
  const atomic = inner.appendReceiptCompleting?.bind(inner);
  if (atomic === undefined) throw new Error(`${inner.backend} has no appendReceiptCompleting`);
  const idempotency: PrincipalIdempotencyStore = {
    reserve: (k, f, e, n, o) => inner.idempotency.reserve(k, f, e, n, o),
    renew: async (k, owner, until) => !state.killed && (await inner.idempotency.renew(k, owner, until)),
    complete: async (k, r, owner) => {
      if (!state.killed) await inner.idempotency.complete(k, r, owner);
    },
    release: async (k, owner) => {
      if (!state.killed) await inner.idempotency.release(k, owner);
    },
    deleteByPrincipal: (p) => inner.idempotency.deleteByPrincipal(p),
  };
  return {
    state,
    backend: inner.backend,
    receipts: inner.receipts,
    nonces: inner.nonces,
    idempotency,
    tasks: inner.tasks,
    audit: inner.audit,
    webhooks: inner.webhooks,
    incidents: inner.incidents,
    ...(inner.commerce === undefined ? {} : { commerce: inner.commerce }),
    appendReceiptCompleting: async (p, r, h, prev, completion) => {
      await atomic(p, r, h, prev, completion);
      state.killed = true;
      throw new Error("node killed after the receipt commit");
    },
    close: () => undefined,
  };
}

async function crashThenRetry(node1Store: OapStore, node2Store: () => Promise<OapStore> | OapStore): Promise<void> {
  const crashing = killedAfterReceiptCommit(node1Store);
  const key = `crash-${Math.random().toString(36).slice(2)}`;
  const input = { location: "Berlin", days: 2 };
  const node1 = await startTool({ store: crashing });
  const first = envelope({ input });
  const lost = await invoke(node1, first, { "oap-idempotency-key": key });
  await node1.close();
  expect(crashing.state.killed).toBe(true);
  expect(lost.status).toBeGreaterThanOrEqual(500); // the client never learned the result

  const store2 = await node2Store();
  const node2 = await startTool({ store: store2 });
  try {
    const retry = envelope({ input }); // a new request_id and nonce, the same request and key
    const answer = await invoke(node2, retry, { "oap-idempotency-key": key });
    expect(answer.status).toBe(200);
    expect(answer.body["status"]).toBe("ok");
    expect(answer.body["request_id"]).toBe(first["request_id"]); // the original response, stored with the receipt
    const receipts = await store2.receipts.list(principal.did);
    expect(receipts).toHaveLength(1); // nothing ran twice
    const receiptId = (answer.body["receipt"] as JsonObject)["id"];
    expect(receipts[0]?.["receipt_id"]).toBe(receiptId);
    expect(receipts[0]?.["output_hash"]).toBe(jcsDigest(answer.body["output"] ?? null));
    // Once more: the same stored answer.
    const again = await invoke(node2, envelope({ input }), { "oap-idempotency-key": key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(answer.body);
  } finally {
    await node2.close();
    await store2.close();
  }
}

describe("OAP crash window: receipt and idempotency completion commit together", () => {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-oap-crash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("memory: a retry after the kill gets the original response", async () => {
    const shared = new MemoryOapStore();
    await crashThenRetry(shared, () => shared);
  });

  it("SQLite: a retry on a reopened store gets the original response, not 409", async () => {
    const path = join(dir, "crash.sqlite");
    const node1 = new SqliteOapStore(path);
    try {
      await crashThenRetry(node1, () => new SqliteOapStore(path));
    } finally {
      node1.close();
    }
  });

  it("SQLite: a receipt append whose chain moved rolls the completion back with it", async () => {
    const s = new SqliteOapStore(join(dir, "rollback.sqlite"));
    const k = `${principal.did}\u0000get_forecast\u0000k1`;
    await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now());
    await expect(s.appendReceiptCompleting(principal.did, { receipt_id: "r1" }, "sha256:1", "sha256:stale", { key: k, response: { status: "ok" } })).rejects.toThrow(/moved/);
    expect(await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now())).toMatchObject({ state: "in_flight" });
    await s.appendReceiptCompleting(principal.did, { receipt_id: "r1" }, "sha256:1", "genesis", { key: k, response: { status: "ok" } });
    expect(await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now())).toMatchObject({ state: "completed", response: { status: "ok" } });
    s.close();
  });
});

describe.skipIf(!HAVE_POSTGRES)("OAP crash window on PostgreSQL", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => server?.stop());

  it("a retry on another node (another pool) gets the original response, not 409", async () => {
    const url = await server.createDatabase();
    const node1 = await PostgresOapStore.open({ connectionString: url, tool: "weather" });
    try {
      await crashThenRetry(node1, () => PostgresOapStore.open({ connectionString: url, tool: "weather" }));
    } finally {
      await node1.close();
    }
  });

  it("a receipt append whose chain moved rolls the completion back with it", async () => {
    const s = await PostgresOapStore.open({ connectionString: await server.createDatabase(), tool: "weather" });
    const k = `${principal.did}\u0000get_forecast\u0000k1`;
    await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now());
    await expect(s.appendReceiptCompleting(principal.did, { receipt_id: "r1" }, "sha256:1", "sha256:stale", { key: k, response: { status: "ok" } })).rejects.toThrow(/moved/);
    expect(await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now())).toMatchObject({ state: "in_flight" });
    await s.appendReceiptCompleting(principal.did, { receipt_id: "r1" }, "sha256:1", "genesis", { key: k, response: { status: "ok" } });
    expect(await s.idempotency.reserve(k, "fp", Date.now() + 60_000, Date.now())).toMatchObject({ state: "completed", response: { status: "ok" } });
    await s.close();
  });
});
