/**
 * OAP-CORE-1.0 §15 Multi Agent Coordination: declared concurrency mode (§15.1) — optimistic
 * version conflicts (409), pessimistic lock/unlock, CRDTs —, change broadcast (§15.2), the
 * `conflicts` resource with resolutions recorded in Receipts (§15.3), and signed coordination
 * sessions ordered by Lamport or vector clocks (§15.4).
 */
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { ConflictRegistry, LockManager, VersionedStore, declaredConcurrencyMode, type ChangeEvent } from "../../../src/oap/governance/coordination.js";
import { gCounter, gIncrement, gMerge, gValue, lwwMerge, lwwRegister, lwwSet, pnAdd, pnCounter, pnMerge, pnValue, type GCounter, type LwwRegister } from "../../../src/oap/governance/crdt.js";
import { CoordinationSession, compareVectors, createSessionManifest, type SessionMessage } from "../../../src/oap/governance/sessions.js";
import { verifyReceiptChain } from "../../../src/oap/receipts.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, thrown, upstream } from "../helpers.js";
import { allKeys, extraKeys, testLedger } from "./fixtures.js";

const AGENT_B = "did:web:agent-b.example";
let clock: TestClock;
beforeEach(() => {
  clock = new TestClock();
});

describe("§15.1 declared concurrency mode", () => {
  it("§15.1 the manifest's collaboration.locking_strategy; concurrent agents without a mode is an error", async () => {
    expect(declaredConcurrencyMode(upstream<OapManifest>("examples/team-crm-collaborative/manifest.json"))).toBe("optimistic");
    expect(declaredConcurrencyMode({ collaboration: { supports_concurrent_agents: true, locking_strategy: "crdt" } })).toBe("crdt");
    expect(declaredConcurrencyMode({})).toBeUndefined();
    expect((await thrown(() => declaredConcurrencyMode({ collaboration: { supports_concurrent_agents: true } }))).code).toBe("ERR_OAP_INPUT_INVALID");
  });
});

describe("§15.1 optimistic + §15.2 broadcast + §15.3 conflicts", () => {
  it("§15.1 a stale expected_version is 409 conflict and opens a conflict; no version is last-write-wins", async () => {
    const events: ChangeEvent[] = [];
    const store = new VersionedStore({ clock: clock.now, onChange: (e) => events.push(e), conflicts: new ConflictRegistry({ clock: clock.now, random: counterRandom() }) });
    expect(store.get("deal/1")).toEqual({ value: null, version: 0 });
    const v1 = store.put("deal/1", { stage: "lead" }, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, expected_version: 0 });
    expect(v1.version).toBe(1);
    store.put("deal/1", { stage: "qualified" }, { agent_did: AGENT_B, principal_did: PRINCIPAL_DID, expected_version: 1 });
    const e = await thrown(() => store.put("deal/1", { stage: "lost" }, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, expected_version: 1 }));
    expect(e.code).toBe("ERR_OAP_CONFLICT");
    expect(e.httpStatus).toBe(409);
    expect(e.details).toMatchObject({ resource: "deal/1", current_version: 2, expected_version: 1 });
    expect(store.put("deal/1", { stage: "won" }, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID }).version).toBe(3);
    expect(events.map((x) => [x.resource, x.version, x.agent_did])).toEqual([
      ["deal/1", 1, AGENT_DID],
      ["deal/1", 2, AGENT_B],
      ["deal/1", 3, AGENT_DID],
    ]);
    const open = store.conflicts.list();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ conflict_id: e.details?.["conflict_id"], kind: "version", resource: "deal/1", agent_did: AGENT_DID, attempted: { stage: "lost" }, status: "open" });
  });

  it("§15.3 the conflicts resource accepts proposals; a resolution is applied and recorded in a Receipt", async () => {
    const ledger = testLedger(clock);
    const conflicts = new ConflictRegistry({ ledger, toolDid: TOOL_DID, clock: clock.now, random: counterRandom() });
    const store = new VersionedStore({ clock: clock.now, conflicts });
    store.put("doc/7", { title: "A" }, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, expected_version: 0 });
    store.put("doc/7", { title: "B" }, { agent_did: AGENT_B, principal_did: PRINCIPAL_DID, expected_version: 1 });
    const err = await thrown(() => store.put("doc/7", { title: "C" }, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, expected_version: 1 }));
    const id = String(err.details?.["conflict_id"]);
    const p = conflicts.propose(id, { agent_did: AGENT_B, value: { title: "B and C" }, rationale: "merge both titles" });
    const { conflict, receipt } = await conflicts.resolve(id, { resolved_by: AGENT_B, proposal_id: p.proposal_id });
    expect(conflict.status).toBe("resolved");
    expect(conflict.resolution).toMatchObject({ version: 3, resolved_by: AGENT_B, proposal_id: p.proposal_id, receipt_id: receipt?.["receipt_id"] });
    expect(store.get("doc/7")).toMatchObject({ value: { title: "B and C" }, version: 3, updated_by: AGENT_B });
    expect(receipt).toMatchObject({ type: "invocation", action_id: "conflicts.resolve", principal_did: PRINCIPAL_DID, agent_did: AGENT_B });
    expect((await verifyReceiptChain([receipt], { keys: allKeys })).ok).toBe(true);
    expect(conflicts.list()).toEqual([]);
    expect(conflicts.list({ status: "resolved" })).toHaveLength(1);
    expect((await thrown(() => conflicts.resolve(id, { resolved_by: AGENT_B, value: 1 }))).code).toBe("ERR_OAP_CONFLICT");
    expect((await thrown(() => conflicts.propose("urn:oap:conflict:nope", { agent_did: AGENT_B, value: 1 }))).code).toBe("ERR_OAP_NOT_FOUND");
  });
});

