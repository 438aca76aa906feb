/**
 * The Open Floor ⇄ OHP bridge (docs/ofp-ohp-bridge.md): a floor manager hands a conversation
 * to another vendor with an OHP PROPOSE whose envelope carries the floor's state, and an OHP
 * receiver opens an Open Floor conversation from a handoff it accepts.
 *
 * Sender side: {@link floorToOhpInput} maps a conversation to an OHP {@link EnvelopeInput}
 * (conversants, convener, floor grants and focal agent in `intent.slots.openFloor`; the recent
 * public dialog events as `transcript.turns`; the intent and a summary), and
 * {@link handOffConversation} PROPOSEs it with an {@link OhpNode}, ASSUMEs on ACCEPT, and
 * records the exchange in the conversation's log (and optionally closes the conversation).
 *
 * Receiver side: {@link floorHandoffDecider} is an `OhpNode` `decide` hook: it reads the state
 * back ({@link ohpToFloorState}), opens the conversation on the receiving floor (same id, the
 * clients as pull conversants) and invites the receiver's agents with the transcript as
 * `dialogHistory` (§1.12), then accepts; it rejects (`unknown`) envelopes without Open Floor
 * state or whose conversation the floor cannot open.
 */
import type { Intent, Policy, Transcript } from "../../gen/types/ohp/ohp-envelope.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import type { EnvelopeInput } from "../ohp/builder.js";
import type { HandoffDecision, OhpNode, PeerRef, ProposeResult } from "../ohp/control/node.js";
import type { SenderState } from "../ohp/control/machine.js";
import type { Tier } from "../ohp/tiers.js";
import { dialogEvent } from "./build.js";
import { textOf } from "./dialog-event.js";
import { curateIdentification, type FloorManager } from "./floor.js";
import type { ConversationRecord, Delivery } from "./floor-store.js";
import { OfpRuntimeError } from "./runtime.js";
import type { DialogEvent, Identification, To } from "./types.js";

/** The `intent.slots` member that carries the floor's state. */
export const OFP_OHP_SLOT = "openFloor";

/** The OHP session channel a handoff declares by default (Open Floor is text-first, §1.10.1). */
export const OFP_OHP_DEFAULT_CHANNEL = "chat/web";

/** OHP transcript roles. */
export type OhpTurnRole = "caller" | "agent" | "system";

/**
 * Open Floor reason tokens (§1.13, §1.15, §1.21, §1.22) → OHP `control.reason` triggers (OHP
 * §8.1 lists `human-requested`, `skill-routing`, `policy`, `queue-routing`,
 * `cross-channel-resume`).
 */
export const OFP_REASON_TO_OHP: Readonly<Record<string, string>> = Object.freeze({
  "@outOfDomain": "skill-routing",
  "@complete": "skill-routing",
  "@unavailable": "queue-routing",
  "@timedOut": "policy",
  "@refused": "policy",
  "@brokenPolicy": "policy",
  "@override": "policy",
  "@error": "policy",
});

/** The `control.reason` for an Open Floor `reason` text: its first mapped token, else `fallback`. */
export function ohpReasonOf(ofpReason: string | undefined, fallback = "skill-routing"): string {
  for (const token of ofpReason?.match(/@[a-zA-Z0-9_]+/g) ?? []) {
    const mapped = OFP_REASON_TO_OHP[token];
    if (mapped !== undefined) return mapped;
  }
  return fallback;
}

/** One conversant as the handoff carries it. */
export interface CarriedConversant {
  identification: Identification;
  delivery: Delivery;
}

/** The floor's state inside an OHP envelope (`intent.slots.openFloor`). */
export interface FloorHandoffState {
  conversationId: string;
  version: string;
  conversants: CarriedConversant[];
  convener?: string;
  floorGranted: string[];
  focal?: string;
  /** speakerUri of each `transcript.turns[i]`. */
  turnSpeakers: string[];
  /** The floor manager that handed the conversation off. */
  floor: { speakerUri: string; serviceUrl?: string };
}

