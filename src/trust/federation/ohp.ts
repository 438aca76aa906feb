/**
 * The OHP issuer policy carried in OpenID Federation 1.0 metadata (OHP §5.6, D09 steps 1, 6, 9).
 *
 * agentwire defines the entity type identifier **`ohp_issuer`**, published in an OHP issuer's or
 * IdP's entity configuration and constrained by superiors with `metadata_policy`. Parameters
 * (flat, so the standard policy operators apply to each):
 *
 * | parameter | type | meaning |
 * | --- | --- | --- |
 * | `max_ial` | `"IAL1"｜"IAL2"｜"IAL3"` | highest identity assurance the entity may assert |
 * | `max_aal` | `"AAL1"｜"AAL2"｜"AAL3"` | highest authenticator assurance |
 * | `max_fal` | `"FAL1"｜"FAL2"｜"FAL3"` | highest federation assurance |
 * | `annex_iii_allowed` | string[] | EU AI Act Annex III clauses (`aiSystem.annexIIIClause` form, e.g. `5(d)`) |
 * | `jurisdictions` | string[] | ISO 3166-1 alpha-2 codes the entity may serve |
 * | `ohp_jwks` | JWK Set | the entity's OHP signing keys (envelopes, `proofJws`, SD-JWT VC) |
 * | `jwks_uri` | https URL | where the OHP JWKS is published (e.g. `/.well-known/ohp-jwks.json`) |
 *
 * A missing cap fails closed: an IdP without `max_aal` may not assert any AAL.
 *
 * @module
 */
import type { Jwks, PublicJwk } from "../../crypto/jwk.js";
import type { JwkResolver } from "../../crypto/jws.js";
import { resolveTrustChain, type ResolveTrustChainOptions, type TrustChain } from "./chain.js";
import { toEntityId } from "./entity-id.js";
import { FederationError } from "./errors.js";

/** Entity type identifier of the OHP issuer metadata. */
export const OHP_ISSUER_ENTITY_TYPE = "ohp_issuer";

/** NIST SP 800-63-3 levels in ascending strength. */
export const ASSURANCE_LEVELS = Object.freeze({
  ial: Object.freeze(["IAL1", "IAL2", "IAL3"]),
  aal: Object.freeze(["AAL1", "AAL2", "AAL3"]),
  fal: Object.freeze(["FAL1", "FAL2", "FAL3"]),
} as const);

/** The assurance dimensions. */
export type AssuranceDimension = keyof typeof ASSURANCE_LEVELS;

/** Per-dimension caps. */
export interface AssuranceCaps {
  readonly ial?: string;
  readonly aal?: string;
  readonly fal?: string;
}

/** Resolved `ohp_issuer` metadata. */
export interface OhpIssuerMetadata {
  readonly max_ial?: string;
  readonly max_aal?: string;
  readonly max_fal?: string;
  readonly annex_iii_allowed?: readonly string[];
  readonly jurisdictions?: readonly string[];
  readonly ohp_jwks?: Jwks;
  readonly jwks_uri?: string;
  readonly [parameter: string]: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates the resolved `ohp_issuer` parameters (`ERR_FED_METADATA`). */
export function parseOhpIssuerMetadata(value: unknown): OhpIssuerMetadata {
  if (!isObject(value)) throw new FederationError("ERR_FED_METADATA", `the entity has no ${OHP_ISSUER_ENTITY_TYPE} metadata`);
  for (const dim of ["ial", "aal", "fal"] as const) {
    const cap = value[`max_${dim}`];
    if (cap !== undefined && !(ASSURANCE_LEVELS[dim] as readonly unknown[]).includes(cap)) {
      throw new FederationError("ERR_FED_METADATA", `max_${dim} must be one of ${ASSURANCE_LEVELS[dim].join(", ")}`);
    }
  }
  for (const list of ["annex_iii_allowed", "jurisdictions"]) {
    const v = value[list];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) {
      throw new FederationError("ERR_FED_METADATA", `${list} must be an array of strings`);
    }
  }
  const jwks = value["ohp_jwks"];
  if (jwks !== undefined && (!isObject(jwks) || !Array.isArray(jwks["keys"]))) throw new FederationError("ERR_FED_METADATA", "ohp_jwks must be a JWK Set");
  if (value["jwks_uri"] !== undefined && typeof value["jwks_uri"] !== "string") throw new FederationError("ERR_FED_METADATA", "jwks_uri must be a string");
  return value as OhpIssuerMetadata;
}

