/**
 * Authentication and authorisation (OAP-CORE-1.0 §10): anonymous, API keys, OAP Trust Tokens,
 * an OAuth 2.1 bearer hook and an mTLS hook; every decision — allow or refuse — is returned as
 * an oap-decision-record (§10.2, §20.4) citing the credential and the rules applied, for the
 * caller to log and to cite in the Receipt's `policy_decisions`.
 *
 * Credential selection (docs/oap.md "§10.1 credentials"):
 *  - no `Authorization` header (and no client certificate) → anonymous;
 *  - `Authorization: Bearer oap_apikey_…` → API key;
 *  - `Authorization: Bearer <JWS>` whose payload carries the Trust Token claims `agent` and
 *    `cnf` → OAP Trust Token;
 *  - any other bearer token → the OAuth 2.1 hook (RFC 7662-style introspection);
 *  - a client certificate with no Authorization header → the mTLS hook.
 * The method must be listed in the manifest's `auth[]`.
 *
 * Trust Token (§10.1.4): a JWS (EdDSA) signed by a key of the Principal DID (`sub`; header
 * `kid` = DID URL of `sub`), with `sub, aud, agent, scope, nonce, iat, exp, cnf`. Checked:
 * signature; `aud` = the Tool; `exp`/`iat` (lifetime ≤ maxLifetimeSeconds, 1 h by default);
 * `sub` = envelope `principal_did`; `agent` = envelope `agent_did`; `cnf` binds the agent key
 * that signed the envelope (`cnf.jkt` = its RFC 7638 thumbprint, or `cnf.kid` = the envelope
 * signature `kid`); `scope` (space-separated) contains the envelope `scope_id` when present;
 * `nonce` unused within 10 min (§28.3: one token per request unless `singleUse: false`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { OapAction } from "../../gen/types/oap/oap-action.js";
import type { OapDecisionRecord } from "../../gen/types/oap/oap-decision-record.js";
import type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../gen/types/oap/oap-request-envelope.js";
import { jwkThumbprint } from "../crypto/thumbprint.js";
import { isJsonObject } from "../json/types.js";
import { b64uEncode } from "../util/base64url.js";
import { checkAnonymous } from "./actions.js";
import { OapError } from "./errors.js";
import { ReplayGuard } from "./replay.js";
import type { OapKeyResolver, VerifiedSignature } from "./sign.js";
import { clockMs, didOf, oapIds, rfc3339, systemClock, systemRandom, type OapClock, type OapIds, type OapRandom } from "./util.js";

export type { OapDecisionRecord } from "../../gen/types/oap/oap-decision-record.js";

/** §10.1 methods (the manifest's `auth[].method`). */
export type OapAuthMethod = "anonymous" | "api_key" | "oauth2_1" | "oap_trust_token" | "mtls";

/** The API key prefix of §10.1.2. */
export const OAP_API_KEY_PREFIX = "oap_apikey_";

/** Who the caller turned out to be. */
export interface AuthIdentity {
  readonly method: OapAuthMethod;
  /** The authenticated Principal, when the credential names one. */
  readonly principal_did?: string;
  /** The credential cited in the decision record, e.g. "api_key:key_123", "trust_token:<nonce>". */
  readonly credential: string;
  /** Granted scopes (API key scopes, token `scope`). */
  readonly scopes: readonly string[];
}

/** The authorisation decision: the logged record, and the identity or the refusal. */
export type AuthDecision =
  | { readonly ok: true; readonly identity: AuthIdentity; readonly record: OapDecisionRecord }
  | { readonly ok: false; readonly error: OapError; readonly method: OapAuthMethod | "none"; readonly record: OapDecisionRecord };