/** Options of {@link floorToOhpInput}. */
export interface FloorHandoffOptions {
  /** OHP tier of the PROPOSE (default `signed`). */
  tier?: Tier;
  /** `audience` (vendor and DID are also filled from the peer by the node). */
  audience?: { vendor?: string; purpose?: string; minTier?: Tier; did?: string };
  /** `intent.current` (default `{name: "open_floor_conversation", confidence: 1}`). */
  intent?: { name: string; confidence: number };
  /** `transcript.summary` (default: a sentence naming the conversants and the last user turn). */
  summary?: string;
  /** How many recent public dialog events become turns (default 8). */
  turns?: number;
  /** `control.reason` (default: from `ofpReason`, else `skill-routing`). */
  reason?: string;
  /** An Open Floor reason (e.g. a yieldFloor's `@outOfDomain`) to map to `control.reason`. */
  ofpReason?: string;
  /** `session.channel` (default `chat/web`) and `session.locale` (default: the first dialog event `lang`, else `en`). */
  channel?: string;
  locale?: string;
  /** `session.callId` (default `ofp:<conversation id>`). */
  callId?: string;
  /** The turn role of a speaker (default: clients `caller`, the floor `system`, others `agent`). */
  roleOf?: (speakerUri: string, conversation: ConversationRecord) => OhpTurnRole;
  /** `policy` (required from Signed): default {@link OFP_OHP_DEFAULT_POLICY} with `dataResidency`. */
  policy?: Policy;
  /** `policy.dataResidency` of the default policy: ISO 3166 codes where the data may live (default none). */
  dataResidency?: string[];
  /** Members added to the input as they are (caller, memory, control.fallback, ...). */
  extra?: Partial<EnvelopeInput>;
}

/**
 * The OHP `policy` a handoff carries unless told otherwise: transcripts kept 30 days, no audio
 * or embeddings, PII masked and PCI/PHI dropped (the builder redacts turns accordingly).
 */
export const OFP_OHP_DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  retention: { transcript: "P30D", audio: "P0D", embeddings: "P0D" },
  redaction: { pii: "mask", pci: "drop", phi: "drop" },
  guardrails: [],
  dataResidency: [],
} satisfies Policy);

function turnTime(de: DialogEvent, fallback: string): string {
  return typeof de.span.startTime === "string" ? de.span.startTime : fallback;
}

/**
 * The OHP envelope input describing a conversation of `floor` (see docs/ofp-ohp-bridge.md for
 * the mapping). `issuer` is the node's (`node.identity`); the node fills the peer's vendor/DID.
 */
export function floorToOhpInput(floor: FloorManager, conversationId: string, issuer: { vendor: string; agentId: string; region: string; did?: string }, options: FloorHandoffOptions = {}): EnvelopeInput {
  const conv = floor.conversation(conversationId);
  if (conv === undefined) throw new OfpRuntimeError("ERR_OFP_BRIDGE", `no conversation ${conversationId}`);
  const floorUri = floor.identity.speakerUri;
  const roleOf =
    options.roleOf ??
    ((uri: string): OhpTurnRole => {
      if (uri === floorUri) return "system";
      const c = conv.conversants.find((x) => x.identification.speakerUri === uri);
      return c?.delivery === "pull" ? "caller" : "agent";
    });
  const history = floor.dialogHistory(conversationId, { limit: options.turns ?? 8 });
  const fallbackTime = conv.updatedAt;
  const turns = history.map((de) => ({ t: turnTime(de, fallbackTime), role: roleOf(de.speakerUri, conv), text: textOf(de) ?? "" }));
  const name = (uri: string): string => conv.conversants.find((c) => c.identification.speakerUri === uri)?.identification.conversationalName ?? uri;
  const lastCaller = [...history].reverse().find((de) => roleOf(de.speakerUri, conv) === "caller");
  const summary =
    options.summary ??
    `Open Floor conversation with ${conv.conversants.map((c) => c.identification.conversationalName).join(", ") || "nobody"}` +
      `${conv.focal === undefined ? "" : `; focal agent ${name(conv.focal)}`}` +
      `${lastCaller === undefined ? "" : `; last caller turn: "${textOf(lastCaller) ?? ""}"`}.`;
  const state: FloorHandoffState = {
    conversationId,
    version: conv.version,
    conversants: conv.conversants.map((c) => ({ identification: structuredClone(c.identification), delivery: c.delivery })),
    ...(conv.convener === undefined ? {} : { convener: conv.convener }),
    floorGranted: [...conv.floorGranted],
    ...(conv.focal === undefined ? {} : { focal: conv.focal }),
    turnSpeakers: history.map((de) => de.speakerUri),
    floor: floor.identity,
  };
  const lang = history.map((de) => de.features["text"]?.lang).find((l): l is string => typeof l === "string");
  const tier = options.tier ?? "signed";
  const intent: Intent = {
    current: options.intent ?? { name: "open_floor_conversation", confidence: 1 },
    stack: [],
    slots: { [OFP_OHP_SLOT]: state as unknown as JsonObject },
  };
  const transcript: Transcript = { format: "ohp.turns/v1", redaction: { policy: "pii-mask+pci-drop+phi-drop", version: "1.1" }, turns, summary };
  const policy: Policy = options.policy ?? { ...structuredClone(OFP_OHP_DEFAULT_POLICY as Policy), dataResidency: [...(options.dataResidency ?? [])] };
  return {
    tier,
    verb: "PROPOSE",
    issuer: { ...issuer },
    audience: {
      vendor: options.audience?.vendor ?? "",
      purpose: options.audience?.purpose ?? "ai-vendor-handoff",
      ...(options.audience?.minTier === undefined ? {} : { minTier: options.audience.minTier }),
      ...(options.audience?.did === undefined ? {} : { did: options.audience.did }),
    },
    session: { callId: options.callId ?? `ofp:${conversationId}`, channel: (options.channel ?? OFP_OHP_DEFAULT_CHANNEL) as EnvelopeInput["session"]["channel"], locale: options.locale ?? lang ?? "en", startedAt: conv.createdAt },
    intent,
    transcript,
    policy,
    control: { reason: options.reason ?? ohpReasonOf(options.ofpReason) },
    ...(options.extra ?? {}),
  };
}

