/**
 * Who is calling the endpoints that carry no signed envelope (audit, tasks, data rights,
 * webhook subscriptions): an RFC 9421 HTTP message signature by a DID key (`tag="oap-request"`,
 * covering `@method`, `@authority`, `@path`, `@query` when there is one and `content-digest`
 * when there is a body; `created` within ±5 min, `nonce` single-use for 10 min, `keyid` a DID
 * URL), or the §10.1 bearer credentials bound to a Principal (API key, OAuth 2.1 token).
 *
 * Both sides live here: {@link authenticateCaller} (server) and {@link signCallerRequest}
 * (client).
 *
 * @module
 */
import { PrivateKeyRecord } from "../../crypto/keys.js";
import { apiKeyDigest, OAP_API_KEY_PREFIX, type ApiKeyStore, type OAuthHook } from "../auth.js";
import { OapError } from "../errors.js";
import type { NonceStore } from "../replay.js";
import type { OapKeyResolver, OapSigner } from "../sign.js";
import { clockMs, didOf, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { checkContentDigest, contentDigest, httpMessage, signHttpMessage, verifyHttpMessageSignature, type HttpMessageView } from "../webhooks/rfc9421.js";

/** The RFC 9421 `tag` of OAP caller signatures. */
export const OAP_REQUEST_SIGNATURE_TAG = "oap-request";

/** An authenticated caller. */
export interface CallerIdentity {
  readonly method: "http_signature" | "api_key" | "oauth2_1";
  /** The DID whose key signed the request (http_signature). */
  readonly did?: string;
  /** The Principal a bearer credential is bound to. */
  readonly principal_did?: string;
  /** Cited in logs: `http_signature:<keyid>`, `api_key:<id>`, `oauth2_1:<client>`. */
  readonly credential: string;
}

/** Options of {@link authenticateCaller}. */
export interface CallerAuthOptions {
  /** Resolves `keyid` DID URLs. */
  readonly keys: OapKeyResolver;
  readonly nonces: NonceStore;
  readonly apiKeys?: ApiKeyStore;
  readonly oauth?: OAuthHook;
  readonly clock?: OapClock;
  /** Accepted distance of `created` from the clock (default 300 s, §28.3). */
  readonly windowSeconds?: number;
}

/**
 * The caller of `msg` (body: the raw request body, if any), or undefined when it presents no
 * credential. A presented credential that fails is an OapError (401; 409 for a reused nonce).
 */
export async function authenticateCaller(msg: HttpMessageView, body: Uint8Array | undefined, options: CallerAuthOptions): Promise<CallerIdentity | undefined> {
  const clock = options.clock ?? systemClock;
  if (msg.header("signature-input") !== undefined) {
    const url = msg.url === undefined ? undefined : new URL(msg.url);
    const required = ["@method", "@authority", "@path"];
    if (url !== undefined && url.search !== "") required.push("@query");
    const hasBody = body !== undefined && body.length > 0;
    if (hasBody) required.push("content-digest");
    const window = options.windowSeconds ?? 300;
    const v = await verifyHttpMessageSignature(msg, {
      tag: OAP_REQUEST_SIGNATURE_TAG,
      requiredComponents: required,
      requiredParams: ["created", "keyid", "nonce"],
      nowSeconds: Math.floor(clockMs(clock) / 1000),
      maxAgeSeconds: window,
      nonces: { store: options.nonces, windowSeconds: 2 * window },
      resolveKey: (keyid) => {
        if (!keyid.startsWith("did:") || !keyid.includes("#")) return undefined;
        return options.keys.resolve(keyid);
      },
    });
    if (hasBody) checkContentDigest(msg.header("content-digest"), body);
    return { method: "http_signature", did: didOf(v.keyid), credential: `http_signature:${v.keyid}` };
  }
  const authorization = msg.header("authorization")?.trim();
  if (authorization === undefined || authorization === "") return undefined;
  const m = /^Bearer\s+(\S+)$/iu.exec(authorization);
  if (m === null) throw new OapError("ERR_OAP_AUTH_INVALID", "the Authorization header must be a Bearer credential");
  const token = m[1] as string;
  if (token.startsWith(OAP_API_KEY_PREFIX)) {
    const record = await options.apiKeys?.lookup(apiKeyDigest(token));
    if (record === undefined || record.revoked === true) throw new OapError("ERR_OAP_AUTH_INVALID", "unknown or revoked API key");
    if (record.expires_at !== undefined && Date.parse(record.expires_at) <= clockMs(clock)) throw new OapError("ERR_OAP_TOKEN_EXPIRED", `API key ${record.id} expired`);
    return { method: "api_key", ...(record.principal_did === undefined ? {} : { principal_did: record.principal_did }), credential: `api_key:${record.id}` };
  }
  if (options.oauth === undefined) throw new OapError("ERR_OAP_AUTH_METHOD_UNSUPPORTED", "this credential is not accepted here");
  const info = await options.oauth.introspect(token);
  if (info === undefined || !info.active || typeof info.sub !== "string") throw new OapError("ERR_OAP_TOKEN_INVALID", "inactive or unknown access token");
  if (info.exp !== undefined && info.exp * 1000 <= clockMs(clock)) throw new OapError("ERR_OAP_TOKEN_EXPIRED", "the access token has expired");
  return { method: "oauth2_1", principal_did: info.sub, credential: `oauth2_1:${info.client_id ?? "client"}` };
}

/** True when the caller acts as `principalDid` (its bearer credential is bound to it, or it signed with the Principal's key). */
export function callerActsFor(caller: CallerIdentity | undefined, principalDid: string): boolean {
  return caller !== undefined && (caller.principal_did === principalDid || caller.did === principalDid);
}

/** True when the caller is the Principal or the agent of `party` (a task, a receipt). */
export function callerIsParty(caller: CallerIdentity | undefined, party: { readonly principal_did: string; readonly agent_did: string }): boolean {
  return callerActsFor(caller, party.principal_did) || (caller?.did !== undefined && caller.did === party.agent_did);
}

/** Throws 401 auth_required when there is no caller. */
export function requireCaller(caller: CallerIdentity | undefined): CallerIdentity {
  if (caller === undefined) {
    throw new OapError("ERR_OAP_AUTH_REQUIRED", `this endpoint needs a credential: an RFC 9421 signature (tag "${OAP_REQUEST_SIGNATURE_TAG}") by a DID key, or a Bearer credential bound to the Principal`);
  }
  return caller;
}

/** Options of {@link signCallerRequest}. */
export interface SignCallerRequestOptions {
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/**
 * Client side: the headers to add to a request (`Signature-Input`, `Signature`, and
 * `Content-Digest` when there is a body) so that {@link authenticateCaller} accepts it as the
 * signer's DID.
 */
export function signCallerRequest(
  request: { readonly method: string; readonly url: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: Uint8Array | string },
  signer: OapSigner | PrivateKeyRecord,
  options: SignCallerRequestOptions = {},
): Record<string, string> {
  const s: OapSigner = signer instanceof PrivateKeyRecord ? { key: signer } : signer;
  const key = s.key;
  const keyid = s.kid ?? key.kid;
  const random = options.random ?? systemRandom;
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  const body = request.body === undefined ? undefined : typeof request.body === "string" ? Buffer.from(request.body, "utf8") : request.body;
  const components = ["@method", "@authority", "@path"];
  if (new URL(request.url).search !== "") components.push("@query");
  if (body !== undefined && body.length > 0) {
    headers["content-digest"] = contentDigest(body);
    components.push("content-digest");
  }
  const sig = signHttpMessage(httpMessage({ method: request.method, url: request.url, headers }), {
    label: "oap",
    components,
    params: {
      created: Math.floor(clockMs(options.clock ?? systemClock) / 1000),
      nonce: Buffer.from(random(16)).toString("base64url"),
      keyid,
      alg: "ed25519",
      tag: OAP_REQUEST_SIGNATURE_TAG,
    },
    key,
  });
  return { ...headers, "signature-input": sig.signatureInput, signature: sig.signature };
}
