/**
 * Trust chains (OpenID Federation 1.0 §4 and §10): `[leaf configuration, superior₁'s subordinate
 * statement about the leaf, …, the trust anchor's statement about its subordinate, trust anchor
 * configuration]`. {@link verifyTrustChain} validates a given chain (§10.2), one step per
 * function; {@link resolveTrustChain} collects one by following `authority_hints` through a
 * {@link FederationFetcher} (§10.1) and returns the first chain that verifies.
 *
 * @module
 */
import { normaliseEntityId, toEntityId } from "./entity-id.js";
import { FederationError } from "./errors.js";
import type { FederationFetcher } from "./fetcher.js";
import { resolveMetadata, type Metadata, type MetadataPolicy } from "./policy.js";
import {
  checkStatementTime,
  decodeEntityStatement,
  verifyEntityStatementSignature,
  type EntityStatement,
  type FederationJwks,
} from "./statement.js";

/** A locally configured trust anchor: its entity identifier and the keys it is known by. */
export interface TrustAnchor {
  /** https entity identifier (or a did:web that maps to one). */
  readonly entityId: string;
  /** The anchor's federation signing keys, configured out of band. */
  readonly jwks: FederationJwks;
}

/** Options shared by {@link verifyTrustChain} and {@link resolveTrustChain}. */
export interface TrustChainOptions {
  readonly trustAnchors: readonly TrustAnchor[];
  /** Validation time. */
  readonly now: Date;
  /** Largest number of intermediates between leaf and anchor (default 4). */
  readonly maxPathLength?: number;
  /** Tolerated clock skew in seconds (default 5). */
  readonly skewSeconds?: number;
}

/** A verified trust chain. */
export interface TrustChain {
  /** The leaf's entity identifier. */
  readonly entityId: string;
  /** The trust anchor it chains to. */
  readonly trustAnchorId: string;
  /** Statements leaf first, anchor configuration last. */
  readonly statements: readonly EntityStatement[];
  /** Earliest `exp` of the chain (§10.3). */
  readonly expiresAt: Date;
  /** The leaf's metadata after the chain's metadata policies (§6.1.4). */
  readonly metadata: Metadata;
}

const DEFAULT_MAX_PATH_LENGTH = 4;

function anchorFor(entityId: string, anchors: readonly TrustAnchor[]): TrustAnchor | undefined {
  return anchors.find((a) => toEntityId(a.entityId) === entityId);
}

/** §10.2 linkage: configurations self-issued; statement j's `sub` = statement j-1's `iss`. */
export function checkChainLinks(chain: readonly EntityStatement[]): void {
  const id = (s: EntityStatement, claim: "iss" | "sub"): string => normaliseEntityId(s.payload[claim]);
  const first = chain[0] as EntityStatement;
  const last = chain[chain.length - 1] as EntityStatement;
  if (id(first, "iss") !== id(first, "sub")) throw new FederationError("ERR_FED_CHAIN_LINK", "the leaf entity configuration is not self-issued");
  if (id(last, "iss") !== id(last, "sub")) throw new FederationError("ERR_FED_CHAIN_LINK", "the trust anchor entity configuration is not self-issued");
  for (let j = 1; j < chain.length; j++) {
    const s = chain[j] as EntityStatement;
    const prev = chain[j - 1] as EntityStatement;
    if (id(s, "sub") !== id(prev, "iss")) {
      throw new FederationError("ERR_FED_CHAIN_LINK", `statement ${j} is about ${s.payload.sub}, not ${prev.payload.iss}`, { detail: { index: j } });
    }
    if (j < chain.length - 1 && id(s, "iss") === id(s, "sub")) {
      throw new FederationError("ERR_FED_CHAIN_LINK", `statement ${j} must be a subordinate statement`, { detail: { index: j } });
    }
  }
}