/** What {@link handOffConversation} returns. */
export interface FloorHandoffResult {
  propose: ProposeResult;
  /** The state after ASSUME (when the PROPOSE was accepted and `assume` is on). */
  assumed?: SenderState;
}

/**
 * Hands a conversation of `floor` to `peer` with an OHP PROPOSE from `node`; on ACCEPT sends
 * ASSUME (unless `assume: false`) and, with `close`, uninvites the conversants and closes the
 * conversation. Every step is written to the conversation's log (`handoff`) and its data
 * (`ohpHandoff`).
 */
export async function handOffConversation(
  floor: FloorManager,
  node: OhpNode,
  peer: PeerRef,
  conversationId: string,
  options: FloorHandoffOptions & { assume?: boolean; close?: boolean } = {},
): Promise<FloorHandoffResult> {
  const input = floorToOhpInput(floor, conversationId, node.identity, { ...options, audience: { vendor: peer.vendor ?? options.audience?.vendor ?? "", ...options.audience } });
  const propose = await node.propose(peer, input);
  floor.note(conversationId, { kind: "handoff", from: floor.identity.speakerUri, to: peer.url, note: `OHP PROPOSE ${propose.handoffId} to ${peer.vendor ?? peer.url}: ${propose.verb ?? "no answer"}${propose.reason === undefined ? "" : ` (${propose.reason})`}` });
  let assumed: SenderState | undefined;
  if (propose.verb === "ACCEPT" && options.assume !== false) {
    assumed = (await node.assume(peer, propose.handoffId)).state;
    floor.note(conversationId, { kind: "handoff", from: floor.identity.speakerUri, to: peer.url, note: `OHP ASSUME for ${propose.handoffId}: ${assumed}` });
  }
  await floor.setData(conversationId, { ohpHandoff: { id: propose.handoffId, peer: peer.url, verb: propose.verb ?? null, state: assumed ?? propose.state } });
  if (propose.verb === "ACCEPT" && options.close === true) {
    const conv = floor.conversation(conversationId);
    const events = (conv?.conversants ?? []).map((c) => ({ eventType: "uninvite" as const, to: { speakerUri: c.identification.speakerUri }, reason: `handed off to ${peer.vendor ?? peer.url}` }));
    if (events.length > 0) await floor.send(conversationId, events);
  }
  return { propose, ...(assumed === undefined ? {} : { assumed }) };
}

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(v) ? v : undefined;
}

/**
 * Reads the floor's state and dialog history back from an OHP envelope; undefined when it
 * carries no `intent.slots.openFloor`. Turns become dialog events of their speakers (or of
 * `urn:ohp:turn:<role>` when the state does not name one).
 */