/** A request as far as authentication is concerned. */
export interface AuthRequest {
  /** The `Authorization` header value (or gRPC `authorization` metadata). */
  readonly authorization?: string | null;
  /** The (schema-valid) request envelope. */
  readonly envelope: OapRequestEnvelope;
  /** The verified envelope signature (from verifyRequest): the key Trust Tokens bind via `cnf`. */
  readonly agentSignature?: VerifiedSignature;
  /** A TLS client certificate (passed to the mTLS hook as is). */
  readonly clientCertificate?: unknown;
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

/** What the Tool stores about an API key (never the key itself). */
export interface ApiKeyRecord {
  /** Public key id, cited in decision records. */
  readonly id: string;
  /** The Principal the key was issued to (requests for another principal are refused). */
  readonly principal_did?: string;
  /** Actions the key may invoke (all when absent). */
  readonly actions?: readonly string[];
  readonly scopes?: readonly string[];
  readonly revoked?: boolean;
  /** RFC 3339 expiry. */
  readonly expires_at?: string;
}

/** Looks API keys up by the SHA-256 of the key text. */
export interface ApiKeyStore {
  lookup(sha256Hex: string): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined>;
}

/** SHA-256 hex of an API key (what stores index by). */
export function apiKeyDigest(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A new API key: `oap_apikey_` + 32 random bytes, base64url. */
export function generateApiKey(random: OapRandom = systemRandom): string {
  return OAP_API_KEY_PREFIX + b64uEncode(random(32));
}

/** In-memory {@link ApiKeyStore}. */
export class MemoryApiKeyStore implements ApiKeyStore {
  readonly #byDigest = new Map<string, ApiKeyRecord>();

  /** Registers a key (stored by digest only). */
  add(key: string, record: ApiKeyRecord): void {
    this.#byDigest.set(apiKeyDigest(key), record);
  }

  lookup(sha256Hex: string): ApiKeyRecord | undefined {
    // Indexed by the digest of a high-entropy key: lookup timing reveals nothing about the key.
    return this.#byDigest.get(sha256Hex);
  }
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.1 and mTLS hooks
// ---------------------------------------------------------------------------------------------

/** RFC 7662-style token introspection result. */
export interface OAuthIntrospection {
  readonly active: boolean;
  readonly sub?: string;
  /** Space-separated scopes. */
  readonly scope?: string;
  readonly aud?: string | readonly string[];
  /** Seconds since the epoch. */
  readonly exp?: number;
  readonly client_id?: string;
}

/** The OAuth 2.1 bearer hook: introspect the token (the Authorization Server is out of scope). */
export interface OAuthHook {
  introspect(token: string): OAuthIntrospection | undefined | Promise<OAuthIntrospection | undefined>;
  /** Scope needed for an action (none when it returns undefined). */
  requiredScope?(action: OapAction): string | undefined;
}

/** The mTLS hook: map a verified client certificate to an identity (undefined = not accepted). */
export interface MtlsHook {
  identify(certificate: unknown): { readonly principal_did: string; readonly subject: string } | undefined | Promise<{ readonly principal_did: string; readonly subject: string } | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Trust Tokens
// ---------------------------------------------------------------------------------------------

/** Trust Token settings. */
export interface TrustTokenOptions {
  /** Resolves the Principal's signing keys (header `kid`, a DID URL of `sub`). */
  readonly keys: OapKeyResolver;
  /** Longest accepted `exp − iat` (default 3600 s: "short lived"). */
  readonly maxLifetimeSeconds?: number;
  /** Clock skew tolerated on exp/iat (default 60 s). */
  readonly clockToleranceSeconds?: number;
  /** §28.3: each token (its `nonce`) is accepted once (default true). */
  readonly singleUse?: boolean;
}

/** The §10.1.4 Trust Token claims. */
export interface TrustTokenClaims extends JWTPayload {
  readonly sub: string;
  readonly aud: string | string[];
  readonly agent: string;
  readonly scope: string;
  readonly nonce: string;
  readonly iat: number;
  readonly exp: number;
  readonly cnf: { readonly jkt?: string; readonly kid?: string; readonly jwk?: Record<string, unknown> };
}

const TRUST_TOKEN_CLAIMS = ["sub", "aud", "agent", "scope", "nonce", "iat", "exp", "cnf"];
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when a bearer token looks like a Trust Token (a JWS whose payload has `agent` and `cnf`). */
export function isTrustTokenShaped(token: string): boolean {
  if (!JWS_COMPACT.test(token)) return false;
  try {
    const p = decodeJwt(token);
    return typeof p["agent"] === "string" && isJsonObject(p["cnf"]);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// the authenticator
// ---------------------------------------------------------------------------------------------

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** The Tool's manifest (its `auth[]` methods and `risk_class`). */
  readonly manifest: Pick<OapManifest, "auth" | "risk_class">;
  /** Accepted `aud` values of Trust Tokens and OAuth tokens (the Tool DID, its invoke URL). */
  readonly audience: string | readonly string[];
  readonly apiKeys?: ApiKeyStore;
  readonly trustTokens?: TrustTokenOptions;
  readonly oauth?: OAuthHook;
  readonly mtls?: MtlsHook;
  /** Nonce memory for Trust Tokens (share it with the request ReplayGuard's store if you like). */
  readonly replay?: ReplayGuard;
  readonly clock?: OapClock;
  readonly ids?: OapIds;
}

interface Attempt {
  readonly method: OapAuthMethod | "none";
  readonly rules: string[];
}

/** Authenticates and authorises invocations; never throws for a refused credential. */
export class Authenticator {
  readonly #o: AuthenticatorOptions;
  readonly #clock: OapClock;
  readonly #ids: OapIds;
  readonly #replay: ReplayGuard;
  readonly #methods: ReadonlySet<string>;
  readonly #audience: readonly string[];

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock);
    this.#replay = options.replay ?? new ReplayGuard({ clock: this.#clock });
    this.#methods = new Set(options.manifest.auth.map((a) => a.method));
    this.#audience = typeof options.audience === "string" ? [options.audience] : options.audience;
  }

  /** The decision for `request` invoking `action`. */
  async authorize(request: AuthRequest, action: OapAction): Promise<AuthDecision> {
    const attempt: Attempt = { method: "none", rules: [] };
    try {
      const identity = await this.#authenticate(request, action, attempt);
      return { ok: true, identity, record: this.#record("allow", attempt, identity, `${identity.method} credential ${identity.credential} authorised ${action.id}`) };
    } catch (e) {
      const error = e instanceof OapError ? e : new OapError("ERR_OAP_INTERNAL", "authentication failed", { cause: e });
      attempt.rules.push(`error:${error.code}`);
      return { ok: false, error, method: attempt.method, record: this.#record("block", attempt, undefined, error.message) };
    }
  }

  #record(outcome: "allow" | "block", attempt: Attempt, identity: AuthIdentity | undefined, explanation: string): OapDecisionRecord {
    const rules = identity === undefined ? attempt.rules : [...attempt.rules, `credential:${identity.credential}`];
    return {
      decision_id: this.#ids.decisionId(),
      evaluated_at: rfc3339(this.#clock()),
      layers_evaluated: [],
      applied_rules: rules,
      outcome,
      explanation,
    };
  }

  #require(method: OapAuthMethod, attempt: { method: OapAuthMethod | "none"; rules: string[] }): void {
    attempt.method = method;
    attempt.rules.push(`oap.10.1.${method}`);
    if (!this.#methods.has(method)) {
      throw new OapError("ERR_OAP_AUTH_METHOD_UNSUPPORTED", `the Tool does not accept ${method} credentials`, { details: { method, supported: [...this.#methods] } });
    }
  }

  async #authenticate(request: AuthRequest, action: OapAction, attempt: { method: OapAuthMethod | "none"; rules: string[] }): Promise<AuthIdentity> {
    const header = request.authorization?.trim() ?? "";
    if (header === "") {
      if (request.clientCertificate !== undefined && this.#o.mtls !== undefined) return this.#mtls(request, attempt);
      return this.#anonymous(action, attempt);
    }
    const m = /^Bearer\s+(\S+)$/iu.exec(header);
    if (m === null) {
      attempt.rules.push("oap.10.1.bearer");
      throw new OapError("ERR_OAP_AUTH_INVALID", "the Authorization header must be a Bearer credential");
    }
    const token = m[1] as string;
    if (token.startsWith(OAP_API_KEY_PREFIX)) return this.#apiKey(token, request, action, attempt);
    if (isTrustTokenShaped(token)) return this.#trustToken(token, request, attempt);
    return this.#oauth(token, request, action, attempt);
  }

  /** §10.1.1: only for side_effects "none" and risk class "minimal". */
  #anonymous(action: OapAction, attempt: { method: OapAuthMethod | "none"; rules: string[] }): AuthIdentity {
    attempt.method = "anonymous";
    attempt.rules.push("oap.10.1.anonymous");
    if (!this.#methods.has("anonymous")) throw new OapError("ERR_OAP_AUTH_REQUIRED", "a credential is required", { details: { supported: [...this.#methods] } });
    const decision = checkAnonymous(action, this.#o.manifest);
    if (decision.error !== undefined) throw decision.error;
    return { method: "anonymous", credential: "anonymous", scopes: [] };
  }

  async #apiKey(key: string, request: AuthRequest, action: OapAction, attempt: { method: OapAuthMethod | "none"; rules: string[] }): Promise<AuthIdentity> {
    this.#require("api_key", attempt);
    const record = await this.#o.apiKeys?.lookup(apiKeyDigest(key));
    if (record === undefined || record.revoked === true) throw new OapError("ERR_OAP_AUTH_INVALID", "unknown or revoked API key");
    if (record.expires_at !== undefined && Date.parse(record.expires_at) <= clockMs(this.#clock)) {
      throw new OapError("ERR_OAP_TOKEN_EXPIRED", `API key ${record.id} expired`);
    }
    attempt.rules.push("oap.10.1.api_key.principal");
    if (record.principal_did !== undefined && record.principal_did !== request.envelope.principal_did) {
      throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `API key ${record.id} is not issued to ${request.envelope.principal_did}`);
    }
    if (record.actions !== undefined) {
      attempt.rules.push("oap.10.1.api_key.actions");
      if (!record.actions.includes(action.id)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `API key ${record.id} may not invoke ${action.id}`);
    }
    return { method: "api_key", principal_did: record.principal_did ?? request.envelope.principal_did, credential: `api_key:${record.id}`, scopes: record.scopes ?? [] };
  }

  async #trustToken(token: string, request: AuthRequest, attempt: { method: OapAuthMethod | "none"; rules: string[] }): Promise<AuthIdentity> {
    this.#require("oap_trust_token", attempt);
    const opts = this.#o.trustTokens;
    if (opts === undefined) throw new OapError("ERR_OAP_AUTH_METHOD_UNSUPPORTED", "Trust Tokens are not configured");
    const claims = await this.#verifyTrustToken(token, opts, attempt);
    const env = request.envelope;
    attempt.rules.push("oap.10.1.trust_token.principal");
    if (claims.sub !== env.principal_did) throw new OapError("ERR_OAP_TOKEN_INVALID", "the Trust Token sub is not the envelope principal_did");
    attempt.rules.push("oap.10.1.trust_token.agent");
    if (claims.agent !== env.agent_did) throw new OapError("ERR_OAP_TOKEN_BINDING", "the Trust Token agent is not the envelope agent_did");
    attempt.rules.push("oap.10.1.trust_token.cnf");
    checkCnf(claims.cnf, request.agentSignature);
    const scopes = claims.scope.split(/\s+/u).filter((s) => s.length > 0);
    if (env.scope_id !== undefined) {
      attempt.rules.push("oap.10.1.trust_token.scope");
      if (!scopes.includes(env.scope_id)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `the Trust Token scope does not cover ${env.scope_id}`);
    }
    if (opts.singleUse !== false) {
      attempt.rules.push("oap.28.3.nonce");
      try {
        await this.#replay.checkNonce(`trust-token:${claims.sub}`, claims.nonce);
      } catch (e) {
        if (e instanceof OapError && e.code === "ERR_OAP_REPLAY_NONCE") throw new OapError("ERR_OAP_TOKEN_REPLAY", "the Trust Token nonce was already used", { cause: e });
        throw e;
      }
    }
    return { method: "oap_trust_token", principal_did: claims.sub, credential: `oap_trust_token:${claims.nonce}`, scopes };
  }

  async #verifyTrustToken(token: string, opts: TrustTokenOptions, attempt: { rules: string[] }): Promise<TrustTokenClaims> {
    attempt.rules.push("oap.10.1.trust_token.signature");
    let kid: unknown;
    let sub: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
      sub = decodeJwt(token).sub;
    } catch (cause) {
      throw new OapError("ERR_OAP_TOKEN_INVALID", "malformed Trust Token", { cause });
    }
    if (typeof kid !== "string" || typeof sub !== "string") throw new OapError("ERR_OAP_TOKEN_INVALID", "the Trust Token needs a header kid and a sub claim");
    if (didOf(kid) !== sub) throw new OapError("ERR_OAP_TOKEN_INVALID", "the Trust Token must be signed by a key of its sub (the Principal DID)");
    const key = await opts.keys.resolve(kid);
    if (key === undefined || key.alg !== "EdDSA" || key.keyObject === undefined) throw new OapError("ERR_OAP_TOKEN_INVALID", `unknown Trust Token key ${kid}`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.keyObject, {
        algorithms: ["EdDSA", "Ed25519"],
        audience: [...this.#audience],
        currentDate: this.#clock(),
        clockTolerance: opts.clockToleranceSeconds ?? 60,
        requiredClaims: TRUST_TOKEN_CLAIMS,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new OapError("ERR_OAP_TOKEN_EXPIRED", "the Trust Token has expired", { cause: e });
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === "aud") throw new OapError("ERR_OAP_TOKEN_AUDIENCE", "the Trust Token is for another audience", { cause: e });
      throw new OapError("ERR_OAP_TOKEN_INVALID", `invalid Trust Token: ${(e as Error).message}`, { cause: e });
    }
    const c = payload as Partial<TrustTokenClaims>;
    if (typeof c.agent !== "string" || typeof c.scope !== "string" || typeof c.nonce !== "string" || c.nonce.length === 0 || !isJsonObject(c.cnf)) {
      throw new OapError("ERR_OAP_TOKEN_INVALID", "Trust Token claims agent, scope, nonce (strings) and cnf (object) are required");
    }
    const lifetime = (c.exp as number) - (c.iat as number);
    if (!(lifetime > 0) || lifetime > (opts.maxLifetimeSeconds ?? 3600)) {
      throw new OapError("ERR_OAP_TOKEN_INVALID", `the Trust Token lifetime ${lifetime} s is not short-lived (limit ${opts.maxLifetimeSeconds ?? 3600} s)`);
    }
    if ((c.iat as number) * 1000 > clockMs(this.#clock) + (opts.clockToleranceSeconds ?? 60) * 1000) throw new OapError("ERR_OAP_TOKEN_INVALID", "the Trust Token was issued in the future");
    return c as TrustTokenClaims;
  }

  async #oauth(token: string, request: AuthRequest, action: OapAction, attempt: { method: OapAuthMethod | "none"; rules: string[] }): Promise<AuthIdentity> {
    this.#require("oauth2_1", attempt);
    const hook = this.#o.oauth;
    if (hook === undefined) throw new OapError("ERR_OAP_AUTH_METHOD_UNSUPPORTED", "OAuth 2.1 is not configured");
    const info = await hook.introspect(token);
    if (info === undefined || info.active !== true) throw new OapError("ERR_OAP_TOKEN_INVALID", "inactive or unknown access token");
    if (info.exp !== undefined && info.exp * 1000 <= clockMs(this.#clock)) throw new OapError("ERR_OAP_TOKEN_EXPIRED", "the access token has expired");
    if (info.aud !== undefined) {
      const auds = typeof info.aud === "string" ? [info.aud] : info.aud;
      attempt.rules.push("oap.10.1.oauth2_1.audience");
      if (!auds.some((a) => this.#audience.includes(a))) throw new OapError("ERR_OAP_TOKEN_AUDIENCE", "the access token is for another audience");
    }
    attempt.rules.push("oap.10.1.oauth2_1.principal");
    if (info.sub !== request.envelope.principal_did) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "the access token subject is not the envelope principal_did");
    const scopes = (info.scope ?? "").split(/\s+/u).filter((s) => s.length > 0);
    const needed = hook.requiredScope?.(action);
    if (needed !== undefined) {
      attempt.rules.push(`oap.10.1.oauth2_1.scope:${needed}`);
      if (!scopes.includes(needed)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `the access token lacks scope ${needed}`, { details: { required_scope: needed } });
    }
    return { method: "oauth2_1", principal_did: info.sub, credential: `oauth2_1:${info.client_id ?? "client"}`, scopes };
  }

  async #mtls(request: AuthRequest, attempt: { method: OapAuthMethod | "none"; rules: string[] }): Promise<AuthIdentity> {
    this.#require("mtls", attempt);
    const id = await this.#o.mtls?.identify(request.clientCertificate);
    if (id === undefined) throw new OapError("ERR_OAP_AUTH_INVALID", "the client certificate is not accepted");
    attempt.rules.push("oap.10.1.mtls.principal");
    if (id.principal_did !== request.envelope.principal_did) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "the client certificate is not bound to the envelope principal_did");
    return { method: "mtls", principal_did: id.principal_did, credential: `mtls:${id.subject}`, scopes: [] };
  }
}

/** `cnf` must bind the key that signed the envelope: jkt (RFC 7638 thumbprint), kid, or jwk. */
function checkCnf(cnf: TrustTokenClaims["cnf"], signature: VerifiedSignature | undefined): void {
  if (signature === undefined) throw new OapError("ERR_OAP_TOKEN_BINDING", "a Trust Token needs a verified envelope signature to bind (cnf)");
  const thumbprint = jwkThumbprint(signature.key.jwk as unknown as Record<string, unknown>);
  if (typeof cnf.jkt === "string") {
    if (cnf.jkt === thumbprint) return;
  } else if (typeof cnf.kid === "string") {
    if (cnf.kid === signature.kid) return;
  } else if (isJsonObject(cnf.jwk)) {
    let t: string | undefined;
    try {
      t = jwkThumbprint(cnf.jwk);
    } catch {
      t = undefined;
    }
    if (t === thumbprint) return;
  }
  throw new OapError("ERR_OAP_TOKEN_BINDING", "the Trust Token cnf does not bind the key that signed the envelope");
}

/** The `policy_decisions[]` entry of a Receipt citing a decision record. */
export function policyDecisionRef(record: OapDecisionRecord): { id: string; outcome: OapDecisionRecord["outcome"]; rules: string[] } {
  return { id: record.decision_id, outcome: record.outcome, rules: [...record.applied_rules] };
}
