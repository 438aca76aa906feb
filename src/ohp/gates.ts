/**
 * D09 steps 5-12: consent, assurance and the Regulated gates. Each gate reads the envelope, the
 * receiver policy and the hooks, and either returns (optionally with a note) or throws the
 * {@link StepFailure} of its step with the §8.3 reason the spec assigns it.
 */
import { parseRfc3339, type Jwks, type PublicJwk } from "../crypto/jwk.js";
import { JwsError, verifyDetached, type JwkResolver } from "../crypto/jws.js";
import { isAgentwireError } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { assuranceCapViolations, ASSURANCE_LEVELS, type AssuranceCaps } from "../trust/federation/ohp.js";
import { verifyAssuranceProof } from "../trust/sdjwt/assurance.js";
import { verifyOhpIdentity } from "../trust/sdjwt/verify.js";
import {
  DEFAULT_LAWFUL_BASES,
  EEA_COUNTRIES,
  OVERSIGHT_STRENGTH,
  isOversightMode,
  type IssuerResolution,
  type OversightMode,
  type ReceiverHooks,
  type ReceiverPolicy,
} from "./policy.js";
import { recordProofPayload } from "./proofs.js";
import { fail, type CheckName } from "./step.js";
import { tierAtLeast, type Tier } from "./tiers.js";

/** What every gate sees. */
export interface GateContext {
  readonly envelope: JsonObject;
  readonly tier: Tier;
  readonly now: Date;
  readonly policy: ReceiverPolicy;
  readonly hooks: ReceiverHooks;
  /** The issuer's keys from step 1 (undefined for Core). */
  readonly issuerKeys: Jwks<PublicJwk> | JwkResolver | undefined;
  readonly federation: IssuerResolution["federation"];
  /** Upstream placeholder JWS (`..PLACEHOLDER_`) count as deferred, not invalid (conformance runner only). */
  readonly deferPlaceholders: boolean;
  /** Records that part of a check could not run (missing hook); throws when hooks are required. */
  readonly unverified: (check: CheckName, what: string) => void;
  readonly warn: (message: string) => void;
}

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function str(value: JsonValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** True for the upstream vectors' placeholder JWS (`eyJ..PLACEHOLDER_...`). */
export function isPlaceholderJws(jws: unknown): boolean {
  return typeof jws === "string" && /\.\.PLACEHOLDER_/.test(jws);
}

function verifyIssuerProof(ctx: GateContext, check: CheckName, record: JsonObject, member: string, pointer: string): void {
  const proof = record[member];
  if (ctx.deferPlaceholders && isPlaceholderJws(proof)) {
    ctx.warn(`${pointer}: placeholder JWS, verification deferred`);
    return;
  }
  if (typeof proof !== "string") fail(check, "signature-invalid", "ERR_OHP_PROOF_MISSING", `${pointer} is missing`, { pointer });
  if (ctx.issuerKeys === undefined) {
    ctx.unverified(check, `${pointer}: no issuer keys`);
    return;
  }
  try {
    verifyDetached(proof, recordProofPayload(record, member), ctx.issuerKeys, { now: ctx.now });
  } catch (e) {
    if (e instanceof JwsError) fail(check, "signature-invalid", e.code, `${pointer}: ${e.message}`, { pointer });
    throw e;
  }
}

// -----------------------------------------------------------------------------------------------
// step 5: consent

function recognisedBasis(basis: string, policy: ReceiverPolicy): boolean {
  const list = policy.lawfulBases ?? DEFAULT_LAWFUL_BASES;
  return list.some((b) => (typeof b === "string" ? b === basis : b.test(basis)));
}

function expandResidency(codes: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const c of codes) {
    if (c === "EEA") for (const e of EEA_COUNTRIES) out.add(e);
    else out.add(c);
  }
  return out;
}

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function expired(at: string | Date | undefined, now: Date): boolean {
  if (at === undefined) return false;
  const d = at instanceof Date ? at : parseRfc3339(at);
  return d === undefined || d.getTime() < now.getTime();
}

