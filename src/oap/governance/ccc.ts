/**
 * The Pre Action Confidentiality Gate (OAP-CORE-1.0 §18.3), with §18.4 information flow control,
 * §18.5 Privileged Mode constraints and §17.2 provenance tags.
 *
 * Before outbound data goes to a destination, {@link CccGate.evaluate} answers the seven §18.3
 * questions against the Scope's CCC (schemas/oap/oap-ccc):
 *
 * | # | question | rule ids | layer | not clear → |
 * |-|-|-|-|-|
 * | 1 | destination on the embargo list? | `ccc.embargo.*` | L4 | block |
 * | 2 | an active NDA covers the shared data classes? | `ccc.nda.*` | L4 | require_consent (expired NDA: block) |
 * | 3 | violates a non-compete / non-solicit? | `ccc.non_compete.*`, `ccc.non_solicit.*` | L4 | block |
 * | 4 | a Chinese Wall isolates the data from the destination? | `ccc.chinese_wall.*` | L3 | block |
 * | 5 | a professional code restricts the disclosure? | `ccc.professional.*` | L3 | per code (bar/stb/wp: require_consent, med: require_anonymization) |
 * | 6 | destination on a sanctions list? | `ccc.sanctions.*` | L2 | block (no screener: block) |
 * | 7 | export classification permits the destination jurisdiction? | `ccc.export.*` | L2 | block |
 *
 * plus `ccc.ifc.*` (§18.4: the data's taint labels ⊆ the destination's clearance, else block),
 * `provenance.*` (§17.2: expired, purpose, deletion event → block) and, in Privileged Mode,
 * `ccc.privileged.*` (§18.5: privileged provider list, cross-border instrument, subprocessor
 * disclosure → block, and an immediate privilege-loss notification).
 *
 * Every question is answered (no short circuit) so the Decision Record lists all grounds; the
 * outcome is the most restrictive finding. A consent receipt turns `require_consent` findings
 * into `allow_with_conditions` (`consent:<id>`), anonymised data does the same for
 * `require_anonymization`; nothing lifts a block.
 *
 * @module
 */
import type { OapCcc } from "../../../gen/types/oap/oap-ccc.js";
import { jurisdictionCovers } from "../actions.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import { oapIds, rfc3339, systemClock, type OapClock, type OapIds } from "../util.js";
import { FALLBACK_LOCALE, pickText, principalExplanation, type LocalizedText } from "./locale.js";
import { CLASSIFICATIONS, onwardSharingViolations, type Classification, type ProvenanceTag } from "./provenance.js";
import { buildDecisionRecord, mostRestrictive, OUTCOME_SEVERITY, POLICY_LAYERS, type DecisionOutcome, type OapDecisionRecord, type PolicyLayer } from "./records.js";

export type { OapCcc } from "../../../gen/types/oap/oap-ccc.js";

/** Regulatory classifications that activate Privileged Mode (§18.5 list plus the other professional privileges). */
export const PRIVILEGED_CLASSIFICATIONS: readonly string[] = Object.freeze([
  "attorney_client_privileged",
  "medical_confidentiality",
  "journalist_source_protection",
  "confessional_seal",
  "therapeutic_privilege",
  "tax_advisor_confidentiality",
]);

/** True when the CCC puts its Scope in Privileged Mode. */
export function isPrivilegedMode(ccc: Pick<OapCcc, "regulatory_classification">): boolean {
  return ccc.regulatory_classification !== undefined && PRIVILEGED_CLASSIFICATIONS.includes(ccc.regulatory_classification);
}

/** The destination of outbound data. */
export interface CccDestination {
  /** Destination Tool (or Agent) DID. */
  readonly did: string;
  /** ISO 3166-1 alpha-2 code of where the destination processes the data. */
  readonly jurisdiction?: string;
  /** The destination Scope (for Chinese Walls), when the destination is another Scope. */
  readonly scope_id?: string;
  /** Industries the destination operates in (non-competes). */
  readonly industries?: readonly string[];
  /** §18.4 labels the destination is cleared for. */
  readonly clearance?: readonly string[];
  /** Most sensitive classification the destination may receive (default "confidential"). */
  readonly max_classification?: Classification;
  /** The destination is bound by an equivalent professional secrecy (e.g. §43e BRAO service provider). */
  readonly professional_secrecy?: boolean;
  /** On the Privileged Provider List (§18.5(2)); see also {@link CccGateOptions.privilegedProviders}. */
  readonly privileged_provider?: boolean;
  /** Discloses its subprocessors (§18.5(4), e.g. manifest `data_policy.subprocessors_url`). */
  readonly subprocessors_disclosed?: boolean;
  readonly legal_name?: string;
}

