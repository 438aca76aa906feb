/**
 * Open Floor and OVON rules the envelope schemas cannot express (or, for nested dialog events
 * and manifests, do not: upstream writes `ref` where it means `$ref`). One function per rule,
 * named after the section of the Open Floor Inter-Agent Message Specification (1.0.0-1.1.x share
 * the numbering) or of the OVON 0.9.3 envelope specification; the pipelines at the end list the
 * order.
 *
 * Severity: "error" for MUSTs our typed model relies on, "warning" for SHOULDs and for MUSTs
 * upstream's own samples break (docs/ofp.md lists them).
 */
import { escapePointerToken } from "../json/pointer.js";
import { isJsonObject, type JsonObject } from "../json/types.js";
import { validateSchema, type SchemaName, type ValidationIssue } from "../schema/validate.js";

/** A rule violation (severity "error") or a SHOULD / leniently-received MUST ("warning"). */
export interface OfpRuleIssue extends ValidationIssue {
  severity: "error" | "warning";
}

/** A rule over the contents of an `openFloor` (or `ovon`) member located at `base`. */
export type EnvelopeRule = (envelope: JsonObject, base: string) => OfpRuleIssue[];

interface EventAt {
  event: JsonObject;
  pointer: string;
}

function eventsOf(envelope: JsonObject, base: string): EventAt[] {
  const events = envelope["events"];
  if (!Array.isArray(events)) return [];
  return events.flatMap((event, i) => (isJsonObject(event) ? [{ event, pointer: `${base}/events/${i}` }] : []));
}

function parametersOf(event: JsonObject): JsonObject | undefined {
  const p = event["parameters"];
  return isJsonObject(p) ? p : undefined;
}

function issue(severity: OfpRuleIssue["severity"], pointer: string, message: string, rule: string): OfpRuleIssue {
  return { severity, pointer, message, rule };
}

/**
 * Checks a nested dialog event against its schema. Every problem is an error except a missing
 * `id`, which no upstream envelope sample provides: that one is a warning.
 */
function nestedDialogEvent(schema: SchemaName, value: unknown, pointer: string, rule: string): OfpRuleIssue[] {
  return validateSchema(schema, value).map((i) =>
    issue(i.pointer === "/id" && i.rule === "schema:required" ? "warning" : "error", pointer + i.pointer, i.message, `${rule} (${schema})`),
  );
}

/** §1.8: each event object must have an `eventType` (the schemas list it but do not require it). */
export function eventTypeRule_1_8(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base)
    .filter(({ event }) => !Object.hasOwn(event, "eventType"))
    .map(({ pointer }) => issue("error", `${pointer}/eventType`, "is required", "§1.8"));
}

/** §1.8: a `to` section, when present, must contain a `serviceUrl` or a `speakerUri` or both. */
export function toRule_1_8(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    const to = event["to"];
    if (!isJsonObject(to) || Object.hasOwn(to, "speakerUri") || Object.hasOwn(to, "serviceUrl")) return [];
    return [issue("error", `${pointer}/to`, "must contain speakerUri or serviceUrl (or both)", "§1.8")];
  });
}

/**
 * §1.10: an utterance has one mandatory parameter, `dialogEvent`, which must be a valid dialog
 * event (Dialog Event spec 1.0.2; a missing `id` is only a warning).
 */
export function utteranceRule_1_10(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    if (event["eventType"] !== "utterance") return [];
    const params = parametersOf(event);
    if (params === undefined || !Object.hasOwn(params, "dialogEvent")) {
      return [issue("error", `${pointer}/parameters/dialogEvent`, "is required", "§1.10")];
    }
    return nestedDialogEvent("ofp-dialog-event-1.0.2", params["dialogEvent"], `${pointer}/parameters/dialogEvent`, "§1.10");
  });
}

