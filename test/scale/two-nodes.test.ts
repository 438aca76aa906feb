/**
 * Scale-out: two `agentwire serve` processes (one identity, one key file) against ONE
 * PostgreSQL database. The handoff state, the answer cache, the `(id, nonce)` replay store and
 * the per-kid rate limit are shared: a PROPOSE accepted by node 1 and replayed to node 2 gets
 * node 1's answer (or, without the cached answer, a replay REJECT); an ACCEPT on node 1 is
 * completed by an ASSUME on node 2, even with node 1 killed in between.
 */
import { existsSync } from "node:fs";
import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../src/conformance/world.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import type { JsonObject } from "../../src/json/types.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import type { HandoffRecord } from "../../src/ohp/control/store.js";
import { MIGRATIONS } from "../../src/store/index.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, kill9, postgresCluster, senderNode, senderParty, serve, type Served } from "./cluster.js";

const SENDER = senderParty(71, "ivr");
const NOISY = senderParty(81, "noisy");
const RACER = senderParty(61, "racer");
const RATE = { max: 12, windowMs: 60_000 };

const ctrl = (e: JsonObject | undefined) => (e?.["control"] ?? {}) as Record<string, unknown>;

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("two nodes, one PostgreSQL database", () => {
  // Both nodes start at once on an empty database: the migrations race and must apply once.
  const c = postgresCluster("2nodes", { senders: [SENDER, NOISY, RACER], policy: { rateLimit: RATE } });
  let url: string;
  let db: pg.Pool;
  let n1: Served;
  let n2: Served;
  let cluster: { dataDirs: string[]; config: string };
  beforeAll(() => {
    ({ url, db, cluster } = c);
    [n1, n2] = c.nodes as [Served, Served];
  });

  const row = async (id: string): Promise<HandoffRecord | undefined> => {
    const r = await db.query<{ record: string }>("SELECT record FROM ohp_handoffs WHERE role = 'receiver' AND id = $1", [id]);
    return r.rows[0] === undefined ? undefined : (JSON.parse(r.rows[0].record) as HandoffRecord);
  };

  it("both nodes came up on the shared store; the schema was migrated exactly once", async () => {
    for (const n of [n1, n2]) {
      expect(n.listening["store"]).toBe("postgres");
      expect(n.listening["keysCreated"]).toBe(false);
      expect(String(n.listening["storeLocation"])).toContain(`127.0.0.1:${c.server.port}`);
    }
    const applied = [n1, n2].flatMap((n) => n.listening["migrationsApplied"] as number[]);
    expect(applied.sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await db.query("SELECT version FROM schema_migrations ORDER BY version")).rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    const health = (await (await fetch(`${n2.url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, store: "postgres" });
  });

  it("a PROPOSE accepted by node 1 and replayed to node 2 gets the same answer (shared answer cache); without the cached answer it is rejected as a replay (shared replay store)", async () => {
    const a = senderNode(SENDER);
    const p1 = await discoverPeer(n1.url, "ohp/https", { cache: new Map() });
    const p2 = await discoverPeer(n2.url, "ohp/https", { cache: new Map() });
    const r = await a.propose(p1, builderInputOf(baseEnvelope("signed")));
    expect(r.verb, JSON.stringify(r.answer?.["transcript"])).toBe("ACCEPT");
    expect((await row(r.handoffId))?.state).toBe("ACCEPTED");
    const propose = (await a.handoffs("sender")).find((h) => h.id === r.handoffId)!.envelopes["PROPOSE"]!;

    const replayed = await httpsTransport().send(p2, propose, {});
    expect(replayed).toEqual(r.answer);

    // The cached answer gone (swept, or never written because node 1 died before it): node 2
    // answers from the shared handoff record, without deciding again.
    await db.query("DELETE FROM ohp_answers WHERE envelope_id = $1", [r.handoffId]);
    expect(await httpsTransport().send(p2, propose, {})).toEqual(r.answer);
    expect((await row(r.handoffId))?.history.map((h) => h.event)).toEqual(["accept-sent"]);
    // With the record gone too, node 2 still refuses the envelope: its (id, nonce) is in the
    // shared replay store.
    await db.query("DELETE FROM ohp_answers WHERE envelope_id = $1", [r.handoffId]);
    await db.query("DELETE FROM ohp_handoffs WHERE id = $1", [r.handoffId]);
    const again = await httpsTransport().send(p2, propose, {});
    expect(ctrl(again)["verb"]).toBe("REJECT");
    expect(String((again?.["transcript"] as JsonObject)["summary"])).toMatch(/already received/);
  });

  it("ACCEPT on node 1, then node 1 is killed (-9); ASSUME on node 2 moves the shared handoff to HANDED_OFF", async () => {
    const a = senderNode(SENDER);
    const p1 = await discoverPeer(n1.url, "ohp/https", { cache: new Map() });
    const p2 = await discoverPeer(n2.url, "ohp/https", { cache: new Map() });
    const r = await a.propose(p1, builderInputOf(baseEnvelope("signed")));
    expect(r.verb).toBe("ACCEPT");
    await kill9(n1);
    const assumed = await a.assume(p2, r.handoffId);
    expect(assumed.state).toBe("HANDED_OFF");
    expect(ctrl(assumed.answer)["verb"]).toBe("ACCEPT");
    const held = await row(r.handoffId);
    expect(held?.state).toBe("HANDED_OFF");
    expect(held?.history.map((h) => h.event)).toEqual(["accept-sent", "assume-received"]);
    expect(Object.keys(held?.envelopes ?? {}).sort()).toEqual(["ACCEPT", "ASSUME", "ASSUME/answer", "PROPOSE"]);
    // Node 1 restarts on the same store and sees the handoff as node 2 left it.
    n1 = c.nodes[0] = await serve({ data: cluster.dataDirs[0]!, config: cluster.config, store: url });
    expect(n1.listening["migrationsApplied"]).toEqual([]);
    const health = (await (await fetch(`${n1.url}/healthz`)).json()) as Record<string, number>;
    expect(health["handoffs"]).toBeGreaterThanOrEqual(1);
    // A duplicate of the ASSUME sent to node 1 now gets node 2's answer from the cache.
    const assume = (await a.handoffs("sender")).find((h) => h.id === r.handoffId)!.envelopes["ASSUME"]!;
    expect(await httpsTransport().send(await discoverPeer(n1.url, "ohp/https", { cache: new Map() }), assume, {})).toEqual(assumed.answer);
  });

  it("two ASSUMEs for one handoff racing on the two nodes: exactly one is ACCEPTed, the record has one assume-received", async () => {
    const c = senderNode(RACER);
    const p1 = await discoverPeer(n1.url, "ohp/https", { cache: new Map() });
    const p2 = await discoverPeer(n2.url, "ohp/https", { cache: new Map() });
    for (let round = 0; round < 3; round++) {
      const r = await c.propose(round % 2 === 0 ? p1 : p2, builderInputOf(baseEnvelope("signed")));
      expect(r.verb).toBe("ACCEPT");
      const answers = await Promise.all([c.assume(p1, r.handoffId), c.assume(p2, r.handoffId)]);
      expect(answers.map((a) => ctrl(a.answer)["verb"]).sort()).toEqual(["ACCEPT", "REJECT"]);
      const held = await row(r.handoffId);
      expect(held?.state).toBe("HANDED_OFF");
      expect(held?.history.filter((h) => h.event === "assume-received")).toHaveLength(1);
    }
  });

  it("the per-kid rate limit is shared: 12 per minute across both nodes, the 13th is rejected on either", async () => {
    const b = senderNode(NOISY);
    const peers = [await discoverPeer(n1.url, "ohp/https", { cache: new Map() }), await discoverPeer(n2.url, "ohp/https", { cache: new Map() })];
    const verbs: string[] = [];
    for (let i = 0; i < RATE.max; i++) {
      const r = await b.propose(peers[i % 2]!, builderInputOf(baseEnvelope("signed")));
      verbs.push(r.verb ?? "none");
    }
    expect(verbs).toEqual(Array(RATE.max).fill("ACCEPT"));
    for (const p of peers) {
      const r = await b.propose(p, builderInputOf(baseEnvelope("signed")));
      expect(r.verb).toBe("REJECT");
      expect(r.reason).toBe("rate-limit");
    }
    const kid = SENDER.keys[0]!.kid;
    const rows = (await db.query<{ kid: string; count: string }>("SELECT kid, count FROM ohp_rate_limits")).rows;
    expect(rows.find((x) => x.kid === NOISY.keys[0]!.kid)?.count).toBe(String(RATE.max + 2));
    expect(rows.some((x) => x.kid === kid)).toBe(true);
  });
});
