/**
 * OAP-CORE-1.0 §9.1 streaming: Server-Sent Events at the `stream` endpoint and the gRPC
 * `Stream` RPC. Every event carries seq (the SSE `id:` line and the JSON member), event and
 * data; the final event is `oap.complete` with the signed response and the final Receipt (or
 * `oap.error`, with the receipt when the action had started).
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolService } from "../../gen/oap/v1/tool_service_pb.js";
import type { JsonObject } from "../../src/json/types.js";
import { OapError } from "../../src/oap/errors.js";
import { didKeyResolver, requestEnvelopeFromJson, streamEventToJson, verifyReceiptSignatures, verifyResponse } from "../../src/oap/index.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { defineTool } from "../../src/oap/server/tool.js";
import { WEATHER_MANIFEST } from "../../src/oap/tools/weather.js";
import { jcsDigest } from "../../src/oap/util.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { API_KEY, envelope, oapHeaders, post, principal, startTool } from "./server-helpers.js";

const keys = didKeyResolver(new DidResolver({ allowInsecureLocalhost: true }));
let s: RunningOapServer;

interface RawEvent {
  id: string;
  event: string;
  data: JsonObject;
}

async function sse(url: string, env: JsonObject, extra: Record<string, string> = {}): Promise<{ status: number; headers: Headers; events: RawEvent[]; text: string }> {
  const res = await fetch(url, { method: "POST", headers: { ...oapHeaders(env), accept: "text/event-stream", ...extra }, body: JSON.stringify(env) });
  const text = await res.text();
  const events = text
    .split("\n\n")
    .filter((b) => b.trim() !== "" && !b.startsWith(":"))
    .map((block) => {
      const lines = Object.fromEntries(block.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
      return { id: lines["id"] as string, event: lines["event"] as string, data: JSON.parse(lines["data"] as string) as JsonObject };
    });
  return { status: res.status, headers: res.headers, events, text };
}

beforeAll(async () => {
  s = await startTool();
});
afterAll(async () => {
  await s.close();
});

describe("§9.1 SSE at the stream endpoint", () => {
  it("progress events with id = seq, then oap.complete carrying the signed response and the final receipt", async () => {
    const env = envelope({ idempotency_key: "s-1", input: { location: "Vienna", days: 3 } });
    const r = await sse(`${s.url}/oap/stream`, env);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(r.headers.get("oap-request-id")).toBe(env["request_id"]);
    expect(r.events.map((e) => [e.id, e.event])).toEqual([
      ["1", "oap.progress"],
      ["2", "oap.progress"],
      ["3", "oap.progress"],
      ["4", "oap.complete"],
    ]);
    for (const e of r.events) expect([e.data["seq"], e.data["event"]]).toEqual([Number(e.id), e.event]);
    expect(r.events[0]?.data["data"]).toMatchObject({ day: 1, of: 3 });
    const done = r.events[3]?.data as JsonObject;
    const response = done["response"] as JsonObject;
    const receipt = done["receipt"] as JsonObject;
    await verifyResponse(response, keys, { toolDid: s.server.did, requestId: String(env["request_id"]) });
    await verifyReceiptSignatures(receipt, keys);
    expect(receipt["receipt_id"]).toBe((response["receipt"] as JsonObject)["id"]);
    expect(receipt["output_hash"]).toBe(jcsDigest(response["output"]));
    expect(receipt["input_hash"]).toBe(jcsDigest(env["input"]));
    const audit = (await (await fetch(`${s.url}/oap/audit?principal_did=${encodeURIComponent(principal.did)}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as JsonObject;
    expect((audit["receipts"] as JsonObject[]).at(-1)).toEqual(receipt);
  });

  it("an idempotent retry is one oap.complete with the stored response and its receipt", async () => {
    const first = await sse(`${s.url}/oap/stream`, envelope({ idempotency_key: "s-2" }));
    const retry = await sse(`${s.url}/oap/stream`, envelope({ idempotency_key: "s-2" }));
    expect(retry.events.map((e) => [e.id, e.event])).toEqual([["1", "oap.complete"]]);
    expect(retry.events[0]?.data["response"]).toEqual(first.events.at(-1)?.data["response"]);
    expect(retry.events[0]?.data["receipt"]).toEqual(first.events.at(-1)?.data["receipt"]);
  });

  it("a refusal before the stream starts is an ordinary signed error answer, not an event stream", async () => {
    const env = envelope({ idempotency_key: "s-3" });
    env["input"] = { location: "Paris", days: 1 };
    const r = await post(`${s.url}/oap/stream`, env, oapHeaders(env));
    expect(r.status).toBe(401);
    expect(r.headers.get("content-type")).toBe("application/oap+json");
    await verifyResponse(r.body, keys, { toolDid: s.server.did });
  });

  it("a failure after progress ends with oap.error carrying the error envelope and the receipt of the attempt", async () => {
    const failing = defineTool({
      manifest: WEATHER_MANIFEST,
      actions: {
        find_location: () => ({ locations: [] }),
        get_forecast: (_input, ctx) => {
          ctx.progress({ step: "fetching model run" });
          throw new OapError("ERR_OAP_UPSTREAM", "the model run is not available");
        },
        climate_report: () => ({}),
      },
    });
    const t = await startTool({ tool: failing });
    try {
      const env = envelope({ idempotency_key: "s-4" });
      const r = await sse(`${t.url}/oap/stream`, env);
      expect(r.events.map((e) => [e.id, e.event])).toEqual([
        ["1", "oap.progress"],
        ["2", "oap.error"],
      ]);
      const response = r.events[1]?.data["response"] as JsonObject;
      const receipt = r.events[1]?.data["receipt"] as JsonObject;
      await verifyResponse(response, keys, { toolDid: t.server.did, requestId: String(env["request_id"]) });
      expect(response["error"]).toEqual({ code: "upstream_error", message: "the model run is not available" });
      expect(response["receipt"]).toEqual({ id: receipt["receipt_id"] });
      expect(receipt["output_hash"]).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe("§9.1 over gRPC: oap.v1.ToolService/Stream", () => {
  it("progress events with seq, then oap.complete with the signed response and receipt", async () => {
    const client = createClient(ToolService, createGrpcTransport({ baseUrl: s.grpcUrl as string }));
    const env = envelope({ idempotency_key: "g-1", input: { location: "Rome", days: 2 } });
    const events: JsonObject[] = [];
    for await (const m of client.stream(requestEnvelopeFromJson(env), { headers: { "oap-idempotency-key": "g-1" } })) events.push(streamEventToJson(m));
    expect(events.map((e) => [e["seq"], e["event"]])).toEqual([
      [1, "oap.progress"],
      [2, "oap.progress"],
      [3, "oap.complete"],
    ]);
    const done = events[2] as JsonObject;
    await verifyResponse(done["response"], keys, { toolDid: s.server.did, requestId: String(env["request_id"]) });
    await verifyReceiptSignatures(done["receipt"], keys);
    expect((done["receipt"] as JsonObject)["output_hash"]).toBe(jcsDigest((done["response"] as JsonObject)["output"]));
  });
});
