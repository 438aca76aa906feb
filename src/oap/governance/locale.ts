/**
 * Explanations in the Principal's locale (§20.4 `explanation_for_principal`, §24.1): a small
 * message catalog in English, German and French, and the negotiation rule shared by the policy
 * engine and the CCC gate.
 *
 * Negotiation: the exact locale, else the same language, else English — and a message is
 * written in one language only: when a rule text needed for the message is missing in the
 * chosen language, the whole message falls back to English (never a mix of languages).
 *
 * @module
 */
import type { DecisionOutcome } from "./records.js";

/** Locales the catalog speaks. */
export const CATALOG_LOCALES: readonly string[] = Object.freeze(["en", "de", "fr"]);
/** The fallback locale. */
export const FALLBACK_LOCALE = "en";

/** A text per locale (`{"en": "...", "de": "..."}`); keys are `ll` or `ll-CC`. */
export type LocalizedText = Readonly<Record<string, string>>;

/** Picks the text of `locale` from a {@link LocalizedText}: exact, then language, else undefined. */
export function pickText(text: LocalizedText | undefined, locale: string): string | undefined {
  if (text === undefined) return undefined;
  if (Object.hasOwn(text, locale)) return text[locale];
  const language = locale.split("-")[0] as string;
  if (Object.hasOwn(text, language)) return text[language];
  const sameLanguage = Object.keys(text).find((k) => k.split("-")[0] === language);
  return sameLanguage === undefined ? undefined : text[sameLanguage];
}

/** The catalog language for a declared locale (exact language match, else English). */
export function catalogLanguage(locale: string | undefined): string {
  const language = (locale ?? FALLBACK_LOCALE).split("-")[0]?.toLowerCase() ?? FALLBACK_LOCALE;
  return CATALOG_LOCALES.includes(language) ? language : FALLBACK_LOCALE;
}

const OUTCOME_TEXT: Readonly<Record<DecisionOutcome, LocalizedText>> = {
  allow: { en: "The action is permitted.", de: "Die Aktion ist zulässig.", fr: "L'action est autorisée." },
  allow_with_conditions: {
    en: "The action is permitted under conditions: {conditions}.",
    de: "Die Aktion ist unter Bedingungen zulässig: {conditions}.",
    fr: "L'action est autorisée sous conditions : {conditions}.",
  },
  require_consent: {
    en: "The action needs your explicit consent before it can proceed.",
    de: "Die Aktion benötigt Ihre ausdrückliche Zustimmung, bevor sie ausgeführt werden kann.",
    fr: "L'action nécessite votre consentement explicite avant de pouvoir être exécutée.",
  },
  require_anonymization: {
    en: "The data must be anonymised before it can be shared.",
    de: "Die Daten müssen anonymisiert werden, bevor sie weitergegeben werden dürfen.",
    fr: "Les données doivent être anonymisées avant de pouvoir être partagées.",
  },
  block: { en: "The action was blocked.", de: "Die Aktion wurde blockiert.", fr: "L'action a été bloquée." },
};

const CONDITION_TEXT: Readonly<Record<string, LocalizedText>> = {
  require_human_review: { en: "human review", de: "menschliche Überprüfung", fr: "examen humain" },
  escalate_to_human: { en: "a human decision", de: "eine menschliche Entscheidung", fr: "une décision humaine" },
  escalate_to_principal: { en: "your decision", de: "Ihre Entscheidung", fr: "votre décision" },
  anonymize: { en: "anonymisation", de: "Anonymisierung", fr: "anonymisation" },
  principal_consent: { en: "your consent", de: "Ihre Zustimmung", fr: "votre consentement" },
};

/** The sentence for an outcome in `language` (a catalog language), with the conditions filled in. */
export function outcomeSentence(outcome: DecisionOutcome, language: string, conditions: readonly string[] = []): string {
  const template = pickText(OUTCOME_TEXT[outcome], language) ?? (OUTCOME_TEXT[outcome][FALLBACK_LOCALE] as string);
  const list = conditions.map((c) => pickText(CONDITION_TEXT[c], language) ?? c).join(", ");
  return template.replace("{conditions}", list.length > 0 ? list : "-");
}

/**
 * `explanation_for_principal`: the outcome sentence followed by the rule texts, all in one
 * language — the Principal's when every text exists in it, English otherwise.
 */
export function principalExplanation(
  locale: string | undefined,
  outcome: DecisionOutcome,
  conditions: readonly string[],
  texts: readonly (LocalizedText | undefined)[],
): { language: string; text: string } {
  const preferred = catalogLanguage(locale);
  const present = texts.filter((t): t is LocalizedText => t !== undefined);
  const language = present.every((t) => pickText(t, locale ?? preferred) !== undefined || pickText(t, preferred) !== undefined) ? preferred : FALLBACK_LOCALE;
  const parts = [outcomeSentence(outcome, language, conditions)];
  for (const t of present) {
    const s = pickText(t, language === preferred ? (locale ?? language) : language) ?? pickText(t, language);
    if (s !== undefined && !parts.includes(s)) parts.push(s);
  }
  return { language, text: parts.join(" ") };
}
