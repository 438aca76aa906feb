/**
 * The node-hosted transparency log on a cluster: two `agentwire serve` processes on ONE
 * PostgreSQL database, both configured with `"tlog": {"origin": …}`, host the weather Tool and
 * anchor every receipt in the ONE log they share. 30 invocations split across both nodes:
 * every receipt carries a verified anchor (verifyReceiptChain with the log key, minAnchors 1),
 * the anchors name 30 distinct leaves, both nodes serve the same checkpoint of exactly those 30
 * leaves, and every checkpoint cited by an anchor is consistent with the final one.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exportPublicJwk, publicKeyFor } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { parseTlogProof } from "../../src/oap/anchors.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import { openCheckpoint } from "../../src/trust/tlog/checkpoint.js";
import { TlogClient, toVerifiers } from "../../src/trust/tlog/client.js";
import { envelope, oapHeaders, post, principal } from "../oap/server-helpers.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, CLUSTER_IDENTITY, postgresCluster } from "./cluster.js";

const ORIGIN = "log.contact-centre.example";

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("one transparency log hosted by two nodes on one PostgreSQL database", () => {
  const c = postgresCluster("tlog-oap", { config: { tlog: { origin: ORIGIN } } });

  it("receipts from both nodes are anchored in one log that both serve", async () => {
    const vkey = String(c.nodes[0]!.listening["tlogVerifierKey"]);
    expect(c.nodes[0]!.listening).toMatchObject({ tlogOrigin: ORIGIN, tlog: `${c.nodes[0]!.url}/tlog` });
    expect(c.nodes[1]!.listening["tlogVerifierKey"]).toBe(vkey);

    const answers: JsonObject[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = next++; i < 30; i = next++) {
          const env = envelope({ idempotency_key: `anchored-${i}`, input: { location: "Leeds", days: 1 + (i % 5) } });
          const r = await post(`${c.nodes[w % 2]!.url}/oap/invoke`, env, oapHeaders(env));
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          answers.push(r.body);
        }
      }),
    );
    for (const a of answers) expect((a["receipt"] as JsonObject)["anchored_in"]).toEqual([ORIGIN]);

    const rows = (await c.db.query<{ receipt: string }>("SELECT receipt FROM oap_receipts WHERE principal = $1 ORDER BY seq", [principal.did])).rows;
    const chain = rows.map((r) => JSON.parse(r.receipt) as JsonObject);
    expect(chain).toHaveLength(30);
    const signing = publicKeyFor(exportPublicJwk((await loadOrCreateKeys(c.cluster.dataDirs[0]!)).keys.find((k) => k.alg === "EdDSA")!));
    const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_IDENTITY.did}#`) ? signing : undefined) }, logKeys: [vkey], minAnchors: 1 });
    expect(report.firstBroken).toBeUndefined();
    expect(report).toMatchObject({ ok: true, anchorsVerified: 30, anchorsSkipped: 0 });

    const anchors = chain.map((r) => (r["anchors"] as JsonObject[])[0]!);
    expect(new Set(anchors.map((a) => a["log_index"])).size).toBe(30);
    const clients = c.nodes.map((n) => new TlogClient(`${n.url}/tlog`, { verifiers: [vkey], origin: ORIGIN }));
    const final = await clients[0]!.checkpoint();
    expect((await clients[1]!.checkpoint()).note).toBe(final.note);
    expect(final.size).toBe(30);
    for (const a of anchors) {
      const cited = openCheckpoint(parseTlogProof(a["inclusion_proof"]).checkpoint, toVerifiers([vkey]), { origin: ORIGIN });
      await clients[1]!.verifyConsistency(cited, final);
    }
  }, 60_000);
});
