/**
 * Which Open Floor / OVON versions agentwire ships schemas for, which event types each version's
 * envelope schema admits, and how a document's declared version picks its schema.
 *
 * The event-type tables mirror the `eventType` enums of the schemas in schemas/ofp and
 * schemas/ovon (test/ofp/schemas.test.ts proves they are equal); translation needs them to know
 * what a target version can express.
 */
import type { SchemaName } from "../../gen/schemas.js";
import { isJsonObject, type JsonObject } from "../json/types.js";

/** Envelope versions with an `openFloor` top-level member (0.9.4 is the pre-1.0 draft). */
export const OFP_ENVELOPE_VERSIONS = ["0.9.4", "1.0.0", "1.0.1", "1.1.0"] as const;
export type OfpEnvelopeVersion = (typeof OFP_ENVELOPE_VERSIONS)[number];

/** The published 1.x versions the builders and the translator emit. */
export const OFP_1X_VERSIONS = ["1.0.0", "1.0.1", "1.1.0"] as const;
export type Ofp1xVersion = (typeof OFP_1X_VERSIONS)[number];

/** The newest Open Floor envelope version agentwire ships a schema for. */
export const OFP_LATEST_VERSION: Ofp1xVersion = "1.1.0";

/** OVON envelope versions (top-level member `ovon`). */
export const OVON_ENVELOPE_VERSIONS = ["0.9.0", "0.9.1", "0.9.2", "0.9.3"] as const;
export type OvonEnvelopeVersion = (typeof OVON_ENVELOPE_VERSIONS)[number];

/** The newest OVON envelope version (a superset of the earlier 0.9.x schemas). */
export const OVON_LATEST_VERSION: OvonEnvelopeVersion = "0.9.3";

const OFP_1_0_1_EVENTS = [
  "invite",
  "uninvite",
  "acceptInvite",
  "declineInvite",
  "utterance",
  "bye",
  "getManifests",
  "publishManifests",
  "requestFloor",
  "grantFloor",
  "revokeFloor",
  "yieldFloor",
] as const;

/** The `eventType` enum of each Open Floor envelope schema. */
export const OFP_EVENT_TYPES: { readonly [V in OfpEnvelopeVersion]: readonly string[] } = {
  "0.9.4": [
    "invite",
    "uninvite",
    "declineInvite",
    "utterance",
    "bye",
    "context",
    "getManifests",
    "publishManifest",
    "findAssistant",
    "proposeAssistant",
    "requestFloor",
    "grantFloor",
    "revokeFloor",
    "yieldFloor",
  ],
  "1.0.0": [
    "invite",
    "uninvite",
    "declineInvite",
    "utterance",
    "bye",
    "context",
    "getManifests",
    "publishManifests",
    "findAssistant",
    "proposeAssistant",
    "requestFloor",
    "grantFloor",
    "revokeFloor",
    "yieldFloor",
  ],
  "1.0.1": OFP_1_0_1_EVENTS,
  "1.1.0": OFP_1_0_1_EVENTS,
};

const OVON_0_9_2_EVENTS = [
  "utterance",
  "whisper",
  "invite",
  "bye",
  "requestManifest",
  "publishManifest",
  "findAssistant",
  "proposeAssistant",
] as const;

/** The `eventType` enum of each OVON envelope schema. */
export const OVON_EVENT_TYPES: { readonly [V in OvonEnvelopeVersion]: readonly string[] } = {
  "0.9.0": ["utterance", "whisper", "invite", "bye"],
  "0.9.1": ["utterance", "whisper", "invite", "bye"],
  "0.9.2": OVON_0_9_2_EVENTS,
  "0.9.3": OVON_0_9_2_EVENTS,
};

export function isOfpEnvelopeVersion(v: unknown): v is OfpEnvelopeVersion {
  return typeof v === "string" && (OFP_ENVELOPE_VERSIONS as readonly string[]).includes(v);
}

export function isOfp1xVersion(v: unknown): v is Ofp1xVersion {
  return typeof v === "string" && (OFP_1X_VERSIONS as readonly string[]).includes(v);
}

export function isOvonEnvelopeVersion(v: unknown): v is OvonEnvelopeVersion {
  return typeof v === "string" && (OVON_ENVELOPE_VERSIONS as readonly string[]).includes(v);
}

/** A declared version mapped onto a shipped schema version. */
export interface ResolvedVersion<V extends string> {
  /** The shipped version whose schema applies. */
  version: V;
  /** What the document declares (`schema.version`), when it is a string. */
  declared: string | undefined;
  /** True when `declared` is exactly `version`. */
  exact: boolean;
}

/**
 * Picks the schema version for a declared version: the same version when shipped; otherwise the
 * newest shipped version of the same major.minor line (1.1.1 → 1.1.0, 0.9.2 under `openFloor`
 * → 0.9.4); otherwise the newest shipped version.
 */
