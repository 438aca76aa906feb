/**
 * Typed errors of the OpenID Federation 1.0 subset (entity statements, trust chains, metadata
 * policy) and of the OHP issuer policy built on it. Callers branch on `code`.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** Stable codes of {@link FederationError}. */
export type FederationErrorCode =
  /** An entity identifier is not an https URL without query/fragment, or a DID that does not map to one. */
  | "ERR_FED_ENTITY_ID"
  /** Not a compact JWT, bad JSON, missing/mistyped claim (iss, sub, iat, exp, jwks...), or an unsupported `crit`. */
  | "ERR_FED_MALFORMED"
  /** Header `typ` is not `entity-statement+jwt`, or `alg` is not allowed, or `kid` is missing. */
  | "ERR_FED_HEADER_INVALID"
  /** The signature does not verify with the keys of the next statement (or the configured anchor keys), or `kid` is unknown. */
  | "ERR_FED_SIGNATURE"
  /** A statement's `exp` has passed. */
  | "ERR_FED_EXPIRED"
  /** A statement's `iat` lies in the future. */
  | "ERR_FED_NOT_YET_VALID"
  /** sub/iss linkage broken (statement j's `sub` is not statement j-1's `iss`, or a configuration is not self-issued). */
  | "ERR_FED_CHAIN_LINK"
  /** The chain does not end at a configured trust anchor (or no authority path reaches one). */
  | "ERR_FED_UNKNOWN_ANCHOR"
  /** More intermediates than `maxPathLength` or a `constraints.max_path_length` allows. */
  | "ERR_FED_PATH_LENGTH"
  /** The fetcher could not deliver an entity configuration or subordinate statement. */
  | "ERR_FED_FETCH"
  /** Metadata policies cannot be combined or merged (OpenID Federation 1.0 §6.1.3 / §6.1.4.1). */
  | "ERR_FED_POLICY_CONFLICT"
  /** The metadata violates the resolved policy (`one_of`, `superset_of`, `essential`, type errors). */
  | "ERR_FED_POLICY_VIOLATION"
  /** A policy uses an operator listed in `metadata_policy_crit` that is not implemented. */
  | "ERR_FED_POLICY_CRIT"
  /** The resolved entity has no (or malformed) `ohp_issuer` metadata. */
  | "ERR_FED_METADATA"
  /** An asserted IAL/AAL/FAL exceeds the federation cap for the IdP (OHP D09 step 6). */
  | "ERR_FED_ASSURANCE_ABOVE_CAP"
  /** The Annex III clause is not in the issuer's `annex_iii_allowed` (OHP D09 step 9). */
  | "ERR_FED_ANNEX_III_NOT_ALLOWED"
  /** The jurisdiction is not in the issuer's `jurisdictions`. */
  | "ERR_FED_JURISDICTION_NOT_ALLOWED";

/** Raised by the federation module. */
export class FederationError extends AgentwireError<FederationErrorCode> {}
