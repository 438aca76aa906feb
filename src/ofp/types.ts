/**
 * The typed Open Floor (1.x) model. The wire format is JSON; these types describe what
 * {@link parseOfpEnvelope} guarantees and what the builders produce. Every object keeps unknown
 * members (`[k: string]: unknown`): the schemas allow extensions almost everywhere and
 * translation residues (`x-ovon`) ride in them.
 *
 * Generated types (`gen/types/ofp/*`) mirror the schemas one to one; these add the event
 * discriminated union the schemas express only as if/then conditionals.
 */
import type { JsonObject } from "../json/types.js";

/** Dialog event span (Dialog Event spec 1.0.2): absolute times or offsets, ISO 8601 strings. */
export interface Span {
  startTime?: string;
  endTime?: string;
  startOffset?: string;
  endOffset?: string;
  [k: string]: unknown;
}

/** One token of a feature: an inline value or a URL to fetch it from. */
export interface Token {
  value?: string | number | boolean | JsonObject | unknown[];
  valueUrl?: string;
  confidence?: number;
  span?: Span;
  /** JSONPath expressions linking this token to tokens of other features. */
  links?: string[];
  [k: string]: unknown;
}

/** A dialog event feature (`text`, `ssml`, `html`, `audio` or any custom name). */
export interface Feature {
  mimeType: string;
  tokens: Token[];
  lang?: string;
  encoding?: string;
  tokenSchema?: string;
  /** Alternative token lists (n-best), as the upstream samples place them. */
  alternates?: Token[][];
  [k: string]: unknown;
}

/**
 * A dialog event (Dialog Event spec 1.0.2). `id` is required by the dialog event schema but
 * every upstream envelope sample omits it inside utterances and dialog histories, so the parser
 * reports a missing id as a warning and the type leaves it optional; the builders always set it.
 */
export interface DialogEvent {
  id?: string;
  speakerUri: string;
  span: Span;
  features: Record<string, Feature>;
  previousId?: string;
  [k: string]: unknown;
}

/** `to` of an event (OFP §1.8): whom an event is for, and whether it is private. */
export interface To {
  speakerUri?: string;
  serviceUrl?: string;
  /** OFP §1.8: only the `to` conversant gets the event (the floor manager honours it for utterances). */
  private?: boolean;
  [k: string]: unknown;
}

/**
 * Identification of a conversant or agent (Assistant Manifest 1.0.1 `identification`).
 * `organization` and `synopsis` are required by every 1.x schema; they are absent only in
 * documents parsed with `lenient: true` (see docs/ofp.md, "Lenient mode").
 */
export interface Identification {
  speakerUri: string;
  serviceUrl: string;
  organization?: string;
  conversationalName: string;
  department?: string;
  role?: string;
  synopsis?: string;
  /** 1.0.1+: roles the agent is willing to perform, e.g. `{ convener: true }`. */
  openFloorRoles?: Record<string, boolean>;
  [k: string]: unknown;
}

/** One entry of `conversation.conversants`. */
export interface Conversant {
  /** OFP §1.6.1: each conversant "should" carry one (the schemas do not require it). */
  identification?: Identification;
  /** 1.0.0 (as the reference Python library writes it; the 1.0.0 schema spells it `persistent_state`). */
  persistentState?: JsonObject;
  [k: string]: unknown;
}

/** `conversation.assignedFloorRoles` (1.0.1+): role name → speakerUris (convener: at most 1). */
export interface AssignedFloorRoles {
  convener?: string[];
  [role: string]: string[] | undefined;
}

/** The `conversation` object (OFP §1.6). */
export interface Conversation {
  id: string;
  conversants?: Conversant[];
  assignedFloorRoles?: AssignedFloorRoles;
  /** speakerUris currently holding floor rights (OFP §1.6.3). */
  floorGranted?: string[];
  [k: string]: unknown;
}

/** The `sender` object (OFP §1.7). */
export interface Sender {
  speakerUri: string;
  serviceUrl?: string;
  [k: string]: unknown;
}

/** The `schema` object (OFP §1.5). */
export interface SchemaRef {
  version: string;
  url?: string;
  [k: string]: unknown;
}

/** A capability of an assistant manifest. */
export interface Capability {
  keyphrases: string[];
  descriptions: string[];
  languages?: string[];
  /** 1.0.x: `{input, output}`; OVON-era manifests (and some upstream 1.x samples) use a list. */
  supportedLayers?: { input: string[]; output: string[]; [k: string]: unknown } | string[];
  [k: string]: unknown;
}

