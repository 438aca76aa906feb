/**
 * The layered Policy Engine (OAP-CORE-1.0 §20): four layers evaluated in order — L1 platform
 * (universal prohibitions), L2 legal and jurisdictional, L3 organisation or profession, L4
 * personal — where the first layer that denies ends the evaluation; every evaluation yields a
 * schema-valid Decision Record (§20.4) with the applied rules, the outcome, its conditions, an
 * explanation and `explanation_for_principal` in the Principal's locale.
 *
 * Rules are data ({@link PolicyRuleSet}, validated by {@link POLICY_RULES_SCHEMA}) and can be
 * replaced at runtime with {@link PolicyEngine.reload}: the new set is validated and compiled
 * first and swapped in atomically, so a bad update leaves the running rules untouched.
 *
 * Within a layer every rule is evaluated: all matching rules are recorded in `applied_rules`; a
 * matching `deny` makes the outcome `block` and stops before the next layer; otherwise the most
 * restrictive effect of all layers wins (see {@link OUTCOME_SEVERITY}) and the conditions
 * accumulate. With no matching rule the outcome is `allow` (configurable).
 *
 * §20.2: the universal prohibitions ({@link UNIVERSAL_PROHIBITIONS}) are built in and cannot be
 * removed or replaced by a reload (their ids are reserved); since L1 runs first and a deny ends
 * the evaluation, no rule of a later layer can override them.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { OapRequestEnvelope } from "../../../gen/types/oap/oap-request-envelope.js";
import type { JsonObject } from "../../json/types.js";
import { effectiveRiskClass } from "../actions.js";
import { OapError } from "../errors.js";
import { oapIds, rfc3339, systemClock, type OapClock, type OapIds } from "../util.js";
import { evaluateCondition, type MoneyValue, type PolicyContext } from "./conditions.js";
import { principalExplanation, pickText, type LocalizedText } from "./locale.js";
import { buildDecisionRecord, mostRestrictive, POLICY_LAYERS, type DecisionOutcome, type OapDecisionRecord, type PolicyLayer } from "./records.js";
import { validateRuleSet, type PolicyRule, type PolicyRuleSet } from "./rules-schema.js";

/**
 * §20.2 universal prohibitions as L1 rules. They match on `flags` a classifier or the action's
 * declaration puts in the context. Autonomous selection or engagement of human targets is routed
 * to a human (RFC 0018 escalation): without a recorded human decision the outcome is
 * `require_consent` with condition `escalate_to_human`; a recorded refusal is a deny.
 */
