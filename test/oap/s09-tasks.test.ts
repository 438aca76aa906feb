/**
 * OAP-CORE-1.0 §9.2 asynchronous tasks: the eight states and agentwire's allowed transitions
 * (every other one refused with a typed error), each transition in the task history and the
 * Principal's audit log, persistence in the embedded store (restart recovery), expiry, and the
 * HTTPS surface: 202 + descriptor, poll URLs answering 202 until the end, awaiting_input /
 * ProvideInput, cancellation by signed control messages, watching over SSE.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolService } from "../../gen/oap/v1/tool_service_pb.js";
import type { JsonObject } from "../../src/json/types.js";
import { didKeyResolver, responseEnvelopeToJson, requestEnvelopeFromJson, signDocument, taskToJson, verifyReceiptSignatures, verifyResponse } from "../../src/oap/index.js";
import { signCallerRequest } from "../../src/oap/server/caller-auth.js";
import { OapToolServer } from "../../src/oap/server/engine.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { MemoryOapStore, type OapStore } from "../../src/oap/server/store.js";
import { canTransition, TASK_STATUSES, TASK_TRANSITIONS, TaskTransitionError, type TaskStatus } from "../../src/oap/tasks/lifecycle.js";
import { TaskManager } from "../../src/oap/tasks/manager.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { oapIds, oapUlid } from "../../src/oap/util.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { TestClock, counterRandom } from "./helpers.js";
import { agent, envelope, invoke, neverEndingTool, otherAgent, post, principal, startTool, toolKey } from "./server-helpers.js";

const keys = didKeyResolver(new DidResolver({ allowInsecureLocalhost: true }));
const dir = mkdtempSync(join(tmpdir(), "oap-tasks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shortest path from submitted to each state. */
const PATH: Record<TaskStatus, TaskStatus[]> = {
  submitted: [],
  accepted: ["accepted"],
  working: ["accepted", "working"],
  awaiting_input: ["accepted", "working", "awaiting_input"],
  completed: ["accepted", "working", "completed"],
  failed: ["failed"],
  canceled: ["canceled"],
  expired: ["expired"],
};

function manager(store: OapStore, clock = new TestClock()): TaskManager {
  return new TaskManager({ store: store.tasks, clock: clock.now, ids: oapIds(clock.now, counterRandom(7)), pollUrl: (id) => `https://tool.example/oap/tasks/${id}` });
}