/** §1.10.1: the `text` feature is mandatory in the dialog event of an utterance. */
export function textFeatureRule_1_10_1(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    const de = event["eventType"] === "utterance" ? parametersOf(event)?.["dialogEvent"] : undefined;
    if (!isJsonObject(de) || !isJsonObject(de["features"]) || Object.hasOwn(de["features"], "text")) return [];
    return [issue("error", `${pointer}/parameters/dialogEvent/features/text`, "is required: every utterance carries a text feature", "§1.10.1")];
  });
}

/**
 * §1.12 (invite, 1.0.1+) and the 1.0.0 context event: `dialogHistory` is a list of dialog
 * events, each checked like an utterance's (a missing `id` is only a warning).
 */
export function dialogHistoryRule_1_12(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    if (event["eventType"] !== "invite" && event["eventType"] !== "context") return [];
    const history = parametersOf(event)?.["dialogHistory"];
    if (!Array.isArray(history)) return [];
    return history.flatMap((de, j) => nestedDialogEvent("ofp-dialog-event-1.0.2", de, `${pointer}/parameters/dialogHistory/${j}`, "§1.12"));
  });
}

/**
 * §1.12: the `to` of an invite must contain a `serviceUrl`. A warning: the same section allows
 * `to` to be absent (everyone is invited), and the reference Python library invites by
 * `speakerUri` alone.
 */
export function inviteRule_1_12(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    const to = event["to"];
    if (event["eventType"] !== "invite" || !isJsonObject(to) || Object.hasOwn(to, "serviceUrl")) return [];
    return [issue("warning", `${pointer}/to/serviceUrl`, "an invite should name the invitee's serviceUrl", "§1.12")];
  });
}

/**
 * §1.6.1: `conversants` is mandatory when the conversation has `assignedFloorRoles` or
 * `floorGranted`. A warning: upstream's own 1.0.1/1.1.0 grantFloor samples omit it.
 */
export function conversantsRule_1_6_1(envelope: JsonObject, base: string): OfpRuleIssue[] {
  const conv = envelope["conversation"];
  if (!isJsonObject(conv) || Object.hasOwn(conv, "conversants")) return [];
  if (!Object.hasOwn(conv, "assignedFloorRoles") && !Object.hasOwn(conv, "floorGranted")) return [];
  return [issue("warning", `${base}/conversation/conversants`, "is mandatory when assignedFloorRoles or floorGranted is present", "§1.6.1")];
}

/** §1.6.2: conversants that are assigned roles must also be listed in `conversants`. */
export function floorRolesRule_1_6_2(envelope: JsonObject, base: string): OfpRuleIssue[] {
  const conv = envelope["conversation"];
  if (!isJsonObject(conv) || !isJsonObject(conv["assignedFloorRoles"]) || !Array.isArray(conv["conversants"])) return [];
  const listed = new Set(
    conv["conversants"].flatMap((c) => (isJsonObject(c) && isJsonObject(c["identification"]) ? [c["identification"]["speakerUri"]] : [])),
  );
  return Object.entries(conv["assignedFloorRoles"]).flatMap(([role, uris]) =>
    (Array.isArray(uris) ? uris : []).flatMap((uri, i) =>
      listed.has(uri)
        ? []
        : [issue("warning", `${base}/conversation/assignedFloorRoles/${escapePointerToken(role)}/${i}`, `${JSON.stringify(uri)} is not listed in conversants`, "§1.6.2")],
    ),
  );
}

/**
 * §1.18: the manifests of `publishManifests` follow the Assistant Manifest spec 1.0.1 and may add
 * a `score` between 0.0 and 1.0. Each list must be an array of objects with an `identification`
 * object (error: the typed model relies on it); everything else is a warning, because upstream's
 * own samples publish OVON-era manifests.
 */