/** Step 5: each `caller.consent[]` entry resolves, covers the processing, and allows the transfer. */
export async function checkConsent(ctx: GateContext): Promise<string | void> {
  const caller = obj(ctx.envelope["caller"]);
  const consent = caller?.["consent"];
  const entries = Array.isArray(consent) ? consent : [];
  const intended = ctx.policy.intendedProcessing ?? [];
  if (entries.length === 0) {
    // Consent is a Sealed+ MUST (§4.2); below Sealed an envelope without entries asserts no
    // personal-data processing, so there is nothing to cover.
    if (intended.length > 0 && tierAtLeast(ctx.tier, "sealed")) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_MISSING", "no caller.consent entry covers the intended processing", {
        pointer: "/caller/consent",
        intended,
      });
    }
    return "no consent entries";
  }
  const residency = expandResidency(stringList(obj(ctx.envelope["policy"])?.["dataResidency"]));
  const covered = new Set<string>();
  for (const [i, raw] of entries.entries()) {
    const pointer = `/caller/consent/${i}`;
    const entry = obj(raw);
    if (entry === undefined) fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_MALFORMED", `${pointer} is not an object`, { pointer });
    const receiptId = str(entry["receiptId"]) ?? "";
    const scope = stringList(entry["scope"]);
    const basis = str(entry["lawfulBasis"]) ?? "";
    if (!recognisedBasis(basis, ctx.policy)) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_LAWFUL_BASIS", `${pointer}/lawfulBasis ${JSON.stringify(basis)} is not recognised`, {
        pointer: `${pointer}/lawfulBasis`,
      });
    }
    if (ctx.policy.specialCategoryProcessing === true && !str(entry["specialCategoryBasis"])) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_SPECIAL_CATEGORY", `${pointer}/specialCategoryBasis is required for special-category processing`, {
        pointer: `${pointer}/specialCategoryBasis`,
      });
    }
    const jurisdiction = ctx.policy.processingJurisdiction;
    if (jurisdiction !== undefined) {
      const allowed = new Set([...residency, str(entry["jurisdiction"]) ?? ""]);
      const mechanism = str(entry["transferMechanism"]);
      const inside = allowed.has(jurisdiction) || (EEA_COUNTRIES.has(jurisdiction) && residency.has("EEA"));
      if (!inside && (mechanism === undefined || mechanism === "none")) {
        fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_JURISDICTION", `${pointer}: processing in ${jurisdiction} is outside the consent jurisdiction and data residency, with no transfer mechanism`, {
          pointer: `${pointer}/jurisdiction`,
        });
      }
    }
    if (ctx.hooks.consentReceipt === undefined) {
      ctx.unverified("consent", `${pointer}: receipt ${receiptId} not looked up (no consentReceipt hook)`);
      for (const s of scope) covered.add(s);
      continue;
    }
    const receipt = await ctx.hooks.consentReceipt(receiptId, entry);
    if (receipt === undefined) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_RECEIPT_UNKNOWN", `${pointer}: receipt ${receiptId} does not resolve`, { pointer: `${pointer}/receiptId` });
    }
    if (receipt.revoked === true || expired(receipt.expiresAt, ctx.now)) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_RECEIPT_VOID", `${pointer}: receipt ${receiptId} is revoked or expired`, { pointer: `${pointer}/receiptId` });
    }
    const receiptScope = new Set(receipt.scope);
    const beyond = scope.filter((s) => !receiptScope.has(s));
    if (beyond.length > 0) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_SCOPE", `${pointer}: scope ${beyond.join(", ")} is not in receipt ${receiptId}`, {
        pointer: `${pointer}/scope`,
        beyond,
      });
    }
    if (receipt.purpose !== undefined && receipt.purpose !== str(entry["purpose"])) {
      fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_PURPOSE", `${pointer}: purpose differs from receipt ${receiptId}`, { pointer: `${pointer}/purpose` });
    }
    for (const s of scope) covered.add(s);
  }
  const missing = intended.filter((p) => !covered.has(p));
  if (missing.length > 0) {
    fail("consent", "consent-out-of-scope", "ERR_OHP_CONSENT_SCOPE", `intended processing ${missing.join(", ")} is not covered by any consent scope`, {
      pointer: "/caller/consent",
      missing,
    });
  }
  return `${entries.length} consent entr${entries.length === 1 ? "y" : "ies"}`;
}

// -----------------------------------------------------------------------------------------------
// step 6: assurance (Sealed+)

function levelIndex(dimension: keyof typeof ASSURANCE_LEVELS, value: unknown): number {
  return typeof value === "string" ? (ASSURANCE_LEVELS[dimension] as readonly string[]).indexOf(value) : -1;
}

