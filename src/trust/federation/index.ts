/**
 * OpenID Federation 1.0 subset for OHP (§5.6, D09 steps 1/6/9): entity statements, trust chains,
 * metadata policy and the `ohp_issuer` entity type. See docs/trust-sdjwt-federation.md.
 *
 * @module
 */
export { FederationError, type FederationErrorCode } from "./errors.js";
export {
  ENTITY_CONFIGURATION_PATH,
  normaliseEntityId,
  didWebToEntityId,
  entityIdToDidWeb,
  toEntityId,
  entityConfigurationUrl,
} from "./entity-id.js";
export {
  ENTITY_STATEMENT_TYP,
  FEDERATION_ALGS,
  decodeEntityStatement,
  verifyEntityStatementSignature,
  checkStatementTime,
  signEntityStatement,
  federationJwks,
  type EntityStatement,
  type EntityStatementClaims,
  type EntityStatementInput,
  type FederationJwk,
  type FederationJwks,
} from "./statement.js";
export {
  InMemoryFederationFetcher,
  HttpFederationFetcher,
  type FederationFetcher,
  type HttpFederationFetcherOptions,
} from "./fetcher.js";
export {
  POLICY_OPERATORS,
  jsonEqual,
  checkParameterPolicy,
  mergeParameterPolicies,
  mergeMetadataPolicies,
  applyMetadataPolicy,
  resolveMetadata,
  type PolicyOperator,
  type ParameterPolicy,
  type EntityTypePolicy,
  type MetadataPolicy,
  type Metadata,
} from "./policy.js";
export {
  verifyTrustChain,
  resolveTrustChain,
  checkChainLinks,
  checkPathLength,
  checkChainSignatures,
  chainMetadata,
  type TrustAnchor,
  type TrustChain,
  type TrustChainOptions,
  type ResolveTrustChainOptions,
} from "./chain.js";
export {
  OHP_ISSUER_ENTITY_TYPE,
  ASSURANCE_LEVELS,
  parseOhpIssuerMetadata,
  capsOf,
  assuranceCapViolations,
  assuranceWithinCaps,
  requireAssuranceWithinCaps,
  annexIIIAllowed,
  requireAnnexIIIAllowed,
  jurisdictionAllowed,
  requireJurisdictionAllowed,
  resolveOhpIssuerPolicy,
  type AssuranceDimension,
  type AssuranceCaps,
  type OhpIssuerMetadata,
  type CapViolation,
  type ResolveOhpIssuerOptions,
  type OhpIssuerPolicy,
} from "./ohp.js";
