/**
 * The two field mappings between OVON 0.9.x and Open Floor 1.x, as pure functions over JSON.
 * docs/ofp-translation.md is the prose version of this file; keep them in step.
 *
 * These functions do not validate and do not carry residues: index.ts does both. Members a
 * mapping does not name are left behind (the residue carries them), except inside dialog
 * events, features, tokens and manifests, whose extension members pass through unchanged.
 */
import { isDeepStrictEqual } from "node:util";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { OfpError } from "../errors.js";
import type { To } from "../types.js";
import { OVON_EVENT_TYPES, type OfpEnvelopeVersion, type OvonEnvelopeVersion } from "../versions.js";

/** Options of {@link ovonToOfpMap}. */
export interface OvonToOfpMapOptions {
  /**
   * Recipient for OVON whispers that name none. OVON sends those to the "focal agent", a notion
   * Open Floor does not have, and an Open Floor private utterance must name its recipient
   * (§1.8). Without this option such whispers cannot be translated.
   */
  whisperTo?: To;
}

/** Options of {@link ofpToOvonMap}. */
export interface OfpToOvonMapOptions {
  /** Drop events the target OVON version has no equivalent for (else: ERR_OFP_TRANSLATE_UNSUPPORTED). */
  dropUnsupported?: boolean;
  /** Called for every dropped event. */
  onDrop?: (pointer: string, eventType: string) => void;
}

function unsupported(pointer: string, message: string): never {
  throw new OfpError("ERR_OFP_TRANSLATE_UNSUPPORTED", `${pointer}: ${message}`, { detail: { pointer } });
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(v) ? v : undefined;
}

/** Copies `o` with member `from` renamed to `to` (in place, keeping member order) unless `to` exists. */
function rename(o: JsonObject, from: string, to: string): JsonObject {
  if (!Object.hasOwn(o, from) || Object.hasOwn(o, to)) return { ...o };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k === from ? to : k, v]));
}

// ---------------------------------------------------------------------------------------------
// Dialog events: 1.0.1 `speakerId` (1.0.0 `speakerID`) ↔ 1.0.2 `speakerUri`.

/** A dialog event feature Open Floor can carry: a `mimeType` string and a `tokens` list. */
function isCarriableFeature(f: JsonValue | undefined): boolean {
  return isJsonObject(f) && typeof f["mimeType"] === "string" && Array.isArray(f["tokens"]);
}

function dialogEventToOfp(de: JsonObject, pointer: string): JsonObject {
  const speakerKey = ["speakerUri", "speakerId", "speakerID"].find((k) => typeof de[k] === "string");
  if (speakerKey === undefined) unsupported(pointer, "the dialog event names no speaker (speakerId)");
  const out = rename(de, speakerKey, "speakerUri");
  const features = obj(de["features"]);
  if (features !== undefined) out["features"] = Object.fromEntries(Object.entries(features).filter(([, f]) => isCarriableFeature(f)));
  return out;
}

function dialogEventToOvon(de: JsonObject): JsonObject {
  return rename(de, "speakerUri", "speakerId");
}

// ---------------------------------------------------------------------------------------------
// Manifests: Assistant Manifest 0.9.0 (serviceEndpoint, serviceName, layer list) ↔ 1.0.x.

function identificationToOfp(id: JsonObject): JsonObject {
  const out = rename(rename(id, "serviceEndpoint", "serviceUrl"), "serviceName", "department");
  const url = str(out["serviceUrl"]);
  return Object.hasOwn(out, "speakerUri") || url === undefined ? out : { speakerUri: url, ...out };
}

function identificationToOvon(id: JsonObject): JsonObject {
  const out = rename(rename(id, "serviceUrl", "serviceEndpoint"), "department", "serviceName");
  if (Object.hasOwn(out, "speakerUri") && out["speakerUri"] === out["serviceEndpoint"]) delete out["speakerUri"];
  return out;
}

function manifestToOfp(m: JsonObject): JsonObject {
  const out = { ...m };
  const id = obj(m["identification"]);
  if (id !== undefined) out["identification"] = identificationToOfp(id);
  if (Array.isArray(m["capabilities"])) {
    out["capabilities"] = m["capabilities"].map((c) =>
      isJsonObject(c) && Array.isArray(c["supportedLayers"]) ? { ...c, supportedLayers: { input: [...c["supportedLayers"]], output: [...c["supportedLayers"]] } } : c,
    );
  }
  return out;
}