/** The outbound data. */
export interface CccShare {
  /** Data classes being shared (the Action's `data_classes_in` and the data's own classes). */
  readonly data_classes: readonly string[];
  readonly provenance?: readonly ProvenanceTag[];
  /** §18.4 taint labels of the data (LLM output inherits the labels of its context). */
  readonly taint?: readonly string[];
  /** The Scope the data comes from (default: the CCC's scope). */
  readonly source_scope_id?: string;
  readonly purpose?: string;
  /** A solicitation the action performs (non-solicit clauses). */
  readonly solicitation?: { readonly subject_did: string; readonly target: "customers" | "employees" };
  /** A Consent Receipt the caller verified, covering this disclosure. */
  readonly consent_receipt?: string;
  /** The data was anonymised. */
  readonly anonymized?: boolean;
  /** Where the data is now (Privileged Mode cross-border check; default: the gate's home jurisdiction). */
  readonly origin_jurisdiction?: string;
  /** A privilege-preserving cross-border instrument (§18.5(3)). */
  readonly cross_border_instrument?: string;
}

/** The questions (and extra checks) of the gate. */
export type CccQuestion = "embargo" | "nda" | "non_compete" | "chinese_wall" | "professional_code" | "sanctions" | "export" | "ifc" | "provenance" | "privileged";

/** One ground of the decision. */
export interface CccFinding {
  readonly question: CccQuestion;
  readonly rule: string;
  readonly layer: PolicyLayer;
  readonly outcome: DecisionOutcome;
  readonly conditions?: readonly string[];
  readonly explanation: LocalizedText;
}

/** Sanctions screening (§18.3 Q6) of one list. */
export interface SanctionsScreener {
  /** True when the subject is listed on `list` (`ofac`, `eu`, `un`, `uk_ofsi`). */
  isListed(list: string, subject: { readonly did: string; readonly jurisdiction?: string; readonly legal_name?: string }): boolean | Promise<boolean>;
}

/** A screener over fixed lists of DIDs and jurisdictions per list. */
export class StaticSanctionsScreener implements SanctionsScreener {
  readonly #lists: Readonly<Record<string, { readonly dids?: readonly string[]; readonly jurisdictions?: readonly string[]; readonly names?: readonly string[] }>>;
  constructor(lists: Readonly<Record<string, { readonly dids?: readonly string[]; readonly jurisdictions?: readonly string[]; readonly names?: readonly string[] }>>) {
    this.#lists = lists;
  }
  isListed(list: string, subject: { readonly did: string; readonly jurisdiction?: string; readonly legal_name?: string }): boolean {
    const l = this.#lists[list];
    if (l === undefined) return false;
    const name = subject.legal_name?.trim().toLowerCase();
    return (
      (l.dids ?? []).includes(subject.did) ||
      (subject.jurisdiction !== undefined && (l.jurisdictions ?? []).includes(subject.jurisdiction)) ||
      (name !== undefined && (l.names ?? []).some((n) => n.trim().toLowerCase() === name))
    );
  }
}

/** An export-control rule (§18.3 Q7). */
export interface ExportControlRule {
  readonly id: string;
  /** Classifications it applies to. */
  readonly match: RegExp;
  /** Jurisdictions (ISO codes or groups such as "EU") the item may go to; absent = anywhere not embargoed. */
  readonly allowed?: readonly string[];
}

/** Destinations under comprehensive embargo for every classified item (illustrative default). */
export const DEFAULT_EMBARGOED_JURISDICTIONS: readonly string[] = Object.freeze(["CU", "IR", "KP", "SY"]);

/**
 * Illustrative default export rules (not legal advice; deployments pass their own): ITAR items
 * stay in the US; EU dual-use / ECCN Annex I items go to the EU and the EU001 general export
 * authorisation countries; EAR99 anywhere not embargoed. An unknown classification is blocked.
 */
export const DEFAULT_EXPORT_RULES: readonly ExportControlRule[] = Object.freeze([
  { id: "itar", match: /^ITAR(?:[: ]|$)/iu, allowed: ["US"] },
  { id: "ear99", match: /^EAR99$/u },
  { id: "dual_use", match: /^[0-9][A-E][0-9]{3}/u, allowed: ["EU", "AU", "CA", "IS", "JP", "NZ", "NO", "CH", "LI", "GB", "US"] },
]);

/** A professional-code rule (§18.3 Q5). */
export interface ProfessionalCodeRule {
  /** Code prefix, e.g. "bar:" (bar associations), "med:" (medical). */
  readonly prefix: string;
  /** Outcome when the destination is not bound by equivalent secrecy. */
  readonly outcome: Exclude<DecisionOutcome, "allow">;
  readonly conditions?: readonly string[];
}

/** Default professional-code rules; unknown codes → require_consent. */
export const DEFAULT_PROFESSIONAL_RULES: readonly ProfessionalCodeRule[] = Object.freeze([
  { prefix: "bar:", outcome: "require_consent", conditions: ["principal_consent"] },
  { prefix: "med:", outcome: "require_anonymization", conditions: ["anonymize"] },
  { prefix: "stb:", outcome: "require_consent", conditions: ["principal_consent"] },
  { prefix: "wp:", outcome: "require_consent", conditions: ["principal_consent"] },
]);

