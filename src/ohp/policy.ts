/**
 * The receiver's side of the D09 pipeline: its static policy ({@link ReceiverPolicy}) and the hooks through which it reaches the outside world ({@link ReceiverHooks}).
 * A missing hook never silently passes: its step is reported `skipped` and listed in
 * `unverified`, or rejected as `unknown` when `requireHooks` is set.
 */
import type { Jwks, PublicJwk } from "../crypto/jwk.js";
import { AgentwireError } from "../errors.js";
import type { JwkResolver } from "../crypto/jws.js";
import type { JsonObject } from "../json/types.js";
import type { AssuranceCaps } from "../trust/federation/ohp.js";
import type { Tier } from "./tiers.js";

/** §3.12 oversight modes. */
export type OversightMode = "human-in-the-loop" | "human-on-the-loop" | "human-in-command";

/** D09 step 11 ordering: in-the-loop > on-the-loop > in-command. */
export const OVERSIGHT_STRENGTH: Readonly<Record<OversightMode, number>> = Object.freeze({
  "human-in-command": 0,
  "human-on-the-loop": 1,
  "human-in-the-loop": 2,
});

/** True when `value` is an {@link OversightMode}. */
export function isOversightMode(value: unknown): value is OversightMode {
  return typeof value === "string" && Object.hasOwn(OVERSIGHT_STRENGTH, value);
}

/**
 * The receiver's static policy. Defaults: allowlists empty (fail closed), `maxTier` regulated,
 * no oversight or assurance floor beyond what the spec itself requires.
 */
export interface ReceiverPolicy {
  /** Highest tier the receiver advertises (`maxTier` of its capabilities). Default `regulated`. */
  readonly maxTier?: Tier;
  /** Lowest tier the receiver accepts per `audience.purpose` (tier gate). Default none. */
  readonly minTierByPurpose?: Readonly<Record<string, Tier>>;
  /** §3.1 PII/PCI/PHI found in the clear (unsealed) part: `reject` (default), `warn` or `off`. */
  readonly contentScan?: "reject" | "warn" | "off";
  /** §4.2 tier completeness failures: `reject` (default) or `warn`. */
  readonly tierCompleteness?: "reject" | "warn";
  /** Step 9: Annex III clauses the receiver accepts (`annexIIIAllowed`). Default `[]`. */
  readonly annexIIIAllowed?: readonly string[];
  /** Step 7: oversight modes acceptable for high-risk systems. Default in-the-loop, on-the-loop. */
  readonly highRiskOversight?: readonly OversightMode[];
  /** Step 11: weakest oversight mode the receiver accepts. Default `human-in-command` (any). */
  readonly oversightMinimum?: OversightMode;
  /** Step 7: maximum AIIA age, in months before `issuedAt`. Default 12. */
  readonly aiiaMaxAgeMonths?: number;
  /** Step 5: processing the receiver will do; the consent scopes together must cover it. Default `[]`. */
  readonly intendedProcessing?: readonly string[];
  /** Step 5: the receiver's processing jurisdiction (ISO 3166-1 alpha-2). Default: not checked. */
  readonly processingJurisdiction?: string;
  /** Step 5: recognised lawful bases (exact strings or RegExps). Default: GDPR / UK GDPR Art 6(1)(a)-(f). */
  readonly lawfulBases?: readonly (string | RegExp)[];
  /** Step 5: the receiver will process Art 9 special-category data (needs `specialCategoryBasis`). */
  readonly specialCategoryProcessing?: boolean;
  /** Step 6: levels the requested action needs. Default none. */
  readonly requiredAssurance?: AssuranceCaps;
  /** Per-`kid` rate limit; `false` disables it. Default 600 per minute. */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number } | false;
  /** Step 14 below Regulated: anchor Sealed/Signed envelopes that carry `transparency` too. Default false. */
  readonly anchorBelowRegulated?: boolean;
  /** A missing hook rejects (`unknown`) instead of being reported as unverified. Default false. */
  readonly requireHooks?: boolean;
}

/** The live call leg (D09 step 4). */
export interface LiveCall {
  /** SIP Call-ID or receiver-side session id. */
  readonly callId?: string;
  /** `sha256:<hex>` computed from the live audio (§9, Sealed+). */
  readonly rtpFingerprint?: string;
}