function belowRequired(assurance: JsonObject, required: AssuranceCaps): string[] {
  const out: string[] = [];
  for (const dim of ["ial", "aal", "fal"] as const) {
    const need = required[dim];
    if (need === undefined) continue;
    if (levelIndex(dim, assurance[dim]) < levelIndex(dim, need)) out.push(`${dim} ${String(assurance[dim])} < ${need}`);
  }
  return out;
}

/** Step 6: the IdP's proof, the federation caps, the action's required levels, and the SD-JWT VC. */
export async function checkAssurance(ctx: GateContext): Promise<string | void> {
  if (!tierAtLeast(ctx.tier, "sealed")) return "below Sealed: no assurance check";
  const caller = obj(ctx.envelope["caller"]);
  const assurance = obj(caller?.["assurance"]);
  if (assurance === undefined) {
    fail("assurance", "assurance-insufficient", "ERR_OHP_ASSURANCE_MISSING", "caller.assurance is missing", { pointer: "/caller/assurance" });
  }
  const required = ctx.policy.requiredAssurance;
  if (required !== undefined) {
    const short = belowRequired(assurance, required);
    if (short.length > 0) {
      fail("assurance", "assurance-insufficient", "ERR_OHP_ASSURANCE_BELOW_REQUIRED", `the requested action needs more assurance: ${short.join("; ")}`, {
        pointer: "/caller/assurance",
      });
    }
  }
  const idp = str(assurance["idp"]) ?? "";
  if (ctx.hooks.resolveIdp === undefined) {
    ctx.unverified("assurance", "caller.assurance.proofJws, IdP caps and caller.identity not verified (no resolveIdp hook)");
    return;
  }
  const resolved = await ctx.hooks.resolveIdp(idp);
  if (resolved === undefined) {
    fail("assurance", "assurance-insufficient", "ERR_OHP_IDP_UNTRUSTED", `IdP ${idp} is not in the federation policy`, { pointer: "/caller/assurance/idp" });
  }
  if (ctx.deferPlaceholders && isPlaceholderJws(assurance["proofJws"])) {
    ctx.warn("/caller/assurance/proofJws: placeholder JWS, verification deferred");
  } else {
    try {
      verifyAssuranceProof(assurance, resolved.keys, { now: ctx.now });
    } catch (e) {
      if (isAgentwireError(e)) fail("assurance", "assurance-insufficient", e.code, e.message, { pointer: "/caller/assurance/proofJws" });
      throw e;
    }
  }
  if (resolved.caps !== undefined) {
    const violations = assuranceCapViolations(assurance, resolved.caps);
    if (violations.length > 0) {
      fail("assurance", "assurance-insufficient", "ERR_OHP_ASSURANCE_ABOVE_CAP", `IdP ${idp} may not assert ${violations.map((v) => `${v.dimension} ${v.asserted} (cap ${v.cap ?? "none"})`).join(", ")}`, {
        pointer: "/caller/assurance",
      });
    }
  }
  const identity = obj(caller?.["identity"]);
  if (identity !== undefined) {
    if (ctx.deferPlaceholders && isPlaceholderJws(identity["sdJwtVc"])) {
      ctx.warn("/caller/identity/sdJwtVc: placeholder, verification deferred");
    } else {
      try {
        verifyOhpIdentity(identity, { issuerKeys: resolved.keys, now: ctx.now });
      } catch (e) {
        if (isAgentwireError(e)) fail("assurance", "assurance-insufficient", e.code, `caller.identity: ${e.message}`, { pointer: "/caller/identity" });
        throw e;
      }
    }
  }
  return `IdP ${idp}`;
}

// -----------------------------------------------------------------------------------------------
// steps 7-12 (Regulated)

function aiSystemOf(ctx: GateContext): JsonObject {
  return obj(ctx.envelope["aiSystem"]) ?? {};
}

function governanceOf(ctx: GateContext): JsonObject {
  return obj(ctx.envelope["governance"]) ?? {};
}

