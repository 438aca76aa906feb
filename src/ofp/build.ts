/**
 * Builders for Open Floor 1.x envelopes, events, dialog events and manifests. Pure: no clock, no
 * random ids (callers pass `id` and `startTime`). Event builders check what they can locally;
 * {@link buildOfpEnvelope} and {@link buildManifest} validate the result against the schema of
 * the target version and the rules of rules.ts and refuse (OfpError ERR_OFP_BUILD) anything
 * invalid, so what they return always passes {@link parseOfpEnvelope}.
 */
import type { JsonObject } from "../json/types.js";
import type { ValidationIssue } from "../schema/validate.js";
import { OfpError } from "./errors.js";
import type {
  AcceptInviteEvent,
  ByeEvent,
  Conversant,
  Conversation,
  ContextEvent,
  DeclineInviteEvent,
  DialogEvent,
  Feature,
  GetManifestsEvent,
  GrantFloorEvent,
  InviteEvent,
  Manifest,
  OfpDocument,
  OfpEvent,
  PublishedManifest,
  PublishManifestsEvent,
  RecommendScope,
  RequestFloorEvent,
  RevokeFloorEvent,
  Sender,
  Span,
  To,
  Token,
  UninviteEvent,
  UtteranceEvent,
  YieldFloorEvent,
} from "./types.js";
import { validateOfp } from "./validate.js";
import { isOfp1xVersion, OFP_LATEST_VERSION, type Ofp1xVersion } from "./versions.js";

/** What every event takes: its recipient and a free-text reason (OFP §1.8). */
export interface EventOptions {
  to?: To;
  reason?: string;
}

function checkTo(to: To): To {
  if (to.speakerUri === undefined && to.serviceUrl === undefined) {
    throw new OfpError("ERR_OFP_BUILD", "`to` must contain speakerUri or serviceUrl (OFP §1.8)");
  }
  return { ...to };
}

function eventBase<T extends string>(eventType: T, o: EventOptions): { eventType: T; to?: To; reason?: string } {
  return {
    eventType,
    ...(o.to === undefined ? {} : { to: checkTo(o.to) }),
    ...(o.reason === undefined ? {} : { reason: o.reason }),
  };
}

/** §1.10: an utterance carrying one dialog event (public unless `to.private`). */
export function utterance(o: EventOptions & { dialogEvent: DialogEvent }): UtteranceEvent {
  return { ...eventBase("utterance", o), parameters: { dialogEvent: structuredClone(o.dialogEvent) } };
}

/** §1.10: a private utterance ("whisper") to `to` alone. */
export function privateUtterance(o: { to: To; dialogEvent: DialogEvent; reason?: string }): UtteranceEvent {
  return utterance({ ...o, to: { ...o.to, private: true } });
}

/** 1.0.0 only: a `context` event with a dialog history and any extra parameters. */
export function contextEvent(o: EventOptions & { dialogHistory?: readonly DialogEvent[]; extra?: JsonObject }): ContextEvent {
  const parameters = { ...(o.extra ?? {}), ...(o.dialogHistory === undefined ? {} : { dialogHistory: structuredClone([...o.dialogHistory]) }) };
  return { ...eventBase("context", o), ...(Object.keys(parameters).length === 0 ? {} : { parameters }) };
}

/** §1.12: invite `to` (no `to`: every recipient) with an optional dialog history (1.0.1+). */
export function invite(o: EventOptions & { dialogHistory?: readonly DialogEvent[] } = {}): InviteEvent {
  return { ...eventBase("invite", o), ...(o.dialogHistory === undefined ? {} : { parameters: { dialogHistory: structuredClone([...o.dialogHistory]) } }) };
}

/** §1.13: remove `to` from the conversation (reason tokens: REASON_TOKENS.uninvite). */
export function uninvite(o: EventOptions & { to: To }): UninviteEvent {
  return eventBase("uninvite", o);
}

/** §1.14 (1.0.1+): accept an invitation. */
export function acceptInvite(o: EventOptions = {}): AcceptInviteEvent {
  return eventBase("acceptInvite", o);
}

/** §1.15: decline an invitation (reason tokens: REASON_TOKENS.declineInvite). */
export function declineInvite(o: EventOptions = {}): DeclineInviteEvent {
  return eventBase("declineInvite", o);
}

/** §1.16: leave the conversation. */
export function bye(o: EventOptions = {}): ByeEvent {
  return eventBase("bye", o);
}

/** §1.17: ask for manifests (scope absent = "internal"). */
export function getManifests(o: EventOptions & { recommendScope?: RecommendScope } = {}): GetManifestsEvent {
  return { ...eventBase("getManifests", o), ...(o.recommendScope === undefined ? {} : { parameters: { recommendScope: o.recommendScope } }) };
}

/** §1.18: publish manifests (each may carry a `score` in 0.0-1.0). */
export function publishManifests(
  o: EventOptions & { servicingManifests?: readonly PublishedManifest[]; discoveryManifests?: readonly PublishedManifest[] } = {},
): PublishManifestsEvent {
  for (const m of [...(o.servicingManifests ?? []), ...(o.discoveryManifests ?? [])]) {
    if (m.score !== undefined && !(m.score >= 0 && m.score <= 1)) throw new OfpError("ERR_OFP_BUILD", `manifest score ${m.score} is outside 0.0-1.0 (OFP §1.18)`);
  }
  const parameters = {
    ...(o.servicingManifests === undefined ? {} : { servicingManifests: structuredClone([...o.servicingManifests]) }),
    ...(o.discoveryManifests === undefined ? {} : { discoveryManifests: structuredClone([...o.discoveryManifests]) }),
  };
  return { ...eventBase("publishManifests", o), ...(Object.keys(parameters).length === 0 ? {} : { parameters }) };
}

