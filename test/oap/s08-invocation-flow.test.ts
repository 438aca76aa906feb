/**
 * OAP-CORE-1.0 §8 end to end without a transport: how the part-A pieces compose into one
 * invocation (the order part B's server follows): verify the signed request (§8.2, §28.3) →
 * resolve the action (404) → authenticate (§10) → policy (§27.3, §24, §7 consent) → rate limit
 * (429) → idempotency (§28.4) → validate input (§29.1) → execute → validate output (§7.1) →
 * receipt (§19) → signed response (§8.3). The agent then verifies response and receipt.
 */
import { describe, expect, it } from "vitest";
import type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
import type { JsonObject } from "../../src/json/types.js";
import { ActionCatalog, checkConsent, checkCurrency, checkDeprecation, checkJurisdiction, runActionPolicies, supportedCurrencies } from "../../src/oap/actions.js";
import { Authenticator, MemoryApiKeyStore, policyDecisionRef } from "../../src/oap/auth.js";
import { OapError, errorResponseEnvelope, httpErrorOf } from "../../src/oap/errors.js";
import { IdempotencyGuard } from "../../src/oap/idempotency.js";
import { RateLimiter, rateLimitKey } from "../../src/oap/rate-limit.js";
import { ReceiptLedger, invocationReceiptBody, verifyReceiptChain } from "../../src/oap/receipts.js";
import { ReplayGuard } from "../../src/oap/replay.js";
import { signResponse, verifyReceiptSignatures, verifyRequest, verifyResponse } from "../../src/oap/sign.js";
import { oapIds, rfc3339 } from "../../src/oap/util.js";
import type { OapRequestEnvelope } from "../../gen/types/oap/oap-request-envelope.js";
import { PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, resolver, signedRequest, toolSigner, upstream } from "./helpers.js";

const API_KEY = "oap_apikey_flowtest000000000000000000000000000";

function tool(clock: TestClock) {
  const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
  const ids = oapIds(clock.now, counterRandom(100));
  const apiKeys = new MemoryApiKeyStore();
  apiKeys.add(API_KEY, { id: "key_flow", principal_did: PRINCIPAL_DID });
  const replay = new ReplayGuard({ clock: clock.now });
  const catalog = new ActionCatalog(manifest);
  const auth = new Authenticator({ manifest, audience: TOOL_DID, apiKeys, clock: clock.now, ids, replay });
  const limiter = new RateLimiter({ clock: clock.now });
  const idem = new IdempotencyGuard({ clock: clock.now });
  const ledger = new ReceiptLedger({ signer: toolSigner, clock: clock.now, ids });
  let executions = 0;
  const execute = (input: JsonObject): JsonObject => {
    executions++;
    return { forecast: [{ date: "2026-05-03", temperature_c_min: 9, temperature_c_max: Number(input["days"]) + 14, summary: "Partly cloudy" }] };
  };

  async function invoke(raw: JsonObject, headers: { authorization?: string; idempotencyKey?: string } = {}): Promise<{ status: number; body: JsonObject }> {
    const requestId = typeof raw["request_id"] === "string" ? raw["request_id"] : "unknown";
    try {
      const action = catalog.require(raw["action"]);
      const { envelope, signature } = await verifyRequest(raw, resolver, { replay, now: clock.now });
      const env = envelope as unknown as OapRequestEnvelope;
      const decision = await auth.authorize({ envelope: env, authorization: headers.authorization ?? null, agentSignature: signature }, action.action);
      if (!decision.ok) throw decision.error;
      const policy = runActionPolicies([
        () => checkDeprecation(action.action, clock.now()),
        () => checkJurisdiction(manifest, env.context),
        () => checkCurrency(action.action, env.context, supportedCurrencies(manifest)),
        () => checkConsent(action.action, env),
      ]);
      if (policy.error) throw policy.error;
      const slot = limiter.acquire(rateLimitKey(env.principal_did, action.id), action.action.rate_limit);
      if (!slot.allowed) throw slot.error;
      try {
        const ticket = await idem.begin(envelope, action.action, headers.idempotencyKey);
        if (ticket.kind === "replay") return { status: 200, body: ticket.response };
        action.assertInput(env.input);
        const output = execute(env.input as JsonObject);
        action.assertOutput(output);
        const { receipt } = await ledger.issue(
          invocationReceiptBody({ request: env, response: { output, cost: { amount: "0.001", currency: "EUR" } }, toolDid: TOOL_DID, actionVersion: action.action.version, policyDecisions: [policyDecisionRef(decision.record)] }),
        );
        const body = signResponse(
          { oap_version: "1.0", request_id: env.request_id, response_id: ids.ulid(), timestamp: rfc3339(clock.now()), status: "ok", output, cost: { amount: "0.001", currency: "EUR" }, receipt: { id: receipt["receipt_id"] as string }, warnings: [...policy.warnings] },
          toolSigner,
        ) as unknown as JsonObject;
        if (ticket.kind === "execute") await ticket.complete(body);
        return { status: 200, body };
      } finally {
        slot.release();
      }
    } catch (e) {
      const { status, error } = httpErrorOf(e);
      const body = signResponse(errorResponseEnvelope(new OapError("ERR_OAP_REMOTE", error.message, { wire: error.code, ...(error.details ? { details: error.details } : {}) }), { request_id: requestId, response_id: ids.ulid(), timestamp: rfc3339(clock.now()) }), toolSigner) as unknown as JsonObject;
      return { status, body };
    }
  }
  return { invoke, ledger, executions: () => executions };
}

