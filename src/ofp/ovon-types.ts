/**
 * The typed OVON 0.9.x model (Open Voice Network conversation envelope 0.9.0-0.9.3, top-level
 * member `ovon`). OVON is the predecessor of Open Floor; agentwire reads it, builds it for
 * legacy peers and translates it (see translate/). Upstream OVON samples are inconsistent
 * (`speakerId` vs `speakerID`, features without tokens), and the OVON envelope schemas do not
 * check nested dialog events, so nested members are typed loosely.
 */
import type { JsonObject } from "../json/types.js";
import type { SchemaRef, Span, Token } from "./types.js";

/** A feature as OVON senders write it (tokens are required by the dialog event schema, not always present). */
export interface OvonFeature {
  mimeType?: string;
  tokens?: Token[];
  lang?: string;
  encoding?: string;
  [k: string]: unknown;
}

/** An OVON-era dialog event (Dialog Event spec 1.0.1: `speakerId`, not `speakerUri`). */
export interface OvonDialogEvent {
  id?: string;
  speakerId?: string;
  span?: Span;
  features?: Record<string, OvonFeature>;
  previousId?: string;
  [k: string]: unknown;
}

interface OvonEventBase<T extends string> {
  eventType: T;
  /** 0.9.2+: URL of the intended recipient. */
  to?: string;
  /** 0.9.3+: only the `to` agent gets the event. */
  private?: boolean;
  [k: string]: unknown;
}

export interface OvonUtteranceEvent extends OvonEventBase<"utterance"> {
  parameters?: { dialogEvent?: OvonDialogEvent };
}
/** An out-of-band instruction to an agent; not to be voiced (OVON §1.11). */
export interface OvonWhisperEvent extends OvonEventBase<"whisper"> {
  parameters?: { dialogEvent?: OvonDialogEvent };
  /** 0.9.3: natural-language context accompanying the whisper. */
  context?: string;
}
export interface OvonInviteEvent extends OvonEventBase<"invite"> {
  parameters?: { to?: { url?: string } };
}
export interface OvonByeEvent extends OvonEventBase<"bye"> {
  parameters?: Record<string, never>;
}
/** 0.9.2+. */
export interface OvonRequestManifestEvent extends OvonEventBase<"requestManifest"> {
  parameters?: Record<string, never>;
}
/** 0.9.2+: `manifest` is an Assistant Manifest 0.9.x. */
export interface OvonPublishManifestEvent extends OvonEventBase<"publishManifest"> {
  parameters?: { manifest?: JsonObject };
}
/** 0.9.2+. */
export interface OvonFindAssistantEvent extends OvonEventBase<"findAssistant"> {
  parameters?: Record<string, never>;
}
/** One recommendation of `proposeAssistant` (score: an integer, 0-100 in the samples). */
export interface OvonProposal {
  identification?: { serviceEndpoint?: string; synopsis?: string; [k: string]: unknown };
  score?: number;
  [k: string]: unknown;
}
/** 0.9.2+. */
export interface OvonProposeAssistantEvent extends OvonEventBase<"proposeAssistant"> {
  parameters?: { servicingManifests?: OvonProposal[]; discoveryManifests?: OvonProposal[] };
}

export type OvonEvent =
  | OvonUtteranceEvent
  | OvonWhisperEvent
  | OvonInviteEvent
  | OvonByeEvent
  | OvonRequestManifestEvent
  | OvonPublishManifestEvent
  | OvonFindAssistantEvent
  | OvonProposeAssistantEvent;

export type OvonEventType = OvonEvent["eventType"];

/** The contents of the `ovon` member. */
export interface OvonEnvelope {
  schema: SchemaRef;
  /** `persistentState` (spelt `persistent_state` by the 0.9.2+ schemas) is free-form. */
  conversation: { id: string; persistentState?: unknown; [k: string]: unknown };
  sender: { from: string; replyTo?: string; [k: string]: unknown };
  /** `{code, description?}` in 0.9.0-0.9.1; deprecated (and unchecked) from 0.9.2. */
  responseCode?: unknown;
  events: OvonEvent[];
  [k: string]: unknown;
}

/** An OVON document as sent on the wire: `{"ovon": {...}}`. */
export interface OvonDocument {
  ovon: OvonEnvelope;
  [k: string]: unknown;
}