/** §1.19: ask for the floor. */
export function requestFloor(o: EventOptions = {}): RequestFloorEvent {
  return eventBase("requestFloor", o);
}

/** §1.20: grant the floor to `to`. */
export function grantFloor(o: EventOptions & { to: To }): GrantFloorEvent {
  return eventBase("grantFloor", o);
}

/** §1.21: revoke the floor from `to` (reason tokens: REASON_TOKENS.revokeFloor). */
export function revokeFloor(o: EventOptions & { to: To }): RevokeFloorEvent {
  return eventBase("revokeFloor", o);
}

/** §1.22: yield the floor (reason tokens: REASON_TOKENS.yieldFloor). */
export function yieldFloor(o: EventOptions = {}): YieldFloorEvent {
  return eventBase("yieldFloor", o);
}

/** A `text/plain` feature; an array gives one token per element. */
export function textFeature(text: string | readonly string[], o: { lang?: string; encoding?: string; confidence?: number } = {}): Feature {
  const tokens: Token[] = (typeof text === "string" ? [text] : [...text]).map((value) => ({ value, ...(o.confidence === undefined ? {} : { confidence: o.confidence }) }));
  return { mimeType: "text/plain", ...(o.lang === undefined ? {} : { lang: o.lang }), ...(o.encoding === undefined ? {} : { encoding: o.encoding }), tokens };
}

/** Any feature: a mime type and its tokens. */
export function feature(mimeType: string, tokens: readonly Token[], extra: Omit<Partial<Feature>, "mimeType" | "tokens"> = {}): Feature {
  return { ...structuredClone(extra), mimeType, tokens: structuredClone([...tokens]) };
}

/** Input of {@link dialogEvent}. */
export interface DialogEventInit {
  id: string;
  speakerUri: string;
  /** The span, or just its start (`Date`s become ISO 8601 strings). */
  span?: Span;
  startTime?: string | Date;
  /** Features; `text` is shorthand for `features.text = textFeature(text, {lang})`. */
  features?: Record<string, Feature>;
  text?: string;
  lang?: string;
  previousId?: string;
}

/** A dialog event (Dialog Event spec 1.0.2). Needs a span (or startTime) and at least one feature. */
export function dialogEvent(init: DialogEventInit): DialogEvent {
  const span: Span | undefined = init.span ?? (init.startTime === undefined ? undefined : { startTime: typeof init.startTime === "string" ? init.startTime : init.startTime.toISOString() });
  if (span === undefined || (span.startTime === undefined && span.startOffset === undefined)) {
    throw new OfpError("ERR_OFP_BUILD", "a dialog event needs a span with startTime or startOffset");
  }
  const features: Record<string, Feature> = { ...structuredClone(init.features ?? {}) };
  if (init.text !== undefined) features["text"] = textFeature(init.text, init.lang === undefined ? {} : { lang: init.lang });
  if (Object.keys(features).length === 0) throw new OfpError("ERR_OFP_BUILD", "a dialog event needs at least one feature");
  return { id: init.id, speakerUri: init.speakerUri, ...(init.previousId === undefined ? {} : { previousId: init.previousId }), span: structuredClone(span), features };
}

/** OFP §1.6.1: a conversant entry is a copy of the identification section of its manifest. */
export function conversantOf(manifest: Pick<Manifest, "identification">): Conversant {
  return { identification: structuredClone(manifest.identification) };
}

function refuse(what: string, errors: readonly ValidationIssue[]): never {
  const first = errors[0];
  throw new OfpError("ERR_OFP_BUILD", `cannot build ${what}: ${first ? `${first.pointer || "/"}: ${first.message} [${first.rule}]` : "invalid"}`, { detail: { errors } });
}

/** Input of {@link buildOfpEnvelope}. */
export interface EnvelopeInit {
  /** Target version (default {@link OFP_LATEST_VERSION}). */
  version?: Ofp1xVersion;
  /** Optional `schema.url`. */
  schemaUrl?: string;
  /** The conversation id, or the whole conversation object. */
  conversation: string | Conversation;
  sender: Sender;
  events: readonly OfpEvent[];
}

/**
 * An Open Floor document for `init.version`. Throws OfpError ERR_OFP_BUILD (with
 * `detail.errors`) when the result would not validate, e.g. `acceptInvite` in 1.0.0 or a
 * conversant without `synopsis`.
 */
export function buildOfpEnvelope(init: EnvelopeInit): OfpDocument {
  const version = init.version ?? OFP_LATEST_VERSION;
  if (!isOfp1xVersion(version)) throw new OfpError("ERR_OFP_VERSION", `cannot build Open Floor version ${JSON.stringify(version)}`);
  const doc: OfpDocument = {
    openFloor: {
      schema: { version, ...(init.schemaUrl === undefined ? {} : { url: init.schemaUrl }) },
      conversation: typeof init.conversation === "string" ? { id: init.conversation } : structuredClone(init.conversation),
      sender: structuredClone(init.sender),
      events: structuredClone([...init.events]),
    },
  };
  const result = validateOfp(doc);
  if (!result.valid) refuse(`an Open Floor ${version} envelope`, result.errors);
  return doc;
}

/** An assistant manifest (Assistant Manifest spec 1.0.1), validated; throws ERR_OFP_BUILD. */
export function buildManifest(init: Manifest): Manifest {
  const manifest = structuredClone(init);
  const result = validateOfp(manifest, { schema: "ofp-assistant-manifest-1.0.1" });
  if (!result.valid) refuse("a manifest", result.errors);
  return manifest;
}
