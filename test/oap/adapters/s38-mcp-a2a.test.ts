/**
 * OAP-CORE-1.0 §38 (Appendix E) migration from MCP and A2A: an OAP manifest as an MCP tool list
 * and `tools/call` mapping (§38.1), an MCP tool list or an A2A Agent Card imported as an L0 OAP
 * manifest (§38.1, §38.2, §31 L0).
 */
import { describe, expect, it } from "vitest";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { A2A_SKILL_INPUT_SCHEMA, a2aAgentCardToOapManifest, didWebOf, oapManifestToA2aAgentCard, type A2aAgentCard } from "../../../src/oap/adapters/a2a.js";
import { actionIdFor, minimalInstance, toolIdFor } from "../../../src/oap/adapters/l0.js";
import { MCP_META_ACTION, mcpCallToOapRequest, mcpToolToOapAction, mcpToolsToOapManifest, oapActionToMcpTool, oapManifestToMcpTools, oapResponseToMcpResult, type McpTool } from "../../../src/oap/adapters/mcp.js";
import { compileAction } from "../../../src/oap/actions.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { OapError } from "../../../src/oap/errors.js";
import { builtinProbes, runConformance } from "../../../src/oap/governance/conformance.js";
import { signRequest } from "../../../src/oap/sign.js";
import { oapIds } from "../../../src/oap/util.js";
import { AGENT_DID, PRINCIPAL_DID, TestClock, agentSigner, counterRandom, thrown, upstream } from "../helpers.js";

const weather = upstream<OapManifest>("examples/weather-pro/manifest.json");
const crm = upstream<OapManifest>("examples/team-crm-collaborative/manifest.json");

const facts = {
  baseUrl: "https://mcp.example/",
  jurisdictions: ["EU"] as OapManifest["jurisdictions"],
  governance: { dispute_resolution_url: "https://mcp.example/disputes", contact_email: "ops@mcp.example" },
  data_policy: { stores_principal_data: false, retention_days: 0, shares_with_third_parties: false, training_on_principal_data: "never" as const, deletion_endpoint: "/oap/data/delete", lawful_bases: ["contract" as const] },
};

const mcpTools: McpTool[] = [
  { name: "read_file", title: "Read a file", description: "Read the complete contents of a file. Only works within allowed directories.", inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }, annotations: { readOnlyHint: true } },
  { name: "write_file", description: "Create a new file or overwrite an existing one.", inputSchema: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } }, required: ["path", "content"] } },
  { name: "list-directory", description: "List a directory.", inputSchema: { type: "object", properties: { path: { type: "string", default: "." } } }, outputSchema: { type: "object", properties: { entries: { type: "array", items: { type: "string" } } }, required: ["entries"] }, annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false, idempotentHint: true } },
  { name: "search.web", description: "Search the web.", inputSchema: { type: "object", properties: { q: { type: "string", minLength: 1 }, n: { type: "integer", minimum: 1 } }, required: ["q", "n"] }, annotations: { destructiveHint: false } },
  { name: "2fa_code", inputSchema: { type: "object" } },
];

