/**
 * Leases across processes (docs/scale-out.md "Leases"): two `agentwire serve` nodes on ONE
 * PostgreSQL database with short leases (`"oap": {"leases": {"taskMs": 1200, "idempotencyMs":
 * 1200}}` in the config).
 *
 * - A `climate_report` task for an ambiguous place waits for input on node 1 (its work is in node
 *   1's process). While node 1 lives it renews the task's lease and node 2 leaves the task alone,
 *   even after more than a whole lease has gone by. Node 1 is SIGKILLed: node 2's sweeper takes
 *   the task over once the lease has lapsed and fails it — read through node 2's task endpoint:
 *   `failed`, reason "node lost", a signed error response citing a `task_completion` receipt
 *   that is in the Principal's chain.
 * - An idempotency key left `in_flight` by a node that is gone: while its owner's lease is valid
 *   a retry on node 2 gets 409 (`retry_after_seconds`); once the lease has lapsed the retry
 *   takes the reservation over, runs the call and gets 200; the record is then node 2's,
 *   completed with that response, and there is exactly one receipt for it.
 */
import { existsSync } from "node:fs";
import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { idempotencyFingerprint } from "../../src/oap/idempotency.js";
import { signCallerRequest } from "../../src/oap/server/caller-auth.js";
import { PostgresOapStore } from "../../src/store/index.js";
import { agent, envelope, oapHeaders, post, principal } from "../oap/server-helpers.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, kill9, postgresCluster, type Served } from "./cluster.js";

// Long enough that a live node 1 on a loaded 2-core machine always renews in time (it renews
// every 400 ms), short enough for a quick failover.
const LEASE_MS = 1200;

