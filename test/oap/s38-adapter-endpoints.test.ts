/**
 * OAP-CORE-1.0 §38 adapters, served: the MCP JSON-RPC endpoint (`POST /mcp`: initialize,
 * tools/list, tools/call through the engine's invoke path, JSON-RPC errors, bearer
 * authorisation), the A2A Agent Card at /.well-known/agent.json, and `agentwire oap import`.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oapCommand } from "../../src/cli/oap.js";
import type { CliIo } from "../../src/cli/io.js";
import type { JsonObject } from "../../src/json/types.js";
import { oapManifestToA2aAgentCard } from "../../src/oap/adapters/a2a.js";
import { validateOapDocument } from "../../src/oap/documents.js";
import { JSONRPC } from "../../src/oap/server/adapters-endpoints.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { agent, API_KEY, CONTEXT, post, principal, startTool } from "./server-helpers.js";

let s: RunningOapServer;
let plain: RunningOapServer;
const auth = { authorization: `Bearer ${API_KEY}` };
let rpcId = 0;

async function rpc(method: string, params?: JsonObject, headers: Record<string, string> = auth): Promise<{ status: number; body: JsonObject }> {
  const r = await post(`${s.url}/mcp`, { jsonrpc: "2.0", id: ++rpcId, method, ...(params === undefined ? {} : { params }) }, headers);
  return { status: r.status, body: r.body };
}

beforeAll(async () => {
  s = await startTool({
    http: {
      adapters: {
        mcp: { agent: { did: agent.did, signer: agent.signer }, credentials: new Map([[API_KEY, { principal_did: principal.did }]]), context: CONTEXT },
        a2a: true,
      },
    },
  });
  plain = await startTool();
});
afterAll(async () => {
  await s.close();
  await plain.close();
});

describe("§38.1 MCP endpoint", () => {
  it("initialize and tools/list answer the manifest's actions as MCP tools", async () => {
    const init = await rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } });
    expect(init.status).toBe(200);
    expect(init.body["result"]).toMatchObject({ protocolVersion: "2025-06-18", capabilities: { tools: {} } });
    const list = await rpc("tools/list");
    expect(list.body["jsonrpc"]).toBe("2.0");
    expect(list.body["id"]).toBe(rpcId);
    const tools = (list.body["result"] as JsonObject)["tools"] as JsonObject[];
    expect(tools.map((t) => t["name"])).toContain("get_forecast");
    expect(tools.find((t) => t["name"] === "get_forecast")?.["annotations"]).toMatchObject({ readOnlyHint: true });
  });

  it("a notification is accepted with 202 and no body", async () => {
    const r = await fetch(`${s.url}/mcp`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    expect(r.status).toBe(202);
    expect(await r.text()).toBe("");
  });

  it("tools/call runs through the engine: a structured result with the receipt naming the adapter agent and the Principal", async () => {
    const r = await rpc("tools/call", { name: "get_forecast", arguments: { location: "Berlin", days: 2 } });
    expect(r.status).toBe(200);
    expect(r.body["error"]).toBeUndefined();
    const result = r.body["result"] as JsonObject;
    expect(result["isError"]).toBe(false);
    expect(result["structuredContent"]).toBeDefined();
    expect(JSON.parse(String((result["content"] as JsonObject[])[0]?.["text"]))).toEqual(result["structuredContent"]);
    const receipt = (result["_meta"] as JsonObject)["oap/receipt"] as JsonObject;
    expect(receipt["id"]).toBeDefined();
    const audit = (await (await fetch(`${s.url}/oap/audit?principal_did=${encodeURIComponent(principal.did)}`, { headers: auth })).json()) as JsonObject;
    const stored = (audit["receipts"] as JsonObject[]).find((x) => x["receipt_id"] === receipt["id"]);
    expect(stored).toMatchObject({ action_id: "get_forecast", agent_did: agent.did, principal_did: principal.did });
  });

  it("a client-given _meta[\"oap/idempotency_key\"] makes a retried call an idempotent replay", async () => {
    const params = { name: "get_forecast", arguments: { location: "Paris", days: 1 }, _meta: { "oap/idempotency_key": "mcp-retry-1" } };
    const a = (await rpc("tools/call", params)).body["result"] as JsonObject;
    const b = (await rpc("tools/call", params)).body["result"] as JsonObject;
    expect(a["isError"]).toBe(false);
    expect(((b["_meta"] as JsonObject)["oap/receipt"] as JsonObject)["id"]).toBe(((a["_meta"] as JsonObject)["oap/receipt"] as JsonObject)["id"]);
  });

  it("an unknown tool, malformed params and schema-invalid input are JSON-RPC -32602 errors", async () => {
    const unknown = await rpc("tools/call", { name: "no_such_tool", arguments: {} });
    expect(unknown.status).toBe(200);
    expect(unknown.body["result"]).toBeUndefined();
    expect(unknown.body["error"]).toMatchObject({ code: JSONRPC.invalidParams, message: "Unknown tool: no_such_tool" });
    const malformed = await rpc("tools/call", { name: "get_forecast", arguments: "Berlin" });
    expect(malformed.body["error"]).toMatchObject({ code: JSONRPC.invalidParams });
    const bad = await rpc("tools/call", { name: "get_forecast", arguments: { location: 42, days: "many" } });
    expect(bad.body["error"]).toMatchObject({ code: JSONRPC.invalidParams, data: { oap_error: { code: "invalid_input" } } });
    const method = await rpc("resources/list");
    expect(method.body["error"]).toMatchObject({ code: JSONRPC.methodNotFound });
  });

  it("a parse error and a non-JSON-RPC body are refused", async () => {
    const parse = await post(`${s.url}/mcp`, "{not json", auth);
    expect(parse.status).toBe(400);
    expect(parse.body["error"]).toMatchObject({ code: JSONRPC.parseError });
    const notRpc = await post(`${s.url}/mcp`, { method: "tools/list", id: 1 }, auth);
    expect(notRpc.body["error"]).toMatchObject({ code: JSONRPC.invalidRequest });
  });

  it("without a valid bearer the endpoint answers 401 and runs nothing", async () => {
    const none = await rpc("tools/list", undefined, {});
    expect(none.status).toBe(401);
    expect(none.body["error"]).toMatchObject({ code: JSONRPC.unauthorized });
    const wrong = await rpc("tools/call", { name: "get_forecast", arguments: { location: "Berlin", days: 1 } }, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
  });

  it("is opt-in: a server without adapters does not serve /mcp or the Agent Card", async () => {
    expect((await fetch(`${plain.url}/mcp`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${plain.url}/.well-known/agent.json`)).status).toBe(404);
  });
});

describe("§38.2 A2A Agent Card", () => {
  it("serves the manifest as an Agent Card at /.well-known/agent.json", async () => {
    const r = await fetch(`${s.url}/.well-known/agent.json`);
    expect(r.status).toBe(200);
    const card = (await r.json()) as JsonObject;
    const manifest = (await (await fetch(s.manifestUrl)).json()) as JsonObject;
    expect(card).toEqual(JSON.parse(JSON.stringify(oapManifestToA2aAgentCard(manifest as never, `${s.url}/`))));
    expect((card["skills"] as JsonObject[]).map((k) => k["id"])).toContain("get_forecast");
  });
});

describe("agentwire oap import", () => {
  const facts = {
    baseUrl: "https://mcp.example/",
    jurisdictions: ["DE"],
    governance: { dispute_resolution_url: "https://mcp.example/disputes", contact_email: "ops@mcp.example" },
    data_policy: { stores_principal_data: false, retention_days: 0, shares_with_third_parties: false, training_on_principal_data: "never", deletion_endpoint: "/oap/data/delete", lawful_bases: ["contract"] },
    tool: { name: "Files" },
  };
  const mcpList = { tools: [{ name: "read_file", description: "Read a file.", inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }, annotations: { readOnlyHint: true } }] };
  const card = { name: "Travel Agent", description: "Books trips.", url: "https://travel.example/a2a", version: "2.1", provider: { organization: "Travel Ltd" }, skills: [{ id: "book-trip", name: "Book a trip", description: "Books flights and hotels.", tags: ["travel"], examples: ["Book Berlin to Rome"] }] };

  async function run(args: string[], files: Record<string, string>): Promise<{ code: number; out: string; err: string; written: Record<string, string> }> {
    let out = "";
    let err = "";
    const written: Record<string, string> = {};
    const io: CliIo = {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      readFile: async (p) => (p in files ? (files[p] as string) : readFileSync(p, "utf8")),
      writeFile: async (p, t) => void (written[p] = t),
      cwd: "/",
    } as CliIo;
    try {
      return { code: await oapCommand.run(args, io), out, err, written };
    } catch (e) {
      return { code: (e as { exitCode?: number }).exitCode ?? 2, out, err: err + (e as Error).message, written };
    }
  }

  it("--from mcp writes a schema-valid L0 manifest", async () => {
    const r = await run(["import", "tools.json", "--from", "mcp", "--facts", "facts.json"], { "tools.json": JSON.stringify(mcpList), "facts.json": JSON.stringify(facts) });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out) as JsonObject;
    expect(validateOapDocument("oap-manifest", m)).toEqual([]);
    expect(m["conformance"]).toMatchObject({ claimed_levels: ["L0"] });
    expect(m["tool"]).toMatchObject({ name: "Files", did: "did:web:mcp.example" });
    expect((m["actions"] as JsonObject[])[0]).toMatchObject({ id: "read_file", side_effects: "read" });
  });

  it("--from a2a with --out writes the manifest to the file", async () => {
    const { tool: _t, baseUrl: _b, ...a2aFacts } = facts;
    const r = await run(["import", "card.json", "--from", "a2a", "--facts", "facts.json", "--out", "m.json"], { "card.json": JSON.stringify(card), "facts.json": JSON.stringify(a2aFacts) });
    expect(r.code).toBe(0);
    const m = JSON.parse(r.written["m.json"] as string) as JsonObject;
    expect(validateOapDocument("oap-manifest", m)).toEqual([]);
    expect(m["tool"]).toMatchObject({ name: "Travel Agent", did: "did:web:travel.example", version: "2.1.0" });
    expect((m["actions"] as JsonObject[])[0]).toMatchObject({ id: "book_trip", side_effects: "external" });
  });

  it("refuses a missing --from, missing facts and input that is not a tool list", async () => {
    expect((await run(["import", "tools.json", "--facts", "facts.json"], {})).code).toBe(2);
    expect((await run(["import", "tools.json", "--from", "mcp"], {})).code).toBe(2);
    const bad = await run(["import", "tools.json", "--from", "mcp", "--facts", "facts.json"], { "tools.json": JSON.stringify({ nope: 1 }), "facts.json": JSON.stringify(facts) });
    expect(bad.code).toBe(1);
    const invalid = await run(["import", "tools.json", "--from", "mcp", "--facts", "facts.json"], { "tools.json": JSON.stringify(mcpList), "facts.json": JSON.stringify({ ...facts, jurisdictions: ["Europe"] }) });
    expect(invalid.code).toBe(1);
    expect(invalid.err).toMatch(/invalid|jurisdictions/u);
  });
});
