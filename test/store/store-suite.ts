/**
 * The one contract test suite every {@link HandoffStore} backend runs (memory, SQLite,
 * PostgreSQL): records, pending timers, the answer cache, the `(id, nonce)` replay store
 * (including many parallel `firstUse` calls for one key: exactly one wins), durability across a
 * reopen, and, for backends shared by several nodes, the same guarantees across two handles.
 * Backends differ only where a capability flag says so.
 */
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import type { HandoffRecord, HandoffStore } from "../../src/ohp/control/store.js";
import type { RateLimiter } from "../../src/ohp/receiver-state.js";

/** One backend under test. */
export interface StoreBackend {
  readonly name: string;
  /** A fresh, empty store. `reopen` opens the same data again (after `close`), when the backend persists. */
  open(): Promise<{ store: HandoffStore; reopen?: () => Promise<HandoffStore> }>;
  /** Two handles on the same data, as two nodes would hold them (backends meant to be shared). */
  openPair?(): Promise<[HandoffStore, HandoffStore]>;
  /** `put` refuses a write computed from a stale read (PostgreSQL); others are last-writer-wins. */
  readonly refusesStaleWrites: boolean;
}

/** One rate limiter backend under test. */
export interface RateLimiterBackend {
  readonly name: string;
  /** A fresh limiter (empty windows); `second` is another node's view of the same windows, when shared. */
  open(options: { max: number; windowMs: number }): Promise<{ limiter: RateLimiter; second?: RateLimiter; close(): Promise<void> }>;
}