/** A privilege-loss event (§18.5(5)). */
export interface PrivilegeLossEvent {
  readonly scope_id: string;
  readonly regulatory_classification: string;
  readonly destination: string;
  readonly rules: readonly string[];
  readonly detected_at: string;
}

/** Options of {@link CccGate}. */
export interface CccGateOptions {
  readonly sanctions?: SanctionsScreener;
  readonly exportRules?: readonly ExportControlRule[];
  readonly embargoedJurisdictions?: readonly string[];
  readonly professionalRules?: readonly ProfessionalCodeRule[];
  /** §18.5(2) Privileged Provider List lookup (in addition to `destination.privileged_provider`). */
  readonly privilegedProviders?: (did: string) => boolean;
  /** The Scope's own jurisdiction (origin of data for the cross-border check). */
  readonly homeJurisdiction?: string;
  /** §18.5(5): called immediately when a privileged Scope meets a privilege-breaking configuration. */
  readonly onPrivilegeLoss?: (event: PrivilegeLossEvent) => void;
  /** Events that happened (provenance `delete_on_event`). */
  readonly eventOccurred?: (event: string) => boolean;
  readonly clock?: OapClock;
  readonly ids?: OapIds;
}

/** The gate's answer. */
export interface CccDecision {
  readonly record: OapDecisionRecord;
  readonly outcome: DecisionOutcome;
  readonly findings: readonly CccFinding[];
  readonly privileged: boolean;
}

const t = (en: string, de: string, fr?: string): LocalizedText => (fr === undefined ? { en, de } : { en, de, fr });

function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

function active(validFrom: string | undefined, validUntil: string, day: string): boolean {
  return (validFrom === undefined || validFrom <= day) && day <= validUntil;
}

/** did:web embargo entries also cover paths under the same domain (did:web:x.example:sub). */
function didMatches(listed: string, did: string): boolean {
  return listed === did || (listed.startsWith("did:web:") && did.startsWith(`${listed}:`));
}

function slug(s: string): string {
  return s.replace(/^did:web:/u, "").replace(/[^A-Za-z0-9_.:-]+/gu, "_");
}

/** The §18.3 Pre Action Confidentiality Gate. */
export class CccGate {
  readonly #o: CccGateOptions;
  readonly #clock: OapClock;
  readonly #ids: OapIds;