function monthsBefore(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

function parseDateLike(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00Z`);
    return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value ? undefined : d;
  }
  return parseRfc3339(value);
}

/** Step 7: prerequisites of a high-risk system. */
export async function checkHighRisk(ctx: GateContext): Promise<string | void> {
  const ai = aiSystemOf(ctx);
  if (ai["riskClass"] !== "high") return `riskClass ${String(ai["riskClass"])}: no high-risk prerequisites`;
  const gov = governanceOf(ctx);
  const reject: (code: string, message: string, pointer: string) => never = (code, message, pointer) =>
    fail("high-risk-prerequisites", "risk-class-not-allowed", code, message, { pointer });
  const ce = obj(ai["ceConformity"]);
  const declarationUrl = str(ce?.["declarationUrl"]);
  if (declarationUrl === undefined) reject("ERR_OHP_CE_DECLARATION_MISSING", "aiSystem.ceConformity.declarationUrl is required for high-risk systems", "/aiSystem/ceConformity");
  const aiia = obj(gov["aiia"]);
  if (aiia === undefined) reject("ERR_OHP_AIIA_MISSING", "governance.aiia is required for high-risk systems", "/governance/aiia");
  const issuedAt = parseRfc3339(str(ctx.envelope["issuedAt"]) ?? "") ?? ctx.now;
  const reviewed = parseDateLike(aiia["lastReviewedAt"]);
  const months = ctx.policy.aiiaMaxAgeMonths ?? 12;
  if (reviewed === undefined || reviewed.getTime() < monthsBefore(issuedAt, months).getTime()) {
    reject("ERR_OHP_AIIA_STALE", `governance.aiia.lastReviewedAt ${String(aiia["lastReviewedAt"])} is more than ${months} months before issuedAt`, "/governance/aiia/lastReviewedAt");
  }
  const issuer = obj(ctx.envelope["issuer"]);
  if (issuer?.["aiRole"] === "deployer" && obj(gov["fria"]) === undefined) {
    reject("ERR_OHP_FRIA_MISSING", "governance.fria is required when a deployer sends a high-risk envelope", "/governance/fria");
  }
  const art86 = obj(gov["art86Explanation"]);
  if (art86 === undefined || art86["available"] !== true || str(art86["endpoint"]) === undefined) {
    reject("ERR_OHP_ART86_MISSING", "governance.art86Explanation must be available with an endpoint for high-risk systems", "/governance/art86Explanation");
  }
  const art50 = obj(gov["art50Disclosure"]);
  if (art50 === undefined || art50["disclosed"] !== true) {
    reject("ERR_OHP_ART50_NOT_DISCLOSED", "governance.art50Disclosure.disclosed must be true for high-risk systems", "/governance/art50Disclosure/disclosed");
  }
  const mode = obj(ctx.envelope["oversight"])?.["mode"];
  const acceptable: readonly OversightMode[] = ctx.policy.highRiskOversight ?? ["human-in-the-loop", "human-on-the-loop"];
  if (!isOversightMode(mode) || !acceptable.includes(mode)) {
    fail("high-risk-prerequisites", "oversight-missing", "ERR_OHP_OVERSIGHT_HIGH_RISK", `high-risk systems need oversight ${acceptable.join(" or ")}, got ${String(mode)}`, {
      pointer: "/oversight/mode",
    });
  }
  if (ctx.hooks.fetchDeclaration === undefined) {
    ctx.unverified("high-risk-prerequisites", "ceConformity.declarationUrl not fetched (no fetchDeclaration hook)");
  } else {
    const fetched = await ctx.hooks.fetchDeclaration(declarationUrl, ai);
    if (!fetched.ok) reject("ERR_OHP_CE_DECLARATION_UNRESOLVED", `ceConformity.declarationUrl ${declarationUrl} does not resolve`, "/aiSystem/ceConformity/declarationUrl");
    if (fetched.modelCardSha256 !== undefined && fetched.modelCardSha256 !== ai["modelCardSha256"]) {
      reject("ERR_OHP_MODEL_CARD_MISMATCH", "the declaration's model card hash differs from aiSystem.modelCardSha256", "/aiSystem/modelCardSha256");
    }
  }
  return "high-risk prerequisites present";
}

const PROHIBITED_FLAGS = [
  "subliminalManipulation",
  "socialScoring",
  "rtBiometricIdPublic",
  "emotionRecognitionWorkplace",
  "sensitiveBiometricCategorisation",
] as const;

/** Step 8: any prohibited practice (or `riskClass: prohibited`) rejects, regardless of the rest. */
export function checkProhibited(ctx: GateContext): string | void {
  const ai = aiSystemOf(ctx);
  if (ai["riskClass"] === "prohibited") {
    fail("prohibited-practices", "prohibited-practice", "ERR_OHP_PROHIBITED_RISK_CLASS", "aiSystem.riskClass is prohibited", { pointer: "/aiSystem/riskClass" });
  }
  const prohibited = obj(governanceOf(ctx)["prohibited"]);
  if (prohibited === undefined) return "no prohibited block";
  for (const flag of PROHIBITED_FLAGS) {
    if (prohibited[flag] === true) {
      fail("prohibited-practices", "prohibited-practice", "ERR_OHP_PROHIBITED_PRACTICE", `governance.prohibited.${flag} = true`, {
        pointer: `/governance/prohibited/${flag}`,
      });
    }
  }
  verifyIssuerProof(ctx, "prohibited-practices", prohibited, "attestationJws", "/governance/prohibited/attestationJws");
  return "no prohibited practice";
}

/** Step 9: the Annex III clause is on the receiver's allowlist (and the federation's, when known). */
export function checkAnnexIII(ctx: GateContext): string | void {
  const clause = aiSystemOf(ctx)["annexIIIClause"];
  if (clause === undefined) return "no Annex III clause";
  const allowed = ctx.policy.annexIIIAllowed ?? [];
  if (typeof clause !== "string" || !allowed.includes(clause)) {
    fail("annex-iii", "risk-class-not-allowed", "ERR_OHP_ANNEX_III_NOT_ALLOWED", `Annex III clause ${JSON.stringify(clause)} is not in the receiver's annexIIIAllowed`, {
      pointer: "/aiSystem/annexIIIClause",
      allowed,
    });
  }
  const fed = ctx.federation?.annexIIIAllowed;
  if (fed !== undefined && !fed.includes(clause)) {
    fail("annex-iii", "risk-class-not-allowed", "ERR_OHP_ANNEX_III_FEDERATION", `the federation does not allow this issuer to assert Annex III clause ${clause}`, {
      pointer: "/aiSystem/annexIIIClause",
    });
  }
  return `clause ${clause}`;
}

