/**
 * The typed client end to end (§6 discovery, §8 invocation, §9 streams and tasks, §19
 * receipts) against the Weather Pro tool, over HTTPS and over oap.v1.ToolService with the
 * Connect, gRPC-Web and gRPC protocols: every response and receipt verified, the Principal's
 * receipt chain kept across calls of several agents, tampering detected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { createOapClient, type OapClient, type OapClientTransport } from "../../src/oap/client/client.js";
import { isOapError } from "../../src/oap/errors.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { didKeyResolver } from "../../src/oap/sign.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { agent, API_KEY, CONTEXT, neverEndingTool, otherAgent, principal, startTool } from "./server-helpers.js";

let s: RunningOapServer;
let slow: RunningOapServer;
beforeAll(async () => {
  s = await startTool({ tool: weatherTool({ stepDelayMs: 2 }) });
  slow = await startTool({ tool: neverEndingTool() });
});
afterAll(async () => {
  await s.close();
  await slow.close();
});

async function remoteCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (e) {
    return isOapError(e) ? (e.code === "ERR_OAP_REMOTE" ? e.wire : e.code) : String(e);
  }
}

const TRANSPORTS: OapClientTransport[] = ["https", "connect", "grpc-web", "grpc"];

describe.each(TRANSPORTS)("the client over %s", (transport) => {
  let client: OapClient;
  beforeAll(async () => {
    client = await createOapClient(s.manifestUrl, {
      agent,
      principal: { did: principal.did, apiKey: API_KEY },
      context: CONTEXT,
      authorization: `Bearer ${API_KEY}`,
      transport,
      ...(s.grpcUrl === undefined ? {} : { grpcUrl: s.grpcUrl }),
    });
  });

  it("discovers, invokes, verifies response and receipt, and keeps the Principal's chain across agents", async () => {
    expect(client.toolDid).toBe(s.server.did);
    const forecast = await client.call<{ forecast: JsonObject[] }>("get_forecast", { location: "Berlin", days: 2 });
    expect(forecast.output.forecast).toHaveLength(2);
    expect(forecast.receipt).toMatchObject({ type: "invocation", action_id: "get_forecast", agent_did: agent.did, principal_did: principal.did });
    // Another agent of the same Principal calls in between (no Principal credentials: it only verifies its own receipt).
    const other = await createOapClient(s.manifestUrl, { agent: otherAgent, principal: principal.did, context: CONTEXT, authorization: `Bearer ${API_KEY}`, transport, ...(s.grpcUrl === undefined ? {} : { grpcUrl: s.grpcUrl }) });
    const foreign = await other.call("find_location", { query: "Vie" });
    expect(other.receipts().map((r) => r["receipt_id"])).toEqual([foreign.receipt["receipt_id"]]);
    const places = await client.call<{ locations: JsonObject[] }>("find_location", { query: "Mun", max_results: 1 });
    expect(places.output.locations[0]).toMatchObject({ name: "Munich" });
    const chain = client.receipts();
    const ids = chain.map((r) => r["receipt_id"]);
    expect(ids.indexOf(foreign.receipt["receipt_id"])).toBeGreaterThan(ids.indexOf(forecast.receipt["receipt_id"]));
    expect(ids.indexOf(places.receipt["receipt_id"])).toBeGreaterThan(ids.indexOf(foreign.receipt["receipt_id"]));
    expect((await verifyReceiptChain(chain, { keys: didKeyResolver(new DidResolver({ allowInsecureLocalhost: true })) })).ok).toBe(true);
  });

  it("streams progress and ends with a verified result", async () => {
    const st = client.stream<{ forecast: JsonObject[] }>("get_forecast", { location: "Zurich", days: 3 });
    const events: string[] = [];
    for await (const e of st.events) events.push(`${String(e["seq"])} ${String(e["event"])}`);
    expect(events).toEqual(["1 oap.progress", "2 oap.progress", "3 oap.progress", "4 oap.complete"]);
    const r = await st.result;
    expect(r.output.forecast).toHaveLength(3);
    expect(client.receipts().at(-1)?.["receipt_id"]).toBe(r.receipt["receipt_id"]);
  });

  it("async actions: waits for the task, answers its input request, cancels", async () => {
    const report = await client.call<{ years: JsonObject[] }>("climate_report", { location: "Vienna", from_year: 2000, to_year: 2002 });
    expect(report.output.years).toHaveLength(3);
    expect(report.receipt["type"]).toBe("task_completion");

    const started = await client.invoke<{ place: JsonObject }>("climate_report", { location: "Frankfurt", from_year: 2000, to_year: 2001 });
    if (started.kind !== "task") throw new Error("expected a task");
    for await (const t of started.task.watch()) if (t.status === "awaiting_input") break;
    await started.task.provideInput({ region: "Hesse (am Main)" });
    const done = await started.task.result();
    expect(done.output.place).toMatchObject({ region: "Hesse (am Main)" });

    const slowClient = await createOapClient(slow.manifestUrl, { agent, principal: principal.did, context: CONTEXT, transport, ...(slow.grpcUrl === undefined ? {} : { grpcUrl: slow.grpcUrl }) });
    const long = await slowClient.invoke("climate_report", { location: "Madrid", from_year: 1979, to_year: 2028 });
    if (long.kind !== "task") throw new Error("expected a task");
    const canceled = await long.task.cancel("changed my mind");
    expect(canceled.status).toBe("canceled");
    expect(await remoteCode(long.task.result())).toBe("conflict");
  });

  it("surfaces the Tool's refusals as remote errors with their Appendix B code, and checks input locally", async () => {
    const cn = await createOapClient(s.manifestUrl, { agent, principal: principal.did, context: { ...CONTEXT, jurisdiction_user: "CN" }, transport, ...(s.grpcUrl === undefined ? {} : { grpcUrl: s.grpcUrl }) });
    expect(await remoteCode(cn.call("get_forecast", { location: "Berlin", days: 1 }))).toBe("legal_unavailable");
    expect(await remoteCode(cn.call("find_location", { query: "x" }))).toBe("auth_required");
    expect(await remoteCode(client.call("get_forecast", { location: "Berlin", days: 99 }))).toBe("ERR_OAP_INPUT_INVALID");
  });
});

describe("the client detects tampering", () => {
  it("an altered response output fails the Tool's signature; an altered receipt in the audit answer breaks the chain", async () => {
    const alterOutput: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith("/oap/invoke")) return res;
      const body = (await res.json()) as JsonObject;
      body["output"] = { forecast: [] };
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    };
    const a = await createOapClient(s.manifestUrl, { agent, principal: principal.did, context: CONTEXT, fetch: alterOutput });
    expect(await remoteCode(a.call("get_forecast", { location: "Berlin", days: 1 }))).toBe("ERR_OAP_SIGNATURE_INVALID");

    const alterAudit: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes("/oap/audit")) return res;
      const body = (await res.json()) as JsonObject;
      const list = body["receipts"] as JsonObject[];
      if (list.length > 0) (list[0] as JsonObject)["action_id"] = "find_location_x";
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    };
    const b = await createOapClient(s.manifestUrl, { agent, principal: { did: principal.did, apiKey: API_KEY }, context: CONTEXT, fetch: alterAudit });
    expect(await remoteCode(b.call("get_forecast", { location: "Berlin", days: 1 }))).toBe("ERR_OAP_RECEIPT_CHAIN");
  });
});
