/** Reading dialog events (Dialog Event spec 1.0.2): features, tokens and their text. */
import type { DialogEvent, Token } from "./types.js";

/** The tokens of feature `name` (empty when the feature is absent). */
export function featureTokens(de: Pick<DialogEvent, "features">, name: string): Token[] {
  return Object.hasOwn(de.features, name) ? (de.features[name]?.tokens ?? []) : [];
}

/**
 * OFP §1.10.1: the text of the `text` feature, its string token values joined with a space
 * (tokens may be words or whole phrases); undefined when there is no text feature or it has
 * no inline string values (e.g. only `valueUrl`s).
 */
export function textOf(de: Pick<DialogEvent, "features">, feature = "text"): string | undefined {
  const values = featureTokens(de, feature).flatMap((t) => (typeof t.value === "string" ? [t.value] : []));
  return values.length === 0 ? undefined : values.join(" ");
}
