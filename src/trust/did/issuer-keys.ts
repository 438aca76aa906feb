/**
 * Issuer key resolution for OHP verification (OHP §5.9, §6.2 key identification; decision B13):
 * issuer DID → the issuer's key set → a {@link JwkResolver} for `verifyDetached` / `verifyHybrid`.
 *
 * - did:web: the DID document is resolved (and must carry the DID as its `id`), and the OHP key set
 *   is `https://<host>[:port]/.well-known/ohp-jwks.json`, validated with `parseJwks`. With
 *   `keys: "did-document"` the document's verification methods are used instead.
 * - did:key: the key set is the DID's own key(s) (kid = the multibase value).
 * - A kid absent from the current key set is treated as revoked: the resolver returns `undefined`,
 *   so verifiers fail with `ERR_JWS_KID_UNKNOWN`. Keys that are `revoked` or outside
 *   `validFrom`/`validUntil` at `now` are withheld the same way (default; see `unusableKeys`).
 * - Rotation and retention findings are warnings on the key set (see rotation.ts).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { KeyError, type Jwks, type PublicJwk } from "../../crypto/jwk.js";
import type { JwkResolver } from "../../crypto/jws.js";
import { findKey, isKeyUsableAt, parseJwks } from "../../crypto/keys.js";
import { systemDidClock, type DidClock } from "./cache.js";
import { didMethodOf, didWebJwksUrl, parseDidWeb } from "./did-web.js";
import type { DidDocument } from "./document.js";
import { DidError } from "./errors.js";
import { DocumentLoader, type DocumentLoaderOptions } from "./loader.js";
import { DidResolver, type DidDocumentResolver } from "./resolver.js";
import { checkKeyAges, checkRetention, rotationPolicyOf, type KeyHistory, type RotationPolicy, type RotationWarning } from "./rotation.js";

/** An issuer's current key set. */
export interface IssuerKeySet {
  readonly issuer: string;
  readonly jwks: Jwks<PublicJwk>;
  /** Where the keys came from. */
  readonly source: "ohp-jwks" | "did-document" | "static";
  /** The OHP JWKS URL (source `ohp-jwks`). */
  readonly jwksUrl?: string;
  /** The resolved DID document, when one was resolved. */
  readonly document?: DidDocument;
  /** The effective rotation policy. */
  readonly policy: RotationPolicy;
  /** Rotation / retention findings (never fatal). */
  readonly warnings: readonly RotationWarning[];
  /** When the key set was fetched or loaded (ms). */
  readonly fetchedAtMs: number;
}

/** Pluggable source of issuer key sets (web, static, federation, …). */
export interface IssuerKeySource {
  keySet(issuer: string, options?: { readonly refresh?: boolean }): Promise<IssuerKeySet>;
}

const JWKS_ACCEPT = "application/jwk-set+json, application/json;q=0.9";

function parseIssuerJwks(value: unknown, where: string): Jwks<PublicJwk> {
  try {
    // Foreign key types (EC, RSA: allowed by the OHP JWKS schema) are skipped, not fatal.
    return parseJwks(value, { skipUnsupported: true });
  } catch (cause) {
    if (cause instanceof KeyError) {
      throw new DidError("ERR_DID_JWKS_INVALID", `key set ${where} is invalid: ${cause.message}`, { cause, detail: { where, keyError: cause.code } });
    }
    throw cause;
  }
}

function jwksFromKeys(keys: readonly PublicJwk[], issuer: string): Jwks<PublicJwk> {
  if (keys.length === 0) throw new DidError("ERR_DID_NO_KEYS", `no supported key for ${issuer}`, { detail: { issuer } });
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid)) {
      throw new DidError("ERR_DID_DOCUMENT_INVALID", `kid ${key.kid} appears twice in the DID document of ${issuer}`, { detail: { kid: key.kid } });
    }
    seen.add(key.kid);
  }
  return Object.freeze({ keys: Object.freeze([...keys]) });
}

/** Options of {@link WebIssuerKeySource}. */
export interface WebIssuerKeySourceOptions extends DocumentLoaderOptions {
  /** Shared loader (cache + transport); overrides the transport options. */
  readonly loader?: DocumentLoader;
  /** DID resolver; default a {@link DidResolver} on the same loader. */
  readonly didResolver?: DidDocumentResolver;
  /** did:web keys from the OHP JWKS (default, B13) or from the DID document. */
  readonly keys?: "ohp-jwks" | "did-document";
  /** Resolve (and check) the DID document also when keys come from the OHP JWKS. Default true. */
  readonly resolveDocument?: boolean;
}

/** Issuer key sets over HTTPS (did:web) or computed (did:key). */
export class WebIssuerKeySource implements IssuerKeySource {
  readonly loader: DocumentLoader;
  readonly #resolver: DidDocumentResolver;
  readonly #keys: "ohp-jwks" | "did-document";
  readonly #resolveDocument: boolean;
  readonly #history = new Map<string, { fetchedAtMs: number; history: KeyHistory }>();