export const UNIVERSAL_PROHIBITIONS: PolicyRuleSet = Object.freeze({
  version: "oap-core-1.0-20.2",
  source: "OAP-CORE-1.0 §20.2",
  rules: Object.freeze([
    prohibition("l1.universal.no_csam", "csam", "facilitation of child sexual abuse material", "Förderung von Darstellungen sexuellen Kindesmissbrauchs", "facilitation de contenus pédopornographiques"),
    prohibition(
      "l1.universal.no_realtime_mass_biometric_identification",
      "realtime_mass_biometric_identification",
      "real-time mass biometric identification in public spaces",
      "biometrische Echtzeit-Massenidentifizierung im öffentlichen Raum",
      "identification biométrique de masse en temps réel dans l'espace public",
    ),
    prohibition("l1.universal.no_social_scoring", "social_scoring", "social scoring of natural persons", "Social Scoring natürlicher Personen", "notation sociale des personnes physiques"),
    prohibition(
      "l1.universal.no_manipulation_of_vulnerable_groups",
      "manipulation_of_vulnerable_groups",
      "manipulation of vulnerable groups",
      "Manipulation schutzbedürftiger Gruppen",
      "manipulation de groupes vulnérables",
    ),
    prohibition("l1.universal.no_wmd", "wmd", "assistance with weapons of mass destruction", "Unterstützung bei Massenvernichtungswaffen", "aide aux armes de destruction massive"),
    prohibition(
      "l1.universal.no_eu_ai_act_art5",
      "eu_ai_act_art5",
      "a practice prohibited by Article 5 of the EU AI Act",
      "eine nach Artikel 5 der KI-Verordnung verbotene Praxis",
      "une pratique interdite par l'article 5 du règlement sur l'IA",
    ),
    Object.freeze({
      id: "l1.universal.human_target_selection.escalate",
      layer: "L1",
      description: "Selection or engagement of a human target by an autonomous system is routed to a human decision (RFC 0018 §4) before execution.",
      when: { all: [{ field: "flags", op: "contains", value: "human_target_selection" }, { not: { field: "human_decision", op: "exists" } }] },
      effect: "require_consent",
      conditions: ["escalate_to_human"],
      explanation: {
        en: "Selecting or engaging a human target needs a recorded human decision (meaningful human control).",
        de: "Die Auswahl oder Bekämpfung eines menschlichen Ziels erfordert eine dokumentierte menschliche Entscheidung (bedeutsame menschliche Kontrolle).",
        fr: "La sélection ou l'engagement d'une cible humaine exige une décision humaine enregistrée (contrôle humain significatif).",
      },
    }),
    Object.freeze({
      id: "l1.universal.human_target_selection.refused",
      layer: "L1",
      description: "A human refused the selection or engagement of a human target.",
      when: { all: [{ field: "flags", op: "contains", value: "human_target_selection" }, { field: "human_decision.approved", op: "eq", value: false }] },
      effect: "deny",
      explanation: { en: "A human refused this action.", de: "Ein Mensch hat diese Aktion abgelehnt.", fr: "Un humain a refusé cette action." },
    }),
  ]) as readonly PolicyRule[],
}) as PolicyRuleSet;

function prohibition(id: string, flag: string, en: string, de: string, fr: string): PolicyRule {
  return Object.freeze({
    id,
    layer: "L1",
    description: `Universal prohibition (§20.2): ${en}.`,
    when: { field: "flags", op: "contains", value: flag },
    effect: "deny",
    explanation: {
      en: `Universal prohibition: ${en}.`,
      de: `Universelles Verbot: ${de}.`,
      fr: `Interdiction universelle : ${fr}.`,
    },
  }) as PolicyRule;
}

/** Options of {@link PolicyEngine}. */
export interface PolicyEngineOptions {
  /** Initial rules (validated like a reload). */
  readonly rules?: PolicyRuleSet | readonly PolicyRuleSet[];
  /** Outcome when no rule matches (default "allow"). */
  readonly defaultOutcome?: "allow" | "block";
  readonly clock?: OapClock;
  readonly ids?: OapIds;
}

/** What a reload installed. */
export interface LoadedRules {
  readonly versions: readonly string[];
  readonly ruleCount: number;
  readonly loadedAt: string;
}

interface Compiled {
  readonly byLayer: ReadonlyMap<PolicyLayer, readonly PolicyRule[]>;
  readonly info: LoadedRules;
  readonly sources: readonly { source?: string; version: string; published_at?: string }[];
}

/** One rule that matched in an evaluation. */
export interface RuleMatch {
  readonly rule: PolicyRule;
  /** "unknown" when the rule matched only through `on_unknown: "match"`. */
  readonly truth: true | "unknown";
}

/** An evaluation: the Decision Record and the matches it was built from. */
export interface PolicyEvaluation {
  readonly record: OapDecisionRecord;
  readonly matches: readonly RuleMatch[];
  /** The layer whose deny ended the evaluation. */
  readonly deniedAt?: PolicyLayer;
}

function defaultOnUnknown(effect: PolicyRule["effect"]): "match" | "skip" {
  return effect === "deny" || effect === "require_consent" || effect === "require_anonymization" ? "match" : "skip";
}