/** An ISO/IEC 27560 consent receipt as the receiver's store knows it (D09 step 5). */
export interface ConsentReceipt {
  readonly receiptId: string;
  readonly purpose?: string;
  readonly scope: readonly string[];
  readonly jurisdiction?: string;
  readonly lawfulBasis?: string;
  readonly revoked?: boolean;
  /** RFC 3339 or Date: the receipt is void after it. */
  readonly expiresAt?: string | Date;
}

/** What issuer resolution (D09 step 1) produced. */
export interface IssuerResolution {
  /** The issuer's signing keys. */
  readonly keys: Jwks<PublicJwk> | JwkResolver;
  /** The federation-approved issuer policy (Sealed+), when resolved through a federation. */
  readonly federation?: {
    readonly caps?: AssuranceCaps;
    readonly annexIIIAllowed?: readonly string[];
    readonly jurisdictions?: readonly string[];
  };
}

/** Issuer resolution that refused the issuer. */
export interface IssuerRefusal {
  readonly refused: true;
  /** `signature-invalid` when the issuer is unresolvable, `unknown` for a non-crypto refusal. */
  readonly reason: "signature-invalid" | "unknown";
  readonly message: string;
}

/** An IdP as the receiver's federation knows it (D09 step 6). */
export interface IdpResolution {
  readonly keys: Jwks<PublicJwk> | JwkResolver;
  /** The federation-published caps of this IdP. */
  readonly caps?: AssuranceCaps;
}

/** Hooks to the outside world. Each may be sync or async. */
export interface ReceiverHooks {
  /** Step 1: resolve the issuer (did:web JWKS, federation). Default: the static `jwks` option. */
  readonly resolveIssuer?: (issuer: JsonObject, tier: Tier) => Promise<IssuerResolution | IssuerRefusal> | IssuerResolution | IssuerRefusal;
  /** Step 4: the live leg. Default: the `callId` / `rtpFingerprint` options. */
  readonly liveCall?: (envelope: JsonObject) => Promise<LiveCall> | LiveCall;
  /** Step 5: look a consent receipt up; `undefined` = unknown receipt. */
  readonly consentReceipt?: (receiptId: string, entry: JsonObject) => Promise<ConsentReceipt | undefined> | ConsentReceipt | undefined;
  /** Step 6: the IdP's keys and caps; `undefined` = the IdP is not in the federation. */
  readonly resolveIdp?: (idp: string) => Promise<IdpResolution | undefined> | IdpResolution | undefined;
  /**
   * Step 7: fetch `ceConformity.declarationUrl`; `ok:false` when it does not resolve. When
   * `modelCardSha256` is returned it must equal `aiSystem.modelCardSha256`.
   */
  readonly fetchDeclaration?: (url: string, aiSystem: JsonObject) => Promise<{ readonly ok: boolean; readonly modelCardSha256?: string }>;
  /** Step 12: does a GPAI `policyUrl` resolve without error? */
  readonly checkGpaiPolicy?: (url: string) => Promise<boolean> | boolean;
  /** Step 14: submit `leafHash` to the log `logId`; returns the receipt to persist. Throw on failure. */
  readonly anchor?: (envelope: JsonObject, leafHash: string, logId: string) => Promise<unknown>;
}

/** GDPR and UK GDPR Art 6(1)(a)-(f), the default recognised lawful bases. */
export const DEFAULT_LAWFUL_BASES: readonly RegExp[] = Object.freeze([/^(uk-)?gdpr\.art6\.1\.[a-f]$/]);

/** EEA member states (EU 27 + IS, LI, NO), for `policy.dataResidency: ["EEA"]`. */
export const EEA_COUNTRIES: ReadonlySet<string> = new Set([
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
  "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
]);

/** Thrown by {@link parseReceiverPolicy} for a policy document that is not valid. */
export class ReceiverPolicyError extends AgentwireError<"ERR_OHP_POLICY"> {}

const TIER_VALUES: readonly string[] = ["core", "signed", "sealed", "regulated"];

/**
 * Parses a receiver policy from JSON (e.g. a `--policy` file): every member optional, unknown
 * members rejected so that a typo cannot silently weaken the policy. `lawfulBases` are exact
 * strings here (RegExps only through the API).
 */