/** The caps of resolved metadata. */
export function capsOf(metadata: OhpIssuerMetadata): AssuranceCaps {
  return {
    ...(metadata.max_ial === undefined ? {} : { ial: metadata.max_ial }),
    ...(metadata.max_aal === undefined ? {} : { aal: metadata.max_aal }),
    ...(metadata.max_fal === undefined ? {} : { fal: metadata.max_fal }),
  };
}

/** One dimension where the asserted level exceeds the cap. */
export interface CapViolation {
  readonly dimension: AssuranceDimension;
  readonly asserted: unknown;
  readonly cap: string | undefined;
}

/** Dimensions of `assurance` ({ial, aal, fal} as in OHP `caller.assurance`) above `caps`. */
export function assuranceCapViolations(assurance: { readonly ial?: unknown; readonly aal?: unknown; readonly fal?: unknown }, caps: AssuranceCaps): CapViolation[] {
  const out: CapViolation[] = [];
  for (const dimension of ["ial", "aal", "fal"] as const) {
    const asserted = assurance[dimension];
    if (asserted === undefined) continue;
    const levels = ASSURANCE_LEVELS[dimension] as readonly unknown[];
    const a = levels.indexOf(asserted);
    const cap = caps[dimension];
    const c = cap === undefined ? -1 : levels.indexOf(cap);
    if (a < 0 || c < 0 || a > c) out.push({ dimension, asserted, cap });
  }
  return out;
}

/** True when every asserted level is known and at most its cap (a missing cap fails closed). */
export function assuranceWithinCaps(assurance: { readonly ial?: unknown; readonly aal?: unknown; readonly fal?: unknown }, caps: AssuranceCaps): boolean {
  return assuranceCapViolations(assurance, caps).length === 0;
}

/** {@link assuranceWithinCaps}, throwing `ERR_FED_ASSURANCE_ABOVE_CAP` (OHP D09 step 6 → `assurance-insufficient`). */
export function requireAssuranceWithinCaps(assurance: { readonly ial?: unknown; readonly aal?: unknown; readonly fal?: unknown }, caps: AssuranceCaps): void {
  const violations = assuranceCapViolations(assurance, caps);
  if (violations.length > 0) {
    const v = violations[0] as CapViolation;
    throw new FederationError("ERR_FED_ASSURANCE_ABOVE_CAP", `asserted ${String(v.asserted)} exceeds the federation cap ${v.cap ?? "(none)"}`, {
      detail: { violations: violations.map((x) => ({ ...x })) },
    });
  }
}

function normaliseClause(clause: string): string {
  return clause.replace(/\s+/g, "").toLowerCase();
}

/** True when `clause` is in `annex_iii_allowed` (whitespace and case are ignored). */
export function annexIIIAllowed(clause: string, metadata: Pick<OhpIssuerMetadata, "annex_iii_allowed">): boolean {
  const allowed = metadata.annex_iii_allowed ?? [];
  return typeof clause === "string" && allowed.some((a) => normaliseClause(a) === normaliseClause(clause));
}