function manifestToOvon(m: JsonObject): JsonObject {
  const out = { ...m };
  const id = obj(m["identification"]);
  if (id !== undefined) out["identification"] = identificationToOvon(id);
  if (Array.isArray(m["capabilities"])) {
    out["capabilities"] = m["capabilities"].map((c) => {
      const layers = isJsonObject(c) ? obj(c["supportedLayers"]) : undefined;
      if (!isJsonObject(c) || layers === undefined || !Array.isArray(layers["input"]) || !Array.isArray(layers["output"])) return c;
      const list = isDeepStrictEqual(layers["input"], layers["output"]) ? [...layers["input"]] : [...new Set([...layers["input"], ...layers["output"]])];
      return { ...c, supportedLayers: list as JsonValue };
    });
  }
  return out;
}

/** OVON proposal scores are integers 0-100 (percent); Open Floor scores are 0.0-1.0 (§1.18). */
function proposalToOfp(p: JsonValue): JsonValue {
  if (!isJsonObject(p)) return p;
  const out = manifestToOfp(p);
  if (typeof p["score"] === "number") out["score"] = p["score"] / 100;
  return out;
}

function proposalToOvon(p: JsonValue): JsonValue {
  if (!isJsonObject(p)) return p;
  const out = manifestToOvon(p);
  if (typeof p["score"] === "number") out["score"] = Math.round(p["score"] * 100);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Events.

function eventToOfp(e: JsonObject, pointer: string, options: OvonToOfpMapOptions): JsonObject {
  const type = str(e["eventType"]);
  const params = obj(e["parameters"]);
  const inviteUrl = type === "invite" ? str(obj(params?.["to"])?.["url"]) : undefined;
  const url = inviteUrl ?? str(e["to"]);
  let to: JsonObject | undefined = url === undefined ? undefined : { serviceUrl: url };
  if (type === "whisper") {
    if (to === undefined && options.whisperTo === undefined) unsupported(`${pointer}/to`, "a whisper without `to` (OVON: the focal agent) needs an explicit recipient (whisperTo)");
    to = { ...(to ?? (structuredClone(options.whisperTo) as JsonObject)), private: true };
  } else if (to !== undefined && typeof e["private"] === "boolean") {
    to["private"] = e["private"];
  }
  const head = (eventType: string): JsonObject => ({ eventType, ...(to === undefined ? {} : { to }) });
  switch (type) {
    case "utterance":
    case "whisper": {
      const de = obj(params?.["dialogEvent"]);
      if (de === undefined) unsupported(`${pointer}/parameters/dialogEvent`, "an utterance needs a dialog event");
      return { ...head("utterance"), parameters: { dialogEvent: dialogEventToOfp(de, `${pointer}/parameters/dialogEvent`) } };
    }
    case "invite":
      return head("invite");
    case "bye":
      return head("bye");
    case "requestManifest":
      return head("getManifests");
    case "findAssistant":
      return { ...head("getManifests"), parameters: { recommendScope: "all" } };
    case "publishManifest": {
      const manifest = obj(params?.["manifest"]);
      return { ...head("publishManifests"), ...(manifest === undefined ? {} : { parameters: { servicingManifests: [manifestToOfp(manifest)] } }) };
    }
    case "proposeAssistant": {
      const lists = Object.fromEntries(
        (["servicingManifests", "discoveryManifests"] as const).flatMap((k) => {
          const list = params?.[k];
          return Array.isArray(list) ? [[k, list.filter(isJsonObject).map(proposalToOfp)]] : [];
        }),
      );
      return { ...head("publishManifests"), ...(Object.keys(lists).length === 0 ? {} : { parameters: lists }) };
    }
    default:
      return unsupported(`${pointer}/eventType`, `no Open Floor equivalent for OVON event type ${JSON.stringify(type)}`);
  }
}

function eventToOvon(e: JsonObject, version: OvonEnvelopeVersion): JsonObject | undefined {
  const type = str(e["eventType"]);
  const to = obj(e["to"]);
  const url = str(to?.["serviceUrl"]) ?? str(to?.["speakerUri"]);
  const isPrivate = to?.["private"] === true;
  const params = obj(e["parameters"]);
  const head = (eventType: string, withPrivate = true): JsonObject => ({
    eventType,
    ...(url === undefined ? {} : { to: url }),
    ...(withPrivate && isPrivate ? { private: true } : {}),
  });
  let out: JsonObject | undefined;
  switch (type) {
    case "utterance": {
      const de = obj(params?.["dialogEvent"]) ?? {};
      out = { ...head(isPrivate ? "whisper" : "utterance", false), parameters: { dialogEvent: dialogEventToOvon(de) } };
      break;
    }
    case "invite":
      out = { eventType: "invite", ...(url === undefined ? {} : { parameters: { to: { url } } }) };
      break;
    case "bye":
      out = head("bye");
      break;
    case "getManifests": {
      const scope = params?.["recommendScope"];
      out = head(scope === "external" || scope === "all" ? "findAssistant" : "requestManifest");
      break;
    }
    case "publishManifests":
    case "publishManifest": // the 0.9.4 draft's name, same parameters
    case "proposeAssistant": {
      const servicing = params?.["servicingManifests"];
      const discovery = params?.["discoveryManifests"];
      const single = Array.isArray(servicing) && servicing.length === 1 && isJsonObject(servicing[0]) && !Object.hasOwn(servicing[0], "score") ? servicing[0] : undefined;
      if (type !== "proposeAssistant" && single !== undefined && discovery === undefined) {
        out = { ...head("publishManifest"), parameters: { manifest: manifestToOvon(single) } };
      } else {
        const lists = Object.fromEntries(
          ([["servicingManifests", servicing], ["discoveryManifests", discovery]] as const).flatMap(([k, list]) => (Array.isArray(list) ? [[k, list.map(proposalToOvon)]] : [])),
        );
        out = { ...head("proposeAssistant"), ...(Object.keys(lists).length === 0 ? {} : { parameters: lists }) };
      }
      break;
    }
    case "findAssistant": // 0.9.4 / 1.0.0 draft leftover: OVON has the same event
      out = head("findAssistant");
      break;
    default:
      out = undefined;
  }
  if (out === undefined || !OVON_EVENT_TYPES[version].includes(String(out["eventType"]))) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Envelopes.

/**
 * OVON 0.9.x → Open Floor (`version` is only the label written to `schema.version`). `sender.from`
 * (the sender's URL) becomes both `speakerUri` and `serviceUrl`.
 */
export function ovonToOfpMap(doc: JsonObject, version: OfpEnvelopeVersion, options: OvonToOfpMapOptions = {}): JsonObject {
  const ovon = obj(doc["ovon"]) ?? {};
  const from = str(obj(ovon["sender"])?.["from"]);
  const events = Array.isArray(ovon["events"]) ? ovon["events"] : [];
  return {
    openFloor: {
      schema: { version },
      conversation: { id: obj(ovon["conversation"])?.["id"] ?? null },
      sender: from === undefined ? {} : { speakerUri: from, serviceUrl: from },
      events: events.map((e, i) => eventToOfp(obj(e) ?? {}, `/ovon/events/${i}`, options)),
    },
  };
}

/**
 * Open Floor → OVON `version`. `sender.from` is the sender's `serviceUrl`, else its `speakerUri`;
 * an event's `to` likewise. Events without an equivalent in `version` throw
 * ERR_OFP_TRANSLATE_UNSUPPORTED, or are dropped with `dropUnsupported`.
 */
export function ofpToOvonMap(doc: JsonObject, version: OvonEnvelopeVersion, options: OfpToOvonMapOptions = {}): JsonObject {
  const of = obj(doc["openFloor"]) ?? {};
  const sender = obj(of["sender"]) ?? {};
  const from = str(sender["serviceUrl"]) ?? str(sender["speakerUri"]);
  const events = Array.isArray(of["events"]) ? of["events"] : [];
  const out: JsonValue[] = [];
  events.forEach((e, i) => {
    const pointer = `/openFloor/events/${i}`;
    const mapped = eventToOvon(obj(e) ?? {}, version);
    const type = String(obj(e)?.["eventType"]);
    if (mapped !== undefined) out.push(mapped);
    else if (options.dropUnsupported === true) options.onDrop?.(pointer, type);
    else unsupported(`${pointer}/eventType`, `OVON ${version} has no equivalent for Open Floor event type ${JSON.stringify(type)}`);
  });
  return {
    ovon: {
      schema: { version },
      conversation: { id: obj(of["conversation"])?.["id"] ?? null },
      sender: from === undefined ? {} : { from },
      events: out,
    },
  };
}