/** §10.2 / §6.2.1: the global path limit and each statement's `constraints.max_path_length`. */
export function checkPathLength(chain: readonly EntityStatement[], maxPathLength: number): void {
  const intermediates = Math.max(0, chain.length - 3);
  if (intermediates > maxPathLength) {
    throw new FederationError("ERR_FED_PATH_LENGTH", `${intermediates} intermediates exceed the limit ${maxPathLength}`);
  }
  for (let j = 1; j < chain.length - 1; j++) {
    const m = (chain[j] as EntityStatement).payload.constraints?.max_path_length;
    if (m === undefined) continue;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 0) throw new FederationError("ERR_FED_MALFORMED", "constraints.max_path_length must be a non-negative integer");
    if (j - 1 > m) {
      throw new FederationError("ERR_FED_PATH_LENGTH", `statement ${j} allows ${m} intermediates below its issuer, the chain has ${j - 1}`, { detail: { index: j } });
    }
  }
}

/** §10.2: each statement verifies with the keys of the next one; the anchor with the configured keys. */
export async function checkChainSignatures(chain: readonly EntityStatement[], anchor: TrustAnchor): Promise<void> {
  const n = chain.length - 1;
  await verifyEntityStatementSignature(chain[n] as EntityStatement, anchor.jwks, "trust anchor configuration (configured keys)");
  for (let j = n - 1; j >= 0; j--) {
    const s = chain[j] as EntityStatement;
    await verifyEntityStatementSignature(s, (chain[j + 1] as EntityStatement).payload.jwks, `statement ${j}`);
  }
  if (n > 0) await verifyEntityStatementSignature(chain[0] as EntityStatement, (chain[0] as EntityStatement).payload.jwks, "leaf configuration (self-signed)");
}

/** The leaf metadata with the chain's policies applied (§6.1.4). */
export function chainMetadata(chain: readonly EntityStatement[]): Metadata {
  const leaf = chain[0] as EntityStatement;
  if (chain.length === 1) return resolveMetadata(leaf.payload.metadata, undefined, []);
  const subordinates = chain.slice(1, -1);
  const policies: (MetadataPolicy | undefined)[] = subordinates.map((s) => s.payload.metadata_policy).reverse();
  const crit = [...new Set(subordinates.flatMap((s) => s.payload.metadata_policy_crit ?? []))];
  return resolveMetadata(leaf.payload.metadata, subordinates[0]?.payload.metadata, policies, crit);
}

/** Validates a trust chain given as compact JWTs (leaf first, anchor configuration last). */
export async function verifyTrustChain(jwts: readonly string[], options: TrustChainOptions): Promise<TrustChain> {
  if (jwts.length === 0) throw new FederationError("ERR_FED_MALFORMED", "a trust chain needs at least one statement");
  const chain = jwts.map((j) => decodeEntityStatement(j));
  return verifyDecodedChain(chain, options);
}

async function verifyDecodedChain(chain: readonly EntityStatement[], options: TrustChainOptions): Promise<TrustChain> {
  const now = options.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("options.now must be a valid Date");
  checkChainLinks(chain);
  const anchorId = normaliseEntityId((chain[chain.length - 1] as EntityStatement).payload.iss);
  const anchor = anchorFor(anchorId, options.trustAnchors);
  if (anchor === undefined) throw new FederationError("ERR_FED_UNKNOWN_ANCHOR", `${anchorId} is not a configured trust anchor`, { detail: { anchorId } });
  checkPathLength(chain, options.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH);
  await checkChainSignatures(chain, anchor);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for (const s of chain) checkStatementTime(s, nowSeconds, options.skewSeconds ?? 5);
  const metadata = chainMetadata(chain);
  const exp = Math.min(...chain.map((s) => s.payload.exp));
  return Object.freeze({
    entityId: normaliseEntityId((chain[0] as EntityStatement).payload.sub),
    trustAnchorId: anchorId,
    statements: Object.freeze([...chain]),
    expiresAt: new Date(exp * 1000),
    metadata,
  });
}

/** Options of {@link resolveTrustChain}. */
export interface ResolveTrustChainOptions extends TrustChainOptions {
  readonly fetcher: FederationFetcher;
  /** Most `authority_hints` followed per entity (default 8). */
  readonly maxAuthorityHints?: number;
  /** Most statements fetched in total (default 64). */
  readonly maxFetches?: number;
}