/** {@link annexIIIAllowed}, throwing `ERR_FED_ANNEX_III_NOT_ALLOWED` (OHP D09 step 9 → `risk-class-not-allowed`). */
export function requireAnnexIIIAllowed(clause: string, metadata: Pick<OhpIssuerMetadata, "annex_iii_allowed">): void {
  if (!annexIIIAllowed(clause, metadata)) {
    throw new FederationError("ERR_FED_ANNEX_III_NOT_ALLOWED", `Annex III clause ${clause} is not allowed for this issuer`, { detail: { clause } });
  }
}

/** True when `jurisdiction` (alpha-2, case-insensitive) is in `jurisdictions`. */
export function jurisdictionAllowed(jurisdiction: string, metadata: Pick<OhpIssuerMetadata, "jurisdictions">): boolean {
  return (metadata.jurisdictions ?? []).some((j) => j.toUpperCase() === jurisdiction.toUpperCase());
}

/** {@link jurisdictionAllowed}, throwing `ERR_FED_JURISDICTION_NOT_ALLOWED`. */
export function requireJurisdictionAllowed(jurisdiction: string, metadata: Pick<OhpIssuerMetadata, "jurisdictions">): void {
  if (!jurisdictionAllowed(jurisdiction, metadata)) {
    throw new FederationError("ERR_FED_JURISDICTION_NOT_ALLOWED", `jurisdiction ${jurisdiction} is not allowed for this issuer`, { detail: { jurisdiction } });
  }
}

/** Options of {@link resolveOhpIssuerPolicy}. */
export interface ResolveOhpIssuerOptions extends ResolveTrustChainOptions {
  /** When set (https or did:web, e.g. OHP `issuer.federation`), the chain must end at this anchor. */
  readonly expectedTrustAnchor?: string;
}

/** The federation-approved policy of an OHP issuer / IdP. */
export interface OhpIssuerPolicy {
  readonly entityId: string;
  readonly chain: TrustChain;
  /** Resolved `ohp_issuer` metadata. */
  readonly effectiveMetadata: OhpIssuerMetadata;
  /** Caps derived from `max_ial` / `max_aal` / `max_fal`. */
  readonly caps: AssuranceCaps;
  /** `ohp_jwks` (empty when only `jwks_uri` is published: fetch it with your JWKS resolver). */
  readonly keys: Jwks;
  /** A `kid` resolver over {@link OhpIssuerPolicy.keys}, for verifyDetached / verifyOhpIdentity. */
  readonly resolveKey: JwkResolver;
  /** Valid until: the chain's earliest `exp`. */
  readonly expiresAt: Date;
}

/**
 * OHP D09 step 1 (Sealed+): resolves `issuerId` (the issuer's or IdP's did:web, or an https
 * entity identifier) to a verified trust chain and its `ohp_issuer` policy. Throws
 * {@link FederationError}; an issuer outside the federation fails with the chain's code.
 */
export async function resolveOhpIssuerPolicy(issuerId: string, options: ResolveOhpIssuerOptions): Promise<OhpIssuerPolicy> {
  const chain = await resolveTrustChain(issuerId, options);
  if (options.expectedTrustAnchor !== undefined && toEntityId(options.expectedTrustAnchor) !== chain.trustAnchorId) {
    throw new FederationError("ERR_FED_UNKNOWN_ANCHOR", `the chain ends at ${chain.trustAnchorId}, not at ${options.expectedTrustAnchor}`, {
      detail: { anchorId: chain.trustAnchorId },
    });
  }
  const effectiveMetadata = Object.freeze(parseOhpIssuerMetadata(chain.metadata[OHP_ISSUER_ENTITY_TYPE]));
  const keys: Jwks = (effectiveMetadata.ohp_jwks as Jwks | undefined) ?? { keys: [] };
  const resolveKey: JwkResolver = (kid) => keys.keys.find((k: PublicJwk) => k.kid === kid);
  return Object.freeze({ entityId: chain.entityId, chain, effectiveMetadata, caps: capsOf(effectiveMetadata), keys, resolveKey, expiresAt: chain.expiresAt });
}