/** An assistant manifest (Assistant Manifest spec 1.0.x). */
export interface Manifest {
  identification: Identification;
  capabilities: Capability[];
  [k: string]: unknown;
}

/**
 * A manifest inside `publishManifests`: a manifest plus an optional recommendation `score`
 * (0.0-1.0, OFP §1.18). The envelope schemas do not check nested manifests (their `ref` is not
 * `$ref`); the validator reports manifest-schema problems as warnings, so consumers should treat
 * members other than `identification` as untrusted shape.
 */
export interface PublishedManifest {
  identification: Partial<Identification> & { [k: string]: unknown };
  capabilities?: Capability[];
  score?: number;
  [k: string]: unknown;
}

/** `getManifests` scope (OFP §1.17); absent means "internal". */
export type RecommendScope = "internal" | "external" | "all";

interface EventBase<T extends string> {
  eventType: T;
  to?: To;
  /** Free text, with optional special tokens `@[A-Za-z0-9_]+` (OFP §1.8). */
  reason?: string;
  [k: string]: unknown;
}

/** A bare event: `parameters`, when present, must be empty. */
type NoParameters = Record<string, never>;

export interface UtteranceEvent extends EventBase<"utterance"> {
  parameters: { dialogEvent: DialogEvent };
}
/** 1.0.0 only (removed in 1.0.1, which moved `dialogHistory` into `invite`). */
export interface ContextEvent extends EventBase<"context"> {
  parameters?: { dialogHistory?: DialogEvent[]; [k: string]: unknown };
}
export interface InviteEvent extends EventBase<"invite"> {
  /** `dialogHistory` is 1.0.1+ (1.0.0 invites are bare). */
  parameters?: { dialogHistory?: DialogEvent[] };
}
export interface UninviteEvent extends EventBase<"uninvite"> {
  parameters?: NoParameters;
}
/** 1.0.1+. */
export interface AcceptInviteEvent extends EventBase<"acceptInvite"> {
  parameters?: NoParameters;
}
export interface DeclineInviteEvent extends EventBase<"declineInvite"> {
  parameters?: NoParameters;
}
export interface ByeEvent extends EventBase<"bye"> {
  parameters?: NoParameters;
}
export interface GetManifestsEvent extends EventBase<"getManifests"> {
  parameters?: { recommendScope?: RecommendScope | (string & {}) };
}
export interface PublishManifestsEvent extends EventBase<"publishManifests"> {
  parameters?: { servicingManifests?: PublishedManifest[]; discoveryManifests?: PublishedManifest[] };
}
export interface RequestFloorEvent extends EventBase<"requestFloor"> {
  parameters?: NoParameters;
}
export interface GrantFloorEvent extends EventBase<"grantFloor"> {
  parameters?: NoParameters;
}
export interface RevokeFloorEvent extends EventBase<"revokeFloor"> {
  parameters?: NoParameters;
}
export interface YieldFloorEvent extends EventBase<"yieldFloor"> {
  parameters?: NoParameters;
}
/**
 * Event types left over from the 0.9.4 draft: listed by the 0.9.4 / 1.0.0 schema enums without
 * parameter rules, gone from 1.0.1. Parsed as opaque events.
 */
export interface LegacyDraftEvent extends EventBase<"findAssistant" | "proposeAssistant" | "publishManifest"> {
  parameters?: unknown;
}

/** Every Open Floor event. */
export type OfpEvent =
  | UtteranceEvent
  | ContextEvent
  | InviteEvent
  | UninviteEvent
  | AcceptInviteEvent
  | DeclineInviteEvent
  | ByeEvent
  | GetManifestsEvent
  | PublishManifestsEvent
  | RequestFloorEvent
  | GrantFloorEvent
  | RevokeFloorEvent
  | YieldFloorEvent
  | LegacyDraftEvent;

export type OfpEventType = OfpEvent["eventType"];

/** The contents of the `openFloor` member. */
export interface OfpEnvelope {
  schema: SchemaRef;
  conversation: Conversation;
  sender: Sender;
  events: OfpEvent[];
  [k: string]: unknown;
}

/** An Open Floor document as sent on the wire: `{"openFloor": {...}}`. */
export interface OfpDocument {
  openFloor: OfpEnvelope;
  [k: string]: unknown;
}
