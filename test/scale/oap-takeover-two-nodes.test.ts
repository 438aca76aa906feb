/**
 * A node killed in the middle of a synchronous call, on a cluster: two `agentwire serve` processes
 * on ONE PostgreSQL database host a Tool whose get_forecast (idempotent, §8.4) takes 2.5 s. A call
 * with an OAP-Idempotency-Key goes to node 1; once its reservation is `in_flight` (owned by node 1)
 * node 1 is SIGKILLed mid-call. The client retries on node 2 with a new envelope, the same key and
 * input: 409 while node 1's lease still holds, then node 2 takes the reservation over, runs the
 * call, and answers 200. Exactly one receipt exists for the call, the reservation is completed by
 * node 2 with that response, and a further retry gets it byte for byte (docs/scale-out.md "Leases").
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { envelope, oapHeaders, post, principal, type HttpAnswer } from "../oap/server-helpers.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, kill9, postgresCluster, weatherToolModule } from "./cluster.js";

const LEASE_MS = 1_200;
const WORK_MS = 2_500;

async function until<T>(probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not reached");
}

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("a node SIGKILLed mid-call: another node takes the call over", () => {
  const c = postgresCluster("oap-takeover", {
    config: { oap: { rateLimits: "node", leases: { idempotencyMs: LEASE_MS, taskMs: LEASE_MS } } },
    serveArgs: (dir) => ["--no-oap-example", "--oap-tool", weatherToolModule(dir, { id: "weather-slow", delayMs: WORK_MS })],
  });

  it("409 while the dead node's lease holds, then 200 from the survivor; one receipt; the answer is stored", async () => {
    const [n1, n2] = [c.nodes[0]!, c.nodes[1]!];
    const key = "mid-call-kill-1";
    const input = { location: "Graz", days: 2 };
    const storeKey = `${principal.did}\\0get_forecast\\0${key}`;
    const row = async () => (await c.db.query<{ state: string; owner: string | null }>("SELECT state, owner FROM oap_idempotency WHERE tool = 'weather-slow' AND key = $1", [storeKey])).rows[0];

    const first = envelope({ idempotency_key: key, input });
    const lost = post(`${n1.url}/oap/invoke`, first, oapHeaders(first)).then(
      () => "answered",
      () => "connection lost",
    );
    const reserved = await until(async () => {
      const r = await row();
      return r?.state === "in_flight" ? r : undefined;
    });
    expect(reserved.owner).toBe(n1.listening["oapNodeId"]);
    await kill9(n1);
    expect(await lost).toBe("connection lost");

    const statuses: number[] = [];
    const answer = await until(async (): Promise<HttpAnswer | undefined> => {
      const retry = envelope({ idempotency_key: key, input });
      const r = await post(`${n2.url}/oap/invoke`, retry, oapHeaders(retry));
      statuses.push(r.status);
      if (r.status === 409) {
        await new Promise((res) => setTimeout(res, 200));
        return undefined;
      }
      return r;
    }, 30_000);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body["status"]).toBe("ok");
    // Reported, not asserted: how many retries met the live lease.
    console.log(JSON.stringify({ event: "oap-midcall-takeover", leaseMs: LEASE_MS, workMs: WORK_MS, answers: statuses }));
    expect(statuses.slice(0, -1).every((s) => s === 409)).toBe(true);

    expect(await row()).toMatchObject({ state: "completed", owner: n2.listening["oapNodeId"] });
    const receiptId = (answer.body["receipt"] as JsonObject)["id"];
    const receipts = await c.db.query<{ receipt_id: string }>(
      "SELECT receipt_id FROM oap_receipts WHERE tool = 'weather-slow' AND receipt::jsonb ->> 'input_hash' = (SELECT receipt::jsonb ->> 'input_hash' FROM oap_receipts WHERE receipt_id = $1)",
      [receiptId],
    );
    expect(receipts.rows.map((r) => r.receipt_id)).toEqual([receiptId]);
    const again = envelope({ idempotency_key: key, input });
    expect((await post(`${n2.url}/oap/invoke`, again, oapHeaders(again))).body).toEqual(answer.body);
  }, 60_000);
});