  constructor(options: CccGateOptions = {}) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock);
  }

  /**
   * Evaluates the CCC for sharing `share` with `destination`; `locale` is the Principal's (for
   * `explanation_for_principal`). The CCC must be schema-valid (400 otherwise).
   */
  async evaluate(ccc: OapCcc, destination: CccDestination, share: CccShare, locale?: string): Promise<CccDecision> {
    assertOapDocument("oap-ccc", ccc);
    const now = this.#clock();
    const day = today(now);
    const findings: CccFinding[] = [
      ...this.#embargo(ccc, destination),
      ...this.#nda(ccc, destination, share, day),
      ...this.#nonCompete(ccc, destination, share, day),
      ...this.#chineseWall(ccc, destination, share),
      ...this.#professional(ccc, destination, share),
      ...(await this.#sanctions(ccc, destination)),
      ...this.#export(ccc, destination),
      ...this.#ifc(destination, share),
      ...this.#provenance(destination, share, now),
    ];
    const privileged = isPrivilegedMode(ccc);
    if (privileged) {
      const p = this.#privileged(destination, share);
      findings.push(...p);
      const broken = p.filter((f) => f.outcome === "block");
      if (broken.length > 0) {
        this.#o.onPrivilegeLoss?.({
          scope_id: ccc.scope_id,
          regulatory_classification: ccc.regulatory_classification as string,
          destination: destination.did,
          rules: broken.map((f) => f.rule),
          detected_at: rfc3339(now),
        });
      }
    }
    const resolved = findings.map((f) => this.#satisfy(f, share));
    return this.#decide(resolved, privileged, locale);
  }

  /** {@link evaluate}, throwing 412 precondition_failed (ERR_OAP_CCC_PRECONDITION) unless the outcome is allow / allow_with_conditions. */
  async assert(ccc: OapCcc, destination: CccDestination, share: CccShare, locale?: string): Promise<CccDecision> {
    const decision = await this.evaluate(ccc, destination, share, locale);
    if (OUTCOME_SEVERITY[decision.outcome] >= OUTCOME_SEVERITY.require_anonymization) throw cccError(decision);
    return decision;
  }

  #satisfy(f: CccFinding, share: CccShare): CccFinding {
    if (f.outcome === "require_consent" && share.consent_receipt !== undefined) {
      return { ...f, outcome: "allow_with_conditions", conditions: [`consent:${share.consent_receipt}`], explanation: { en: `${pickText(f.explanation, "en") ?? ""} Consent ${share.consent_receipt} covers it.`, de: `${pickText(f.explanation, "de") ?? ""} Die Einwilligung ${share.consent_receipt} deckt dies ab.` } };
    }
    if (f.outcome === "require_anonymization" && share.anonymized === true) {
      return { ...f, outcome: "allow_with_conditions", conditions: ["anonymized"], explanation: { en: `${pickText(f.explanation, "en") ?? ""} The data is anonymised.`, de: `${pickText(f.explanation, "de") ?? ""} Die Daten sind anonymisiert.` } };
    }
    return f;
  }

  // Q1 ----------------------------------------------------------------------------------------
  #embargo(ccc: OapCcc, d: CccDestination): CccFinding[] {
    const hit = (ccc.embargo_list ?? []).find((e) => didMatches(e, d.did));
    if (hit !== undefined) {
      return [{ question: "embargo", rule: `ccc.embargo.listed:${slug(hit)}`, layer: "L4", outcome: "block", explanation: t(`The destination ${d.did} is on the embargo list.`, `Das Ziel ${d.did} steht auf der Embargoliste.`, `La destination ${d.did} figure sur la liste d'embargo.`) }];
    }
    return [{ question: "embargo", rule: "ccc.embargo.clear", layer: "L4", outcome: "allow", explanation: t("The destination is not embargoed.", "Das Ziel unterliegt keinem Embargo.", "La destination n'est pas sous embargo.") }];
  }

  // Q2 ----------------------------------------------------------------------------------------
  #nda(ccc: OapCcc, d: CccDestination, share: CccShare, day: string): CccFinding[] {
    const ndas = ccc.active_ndas ?? [];
    const out: CccFinding[] = [];
    // NDA-bound data received under an NDA must stay with that NDA's counterparties.
    for (const tag of share.provenance ?? []) {
      const under = tag.received_under;
      if (under === undefined || !under.startsWith("nda:")) continue;
      const nda = ndas.find((n) => n.id === under);
      if (nda === undefined || !active(nda.valid_from, nda.valid_until, day)) {
        out.push({ question: "nda", rule: `ccc.nda.expired:${under}`, layer: "L4", outcome: "block", explanation: t(`The data was received under ${under}, which is not active: it must not be used.`, `Die Daten wurden unter ${under} empfangen, die nicht mehr aktiv ist: sie dürfen nicht verwendet werden.`) });
      } else if (!nda.counterparties.includes(d.did) && tag.source_did !== d.did) {
        out.push({ question: "nda", rule: `ccc.nda.received_under:${under}`, layer: "L4", outcome: "require_consent", conditions: ["principal_consent"], explanation: t(`The data was received under ${under} and ${d.did} is not a party to it; the disclosing party must consent.`, `Die Daten unterliegen ${under}, und ${d.did} ist nicht Vertragspartei; die offenlegende Partei muss zustimmen.`) });
      }
    }
    const confidentialByTag = (share.provenance ?? []).some((p) => p.classification === "confidential" || p.classification === "privileged");
    const sensitive = share.data_classes.filter((c) => confidentialByTag || ndas.some((n) => (n.covered_categories ?? []).includes(c)));
    if (sensitive.length === 0) {
      if (out.length === 0) out.push({ question: "nda", rule: "ccc.nda.not_applicable", layer: "L4", outcome: "allow", explanation: t("No confidential data classes are shared.", "Es werden keine vertraulichen Datenklassen geteilt.") });
      return out;
    }
    const covering = new Map<string, string>();
    for (const c of sensitive) {
      const n = ndas.find(
        (n) => active(n.valid_from, n.valid_until, day) && n.counterparties.includes(d.did) && n.type !== "one_way_inbound" && (n.covered_categories === undefined || n.covered_categories.includes(c)),
      );
      if (n !== undefined) covering.set(c, n.id);
    }
    const uncovered = sensitive.filter((c) => !covering.has(c));
    for (const id of new Set(covering.values())) {
      out.push({ question: "nda", rule: `ccc.nda.coverage.${id.replace(/^nda:/u, "")}`, layer: "L4", outcome: "allow", explanation: t(`NDA ${id} binds ${d.did} for ${[...covering].filter(([, v]) => v === id).map(([k]) => k).join(", ")}.`, `Die NDA ${id} bindet ${d.did} für ${[...covering].filter(([, v]) => v === id).map(([k]) => k).join(", ")}.`) });
    }
    if (uncovered.length > 0) {
      out.push({
        question: "nda",
        rule: `ccc.nda.uncovered:${uncovered.join("+")}`,
        layer: "L4",
        outcome: "require_consent",
        conditions: ["principal_consent"],
        explanation: t(`No active NDA with ${d.did} covers ${uncovered.join(", ")}.`, `Keine aktive NDA mit ${d.did} deckt ${uncovered.join(", ")} ab.`, `Aucun accord de confidentialité actif avec ${d.did} ne couvre ${uncovered.join(", ")}.`),
      });
    }
    return out;
  }

  // Q3 ----------------------------------------------------------------------------------------
  #nonCompete(ccc: OapCcc, d: CccDestination, share: CccShare, day: string): CccFinding[] {
    const out: CccFinding[] = [];
    for (const nc of ccc.non_competes ?? []) {
      if (!active(undefined, nc.valid_until, day)) continue;
      const industries = (nc.covered_industries ?? []).filter((i) => (d.industries ?? []).includes(i));
      const inScope = d.jurisdiction === undefined || nc.scope === "global" || jurisdictionCovers([nc.scope], d.jurisdiction);
      if (industries.length > 0 && inScope && d.did !== nc.ex_employer) {
        out.push({ question: "non_compete", rule: `ccc.non_compete.${slug(nc.ex_employer)}`, layer: "L4", outcome: "block", explanation: t(`Sharing with ${d.did} (${industries.join(", ")}) violates the non-compete with ${nc.ex_employer} until ${nc.valid_until}.`, `Die Weitergabe an ${d.did} (${industries.join(", ")}) verletzt das Wettbewerbsverbot gegenüber ${nc.ex_employer} bis ${nc.valid_until}.`) });
      }
    }
    if (share.solicitation !== undefined) {
      for (const ns of ccc.non_solicits ?? []) {
        if (ns.valid_until !== undefined && !active(undefined, ns.valid_until, day)) continue;
        const applies = ns.applies_to === undefined || ns.applies_to === "both" || ns.applies_to === share.solicitation.target;
        if (ns.subject_did === share.solicitation.subject_did && applies) {
          out.push({ question: "non_compete", rule: `ccc.non_solicit.${slug(share.solicitation.subject_did)}`, layer: "L4", outcome: "block", explanation: t(`Soliciting ${share.solicitation.target} of ${share.solicitation.subject_did} violates a non-solicitation clause.`, `Die Abwerbung von ${share.solicitation.target === "customers" ? "Kunden" : "Mitarbeitern"} von ${share.solicitation.subject_did} verletzt ein Abwerbeverbot.`) });
        }
      }
    }
    if (out.length === 0) out.push({ question: "non_compete", rule: "ccc.non_compete.clear", layer: "L4", outcome: "allow", explanation: t("No non-compete or non-solicitation clause applies.", "Kein Wettbewerbs- oder Abwerbeverbot ist betroffen.") });
    return out;
  }

  // Q4 ----------------------------------------------------------------------------------------
  #chineseWall(ccc: OapCcc, d: CccDestination, share: CccShare): CccFinding[] {
    const sources = new Set([ccc.scope_id, ...(share.source_scope_id === undefined ? [] : [share.source_scope_id])]);
    for (const tag of share.provenance ?? []) if (tag.received_under?.startsWith("scope:") === true) sources.add(tag.received_under.slice(6));
    const out: CccFinding[] = [];
    if (d.scope_id !== undefined) {
      for (const wall of ccc.chinese_walls ?? []) {
        const src = [...sources].find((s) => s !== d.scope_id && wall.between.includes(s));
        if (src !== undefined && wall.between.includes(d.scope_id)) {
          out.push({ question: "chinese_wall", rule: `ccc.chinese_wall.${src}_${d.scope_id}`, layer: "L3", outcome: "block", explanation: t(`A Chinese Wall (${wall.reason}) separates ${src} from ${d.scope_id}.`, `Eine Informationsbarriere (${wall.reason}) trennt ${src} von ${d.scope_id}.`, `Une muraille de Chine (${wall.reason}) sépare ${src} de ${d.scope_id}.`) });
        }
      }
    }
    if (out.length === 0) out.push({ question: "chinese_wall", rule: "ccc.chinese_wall.clear", layer: "L3", outcome: "allow", explanation: t("No Chinese Wall separates the data from the destination.", "Keine Informationsbarriere trennt die Daten vom Ziel.") });
    return out;
  }

  // Q5 ----------------------------------------------------------------------------------------
  #professional(ccc: OapCcc, d: CccDestination, share: CccShare): CccFinding[] {
    const codes = ccc.professional_codes ?? [];
    const isPublic = share.data_classes.length > 0 && share.data_classes.every((c) => c === "public") && (share.provenance ?? []).every((p) => p.classification === undefined || p.classification === "public");
    const bound = d.professional_secrecy === true || d.privileged_provider === true || this.#o.privilegedProviders?.(d.did) === true;
    if (codes.length === 0 || isPublic || bound) {
      const why = codes.length === 0 ? "no professional code applies" : isPublic ? "the data is public" : "the destination is bound by equivalent professional secrecy";
      return [{ question: "professional_code", rule: "ccc.professional.clear", layer: "L3", outcome: "allow", explanation: t(`Professional codes permit the disclosure: ${why}.`, `Berufsrecht steht der Weitergabe nicht entgegen.`) }];
    }
    const rules = this.#o.professionalRules ?? DEFAULT_PROFESSIONAL_RULES;
    return codes.map((code): CccFinding => {
      const rule = rules.find((r) => code.startsWith(r.prefix));
      const outcome = rule?.outcome ?? "require_consent";
      const conditions = rule?.conditions ?? ["principal_consent"];
      return {
        question: "professional_code",
        rule: `ccc.professional.${code}`,
        layer: "L3",
        outcome,
        conditions,
        explanation:
          outcome === "require_anonymization"
            ? t(`Professional code ${code} forbids disclosing identifiable data to ${d.did}, which is not bound by equivalent secrecy.`, `Der Berufscode ${code} verbietet die Weitergabe identifizierbarer Daten an ${d.did}, das keiner gleichwertigen Schweigepflicht unterliegt.`)
            : t(`Professional code ${code} restricts disclosure to ${d.did}, which is not bound by equivalent secrecy; the client must consent.`, `Der Berufscode ${code} beschränkt die Weitergabe an ${d.did}, das keiner gleichwertigen Schweigepflicht unterliegt; der Mandant muss zustimmen.`),
      };
    });
  }

  // Q6 ----------------------------------------------------------------------------------------
  async #sanctions(ccc: OapCcc, d: CccDestination): Promise<CccFinding[]> {
    const lists = ccc.sanctions_screening ?? [];
    if (lists.length === 0) return [{ question: "sanctions", rule: "ccc.sanctions.not_declared", layer: "L2", outcome: "allow", explanation: t("The CCC declares no sanctions lists.", "Der CCC nennt keine Sanktionslisten.") }];
    const screener = this.#o.sanctions;
    if (screener === undefined) {
      return [{ question: "sanctions", rule: "ccc.sanctions.unavailable", layer: "L2", outcome: "block", explanation: t(`Sanctions screening (${lists.join(", ")}) is required but unavailable.`, `Die Sanktionsprüfung (${lists.join(", ")}) ist erforderlich, aber nicht verfügbar.`) }];
    }
    const subject = { did: d.did, ...(d.jurisdiction === undefined ? {} : { jurisdiction: d.jurisdiction }), ...(d.legal_name === undefined ? {} : { legal_name: d.legal_name }) };
    const out: CccFinding[] = [];
    for (const list of lists) {
      let listed: boolean;
      try {
        listed = await screener.isListed(list, subject);
      } catch {
        out.push({ question: "sanctions", rule: `ccc.sanctions.${list}_unavailable`, layer: "L2", outcome: "block", explanation: t(`The ${list} sanctions list could not be consulted.`, `Die Sanktionsliste ${list} konnte nicht abgefragt werden.`) });
        continue;
      }
      out.push(
        listed
          ? { question: "sanctions", rule: `ccc.sanctions.${list}_listed`, layer: "L2", outcome: "block", explanation: t(`The destination ${d.did} is on the ${list.toUpperCase()} sanctions list.`, `Das Ziel ${d.did} steht auf der Sanktionsliste ${list.toUpperCase()}.`, `La destination ${d.did} figure sur la liste de sanctions ${list.toUpperCase()}.`) }
          : { question: "sanctions", rule: `ccc.sanctions.${list}_clear`, layer: "L2", outcome: "allow", explanation: t(`Not on the ${list.toUpperCase()} list.`, `Nicht auf der Liste ${list.toUpperCase()}.`) },
      );
    }
    return out;
  }

  // Q7 ----------------------------------------------------------------------------------------
  #export(ccc: OapCcc, d: CccDestination): CccFinding[] {
    const cls = ccc.export_control_classification;
    if (cls === undefined || cls === null) return [{ question: "export", rule: "ccc.export.unclassified", layer: "L2", outcome: "allow", explanation: t("No export classification applies.", "Keine Exportkontrolleinstufung.") }];
    const id = slug(cls.toLowerCase());
    if (d.jurisdiction === undefined) {
      return [{ question: "export", rule: `ccc.export.${id}_destination_unknown`, layer: "L2", outcome: "block", explanation: t(`Items classified ${cls} need a known destination jurisdiction.`, `Güter der Einstufung ${cls} erfordern eine bekannte Zieljurisdiktion.`) }];
    }
    const embargoed = this.#o.embargoedJurisdictions ?? DEFAULT_EMBARGOED_JURISDICTIONS;
    if (embargoed.includes(d.jurisdiction)) {
      return [{ question: "export", rule: `ccc.export.${id}_embargoed:${d.jurisdiction}`, layer: "L2", outcome: "block", explanation: t(`${d.jurisdiction} is under a comprehensive embargo for classified items.`, `${d.jurisdiction} unterliegt einem umfassenden Embargo für gelistete Güter.`) }];
    }
    const rule = (this.#o.exportRules ?? DEFAULT_EXPORT_RULES).find((r) => r.match.test(cls));
    if (rule === undefined) {
      return [{ question: "export", rule: `ccc.export.${id}_unknown`, layer: "L2", outcome: "block", explanation: t(`No export rule is known for classification ${cls}.`, `Für die Einstufung ${cls} ist keine Exportregel bekannt.`) }];
    }
    if (rule.allowed !== undefined && !jurisdictionCovers(rule.allowed, d.jurisdiction)) {
      return [{ question: "export", rule: `ccc.export.${id}_blocked:${d.jurisdiction}`, layer: "L2", outcome: "block", explanation: t(`Classification ${cls} may not be transferred to ${d.jurisdiction}.`, `Güter der Einstufung ${cls} dürfen nicht nach ${d.jurisdiction} übermittelt werden.`, `La classification ${cls} ne peut pas être transférée vers ${d.jurisdiction}.`) }];
    }
    return [{ question: "export", rule: `ccc.export.${id}_clear`, layer: "L2", outcome: "allow", explanation: t(`Classification ${cls} permits transfer to ${d.jurisdiction}.`, `Die Einstufung ${cls} erlaubt die Übermittlung nach ${d.jurisdiction}.`) }];
  }

  // §18.4 -------------------------------------------------------------------------------------
  #ifc(d: CccDestination, share: CccShare): CccFinding[] {
    const labels = new Set([...(share.taint ?? []), ...(share.provenance ?? []).flatMap((p) => p.taint ?? [])]);
    if (labels.size === 0) return [];
    const missing = [...labels].filter((l) => !(d.clearance ?? []).includes(l));
    if (missing.length === 0) return [{ question: "ifc", rule: "ccc.ifc.clear", layer: "L3", outcome: "allow", explanation: t("The destination's clearance dominates the data's labels.", "Die Freigabe des Ziels deckt die Kennzeichnung der Daten ab.") }];
    return [{ question: "ifc", rule: `ccc.ifc.taint:${missing.join("+")}`, layer: "L3", outcome: "block", explanation: t(`The destination is not cleared for ${missing.join(", ")} (information flow control).`, `Das Ziel ist für ${missing.join(", ")} nicht freigegeben (Informationsflusskontrolle).`) }];
  }

  // §17.2 -------------------------------------------------------------------------------------
  #provenance(d: CccDestination, share: CccShare, now: Date): CccFinding[] {
    const tags = share.provenance ?? [];
    if (tags.length === 0) return [];
    const violations = onwardSharingViolations(tags, { did: d.did, ...(share.purpose === undefined ? {} : { purpose: share.purpose }), max_classification: d.max_classification ?? "confidential", ...(d.clearance === undefined ? {} : { clearance: d.clearance }) }, {
      now,
      checkReceivedUnder: false, // NDAs: question 2
      ...(this.#o.eventOccurred === undefined ? {} : { eventOccurred: this.#o.eventOccurred }),
    }).filter((v) => v.rule !== "provenance.taint"); // taint: §18.4 above
    if (violations.length === 0) return [{ question: "provenance", rule: "provenance.clear", layer: "L4", outcome: "allow", explanation: t("The provenance tags permit this sharing.", "Die Herkunftskennzeichnungen erlauben diese Weitergabe.") }];
    return violations.map((v) => ({ question: "provenance" as const, rule: v.rule, layer: "L4" as const, outcome: "block" as const, explanation: t(`Provenance: ${v.reason}.`, `Herkunftskennzeichnung: ${v.reason}.`) }));
  }

  // §18.5 -------------------------------------------------------------------------------------
  #privileged(d: CccDestination, share: CccShare): CccFinding[] {
    const out: CccFinding[] = [];
    const listed = d.privileged_provider === true || this.#o.privilegedProviders?.(d.did) === true;
    if (!listed) out.push({ question: "privileged", rule: "ccc.privileged.provider_list", layer: "L3", outcome: "block", explanation: t(`Privileged Mode: ${d.did} is not on the Privileged Provider List.`, `Privilegierter Modus: ${d.did} steht nicht auf der Liste privilegierter Anbieter.`) });
    const origin = share.origin_jurisdiction ?? this.#o.homeJurisdiction;
    if (origin === undefined || d.jurisdiction === undefined) {
      out.push({ question: "privileged", rule: "ccc.privileged.cross_border_unknown", layer: "L3", outcome: "block", explanation: t("Privileged Mode: the origin or destination jurisdiction is unknown.", "Privilegierter Modus: Herkunfts- oder Zieljurisdiktion ist unbekannt.") });
    } else if (origin !== d.jurisdiction && share.cross_border_instrument === undefined) {
      out.push({ question: "privileged", rule: `ccc.privileged.cross_border:${origin}-${d.jurisdiction}`, layer: "L3", outcome: "block", explanation: t(`Privileged Mode: transfer from ${origin} to ${d.jurisdiction} needs a privilege-preserving cross-border instrument.`, `Privilegierter Modus: Die Übermittlung von ${origin} nach ${d.jurisdiction} erfordert ein privilegwahrendes grenzüberschreitendes Instrument.`) });
    }
    if (d.subprocessors_disclosed !== true) out.push({ question: "privileged", rule: "ccc.privileged.subprocessors", layer: "L3", outcome: "block", explanation: t("Privileged Mode: the destination does not disclose its subprocessors.", "Privilegierter Modus: Das Ziel legt seine Unterauftragsverarbeiter nicht offen.") });
    if (out.length === 0) out.push({ question: "privileged", rule: "ccc.privileged.compliant", layer: "L3", outcome: "allow", conditions: ["local_receipts_only", "commitment_anchoring_only"], explanation: t("Privileged Mode constraints are met; receipts stay local and are anchored as commitments only.", "Die Vorgaben des privilegierten Modus sind erfüllt; Belege bleiben lokal und werden nur als Commitments verankert.") });
    return out;
  }

  #decide(findings: readonly CccFinding[], privileged: boolean, locale: string | undefined): CccDecision {
    let outcome: DecisionOutcome = "allow";
    for (const f of findings) outcome = mostRestrictive(outcome, f.outcome);
    const conditions = outcome === "block" ? [] : [...new Set(findings.flatMap((f) => (f.outcome === "allow" && f.question !== "privileged" ? [] : (f.conditions ?? []))))];
    if (outcome === "allow" && conditions.length > 0) outcome = "allow_with_conditions";
    const clear = (q: CccQuestion): boolean => findings.filter((f) => f.question === q).every((f) => OUTCOME_SEVERITY[f.outcome] <= OUTCOME_SEVERITY.allow_with_conditions);
    const has = (q: CccQuestion): boolean => findings.some((f) => f.question === q);
    const evaluation: Record<string, boolean> = {
      embargo_clear: clear("embargo"),
      nda_coverage: clear("nda"),
      non_compete_clear: clear("non_compete"),
      chinese_wall_clear: clear("chinese_wall"),
      professional_code_compliant: clear("professional_code"),
      sanctions_clear: clear("sanctions"),
      export_classification_compatible: clear("export"),
    };
    if (has("ifc")) evaluation["ifc_clear"] = clear("ifc");
    if (has("provenance")) evaluation["provenance_clear"] = clear("provenance");
    if (privileged) evaluation["privileged_mode_compliant"] = clear("privileged");
    const grounds = findings.filter((f) => f.outcome !== "allow" || outcome === "allow");
    const deciding = outcome === "allow" ? [] : grounds.filter((f) => OUTCOME_SEVERITY[f.outcome] === OUTCOME_SEVERITY[outcome] || (outcome === "allow_with_conditions" && f.outcome === "allow_with_conditions"));
    const layers = POLICY_LAYERS.filter((l) => findings.some((f) => f.layer === l));
    const explanation =
      outcome === "allow"
        ? "CCC gate (§18.3): all questions are clear."
        : `CCC gate (§18.3) outcome ${outcome}: ${deciding.map((f) => `${f.rule}: ${pickText(f.explanation, FALLBACK_LOCALE) ?? f.rule}`).join(" ")}`;
    const record = buildDecisionRecord({
      decision_id: this.#ids.decisionId(),
      evaluated_at: rfc3339(this.#clock()),
      layers_evaluated: layers,
      applied_rules: findings.map((f) => f.rule),
      outcome,
      conditions,
      explanation,
      explanation_for_principal: principalExplanation(locale, outcome, conditions, deciding.map((f) => f.explanation)).text,
      ccc_evaluation: evaluation,
    });
    return { record, outcome, findings, privileged };
  }
}

/** The 412 precondition_failed error of a refused CCC decision (details: decision id, outcome, rules, conditions). */
export function cccError(decision: CccDecision): OapError {
  const grounds = decision.findings.filter((f) => f.outcome !== "allow" && f.outcome !== "allow_with_conditions");
  return new OapError("ERR_OAP_CCC_PRECONDITION", decision.record.explanation, {
    details: {
      decision_id: decision.record.decision_id,
      outcome: decision.outcome,
      rules: grounds.map((f) => f.rule),
      ...(decision.record.conditions === undefined ? {} : { conditions: [...decision.record.conditions] }),
    },
  });
}

/** Classification order check helper for callers building destinations. */
export function classificationAtMost(c: Classification, max: Classification): boolean {
  return CLASSIFICATIONS.indexOf(c) <= CLASSIFICATIONS.indexOf(max);
}