describe("§15.1 pessimistic lock / unlock", () => {
  it("§15.1 one holder at a time; writes need the lock; expiry frees a crashed holder's lock", async () => {
    const locks = new LockManager({ clock: clock.now, random: counterRandom() });
    const store = new VersionedStore({ clock: clock.now, locks });
    const l = locks.lock("sheet/1", AGENT_DID, 30);
    expect(l.expires_at).toBe(clock.iso(30_000));
    const busy = await thrown(() => locks.lock("sheet/1", AGENT_B));
    expect(busy.code).toBe("ERR_OAP_CONFLICT");
    expect(busy.details).toMatchObject({ holder_did: AGENT_DID });
    expect((await thrown(() => store.put("sheet/1", 1, { agent_did: AGENT_B, principal_did: PRINCIPAL_DID }))).code).toBe("ERR_OAP_CONFLICT");
    expect((await thrown(() => store.put("sheet/1", 1, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID }))).code).toBe("ERR_OAP_CONFLICT"); // no token
    expect(store.put("sheet/1", 1, { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, lock_token: l.lock_token }).version).toBe(1);
    expect(locks.lock("sheet/1", AGENT_DID, 60).lock_token).toBe(l.lock_token); // re-entrant extension
    expect((await thrown(() => locks.unlock("sheet/1", "urn:oap:lock:forged"))).code).toBe("ERR_OAP_CONFLICT");
    locks.unlock("sheet/1", l.lock_token);
    const lb = locks.lock("sheet/1", AGENT_B, 10);
    clock.advance(10_001);
    expect(locks.holder("sheet/1")).toBeUndefined();
    expect(locks.lock("sheet/1", AGENT_DID).holder_did).toBe(AGENT_DID);
    expect((await thrown(() => store.put("sheet/1", 2, { agent_did: AGENT_B, principal_did: PRINCIPAL_DID, lock_token: lb.lock_token }))).code).toBe("ERR_OAP_CONFLICT");
  });
});

describe("§15.1 CRDTs", () => {
  it("§15.1 G-Counter, PN-Counter and LWW-Register values", () => {
    let a = gIncrement(gCounter(), "a", 3);
    let b = gIncrement(gCounter(), "b", 2);
    a = gIncrement(a, "a");
    b = gMerge(b, a);
    expect(gValue(b)).toBe(6);
    expect(() => gIncrement(a, "a", -1)).toThrow();
    const pn = pnMerge(pnAdd(pnCounter(), "a", 5), pnAdd(pnCounter(), "b", -7));
    expect(pnValue(pn)).toBe(-2);
    let r = lwwSet(lwwRegister<string>("a"), "x", 5, "a");
    r = lwwMerge(r, { value: "old", timestamp: 4, replica: "b" });
    expect(r.value).toBe("x");
    expect(lwwMerge(r, { value: "tie", timestamp: 5, replica: "b" }).value).toBe("tie");
  });

  it("§15.1 merges commute, associate and are idempotent: replicas converge in any order", () => {
    const counter = fc.dictionary(fc.constantFrom("a", "b", "c", "d"), fc.nat(1000)) as fc.Arbitrary<GCounter>;
    fc.assert(
      fc.property(counter, counter, counter, (x, y, z) => {
        expect(gMerge(x, y)).toEqual(gMerge(y, x));
        expect(gMerge(gMerge(x, y), z)).toEqual(gMerge(x, gMerge(y, z)));
        expect(gMerge(x, x)).toEqual(x);
      }),
    );
    const reg = fc.record({ value: fc.string(), timestamp: fc.nat(20), replica: fc.constantFrom("a", "b", "c") });
    fc.assert(
      // a write is identified by (timestamp, replica): two different values never share both
      fc.property(fc.uniqueArray(reg, { minLength: 1, maxLength: 8, selector: (w) => `${w.timestamp}/${w.replica}` }), (writes) => {
        const regs: LwwRegister<string>[] = writes;
        const forward = regs.reduce((s, w) => lwwMerge(s, w));
        const backward = [...regs].reverse().reduce((s, w) => lwwMerge(s, w));
        expect(forward).toEqual(backward);
      }),
    );
  });
});

