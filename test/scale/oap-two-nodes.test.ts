/**
 * Scale-out for OAP: two `agentwire serve` processes (one identity, one key file) hosting the
 * weather Tool on ONE PostgreSQL database (`--store postgres://…` gives the hosted tools a
 * PostgresOapStore). A task created through node 1 is polled to completion through node 2;
 * 40 invocations for one Principal, 12 in flight split across both nodes, all succeed and leave one
 * linear receipt chain (verifyReceiptChain, signatures checked with the cluster key); nonces and
 * idempotency keys are global (a replay on the other node is refused, a retry with the same
 * idempotency key on the other node gets the first node's response).
 */
import { existsSync } from "node:fs";
import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { exportPublicJwk, publicKeyFor } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import { signCallerRequest } from "../../src/oap/server/caller-auth.js";
import { MIGRATIONS } from "../../src/store/index.js";
import { agent, envelope, oapHeaders, post, principal } from "../oap/server-helpers.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, CLUSTER_IDENTITY, postgresCluster, type Served } from "./cluster.js";

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("OAP on two nodes, one PostgreSQL database", () => {
  const c = postgresCluster("oap-2nodes");
  let db: pg.Pool;
  let n1: Served;
  let n2: Served;
  let cluster: { dataDirs: string[]; config: string };
  beforeAll(() => {
    ({ db, cluster } = c);
    [n1, n2] = c.nodes as [Served, Served];
  });

  const signedGet = (u: string) => fetch(u, { headers: signCallerRequest({ method: "GET", url: u }, agent.signer) });

  it("both nodes host the Tool on the shared store; all migrations (OHP, OAP, wallet) applied exactly once", async () => {
    const applied = [n1, n2].flatMap((n) => n.listening["migrationsApplied"] as number[]).sort();
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    for (const n of [n1, n2]) {
      const m = (await (await fetch(`${n.url}/.well-known/oap-tool.json`)).json()) as JsonObject;
      expect((m["tool"] as JsonObject)["did"]).toBe(CLUSTER_IDENTITY.did);
    }
  });

  it("a task created on node 1 is polled to completion on node 2", async () => {
    const env = envelope({ action: "climate_report", input: { location: "Vienna", from_year: 2001, to_year: 2003 } });
    const r = await post(`${n1.url}/oap/invoke`, env, oapHeaders(env));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const id = String(r.body["task_id"]).slice("urn:oap:task:".length);
    const poll2 = `${n2.url}/oap/tasks/${id}`;
    const first = await signedGet(poll2);
    expect([200, 202]).toContain(first.status);
    let done: JsonObject | undefined;
    for (let i = 0; i < 400 && done === undefined; i++) {
      const t = (await (await signedGet(poll2)).json()) as JsonObject;
      if (t["status"] === "completed") done = t;
      else await new Promise((res) => setTimeout(res, 25));
    }
    expect(done?.["receipt"]).toMatchObject({ type: "task_completion", action_id: "climate_report" });
    expect((done!["transitions"] as JsonObject[]).map((x) => x["status"])).toEqual(["submitted", "accepted", "working", "completed"]);
  });

  it("40 invocations for one Principal, 12 at a time split across both nodes: all answered, one linear receipt chain", async () => {
    // 12 in flight (6 per node), 20 per node: under get_forecast's per-node limits (concurrent 10, 60 rpm; the limiter is per node).
    const answers: { status: number; body: JsonObject }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, w) => {
        for (let i = next++; i < 40; i = next++) {
          const env = envelope({ idempotency_key: `split-${i}`, input: { location: "Berlin", days: 1 + (i % 5) } });
          answers.push(await post(`${(w % 2 === 0 ? n1 : n2).url}/oap/invoke`, env, oapHeaders(env)));
        }
      }),
    );
    expect(answers.map((a) => a.status), JSON.stringify(answers.find((a) => a.status !== 200)?.body)).toEqual(Array.from({ length: 40 }, () => 200));
    const rows = (await db.query<{ receipt: string; seq: string }>("SELECT receipt, seq FROM oap_receipts WHERE principal = $1 ORDER BY seq", [principal.did])).rows;
    const chain = rows.map((r) => JSON.parse(r.receipt) as JsonObject);
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    const ids = chain.map((r) => String(r["receipt_id"]));
    expect(new Set(ids).size).toBe(ids.length);
    for (const a of answers) expect(ids.filter((x) => x === String((a.body["receipt"] as JsonObject)["id"]))).toHaveLength(1);
    const signing = publicKeyFor(exportPublicJwk((await loadOrCreateKeys(cluster.dataDirs[0]!)).keys.find((k) => k.alg === "EdDSA")!));
    const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_IDENTITY.did}#`) ? signing : undefined) } });
    expect(report.firstBroken).toBeUndefined();
    expect(report).toMatchObject({ ok: true, signaturesVerified: true, receipts: chain.length });
  });

  it("nonces and idempotency keys are global: a replay on the other node is refused; a retry there gets the first response", async () => {
    const env = envelope({ idempotency_key: "cross-node-1" });
    const first = await post(`${n1.url}/oap/invoke`, env, oapHeaders(env));
    expect(first.status).toBe(200);
    const replay = await post(`${n2.url}/oap/invoke`, env, oapHeaders(env));
    expect([replay.status, (replay.body["error"] as JsonObject)["code"]]).toEqual([409, "conflict"]);
    const retry = envelope({ idempotency_key: "cross-node-1" });
    expect((await post(`${n2.url}/oap/invoke`, retry, oapHeaders(retry))).body).toEqual(first.body);
  });
});