/** The §20 policy engine. */
export class PolicyEngine {
  readonly #clock: OapClock;
  readonly #ids: OapIds;
  readonly #default: "allow" | "block";
  #compiled: Compiled;

  constructor(options: PolicyEngineOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock);
    this.#default = options.defaultOutcome ?? "allow";
    this.#compiled = this.#compile(options.rules === undefined ? [] : Array.isArray(options.rules) ? (options.rules as readonly PolicyRuleSet[]) : [options.rules as PolicyRuleSet]);
  }

  /**
   * Replaces the loaded rule sets (the built-in L1 prohibitions always stay). Validates against
   * the schema and the id rules first; on any problem throws ERR_OAP_INPUT_INVALID with
   * `details.issues` and keeps the previous rules.
   */
  reload(rules: unknown | readonly unknown[]): LoadedRules {
    const sets = Array.isArray(rules) ? rules : [rules];
    this.#compiled = this.#compile(sets);
    return this.#compiled.info;
  }

  /** Version labels, rule count and load time of the running rules. */
  get loaded(): LoadedRules {
    return this.#compiled.info;
  }

  /** The running rules of a layer, built-ins included. */
  rules(layer?: PolicyLayer): PolicyRule[] {
    if (layer !== undefined) return [...(this.#compiled.byLayer.get(layer) ?? [])];
    return POLICY_LAYERS.flatMap((l) => this.#compiled.byLayer.get(l) ?? []);
  }

  /**
   * §20.3: L2 updates must be applied within thirty days of publication. Given the newest
   * publication time of each source upstream, lists the loaded sources that are older than
   * that publication by more than 30 days at `now`.
   */
  overdueSources(upstream: Readonly<Record<string, string>>, now: Date = this.#clock()): { source: string; loaded?: string; published: string }[] {
    const out: { source: string; loaded?: string; published: string }[] = [];
    const GRACE_MS = 30 * 86_400_000;
    for (const [source, published] of Object.entries(upstream)) {
      const loaded = this.#compiled.sources.find((s) => s.source === source);
      const pub = Date.parse(published);
      const loadedAt = loaded?.published_at === undefined ? undefined : Date.parse(loaded.published_at);
      if ((loadedAt === undefined || loadedAt < pub) && now.getTime() - pub > GRACE_MS) {
        out.push(loaded?.published_at === undefined ? { source, published } : { source, loaded: loaded.published_at, published });
      }
    }
    return out;
  }

  #compile(sets: readonly unknown[]): Compiled {
    const issues: { set: number; pointer: string; message: string }[] = [];
    const reserved = new Set(UNIVERSAL_PROHIBITIONS.rules.map((r) => r.id));
    const all: PolicyRule[] = [...UNIVERSAL_PROHIBITIONS.rules];
    const seen = new Set(reserved);
    const sources: { source?: string; version: string; published_at?: string }[] = [];
    sets.forEach((set, i) => {
      const found = validateRuleSet(set);
      for (const f of found) issues.push({ set: i, pointer: f.pointer, message: f.message });
      if (found.length > 0) return;
      const s = set as PolicyRuleSet;
      sources.push({ version: s.version, ...(s.source === undefined ? {} : { source: s.source }), ...(s.published_at === undefined ? {} : { published_at: s.published_at }) });
      s.rules.forEach((r, j) => {
        if (reserved.has(r.id)) issues.push({ set: i, pointer: `/rules/${j}/id`, message: `${r.id} is a built-in universal prohibition (§20.2) and cannot be replaced` });
        else if (seen.has(r.id)) issues.push({ set: i, pointer: `/rules/${j}/id`, message: `duplicate rule id ${r.id} across rule sets` });
        seen.add(r.id);
        all.push(structuredClone(r) as PolicyRule);
      });
    });
    if (issues.length > 0) {
      throw new OapError("ERR_OAP_INPUT_INVALID", `invalid policy rules: ${issues.slice(0, 3).map((x) => `set ${x.set} ${x.pointer || "/"} ${x.message}`).join("; ")}`, {
        details: { issues: issues.map((x) => ({ set: x.set, pointer: x.pointer, message: x.message })) },
      });
    }
    const byLayer = new Map<PolicyLayer, PolicyRule[]>(POLICY_LAYERS.map((l) => [l, []]));
    for (const r of all) byLayer.get(r.layer)?.push(r);
    const versions = [UNIVERSAL_PROHIBITIONS.version, ...sources.map((s) => s.version)];
    return { byLayer, sources, info: Object.freeze({ versions, ruleCount: all.length, loadedAt: rfc3339(this.#clock()) }) };
  }

  /** Evaluates the context and returns the Decision Record (and the matches). */
  evaluate(ctx: PolicyContext): PolicyEvaluation {
    const compiled = this.#compiled; // one consistent rule snapshot per evaluation, even across a reload
    const layers: PolicyLayer[] = [];
    const matches: RuleMatch[] = [];
    let outcome: DecisionOutcome = "allow";
    let deniedAt: PolicyLayer | undefined;
    const conditions: string[] = [];
    for (const layer of POLICY_LAYERS) {
      layers.push(layer);
      const layerMatches: RuleMatch[] = [];
      for (const rule of compiled.byLayer.get(layer) ?? []) {
        const truth = evaluateCondition(rule.when, ctx);
        if (truth === true || (truth === "unknown" && (rule.on_unknown ?? defaultOnUnknown(rule.effect)) === "match")) layerMatches.push({ rule, truth });
      }
      matches.push(...layerMatches);
      if (layerMatches.some((m) => m.rule.effect === "deny")) {
        outcome = "block";
        deniedAt = layer;
        break;
      }
      for (const m of layerMatches) {
        outcome = mostRestrictive(outcome, m.rule.effect as DecisionOutcome);
        conditions.push(...(m.rule.conditions ?? []));
      }
    }
    if (matches.length === 0 && this.#default === "block") outcome = "block";
    let finalConditions = [...new Set(conditions)];
    if (outcome === "block") finalConditions = [];
    else if (outcome === "allow" && finalConditions.length > 0) outcome = "allow_with_conditions";
    const deciding = this.#deciding(matches, outcome, deniedAt);
    const record = buildDecisionRecord({
      decision_id: this.#ids.decisionId(),
      evaluated_at: rfc3339(this.#clock()),
      layers_evaluated: layers,
      applied_rules: matches.map((m) => m.rule.id),
      outcome,
      conditions: finalConditions,
      explanation: this.#explanation(outcome, deciding, deniedAt, matches.length),
      explanation_for_principal: principalExplanation(ctx.principal?.locale, outcome, finalConditions, deciding.map((m) => explanationOf(m.rule))).text,
    });
    return deniedAt === undefined ? { record, matches } : { record, matches, deniedAt };
  }

  /** The rules that decided the outcome: the denies, else the non-allow effects, else the allows. */
  #deciding(matches: readonly RuleMatch[], outcome: DecisionOutcome, deniedAt: PolicyLayer | undefined): RuleMatch[] {
    if (deniedAt !== undefined) return matches.filter((m) => m.rule.effect === "deny" && m.rule.layer === deniedAt);
    if (outcome === "allow") return matches.filter((m) => m.rule.effect === "allow");
    const restricting = matches.filter((m) => m.rule.effect !== "allow");
    return restricting.length > 0 ? restricting : matches.filter((m) => (m.rule.conditions ?? []).length > 0);
  }

  #explanation(outcome: DecisionOutcome, deciding: readonly RuleMatch[], deniedAt: PolicyLayer | undefined, matched: number): string {
    const cite = (m: RuleMatch): string => {
      const text = pickText(explanationOf(m.rule), "en") ?? m.rule.description ?? m.rule.id;
      return `${m.rule.layer} ${m.rule.id}${m.truth === "unknown" ? " (undecidable condition, failing closed)" : ""}: ${text}`;
    };
    if (deniedAt !== undefined) return `Blocked at layer ${deniedAt} by ${deciding.map(cite).join("; ")}`;
    if (matched === 0) return outcome === "block" ? "No rule permits this action (default deny)." : "No policy rule applies; the action is permitted.";
    const head = outcome === "allow" ? "Permitted" : outcome === "allow_with_conditions" ? "Permitted with conditions" : outcome === "require_consent" ? "Consent required" : "Anonymisation required";
    return `${head} after layers L1-L4: ${deciding.map(cite).join("; ")}`;
  }
}

function explanationOf(rule: PolicyRule): LocalizedText | undefined {
  return rule.explanation ?? (rule.description === undefined ? undefined : { en: rule.description });
}

/** What {@link invocationPolicyContext} builds a context from. */
export interface InvocationContextInput {
  readonly envelope: Pick<OapRequestEnvelope, "principal_did" | "agent_did" | "action" | "context"> & Partial<Pick<OapRequestEnvelope, "scope_id" | "policy_assertions" | "timestamp">>;
  readonly action: OapAction;
  readonly manifest?: Pick<OapManifest, "tool" | "jurisdictions" | "risk_class">;
  /** The invocation's (maximum) price. */
  readonly amount?: MoneyValue;
  /** Data classes found in the input besides the action's `data_classes_in`. */
  readonly dataClasses?: readonly string[];
  readonly principalAttributes?: JsonObject;
  readonly agentVendor?: string;
  /** Where the Tool processes the request (ISO 3166-1 alpha-2). */
  readonly toolJurisdiction?: string;
  readonly flags?: readonly string[];
  readonly purpose?: string;
  readonly humanDecision?: PolicyContext["human_decision"];
}

/** The §20 evaluation context of an invocation (request envelope + action + manifest). */
export function invocationPolicyContext(input: InvocationContextInput): PolicyContext {
  const e = input.envelope;
  const a = input.action;
  const tags = e.policy_assertions?.provenance_tags;
  const cls = e.policy_assertions?.confidentiality_class;
  return {
    action: {
      id: a.id,
      side_effects: a.side_effects,
      risk_class: effectiveRiskClass(a, input.manifest),
      ...(a.irreversibility_class === undefined ? {} : { irreversibility_class: a.irreversibility_class }),
      data_classes_in: [...a.data_classes_in],
      data_classes_out: [...a.data_classes_out],
    },
    ...(input.manifest === undefined ? {} : { tool: { did: input.manifest.tool.did, jurisdictions: [...input.manifest.jurisdictions], risk_class: input.manifest.risk_class, categories: [...input.manifest.tool.categories] } }),
    principal: { did: e.principal_did, locale: e.context.locale, jurisdiction: e.context.jurisdiction_user, ...(input.principalAttributes === undefined ? {} : { attributes: input.principalAttributes }) },
    agent: { did: e.agent_did, ...(input.agentVendor === undefined ? {} : { vendor: input.agentVendor }) },
    ...(e.scope_id === undefined ? {} : { scope_id: e.scope_id }),
    data_classes: [...new Set([...a.data_classes_in, ...(input.dataClasses ?? [])])],
    jurisdiction: { user: e.context.jurisdiction_user, agent: e.context.jurisdiction_agent, ...(input.toolJurisdiction === undefined ? {} : { tool: input.toolJurisdiction }) },
    ...(input.amount === undefined ? {} : { amount: input.amount }),
    ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
    ...(tags === undefined ? {} : { provenance_tags: [...tags] }),
    ...(cls === undefined ? {} : { confidentiality_class: cls }),
    ...(input.flags === undefined ? {} : { flags: [...input.flags] }),
    ...(input.humanDecision === undefined ? {} : { human_decision: input.humanDecision }),
    ...(e.timestamp === undefined ? {} : { time: e.timestamp }),
  };
}
