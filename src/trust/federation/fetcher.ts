/**
 * Where entity statements come from (OpenID Federation 1.0 §9 entity configuration endpoint,
 * §8.1 fetch endpoint). The resolver never performs I/O itself: it is given a
 * {@link FederationFetcher}. Two implementations ship: {@link InMemoryFederationFetcher}
 * (tests, offline CLI, pre-provisioned federations) and {@link HttpFederationFetcher} (live,
 * with an injectable `fetch`).
 *
 * @module
 */
import { entityConfigurationUrl, normaliseEntityId } from "./entity-id.js";
import { FederationError } from "./errors.js";
import { decodeEntityStatement } from "./statement.js";

/** Source of entity statements (compact JWTs, unverified). */
export interface FederationFetcher {
  /** The entity configuration of `entityId` (`<entityId>/.well-known/openid-federation`). */
  fetchEntityConfiguration(entityId: string): Promise<string>;
  /**
   * The subordinate statement `issuer` makes about `subject`, from `issuer`'s
   * `federation_fetch_endpoint` (`fetchEndpoint`, read from its configuration when published).
   */
  fetchSubordinateStatement(request: { readonly issuer: string; readonly subject: string; readonly fetchEndpoint?: string }): Promise<string>;
}

/** In-memory fetcher: statements are added as JWTs and keyed by their (unverified) iss/sub. */
export class InMemoryFederationFetcher implements FederationFetcher {
  readonly #configurations = new Map<string, string>();
  readonly #subordinates = new Map<string, string>();

  /** @param statements initial statements (entity configurations and subordinate statements). */
  constructor(statements: readonly string[] = []) {
    for (const s of statements) this.add(s);
  }

  /** Adds a statement: `iss` = `sub` → entity configuration, otherwise a subordinate statement. Returns `this`. */
  add(jwt: string): this {
    const { payload } = decodeEntityStatement(jwt);
    const iss = normaliseEntityId(payload.iss);
    const sub = normaliseEntityId(payload.sub);
    if (iss === sub) this.#configurations.set(iss, jwt.trim());
    else this.#subordinates.set(`${iss} ${sub}`, jwt.trim());
    return this;
  }

  /** Number of stored statements. */
  get size(): number {
    return this.#configurations.size + this.#subordinates.size;
  }

  async fetchEntityConfiguration(entityId: string): Promise<string> {
    const jwt = this.#configurations.get(normaliseEntityId(entityId));
    if (jwt === undefined) throw new FederationError("ERR_FED_FETCH", `no entity configuration for ${entityId}`, { detail: { entityId } });
    return jwt;
  }

  async fetchSubordinateStatement(request: { readonly issuer: string; readonly subject: string }): Promise<string> {
    const jwt = this.#subordinates.get(`${normaliseEntityId(request.issuer)} ${normaliseEntityId(request.subject)}`);
    if (jwt === undefined) {
      throw new FederationError("ERR_FED_FETCH", `no subordinate statement by ${request.issuer} about ${request.subject}`, { detail: { ...request } });
    }
    return jwt;
  }
}

/** Options of {@link HttpFederationFetcher}. */
export interface HttpFederationFetcherOptions {
  /** The fetch implementation (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch;
  /** Per-request timeout in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Largest accepted response body in bytes (default 256 KiB). */
  readonly maxBytes?: number;
}

/** Live fetcher over HTTPS (§9 and §8.1.1: `GET <fetch endpoint>?sub=<subject>`). */
export class HttpFederationFetcher implements FederationFetcher {
  readonly #fetch: typeof globalThis.fetch;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(options: HttpFederationFetcherOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxBytes = options.maxBytes ?? 256 * 1024;
  }

  async #get(url: string): Promise<string> {
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { accept: "application/entity-statement+jwt" },
        redirect: "error",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new FederationError("ERR_FED_FETCH", `GET ${url} failed: ${(cause as Error).message}`, { cause, detail: { url } });
    }
    if (!response.ok) throw new FederationError("ERR_FED_FETCH", `GET ${url} answered ${response.status}`, { detail: { url, status: response.status } });
    const text = await response.text();
    if (Buffer.byteLength(text, "utf8") > this.#maxBytes) throw new FederationError("ERR_FED_FETCH", `GET ${url}: body too large`, { detail: { url } });
    return text.trim();
  }

  fetchEntityConfiguration(entityId: string): Promise<string> {
    return this.#get(entityConfigurationUrl(entityId));
  }

  fetchSubordinateStatement(request: { readonly issuer: string; readonly subject: string; readonly fetchEndpoint?: string }): Promise<string> {
    if (request.fetchEndpoint === undefined) {
      return Promise.reject(new FederationError("ERR_FED_FETCH", `${request.issuer} publishes no federation_fetch_endpoint`, { detail: { issuer: request.issuer } }));
    }
    const url = new URL(request.fetchEndpoint);
    if (url.protocol !== "https:") return Promise.reject(new FederationError("ERR_FED_FETCH", "federation_fetch_endpoint must be https"));
    url.searchParams.set("sub", request.subject);
    return this.#get(url.toString());
  }
}
