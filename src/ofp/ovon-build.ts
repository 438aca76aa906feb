/**
 * Builders for OVON 0.9.x envelopes and events, for peers that still speak OVON. Pure, like
 * build.ts; {@link buildOvonEnvelope} validates against the target 0.9.x schema and refuses
 * invalid results (OfpError ERR_OFP_BUILD).
 */
import { OfpError } from "./errors.js";
import type { OvonByeEvent, OvonDialogEvent, OvonDocument, OvonEvent, OvonInviteEvent, OvonUtteranceEvent, OvonWhisperEvent } from "./ovon-types.js";
import type { Feature, Span } from "./types.js";
import { textFeature } from "./build.js";
import { validateOfp } from "./validate.js";
import { isOvonEnvelopeVersion, OVON_LATEST_VERSION, type OvonEnvelopeVersion } from "./versions.js";

/** Input of {@link ovonDialogEvent}. */
export interface OvonDialogEventInit {
  id: string;
  speakerId: string;
  span?: Span;
  startTime?: string | Date;
  features?: Record<string, Feature>;
  text?: string;
  lang?: string;
  previousId?: string;
}

/** An OVON-era dialog event (Dialog Event spec 1.0.1: `speakerId`). */
export function ovonDialogEvent(init: OvonDialogEventInit): OvonDialogEvent {
  const span: Span | undefined = init.span ?? (init.startTime === undefined ? undefined : { startTime: typeof init.startTime === "string" ? init.startTime : init.startTime.toISOString() });
  if (span === undefined) throw new OfpError("ERR_OFP_BUILD", "a dialog event needs a span or startTime");
  const features: Record<string, Feature> = { ...structuredClone(init.features ?? {}) };
  if (init.text !== undefined) features["text"] = textFeature(init.text, init.lang === undefined ? {} : { lang: init.lang });
  if (Object.keys(features).length === 0) throw new OfpError("ERR_OFP_BUILD", "a dialog event needs at least one feature");
  return { id: init.id, speakerId: init.speakerId, ...(init.previousId === undefined ? {} : { previousId: init.previousId }), span: structuredClone(span), features };
}

/** What OVON 0.9.2+ events take: the recipient's URL and (0.9.3) the private flag. */
export interface OvonEventOptions {
  to?: string;
  private?: boolean;
}

function ovonBase<T extends string>(eventType: T, o: OvonEventOptions): { eventType: T; to?: string; private?: boolean } {
  return { eventType, ...(o.to === undefined ? {} : { to: o.to }), ...(o.private === undefined ? {} : { private: o.private }) };
}

/** OVON §1.10: an utterance. */
export function ovonUtterance(o: OvonEventOptions & { dialogEvent: OvonDialogEvent }): OvonUtteranceEvent {
  return { ...ovonBase("utterance", o), parameters: { dialogEvent: structuredClone(o.dialogEvent) } };
}

/** OVON §1.11: a whisper, an instruction not to be voiced (0.9.3: with optional `context`). */
export function ovonWhisper(o: OvonEventOptions & { dialogEvent: OvonDialogEvent; context?: string }): OvonWhisperEvent {
  return {
    ...ovonBase("whisper", o),
    parameters: { dialogEvent: structuredClone(o.dialogEvent) },
    ...(o.context === undefined ? {} : { context: o.context }),
  };
}

/** OVON §1.12: invite the agent at `url` (`parameters.to.url`, the form every 0.9.x schema defines). */
export function ovonInvite(o: { url: string }): OvonInviteEvent {
  return { eventType: "invite", parameters: { to: { url: o.url } } };
}

/** OVON §1.13: leave the conversation. */
export function ovonBye(o: OvonEventOptions = {}): OvonByeEvent {
  return ovonBase("bye", o);
}

/** Input of {@link buildOvonEnvelope}. */
export interface OvonEnvelopeInit {
  /** Target version (default {@link OVON_LATEST_VERSION}). */
  version?: OvonEnvelopeVersion;
  conversationId: string;
  /** The sender's URL. */
  from: string;
  events: readonly OvonEvent[];
}

/** An OVON document for `init.version`, validated; throws OfpError ERR_OFP_BUILD. */
export function buildOvonEnvelope(init: OvonEnvelopeInit): OvonDocument {
  const version = init.version ?? OVON_LATEST_VERSION;
  if (!isOvonEnvelopeVersion(version)) throw new OfpError("ERR_OFP_VERSION", `cannot build OVON version ${JSON.stringify(version)}`);
  const doc: OvonDocument = {
    ovon: { schema: { version }, conversation: { id: init.conversationId }, sender: { from: init.from }, events: structuredClone([...init.events]) },
  };
  const result = validateOfp(doc);
  if (!result.valid) {
    const first = result.errors[0];
    throw new OfpError("ERR_OFP_BUILD", `cannot build an OVON ${version} envelope: ${first ? `${first.pointer}: ${first.message}` : "invalid"}`, { detail: { errors: result.errors } });
  }
  return doc;
}