  constructor(options: WebIssuerKeySourceOptions = {}) {
    this.loader = options.loader ?? new DocumentLoader(options);
    this.#resolver = options.didResolver ?? new DidResolver({ loader: this.loader });
    this.#keys = options.keys ?? "ohp-jwks";
    this.#resolveDocument = options.resolveDocument !== false;
  }

  /** The issuer's key set. Throws {@link DidError} (resolution, transport, `ERR_DID_JWKS_INVALID`, `ERR_DID_NO_KEYS`). */
  async keySet(issuer: string, options: { readonly refresh?: boolean } = {}): Promise<IssuerKeySet> {
    const method = didMethodOf(issuer);
    const refresh = options.refresh === true ? { refresh: true } : {};
    if (method === "key" || (method === "web" && this.#keys === "did-document")) {
      const resolution = await this.#resolver.resolve(issuer, refresh);
      const jwks = jwksFromKeys(resolution.keys.map((k) => k.jwk), issuer);
      return this.#finish(issuer, jwks, undefined, { source: "did-document", document: resolution.document, fetchedAtMs: resolution.fetchedAtMs ?? this.loader.now() });
    }
    if (method !== "web") {
      throw new DidError("ERR_DID_METHOD_UNSUPPORTED", `DID method "${method}" is not supported for issuer keys`, { detail: { method } });
    }
    const web = parseDidWeb(issuer);
    const document = this.#resolveDocument ? (await this.#resolver.resolve(issuer, { ...refresh, requireKeys: false })).document : undefined;
    const jwksUrl = this.loader.fetchUrl(didWebJwksUrl(web));
    const loaded = await this.loader.load(jwksUrl, JWKS_ACCEPT, refresh);
    const jwks = parseIssuerJwks(loaded.value, jwksUrl);
    return this.#finish(issuer, jwks, loaded.value, {
      source: "ohp-jwks",
      jwksUrl,
      fetchedAtMs: loaded.fetchedAtMs,
      ...(document === undefined ? {} : { document }),
    });
  }

  #finish(
    issuer: string,
    jwks: Jwks<PublicJwk>,
    raw: unknown,
    base: Pick<IssuerKeySet, "source" | "fetchedAtMs"> & Partial<Pick<IssuerKeySet, "jwksUrl" | "document">>,
  ): IssuerKeySet {
    const { policy, warnings } = rotationPolicyOf(raw);
    const now = new Date(this.loader.now());
    warnings.push(...checkKeyAges(jwks, policy, now));
    // Retention is judged once per fetch, against the previous fetch of the same issuer.
    const prior = this.#history.get(issuer);
    if (prior === undefined || prior.fetchedAtMs !== base.fetchedAtMs) {
      const retention = checkRetention(prior?.history, jwks, policy, now);
      warnings.push(...retention.warnings);
      this.#history.set(issuer, { fetchedAtMs: base.fetchedAtMs, history: retention.history });
    }
    return Object.freeze({ issuer, jwks, policy, warnings: Object.freeze(warnings), ...base });
  }
}

/** Key sets from local JWKS documents keyed by issuer DID (CLI, tests, pinned deployments). */
export class StaticIssuerKeySource implements IssuerKeySource {
  readonly #sets = new Map<string, { jwks: Jwks<PublicJwk>; raw: unknown }>();
  readonly #clock: DidClock;

  /** `entries`: issuer DID → JWKS (JSON text, bytes or a parsed value). Invalid sets throw `ERR_DID_JWKS_INVALID` here. */
  constructor(entries: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>, options: { readonly clock?: DidClock } = {}) {
    this.#clock = options.clock ?? systemDidClock;
    const list = entries instanceof Map ? [...entries] : Object.entries(entries);
    for (const [did, value] of list) {
      didMethodOf(did);
      const raw = typeof value === "string" ? safeJson(value) : value;
      this.#sets.set(did, { jwks: parseIssuerJwks(value, `for ${did}`), raw });
    }
  }

  /** Loads each issuer's JWKS from a file: `{ [did]: path }`. */
  static async fromFiles(files: Readonly<Record<string, string>>, options: { readonly clock?: DidClock } = {}): Promise<StaticIssuerKeySource> {
    const entries: Record<string, string> = {};
    for (const [did, path] of Object.entries(files)) {
      try {
        entries[did] = await readFile(path, "utf8");
      } catch (cause) {
        throw new DidError("ERR_DID_FETCH_FAILED", `cannot read key set ${path} for ${did}`, { cause, detail: { did, path } });
      }
    }
    return new StaticIssuerKeySource(entries, options);
  }

