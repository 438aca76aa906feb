/**
 * Parsers for untrusted Open Floor / OVON input: strict JSON (duplicate keys, unsafe integers and
 * lone surrogates are rejected), then {@link validateOfp}, then the typed model. Every parser
 * returns a fresh copy; nothing aliases the caller's input.
 */
import { JsonParseError, parseJsonStrict } from "../json/parse.js";
import type { SchemaName, ValidationIssue } from "../schema/validate.js";
import { OfpError } from "./errors.js";
import type { OvonDocument, OvonEnvelope } from "./ovon-types.js";
import type { DialogEvent, Manifest, OfpDocument, OfpEnvelope } from "./types.js";
import { validateOfp } from "./validate.js";
import { ofpDocumentKind, resolveOfpVersion, resolveOvonVersion, type OfpDocumentKind, type OfpEnvelopeVersion, type OvonEnvelopeVersion } from "./versions.js";

/** Options of the parsers. */
export interface OfpParseOptions {
  /** Tolerate peers that omit `identification.organization` / `synopsis` (see validateOfp). */
  lenient?: boolean;
}

/** A parsed document with the warnings validation produced. */
export interface Parsed<T> {
  value: T;
  schema: SchemaName;
  warnings: ValidationIssue[];
}

/** A parsed Open Floor envelope. */
export interface ParsedOfpEnvelope extends Parsed<OfpDocument> {
  /** Shorthand for `value.openFloor`. */
  envelope: OfpEnvelope;
  /** The schema version the envelope was validated against. */
  version: OfpEnvelopeVersion;
}

/** A parsed OVON envelope. */
export interface ParsedOvonEnvelope extends Parsed<OvonDocument> {
  envelope: OvonEnvelope;
  version: OvonEnvelopeVersion;
}

/** Strict JSON text or an already-parsed value, cloned. Throws ERR_OFP_JSON. */
export function toJsonValue(input: unknown): unknown {
  if (typeof input !== "string") return structuredClone(input);
  try {
    return parseJsonStrict(input);
  } catch (cause) {
    const pointer = cause instanceof JsonParseError ? cause.detail?.["pointer"] : undefined;
    throw new OfpError("ERR_OFP_JSON", `not strict JSON: ${(cause as Error).message}`, { cause, ...(pointer === undefined ? {} : { detail: { pointer } }) });
  }
}

function summary(errors: readonly ValidationIssue[]): string {
  const first = errors[0];
  if (first === undefined) return "invalid";
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return `${first.pointer || "/"}: ${first.message} [${first.rule}]${more}`;
}

function parseKind(input: unknown, kind: OfpDocumentKind, options: OfpParseOptions, what: string): { value: unknown; schema: SchemaName; warnings: ValidationIssue[] } {
  const value = toJsonValue(input);
  if (ofpDocumentKind(value) !== kind) throw new OfpError("ERR_OFP_NOT_ENVELOPE", `not ${what}`);
  const result = validateOfp(value, options.lenient === undefined ? {} : { lenient: options.lenient });
  if (!result.valid || result.schema === undefined) {
    throw new OfpError("ERR_OFP_INVALID", `invalid ${what}: ${summary(result.errors)}`, { detail: { errors: result.errors, warnings: result.warnings } });
  }
  return { value, schema: result.schema, warnings: result.warnings };
}

/**
 * Parses an Open Floor envelope (`{"openFloor": ...}`, any shipped version). Throws OfpError:
 * ERR_OFP_JSON, ERR_OFP_NOT_ENVELOPE, or ERR_OFP_INVALID with `detail.errors` (JSON pointers).
 */
export function parseOfpEnvelope(input: unknown, options: OfpParseOptions = {}): ParsedOfpEnvelope {
  const { value, schema, warnings } = parseKind(input, "openFloor", options, "an Open Floor envelope");
  const doc = value as OfpDocument;
  return { value: doc, envelope: doc.openFloor, schema, warnings, version: resolveOfpVersion(doc.openFloor.schema.version).version };
}

/** Parses an OVON 0.9.x envelope (`{"ovon": ...}`). Throws like {@link parseOfpEnvelope}. */
export function parseOvonEnvelope(input: unknown, options: OfpParseOptions = {}): ParsedOvonEnvelope {
  const { value, schema, warnings } = parseKind(input, "ovon", options, "an OVON envelope");
  const doc = value as OvonDocument;
  return { value: doc, envelope: doc.ovon, schema, warnings, version: resolveOvonVersion(doc.ovon.schema.version).version };
}

/** Parses a standalone dialog event against Dialog Event spec 1.0.2 (`id` required). */
export function parseDialogEvent(input: unknown): Parsed<DialogEvent> {
  const value = toJsonValue(input);
  const result = validateOfp(value, { schema: "ofp-dialog-event-1.0.2" });
  if (!result.valid) throw new OfpError("ERR_OFP_INVALID", `invalid dialog event: ${summary(result.errors)}`, { detail: { errors: result.errors } });
  return { value: value as DialogEvent, schema: "ofp-dialog-event-1.0.2", warnings: result.warnings };
}

/** Parses an assistant manifest against Assistant Manifest spec 1.0.1. */
export function parseManifest(input: unknown, options: OfpParseOptions = {}): Parsed<Manifest> {
  const value = toJsonValue(input);
  const result = validateOfp(value, { schema: "ofp-assistant-manifest-1.0.1", ...(options.lenient === undefined ? {} : { lenient: options.lenient }) });
  if (!result.valid) throw new OfpError("ERR_OFP_INVALID", `invalid manifest: ${summary(result.errors)}`, { detail: { errors: result.errors } });
  return { value: value as Manifest, schema: "ofp-assistant-manifest-1.0.1", warnings: result.warnings };
}