const init = { request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX", action: "climate_report", principal_did: "did:web:principal.example", agent_did: "did:web:agent.example" };

describe("§9.2 lifecycle: the allowed transitions", () => {
  it("the table: terminal states have no way out, every non-terminal state can be canceled, failed or expired", () => {
    expect(TASK_STATUSES).toEqual(["submitted", "accepted", "working", "awaiting_input", "completed", "failed", "canceled", "expired"]);
    for (const s of ["completed", "failed", "canceled", "expired"] as const) expect(TASK_TRANSITIONS[s]).toEqual([]);
    for (const s of ["submitted", "accepted", "working", "awaiting_input"] as const) expect(TASK_TRANSITIONS[s]).toEqual(expect.arrayContaining(["canceled", "failed", "expired"]));
  });

  for (const [name, open] of [
    ["memory", () => new MemoryOapStore()],
    ["SQLite", () => new SqliteOapStore(join(dir, `lifecycle-${Math.random().toString(36).slice(2)}.sqlite`))],
  ] as const) {
    it(`every one of the 64 (from, to) pairs is applied or refused as the table says, and audited (${name} store)`, async () => {
      const store = open();
      const m = manager(store);
      let applied = 0;
      let refused = 0;
      for (const from of TASK_STATUSES) {
        for (const to of TASK_STATUSES) {
          const t = await m.create(init);
          for (const step of PATH[from]) await m.transition(t.task_id, step);
          const before = await m.get(t.task_id);
          if (canTransition(from, to)) {
            const after = await m.transition(t.task_id, to, { reason: `to ${to}` });
            expect(after.status).toBe(to);
            expect(after.transitions.at(-1)).toMatchObject({ seq: before.transitions.length + 1, status: to, reason: `to ${to}` });
            applied++;
          } else {
            const e = await m.transition(t.task_id, to).catch((x: unknown) => x);
            expect(e).toBeInstanceOf(TaskTransitionError);
            expect(e).toMatchObject({ code: "ERR_OAP_CONFLICT", wire: "conflict", httpStatus: 409, from, to, details: { from, to, allowed: [...TASK_TRANSITIONS[from]] } });
            expect(await m.get(t.task_id)).toEqual(before);
            refused++;
          }
        }
      }
      expect([applied, refused]).toEqual([17, 47]);
      // Every transition of every task is in the Principal's audit log, in order.
      const log = await store.audit.list(init.principal_did);
      const page = await store.tasks.list({ principal_did: init.principal_did, limit: 1000 });
      const fromTasks = page.tasks.flatMap((r) => r.task.transitions.map((x) => `${r.task.task_id} ${x.seq} ${x.status}`)).sort();
      const fromLog = log.filter((e) => e.kind === "task_transition").map((e) => `${String(e.data["task_id"])} ${String(e.data["seq"])} ${String(e.data["to"])}`).sort();
      expect(fromLog).toEqual(fromTasks);
      await store.close();
    });
  }

  it("expiry: open tasks expire after their time to live, waiting tasks after the input timeout", async () => {
    const clock = new TestClock();
    const store = new MemoryOapStore();
    const m = new TaskManager({ store: store.tasks, clock: clock.now, ttlMs: 60_000, inputTimeoutMs: 10_000 });
    const a = await m.create(init);
    const b = await m.create(init);
    await m.transition(b.task_id, "accepted");
    m.run(b.task_id, async (ctx) => {
      await ctx.requestInput({ prompt: "which one?" });
      return { status: "completed", finalize: async () => ({}) };
    });
    for (let i = 0; i < 400 && (await m.get(b.task_id)).status !== "awaiting_input"; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await m.sweep()).toEqual([]);
    clock.advance(10_001);
    expect((await m.sweep()).map((t) => [t.task_id, t.status])).toEqual([[b.task_id, "expired"]]);
    clock.advance(50_000);
    expect((await m.sweep()).map((t) => [t.task_id, t.status, t.transitions.at(-1)?.reason])).toEqual([[a.task_id, "expired", "time to live exceeded"]]);
  });
});

describe("§9.2 persistence in the embedded store", () => {
  it("tasks, their histories and audit entries survive a restart; tasks left open fail with a signed error response", async () => {
    const path = join(dir, "restart.sqlite");
    const store1 = new SqliteOapStore(path);
    const s1 = new OapToolServer({ tool: weatherTool(), signer: toolKey, did: "did:web:tool.example", baseUrl: "https://tool.example", store: store1 });
    const t = await s1.tasks.create({ ...init, request_id: oapUlid(Date.now()) });
    await s1.tasks.transition(t.task_id, "accepted");
    await s1.tasks.transition(t.task_id, "working");
    await s1.close();
    store1.close();

    const store2 = new SqliteOapStore(path);
    const s2 = new OapToolServer({ tool: weatherTool(), signer: toolKey, did: "did:web:tool.example", baseUrl: "https://tool.example", store: store2 });
    await s2.start();
    const after = await s2.tasks.get(t.task_id);
    expect(after.transitions.map((x) => x.status)).toEqual(["submitted", "accepted", "working", "failed"]);
    expect(after.transitions.at(-1)?.reason).toBe("interrupted: the Tool restarted before the task finished");
    expect((after.response as JsonObject)["error"]).toMatchObject({ code: "internal_error" });
    const log = await store2.audit.list(init.principal_did);
    expect(log.filter((e) => e.kind === "task_transition").map((e) => e.data["to"])).toEqual(["submitted", "accepted", "working", "failed"]);
    await s2.close();
    store2.close();
  });
});

describe("§9.2 over HTTPS", () => {
  let s: RunningOapServer;
  beforeAll(async () => {
    s = await startTool({ tool: weatherTool({ stepDelayMs: 5 }) });
  });
  afterAll(async () => {
    await s.close();
  });

  const signedGet = (url: string, who = agent) => fetch(url, { headers: signCallerRequest({ method: "GET", url }, who.signer) });
  const control = (taskId: string, extra: JsonObject, who = agent): JsonObject =>
    signDocument({ task_id: taskId, request_id: oapUlid(Date.now()), timestamp: new Date().toISOString(), principal_did: principal.did, agent_did: who.did, ...extra }, who.signer) as unknown as JsonObject;

  async function until(url: string, status: string): Promise<JsonObject> {
    for (let i = 0; i < 2000; i++) {
      const t = (await (await signedGet(url)).json()) as JsonObject;
      if (t["status"] === status) return t;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`task did not reach ${status}`);
  }

  it("an async action answers 202 with the descriptor; the poll URL answers 202 while open and 200 with response and receipt at the end", async () => {
    const env = envelope({ action: "climate_report", input: { location: "Vienna", from_year: 2001, to_year: 2004 } });
    const r = await invoke(s, env);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: "accepted", callback_url_supported: true, request_id: env["request_id"], action: "climate_report" });
    expect(String(r.body["task_id"])).toMatch(/^urn:oap:task:[0-9A-HJKMNP-TV-Z]{26}$/);
    const poll = String(r.body["poll_url"]);
    expect(poll).toBe(`${s.url}/oap/tasks/${String(r.body["task_id"]).slice("urn:oap:task:".length)}`);
    expect(r.headers.get("location")).toBe(poll);
    const firstPoll = await signedGet(poll);
    expect([202, 200]).toContain(firstPoll.status);
    const done = await until(poll, "completed");
    expect((await signedGet(poll)).status).toBe(200);
    expect((done["transitions"] as JsonObject[]).map((x) => x["status"])).toEqual(["submitted", "accepted", "working", "completed"]);
    await verifyResponse(done["response"], keys, { toolDid: s.server.did, requestId: String(env["request_id"]) });
    await verifyReceiptSignatures(done["receipt"], keys);
    expect(done["receipt"]).toMatchObject({ type: "task_completion", action_id: "climate_report" });
    expect(((done["response"] as JsonObject)["output"] as JsonObject)["years"]).toHaveLength(4);
  });

  it("the poll URL is for the task's agent or Principal only", async () => {
    const r = await invoke(s, envelope({ action: "climate_report", input: { location: "Rome", from_year: 2001, to_year: 2001 } }));
    const poll = String(r.body["poll_url"]);
    expect((await fetch(poll)).status).toBe(401);
    expect((await signedGet(poll, otherAgent)).status).toBe(404);
    expect((await signedGet(poll, principal)).status).not.toBe(404);
  });

  it("awaiting_input: the task asks, a wrong answer is 400, ProvideInput resumes it; watching over SSE sees every state", async () => {
    const env = envelope({ action: "climate_report", input: { location: "Frankfurt", from_year: 2010, to_year: 2011 } });
    const r = await invoke(s, env);
    const poll = String(r.body["poll_url"]);
    const taskId = String(r.body["task_id"]);
    const waiting = await until(poll, "awaiting_input");
    expect(waiting["input_required"]).toMatchObject({ prompt: expect.stringContaining("ambiguous"), schema: { required: ["region"] } });
    const watchUrl = `${poll}/events`;
    const watch = fetch(watchUrl, { headers: signCallerRequest({ method: "GET", url: watchUrl }, agent.signer) }).then((res) => res.text());
    const wrong = await post(`${poll}/input`, control(taskId, { input: { region: "Bavaria" } }));
    expect([wrong.status, (wrong.body["error"] as JsonObject)["code"]]).toEqual([400, "invalid_input"]);
    const ok = await post(`${poll}/input`, control(taskId, { input: { region: "Brandenburg (an der Oder)" } }));
    expect([ok.status, ok.body["status"]]).toEqual([200, "working"]);
    const done = await until(poll, "completed");
    expect(((done["response"] as JsonObject)["output"] as JsonObject)["place"]).toMatchObject({ region: "Brandenburg (an der Oder)" });
    expect((done["transitions"] as JsonObject[]).map((x) => x["status"])).toEqual(["submitted", "accepted", "working", "awaiting_input", "working", "completed"]);
    const text = await watch;
    const frames = text.split("\n\n").filter((b) => b.startsWith("id:"));
    const last = frames.at(-1) as string;
    expect(last).toMatch(/^id: 6\nevent: oap\.task\ndata: /);
    expect((JSON.parse(last.split("\ndata: ")[1] as string) as JsonObject)["seq"]).toBe(6);
    const again = await post(`${poll}/input`, control(taskId, { input: { region: "Brandenburg (an der Oder)" } }));
    expect([again.status, (again.body["error"] as JsonObject)["code"]]).toEqual([409, "conflict"]);
  });

  it("cancellation by a signed control message; canceling again is 409; tampered or foreign control messages are refused", async () => {
    const slow = await startTool({ tool: neverEndingTool() });
    try {
      const r = await invoke(slow, envelope({ action: "climate_report", input: { location: "Madrid", from_year: 1979, to_year: 2028 } }));
      const poll = String(r.body["poll_url"]);
      const taskId = String(r.body["task_id"]);
      const tampered = control(taskId, { reason: "stop" });
      tampered["reason"] = "something else";
      const t1 = await post(`${poll}/cancel`, tampered);
      expect([t1.status, (t1.body["error"] as JsonObject)["code"]]).toEqual([401, "auth_required"]);
      const foreign = await post(`${poll}/cancel`, control(taskId, { reason: "stop" }, otherAgent));
      expect(foreign.status).toBe(404);
      const msg = control(taskId, { reason: "no longer needed" });
      const c = await post(`${poll}/cancel`, msg);
      expect([c.status, c.body["status"]]).toEqual([200, "canceled"]);
      const replay = await post(`${poll}/cancel`, msg);
      expect([replay.status, (replay.body["error"] as JsonObject)["code"]]).toEqual([409, "conflict"]);
      const again = await post(`${poll}/cancel`, control(taskId, {}));
      expect([again.status, (again.body["error"] as JsonObject)["details"]]).toEqual([409, { task_id: taskId, from: "canceled", to: "canceled", allowed: [] }]);
      const final = (await (await signedGet(poll)).json()) as JsonObject;
      expect(final["transitions"]).toEqual(expect.arrayContaining([expect.objectContaining({ status: "canceled", reason: "no longer needed" })]));
      expect(final["receipt"]).toBeUndefined();
    } finally {
      await slow.close();
    }
  });

  it("Prefer: respond-async turns a synchronous action into a task; ListTasks shows the caller's tasks", async () => {
    const env = envelope({ idempotency_key: "async-1", input: { location: "Berlin", days: 2 } });
    const r = await invoke(s, env, { prefer: "respond-async" });
    expect(r.status).toBe(202);
    const done = await until(String(r.body["poll_url"]), "completed");
    expect(done["action"]).toBe("get_forecast");
    const retry = await invoke(s, envelope({ idempotency_key: "async-1", input: { location: "Berlin", days: 2 } }), { prefer: "respond-async" });
    expect([retry.status, retry.body["task_id"], retry.body["status"]]).toEqual([202, r.body["task_id"], "completed"]);
    const url = `${s.url}/oap/tasks?status=completed`;
    const list = (await (await signedGet(url)).json()) as JsonObject;
    expect((list["tasks"] as JsonObject[]).map((t) => t["task_id"])).toContain(r.body["task_id"]);
    expect((list["tasks"] as JsonObject[]).every((t) => t["agent_did"] === agent.did && t["status"] === "completed")).toBe(true);
  });
});

