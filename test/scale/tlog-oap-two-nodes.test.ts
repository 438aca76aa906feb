/**
 * The node-hosted transparency log on a cluster: two `agentwire serve` processes on ONE
 * PostgreSQL database, both configured with `"tlog": {"origin": …}`, host the weather Tool and
 * anchor every receipt in the ONE log they share. 30 invocations split across both nodes:
 * every receipt carries a verified anchor (verifyReceiptChain with the log key, minAnchors 1),
 * the anchors name 30 distinct leaves, both nodes serve the same checkpoint of exactly those 30
 * leaves, and every checkpoint cited by an anchor is consistent with the final one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportPublicJwk, publicKeyFor } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { parseTlogProof } from "../../src/oap/anchors.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import { openCheckpoint } from "../../src/trust/tlog/checkpoint.js";
import { TlogClient, toVerifiers } from "../../src/trust/tlog/client.js";
import { envelope, oapHeaders, post, principal } from "../oap/server-helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "../store/postgres-server.js";
import { BIN, CLUSTER_IDENTITY, prepareCluster, serve, stop, type Served } from "./cluster.js";

const ORIGIN = "log.contact-centre.example";

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("one transparency log hosted by two nodes on one PostgreSQL database", () => {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-tlog-oap-"));
  let server: TestPostgres;
  let db: pg.Pool;
  let nodes: Served[] = [];
  let cluster: { dataDirs: string[]; config: string };

  beforeAll(async () => {
    server = await startTestPostgres();
    const url = await server.createDatabase();
    db = new pg.Pool({ connectionString: url, max: 2 });
    cluster = await prepareCluster(dir, 2, []);
    const config = JSON.parse(readFileSync(cluster.config, "utf8")) as JsonObject;
    writeFileSync(cluster.config, JSON.stringify({ ...config, tlog: { origin: ORIGIN } }));
    nodes = await Promise.all(cluster.dataDirs.map((data) => serve({ data, config: cluster.config, store: url })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => stop(n)));
    await db?.end();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("receipts from both nodes are anchored in one log that both serve", async () => {
    const vkey = String(nodes[0]!.listening["tlogVerifierKey"]);
    expect(nodes[0]!.listening).toMatchObject({ tlogOrigin: ORIGIN, tlog: `${nodes[0]!.url}/tlog` });
    expect(nodes[1]!.listening["tlogVerifierKey"]).toBe(vkey);

    const answers: JsonObject[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = next++; i < 30; i = next++) {
          const env = envelope({ idempotency_key: `anchored-${i}`, input: { location: "Leeds", days: 1 + (i % 5) } });
          const r = await post(`${nodes[w % 2]!.url}/oap/invoke`, env, oapHeaders(env));
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          answers.push(r.body);
        }
      }),
    );
    for (const a of answers) expect((a["receipt"] as JsonObject)["anchored_in"]).toEqual([ORIGIN]);

    const rows = (await db.query<{ receipt: string }>("SELECT receipt FROM oap_receipts WHERE principal = $1 ORDER BY seq", [principal.did])).rows;
    const chain = rows.map((r) => JSON.parse(r.receipt) as JsonObject);
    expect(chain).toHaveLength(30);
    const signing = publicKeyFor(exportPublicJwk((await loadOrCreateKeys(cluster.dataDirs[0]!)).keys.find((k) => k.alg === "EdDSA")!));
    const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_IDENTITY.did}#`) ? signing : undefined) }, logKeys: [vkey], minAnchors: 1 });
    expect(report.firstBroken).toBeUndefined();
    expect(report).toMatchObject({ ok: true, anchorsVerified: 30, anchorsSkipped: 0 });

    const anchors = chain.map((r) => (r["anchors"] as JsonObject[])[0]!);
    expect(new Set(anchors.map((a) => a["log_index"])).size).toBe(30);
    const clients = nodes.map((n) => new TlogClient(`${n.url}/tlog`, { verifiers: [vkey], origin: ORIGIN }));
    const final = await clients[0]!.checkpoint();
    expect((await clients[1]!.checkpoint()).note).toBe(final.note);
    expect(final.size).toBe(30);
    for (const a of anchors) {
      const cited = openCheckpoint(parseTlogProof(a["inclusion_proof"]).checkpoint, toVerifiers([vkey]), { origin: ORIGIN });
      await clients[1]!.verifyConsistency(cited, final);
    }
  }, 60_000);
});