let n = 0;
/** A fresh handoff id (ULID-shaped enough for the stores, unique per call). */
export function hid(prefix = "01J"): string {
  return `${prefix}${Date.now().toString(36).toUpperCase()}${(++n).toString(36).toUpperCase().padStart(6, "0")}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
}

/** A record with `steps` history entries. */
export function record(id: string, role: "sender" | "receiver", state: string, steps = 1, extra: Partial<HandoffRecord> = {}): HandoffRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, steps)).toISOString();
  return {
    id,
    role,
    state: state as HandoffRecord["state"],
    tier: "signed",
    binding: "ohp/https",
    envelopes: { PROPOSE: { id, control: { verb: "PROPOSE", nonce: "n-" + id }, transcript: { summary: "caller wants a refund — £12.50, \u{1F600}" } } },
    history: Array.from({ length: steps }, (_, i) => ({ at, event: i === 0 ? "accept-sent" : `step-${i}`, state })),
    updatedAt: at,
    ...extra,
  };
}

/** Registers the suite for `backend`. */
export function handoffStoreSuite(backend: StoreBackend): void {
  const withStore = (name: string, fn: (store: HandoffStore) => Promise<void>, timeout?: number) =>
    it(
      name,
      async () => {
        const { store } = await backend.open();
        try {
          await fn(store);
        } finally {
          await store.close();
        }
      },
      timeout,
    );

  describe(`HandoffStore contract: ${backend.name}`, () => {
    withStore("get of an unknown handoff is undefined; put/get round-trips the record exactly", async (store) => {
      expect(await store.get(hid(), "receiver")).toBeUndefined();
      const id = hid();
      const r = record(id, "receiver", "ACCEPTED", 1, {
        peer: "did:web:peer.example",
        callId: "call-1",
        assumeDeadlineMs: 1_767_225_610_000,
        envelopes: { PROPOSE: { id, nested: { a: [1, 2.5, true, null, "x\u0000y", { "é": "ü" }] } } as JsonObject },
      });
      await store.put(r);
      expect(await store.get(id, "receiver")).toEqual(r);
    });

    withStore("the role is part of the key: the same id as sender and receiver are two records", async (store) => {
      const id = hid();
      await store.put(record(id, "sender", "PROPOSING"));
      await store.put(record(id, "receiver", "ACCEPTED"));
      expect((await store.get(id, "sender"))?.state).toBe("PROPOSING");
      expect((await store.get(id, "receiver"))?.state).toBe("ACCEPTED");
      expect((await store.list("sender")).map((r) => r.id)).toEqual([id]);
      expect((await store.list("receiver")).map((r) => r.id)).toEqual([id]);
      expect(await store.list()).toHaveLength(2);
    });

    withStore("put replaces a record with its next step; list is ordered by updatedAt", async (store) => {
      const a = hid();
      const b = hid();
      await store.put(record(b, "receiver", "ACCEPTED", 2));
      await store.put(record(a, "receiver", "ACCEPTED", 1));
      await store.put(record(a, "receiver", "HANDED_OFF", 3));
      expect((await store.get(a, "receiver"))?.state).toBe("HANDED_OFF");
      expect((await store.get(a, "receiver"))?.history).toHaveLength(3);
      expect((await store.list("receiver")).map((r) => r.id)).toEqual([b, a]);
    });

    withStore("pending() is sender PROPOSING and receiver ACCEPTED, nothing else", async (store) => {
      const ids = { sp: hid(), sa: hid(), ra: hid(), rh: hid(), rr: hid() };
      await store.put(record(ids.sp, "sender", "PROPOSING"));
      await store.put(record(ids.sa, "sender", "ACCEPTED"));
      await store.put(record(ids.ra, "receiver", "ACCEPTED"));
      await store.put(record(ids.rh, "receiver", "HANDED_OFF"));
      await store.put(record(ids.rr, "receiver", "RELEASED"));
      const pending = (await store.pending()).map((r) => `${r.role}:${r.id}`).sort();
      expect(pending).toEqual([`receiver:${ids.ra}`, `sender:${ids.sp}`].sort());
    });

    withStore("answer cache: same id → same answer until it expires; a later put replaces it", async (store) => {
      const id = hid();
      expect(await store.getAnswer(id)).toBeUndefined();
      const answer = { id: hid(), control: { verb: "ACCEPT", refs: { proposedId: id } }, signatures: [{ jws: "e30..sig" }] } as JsonObject;
      await store.putAnswer(id, answer, Date.now() + 60_000);
      expect(await store.getAnswer(id)).toEqual(answer);
      const again = { ...answer, control: { verb: "REJECT", reason: "stale", refs: { proposedId: id } } } as JsonObject;
      await store.putAnswer(id, again, Date.now() + 60_000);
      expect(await store.getAnswer(id)).toEqual(again);
      const old = hid();
      await store.putAnswer(old, answer, Date.now() - 1);
      expect(await store.getAnswer(old)).toBeUndefined();
    });

    withStore("replay: first use true, replay false until expiry (inclusive), then true again; keys are independent", async (store) => {
      const key = `${hid()} nonce-1`;
      const t = 1_767_225_600_000;
      expect(await store.replay.firstUse(key, t + 10_000, t)).toBe(true);
      expect(await store.replay.firstUse(key, t + 10_000, t + 1)).toBe(false);
      expect(await store.replay.firstUse(key, t + 10_000, t + 10_000)).toBe(false);
      expect(await store.replay.firstUse(`${key}x`, t + 10_000, t + 1)).toBe(true);
      expect(await store.replay.firstUse(key, t + 20_000, t + 10_001)).toBe(true);
      expect(await store.replay.firstUse(key, t + 20_000, t + 10_002)).toBe(false);
    });

    withStore("replay: 200 parallel firstUse calls for one key → exactly one true", async (store) => {
      const key = `${hid()} nonce-par`;
      const now = Date.now();
      const results = await Promise.all(Array.from({ length: 200 }, () => Promise.resolve(store.replay.firstUse(key, now + 60_000, now))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    withStore("replay: 50 keys × 8 parallel calls each → exactly one true per key", async (store) => {
      const now = Date.now();
      const keys = Array.from({ length: 50 }, (_, i) => `${hid()} n${i}`);
      const calls = keys.flatMap((k) => Array.from({ length: 8 }, () => Promise.resolve(store.replay.firstUse(k, now + 60_000, now)).then((ok) => [k, ok] as const)));
      const wins = new Map<string, number>();
      for (const [k, ok] of await Promise.all(calls)) if (ok) wins.set(k, (wins.get(k) ?? 0) + 1);
      expect(wins.size).toBe(50);
      expect([...wins.values()].every((c) => c === 1)).toBe(true);
    });

    withStore("parallel puts of distinct handoffs all land", async (store) => {
      const ids = Array.from({ length: 60 }, () => hid());
      await Promise.all(ids.map((id) => Promise.resolve(store.put(record(id, "receiver", "ACCEPTED")))));
      const listed = new Set((await store.list("receiver")).map((r) => r.id));
      expect(ids.every((id) => listed.has(id))).toBe(true);
    });

    if (backend.refusesStaleWrites) {
      withStore("a write computed from a stale read is refused (ERR_OHP_CONTROL_STORE); the first writer's state stands", async (store) => {
        const id = hid();
        await store.put(record(id, "receiver", "ACCEPTED", 1));
        await store.put(record(id, "receiver", "HANDED_OFF", 2));
        await expect(Promise.resolve(store.put(record(id, "receiver", "RELEASED", 2)))).rejects.toMatchObject({ code: "ERR_OHP_CONTROL_STORE" });
        expect((await store.get(id, "receiver"))?.state).toBe("HANDED_OFF");
        // Racing writers from one base: exactly one wins.
        const outcomes = await Promise.allSettled(["RELEASED", "HANDED_OFF", "RETURNED", "HANDED_OFF"].map((s) => Promise.resolve(store.put(record(id, "receiver", s, 3)))));
        expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      });
    } else {
      withStore("put is last-writer-wins (single-node backend)", async (store) => {
        const id = hid();
        await store.put(record(id, "receiver", "HANDED_OFF", 2));
        await store.put(record(id, "receiver", "RELEASED", 2));
        expect((await store.get(id, "receiver"))?.state).toBe("RELEASED");
      });
    }

    it("every write is durable once it resolved: close, reopen, everything is there", async () => {
      const { store, reopen } = await backend.open();
      const id = hid();
      const key = `${id} nonce`;
      const now = Date.now();
      try {
        await store.put(record(id, "receiver", "ACCEPTED"));
        await store.putAnswer(id, { ok: true }, now + 60_000);
        expect(await store.replay.firstUse(key, now + 60_000, now)).toBe(true);
      } finally {
        await store.close();
      }
      if (reopen === undefined) return; // memory: nothing to reopen
      const again = await reopen();
      try {
        expect((await again.get(id, "receiver"))?.state).toBe("ACCEPTED");
        expect(await again.getAnswer(id)).toEqual({ ok: true });
        expect(await again.replay.firstUse(key, now + 60_000, now + 1)).toBe(false);
      } finally {
        await again.close();
      }
    });

    if (backend.openPair !== undefined) {
      const openPair = backend.openPair;
      it("two nodes on one store: records, answers and replay keys are shared; parallel firstUse across nodes → exactly one true", async () => {
        const [a, b] = await openPair();
        try {
          const id = hid();
          await a.put(record(id, "receiver", "ACCEPTED"));
          expect((await b.get(id, "receiver"))?.state).toBe("ACCEPTED");
          await b.put(record(id, "receiver", "HANDED_OFF", 2));
          expect((await a.get(id, "receiver"))?.state).toBe("HANDED_OFF");
          await a.putAnswer(id, { verb: "ACCEPT" }, Date.now() + 60_000);
          expect(await b.getAnswer(id)).toEqual({ verb: "ACCEPT" });
          const now = Date.now();
          for (let round = 0; round < 5; round++) {
            const key = `${hid()} cross-${round}`;
            const calls = Array.from({ length: 40 }, (_, i) => Promise.resolve((i % 2 === 0 ? a : b).replay.firstUse(key, now + 60_000, now)));
            expect((await Promise.all(calls)).filter(Boolean)).toHaveLength(1);
          }
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });
}

/** Registers the rate-limiter suite for `backend`. */
export function rateLimiterSuite(backend: RateLimiterBackend): void {
  describe(`RateLimiter contract: ${backend.name}`, () => {
    it("fixed window per kid: max allowed, then refused until the window ends; kids are independent", async () => {
      const { limiter, close } = await backend.open({ max: 3, windowMs: 1000 });
      try {
        const t = 1_767_225_600_000;
        const kid = `kid-${hid()}`;
        expect([await limiter.allow(kid, t), await limiter.allow(kid, t + 1), await limiter.allow(kid, t + 2)]).toEqual([true, true, true]);
        expect(await limiter.allow(kid, t + 999)).toBe(false);
        expect(await limiter.allow(`${kid}-other`, t + 999)).toBe(true);
        expect(await limiter.allow(kid, t + 1000)).toBe(true);
        expect(await limiter.allow(kid, t + 1001)).toBe(true);
        expect(await limiter.allow(kid, t + 1002)).toBe(true);
        expect(await limiter.allow(kid, t + 1003)).toBe(false);
      } finally {
        await close();
      }
    });

    it("100 parallel calls for one kid with max 10 → exactly 10 allowed (across nodes when shared)", async () => {
      const { limiter, second, close } = await backend.open({ max: 10, windowMs: 60_000 });
      try {
        const kid = `kid-${hid()}`;
        const now = Date.now();
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => Promise.resolve((i % 2 === 1 && second ? second : limiter).allow(kid, now))));
        expect(results.filter(Boolean)).toHaveLength(10);
      } finally {
        await close();
      }
    });
  });
}