export function ohpToFloorState(envelope: JsonObject): { state: FloorHandoffState; dialogHistory: DialogEvent[]; intent?: { name: string; confidence: number } } | undefined {
  const intent = obj(envelope["intent"]);
  const raw = obj(obj(intent?.["slots"])?.[OFP_OHP_SLOT]);
  if (raw === undefined || typeof raw["conversationId"] !== "string" || !Array.isArray(raw["conversants"])) return undefined;
  const conversants: CarriedConversant[] = [];
  for (const c of raw["conversants"]) {
    const ident = obj(obj(c)?.["identification"]);
    if (ident === undefined || typeof ident["speakerUri"] !== "string" || typeof ident["serviceUrl"] !== "string") continue;
    conversants.push({ identification: curateIdentification(ident as unknown as Identification), delivery: obj(c)?.["delivery"] === "push" ? "push" : "pull" });
  }
  const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const floorRaw = obj(raw["floor"]);
  const state: FloorHandoffState = {
    conversationId: raw["conversationId"],
    version: typeof raw["version"] === "string" ? raw["version"] : "1.1.0",
    conversants,
    ...(typeof raw["convener"] === "string" ? { convener: raw["convener"] } : {}),
    floorGranted: strings(raw["floorGranted"]),
    ...(typeof raw["focal"] === "string" ? { focal: raw["focal"] } : {}),
    turnSpeakers: strings(raw["turnSpeakers"]),
    floor: { speakerUri: typeof floorRaw?.["speakerUri"] === "string" ? floorRaw["speakerUri"] : "urn:ohp:unknown-floor", ...(typeof floorRaw?.["serviceUrl"] === "string" ? { serviceUrl: floorRaw["serviceUrl"] } : {}) },
  };
  const turns = Array.isArray(obj(envelope["transcript"])?.["turns"]) ? (obj(envelope["transcript"])!["turns"] as JsonValue[]) : [];
  const dialogHistory: DialogEvent[] = [];
  turns.forEach((t, i) => {
    const turn = obj(t);
    if (turn === undefined || typeof turn["text"] !== "string" || typeof turn["t"] !== "string") return;
    const speaker = state.turnSpeakers[i] ?? `urn:ohp:turn:${String(turn["role"])}`;
    dialogHistory.push(dialogEvent({ id: `${String(envelope["id"])}#turn-${i}`, speakerUri: speaker, startTime: turn["t"], text: turn["text"] }));
  });
  const current = obj(intent?.["current"]);
  const named = current !== undefined && typeof current["name"] === "string" && typeof current["confidence"] === "number" ? { name: current["name"], confidence: current["confidence"] } : undefined;
  return { state, dialogHistory, ...(named === undefined ? {} : { intent: named }) };
}

/** Options of {@link floorHandoffDecider}. */
export interface FloorHandoffReceiverOptions {
  /** The receiving floor. */
  floor: FloorManager;
  /** Agents the receiving floor invites (each gets the transcript as dialogHistory). */
  invite?: To[] | ((state: FloorHandoffState) => To[]);
  /** The new conversation's id (default: the sender's conversation id). */
  conversationId?: (state: FloorHandoffState, envelope: JsonObject) => string;
  /** Decides before anything is opened (default: accept). */
  accept?: (state: FloorHandoffState, envelope: JsonObject) => HandoffDecision | Promise<HandoffDecision>;
  /** Told of each conversation opened. */
  onOpened?: (conversation: ConversationRecord, envelope: JsonObject) => void;
}

/**
 * An `OhpNode` `decide` hook that opens an Open Floor conversation from an accepted handoff:
 * the clients (pull conversants) of the sending floor join as pull conversants, the receiver's
 * agents are invited with the transcript as dialog history. Rejects (`unknown`) an envelope
 * without Open Floor state, and one whose conversation cannot be opened (e.g. the id exists).
 */
export function floorHandoffDecider(options: FloorHandoffReceiverOptions): (envelope: JsonObject) => Promise<HandoffDecision> {
  return async (envelope) => {
    const read = ohpToFloorState(envelope);
    if (read === undefined) return { verdict: "reject", reason: "unknown", note: `no Open Floor state (intent.slots.${OFP_OHP_SLOT})` };
    const { state, dialogHistory } = read;
    const verdict = options.accept === undefined ? ({ verdict: "accept" } as const) : await options.accept(state, envelope);
    if (verdict.verdict === "reject") return verdict;
    const id = options.conversationId?.(state, envelope) ?? state.conversationId;
    const invites = typeof options.invite === "function" ? options.invite(state) : (options.invite ?? []);
    try {
      const opened = await options.floor.openConversation({
        id,
        conversants: state.conversants.filter((c) => c.delivery === "pull").map((c) => ({ identification: c.identification, delivery: "pull" as const })),
        invite: invites.map((to) => ({ to, dialogHistory, reason: `handoff ${String(envelope["id"])}` })),
        data: { ohpHandoff: { id: String(envelope["id"]), from: String(obj(envelope["issuer"])?.["vendor"] ?? ""), previousFloor: state.floor.speakerUri, ...(read.intent === undefined ? {} : { intent: read.intent }) } },
      });
      options.floor.note(id, { kind: "handoff", from: state.floor.speakerUri, note: `opened from OHP ${String(obj(envelope["control"])?.["verb"] ?? "PROPOSE")} ${String(envelope["id"])} of ${String(obj(envelope["issuer"])?.["vendor"] ?? "?")}` });
      options.onOpened?.(opened, envelope);
      return { verdict: "accept" };
    } catch (e) {
      return { verdict: "reject", reason: "unknown", note: `cannot open Open Floor conversation ${id}: ${(e as Error).message}` };
    }
  };
}
