/**
 * Leases in process (docs/scale-out.md "Leases"): two task managers / idempotency guards / tool
 * servers over ONE store stand for two nodes. A node that dies (here: its heartbeat stops, its
 * work is dropped) stops renewing; the other node then
 *
 * - §9.2: takes its tasks over and fails them — reason "node lost", a signed error response and
 *   a `task_completion` receipt of the failed attempt (the node that accepted the task stored
 *   what that receipt needs) — while a task whose owner lives is never touched; a cancel on the
 *   other node aborts the owner's work; a single node's restart claims every open task at once;
 * - §28.4: takes over an idempotency key left `in_flight` (same request only, idempotent actions
 *   only); the dead owner's late completion is refused (ERR_OAP_IDEMPOTENCY_LEASE_LOST).
 *
 * Leases are short (tens of ms) and the tests wait for conditions (renewals seen in the store,
 * a claim succeeding), never for a duration.
 */
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { IdempotencyGuard, type IdempotencyTicket } from "../../src/oap/idempotency.js";
import { OapToolServer } from "../../src/oap/server/engine.js";
import { parseOapNodeConfig } from "../../src/oap/server/node-host.js";
import { MemoryOapStore } from "../../src/oap/server/store.js";
import { LOST_TASK_REASONS, TaskManager, type LostTaskCause } from "../../src/oap/tasks/manager.js";
import type { TaskRecord } from "../../src/oap/tasks/store.js";
import { codeOf, unsignedRequest, TestClock } from "./helpers.js";
import { envelope, invoke, neverEndingTool, principal, startTool, toolKey } from "./server-helpers.js";

const init = { request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX", action: "climate_report", principal_did: "did:web:principal.example", agent_did: "did:web:agent.example" };

/** Polls `probe` until it returns a value (not undefined); fails after `tries`. */
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("condition not reached");
}