export function parseReceiverPolicy(value: unknown): ReceiverPolicy {
  const bad = (message: string): never => {
    throw new ReceiverPolicyError("ERR_OHP_POLICY", `receiver policy: ${message}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("must be a JSON object");
  const v = value as Record<string, unknown>;
  const strings = (k: string): void => {
    const x = v[k];
    if (x !== undefined && (!Array.isArray(x) || !x.every((s) => typeof s === "string"))) bad(`${k} must be an array of strings`);
  };
  const tier = (x: unknown, k: string): void => {
    if (x !== undefined && !(typeof x === "string" && TIER_VALUES.includes(x))) bad(`${k} must be a tier`);
  };
  const known = new Set([
    "maxTier", "minTierByPurpose", "contentScan", "tierCompleteness", "annexIIIAllowed", "highRiskOversight", "oversightMinimum",
    "aiiaMaxAgeMonths", "intendedProcessing", "processingJurisdiction", "lawfulBases", "specialCategoryProcessing",
    "requiredAssurance", "rateLimit", "anchorBelowRegulated", "requireHooks",
  ]);
  for (const k of Object.keys(v)) if (!known.has(k)) bad(`unknown member ${JSON.stringify(k)}`);
  tier(v["maxTier"], "maxTier");
  const mtp = v["minTierByPurpose"];
  if (mtp !== undefined) {
    if (typeof mtp !== "object" || mtp === null || Array.isArray(mtp)) bad("minTierByPurpose must be an object");
    for (const [p, t] of Object.entries(mtp as Record<string, unknown>)) tier(t, `minTierByPurpose.${p}`);
  }
  if (v["contentScan"] !== undefined && !["reject", "warn", "off"].includes(v["contentScan"] as string)) bad('contentScan must be "reject", "warn" or "off"');
  if (v["tierCompleteness"] !== undefined && v["tierCompleteness"] !== "reject" && v["tierCompleteness"] !== "warn") bad('tierCompleteness must be "reject" or "warn"');
  for (const k of ["annexIIIAllowed", "intendedProcessing", "lawfulBases", "highRiskOversight"]) strings(k);
  const hro = v["highRiskOversight"];
  if (Array.isArray(hro) && !hro.every(isOversightMode)) bad("highRiskOversight holds an unknown oversight mode");
  if (v["oversightMinimum"] !== undefined && !isOversightMode(v["oversightMinimum"])) bad("oversightMinimum must be an oversight mode");
  const months = v["aiiaMaxAgeMonths"];
  if (months !== undefined && !(typeof months === "number" && Number.isInteger(months) && months >= 0)) bad("aiiaMaxAgeMonths must be a non-negative integer");
  const pj = v["processingJurisdiction"];
  if (pj !== undefined && !(typeof pj === "string" && /^[A-Z]{2}$/.test(pj))) bad("processingJurisdiction must be an ISO 3166-1 alpha-2 code");
  for (const k of ["specialCategoryProcessing", "anchorBelowRegulated", "requireHooks"]) {
    if (v[k] !== undefined && typeof v[k] !== "boolean") bad(`${k} must be a boolean`);
  }
  const ra = v["requiredAssurance"];
  if (ra !== undefined) {
    if (typeof ra !== "object" || ra === null || Array.isArray(ra)) bad("requiredAssurance must be an object");
    for (const [k, level] of Object.entries(ra as Record<string, unknown>)) {
      if (!["ial", "aal", "fal"].includes(k) || typeof level !== "string" || !/^(IAL|AAL|FAL)[1-3]$/.test(level) || !level.toLowerCase().startsWith(k)) {
        bad(`requiredAssurance.${k} must be ${k.toUpperCase()}1..3`);
      }
    }
  }
  const rl = v["rateLimit"];
  if (rl !== undefined && rl !== false) {
    const r = rl as Record<string, unknown>;
    if (typeof rl !== "object" || rl === null || !(Number.isInteger(r["max"]) && (r["max"] as number) >= 1 && Number.isInteger(r["windowMs"]) && (r["windowMs"] as number) >= 1)) {
      bad("rateLimit must be false or {max, windowMs} with positive integers");
    }
  }
  return v as ReceiverPolicy;
}
