/**
 * Provenance tags (OAP-CORE-1.0 §17.2) and purpose limitation (§29.2).
 *
 * A value may carry provenance tags (`{source_did, received_under, classification,
 * purpose_limitation, expires, delete_on_event}`); they propagate through every Action that
 * derives data from it ({@link derive}: the union of the inputs' tags), and onward sharing that
 * violates any tag is refused ({@link onwardSharingViolations}, {@link assertOnwardSharing}).
 *
 * On the wire (request `policy_assertions.provenance_tags`, receipt `provenance_tags_in/out`)
 * tags travel as strings: the `received_under` identifier as is (`nda:nda_2026_clientA`,
 * `scope:…`), the other facets as `class:<c>`, `purpose:<p>`, `source:<did>`,
 * `expires:<date>`, `event:<e>`, `taint:<label>` ({@link provenanceStrings},
 * {@link tagFromStrings}).
 *
 * @module
 */
import { OapError } from "../errors.js";
import { canonicalizeJson } from "../../jcs/index.js";

/** Classification levels, least sensitive first. */
export const CLASSIFICATIONS = Object.freeze(["public", "internal", "confidential", "privileged"] as const);
/** A classification level (the request envelope's `confidentiality_class`). */
export type Classification = (typeof CLASSIFICATIONS)[number];

/** One provenance tag (§17.2). */
export interface ProvenanceTag {
  readonly source_did?: string;
  /** The instrument the data was received under: `nda:<id>`, `scope:<id>`, `contract:<id>`… */
  readonly received_under?: string;
  readonly classification?: Classification;
  /** The only purpose the data may be used for. */
  readonly purpose_limitation?: string;
  /** RFC 3339 date or date-time after which the data must not be used. */
  readonly expires?: string;
  /** An event whose occurrence requires deletion (`project_end:proj_acme_2026`). */
  readonly delete_on_event?: string;
  /** §18.4 IFC security labels of the data. */
  readonly taint?: readonly string[];
}

/** A value and its provenance. */
export interface Tagged<T> {
  readonly data: T;
  readonly provenance: readonly ProvenanceTag[];
}

function tagKey(tag: ProvenanceTag): string {
  return canonicalizeJson(tag);
}

/** The union of several tag lists (duplicates removed, order of first appearance). */
export function mergeTags(...lists: readonly (readonly ProvenanceTag[])[]): ProvenanceTag[] {
  const seen = new Map<string, ProvenanceTag>();
  for (const list of lists) for (const t of list) if (!seen.has(tagKey(t))) seen.set(tagKey(t), t);
  return [...seen.values()];
}

/**
 * §17.2 propagation: data derived from tagged inputs carries every input tag (plus `extra`, e.g.
 * the Tool's own). Nothing is dropped: each tag keeps constraining the derived value.
 */
export function derive<T>(data: T, inputs: readonly Tagged<unknown>[], extra: readonly ProvenanceTag[] = []): Tagged<T> {
  return { data, provenance: mergeTags(...inputs.map((i) => i.provenance), extra) };
}

/** The most sensitive classification among the tags ("public" when none). */
export function highestClassification(tags: readonly ProvenanceTag[]): Classification {
  let best = 0;
  for (const t of tags) if (t.classification !== undefined) best = Math.max(best, CLASSIFICATIONS.indexOf(t.classification));
  return CLASSIFICATIONS[best] as Classification;
}

/** The wire strings of tags (sorted, unique). */
export function provenanceStrings(tags: readonly ProvenanceTag[]): string[] {
  const out = new Set<string>();
  for (const t of tags) {
    if (t.received_under !== undefined) out.add(t.received_under);
    if (t.classification !== undefined) out.add(`class:${t.classification}`);
    if (t.purpose_limitation !== undefined) out.add(`purpose:${t.purpose_limitation}`);
    if (t.source_did !== undefined) out.add(`source:${t.source_did}`);
    if (t.expires !== undefined) out.add(`expires:${t.expires}`);
    if (t.delete_on_event !== undefined) out.add(`event:${t.delete_on_event}`);
    for (const l of t.taint ?? []) out.add(`taint:${l}`);
  }
  return [...out].sort();
}

/**
 * One tag from wire strings (the inverse of {@link provenanceStrings} for a single tag; several
 * `received_under` identifiers become several tags).
 */
export function tagsFromStrings(strings: readonly string[]): ProvenanceTag[] {
  const facets: { -readonly [K in keyof ProvenanceTag]?: ProvenanceTag[K] } = {};
  const under: string[] = [];
  const taint: string[] = [];
  for (const s of strings) {
    const i = s.indexOf(":");
    const kind = i === -1 ? "" : s.slice(0, i);
    const rest = i === -1 ? s : s.slice(i + 1);
    if (kind === "class" && (CLASSIFICATIONS as readonly string[]).includes(rest)) {
      const current = facets.classification;
      if (current === undefined || CLASSIFICATIONS.indexOf(rest as Classification) > CLASSIFICATIONS.indexOf(current)) facets.classification = rest as Classification;
    } else if (kind === "purpose") facets.purpose_limitation = rest;
    else if (kind === "source") facets.source_did = rest;
    else if (kind === "expires") facets.expires = rest;
    else if (kind === "event") facets.delete_on_event = rest;
    else if (kind === "taint") taint.push(rest);
    else under.push(s);
  }
  if (taint.length > 0) facets.taint = taint;
  if (under.length === 0) return Object.keys(facets).length === 0 ? [] : [facets as ProvenanceTag];
  return under.map((u) => ({ ...facets, received_under: u }));
}

