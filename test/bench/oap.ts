/**
 * OAP invocation throughput on loopback: `oap.v1.ToolService/Invoke` of the part-B server (the
 * whole §8 pipeline: agent-signed envelope, schema, ±5 min window, signature, nonce, §10
 * authorisation with its decision record in the audit log, policies, rate limit, idempotency,
 * input/output schemas, a chained and signed receipt, a signed response) against a bare Connect
 * echo of the same RPC (no checks, no crypto, no store), over the same Connect (HTTP/1.1)
 * transport. Reported as ratios; no targets (the pipeline does four durable writes per call
 * with the SQLite store at synchronous=FULL, and two Ed25519 signatures plus one verification).
 * The agent's envelope signing is part of each measured OAP call (a fresh request_id is
 * required every time), and reported alone as well.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { ResponseEnvelopeSchema } from "../../gen/oap/v1/envelope_pb.js";
import { ToolService } from "../../gen/oap/v1/tool_service_pb.js";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { requestEnvelopeFromJson } from "../../src/oap/proto-json.js";
import { signRequest } from "../../src/oap/sign.js";
import { startOapServer, type RunningOapServer } from "../../src/oap/server/standalone.js";
import { MemoryOapStore } from "../../src/oap/server/store.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import { defineTool, type OapManifestInput } from "../../src/oap/server/tool.js";
import { WEATHER_MANIFEST } from "../../src/oap/tools/weather.js";
import { oapUlid } from "../../src/oap/util.js";
import { didKeyFromPublicKey } from "../../src/trust/did/did-key.js";
import { measureAsync, type BenchResult } from "./types.js";

const echoAction = {
  id: "echo",
  version: "1.0.0",
  summary: "Echoes its input.",
  description_for_agents: "Returns the text it is given.",
  input_schema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
  output_schema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
  side_effects: "none",
  idempotent: false,
  cost: { type: "free" },
  latency_p95_ms: 5,
  rate_limit: { rpm: 100_000_000, concurrent: 10_000 },
  requires_consent: false,
  risk_class: "minimal",
  data_classes_in: [],
  data_classes_out: [],
  examples: [{ input: { text: "hi" }, output: { text: "hi" } }],
};
const echoTool = defineTool({
  manifest: { ...WEATHER_MANIFEST, tool: { ...WEATHER_MANIFEST.tool, id: "bench-echo" }, actions: [echoAction] } as unknown as OapManifestInput,
  actions: { echo: (input: { text: string }) => ({ text: input.text }) },
});

const toolKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x71), { kid: "bench" });
const agentSeed = new Uint8Array(32).fill(0x72);
const agentDid = didKeyFromPublicKey(keyPairFromSeed(ALG_EDDSA, agentSeed).publicJwk);
const agentKey = keyPairFromSeed(ALG_EDDSA, agentSeed, { kid: `${agentDid}#${agentDid.slice(8)}` });
const PRINCIPALS = Array.from({ length: 16 }, (_, i) => `did:web:principal-${i}.example`);
const CONTEXT = { locale: "en", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" };

let n = 0;
function envelope(principal: string): JsonObject {
  return signRequest(
    { oap_version: "1.0", request_id: oapUlid(Date.now()), timestamp: new Date().toISOString(), principal_did: principal, agent_did: agentDid, action: "echo", input: { text: `hello ${n++}` }, context: CONTEXT },
    agentKey,
  ) as unknown as JsonObject;
}

async function listen(routes: (r: ConnectRouter) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function bench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), "oap-bench-"));
  const echo = await listen((router) =>
    router.service(ToolService, {
      invoke: (req) => create(ResponseEnvelopeSchema, { oapVersion: "1.0", requestId: req.requestId ?? "", responseId: req.requestId ?? "", timestamp: req.timestamp ?? "", status: "ok", output: req.input }),
    }),
  );
  const servers: RunningOapServer[] = [];
  try {
    const sqlite = await startOapServer({ tool: echoTool, signer: toolKey, grpcPort: false, store: new SqliteOapStore(join(dir, "bench.sqlite")), webhooks: false });
    const memory = await startOapServer({ tool: echoTool, signer: toolKey, grpcPort: false, store: new MemoryOapStore(), webhooks: false });
    servers.push(sqlite, memory);
    const client = (url: string) => createClient(ToolService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const echoClient = client(echo.url);
    const prebuilt = requestEnvelopeFromJson(envelope(PRINCIPALS[0] as string));
    for (const inFlight of [1, 16]) {
      const group = `OAP ToolService/Invoke over Connect on loopback, ${inFlight} in flight`;
      const batch = async (fn: (i: number) => Promise<unknown>): Promise<unknown> => Promise.all(Array.from({ length: inFlight }, (_, i) => fn(i)));
      const rounds = { rounds: 5, roundMs: 400 };
      const base = "bare Connect echo (same RPC, no checks)";
      results.push({ group, name: base, opsPerSec: inFlight * (await measureAsync(() => batch(() => echoClient.invoke(prebuilt)), rounds)) });
      for (const [label, s] of [
        ["OAP invoke: receipts + SQLite store (synchronous=FULL)", sqlite],
        ["OAP invoke: receipts + in-memory stores", memory],
      ] as const) {
        const c = client(s.url);
        results.push({
          group,
          name: label,
          opsPerSec: inFlight * (await measureAsync(() => batch((i) => c.invoke(requestEnvelopeFromJson(envelope(PRINCIPALS[i % PRINCIPALS.length] as string)))), rounds)),
          baseline: base,
        });
      }
      if (inFlight === 1) {
        results.push({ group, name: "agent envelope signing alone (JCS + Ed25519, in each OAP call)", opsPerSec: await measureAsync(async () => envelope(PRINCIPALS[0] as string), rounds) });
      }
    }
    const chained = (await sqlite.server.store.receipts.list(PRINCIPALS[0] as string)).length;
    const last = results.findLast((r) => r.name.startsWith("OAP invoke: receipts + SQLite"));
    if (last !== undefined) results[results.indexOf(last)] = { ...last, note: `(${chained} receipts chained for ${PRINCIPALS[0]} in the SQLite store)` };
  } finally {
    for (const s of servers) await s.close();
    await new Promise<void>((r) => echo.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
