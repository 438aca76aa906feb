/**
 * Helpers of the part-B tests: did:key agents and Principals (resolvable offline), a running
 * Weather Pro server with an API key, signed envelopes and HTTP calls with the §8.4 headers.
 */
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/json/types.js";
import { MemoryApiKeyStore } from "../../src/oap/auth.js";
import { oapRequestHeaders, signRequest, type OapSigner } from "../../src/oap/sign.js";
import { startOapServer, type RunningOapServer, type StartOapServerOptions } from "../../src/oap/server/standalone.js";
import type { OapToolDefinition } from "../../src/oap/server/tool.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { oapUlid } from "../../src/oap/util.js";
import { didKeyFromPublicKey } from "../../src/trust/did/did-key.js";

/** A did:key identity with its signer (kid = the did:key verification method id). */
export interface DidKeyIdentity {
  readonly did: string;
  readonly key: PrivateKeyRecord;
  readonly signer: OapSigner;
}

export function didKeyIdentity(byte: number): DidKeyIdentity {
  const k0 = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(byte));
  const did = didKeyFromPublicKey(k0.publicJwk);
  const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(byte), { kid: `${did}#${did.slice("did:key:".length)}` });
  return { did, key, signer: { key } };
}

export const toolKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x61), { kid: "tool-key-1" });
export const agent = didKeyIdentity(0x62);
export const otherAgent = didKeyIdentity(0x63);
export const principal = didKeyIdentity(0x64);
export const otherPrincipal = didKeyIdentity(0x65);

export const API_KEY = "oap_apikey_principal0000000000000000000000000000";
export const OTHER_API_KEY = "oap_apikey_otherprincipal00000000000000000000000";

export function apiKeys(): MemoryApiKeyStore {
  const s = new MemoryApiKeyStore();
  s.add(API_KEY, { id: "key_principal", principal_did: principal.did });
  s.add(OTHER_API_KEY, { id: "key_other", principal_did: otherPrincipal.did });
  return s;
}

/** Starts a Tool (Weather Pro unless `tool` is given) with the test API keys. */
export async function startTool(options: Partial<StartOapServerOptions> & { readonly tool?: OapToolDefinition } = {}): Promise<RunningOapServer> {
  return startOapServer({ tool: weatherTool(), signer: toolKey, apiKeys: apiKeys(), allowInsecureLocalhostDids: true, webhooks: { allowInsecureCallbacks: true, retries: 0 }, ...options });
}

export const CONTEXT = { locale: "en-US", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" };

/** A signed request envelope (current time). */
export function envelope(overrides: JsonObject = {}, who: DidKeyIdentity = agent, principalDid: string = principal.did): JsonObject {
  return signRequest(
    {
      oap_version: "1.0",
      request_id: oapUlid(Date.now()),
      timestamp: new Date().toISOString(),
      principal_did: principalDid,
      agent_did: who.did,
      action: "get_forecast",
      input: { location: "Berlin", days: 3 },
      context: CONTEXT,
      ...overrides,
    },
    who.signer,
  ) as unknown as JsonObject;
}

/** The §8.4 headers of an envelope. */
export function oapHeaders(env: JsonObject, extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": "application/oap+json", ...oapRequestHeaders(env), ...extra };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: JsonObject;
}

/** POSTs JSON and parses the answer. */
export async function post(url: string, body: JsonValue | string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  const parsed = text === "" ? {} : (JSON.parse(text) as JsonValue);
  return { status: res.status, headers: res.headers, body: isJsonObject(parsed) ? parsed : { value: parsed } };
}

/** POSTs an envelope to the invoke endpoint with the §8.4 headers. */
export async function invoke(s: RunningOapServer, env: JsonObject, extra: Record<string, string> = {}): Promise<HttpAnswer> {
  return post(`${s.url}/oap/invoke`, env, oapHeaders(env, extra));
}

/** The error code of an answer. */
export function codeOf(a: HttpAnswer): string {
  return isJsonObject(a.body["error"]) ? String(a.body["error"]["code"]) : "none";
}

/** Weather Pro whose climate_report never finishes on its own (it ends when canceled). */
export function neverEndingTool(): OapToolDefinition {
  const base = weatherTool();
  const actions = new Map(base.actions);
  actions.set("climate_report", {
    mode: "async",
    handler: (_input: unknown, ctx: { signal: AbortSignal }) =>
      new Promise((_resolve, reject) => {
        if (ctx.signal.aborted) reject(ctx.signal.reason);
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
      }),
  });
  return { ...base, actions };
}