describe("§8 one invocation through every part-A check", () => {
  it("ok: signed response, receipt chained and signed, agent verifies both", async () => {
    const clock = new TestClock();
    const t = tool(clock);
    const req = signedRequest(clock, { idempotency_key: "k1" });
    const res = await t.invoke(req, { authorization: `Bearer ${API_KEY}` });
    expect(res.status).toBe(200);
    await verifyResponse(res.body, resolver, { toolDid: TOOL_DID, requestId: String(req["request_id"]) });
    const receipts = await t.ledger.store.list(PRINCIPAL_DID);
    expect(receipts.map((r) => r["receipt_id"])).toEqual([(res.body["receipt"] as JsonObject)["id"]]);
    await verifyReceiptSignatures(receipts[0], resolver);
    expect(receipts[0]!["policy_decisions"]).toEqual([expect.objectContaining({ outcome: "allow", rules: expect.arrayContaining(["credential:api_key:key_flow"]) })]);
  });

  it("an idempotent retry (new request, same key) returns the identical response without re-executing or a second receipt", async () => {
    const clock = new TestClock();
    const t = tool(clock);
    const first = await t.invoke(signedRequest(clock, { idempotency_key: "k1" }), { authorization: `Bearer ${API_KEY}` });
    clock.advance(5_000);
    const retry = await t.invoke(signedRequest(clock, { idempotency_key: "k1" }), { authorization: `Bearer ${API_KEY}` });
    expect(retry).toEqual(first);
    expect(t.executions()).toBe(1);
    expect(await t.ledger.store.list(PRINCIPAL_DID)).toHaveLength(1);
  });

  it("refusals carry the Appendix B status and a signed error envelope; nothing runs, no receipt", async () => {
    const clock = new TestClock();
    const t = tool(clock);
    const auth = { authorization: `Bearer ${API_KEY}` };
    const replayed = signedRequest(clock, { idempotency_key: "a" });
    await t.invoke(replayed, auth);
    const cases: [string, Promise<{ status: number; body: JsonObject }>, number, string][] = [
      ["unknown action", t.invoke(signedRequest(clock, { action: "nope" }), auth), 404, "not_found"],
      ["replayed envelope", t.invoke(replayed, auth), 409, "conflict"],
      ["no idempotency key for an idempotent action", t.invoke(signedRequest(clock), auth), 400, "invalid_input"],
      ["input exceeding the schema", t.invoke(signedRequest(clock, { idempotency_key: "b", input: { location: "x", days: 3, ssn: "123" } }), auth), 400, "invalid_input"],
      ["jurisdiction not offered", t.invoke(signedRequest(clock, { idempotency_key: "c", context: { locale: "zh-CN", currency: "EUR", jurisdiction_user: "CN", jurisdiction_agent: "CN" } }), auth), 451, "legal_unavailable"],
      ["unsupported currency", t.invoke(signedRequest(clock, { idempotency_key: "d", context: { locale: "ja-JP", currency: "JPY", jurisdiction_user: "DE", jurisdiction_agent: "DE" } }), auth), 400, "invalid_input"],
      ["bad API key", t.invoke(signedRequest(clock, { idempotency_key: "e" }), { authorization: "Bearer oap_apikey_wrong" }), 401, "auth_required"],
    ];
    for (const [what, p, status, code] of cases) {
      const r = await p;
      expect(`${what}: ${r.status} ${String((r.body["error"] as JsonObject)["code"])}`).toBe(`${what}: ${status} ${code}`);
      await verifyResponse(r.body, resolver, { toolDid: TOOL_DID });
    }
    expect(t.executions()).toBe(1);
    expect((await verifyReceiptChain(await t.ledger.store.list(PRINCIPAL_DID), { keys: resolver })).receipts).toBe(1);
  });

  it("429 after rpm calls in a minute, with retry_after_seconds", async () => {
    const clock = new TestClock();
    const t = tool(clock);
    let last: { status: number; body: JsonObject } | undefined;
    for (let i = 0; i <= 60; i++) last = await t.invoke(signedRequest(clock, { idempotency_key: `r${i}` }), { authorization: `Bearer ${API_KEY}` });
    expect(last!.status).toBe(429);
    expect(last!.body["error"]).toMatchObject({ code: "rate_limited", details: { retry_after_seconds: 60 } });
  });
});