describe("§15.4 coordination sessions", () => {
  const manifest = (clockKind: "lamport" | "vector" = "lamport") => createSessionManifest({ participants: [AGENT_DID, AGENT_B], clock: clockKind, task: "plan the offsite" }, clock.now, counterRandom());

  it("§15.4 messages are signed and ordered by Lamport clocks; peers converge on one order", async () => {
    const m = manifest();
    expect(m.session_did).toMatch(/^did:oap:session:[0-9A-HJKMNP-TV-Z]{26}$/);
    const a = new CoordinationSession({ manifest: m, self: AGENT_DID, signer: keys.agent, keys: allKeys, clock: clock.now });
    const b = new CoordinationSession({ manifest: m, self: AGENT_B, signer: extraKeys.agentB, keys: allKeys, clock: clock.now });
    const a1 = a.send({ propose: "Berlin" });
    const b1 = b.send({ propose: "Munich" }); // concurrent with a1: both lamport 1
    await b.receive(a1);
    await a.receive(b1);
    const b2 = b.send({ accept: "Berlin" }); // after both: lamport 3
    await a.receive(b2);
    expect([a1.lamport, b1.lamport, b2.lamport]).toEqual([1, 1, 3]);
    const order = (s: CoordinationSession): unknown[] => s.ordered().map((x) => x.body);
    expect(order(a)).toEqual([{ propose: "Munich" }, { propose: "Berlin" }, { accept: "Berlin" }]); // ties by sender DID ("…agent-b…" < "…agent.…")
    expect(order(b)).toEqual(order(a));
    expect(a1.signature.kid).toBe(keys.agent.kid);
  });

  it("§15.4 forged, foreign, non-participant and replayed messages are refused", async () => {
    const m = manifest();
    const a = new CoordinationSession({ manifest: m, self: AGENT_DID, signer: keys.agent, keys: allKeys, clock: clock.now });
    const b = new CoordinationSession({ manifest: m, self: AGENT_B, signer: extraKeys.agentB, keys: allKeys, clock: clock.now });
    const msg = a.send({ n: 1 });
    expect((await thrown(() => b.receive({ ...msg, body: { n: 2 } }))).code).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect((await thrown(() => b.receive({ ...msg, session_did: "did:oap:session:other" }))).code).toBe("ERR_OAP_ENVELOPE_INVALID");
    expect((await thrown(() => b.receive({ ...msg, sender_did: "did:web:mallory.example" }))).code).toBe("ERR_OAP_SCOPE_INSUFFICIENT");
    expect((await thrown(() => b.receive({ ...msg, lamport: 0 }))).code).toBe("ERR_OAP_ENVELOPE_INVALID");
    await b.receive(msg);
    expect((await thrown(() => b.receive(msg))).code).toBe("ERR_OAP_REPLAY_NONCE");
    expect(() => new CoordinationSession({ manifest: m, self: "did:web:outsider.example", signer: keys.agent, keys: allKeys })).toThrow();
  });

  it("§15.4 vector clocks: causality is preserved by the total order", async () => {
    const m = manifest("vector");
    const a = new CoordinationSession({ manifest: m, self: AGENT_DID, signer: keys.agent, keys: allKeys, clock: clock.now });
    const b = new CoordinationSession({ manifest: m, self: AGENT_B, signer: extraKeys.agentB, keys: allKeys, clock: clock.now });
    const a1 = a.send("a1");
    const a2 = a.send("a2");
    await b.receive(a1);
    const b1 = b.send("b1"); // causally after a1, concurrent with a2
    await b.receive(a2);
    await a.receive(b1);
    expect(compareVectors(a1.vector ?? {}, b1.vector ?? {})).toBe("before");
    expect(compareVectors(a2.vector ?? {}, b1.vector ?? {})).toBe("concurrent");
    const ordered = (s: CoordinationSession): unknown[] => s.ordered().map((x: SessionMessage) => x.body);
    expect(ordered(a)).toEqual(ordered(b));
    const pos = ordered(a);
    expect(pos.indexOf("a1")).toBeLessThan(pos.indexOf("b1"));
    expect(pos.indexOf("a1")).toBeLessThan(pos.indexOf("a2"));
  });
});
