/**
 * OAP-CORE-1.0 §9.3 webhooks, "signed using HTTP Message Signatures (RFC 9421) with the Tool
 * key"; "Subscribers MUST verify signature, replay window, and DID resolution".
 *
 * The RFC 9421 implementation reproduces Appendix B.2.6 byte for byte (signature base,
 * Signature-Input, Signature: Ed25519 is deterministic) with the B.1.4 test key; then the OAP
 * webhook profile: tampering, replay, stale and expired signatures, a key of another DID; and a
 * Tool delivering task events to a subscriber that resolves the Tool's did:web document.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrivateJwk, publicKeyFor } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { MemoryNonceStore } from "../../src/oap/replay.js";
import { didKeyResolver, mapKeyResolver } from "../../src/oap/sign.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { signWebhookRequest } from "../../src/oap/webhooks/deliver.js";
import { checkContentDigest, httpMessage, signHttpMessage, signatureBase, verifyHttpMessageSignature } from "../../src/oap/webhooks/rfc9421.js";
import { createWebhookReceiver, verifyWebhook, type VerifiedWebhook } from "../../src/oap/webhooks/subscriber.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { TestClock, codeOf } from "./helpers.js";
import { API_KEY, envelope, invoke, otherAgent, post, startTool, toolKey } from "./server-helpers.js";

interface Vector {
  key: JsonObject;
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  label: string;
  components: string[];
  params: { created: number; keyid: string };
  signatureBase: string;
  signatureInput: string;
  signature: string;
}
const V = JSON.parse(readFileSync(join(import.meta.dirname, "vectors", "rfc9421-ed25519.json"), "utf8")) as Vector;
const rfcKey = importPrivateJwk(V.key);

describe("RFC 9421 Appendix B.2.6: signing a request using ed25519 (test-key-ed25519, B.1.4)", () => {
  const msg = httpMessage({ method: V.request.method, url: V.request.url, headers: V.request.headers });

  it("reproduces the signature base, Signature-Input and Signature exactly", () => {
    expect(signatureBase(msg, V.components, V.params).base).toBe(V.signatureBase);
    const sig = signHttpMessage(msg, { label: V.label, components: V.components, params: V.params, key: rfcKey });
    expect(sig.base).toBe(V.signatureBase);
    expect(sig.signatureInput).toBe(V.signatureInput);
    expect(sig.signature).toBe(V.signature);
    checkContentDigest(V.request.headers["content-digest"], V.request.body);
  });

  it("verifies the RFC's signature, and refuses it once a covered component or the signature changes", async () => {
    const pub = publicKeyFor(rfcKey.publicJwk);
    const signed = { ...V.request.headers, "signature-input": V.signatureInput, signature: V.signature };
    const ok = await verifyHttpMessageSignature(httpMessage({ method: V.request.method, url: V.request.url, headers: signed }), { resolveKey: () => pub });
    expect([ok.label, ok.keyid, ok.components]).toEqual([V.label, "test-key-ed25519", V.components.map((c) => JSON.stringify(c))]);
    const tamper = async (headers: Record<string, string>, url = V.request.url, method = V.request.method): Promise<string> =>
      codeOf(() => verifyHttpMessageSignature(httpMessage({ method, url, headers }), { resolveKey: () => pub }));
    expect(await tamper({ ...signed, "content-type": "application/xml" })).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await tamper({ ...signed, "content-length": "19" })).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await tamper(signed, "https://example.com/bar?param=Value&Pet=dog")).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await tamper(signed, V.request.url, "PUT")).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await tamper({ ...signed, signature: V.signature.replace("wqcA", "wqcB") })).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await tamper({ ...signed, "signature-input": V.signatureInput.replace("1618884473", "1618884474") })).toBe("ERR_OAP_SIGNATURE_INVALID");
    // The query is not covered by this signature: changing it does not break it (what B.2.6 signs is all it protects).
    expect(await tamper(signed, "https://example.com/foo?param=Other")).toBe("no error");
  });
});

describe("§9.3 the OAP webhook profile", () => {
  const TOOL = "did:web:weatherpro.example";
  const signer = { key: toolKey, kid: `${TOOL}#tool-key-1` };
  const keys = mapKeyResolver({ [`${TOOL}#tool-key-1`]: toolKey.publicJwk });
  const url = "https://subscriber.example/hooks/oap";
  const body = JSON.stringify({ webhook_id: "whk_1", subscription_id: "whs_1", event: "task.completed", occurred_at: "2026-05-02T10:00:00.000Z", tool_did: TOOL, data: { task_id: "urn:oap:task:1" } });

  function signed(clock: TestClock, b = body): Record<string, string> {
    return signWebhookRequest(url, b, "whk_1", signer, { clock: clock.now });
  }

  it("covers @method, @target-uri, content-type, content-digest and oap-webhook-id, with created, expires, nonce, keyid, alg and tag", async () => {
    const clock = new TestClock();
    const h = signed(clock);
    expect(h["signature-input"]).toMatch(
      /^oap=\("@method" "@target-uri" "content-type" "content-digest" "oap-webhook-id"\);created=\d+;expires=\d+;nonce="[A-Za-z0-9_-]{22}";keyid="did:web:weatherpro\.example#tool-key-1";alg="ed25519";tag="oap-webhook"$/,
    );
    const w = await verifyWebhook({ method: "POST", url, headers: h, body }, { toolDid: TOOL, keys, clock: clock.now });
    expect([w.keyid, w.webhookId, w.payload["event"]]).toEqual([`${TOOL}#tool-key-1`, "whk_1", "task.completed"]);
  });

  it("tampering: body (Content-Digest), a covered header, the target URI, a missing signature", async () => {
    const clock = new TestClock();
    const v = (h: Record<string, string>, b = body, u = url) => codeOf(() => verifyWebhook({ method: "POST", url: u, headers: h, body: b }, { toolDid: TOOL, keys, clock: clock.now }));
    expect(await v(signed(clock), body.replace("task.completed", "task.canceled"))).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await v({ ...signed(clock), "oap-webhook-id": "whk_2" })).toBe("ERR_OAP_SIGNATURE_INVALID");
    expect(await v(signed(clock), body, "https://attacker.example/hooks/oap")).toBe("ERR_OAP_SIGNATURE_INVALID");
    const { signature: _s, "signature-input": _i, ...unsigned } = signed(clock);
    expect(await v(unsigned)).toBe("ERR_OAP_SIGNATURE_MISSING");
  });

  it("replay window: a replayed delivery, a stale or expired signature, a key of another DID are refused", async () => {
    const clock = new TestClock();
    const nonces = new MemoryNonceStore();
    const h = signed(clock);
    const v = (headers: Record<string, string>, options: { toolDid?: string } = {}) =>
      codeOf(() => verifyWebhook({ method: "POST", url, headers, body }, { toolDid: options.toolDid ?? TOOL, keys, clock: clock.now, nonces }));
    expect(await v(h)).toBe("no error");
    expect(await v(h)).toBe("ERR_OAP_REPLAY_NONCE");
    const late = signed(clock);
    clock.advance(301_000);
    expect(await v(late)).toBe("ERR_OAP_REPLAY_TIMESTAMP");
    const future = signed(new TestClock().advance(20 * 60_000));
    expect(await v(future)).toBe("ERR_OAP_REPLAY_TIMESTAMP");
    const foreign = signWebhookRequest(url, body, "whk_1", { key: otherAgent.key, kid: otherAgent.signer.key.kid }, { clock: clock.now });
    expect(await v(foreign)).toBe("ERR_OAP_SIGNER_MISMATCH");
    expect(await v(signed(clock), { toolDid: "did:web:other.example" })).toBe("ERR_OAP_SIGNER_MISMATCH");
  });
});

describe("§9.3 end to end: a subscription, task events delivered signed, verified through DID resolution", () => {
  let tool: RunningOapServer;
  let receiver: Server;
  let origin: string;
  const got: VerifiedWebhook[] = [];
  const rejected: string[] = [];
  const attempts: { id: string; signatureInput: string }[] = [];
  let failNext = 0;

  beforeAll(async () => {
    tool = await startTool({ tool: weatherTool(), webhooks: { allowInsecureCallbacks: true, retries: 2, backoffMs: 1 } });
    let handler: ReturnType<typeof createWebhookReceiver> | undefined;
    receiver = createServer((req, res) => {
      attempts.push({ id: String(req.headers["oap-webhook-id"]), signatureInput: String(req.headers["signature-input"]) });
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      void handler?.(req, res);
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    handler = createWebhookReceiver({
      toolDid: tool.server.did,
      keys: didKeyResolver(new DidResolver({ allowInsecureLocalhost: true })),
      origin,
      onEvent: (w) => {
        got.push(w);
      },
      onRejected: (e) => {
        rejected.push(e.code);
      },
    });
  });
  afterAll(async () => {
    await tool.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it("every transition of the Principal's task arrives once, signed and verified; a failed delivery is retried under the same webhook id", async () => {
    const sub = await post(`${tool.url}/oap/subscribe`, { callback_url: `${origin}/hooks`, events: ["task.*"] }, { authorization: `Bearer ${API_KEY}` });
    expect(sub.status).toBe(201);
    expect(sub.body).toMatchObject({ status: "active", events: ["task.*"], callback_url: `${origin}/hooks` });
    failNext = 1;
    const r = await invoke(tool, envelope({ action: "climate_report", input: { location: "Paris", from_year: 2000, to_year: 2001 } }));
    expect(r.status).toBe(202);
    for (let i = 0; i < 2000 && !got.some((w) => w.payload["event"] === "task.completed"); i++) await new Promise((res) => setTimeout(res, 5));
    await tool.server.webhooksIdle();
    expect(got.map((w) => w.payload["event"]).sort()).toEqual(["task.accepted", "task.completed", "task.submitted", "task.working"]);
    expect(new Set(got.map((w) => w.webhookId)).size).toBe(4);
    expect(rejected).toEqual([]);
    expect(attempts).toHaveLength(5);
    const retried = attempts.filter((a) => a.id === attempts[0]?.id);
    expect(retried).toHaveLength(2);
    expect(retried[0]?.signatureInput).not.toBe(retried[1]?.signatureInput);
    for (const w of got) {
      expect(w.keyid).toBe(`${tool.server.did}#tool-key-1`);
      expect((w.payload["data"] as JsonObject)["task_id"]).toBe(r.body["task_id"]);
    }
    const done = got.find((w) => w.payload["event"] === "task.completed") as VerifiedWebhook;
    expect((done.payload["data"] as JsonObject)["receipt"]).toMatchObject({ type: "task_completion" });
    const del = await fetch(`${tool.url}/oap/subscribe/${String(sub.body["subscription_id"])}`, { method: "DELETE", headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await del.json()) as JsonObject)["status"]).toBe("canceled");
  });
});