/** Where data is about to go. */
export interface SharingTarget {
  readonly did: string;
  /** The purpose of the onward use. */
  readonly purpose?: string;
  /** The most sensitive classification the target may receive (default "internal"). */
  readonly max_classification?: Classification;
  /** IFC labels the target is cleared for. */
  readonly clearance?: readonly string[];
}

/** Hooks for the tag checks. */
export interface SharingChecks {
  readonly now: Date;
  /**
   * Recipients allowed for data received under an instrument (`nda:X` → the NDA's
   * counterparties). When absent, only the tag's `source_did` may receive it back.
   */
  readonly permittedRecipients?: (receivedUnder: string) => readonly string[] | undefined;
  /** True when a `delete_on_event` event has happened. */
  readonly eventOccurred?: (event: string) => boolean;
  /** Check `received_under` (default true; the CCC gate handles NDAs itself). */
  readonly checkReceivedUnder?: boolean;
  /** Check classification and taint against the target (default true). */
  readonly checkClassification?: boolean;
}

/** A tag the sharing would violate. */
export interface SharingViolation {
  readonly tag: ProvenanceTag;
  /** `provenance.expired`, `provenance.purpose`, `provenance.classification`, `provenance.taint`, `provenance.received_under`, `provenance.deletion_event`. */
  readonly rule: string;
  readonly reason: string;
}

function expiresMs(text: string): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/u.test(text)) {
    const ms = Date.parse(`${text}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms + 86_400_000; // valid through the whole day
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * §29.2 purpose limitation: the use purpose must equal the tag's `purpose_limitation` (a
 * trailing `_only` of the limitation is ignored: `advisory_services_only` admits
 * `advisory_services`). No purpose given → violation.
 */
export function purposeAllowed(limitation: string, purpose: string | undefined): boolean {
  if (purpose === undefined) return false;
  return purpose === limitation || purpose === limitation.replace(/_only$/u, "");
}

/** Every tag the sharing would violate ([] = allowed). */
export function onwardSharingViolations(tags: readonly ProvenanceTag[], target: SharingTarget, checks: SharingChecks): SharingViolation[] {
  const out: SharingViolation[] = [];
  const now = checks.now.getTime();
  const maxClass = CLASSIFICATIONS.indexOf(target.max_classification ?? "internal");
  for (const tag of tags) {
    if (tag.expires !== undefined) {
      const exp = expiresMs(tag.expires);
      if (exp === undefined || exp <= now) out.push({ tag, rule: "provenance.expired", reason: `the data expired on ${tag.expires} and must not be used` });
    }
    if (tag.delete_on_event !== undefined && checks.eventOccurred?.(tag.delete_on_event) === true) {
      out.push({ tag, rule: "provenance.deletion_event", reason: `${tag.delete_on_event} happened: the data must be deleted` });
    }
    if (tag.purpose_limitation !== undefined && !purposeAllowed(tag.purpose_limitation, target.purpose)) {
      out.push({ tag, rule: "provenance.purpose", reason: `the data is limited to ${tag.purpose_limitation}, not ${target.purpose ?? "an undeclared purpose"}` });
    }
    if (checks.checkClassification !== false) {
      if (tag.classification !== undefined && CLASSIFICATIONS.indexOf(tag.classification) > maxClass) {
        out.push({ tag, rule: "provenance.classification", reason: `${tag.classification} data cannot go to a recipient cleared for ${target.max_classification ?? "internal"}` });
      }
      const missing = (tag.taint ?? []).filter((l) => !(target.clearance ?? []).includes(l));
      if (missing.length > 0) out.push({ tag, rule: "provenance.taint", reason: `the recipient is not cleared for ${missing.join(", ")}` });
    }
    if (checks.checkReceivedUnder !== false && tag.received_under !== undefined && target.did !== tag.source_did) {
      const permitted = checks.permittedRecipients?.(tag.received_under);
      if (!(permitted?.includes(target.did) ?? false)) {
        out.push({ tag, rule: "provenance.received_under", reason: `data received under ${tag.received_under} may not be shared with ${target.did}` });
      }
    }
  }
  return out;
}

/** §17.2 "MUST refuse onward sharing that violates any tag": 403 policy_block listing the violations. */
export function assertOnwardSharing(tags: readonly ProvenanceTag[], target: SharingTarget, checks: SharingChecks): void {
  const violations = onwardSharingViolations(tags, target, checks);
  if (violations.length === 0) return;
  throw new OapError("ERR_OAP_POLICY_BLOCK", `onward sharing refused: ${violations.map((v) => v.reason).join("; ")}`, {
    details: { rules: [...new Set(violations.map((v) => v.rule))], violations: violations.map((v) => ({ rule: v.rule, reason: v.reason, tag: provenanceStrings([v.tag]) })) },
  });
}

/** §29.2: tags whose purpose limitation the use would exceed. */
export function purposeViolations(tags: readonly ProvenanceTag[], purpose: string | undefined): ProvenanceTag[] {
  return tags.filter((t) => t.purpose_limitation !== undefined && !purposeAllowed(t.purpose_limitation, purpose));
}