describe("§38.1 OAP as an MCP server", () => {
  it("§38.1 an action becomes an MCP tool with hints and the OAP facts in _meta", () => {
    const { tools } = oapManifestToMcpTools(weather);
    expect(tools).toHaveLength(1);
    const t = tools[0] as McpTool;
    const a = weather.actions[0];
    expect(t).toMatchObject({
      name: "get_forecast",
      title: a?.summary,
      description: a?.description_for_agents,
      inputSchema: a?.input_schema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    });
    expect(t._meta?.[MCP_META_ACTION]).toMatchObject({ id: "get_forecast", version: a?.version, cost: { type: "per_call", amount: "0.001", currency: "EUR" }, risk_class: "minimal" });
    const write = oapActionToMcpTool({ ...(crm.actions.find((x) => x.side_effects === "write") ?? crm.actions[0]) } as never, { namePrefix: "crm." });
    expect(write.name.startsWith("crm.")).toBe(true);
    expect(write.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });

  it("§38.1 a non-object input schema is wrapped under `input` and unwrapped on call", () => {
    const action = { ...weather.actions[0], id: "square", input_schema: { type: "number" } } as OapManifest["actions"][number];
    const tool = oapActionToMcpTool(action);
    expect(tool.inputSchema).toEqual({ type: "object", properties: { input: { type: "number" } }, required: ["input"], additionalProperties: false });
    const clock = new TestClock();
    const env = mcpCallToOapRequest({ name: "square", arguments: { input: 7 } }, { actions: [action] }, { principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, context: { locale: "en", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" }, clock: clock.now });
    expect(env["input"]).toBe(7);
  });

  it("§38.1 tools/call → a schema-valid (once signed) OAP request envelope; unknown tools are 404", async () => {
    const clock = new TestClock();
    const call = { principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, scope_id: "scope_x", context: { locale: "de-DE", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" }, clock: clock.now, ids: oapIds(clock.now, counterRandom()) };
    const env = mcpCallToOapRequest({ name: "get_forecast", arguments: { location: "Berlin, DE", days: 3 } }, weather, call);
    expect(env).toMatchObject({ oap_version: "1.0", action: "get_forecast", input: { location: "Berlin, DE", days: 3 }, scope_id: "scope_x", timestamp: clock.iso() });
    expect(validateOapDocument("oap-request-envelope", signRequest(env, agentSigner))).toEqual([]);
    expect((await thrown(() => mcpCallToOapRequest({ name: "nope" }, weather, call))).code).toBe("ERR_OAP_ACTION_NOT_FOUND");
  });

  it("§38.1 OAP responses → CallToolResult (structured output, errors, accepted tasks)", () => {
    const ok = oapResponseToMcpResult({ oap_version: "1.0", status: "ok", output: { forecast: [1, 2] }, receipt: { id: "urn:oap:receipt:1" } });
    expect(ok).toEqual({ content: [{ type: "text", text: '{"forecast":[1,2]}' }], structuredContent: { forecast: [1, 2] }, isError: false, _meta: { "oap/status": "ok", "oap/receipt": { id: "urn:oap:receipt:1" } } });
    const err = oapResponseToMcpResult({ status: "error", error: { code: "subscription_required", message: "subscribe first", details: { price_options: [] } } });
    expect(err).toMatchObject({ isError: true, content: [{ type: "text", text: "subscription_required: subscribe first" }], _meta: { "oap/error": { code: "subscription_required" } } });
    expect(oapResponseToMcpResult(new OapError("ERR_OAP_RATE_LIMITED", "slow down"))).toMatchObject({ isError: true, content: [{ text: "rate_limited: slow down" }] });
    expect(oapResponseToMcpResult({ status: "accepted", output: { task_id: "urn:oap:task:1", status: "submitted" } })).toMatchObject({ isError: false, structuredContent: { task_id: "urn:oap:task:1" } });
    expect(oapResponseToMcpResult("garbage").isError).toBe(true);
  });
});

describe("§38.1 MCP tools imported as an L0 OAP manifest", () => {
  it("§38.1 a schema-valid manifest; conservative side effects; ids sanitised; compiles with valid synthetic examples", async () => {
    const tool: OapManifest["tool"] = { id: "filesystem-mcp", did: "did:web:mcp.example", name: "Filesystem MCP", version: "1.0.0", publisher: { did: "did:web:mcp.example", legal_name: "MCP Provider GmbH", verified: false }, categories: ["files"], description_for_humans: "Files.", description_for_agents: "Reads and writes files." };
    const m = mcpToolsToOapManifest({ tools: mcpTools }, { ...facts, tool });
    expect(validateOapDocument("oap-manifest", m)).toEqual([]);
    expect(m.endpoints).toEqual({ invoke: "https://mcp.example/oap/invoke", audit: "https://mcp.example/oap/audit", data_delete: "https://mcp.example/oap/data/delete", incident: "https://mcp.example/oap/incident" });
    expect(m.conformance).toEqual({ claimed_levels: ["L0"], attestor: { method: "self" } });
    expect(m.actions.map((a) => [a.id, a.side_effects, a.idempotent])).toEqual([
      ["read_file", "read", false],
      ["write_file", "irreversible", false],
      ["list_directory", "write", true],
      ["search_web", "external", false],
      ["a_2fa_code", "irreversible", false],
    ]);
    expect(m.actions[0]?.summary).toBe("Read a file");
    expect(m.actions[1]?.summary).toBe("Create a new file or overwrite an existing one.");
    expect(m.actions[2]?.idempotency_window_seconds).toBe(300);
    expect(m.actions[3]?.examples[0]?.input).toEqual({ q: "x", n: 1 });
    for (const a of m.actions) expect(compileAction(a).inputIssues(a.examples[0]?.input), a.id).toEqual([]);
    const r = await runConformance(builtinProbes(), { manifest: m });
    expect(r.levels.L0).toBe("passed");
  });

  it("§38.1 round trip OAP → MCP → OAP keeps ids, schemas and read-only-ness", async () => {
    const tools = oapManifestToMcpTools(weather).tools;
    const back = mcpToolToOapAction(tools[0] as McpTool);
    expect(back).toMatchObject({ id: "get_forecast", input_schema: weather.actions[0]?.input_schema, output_schema: weather.actions[0]?.output_schema, side_effects: "read", idempotent: true });
    expect((await thrown(() => mcpToolsToOapManifest([], { ...facts, tool: weather.tool }))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§38 id helpers and minimal instances", () => {
    expect(actionIdFor("Get-Weather Now!")).toBe("get_weather_now");
    expect(actionIdFor("x", new Set(["x"]))).toBe("x_2");
    expect(actionIdFor("")).toBe("a");
    expect(actionIdFor("a".repeat(100))).toHaveLength(63);
    expect(toolIdFor("My Agent")).toBe("my-agent");
    expect(toolIdFor("A")).toBe("tool-a");
    expect(minimalInstance({ type: "object", required: ["a", "b", "c"], properties: { a: { enum: ["x", "y"] }, b: { type: "array", minItems: 2, items: { type: "boolean" } }, c: { type: "string", format: "date" } } })).toEqual({ a: "x", b: [false, false], c: "2026-01-01" });
  });
});

describe("§38.2 A2A Agent Cards", () => {
  const card: A2aAgentCard = {
    name: "Travel Planner",
    description: "Plans trips and books travel.",
    url: "https://travel.example:8443/a2a",
    version: "2.1",
    provider: { organization: "Travel Example Ltd" },
    capabilities: { streaming: true },
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [
      { id: "plan-trip", name: "Plan a trip", description: "Builds an itinerary.", tags: ["travel", "planning"], examples: ["Plan 3 days in Rome"] },
      { id: "book_flight", name: "Book a flight", description: "Books a flight.", tags: ["travel"] },
    ],
  };

  it("§38.2 an Agent Card becomes a schema-valid L0 manifest, one action per skill", async () => {
    const m = a2aAgentCardToOapManifest(card, facts);
    expect(validateOapDocument("oap-manifest", m)).toEqual([]);
    expect(m.tool).toMatchObject({ id: "travel-planner", did: "did:web:travel.example%3A8443", name: "Travel Planner", version: "2.1.0", categories: ["travel", "planning"], publisher: { legal_name: "Travel Example Ltd", verified: false } });
    expect(m.actions.map((a) => [a.id, a.side_effects, a.summary])).toEqual([
      ["plan_trip", "external", "Plan a trip"],
      ["book_flight", "external", "Book a flight"],
    ]);
    expect(m.actions[0]?.input_schema).toEqual(A2A_SKILL_INPUT_SCHEMA);
    expect(m.actions[0]?.examples[0]?.input).toEqual({ text: "Plan 3 days in Rome" });
    for (const a of m.actions) expect(compileAction(a).inputIssues(a.examples[0]?.input)).toEqual([]);
    expect(compileAction(m.actions[0] as never).inputIssues({})).not.toEqual([]);
    expect((await runConformance(builtinProbes(), { manifest: m })).levels.L0).toBe("passed");
    expect(didWebOf("https://a.example/x")).toBe("did:web:a.example");
    expect(() => a2aAgentCardToOapManifest({ ...card, skills: [] }, facts)).toThrow();
  });

  it("§38.2 an OAP manifest published as an Agent Card", () => {
    const c = oapManifestToA2aAgentCard(weather, "https://gw.example/a2a");
    expect(c).toMatchObject({ name: "Weather Pro", url: "https://gw.example/a2a", version: weather.tool.version, capabilities: { streaming: true, pushNotifications: true }, provider: { organization: weather.tool.publisher.legal_name } });
    expect(c.skills.map((s) => s.id)).toEqual(["get_forecast"]);
  });
});
