/**
 * State that must be global across the nodes of a cluster, on PostgreSQL (docs/scale-out.md
 * "What is global"): the §7 OAP `rpm` windows (PostgresOapRateLimiter) and the RFC 9449 §11.1
 * DPoP `jti` replay cache (PostgresDpopReplayCache). Two pools on one database stand for two
 * nodes. Plus the node's one pool shared by all its stores (openHandoffStore). Skipped only when
 * the PostgreSQL binaries are absent.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../src/crypto/keys.js";
import { RateLimiter, rateLimitKey, type OapRateLimiter, type RateLimit, type RateLimitDecision } from "../../src/oap/rate-limit.js";
import { createDpopProof } from "../../src/trust/dpop/create.js";
import { verifyDpopProof } from "../../src/trust/dpop/verify.js";
import { InMemoryDpopReplayCache } from "../../src/trust/dpop/replay.js";
import { migrate, MIGRATIONS, openHandoffStore, PostgresDpopReplayCache, PostgresHandoffStore, PostgresOapRateLimiter } from "../../src/store/index.js";
import { codeOf, TestClock } from "../oap/helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

const P = "did:web:principal.example";
const KEY = rateLimitKey(P, "get_forecast");

describe.skipIf(!HAVE_POSTGRES)("cluster-global state on PostgreSQL", () => {
  let server: TestPostgres;
  let url: string;
  /** Two pools = two nodes. */
  let node1: pg.Pool;
  let node2: pg.Pool;
  beforeAll(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase();
    node1 = new pg.Pool({ connectionString: url, max: 10 });
    node2 = new pg.Pool({ connectionString: url, max: 10 });
    await migrate(node1, MIGRATIONS);
  }, 60_000);
  afterAll(async () => {
    await node1?.end();
    await node2?.end();
    await server?.stop();
  });

  const limiters = (tool: string, clock?: TestClock): [PostgresOapRateLimiter, PostgresOapRateLimiter] => [
    new PostgresOapRateLimiter({ pool: node1, tool, ...(clock ? { clock: clock.now } : {}) }),
    new PostgresOapRateLimiter({ pool: node2, tool, ...(clock ? { clock: clock.now } : {}) }),
  ];
  const admitted = (ds: readonly RateLimitDecision[]): number => ds.filter((d) => d.allowed).length;

  describe("§7 rpm shared by two nodes (PostgresOapRateLimiter)", () => {
    it("80 calls raced from two nodes with rpm 10: exactly 10 admitted, the rest refused for rpm", async () => {
      const [a, b] = limiters("race");
      const limit: RateLimit = { rpm: 10, concurrent: 1000 };
      const ds = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? a : b).acquire(KEY, limit)));
      expect(admitted(ds)).toBe(10);
      for (const d of ds.filter((x) => !x.allowed)) expect(d).toMatchObject({ reason: "rpm", error: { code: "ERR_OAP_RATE_LIMITED", httpStatus: 429 } });
    });

    it("the last slot: 9 used, then 30 calls from both nodes race for it → exactly one wins", async () => {
      const clock = new TestClock();
      const [a, b] = limiters("last-slot", clock);
      const limit: RateLimit = { rpm: 10, concurrent: 1000 };
      for (let i = 0; i < 9; i++) expect((await (i % 2 === 0 ? a : b).acquire(KEY, limit)).allowed).toBe(true);
      const ds = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).acquire(KEY, limit)));
      expect(admitted(ds)).toBe(1);
    });

    it("the same sliding window and Retry-After as the in-memory limiter, whichever node admitted the calls", async () => {
      const clock = new TestClock();
      const [a, b] = limiters("window", clock);
      const memory = new RateLimiter({ clock: clock.now });
      const limit: RateLimit = { rpm: 3, concurrent: 10 };
      const both = async (l: OapRateLimiter): Promise<[RateLimitDecision, RateLimitDecision]> => [await l.acquire(KEY, limit), await memory.acquire(KEY, limit)];
      for (const l of [a, b, a]) {
        const [shared, mem] = await both(l);
        expect(shared.allowed).toBe(true);
        expect(mem.allowed).toBe(true);
        clock.advance(10_000);
      }
      // t = 30 s: the window holds 0, 10, 20 s → refused until the call at 0 s leaves it (30 s).
      const [refused, memRefused] = await both(b);
      expect(refused).toMatchObject({ allowed: false, reason: "rpm", retryAfterSeconds: 30, error: { code: "ERR_OAP_RATE_LIMITED", retryAfterSeconds: 30 } });
      expect(memRefused).toMatchObject({ allowed: false, retryAfterSeconds: 30 });
      // Another Principal, and the same key on another tool, have windows of their own.
      expect((await b.acquire(rateLimitKey("did:web:other.example", "get_forecast"), limit)).allowed).toBe(true);
      expect((await limiters("window-other-tool", clock)[0].acquire(KEY, limit)).allowed).toBe(true);
      clock.advance(30_000);
      // t = 60 s: the call at 0 s has left the window.
      expect((await a.acquire(KEY, limit)).allowed).toBe(true);
      expect((await b.acquire(KEY, limit)).allowed).toBe(false);
    });

    it("concurrency is counted per node: a third call in flight on one node is refused, the other node admits it; release gives the slot back", async () => {
      const [a, b] = limiters("concurrent");
      const limit: RateLimit = { rpm: 100, concurrent: 2 };
      const x = await a.acquire(KEY, limit);
      const y = await a.acquire(KEY, limit);
      expect([x.allowed, y.allowed]).toEqual([true, true]);
      expect(await a.acquire(KEY, limit)).toMatchObject({ allowed: false, reason: "concurrent", retryAfterSeconds: 1, error: { code: "ERR_OAP_CONCURRENCY_LIMITED" } });
      const z = await b.acquire(KEY, limit);
      expect(z.allowed).toBe(true);
      if (x.allowed) {
        x.release();
        x.release();
      }
      expect(a.inFlight(KEY)).toBe(1);
      expect((await a.acquire(KEY, limit)).allowed).toBe(true);
    });

    it("a call refused for rpm holds no concurrency slot", async () => {
      const [a] = limiters("rpm-then-concurrent");
      expect((await a.acquire(KEY, { rpm: 1, concurrent: 1 })).allowed).toBe(true);
      expect(await a.acquire(KEY, { rpm: 1, concurrent: 5 })).toMatchObject({ allowed: false, reason: "rpm" });
      expect(a.inFlight(KEY)).toBe(1);
    });

    it("sweep deletes the rows of keys with nothing left in the window, and only this tool's", async () => {
      const clock = new TestClock();
      const [a] = limiters("sweep", clock);
      const [other] = limiters("sweep-other", clock);
      await a.acquire(KEY, { rpm: 5, concurrent: 5 });
      await other.acquire(KEY, { rpm: 5, concurrent: 5 });
      clock.advance(59_000);
      expect(await a.sweepIdle()).toBe(0);
      clock.advance(1_000);
      expect(await a.sweepIdle()).toBe(1);
      const rows = (await node1.query<{ tool: string }>("SELECT tool FROM oap_rate_limits WHERE tool LIKE 'sweep%'")).rows.map((r) => r.tool);
      expect(rows).toEqual(["sweep-other"]);
    });

    it("a database failure refuses the call with ERR_OAP_MAINTENANCE (503) and frees the concurrency slot", async () => {
      const dead = new pg.Pool({ connectionString: url, max: 1 });
      await dead.end();
      const l = new PostgresOapRateLimiter({ pool: dead, tool: "dead" });
      expect(await codeOf(() => l.acquire(KEY, { rpm: 5, concurrent: 1 }))).toBe("ERR_OAP_MAINTENANCE");
      expect(l.inFlight(KEY)).toBe(0);
    });
  });

  describe("RFC 9449 §11.1 DPoP jti single-use across nodes (PostgresDpopReplayCache)", () => {
    it("a key stored through one node is a replay on the other until it expires", async () => {
      const c1 = new PostgresDpopReplayCache({ pool: node1 });
      const c2 = new PostgresDpopReplayCache({ pool: node2 });
      expect(await c1.checkAndStore("jkt:jti-1", 2000, 1000)).toBe(true);
      expect(await c2.checkAndStore("jkt:jti-1", 2500, 1999)).toBe(false);
      expect(await c1.checkAndStore("jkt:jti-1", 2500, 1999)).toBe(false);
      // Expired at 2000 (as InMemoryDpopReplayCache): usable again.
      expect(await c2.checkAndStore("jkt:jti-1", 4000, 2000)).toBe(true);
      expect(await c1.checkAndStore("jkt:jti-1\u0000x", 4000, 2000)).toBe(true);
    });

    it("40 parallel first uses of one jti split over two nodes: exactly one succeeds", async () => {
      const caches = [new PostgresDpopReplayCache({ pool: node1 }), new PostgresDpopReplayCache({ pool: node2 })];
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => caches[i % 2]!.checkAndStore("jkt:race", 10_000, 1000)));
      expect(rs.filter(Boolean)).toHaveLength(1);
    });

    it("a DPoP proof verified on node 1 is refused on node 2 (ERR_DPOP_REPLAY); with per-node memory caches it would pass twice", async () => {
      const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x44));
      const now = new Date();
      const proof = await createDpopProof({ key, htm: "POST", htu: "https://cc.example/ohp/v1/handoff", iat: now });
      const verify = (replayCache: PostgresDpopReplayCache | InMemoryDpopReplayCache) => verifyDpopProof(proof, { htm: "POST", htu: "https://cc.example/ohp/v1/handoff", now, replayCache });
      await expect(verify(new PostgresDpopReplayCache({ pool: node1 }))).resolves.toMatchObject({ alg: "EdDSA" });
      expect(await codeOf(() => verify(new PostgresDpopReplayCache({ pool: node2 })))).toBe("ERR_DPOP_REPLAY");
      await verify(new InMemoryDpopReplayCache());
      await verify(new InMemoryDpopReplayCache());
    });

    it("expired entries are swept", async () => {
      const c = new PostgresDpopReplayCache({ pool: node1, sweepEvery: 0 });
      await c.checkAndStore("jkt:sweep-1", 5_000, 1_000);
      await c.checkAndStore("jkt:sweep-2", 50_000, 1_000);
      expect(await c.sweepExpired(10_000)).toBeGreaterThanOrEqual(1);
      expect(await c.checkAndStore("jkt:sweep-2", 60_000, 10_000)).toBe(false);
      expect(await c.checkAndStore("jkt:sweep-1", 60_000, 10_000)).toBe(true);
    });

    it("a database failure is ERR_STORE_UNAVAILABLE (the verifier refuses the proof)", async () => {
      const dead = new pg.Pool({ connectionString: url, max: 1 });
      await dead.end();
      expect(await codeOf(() => new PostgresDpopReplayCache({ pool: dead }).checkAndStore("k", 2, 1))).toBe("ERR_STORE_UNAVAILABLE");
    });
  });

  describe("one pool per node (openHandoffStore)", () => {
    it("the handoff, OAP and wallet stores, the limiters and the DPoP cache use one pool; closing a tool's store leaves it open; close() ends it once", async () => {
      const o = await openHandoffStore(url, { dataDir: "/nonexistent", rateLimit: { max: 5, windowMs: 1000 } });
      const pool = (o.store as PostgresHandoffStore).pool;
      const [t1, t2] = await Promise.all(["t1", "t2"].map((t) => o.openOapStore!(t)));
      const wallet = await o.openWalletStore!();
      const now = Date.now();
      expect(await t1!.nonces.checkAndStore("n", now + 10_000, now)).toBe(true);
      expect(await o.dpopReplayCache!.checkAndStore("jkt:pool", now + 10_000, now)).toBe(true);
      const limiter = o.openOapRateLimiter!("t1");
      expect((await limiter.acquire(KEY, { rpm: 5, concurrent: 5 })).allowed).toBe(true);
      await t1!.close();
      expect(pool.ended).toBe(false);
      expect(await t2!.nonces.checkAndStore("n", now + 10_000, now)).toBe(true);
      await o.store.close();
      await o.close();
      await o.close();
      expect(pool.ended).toBe(true);
      // Everything opened through `o` was on that pool: it is gone for all of them at once.
      expect(await codeOf(() => t2!.nonces.checkAndStore("m", now + 10_000, now))).toBe("ERR_OAP_MAINTENANCE");
      expect(await codeOf(() => limiter.acquire(KEY, { rpm: 5, concurrent: 5 }))).toBe("ERR_OAP_MAINTENANCE");
      expect(await codeOf(() => o.dpopReplayCache!.checkAndStore("jkt:pool-2", now + 10_000, now))).toBe("ERR_STORE_UNAVAILABLE");
      expect(await codeOf(() => wallet.transaction(() => undefined))).not.toBe("no error");
    });
  });
});
