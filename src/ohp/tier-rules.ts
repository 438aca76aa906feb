/**
 * The per-tier field rules of OHP §4.2 (and the §3.1 / §4.4 / §6 rules next to them) that the
 * JSON Schema cannot express. One table, one evaluator: `tierRules_4_2`.
 *
 * Each rule names its row of the §4.2 matrix (F1..F51, numbering of ../shared/notes/ohp.md §4.B)
 * or the section it comes from. `onReceive: "warn"` marks the MUSTs that upstream's own
 * conformance vectors break (see docs/decisions.md #28): a sender must satisfy them (the
 * builder refuses), a receiver reports them as warnings instead of failing the envelope.
 */
import { getAtPointer } from "../json/pointer.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import type { ValidationIssue } from "../schema/validate.js";
import { isTier, tierAtLeast, type Tier } from "./tiers.js";

/** A rule violation, or (severity "warning") a SHOULD or leniently-received MUST. */
export interface TierRuleIssue extends ValidationIssue {
  severity: "error" | "warning";
}

interface PresenceRule {
  kind: "present";
  /** JSON pointer of the member that must be present (and, for arrays, non-empty). */
  pointer: string;
  rule: string;
  from: Tier;
  level: "must" | "should";
  onReceive?: "warn";
  /** Extra condition under which the rule applies. */
  when?: (env: JsonObject) => boolean;
  nonEmpty?: boolean;
}

interface AbsenceRule {
  kind: "absent";
  pointer: string;
  rule: string;
  /** Tiers at which the member must not appear. */
  tiers: readonly Tier[];
  message: string;
}

type Rule = PresenceRule | AbsenceRule;

const isHighRisk = (env: JsonObject): boolean => getAtPointer(env, "/aiSystem/riskClass") === "high";
const isDeployer = (env: JsonObject): boolean => getAtPointer(env, "/issuer/aiRole") === "deployer";
/** §9 L0 media binding applies to channels that carry RTP (decision #31: not chat/*). */
const hasMedia = (env: JsonObject): boolean => {
  const channel = getAtPointer(env, "/session/channel");
  return typeof channel !== "string" || channel.startsWith("voice/") || channel.startsWith("video/");
};