const PRIORITY: Readonly<Record<string, number>> = { ERR_FED_UNKNOWN_ANCHOR: 0, ERR_FED_FETCH: 1, ERR_FED_PATH_LENGTH: 2 };

/**
 * §10.1: collects statements bottom-up from `entityId` (https or did:web) along
 * `authority_hints` until a configured trust anchor, and returns the first chain that verifies.
 * When none does, throws the most specific failure seen (verification errors before path-length,
 * fetch and unknown-anchor errors).
 */
export async function resolveTrustChain(entityId: string, options: ResolveTrustChainOptions): Promise<TrustChain> {
  const leafId = toEntityId(entityId);
  const { fetcher } = options;
  const maxPath = options.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
  let budget = options.maxFetches ?? 64;
  const failures: FederationError[] = [];
  const fetchOne = async (what: () => Promise<string>): Promise<EntityStatement> => {
    if (budget-- <= 0) throw new FederationError("ERR_FED_FETCH", "fetch budget exhausted");
    let jwt: string;
    try {
      jwt = await what();
    } catch (cause) {
      if (cause instanceof FederationError) throw cause;
      throw new FederationError("ERR_FED_FETCH", `fetch failed: ${(cause as Error).message}`, { cause });
    }
    return decodeEntityStatement(jwt);
  };

  const leaf = await fetchOne(() => fetcher.fetchEntityConfiguration(leafId));
  if (normaliseEntityId(leaf.payload.sub) !== leafId) {
    throw new FederationError("ERR_FED_CHAIN_LINK", `the configuration fetched for ${leafId} is about ${leaf.payload.sub}`);
  }
  if (anchorFor(leafId, options.trustAnchors) !== undefined) return verifyDecodedChain([leaf], options);

  const walk = async (subject: EntityStatement, chain: readonly EntityStatement[], visited: ReadonlySet<string>): Promise<TrustChain | undefined> => {
    const hints = (subject.payload.authority_hints ?? []).slice(0, options.maxAuthorityHints ?? 8);
    const subjectId = normaliseEntityId(subject.payload.sub);
    for (const hint of hints) {
      try {
        const superiorId = normaliseEntityId(hint);
        if (visited.has(superiorId)) continue;
        const superior = await fetchOne(() => fetcher.fetchEntityConfiguration(superiorId));
        const fe = superior.payload.metadata?.["federation_entity"]?.["federation_fetch_endpoint"];
        const statement = await fetchOne(() =>
          fetcher.fetchSubordinateStatement({ issuer: superiorId, subject: subjectId, ...(typeof fe === "string" ? { fetchEndpoint: fe } : {}) }),
        );
        const next = [...chain, statement];
        if (anchorFor(superiorId, options.trustAnchors) !== undefined) {
          return await verifyDecodedChain([...next, superior], options);
        }
        if (next.length - 1 >= maxPath + 1) {
          throw new FederationError("ERR_FED_PATH_LENGTH", `no trust anchor within ${maxPath} intermediates`);
        }
        const found = await walk(superior, next, new Set([...visited, superiorId]));
        if (found !== undefined) return found;
      } catch (e) {
        if (!(e instanceof FederationError)) throw e;
        failures.push(e);
      }
    }
    return undefined;
  };

  const found = await walk(leaf, [leaf], new Set([leafId]));
  if (found !== undefined) return found;
  const rank = (e: FederationError): number => PRIORITY[e.code] ?? 3;
  const best = failures.reduce<FederationError | undefined>((b, e) => (b === undefined || rank(e) > rank(b) ? e : b), undefined);
  if (best !== undefined && rank(best) > 0) throw best;
  throw new FederationError("ERR_FED_UNKNOWN_ANCHOR", `no authority path from ${leafId} reaches a configured trust anchor`, {
    detail: { entityId: leafId, failures: failures.map((f) => f.code) },
  });
}