/** Step 10: `art50Disclosure.proofJws` is a valid issuer signature over the disclosure record. */
export function checkArt50(ctx: GateContext): string | void {
  const art50 = obj(governanceOf(ctx)["art50Disclosure"]);
  if (art50 === undefined) return "no art50Disclosure";
  verifyIssuerProof(ctx, "art50-disclosure", art50, "proofJws", "/governance/art50Disclosure/proofJws");
  if (art50["disclosed"] === false) ctx.warn("art50Disclosure.disclosed is false: disclose to the caller yourself (D09 step 10)");
  return "disclosure proof verified";
}

/** Step 11: the declared oversight is at least as strong as the receiver's minimum. */
export function checkOversight(ctx: GateContext): string | void {
  const minimum = ctx.policy.oversightMinimum ?? "human-in-command";
  const mode = obj(ctx.envelope["oversight"])?.["mode"];
  if (mode === undefined && minimum === "human-in-command") return "no oversight required";
  if (!isOversightMode(mode) || OVERSIGHT_STRENGTH[mode] < OVERSIGHT_STRENGTH[minimum]) {
    fail("oversight", "oversight-missing", "ERR_OHP_OVERSIGHT_INSUFFICIENT", `oversight.mode ${String(mode)} is weaker than the required ${minimum}`, {
      pointer: "/oversight/mode",
    });
  }
  return `oversight ${mode}`;
}

/** Step 12: every systemic-risk GPAI in the chain has a resolvable `policyUrl`. */
export async function checkGpai(ctx: GateContext): Promise<string | void> {
  const chain = aiSystemOf(ctx)["gpaiChain"];
  const entries = Array.isArray(chain) ? chain : [];
  let checked = 0;
  for (const [i, raw] of entries.entries()) {
    const entry = obj(raw);
    if (entry?.["systemicRisk"] !== true) continue;
    const pointer = `/aiSystem/gpaiChain/${i}/policyUrl`;
    const url = str(entry["policyUrl"]);
    if (url === undefined) fail("gpai", "gpai-policy-missing", "ERR_OHP_GPAI_POLICY_MISSING", `systemic-risk GPAI ${String(entry["model"])} has no policyUrl`, { pointer });
    if (ctx.hooks.checkGpaiPolicy === undefined) {
      ctx.unverified("gpai", `${pointer} not resolved (no checkGpaiPolicy hook)`);
      continue;
    }
    if (!(await ctx.hooks.checkGpaiPolicy(url))) {
      fail("gpai", "gpai-policy-missing", "ERR_OHP_GPAI_POLICY_UNRESOLVED", `policyUrl ${url} does not resolve`, { pointer });
    }
    checked++;
  }
  return `${checked} systemic-risk GPAI polic${checked === 1 ? "y" : "ies"} resolved`;
}