describe("§9.2 over gRPC: oap.v1.ToolService", () => {
  let s: RunningOapServer;
  beforeAll(async () => {
    s = await startTool({ tool: weatherTool({ stepDelayMs: 1 }) });
  });
  afterAll(async () => {
    await s.close();
  });

  const signing = (who = agent): Interceptor => (next) => async (req) => {
    const h = signCallerRequest({ method: req.requestMethod, url: req.url }, who.signer);
    req.header.set("signature-input", h["signature-input"] as string);
    req.header.set("signature", h["signature"] as string);
    return next(req);
  };

  it("Invoke answers an accepted envelope with the descriptor; GetTask, WatchTask and ListTasks need the caller's RFC 9421 signature", async () => {
    const anonymous = createClient(ToolService, createGrpcTransport({ baseUrl: s.grpcUrl as string }));
    const signed = createClient(ToolService, createGrpcTransport({ baseUrl: s.grpcUrl as string, interceptors: [signing()] }));
    const stranger = createClient(ToolService, createGrpcTransport({ baseUrl: s.grpcUrl as string, interceptors: [signing(otherAgent)] }));
    const env = envelope({ action: "climate_report", input: { location: "Warsaw", from_year: 2000, to_year: 2001 } });
    const accepted = responseEnvelopeToJson(await anonymous.invoke(requestEnvelopeFromJson(env)));
    await verifyResponse(accepted, keys, { toolDid: s.server.did, requestId: String(env["request_id"]) });
    expect(accepted).toMatchObject({ status: "accepted", output: { status: "accepted", callback_url_supported: true } });
    const taskId = String((accepted["output"] as JsonObject)["task_id"]);
    const refused = await anonymous.getTask({ taskId }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect([(refused as ConnectError).code, (refused as ConnectError).metadata.get("oap-error-code")]).toEqual([Code.Unauthenticated, "auth_required"]);
    expect(((await stranger.getTask({ taskId }).catch((e: unknown) => e)) as ConnectError).code).toBe(Code.NotFound);
    const seen: string[] = [];
    for await (const ev of signed.watchTask({ taskId })) seen.push(String(taskToJson(ev.task as never)["status"]));
    expect(seen.at(-1)).toBe("completed");
    const got = taskToJson(await signed.getTask({ taskId }));
    expect(got["status"]).toBe("completed");
    await verifyReceiptSignatures(got["receipt"], keys);
    const list = await signed.listTasks({ status: ["completed"] });
    expect(list.tasks.map((t) => t.taskId)).toContain(taskId);
  });
});