/** Polls `probe` every 50 ms until it returns a value; fails after `tries`. */
async function until<T>(probe: () => Promise<T | undefined>, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not reached");
}

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("OAP leases on two nodes, one PostgreSQL database", () => {
  const c = postgresCluster("oap-leases", { config: { oap: { leases: { taskMs: LEASE_MS, idempotencyMs: LEASE_MS } } } });
  let url: string;
  let db: pg.Pool;
  let n1: Served;
  let n2: Served;
  beforeAll(() => {
    ({ url, db } = c);
    [n1, n2] = c.nodes as [Served, Served];
  });

  const signedGet = async (u: string): Promise<JsonObject> => (await (await fetch(u, { headers: signCallerRequest({ method: "GET", url: u }, agent.signer) })).json()) as JsonObject;
  const leaseRow = async (taskId: string) =>
    (await db.query<{ status: string; owner: string | null; lease_expires: string | null }>("SELECT status, owner, lease_expires FROM oap_tasks WHERE task_id = $1", [taskId])).rows[0];

  it("each node has its own id (the owner of its leases)", () => {
    expect(typeof n1.listening["oapNodeId"]).toBe("string");
    expect(n1.listening["oapNodeId"]).not.toBe(n2.listening["oapNodeId"]);
  });

  it("a task of a SIGKILLed node is failed by the surviving node once its lease lapses, with a receipt", async () => {
    const env = envelope({ action: "climate_report", input: { location: "Frankfurt", from_year: 2001, to_year: 2003 } });
    const r = await post(`${n1.url}/oap/invoke`, env, oapHeaders(env));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const taskId = String(r.body["task_id"]);
    const ulid = taskId.slice("urn:oap:task:".length);
    await until(async () => ((await signedGet(`${n1.url}/oap/tasks/${ulid}`))["status"] === "awaiting_input" ? true : undefined));
    const first = await leaseRow(taskId);
    expect(first?.owner).toBe(n1.listening["oapNodeId"]);
    // Node 1 lives: it renews; after more than a whole lease has gone by (the lease moved past
    // first + LEASE_MS) node 2 — whose sweeper runs all along — has not touched the task.
    const later = await until(async () => {
      const row = await leaseRow(taskId);
      return Number(row?.lease_expires) > Number(first?.lease_expires) + LEASE_MS ? row : undefined;
    });
    expect(later).toMatchObject({ status: "awaiting_input", owner: n1.listening["oapNodeId"] });

    await kill9(n1);
    const killedAt = Date.now();
    const lastRenewal = Number((await leaseRow(taskId))?.lease_expires) - LEASE_MS;
    const failed = await until(async () => {
      const t = await signedGet(`${n2.url}/oap/tasks/${ulid}`);
      return t["status"] === "failed" ? t : undefined;
    });
    // Reported, not asserted: how long the survivor took (the lease, plus up to one sweep interval).
    console.log(JSON.stringify({ event: "oap-lease-failover", leaseMs: LEASE_MS, msKillToFailed: Date.now() - killedAt, msLastRenewalToFailed: Date.parse(String((failed["transitions"] as JsonObject[]).at(-1)?.["at"])) - lastRenewal }));
    const transitions = failed["transitions"] as JsonObject[];
    expect(transitions.map((x) => x["status"])).toEqual(["submitted", "accepted", "working", "awaiting_input", "failed"]);
    expect(String(transitions.at(-1)?.["reason"])).toMatch(/^node lost/);
    const receipt = failed["receipt"] as JsonObject;
    expect(receipt).toMatchObject({ type: "task_completion", action_id: "climate_report", principal_did: principal.did });
    expect(failed["response"]).toMatchObject({ status: "error", error: { code: "internal_error" }, receipt: { id: receipt["receipt_id"] } });
    const stored = await db.query<{ receipt: string }>("SELECT receipt FROM oap_receipts WHERE receipt_id = $1", [receipt["receipt_id"]]);
    expect(stored.rows).toHaveLength(1);
    expect(await leaseRow(taskId)).toMatchObject({ status: "failed", owner: n2.listening["oapNodeId"], lease_expires: null });
  });

  it("an idempotency key left in flight by a gone node: 409 while its lease holds, then a retry on node 2 takes it over and gets 200", async () => {
    const store = await PostgresOapStore.open({ connectionString: url, tool: "weather-pro" });
    try {
      const key = "lease-takeover-1";
      const env = envelope({ idempotency_key: key, input: { location: "Vienna", days: 2 } });
      const storeKey = `${principal.did}\u0000get_forecast\u0000${key}`;
      // The reservation a node made before it died mid-call (nothing else of it was committed).
      expect(await store.idempotency.reserve(storeKey, idempotencyFingerprint(env), Date.now() + 60_000, Date.now(), { lease: { owner: "gone-node", expiresAtMs: Date.now() + 3_600_000 }, takeover: true })).toBeUndefined();

      const waiting = await post(`${n2.url}/oap/invoke`, env, oapHeaders(env));
      expect([waiting.status, (waiting.body["error"] as JsonObject)["code"]]).toEqual([409, "conflict"]);
      expect(Number(((waiting.body["error"] as JsonObject)["details"] as JsonObject)["retry_after_seconds"])).toBeGreaterThan(1);

      // Its owner stopped renewing: the lease lapses (set as the owner's last renewal would have left it).
      expect(await store.idempotency.renew(storeKey, "gone-node", Date.now() - 1)).toBe(true);
      const retry = envelope({ idempotency_key: key, input: { location: "Vienna", days: 2 } });
      const answer = await post(`${n2.url}/oap/invoke`, retry, oapHeaders(retry));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ status: "ok", request_id: retry["request_id"] });
      const receiptId = (answer.body["receipt"] as JsonObject)["id"];
      const row = (await db.query<{ state: string; owner: string; response: string }>("SELECT state, owner, response FROM oap_idempotency WHERE key = $1", [storeKey.replace(/\u0000/g, "\\0")])).rows[0];
      expect(row).toMatchObject({ state: "completed", owner: n2.listening["oapNodeId"] });
      expect(JSON.parse(row!.response)).toEqual(answer.body);
      const receipts = await db.query("SELECT receipt_id FROM oap_receipts WHERE receipt ::jsonb ->> 'input_hash' = (SELECT receipt::jsonb ->> 'input_hash' FROM oap_receipts WHERE receipt_id = $1)", [receiptId]);
      expect(receipts.rows).toHaveLength(1);
      // the gone node's late completion cannot overwrite it
      expect(await Promise.resolve(store.idempotency.complete(storeKey, { status: "ok", by: "gone-node" }, "gone-node")).then(() => "stored", (e: { code?: string }) => e.code)).toBe("ERR_OAP_IDEMPOTENCY_LEASE_LOST");
      // a further retry on either node gets the stored response
      const again = envelope({ idempotency_key: key, input: { location: "Vienna", days: 2 } });
      expect((await post(`${n2.url}/oap/invoke`, again, oapHeaders(again))).body).toEqual(answer.body);
    } finally {
      await store.close();
    }
  });
});
