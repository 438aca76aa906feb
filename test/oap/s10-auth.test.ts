/**
 * OAP-CORE-1.0 §10 authentication and authorisation: anonymous (side_effects none + minimal
 * risk only), API keys, OAP Trust Tokens (JWT sub/aud/agent/scope/nonce/iat/exp/cnf), the OAuth
 * 2.1 hook, mTLS hook; §10.2 every decision is a schema-valid decision record.
 */
import { SignJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../gen/types/oap/oap-request-envelope.js";
import { jwkThumbprint } from "../../src/crypto/thumbprint.js";
import type { OapAction } from "../../src/oap/actions.js";
import { Authenticator, MemoryApiKeyStore, apiKeyDigest, generateApiKey, isTrustTokenShaped, policyDecisionRef, type AuthDecision, type AuthenticatorOptions } from "../../src/oap/auth.js";
import { validateOapDocument } from "../../src/oap/documents.js";
import { verifyRequest, type VerifiedSignature } from "../../src/oap/sign.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, resolver, signedRequest, upstream } from "./helpers.js";

const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
const forecast = manifest.actions[0] as OapAction; // side_effects none, risk minimal
const writeAction: OapAction = { ...forecast, id: "store_note", side_effects: "write" };
const limitedAction: OapAction = { ...forecast, id: "classify", risk_class: "limited" };

let clock: TestClock;
let env: OapRequestEnvelope;
let agentSignature: VerifiedSignature;
let apiKeys: MemoryApiKeyStore;
const KEY = "oap_apikey_test0000000000000000000000000000000";

function auth(extra: Partial<AuthenticatorOptions> = {}): Authenticator {
  return new Authenticator({
    manifest,
    audience: TOOL_DID,
    apiKeys,
    trustTokens: { keys: resolver },
    clock: clock.now,
    oauth: {
      introspect: (t) =>
        t === "good-oauth"
          ? { active: true, sub: PRINCIPAL_DID, scope: "forecast:read", aud: TOOL_DID, exp: clock.ms / 1000 + 60, client_id: "app1" }
          : t === "expired-oauth"
            ? { active: true, sub: PRINCIPAL_DID, exp: clock.ms / 1000 - 1 }
            : { active: false },
      requiredScope: (a) => (a.id === "get_forecast" ? "forecast:read" : "notes:write"),
    },
    ...extra,
  });
}

async function trustToken(claims: Record<string, unknown> = {}, kid = keys.principal.kid, key = keys.principal): Promise<string> {
  const now = Math.floor(clock.ms / 1000);
  const payload = {
    sub: PRINCIPAL_DID,
    aud: TOOL_DID,
    iat: now,
    exp: now + 300,
    agent: AGENT_DID,
    scope: "scope_consulting_clientA",
    nonce: `n-${(nonceCounter++).toString(36)}`,
    cnf: { jkt: jwkThumbprint(keys.agent.publicJwk as never) },
    ...claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" }).sign(key.keyObject!);
}
let nonceCounter = 0;

function expectRecord(d: AuthDecision, outcome: "allow" | "block"): void {
  expect(validateOapDocument("oap-decision-record", d.record)).toEqual([]);
  expect(d.record.outcome).toBe(outcome);
  expect(d.record.evaluated_at).toBe(clock.iso());
}

beforeEach(async () => {
  clock = new TestClock();
  const signed = signedRequest(clock, { scope_id: "scope_consulting_clientA" });
  env = signed as unknown as OapRequestEnvelope;
  agentSignature = (await verifyRequest(signed, resolver, { now: clock.now })).signature;
  apiKeys = new MemoryApiKeyStore();
  apiKeys.add(KEY, { id: "key_1", principal_did: PRINCIPAL_DID, actions: ["get_forecast", "store_note"] });
});

describe("§10.1.1 anonymous", () => {
  it("allowed for side_effects none + risk minimal; the decision record says so", async () => {
    const d = await auth().authorize({ envelope: env }, forecast);
    expect(d.ok).toBe(true);
    expectRecord(d, "allow");
    expect(d.record.applied_rules).toEqual(["oap.10.1.anonymous", "credential:anonymous"]);
  });

  it("refused (401) for write actions and non-minimal risk, and when the manifest does not list it", async () => {
    for (const a of [writeAction, limitedAction]) {
      const d = await auth().authorize({ envelope: env }, a);
      expect(d).toMatchObject({ ok: false, method: "anonymous", error: { code: "ERR_OAP_ANONYMOUS_NOT_ALLOWED", httpStatus: 401 } });
      expectRecord(d, "block");
    }
    const strict = auth({ manifest: { ...manifest, auth: [{ method: "api_key" }] } });
    expect(await strict.authorize({ envelope: env }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_AUTH_REQUIRED" } });
  });
});

describe("§10.1.2 API keys", () => {
  it("Bearer oap_apikey_… of the principal → allow, citing the key id (never the key)", async () => {
    const d = await auth().authorize({ envelope: env, authorization: `Bearer ${KEY}` }, writeAction);
    expect(d).toMatchObject({ ok: true, identity: { method: "api_key", principal_did: PRINCIPAL_DID, credential: "api_key:key_1" } });
    expectRecord(d, "allow");
    expect(JSON.stringify(d.record)).not.toContain(KEY);
  });

  it("unknown, revoked, expired, other principal, not allowed action → refused", async () => {
    apiKeys.add("oap_apikey_revoked", { id: "k2", revoked: true });
    apiKeys.add("oap_apikey_expired", { id: "k3", expires_at: clock.iso(-1) });
    apiKeys.add("oap_apikey_other", { id: "k4", principal_did: "did:plc:other" });
    const cases: [string, OapAction, string][] = [
      ["oap_apikey_unknown", forecast, "ERR_OAP_AUTH_INVALID"],
      ["oap_apikey_revoked", forecast, "ERR_OAP_AUTH_INVALID"],
      ["oap_apikey_expired", forecast, "ERR_OAP_TOKEN_EXPIRED"],
      ["oap_apikey_other", forecast, "ERR_OAP_SCOPE_INSUFFICIENT"],
      [KEY, limitedAction, "ERR_OAP_SCOPE_INSUFFICIENT"],
    ];
    for (const [key, action, code] of cases) {
      const d = await auth().authorize({ envelope: env, authorization: `Bearer ${key}` }, action);
      expect(`${key}: ${d.ok ? "ok" : d.error.code}`).toBe(`${key}: ${code}`);
      expectRecord(d, "block");
    }
    expect(await auth().authorize({ envelope: env, authorization: `Basic ${KEY}` }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_AUTH_INVALID" } });
  });

  it("keys are generated with 256 bits and stored by SHA-256 only", () => {
    const k = generateApiKey(counterRandom());
    expect(k).toMatch(/^oap_apikey_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyDigest(k)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a method the manifest does not declare is refused", async () => {
    const d = await auth({ manifest: { ...manifest, auth: [{ method: "anonymous" }] } }).authorize({ envelope: env, authorization: `Bearer ${KEY}` }, forecast);
    expect(d).toMatchObject({ ok: false, method: "api_key", error: { code: "ERR_OAP_AUTH_METHOD_UNSUPPORTED" } });
  });
});

describe("§10.1.4 OAP Trust Tokens", () => {
  it("a token of the principal, for this Tool, bound to the agent key (cnf.jkt) → allow", async () => {
    const token = await trustToken();
    expect(isTrustTokenShaped(token)).toBe(true);
    const d = await auth().authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, writeAction);
    expect(d).toMatchObject({ ok: true, identity: { method: "oap_trust_token", principal_did: PRINCIPAL_DID, scopes: ["scope_consulting_clientA"] } });
    expectRecord(d, "allow");
    expect(d.record.applied_rules).toEqual(expect.arrayContaining(["oap.10.1.oap_trust_token", "oap.10.1.trust_token.cnf", "oap.28.3.nonce"]));
  });

  it("cnf.kid naming the envelope's signing key also binds", async () => {
    const token = await trustToken({ cnf: { kid: keys.agent.kid } });
    expect((await auth().authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, forecast)).ok).toBe(true);
  });

  it("expired, wrong audience, wrong agent, unbound, foreign issuer, replayed, long-lived, wrong scope → typed 401/403", async () => {
    const now = Math.floor(clock.ms / 1000);
    const cases: [string, Promise<string>, string][] = [
      ["expired", trustToken({ exp: now - 120, iat: now - 400 }), "ERR_OAP_TOKEN_EXPIRED"],
      ["wrong audience", trustToken({ aud: "did:web:other-tool.example" }), "ERR_OAP_TOKEN_AUDIENCE"],
      ["wrong agent", trustToken({ agent: "did:web:mallory.example" }), "ERR_OAP_TOKEN_BINDING"],
      ["cnf of another key", trustToken({ cnf: { jkt: jwkThumbprint(keys.tool.publicJwk as never) } }), "ERR_OAP_TOKEN_BINDING"],
      ["signed by the agent, not the principal", trustToken({}, keys.agent.kid, keys.agent), "ERR_OAP_TOKEN_INVALID"],
      ["principal kid, attacker key", trustToken({}, keys.principal.kid, keys.attacker), "ERR_OAP_TOKEN_INVALID"],
      ["lifetime 2 h", trustToken({ exp: now + 7200 }), "ERR_OAP_TOKEN_INVALID"],
      ["scope without the envelope scope_id", trustToken({ scope: "scope_other" }), "ERR_OAP_SCOPE_INSUFFICIENT"],
      ["issued in the future", trustToken({ iat: now + 600, exp: now + 900 }), "ERR_OAP_TOKEN_INVALID"],
    ];
    for (const [what, token, code] of cases) {
      const d = await auth().authorize({ envelope: env, authorization: `Bearer ${await token}`, agentSignature }, forecast);
      expect(`${what}: ${d.ok ? "ok" : d.error.code}`).toBe(`${what}: ${code}`);
      expectRecord(d, "block");
    }
  });

  it("§28.3: a token's nonce is single-use; without a verified envelope signature there is nothing to bind", async () => {
    const token = await trustToken({ nonce: "fixed" });
    const a = auth();
    expect((await a.authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, forecast)).ok).toBe(true);
    expect(await a.authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_TOKEN_REPLAY" } });
    const reusable = auth({ trustTokens: { keys: resolver, singleUse: false } });
    expect((await reusable.authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, forecast)).ok).toBe(true);
    expect((await reusable.authorize({ envelope: env, authorization: `Bearer ${token}`, agentSignature }, forecast)).ok).toBe(true);
    expect(await auth().authorize({ envelope: env, authorization: `Bearer ${await trustToken()}` }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_TOKEN_BINDING" } });
  });
});

describe("§10.1.3 OAuth 2.1 bearer hook and §10.1.5 mTLS hook", () => {
  it("introspection: active, audience, subject and required scope are checked", async () => {
    const ok = await auth().authorize({ envelope: env, authorization: "Bearer good-oauth" }, forecast);
    expect(ok).toMatchObject({ ok: true, identity: { method: "oauth2_1", credential: "oauth2_1:app1", scopes: ["forecast:read"] } });
    expect(await auth().authorize({ envelope: env, authorization: "Bearer good-oauth" }, writeAction)).toMatchObject({ ok: false, error: { code: "ERR_OAP_SCOPE_INSUFFICIENT", details: { required_scope: "notes:write" } } });
    expect(await auth().authorize({ envelope: env, authorization: "Bearer expired-oauth" }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_TOKEN_EXPIRED" } });
    expect(await auth().authorize({ envelope: env, authorization: "Bearer nope" }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_TOKEN_INVALID" } });
    expect(await auth({ oauth: undefined }).authorize({ envelope: env, authorization: "Bearer nope" }, forecast)).toMatchObject({ ok: false, error: { code: "ERR_OAP_AUTH_METHOD_UNSUPPORTED" } });
  });

  it("mTLS: the hook maps the certificate to the principal", async () => {
    const a = auth({ manifest: { ...manifest, auth: [...manifest.auth, { method: "mtls" }] }, mtls: { identify: (c) => (c === "cert-A" ? { principal_did: PRINCIPAL_DID, subject: "CN=agent" } : undefined) } });
    expect(await a.authorize({ envelope: env, clientCertificate: "cert-A" }, writeAction)).toMatchObject({ ok: true, identity: { method: "mtls", credential: "mtls:CN=agent" } });
    expect(await a.authorize({ envelope: env, clientCertificate: "cert-B" }, writeAction)).toMatchObject({ ok: false, error: { code: "ERR_OAP_AUTH_INVALID" } });
  });
});

describe("§10.2 decision records accompany the receipt", () => {
  it("policyDecisionRef cites the record in receipt.policy_decisions", async () => {
    const d = await auth().authorize({ envelope: env, authorization: `Bearer ${KEY}` }, forecast);
    const ref = policyDecisionRef(d.record);
    expect(ref).toEqual({ id: d.record.decision_id, outcome: "allow", rules: d.record.applied_rules });
    expect(ref.rules).toContain("credential:api_key:key_1");
    expect(d.record.decision_id).toMatch(/^dec_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});