const RULES: readonly Rule[] = [
  { kind: "present", pointer: "/transcript/summary", rule: "§4.2 F29", from: "core", level: "must" },
  { kind: "present", pointer: "/transcript/redaction", rule: "§4.2 F31", from: "core", level: "should" },
  { kind: "present", pointer: "/policy/retention", rule: "§4.2 F41", from: "core", level: "should" },
  { kind: "present", pointer: "/policy/redaction", rule: "§4.2 F42", from: "core", level: "should" },
  { kind: "present", pointer: "/policy/dataResidency", rule: "§4.2 F44", from: "core", level: "should" },
  { kind: "present", pointer: "/control/reason", rule: "§4.2 F46", from: "core", level: "should" },

  { kind: "present", pointer: "/notBefore", rule: "§4.2 F6", from: "signed", level: "should" },
  { kind: "present", pointer: "/issuer/did", rule: "§4.2 F10", from: "signed", level: "must" },
  { kind: "present", pointer: "/audience/did", rule: "§4.2 F14", from: "signed", level: "must" },
  { kind: "present", pointer: "/session/media/rtpFingerprint", rule: "§4.2 F21", from: "signed", level: "should", when: hasMedia },
  { kind: "present", pointer: "/caller/consent", rule: "§4.2 F24", from: "signed", level: "should", nonEmpty: true },
  { kind: "present", pointer: "/transcript/redaction", rule: "§4.2 F31", from: "signed", level: "must" },
  { kind: "present", pointer: "/policy/retention", rule: "§4.2 F41", from: "signed", level: "must" },
  { kind: "present", pointer: "/policy/redaction", rule: "§4.2 F42", from: "signed", level: "must" },
  { kind: "present", pointer: "/policy/guardrails", rule: "§4.2 F43", from: "signed", level: "should" },
  { kind: "present", pointer: "/policy/dataResidency", rule: "§4.2 F44", from: "signed", level: "must" },
  { kind: "present", pointer: "/control/reason", rule: "§4.2 F46", from: "signed", level: "must" },
  { kind: "present", pointer: "/control/fallback", rule: "§4.2 F48", from: "signed", level: "should" },
  { kind: "present", pointer: "/signatures", rule: "§4.2 F51", from: "signed", level: "must", nonEmpty: true },

  { kind: "present", pointer: "/issuer/federation", rule: "§4.2 F11", from: "sealed", level: "must" },
  { kind: "present", pointer: "/issuer/aiRole", rule: "§4.2 F12", from: "sealed", level: "should" },
  { kind: "present", pointer: "/audience/recipientKeys", rule: "§4.2 F17", from: "sealed", level: "must", nonEmpty: true },
  { kind: "present", pointer: "/session/media/rtpFingerprint", rule: "§4.2 F21", from: "sealed", level: "must", when: hasMedia },
  { kind: "present", pointer: "/caller/assurance", rule: "§4.2 F22", from: "sealed", level: "must" },
  { kind: "present", pointer: "/caller/identity/sdJwtVc", rule: "§4.2 F23", from: "sealed", level: "must" },
  { kind: "present", pointer: "/caller/consent", rule: "§4.2 F24", from: "sealed", level: "must", nonEmpty: true },
  { kind: "present", pointer: "/transcript/turns", rule: "§4.2 F30", from: "sealed", level: "should" },
  { kind: "present", pointer: "/transparency", rule: "§4.2 F49-F50", from: "sealed", level: "should" },

  { kind: "present", pointer: "/notBefore", rule: "§4.2 F6", from: "regulated", level: "must" },
  { kind: "present", pointer: "/issuer/aiRole", rule: "§4.2 F12", from: "regulated", level: "must" },
  { kind: "present", pointer: "/aiSystem", rule: "§4.2 F33", from: "regulated", level: "must" },
  { kind: "present", pointer: "/governance/aiia", rule: "§4.2 F34", from: "regulated", level: "must" },
  {
    kind: "present",
    pointer: "/governance/fria",
    rule: "§4.2 F35 / §6.2",
    from: "regulated",
    level: "must",
    when: (e) => isDeployer(e) && isHighRisk(e),
  },
  { kind: "present", pointer: "/governance/prohibited", rule: "§4.2 F36", from: "regulated", level: "must" },
  { kind: "present", pointer: "/governance/art50Disclosure", rule: "§4.2 F37", from: "regulated", level: "must" },
  { kind: "present", pointer: "/governance/art86Explanation", rule: "§4.2 F38 / §6.2", from: "regulated", level: "must", when: isHighRisk },
  { kind: "present", pointer: "/oversight", rule: "§4.2 F39 / §6.3", from: "regulated", level: "must", when: isHighRisk },
  { kind: "present", pointer: "/decisions", rule: "§4.2 F40 / §6.4", from: "regulated", level: "must", nonEmpty: true },
  { kind: "present", pointer: "/policy/guardrails", rule: "§4.2 F43", from: "regulated", level: "must", onReceive: "warn" },
  { kind: "present", pointer: "/transparency/logId", rule: "§4.2 F49", from: "regulated", level: "must" },
  { kind: "present", pointer: "/transparency/leafHash", rule: "§4.2 F50", from: "regulated", level: "must" },

  {
    kind: "absent",
    pointer: "/sealed",
    rule: "§3.1.1-§3.1.2",
    tiers: ["core", "signed"],
    message: "sealed fields are not allowed below the Sealed tier",
  },
  {
    kind: "absent",
    pointer: "/caller/assurance",
    rule: "§3.1.1",
    tiers: ["core"],
    message: "Core envelopes carry no assurance claims",
  },
  { kind: "absent", pointer: "/decisions", rule: "§3.1.1", tiers: ["core"], message: "Core envelopes carry no decisions[]" },
];

function present(v: JsonValue | undefined, nonEmpty: boolean | undefined): boolean {
  if (v === undefined || v === null) return false;
  if (nonEmpty && Array.isArray(v)) return v.length > 0;
  return true;
}

const SIGNATURE_ALGS: Record<Tier, readonly string[]> = {
  core: [],
  signed: ["EdDSA"],
  sealed: ["EdDSA"],
  regulated: ["EdDSA", "ML-DSA-65"],
};

const FIVE_MINUTES_MS = 5 * 60 * 1000;

/** Options for {@link tierRules_4_2}. */
export interface TierRuleOptions {
  /** `emit`: every MUST is an error (sender side). `receive` (default): lenient rows warn. */
  mode?: "emit" | "receive";
  /** Also report SHOULD rows as warnings (default true). */
  shoulds?: boolean;
}

/**
 * Checks an envelope (already schema-valid, or at least an object) against the per-tier rules
 * of §4.2 plus §3.1 content bans, §4.4 lifetime rules and §6.1 GPAI policyUrl.
 */
