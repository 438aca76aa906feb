/**
 * The browser inspector (docs/inspector.md): the InspectorService over Connect (Node client), the
 * page's HTTP guard, and the page itself end to end in headless Chromium (Debian `chromium`
 * driven by playwright-core; those tests skip only when /usr/bin/chromium is absent, and
 * .ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocumentType, InspectorService, InspectRequestSchema } from "../../gen/agentwire/inspector/v1/inspector_pb.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import { builderInputOf, createWorld, type World } from "../../src/conformance/world.js";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, privateJwks, publicJwks } from "../../src/crypto/keys.js";
import { defaultInspectorAssetsDir, inspectorRoutes, isLoopbackHost, type Inspector } from "../../src/inspector/index.js";
import { buildInspector } from "../../src/inspector/build.mjs";
import type { JsonObject } from "../../src/json/types.js";
import { invocationReceiptBody, ReceiptLedger } from "../../src/oap/receipts.js";
import { startOhpServers, type RunningOhpServers } from "../../src/node/server.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import { OhpNode, type NodeIdentity } from "../../src/ohp/control/node.js";
import { MemoryHandoffStore } from "../../src/ohp/control/store.js";
import type { ReceiverPolicy } from "../../src/ohp/policy.js";
import type { Tier } from "../../src/ohp/tiers.js";

const CHROMIUM = "/usr/bin/chromium";
const POLICY: ReceiverPolicy = { annexIIIAllowed: ["5(b)", "5(c)", "5(d)"] };
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const keysOf = (n: number) => ({
  signing: [keyPairFromSeed(ALG_EDDSA, seed(n)), keyPairFromSeed(ALG_MLDSA65, seed(n + 1))],
  enc: [keyPairFromSeed(ALG_HPKE_X25519, seed(n + 2))],
});
const SENDER: NodeIdentity = { vendor: "ai-vendor-a", agentId: "assistant-1", region: "uk-west", did: "did:web:ai-vendor-a.example" };
const RECEIVER: NodeIdentity = { vendor: "contact-centre-b", agentId: "queue-router", region: "uk-south", did: "did:web:cc-b.example" };
const senderKeys = keysOf(60);
const receiverKeys = keysOf(70);

let dir: string;
let world: World;
let store: MemoryHandoffStore;
let receiver: OhpNode;
let sender: OhpNode;
let inspector: Inspector;
let servers: RunningOhpServers;
let client: Client<typeof InspectorService>;

function input(tier: Tier) {
  return builderInputOf(baseEnvelope(tier));
}

async function propose(tier: Tier = "signed"): Promise<string> {
  const peer = await discoverPeer(servers.url, "ohp/https");
  const r = await sender.propose(peer, input(tier));
  expect(r.verb).toBe("ACCEPT");
  return r.handoffId;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agentwire-inspector-"));
  // The page as `npm run build` makes it, into a private directory (dist/ may be stale here).
  await buildInspector({ outdir: join(dir, "inspector") });
  world = createWorld({ label: "inspector-test", now: new Date() });
  store = new MemoryHandoffStore();
  const trustedIssuers = new Map([[SENDER.did, publicJwks([...senderKeys.signing, ...senderKeys.enc])]]);
  receiver = new OhpNode({
    identity: RECEIVER,
    signingKeys: receiverKeys.signing,
    encryptionKeys: receiverKeys.enc,
    store,
    trustedIssuers,
    policy: POLICY,
    transports: { "ohp/https": httpsTransport() },
  });
  sender = new OhpNode({
    identity: SENDER,
    signingKeys: senderKeys.signing,
    encryptionKeys: senderKeys.enc,
    store: new MemoryHandoffStore(),
    trustedIssuers: new Map([[RECEIVER.did, publicJwks([...receiverKeys.signing, ...receiverKeys.enc])]]),
    policy: POLICY,
    transports: { "ohp/https": httpsTransport() },
  });
  inspector = inspectorRoutes({ node: receiver, store, policy: POLICY, trustedIssuers, assetsDir: join(dir, "inspector"), pollIntervalMs: 100 });
  servers = await startOhpServers({ node: receiver, grpcPort: false, routes: inspector.http });
  client = createClient(InspectorService, createConnectTransport({ baseUrl: servers.url, httpVersion: "1.1" }));
});

afterAll(async () => {
  inspector?.close();
  await servers?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(path, servers.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("InspectorService over Connect", () => {
  it("OHP Regulated: accept, every D09 step, both signatures verified, sealed fields opened with a supplied key", async () => {
    const env = await world.envelope("regulated");
    const r = await client.inspect({
      documentJson: JSON.stringify(env),
      jwksJson: JSON.stringify(world.issuerJwks),
      privateJwksJson: JSON.stringify(privateJwks([world.keys.receiver])),
    });
    expect(r.type).toBe(DocumentType.OHP_ENVELOPE);
    expect(r.ohp?.outcome, r.summary).toBe("accept");
    expect(r.valid).toBe(true);
    const numbered = new Set(r.ohp?.steps.filter((s) => s.number > 0).map((s) => s.number));
    for (let n = 1; n <= 14; n++) expect(numbered.has(n), `step ${n}`).toBe(true);
    expect(r.ohp?.steps.every((s) => s.status !== "fail")).toBe(true);
    expect(r.ohp?.signatures.map((s) => [s.alg, s.verified])).toEqual([
      ["EdDSA", true],
      ["ML-DSA-65", true],
    ]);
    expect(r.ohp?.issuerKeys).toBe("request");
    expect(r.ohp?.sealed?.opened).toBe(true);
    expect(JSON.parse(r.ohp?.sealed?.valuesJson ?? "{}")).toMatchObject({ "healthcare.fhirRef": "Patient/synthetic-001" });
    expect(r.ohp?.unverified.length).toBeGreaterThan(0); // no consent/IdP/anchor hooks here: shown, not failed
  });

  it("OHP tampered after signing: reject signature-invalid at step 2, the per-signature view names the failures", async () => {
    const env = await world.envelope("regulated", { after: (e) => ((e["transcript"] as JsonObject)["summary"] += ".") });
    const r = await client.inspect({ documentJson: JSON.stringify(env), jwksJson: JSON.stringify(world.issuerJwks) });
    expect(r.ohp).toMatchObject({ outcome: "reject", rejectReason: "signature-invalid", firstFailingStep: 2, failedCheck: "signatures" });
    expect(r.ohp?.steps.at(-1)).toMatchObject({ number: 2, name: "signatures", status: "fail" });
    expect(r.ohp?.signatures.some((s) => !s.verified)).toBe(true);
    expect(r.ohp?.sealed?.opened).toBe(false);
    expect(r.valid).toBe(false);
  });

  it("OHP without a JWKS uses the node's trust: a trusted issuer verifies, an unknown one is rejected at step 1", async () => {
    const id = await propose("signed");
    const record = store.get(id, "receiver");
    const propose_ = record?.envelopes["PROPOSE"];
    expect(propose_).toBeDefined();
    const fromNode = await client.inspect({ documentJson: JSON.stringify(propose_), now: timestampFromDate(new Date()) });
    expect(fromNode.ohp).toMatchObject({ outcome: "accept", issuerKeys: "node" });
    const stranger = await world.envelope("signed");
    const r = await client.inspect({ documentJson: JSON.stringify(stranger) });
    expect(r.ohp).toMatchObject({ outcome: "reject", rejectReason: "signature-invalid", firstFailingStep: 1, issuerKeys: "none" });
  });

  it("the receiver clock comes from the request: an envelope inspected 10 minutes late is stale at step 3", async () => {
    const env = await world.envelope("signed");
    const late = new Date(Date.parse(env["issuedAt"] as string) + 10 * 60_000);
    const r = await client.inspect({ documentJson: JSON.stringify(env), jwksJson: JSON.stringify(world.issuerJwks), now: timestampFromDate(late) });
    expect(r.ohp).toMatchObject({ outcome: "reject", rejectReason: "stale", firstFailingStep: 3 });
  });

  it("inspecting is read-only: the same envelope twice is not a replay", async () => {
    const env = JSON.stringify(await world.envelope("signed"));
    const req = create(InspectRequestSchema, { documentJson: env, jwksJson: JSON.stringify(world.issuerJwks) });
    expect((await client.inspect(req)).ohp?.outcome).toBe("accept");
    expect((await client.inspect(req)).ohp?.outcome).toBe("accept");
  });

  it("Open Floor documents go through validateOfp", async () => {
    const ok = {
      openFloor: {
        schema: { version: "1.0.0" },
        conversation: { id: "conv:1" },
        sender: { speakerUri: "tag:example.com,2025:agent-1" },
        events: [{ eventType: "utterance", parameters: { dialogEvent: { speakerUri: "tag:example.com,2025:agent-1", span: { startTime: "2025-01-01T00:00:00Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "hi" }] } } } } }],
      },
    };
    const r = await client.inspect({ documentJson: JSON.stringify(ok) });
    expect(r.type).toBe(DocumentType.OFP_DOCUMENT);
    expect(r.ofp?.kind).toBe("openFloor");
    expect(r.ofp?.eventTypes).toEqual(["utterance"]);
    const bad = await client.inspect({ documentJson: JSON.stringify({ openFloor: { schema: { version: "1.0.0" }, events: "no" } }) });
    expect(bad.type).toBe(DocumentType.OFP_DOCUMENT);
    expect(bad.valid).toBe(false);
    expect(bad.errors.length).toBeGreaterThan(0);
  });

  it("OAP receipts: a chain with the Tool's JWKS verifies; a tampered receipt is named; one receipt is checked on its own", async () => {
    const TOOL = "did:web:tool.inspector.example";
    const toolKey = keyPairFromSeed(ALG_EDDSA, seed(90), { kid: "key-1" });
    const ledger = new ReceiptLedger({ signer: { key: toolKey, kid: `${TOOL}#key-1` } });
    const receipts: JsonObject[] = [];
    for (let i = 0; i < 3; i++) {
      const body = invocationReceiptBody({ request: { principal_did: "did:plc:inspector", agent_did: "did:web:agent.example", action: "get_forecast", input: { i } }, response: { output: { ok: i } }, toolDid: TOOL });
      receipts.push((await ledger.issue(body)).receipt);
    }
    const jwksJson = JSON.stringify(publicJwks([toolKey]));
    const ok = await client.inspect({ documentJson: JSON.stringify(receipts), jwksJson, signerDid: TOOL });
    expect(ok).toMatchObject({ type: DocumentType.OAP_RECEIPT, schema: "oap-receipt", valid: true });
    expect(ok.oap).toMatchObject({ receipts: 3, ok: true, signaturesVerified: true });
    expect(ok.oap?.items.flatMap((r) => r.signatures.map((x) => x.verified))).toEqual([true, true, true]);
    expect(ok.oap?.items[1]?.previousReceiptHash).toBe(ok.oap?.items[0]?.hash);
    // Kids relative to each signature's DID work without signer_did too, and {"receipts": [...]} is read.
    const wrapped = await client.inspect({ documentJson: JSON.stringify({ receipts }), jwksJson });
    expect(wrapped.oap?.ok).toBe(true);
    const tampered = structuredClone(receipts);
    (tampered[1] as JsonObject)["action_id"] = "transfer_funds";
    const bad = await client.inspect({ documentJson: JSON.stringify(tampered), jwksJson, signerDid: TOOL });
    expect(bad.valid).toBe(false);
    expect(bad.oap?.firstBroken).toMatchObject({ index: 1, code: "ERR_OAP_RECEIPT_SIGNATURE" });
    expect(bad.oap?.items[1]?.signatures[0]?.verified).toBe(false);
    const single = await client.inspect({ documentJson: JSON.stringify(receipts[2]), jwksJson, signerDid: TOOL });
    expect(single.oap).toMatchObject({ receipts: 1, ok: true, signaturesVerified: true });
    const noKeys = await client.inspect({ documentJson: JSON.stringify(receipts) });
    expect(noKeys.oap).toMatchObject({ ok: true, signaturesVerified: false });
    expect(noKeys.summary).toMatch(/signatures not checked/);
  });

  it("not JSON, duplicate member names and unknown documents are reported, not thrown", async () => {
    const notJson = await client.inspect({ documentJson: "{nope" });
    expect(notJson).toMatchObject({ type: DocumentType.UNSPECIFIED, valid: false });
    expect(notJson.errors[0]?.rule).toBe("json");
    const dup = await client.inspect({ documentJson: '{"a":1,"a":2}' });
    expect(dup.errors[0]?.message).toMatch(/ERR_JSON_DUPLICATE_KEY/);
    const unknown = await client.inspect({ documentJson: '{"hello":"world"}' });
    expect(unknown.errors[0]?.rule).toBe("detect");
    const jwks = await client.inspect({ documentJson: JSON.stringify(world.issuerJwks) });
    expect(jwks).toMatchObject({ type: DocumentType.OTHER, schema: "ohp-jwks", valid: true });
  });

  it("GetNode, ListHandoffs and WatchHandoffs show the node and its handoffs live", async () => {
    const node = await client.getNode({});
    expect(node).toMatchObject({ did: RECEIVER.did, vendor: RECEIVER.vendor, maxTier: "regulated" });
    expect(JSON.parse(node.jwksJson).keys).toHaveLength(3);
    const abort = new AbortController();
    const stream = client.watchHandoffs({ role: "receiver" }, { signal: abort.signal })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.snapshot).toBe(true);
    const id = await propose("core");
    let seen = false;
    for (let i = 0; i < 20 && !seen; i++) {
      const m = await stream.next();
      seen = m.done === true ? false : m.value.handoffs.some((x) => x.id === id && x.role === "receiver" && x.state === "ACCEPTED");
    }
    expect(seen).toBe(true);
    abort.abort();
    const list = await client.listHandoffs({ role: "receiver", limit: 1 });
    expect(list.handoffs).toHaveLength(1);
    expect(list.handoffs[0]?.id).toBe(id);
    expect(Object.keys(list.handoffs[0]?.envelopesJson ?? {})).toContain("PROPOSE");
    await expect(client.listHandoffs({ role: "nobody" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});

describe("the page's HTTP guard", () => {
  it("serves /inspector/ with a strict CSP and redirects /inspector", async () => {
    const page = await get("/inspector/");
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="inspector.js">');
    expect((await get("/inspector/inspector.js")).headers["content-type"]).toMatch(/javascript/);
    expect((await get("/inspector")).status).toBe(308);
    expect((await get("/inspector/../package.json")).status).toBe(404);
    expect((await get("/inspector/nope.js")).status).toBe(404);
  });

  it("refuses non-loopback Host headers (DNS rebinding) and cross-origin callers", async () => {
    expect((await get("/inspector/", { host: "evil.example:80" })).status).toBe(403);
    const cross = createClient(
      InspectorService,
      createConnectTransport({ baseUrl: servers.url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("origin", "https://evil.example"), next(req))] }),
    );
    await expect(cross.getNode({})).rejects.toBeInstanceOf(ConnectError);
    expect(isLoopbackHost("localhost:8080")).toBe(true);
    expect(isLoopbackHost("[::1]:1")).toBe(true);
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.evil.example")).toBe(false);
    expect(isLoopbackHost("192.168.1.2:80")).toBe(false);
  });

  it("serves the package's dist/inspector/ by default (what npm run build writes)", () => {
    expect(defaultInspectorAssetsDir()).toBe(join(fileURLToPath(new URL("../..", import.meta.url)), "dist", "inspector"));
  });

  it("leaves other paths to the node", async () => {
    expect((await get("/.well-known/ohp-jwks.json")).status).toBe(200);
    expect(await inspector.http({ url: "/ohp/v1/transfer", headers: {}, socket: {} } as never, {} as never)).toBe(false);
  });
});

describe.skipIf(!existsSync(CHROMIUM))("the page in headless Chromium", () => {
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`${servers.url}/inspector/`);
    await page.locator("#node-did").waitFor();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows the node it runs in", async () => {
    expect(await page.locator("#node-did").textContent()).toBe(RECEIVER.did);
  });

  it("a signed Regulated envelope: accept, each pipeline step, both signatures verified, sealed fields opened in the page", async () => {
    const env = await world.envelope("regulated");
    await page.fill("#document", JSON.stringify(env, null, 2));
    await page.fill("#jwks", JSON.stringify(world.issuerJwks));
    await page.fill("#private-jwks", JSON.stringify(privateJwks([world.keys.receiver])));
    await page.fill("#now", "");
    const sent: string[] = [];
    const onRequest = (r: { url(): string; postData(): string | null }): void => void sent.push(`${r.url()} ${r.postData() ?? ""}`);
    page.on("request", onRequest);
    await page.click("#inspect");
    await expect.poll(() => page.locator("#outcome").getAttribute("data-outcome")).toBe("accept");
    expect(await page.locator("#outcome").textContent()).toBe("accept");
    expect(await page.locator("#doc-type").textContent()).toBe("OHP envelope");
    // Every check the pipeline ran has a row, none failed, and all 14 numbered D09 steps are there.
    const rows = await page.locator("#pipeline tr.step").evaluateAll((trs) => trs.map((tr) => ({ check: (tr as unknown as { dataset: Record<string, string> }).dataset["check"], step: Number((tr as unknown as { dataset: Record<string, string> }).dataset["step"]), status: (tr as unknown as { dataset: Record<string, string> }).dataset["status"] })));
    const expected = ["size", "schema", "content", "tier-completeness", "echo", "tier-gate", "issuer", "signatures", "rate-limit", "replay", "freshness", "call-binding", "consent", "assurance", "high-risk-prerequisites", "prohibited-practices", "annex-iii", "art50-disclosure", "oversight", "gpai", "decrypt", "anchor"];
    expect(rows.map((r) => r.check)).toEqual(expected);
    expect(new Set(rows.map((r) => r.step).filter((n) => n > 0))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    expect(rows.filter((r) => r.status === "fail")).toEqual([]);
    expect(await page.locator('#pipeline tr[data-check="signatures"]').getAttribute("data-status")).toBe("pass");
    // Both signatures verified.
    const sigs = page.locator("#signatures tr.signature");
    expect(await sigs.count()).toBe(2);
    expect(await page.locator('#signatures tr.signature[data-alg="EdDSA"]').getAttribute("data-verified")).toBe("true");
    expect(await page.locator('#signatures tr.signature[data-alg="ML-DSA-65"]').getAttribute("data-verified")).toBe("true");
    expect(await page.locator("#signatures td.verified").allTextContents()).toEqual(["✓ verified", "✓ verified"]);
    // The sealed block, opened here in the page with the pasted key (never sent to the node).
    expect(await page.locator("#sealed-fields").textContent()).toContain("healthcare.fhirRef");
    await expect.poll(() => page.locator("#sealed-local").getAttribute("data-state")).not.toBe("opening");
    expect(await page.locator("#sealed-local").textContent()).toContain("Opened in this page");
    expect(await page.locator("#sealed-local").getAttribute("data-state")).toBe("opened");
    expect(JSON.parse((await page.locator("#sealed-values").textContent()) ?? "{}")).toEqual({ "caller.vulnerable": false, "healthcare.fhirRef": "Patient/synthetic-001" });
    page.off("request", onRequest);
    // The private key never left the page.
    const d = (privateJwks([world.keys.receiver]).keys[0] as unknown as { d: string }).d;
    expect(sent.some((x) => x.includes("/agentwire.inspector.v1.InspectorService/Inspect"))).toBe(true);
    expect(sent.filter((x) => x.includes(d))).toEqual([]);
  });

  it("a tampered copy: reject, signature-invalid at step 2", async () => {
    const env = await world.envelope("regulated", { after: (e) => ((e["transcript"] as JsonObject)["summary"] += ".") });
    await page.fill("#document", JSON.stringify(env, null, 2));
    await page.click("#inspect");
    await expect.poll(() => page.locator("#outcome").getAttribute("data-outcome")).toBe("reject");
    const reject = page.locator("#reject");
    expect(await reject.getAttribute("data-reason")).toBe("signature-invalid");
    expect(await reject.getAttribute("data-step")).toBe("2");
    expect(await reject.textContent()).toContain("signature-invalid at step 2");
    expect(await page.locator('#pipeline tr[data-check="signatures"]').getAttribute("data-status")).toBe("fail");
    expect(await page.locator('#pipeline tr[data-check="signatures"] td.status').textContent()).toBe("fail");
    expect(await page.locator("#pipeline tr.step").last().getAttribute("data-check")).toBe("signatures");
  });

  it("the live handoff view lists a handoff created by a PROPOSE sent to the node during the test", async () => {
    await expect.poll(() => page.locator("#watch-status").getAttribute("data-state")).toBe("live");
    const id = await propose("signed");
    const row = page.locator(`#handoff-rows tr.handoff[data-handoff-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute("data-role")).toBe("receiver");
    expect(await row.getAttribute("data-state")).toBe("ACCEPTED");
    // Its envelope loads into the inspector with one click, and the node's trust verifies it.
    await page.fill("#jwks", "");
    await row.locator("button").click();
    await expect.poll(() => page.locator("#summary").textContent()).toContain(id);
    await expect.poll(() => page.locator("#outcome").getAttribute("data-outcome")).toBe("accept");
  });

  it("the page ran without script errors", () => {
    expect(consoleErrors).toEqual([]);
  });
});