  async keySet(issuer: string): Promise<IssuerKeySet> {
    const entry = this.#sets.get(issuer);
    if (entry === undefined) throw new DidError("ERR_DID_NOT_FOUND", `no key set configured for ${issuer}`, { detail: { issuer } });
    const { policy, warnings } = rotationPolicyOf(entry.raw);
    const fetchedAtMs = this.#clock();
    warnings.push(...checkKeyAges(entry.jwks, policy, new Date(fetchedAtMs)));
    return Object.freeze({ issuer, jwks: entry.jwks, source: "static" as const, policy, warnings: Object.freeze(warnings), fetchedAtMs });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Why a kid does or does not resolve. */
export type KeyStatus = "usable" | "revoked" | "not-yet-valid" | "expired" | "unknown";

/** Lifecycle status of `kid` in a key set at `now` (absent = `unknown`, treated as revoked). */
export function keyStatus(jwks: Jwks<PublicJwk>, kid: string, now: Date): KeyStatus {
  const jwk = findKey(jwks, kid);
  if (jwk === undefined) return "unknown";
  if (jwk.revoked === true) return "revoked";
  if (isKeyUsableAt(jwk, now)) return "usable";
  const from = jwk.validFrom === undefined ? undefined : Date.parse(jwk.validFrom);
  return from !== undefined && now.getTime() < from ? "not-yet-valid" : "expired";
}

/**
 * A {@link JwkResolver} over a key set at `now`. `unusableKeys: "omit"` (default) withholds keys
 * that are revoked or outside their validity (verifiers then say `ERR_JWS_KID_UNKNOWN`);
 * `"expose"` returns them so that `verifyDetached` reports `ERR_JWS_KID_REVOKED` itself.
 */
export function jwkResolverFor(jwks: Jwks<PublicJwk>, now: Date, unusableKeys: "omit" | "expose" = "omit"): JwkResolver {
  return (kid) => {
    const jwk = findKey(jwks, kid);
    if (jwk === undefined) return undefined;
    return unusableKeys === "expose" || isKeyUsableAt(jwk, now) ? jwk : undefined;
  };
}

/** Options of {@link IssuerKeyResolver}. */
export interface IssuerKeyResolverOptions {
  /** Default: a {@link WebIssuerKeySource} with default transport. */
  readonly source?: IssuerKeySource;
  /** DidClock for the refresh rate limit; default the system clock. */
  readonly clock?: DidClock;
  /** Least time between two forced refreshes of one issuer for an unknown kid. Default 60 s. */
  readonly minRefreshIntervalMs?: number;
  /** See {@link jwkResolverFor}. Default `omit`. */
  readonly unusableKeys?: "omit" | "expose";
  /** Called with each rotation warning of each fetched key set. */
  readonly onWarning?: (issuer: string, warning: RotationWarning) => void;
}

/** Options of {@link IssuerKeyResolver.resolverFor}. */
export interface ResolverForOptions {
  /** Kids about to be verified: if one is absent, the key set is refetched once (rate-limited) before giving up. */
  readonly kids?: readonly string[];
}

/** Issuer DID + `now` → {@link JwkResolver}: the OHP key-identification rule (§5.9, §6.2). */
export class IssuerKeyResolver {
  readonly source: IssuerKeySource;
  readonly #clock: DidClock;
  readonly #minRefreshIntervalMs: number;
  readonly #unusableKeys: "omit" | "expose";
  readonly #onWarning: ((issuer: string, warning: RotationWarning) => void) | undefined;
  readonly #lastRefresh = new Map<string, number>();
  /** Per issuer: `fetchedAtMs` of the key set whose warnings were last reported. */
  readonly #reported = new Map<string, number>();

  constructor(options: IssuerKeyResolverOptions = {}) {
    this.source = options.source ?? new WebIssuerKeySource();
    this.#clock = options.clock ?? systemDidClock;
    this.#minRefreshIntervalMs = options.minRefreshIntervalMs ?? 60_000;
    this.#unusableKeys = options.unusableKeys ?? "omit";
    this.#onWarning = options.onWarning;
  }

  /** The issuer's current key set (from the source, which caches). */
  async keySet(issuer: string, options: { readonly refresh?: boolean } = {}): Promise<IssuerKeySet> {
    const set = await this.source.keySet(issuer, options);
    if (this.#onWarning !== undefined && this.#reported.get(issuer) !== set.fetchedAtMs) {
      this.#reported.set(issuer, set.fetchedAtMs);
      for (const w of set.warnings) this.#onWarning(issuer, w);
    }
    return set;
  }

  /** A resolver for verifying the issuer's signatures at `now` (see the module notes). */
  async resolverFor(issuer: string, now: Date, options: ResolverForOptions = {}): Promise<JwkResolver> {
    let set = await this.keySet(issuer);
    const missing = (options.kids ?? []).some((kid) => findKey(set.jwks, kid) === undefined);
    if (missing && this.#mayRefresh(issuer)) set = await this.keySet(issuer, { refresh: true });
    return jwkResolverFor(set.jwks, now, this.#unusableKeys);
  }

  /** One key, usable at `now`, or `undefined` (absent = revoked); an unknown kid triggers one rate-limited refresh. */
  async resolveKey(issuer: string, kid: string, now: Date): Promise<PublicJwk | undefined> {
    return (await this.resolverFor(issuer, now, { kids: [kid] }))(kid);
  }

  #mayRefresh(issuer: string): boolean {
    const now = this.#clock();
    const last = this.#lastRefresh.get(issuer);
    if (last !== undefined && now - last < this.#minRefreshIntervalMs) return false;
    this.#lastRefresh.set(issuer, now);
    return true;
  }
}