function resolve<V extends string>(declared: unknown, shipped: readonly V[], latest: V): ResolvedVersion<V> {
  const d = typeof declared === "string" ? declared : undefined;
  if (d !== undefined && (shipped as readonly string[]).includes(d)) return { version: d as V, declared: d, exact: true };
  const line = d?.match(/^(\d+)\.(\d+)(?:\.|$)/);
  const sameLine = line ? shipped.filter((v) => v.startsWith(`${line[1]}.${line[2]}.`)) : [];
  return { version: sameLine[sameLine.length - 1] ?? latest, declared: d, exact: false };
}

/** Resolves an `openFloor.schema.version` value (see {@link resolve} for the fallback rule). */
export function resolveOfpVersion(declared: unknown): ResolvedVersion<OfpEnvelopeVersion> {
  return resolve(declared, OFP_ENVELOPE_VERSIONS, OFP_LATEST_VERSION);
}

/** Resolves an `ovon.schema.version` value (OVON samples declare "1.0" and "0.9.2" freely). */
export function resolveOvonVersion(declared: unknown): ResolvedVersion<OvonEnvelopeVersion> {
  return resolve(declared, OVON_ENVELOPE_VERSIONS, OVON_LATEST_VERSION);
}

/** Schema name of an Open Floor envelope version. */
export function ofpEnvelopeSchema(version: OfpEnvelopeVersion): SchemaName {
  return `ofp-envelope-${version}`;
}

/** Schema name of an OVON envelope version. */
export function ovonEnvelopeSchema(version: OvonEnvelopeVersion): SchemaName {
  return `ovon-envelope-${version}`;
}

/** The kinds of Open Floor / OVON documents agentwire recognises. */
export type OfpDocumentKind = "openFloor" | "ovon" | "dialogEvent" | "manifest";

/**
 * Which Open Floor / OVON document `doc` is, from its distinguishing members: `openFloor` or
 * `ovon` (envelopes), `span` + `features` (dialog event), `identification` + `capabilities`
 * (assistant manifest).
 */
export function ofpDocumentKind(doc: unknown): OfpDocumentKind | undefined {
  if (!isJsonObject(doc)) return undefined;
  if (isJsonObject(doc["openFloor"])) return "openFloor";
  if (isJsonObject(doc["ovon"])) return "ovon";
  if (isJsonObject(doc["span"]) && isJsonObject(doc["features"])) return "dialogEvent";
  if (isJsonObject(doc["identification"]) && Object.hasOwn(doc, "capabilities")) return "manifest";
  return undefined;
}

function schemaVersionOf(envelope: unknown): unknown {
  return isJsonObject(envelope) && isJsonObject(envelope["schema"]) ? envelope["schema"]["version"] : undefined;
}

/**
 * The schema for an Open Floor / OVON document, or undefined when it is none of them.
 * Envelopes: by declared version ({@link resolveOfpVersion}, {@link resolveOvonVersion}).
 * Dialog events: `speakerId` without `speakerUri` → OVON-era 1.0.1, else 1.0.2. Manifests carry no
 * version: `identification.serviceEndpoint` marks 0.9.0 (with `serviceName` or a list-valued
 * `supportedLayers`) or 0.9.1 (otherwise); everything else is checked against 1.0.1.
 */
export function detectOfpSchema(doc: unknown): SchemaName | undefined {
  const kind = ofpDocumentKind(doc);
  if (kind === undefined || !isJsonObject(doc)) return undefined;
  switch (kind) {
    case "openFloor":
      return ofpEnvelopeSchema(resolveOfpVersion(schemaVersionOf(doc["openFloor"])).version);
    case "ovon":
      return ovonEnvelopeSchema(resolveOvonVersion(schemaVersionOf(doc["ovon"])).version);
    case "dialogEvent":
      return Object.hasOwn(doc, "speakerId") && !Object.hasOwn(doc, "speakerUri") ? "ovon-dialog-event-1.0.1" : "ofp-dialog-event-1.0.2";
    case "manifest":
      return manifestSchemaOf(doc);
  }
}

function manifestSchemaOf(doc: JsonObject): SchemaName {
  const id = doc["identification"];
  const caps = doc["capabilities"];
  const listLayers = Array.isArray(caps) && caps.some((c) => isJsonObject(c) && Array.isArray(c["supportedLayers"]));
  if (!isJsonObject(id) || !Object.hasOwn(id, "serviceEndpoint")) return "ofp-assistant-manifest-1.0.1";
  return listLayers || Object.hasOwn(id, "serviceName") ? "ovon-assistant-manifest-0.9.0" : "ovon-assistant-manifest-0.9.1";
}

/** The declared `schema.version` of an `openFloor` or `ovon` envelope document, if any. */
export function declaredVersion(doc: unknown): string | undefined {
  if (!isJsonObject(doc)) return undefined;
  const v = schemaVersionOf(doc["openFloor"] ?? doc["ovon"]);
  return typeof v === "string" ? v : undefined;
}