/** Work that runs until aborted, reporting its abort reason. */
function waitForever(aborted: { reason?: unknown }) {
  return (ctx: { signal: AbortSignal }) =>
    new Promise<never>((_resolve, reject) => {
      ctx.signal.addEventListener(
        "abort",
        () => {
          aborted.reason = ctx.signal.reason;
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
}

describe("§9.2 task ownership: leases renewed by the owner, lost tasks failed by another node", () => {
  it("the owner renews while it lives (another node claims nothing); once it is gone the other node fails the task", async () => {
    const store = new MemoryOapStore();
    const lost: { record: TaskRecord; cause: LostTaskCause }[] = [];
    // 300 ms: the claims below run right after a renewal, far inside the lease even on a loaded machine
    const a = new TaskManager({ store: store.tasks, owner: "node-a", leaseMs: 300 });
    const b = new TaskManager({
      store: store.tasks,
      owner: "node-b",
      leaseMs: 300,
      failLost: async (record, cause) => {
        lost.push({ record, cause });
        return { response: { status: "error", by: "node-b" } };
      },
    });
    const t = await a.create({ ...init, failure: { receipt: { type: "task_completion", action_id: "climate_report" } } });
    await a.transition(t.task_id, "accepted");
    a.run(t.task_id, waitForever({}));
    const first = (await store.tasks.get(t.task_id))?.lease;
    expect(first?.owner).toBe("node-a");
    // renewed at least twice: the lease moved forward twice while the task runs
    let seen = first?.expiresAtMs ?? 0;
    for (let renewals = 0; renewals < 2; ) {
      const now = await until(async () => {
        const e = (await store.tasks.get(t.task_id))?.lease?.expiresAtMs;
        return e !== undefined && e > seen ? e : undefined;
      });
      seen = now;
      renewals++;
      expect(await b.reclaim()).toEqual([]); // claimed only when expired: the owner renews before that
    }
    expect(a.holds(t.task_id)).toBe(true);
    a.close(); // node A "dies": no more renewals (its leases are not released)
    const failed = await until(async () => (await b.reclaim())[0]);
    expect(failed).toMatchObject({ task_id: t.task_id, status: "failed", response: { status: "error", by: "node-b" } });
    expect(failed.transitions.at(-1)?.reason).toBe(LOST_TASK_REASONS.node_lost);
    expect(lost.map((l) => [l.cause, l.record.lease?.owner, l.record.failure?.receipt["action_id"]])).toEqual([["node_lost", "node-b", "climate_report"]]);
    expect((await store.tasks.get(t.task_id))?.lease).toBeUndefined(); // ended: no lease
    expect(await b.reclaim()).toEqual([]);
    b.close();
  });

  it("a cancel on another node ends the task; the owner's renewal fails and its work is aborted", async () => {
    const store = new MemoryOapStore();
    const a = new TaskManager({ store: store.tasks, owner: "node-a", leaseMs: 60 });
    const b = new TaskManager({ store: store.tasks, owner: "node-b", leaseMs: 60 });
    const t = await a.create(init);
    await a.transition(t.task_id, "accepted");
    const aborted: { reason?: unknown } = {};
    a.run(t.task_id, waitForever(aborted));
    await until(async () => ((await store.tasks.get(t.task_id))?.task.status === "working" ? true : undefined));
    await b.cancel(t.task_id);
    const reason = await until(() => aborted.reason);
    expect(reason).toMatchObject({ code: "ERR_OAP_CONFLICT" });
    expect(a.holds(t.task_id)).toBe(false);
    expect((await a.get(t.task_id)).status).toBe("canceled");
    a.close();
    b.close();
  });

  it("a single node's restart claims every open task at once, whatever the lease (the previous owner is this node's old run)", async () => {
    const store = new MemoryOapStore();
    const old = new TaskManager({ store: store.tasks, owner: "run-1", leaseMs: 3_600_000 });
    const t = await old.create(init);
    old.close();
    const restarted = new TaskManager({ store: store.tasks, owner: "run-2", leaseMs: 3_600_000 });
    expect(await restarted.reclaim()).toEqual([]);
    const [failed] = await restarted.reclaim({ all: true });
    expect(failed).toMatchObject({ task_id: t.task_id, status: "failed" });
    expect(failed?.transitions.at(-1)?.reason).toBe(LOST_TASK_REASONS.restart);
    restarted.close();
  });
});

describe("§9.2 on the tool server: a task of a lost node is failed with a signed error and a receipt", () => {
  it("node A accepts a never-ending climate_report and dies; node B fails it once the lease lapses", async () => {
    const store = new MemoryOapStore();
    const nodeA = await startTool({ tool: neverEndingTool(), store, nodeId: "node-a", taskLeaseMs: 60, recoverOpenTasks: false });
    const env = envelope({ action: "climate_report", input: { location: "Vienna", from_year: 2001, to_year: 2003 } });
    const accepted = await invoke(nodeA, env);
    expect(accepted.status).toBe(202);
    const taskId = String(accepted.body["task_id"]);
    await until(async () => ((await store.tasks.get(taskId))?.task.status === "working" ? true : undefined));
    expect((await store.tasks.get(taskId))?.failure?.receipt).toMatchObject({ type: "task_completion", action_id: "climate_report", principal_did: principal.did });
    nodeA.server.tasks.close(); // dies: the heartbeat stops, nothing is released
    const nodeB = new OapToolServer({ tool: neverEndingTool(), signer: toolKey, did: nodeA.server.did, baseUrl: nodeA.url, store, nodeId: "node-b", taskLeaseMs: 60, recoverOpenTasks: false });
    await nodeB.start(); // the sweeper claims expired leases
    const task = await until(async () => {
      const r = await store.tasks.get(taskId);
      return r?.task.status === "failed" ? r.task : undefined;
    });
    expect(task.transitions.map((x) => x.status)).toEqual(["submitted", "accepted", "working", "failed"]);
    expect(task.transitions.at(-1)?.reason).toBe(LOST_TASK_REASONS.node_lost);
    const receipt = task.receipt as JsonObject;
    expect(receipt).toMatchObject({ type: "task_completion", action_id: "climate_report", principal_did: principal.did });
    expect(receipt["output_hash"]).toBeUndefined();
    expect(task.response).toMatchObject({ status: "error", error: { code: "internal_error" }, receipt: { id: receipt["receipt_id"] } });
    expect((await store.receipts.list(principal.did)).map((r) => r["receipt_id"])).toEqual([receipt["receipt_id"]]);
    await nodeB.close();
    await nodeA.close();
  });
});

const IDEMPOTENT = { id: "get_forecast", idempotent: true, idempotency_window_seconds: 60 };
const NOT_IDEMPOTENT = { id: "book_flight", idempotent: false };

describe("§28.4 in-flight idempotency leases", () => {
  it("a retry waits while the owner renews, takes over once the owner is gone; the old owner's completion is refused", async () => {
    const store = new MemoryOapStore();
    const clock = new TestClock();
    const now = (): Date => new Date(clock.ms);
    const a = new IdempotencyGuard({ store: store.idempotency, clock: now, owner: "node-a", leaseMs: 30_000 });
    const b = new IdempotencyGuard({ store: store.idempotency, clock: now, owner: "node-b", leaseMs: 30_000 });
    const request = unsignedRequest(clock, { idempotency_key: "k1" });
    const mine = (await a.begin(request, IDEMPOTENT)) as Extract<IdempotencyTicket, { kind: "execute" }>;
    expect(mine).toMatchObject({ kind: "execute", owner: "node-a" });
    const busy = await b.begin(unsignedRequest(clock, { idempotency_key: "k1" }), IDEMPOTENT).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: "ERR_OAP_IDEMPOTENCY_IN_FLIGHT", details: { retry_after_seconds: 30 } });
    mine.end(); // node A dies mid-call: no more renewals
    clock.advance(30_000);
    // another request with the key, or a non-idempotent action, never takes over
    expect(await codeOf(() => b.begin(unsignedRequest(clock, { idempotency_key: "k1", input: { location: "Paris", days: 1 } }), IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_MISMATCH");
    const taken = await b.begin(unsignedRequest(clock, { idempotency_key: "k1" }), IDEMPOTENT);
    expect(taken).toMatchObject({ kind: "execute", owner: "node-b" });
    expect(await codeOf(() => mine.complete({ status: "ok", by: "node-a" }))).toBe("ERR_OAP_IDEMPOTENCY_LEASE_LOST");
    if (taken.kind === "execute") await taken.complete({ status: "ok", by: "node-b" });
    expect(await a.begin(unsignedRequest(clock, { idempotency_key: "k1" }), IDEMPOTENT)).toMatchObject({ kind: "replay", response: { by: "node-b" } });

    const fx = (await a.begin(unsignedRequest(clock, { idempotency_key: "k2" }), NOT_IDEMPOTENT)) as Extract<IdempotencyTicket, { kind: "execute" }>;
    fx.end();
    clock.advance(60_000);
    expect(await codeOf(() => b.begin(unsignedRequest(clock, { idempotency_key: "k2" }), NOT_IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_REUSED"); // fail closed
  });

  it("the ticket's heartbeat renews the lease while the call runs, and stops when it completes", async () => {
    const store = new MemoryOapStore();
    const guard = new IdempotencyGuard({ store: store.idempotency, owner: "node-a", leaseMs: 45 });
    const clock = new TestClock(new Date().toISOString());
    const ticket = (await guard.begin(unsignedRequest(clock, { idempotency_key: "hb" }), IDEMPOTENT)) as Extract<IdempotencyTicket, { kind: "execute" }>;
    const storeKey = ticket.storeKey;
    const leaseOf = async (): Promise<number | undefined> => (await store.idempotency.reserve(storeKey, "probe", 0, 0))?.lease?.expiresAtMs;
    const first = await leaseOf();
    await until(async () => ((await leaseOf()) ?? 0) > (first ?? 0) || undefined);
    await ticket.complete({ status: "ok" });
    expect(await store.idempotency.renew(storeKey, "node-a", Date.now() + 1000)).toBe(false); // completed: not renewable
  });
});

describe("agentwire serve config: oap.leases", () => {
  it("lease lengths in ms (30 ms .. 24 h); anything else is refused", async () => {
    expect(parseOapNodeConfig({ leases: { taskMs: 600, idempotencyMs: 45_000 } })).toEqual({ leases: { taskMs: 600, idempotencyMs: 45_000 } });
    expect(await codeOf(() => parseOapNodeConfig({ leases: { taskMs: 5 } }))).toBe("ERR_OAP_INPUT_INVALID");
    expect(await codeOf(() => parseOapNodeConfig({ leases: { taskMs: 1.5 } }))).toBe("ERR_OAP_INPUT_INVALID");
    expect(await codeOf(() => parseOapNodeConfig({ leases: { heartbeatMs: 100 } }))).toBe("ERR_OAP_INPUT_INVALID");
    expect(await codeOf(() => parseOapNodeConfig({ leases: 600 }))).toBe("ERR_OAP_INPUT_INVALID");
  });
});
