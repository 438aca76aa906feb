/**
 * DID resolution for `did:web` (fetched, cached) and `did:key` (computed): the DID document and
 * its keys as OHP public JWKs.
 *
 * @module
 */
import { didKeyDocument, parseDidKey } from "./did-key.js";
import { didMethodOf, didWebDocumentUrl, parseDidWeb } from "./did-web.js";
import { didDocumentKeys, validateDidDocument, type DidDocument, type DidDocumentKey, type SkippedVerificationMethod } from "./document.js";
import { DidError } from "./errors.js";
import { DocumentLoader, type DocumentLoaderOptions } from "./loader.js";

/** The result of resolving a DID. */
export interface DidResolution {
  readonly did: string;
  readonly method: "web" | "key";
  readonly document: DidDocument;
  /** Supported keys of the document (at least one unless `requireKeys: false`). */
  readonly keys: readonly DidDocumentKey[];
  /** Verification methods skipped as unsupported. */
  readonly skipped: readonly SkippedVerificationMethod[];
  /** did:web: where the document was fetched from. */
  readonly documentUrl?: string;
  /** did:web: when the (possibly cached) document was fetched, and until when it is fresh (ms). */
  readonly fetchedAtMs?: number;
  readonly expiresAtMs?: number;
}

/** Anything that resolves DIDs (plug in a universal resolver, a test double, …). */
export interface DidDocumentResolver {
  resolve(did: string, options?: ResolveOptions): Promise<DidResolution>;
}

/** Per-call options of {@link DidDocumentResolver.resolve}. */
export interface ResolveOptions {
  /** Bypass the cache. */
  readonly refresh?: boolean;
  /** Fail with `ERR_DID_NO_KEYS` when the document has no supported key. Default true. */
  readonly requireKeys?: boolean;
}

/** Options of {@link DidResolver}. */
export interface DidResolverOptions extends DocumentLoaderOptions {
  /** Share a loader (and so its cache) with other components; overrides the transport options. */
  readonly loader?: DocumentLoader;
  /** Methods to accept; default both `web` and `key`. */
  readonly methods?: readonly ("web" | "key")[];
}

const DID_JSON_ACCEPT = "application/did+json, application/did+ld+json;q=0.9, application/json;q=0.8";

/** Resolves `did:web` and `did:key`. */
export class DidResolver implements DidDocumentResolver {
  readonly loader: DocumentLoader;
  readonly #methods: ReadonlySet<string>;

  constructor(options: DidResolverOptions = {}) {
    this.loader = options.loader ?? new DocumentLoader(options);
    this.#methods = new Set(options.methods ?? ["web", "key"]);
  }

  /**
   * Resolves `did`. Throws {@link DidError}: `ERR_DID_INVALID`, `ERR_DID_METHOD_UNSUPPORTED`,
   * `ERR_DID_KEY_CODEC_UNSUPPORTED`, the transport codes of the loader, `ERR_DID_DOCUMENT_INVALID`,
   * `ERR_DID_DOCUMENT_ID_MISMATCH`, `ERR_DID_NO_KEYS`.
   */
  async resolve(did: string, options: ResolveOptions = {}): Promise<DidResolution> {
    const method = didMethodOf(did);
    if (!this.#methods.has(method)) {
      throw new DidError("ERR_DID_METHOD_UNSUPPORTED", `DID method "${method}" is not supported`, { detail: { method } });
    }
    if (method === "key") {
      parseDidKey(did);
      return withKeys({ did, method: "key", document: didKeyDocument(did) }, options.requireKeys !== false);
    }
    const web = parseDidWeb(did);
    const url = this.loader.fetchUrl(didWebDocumentUrl(web));
    const loaded = await this.loader.load(url, DID_JSON_ACCEPT, options.refresh === true ? { refresh: true } : {});
    const document = validateDidDocument(loaded.value, did);
    return withKeys(
      { did, method: "web", document, documentUrl: url, fetchedAtMs: loaded.fetchedAtMs, expiresAtMs: loaded.expiresAtMs },
      options.requireKeys !== false,
    );
  }
}

function withKeys(base: Omit<DidResolution, "keys" | "skipped">, requireKeys: boolean): DidResolution {
  const { keys, skipped } = didDocumentKeys(base.document);
  if (keys.length === 0 && requireKeys) {
    throw new DidError("ERR_DID_NO_KEYS", `DID document of ${base.did} has no supported verification key`, {
      detail: { did: base.did, skipped: skipped.map((s) => s.id) },
    });
  }
  return Object.freeze({ ...base, keys: Object.freeze(keys), skipped: Object.freeze(skipped) });
}
