/**
 * `agentwire serve` hosting OAP tools (§6.1 one manifest per host, §5.1 the Tool DID): the
 * node's own Tool at its root with the node DID and key (the node's did.json gains the OAP
 * services), tools defined in code mounted at /tools/<id> with did:web path DIDs, ToolService on
 * the node's HTTP port (Connect) and gRPC port, API keys from the node config, and the embedded
 * store carrying receipt chains and replay protection across a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { parseNodeConfig, startAgentwireNode } from "../../src/node/node.js";
import { createOapClient } from "../../src/oap/client/client.js";
import { loadOapToolModule } from "../../src/oap/server/node-host.js";
import { defineTool } from "../../src/oap/server/tool.js";
import { WEATHER_MANIFEST, weatherTool } from "../../src/oap/tools/weather.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { agent, CONTEXT, envelope, oapHeaders, post, principal } from "./server-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "oap-node-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const API_KEY = "oap_apikey_fromnodeconfig00000000000000000000000";

const echoTool = defineTool({
  manifest: { ...WEATHER_MANIFEST, tool: { ...WEATHER_MANIFEST.tool, id: "weather-lite", name: "Weather Lite" }, actions: [WEATHER_MANIFEST.actions[0]] } as typeof WEATHER_MANIFEST,
  actions: { find_location: () => ({ locations: [] }) },
});

describe("agentwire serve hosts OAP tools", () => {
  it("the node's Tool at its root, a second tool under /tools/<id>, over HTTPS, Connect and gRPC; API keys from the config", async () => {
    const config = await parseNodeConfig({ oap: { apiKeys: [{ id: "cfg-key", key: API_KEY, principal_did: principal.did }] } }, dir);
    const node = await startAgentwireNode({ dataDir: join(dir, "n1"), port: 0, grpcPort: 0, config, oap: { tools: [weatherTool(), echoTool] } });
    try {
      const m = (await (await fetch(`${node.servers.url}/.well-known/oap-tool.json`)).json()) as JsonObject;
      expect((m["tool"] as JsonObject)["did"]).toBe(node.did);
      const did = (await (await fetch(`${node.servers.url}/.well-known/did.json`)).json()) as JsonObject;
      expect((did["service"] as JsonObject[]).map((x) => x["type"])).toEqual(["OAPInvocationEndpoint", "OAPToolManifest", "OAPRevocationStatus"]);
      expect(did["keyAgreement"]).toHaveLength(1);
      expect((await fetch(`${node.servers.url}/.well-known/ohp-capabilities.json`)).status).toBe(200);

      for (const transport of ["https", "connect", "grpc"] as const) {
        const client = await createOapClient(`${node.servers.url}/.well-known/oap-tool.json`, {
          agent,
          principal: { did: principal.did, apiKey: API_KEY },
          context: CONTEXT,
          authorization: `Bearer ${API_KEY}`,
          transport,
          grpcUrl: node.servers.grpcUrl as string,
        });
        const r = await client.call("find_location", { query: "Ham" });
        expect(r.receipt["tool_did"]).toBe(node.did);
      }

      const liteUrl = `${node.servers.url}/tools/weather-lite/.well-known/oap-tool.json`;
      const lite = (await (await fetch(liteUrl)).json()) as JsonObject;
      const liteDid = String((lite["tool"] as JsonObject)["did"]);
      expect(liteDid).toBe(`${node.did}:tools:weather-lite`);
      expect((lite["endpoints"] as JsonObject)["invoke"]).toBe(`${node.servers.url}/tools/weather-lite/oap/invoke`);
      const resolved = await new DidResolver({ allowInsecureLocalhost: true }).resolve(liteDid);
      expect(resolved.keys).toHaveLength(1);
      for (const transport of ["https", "grpc"] as const) {
        const client = await createOapClient(liteUrl, { agent, principal: principal.did, context: CONTEXT, authorization: `Bearer ${API_KEY}`, transport, grpcUrl: node.servers.grpcUrl as string });
        const r = await client.call("find_location", { query: "x" });
        expect(r.receipt["tool_did"]).toBe(liteDid);
      }
    } finally {
      await node.stop();
    }
  });

  it("receipt chains and replay protection live in DIR/oap-<id>.sqlite and survive a restart", async () => {
    const data = join(dir, "n2");
    const env = envelope({ idempotency_key: "restart-1" });
    let first: JsonObject;
    {
      const node = await startAgentwireNode({ dataDir: data, port: 0, grpcPort: false, oap: { tools: [weatherTool()] } });
      try {
        first = (await post(`${node.servers.url}/oap/invoke`, env, oapHeaders(env))).body;
        expect(first["status"]).toBe("ok");
      } finally {
        await node.stop();
      }
    }
    const node = await startAgentwireNode({ dataDir: data, port: 0, grpcPort: false, oap: { tools: [weatherTool()] } });
    try {
      const replay = await post(`${node.servers.url}/oap/invoke`, env, oapHeaders(env));
      expect([replay.status, (replay.body["error"] as JsonObject)["code"]]).toEqual([409, "conflict"]);
      const retry = envelope({ idempotency_key: "restart-1" });
      expect((await post(`${node.servers.url}/oap/invoke`, retry, oapHeaders(retry))).body).toEqual(first);
      const second = envelope({ idempotency_key: "restart-2" });
      const r2 = await post(`${node.servers.url}/oap/invoke`, second, oapHeaders(second));
      const list = node.oap?.servers[0]?.store.receipts.list(principal.did);
      const receipts = (await list) as JsonObject[];
      expect(receipts.map((r) => r["receipt_id"])).toEqual([(first["receipt"] as JsonObject)["id"], (r2.body["receipt"] as JsonObject)["id"]]);
      expect(receipts[1]?.["previous_receipt_hash"]).toMatch(/^sha256:/);
    } finally {
      await node.stop();
    }
    expect(agent.did.startsWith("did:key:")).toBe(true);
  });

  it("loads tools defined in code (--oap-tool MODULE) and refuses modules exporting something else", async () => {
    const good = join(dir, "tool.mjs");
    writeFileSync(
      good,
      `export default { manifest: ${JSON.stringify({ ...WEATHER_MANIFEST, tool: { ...WEATHER_MANIFEST.tool, id: "from-module" } })}, actions: new Map([["find_location", { handler: () => ({ locations: [] }) }], ["get_forecast", { handler: () => ({ forecast: [] }) }], ["climate_report", { handler: () => ({}) }]]) };\n`,
    );
    const bad = join(dir, "bad.mjs");
    writeFileSync(bad, "export default 42;\n");
    const tools = await loadOapToolModule(good);
    expect(tools.map((t) => t.manifest.tool.id)).toEqual(["from-module"]);
    await expect(loadOapToolModule(bad)).rejects.toMatchObject({ code: "ERR_OAP_ACTION_INVALID" });
  });
});