export function tierRules_4_2(envelope: unknown, options: TierRuleOptions = {}): TierRuleIssue[] {
  if (!isJsonObject(envelope)) return [{ pointer: "", message: "envelope must be a JSON object", rule: "§4.1", severity: "error" }];
  const tier = envelope["conformance"];
  if (!isTier(tier)) return [];
  const mode = options.mode ?? "receive";
  const shoulds = options.shoulds ?? true;
  const issues: TierRuleIssue[] = [];
  // Per member, the strongest applicable missing-row wins (a MUST at a higher tier supersedes
  // the SHOULD of a lower one).
  const missing = new Map<string, { rank: number; issue: TierRuleIssue }>();
  for (const r of RULES) {
    if (r.kind === "absent") {
      if (r.tiers.includes(tier) && getAtPointer(envelope, r.pointer) !== undefined) {
        issues.push({ pointer: r.pointer, message: r.message, rule: r.rule, severity: "error" });
      }
      continue;
    }
    if (!tierAtLeast(tier, r.from) || (r.when && !r.when(envelope))) continue;
    if (present(getAtPointer(envelope, r.pointer), r.nonEmpty)) continue;
    const lenient = mode === "receive" && r.onReceive === "warn";
    const rank = r.level === "should" ? 0 : lenient ? 1 : 2;
    const issue: TierRuleIssue =
      r.level === "should"
        ? { pointer: r.pointer, message: `SHOULD be present at the ${tier} tier`, rule: r.rule, severity: "warning" }
        : { pointer: r.pointer, message: `is required at the ${tier} tier`, rule: r.rule, severity: lenient ? "warning" : "error" };
    const prev = missing.get(r.pointer);
    if (prev === undefined || rank > prev.rank) missing.set(r.pointer, { rank, issue });
  }
  for (const { rank, issue } of missing.values()) if (rank > 0 || shoulds) issues.push(issue);

  // §4.2 F51 / §5.1: which signature algorithms each tier carries.
  const sigs = envelope["signatures"];
  if (Array.isArray(sigs) && sigs.length > 0) {
    const algs = sigs.map((s) => (isJsonObject(s) ? s["alg"] : undefined));
    for (const alg of SIGNATURE_ALGS[tier]) {
      const n = algs.filter((a) => a === alg).length;
      if (n !== 1) {
        issues.push({
          pointer: "/signatures",
          message: `${tier} requires exactly one ${alg} signature (found ${n})`,
          rule: "§4.2 F51 / §5.1",
          severity: "error",
        });
      }
    }
    if (tier !== "regulated" && algs.includes("ML-DSA-65")) {
      issues.push({ pointer: "/signatures", message: `${tier} carries exactly the EdDSA signature`, rule: "§5.1", severity: "warning" });
    }
  }

  // §4.4 lifetime: notAfter ≤ issuedAt + PT5M, notBefore ≥ issuedAt.
  const issued = Date.parse(String(envelope["issuedAt"]));
  const notAfter = Date.parse(String(envelope["notAfter"]));
  if (Number.isFinite(issued) && Number.isFinite(notAfter)) {
    if (notAfter - issued > FIVE_MINUTES_MS) {
      issues.push({ pointer: "/notAfter", message: "notAfter must be at most issuedAt + PT5M", rule: "§4.4", severity: "error" });
    }
    if (notAfter < issued) {
      issues.push({ pointer: "/notAfter", message: "notAfter is before issuedAt", rule: "§4.4", severity: "error" });
    }
  }
  if (typeof envelope["notBefore"] === "string") {
    const nb = Date.parse(envelope["notBefore"]);
    if (Number.isFinite(nb) && Number.isFinite(issued) && nb < issued) {
      issues.push({ pointer: "/notBefore", message: "notBefore must not be before issuedAt", rule: "§4.4", severity: "error" });
    }
  }

  // §6.1: a systemic-risk GPAI model names its policy.
  const chain = getAtPointer(envelope, "/aiSystem/gpaiChain");
  if (tier === "regulated" && Array.isArray(chain)) {
    chain.forEach((m, i) => {
      if (isJsonObject(m) && m["systemicRisk"] === true && typeof m["policyUrl"] !== "string") {
        issues.push({ pointer: `/aiSystem/gpaiChain/${i}/policyUrl`, message: "is required when systemicRisk is true", rule: "§6.1", severity: "error" });
      }
    });
  }
  return issues;
}