export function publishManifestsRule_1_18(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    if (event["eventType"] !== "publishManifests") return [];
    const params = parametersOf(event) ?? {};
    return (["servicingManifests", "discoveryManifests"] as const).flatMap((list) => {
      const manifests = params[list];
      if (manifests === undefined) return [];
      if (!Array.isArray(manifests)) return [issue("error", `${pointer}/parameters/${list}`, "must be an array of manifests", "§1.18")];
      return manifests.flatMap((m, j) => {
        const at = `${pointer}/parameters/${list}/${j}`;
        if (!isJsonObject(m) || !isJsonObject(m["identification"])) {
          return [issue("error", `${at}/identification`, "a published manifest must be an object with an identification object", "§1.18")];
        }
        const out = validateSchema("ofp-assistant-manifest-1.0.1", m).map((i) =>
          issue("warning", at + i.pointer, i.message, "§1.18 (ofp-assistant-manifest-1.0.1)"),
        );
        const score = m["score"];
        if (score !== undefined && (typeof score !== "number" || score < 0 || score > 1)) {
          out.push(issue("warning", `${at}/score`, "a recommendation score is a number between 0.0 and 1.0", "§1.18"));
        }
        return out;
      });
    });
  });
}

/** The Open Floor envelope rules, in evaluation order. */
export const OFP_ENVELOPE_RULES: readonly EnvelopeRule[] = [
  eventTypeRule_1_8,
  toRule_1_8,
  utteranceRule_1_10,
  textFeatureRule_1_10_1,
  dialogHistoryRule_1_12,
  inviteRule_1_12,
  conversantsRule_1_6_1,
  floorRolesRule_1_6_2,
  publishManifestsRule_1_18,
];

/** OVON §1.8: each event object must have an `eventType`. */
export function ovonEventTypeRule_1_8(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventTypeRule_1_8(envelope, base).map((i) => ({ ...i, rule: "OVON §1.8" }));
}

/**
 * OVON §1.8: `to` is the URL of the intended recipient and `private` a boolean (0.9.0 and 0.9.1
 * do not define them, so their schemas let anything through).
 */
export function ovonToRule_1_8(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => [
    ...(Object.hasOwn(event, "to") && typeof event["to"] !== "string" ? [issue("error", `${pointer}/to`, "must be a string (the recipient's URL)", "OVON §1.8")] : []),
    ...(Object.hasOwn(event, "private") && typeof event["private"] !== "boolean" ? [issue("error", `${pointer}/private`, "must be a boolean", "OVON §1.8")] : []),
  ]);
}

/**
 * OVON §1.10/§1.11: utterance and whisper carry a dialog event (Dialog Event spec 1.0.1). OVON
 * samples routinely break that schema (`speakerID`, features without tokens): warnings only.
 */
export function ovonDialogEventRule_1_10(envelope: JsonObject, base: string): OfpRuleIssue[] {
  return eventsOf(envelope, base).flatMap(({ event, pointer }) => {
    if (event["eventType"] !== "utterance" && event["eventType"] !== "whisper") return [];
    const de = parametersOf(event)?.["dialogEvent"];
    if (de === undefined) return [issue("warning", `${pointer}/parameters/dialogEvent`, "is required", "OVON §1.10")];
    return validateSchema("ovon-dialog-event-1.0.1", de).map((i) =>
      issue("warning", `${pointer}/parameters/dialogEvent${i.pointer}`, i.message, "OVON §1.10 (ovon-dialog-event-1.0.1)"),
    );
  });
}

/** The OVON envelope rules, in evaluation order. */
export const OVON_ENVELOPE_RULES: readonly EnvelopeRule[] = [ovonEventTypeRule_1_8, ovonToRule_1_8, ovonDialogEventRule_1_10];

/** Runs `rules` over `doc[member]` (no-op when that member is not an object). */
export function runEnvelopeRules(doc: unknown, member: "openFloor" | "ovon", rules: readonly EnvelopeRule[]): OfpRuleIssue[] {
  if (!isJsonObject(doc) || !isJsonObject(doc[member])) return [];
  const envelope = doc[member];
  return rules.flatMap((rule) => rule(envelope, `/${member}`));
}
