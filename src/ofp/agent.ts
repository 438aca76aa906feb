/**
 * The Open Floor agent runtime: {@link defineAgent} turns a manifest and a few handlers into an
 * agent that implements the minimal servicing-assistant behaviours of OFP §2.1 for every event
 * type, answers over the HTTPS binding (§2.3: an envelope with an empty `events` array when it
 * has nothing to say), and plays the convener role (§0.4.2, §2.2 "Delegating Events To
 * Convener") when the floor assigns it.
 *
 * | event received | behaviour (§2.1) |
 * |-|-|
 * | any, with a `to` naming someone else | ignored |
 * | utterance | `onUtterance`; the reply is public, or private to the sender when the utterance was private |
 * | invite | `onInvite` (default accept): acceptInvite + a greeting, then an answer to the last turn of `dialogHistory` unless an utterance came with the invite; or declineInvite with a reason |
 * | acceptInvite, declineInvite | ignored unless this agent sent the invite (`onInviteAnswer`) |
 * | bye | ignored (`onBye` is told) |
 * | getManifests | addressed here, scope internal/all: publishManifests with this manifest; scope external: ignored; not addressed: `onGetManifests` decides, default ignored |
 * | publishManifests | ignored unless this agent asked (`onManifests`) |
 * | uninvite | leaves: every later event of the conversation is ignored until a new invite |
 * | requestFloor, yieldFloor | ignored (a convener decides delegated requestFloor events) |
 * | grantFloor | takes the floor: replies held while floorless are sent, `onFloorGranted` |
 * | revokeFloor | stops speaking: later replies are held and a requestFloor is sent instead, unless the utterance is addressed to this agent by speakerUri |
 * | context (1.0.0) | `onContext` |
 * | anything else | ignored |
 *
 * The agent's view of the floor follows the floor manager: when an envelope lists this agent
 * among `conversants`, `floorGranted` (when present) decides whether it holds the floor.
 */
import { acceptInvite, declineInvite, dialogEvent as buildDialogEvent, publishManifests, requestFloor, utterance } from "./build.js";
import { isAddressedTo, isPrivate } from "./address.js";
import { textOf } from "./dialog-event.js";
import { serveOfp, type OfpEnvelopeHandler, type OfpInboundMeta, type RunningOfpServer } from "./http.js";
import { parseOfpEnvelope } from "./parse.js";
import { composeEnvelope, defaultClock, defaultIds, OfpRuntimeError, type Clock, type IdSource } from "./runtime.js";
import type {
  Capability,
  ContextEvent,
  Conversation,
  DialogEvent,
  GetManifestsEvent,
  Identification,
  InviteEvent,
  Manifest,
  OfpDocument,
  OfpEvent,
  PublishedManifest,
  PublishManifestsEvent,
  RevokeFloorEvent,
  Sender,
  To,
  UtteranceEvent,
} from "./types.js";
import { isOfp1xVersion, OFP_LATEST_VERSION, type Ofp1xVersion } from "./versions.js";

/** A manifest whose `serviceUrl` may be left for {@link OfpAgent.serve} to fill in. */
export interface AgentManifestInit {
  identification: {
    speakerUri: string;
    serviceUrl?: string;
    organization: string;
    conversationalName: string;
    department?: string;
    role?: string;
    synopsis: string;
    openFloorRoles?: Record<string, boolean>;
  };
  capabilities: Capability[];
  [k: string]: unknown;
}

/** What a handler may answer: text (an utterance), or an utterance and/or extra events. */
export type AgentReply =
  | string
  | {
      /** Text of an utterance by this agent. */
      text?: string;
      /** Recipient of that utterance (default: public, or private to the sender of a private utterance). */
      to?: To;
      private?: boolean;
      /** More events, sent after the utterance (invite, yieldFloor, bye, getManifests, ...). */
      events?: OfpEvent[];
    };

/** The view a handler gets of the envelope and the conversation. */
export interface AgentContext {
  readonly conversationId: string;
  /** The `conversation` section as received (curated by the floor manager). */
  readonly conversation: Conversation;
  /** The sender of the envelope being handled. */
  readonly sender: Sender;
  readonly self: Identification;
  /** The version the answer is written in (that of the received envelope). */
  readonly version: Ofp1xVersion;
  /** Whether this agent currently holds the floor (§1.6.3). */
  readonly hasFloor: boolean;
  /** Per-conversation memory of this agent (kept across envelopes). */
  readonly memory: Record<string, unknown>;
  /**
   * The dialog events this agent heard or said in the conversation, oldest first (at most
   * {@link AGENT_HISTORY_LIMIT}): what an invite's `dialogHistory` may carry (§1.12).
   */
  readonly history: readonly DialogEvent[];
  now(): Date;
  newId(): string;
  /** A dialog event spoken by this agent. */
  dialogEvent(text: string, options?: { lang?: string }): DialogEvent;
  /** An utterance event by this agent. */
  say(text: string, to?: To): UtteranceEvent;
}

/** An utterance as `onUtterance` sees it. */
export interface UtteranceInput {
  /** The text of the `text` feature (§1.10.1; "" when it has no inline text). */
  text: string;
  dialogEvent: DialogEvent;
  event: UtteranceEvent;
  /** Who spoke: the dialog event's speakerUri. */
  from: string;
  /** A whisper (§1.10). */
  private: boolean;
  /** Addressed to this agent by speakerUri. */
  directed: boolean;
}

/** The answer to an invite. */
export type InviteDecision =
  | { accept: true; greeting?: string | false; reply?: AgentReply }
  | { accept: false; reason: string };

/** A convener's decision on a delegated event: its replacement events, or "approve" (the event unchanged). */
export type ConvenerDecision = "approve" | OfpEvent[];

/** The convener role (§0.4.2): decides events the floor manager delegates (§2.2). */
export interface ConvenerPolicy {
  /**
   * Decides one delegated event (invite, uninvite, requestFloor, grantFloor, revokeFloor, or an
   * utterance from a conversant without the floor). Default: approve everything, and answer a
   * requestFloor with a grantFloor to the requester.
   */
  decide?(delegated: { event: OfpEvent; from: string }, ctx: AgentContext): ConvenerDecision | Promise<ConvenerDecision>;
}

type Maybe<T> = T | undefined | Promise<T | undefined>;

/** What {@link defineAgent} takes. */
export interface AgentDefinition {
  manifest: AgentManifestInit;
  /** §2.1 utterance: answer the speaker (return nothing to stay silent). */
  onUtterance(input: UtteranceInput, ctx: AgentContext): Maybe<AgentReply>;
  /** §2.1 invite: accept (default) or decline. */
  onInvite?(input: { event: InviteEvent; dialogHistory: DialogEvent[]; from: string }, ctx: AgentContext): InviteDecision | Promise<InviteDecision>;
  /** 1.0.0 `context` event (extra media/text with an utterance). Default: ignored. */
  onContext?(input: { event: ContextEvent; dialogHistory: DialogEvent[] }, ctx: AgentContext): Maybe<AgentReply>;
  /** acceptInvite / declineInvite for an invite this agent sent. */
  onInviteAnswer?(input: { accepted: boolean; event: OfpEvent; from: string }, ctx: AgentContext): Maybe<AgentReply>;
  /** publishManifests answering a getManifests this agent sent. */
  onManifests?(input: { event: PublishManifestsEvent; from: string }, ctx: AgentContext): Maybe<AgentReply>;
  /** getManifests without a `to` (§2.1: consider it; default: ignore). Return the manifests to publish. */
  onGetManifests?(input: { event: GetManifestsEvent; scope: string }, ctx: AgentContext): Maybe<PublishedManifest[]>;
  /** Somebody left (bye). */
  onBye?(input: { from: string }, ctx: AgentContext): void | Promise<void>;
  /** This agent was uninvited. */
  onUninvite?(input: { event: OfpEvent; from: string }, ctx: AgentContext): void | Promise<void>;
  /** The floor was granted to this agent; replies held while floorless have been queued already. */
  onFloorGranted?(input: { event: OfpEvent; from: string }, ctx: AgentContext): Maybe<AgentReply>;
  /** The floor was revoked from this agent. */
  onFloorRevoked?(input: { event: RevokeFloorEvent; from: string }, ctx: AgentContext): void | Promise<void>;
  /** Greeting on accepting an invite (default "Hello, I'm NAME. How can I help?"); false: none. */
  greeting?: string | false;
  /** Floorless replies: "request" (hold them, send requestFloor; default), "speak" anyway, "silent" (drop). */
  whenFloorless?: "request" | "speak" | "silent";
  /** Makes the agent a convener when the floor assigns it the role. */
  convener?: ConvenerPolicy;
  now?: Clock;
  newId?: IdSource;
  /** Notified of every envelope handled (for traces). */
  onTrace?: (entry: { direction: "in" | "out"; document: OfpDocument }) => void;
}

/** What the runtime remembers per conversation. */
export interface AgentConversationState {
  joined: boolean;
  left: boolean;
  hasFloor: boolean;
  /** Replies held while floorless. */
  pending: OfpEvent[];
  floorRequested: boolean;
  /** speakerUris / serviceUrls this agent invited and that have not answered. */
  invitesSent: string[];
  manifestsAsked: boolean;
  memory: Record<string, unknown>;
  history: DialogEvent[];
}

/** How many dialog events an agent remembers per conversation. */
export const AGENT_HISTORY_LIMIT = 20;

/** A defined agent. */
export interface OfpAgent {
  readonly speakerUri: string;
  /** The serviceUrl (set by {@link OfpAgent.serve} when the manifest had none). */
  readonly serviceUrl: string | undefined;
  /** The complete manifest; throws ERR_OFP_FLOOR while the serviceUrl is unknown. */
  readonly manifest: Manifest;
  readonly identification: Identification;
  /** The envelope handler (HTTPS binding; also usable in-process). */
  readonly handle: OfpEnvelopeHandler;
  /** Serves the agent on loopback (HTTPS binding); sets `serviceUrl` when the manifest had none. */
  serve(options?: { port?: number; host?: string; path?: string; tls?: { key: string | Buffer; cert: string | Buffer } }): Promise<RunningOfpServer>;
  /** The agent's memory of a conversation. */
  conversation(id: string): AgentConversationState | undefined;
}

/** Event types the floor manager delegates to a convener (§2.2 table). */
export const DELEGATED_EVENT_TYPES: ReadonlySet<string> = new Set(["invite", "uninvite", "requestFloor", "grantFloor", "revokeFloor"]);

/**
 * §2.2: is `event` (from `sender`) one the floor delegated to this convener? The floor sends a
 * convener delegable events only as delegations, except those about the convener itself (its
 * own invitation, uninvitation, floor grant or revocation).
 */
function isDelegation(event: OfpEvent, sender: string, conversation: Conversation, self: string): boolean {
  if (event.eventType === "requestFloor") return true;
  if (DELEGATED_EVENT_TYPES.has(event.eventType)) return event.to?.speakerUri !== self;
  return event.eventType === "utterance" && Array.isArray(conversation.floorGranted) && !conversation.floorGranted.includes(sender);
}

function replyEvents(reply: AgentReply, ctx: AgentContext, defaultTo: To | undefined): OfpEvent[] {
  const r = typeof reply === "string" ? { text: reply } : reply;
  const out: OfpEvent[] = [];
  if (r.text !== undefined) {
    const to = r.to ?? defaultTo;
    const withPrivacy = to === undefined ? undefined : r.private === undefined ? to : { ...to, private: r.private };
    out.push(utterance({ dialogEvent: ctx.dialogEvent(r.text), ...(withPrivacy === undefined ? {} : { to: withPrivacy }) }));
  }
  out.push(...(r.events ?? []));
  return out;
}

function remember(state: AgentConversationState, de: DialogEvent): void {
  if (de.id !== undefined && state.history.some((h) => h.id === de.id)) return;
  state.history.push(structuredClone(de));
  if (state.history.length > AGENT_HISTORY_LIMIT) state.history.splice(0, state.history.length - AGENT_HISTORY_LIMIT);
}

function emptyState(): AgentConversationState {
  return { joined: false, left: false, hasFloor: true, pending: [], floorRequested: false, invitesSent: [], manifestsAsked: false, memory: {}, history: [] };
}

/** Defines an Open Floor agent (see the module comment for its behaviour). */
export function defineAgent(def: AgentDefinition): OfpAgent {
  const now = def.now ?? defaultClock;
  const newId = def.newId ?? defaultIds;
  const states = new Map<string, AgentConversationState>();
  let serviceUrl = def.manifest.identification.serviceUrl;
  const speakerUri = def.manifest.identification.speakerUri;

  const identification = (): Identification => {
    if (serviceUrl === undefined) throw new OfpRuntimeError("ERR_OFP_FLOOR", `agent ${speakerUri} has no serviceUrl yet (serve it first)`);
    return { ...structuredClone(def.manifest.identification), serviceUrl };
  };
  const manifest = (): Manifest => ({ ...structuredClone(def.manifest), identification: identification() });
  const self = () => ({ speakerUri, ...(serviceUrl === undefined ? {} : { serviceUrl }) });

  async function handle(input: unknown, _meta?: OfpInboundMeta): Promise<OfpDocument> {
    const parsed = parseOfpEnvelope(input, { lenient: true });
    def.onTrace?.({ direction: "in", document: parsed.value });
    const env = parsed.envelope;
    const version: Ofp1xVersion = isOfp1xVersion(parsed.version) ? parsed.version : OFP_LATEST_VERSION;
    const conversationId = env.conversation.id;
    let st = states.get(conversationId);
    if (st === undefined) {
      st = emptyState();
      states.set(conversationId, st);
    }
    const state = st;
    const out: OfpEvent[] = [];
    const senderUri = env.sender.speakerUri;
    const me = self();
    const listed = (env.conversation.conversants ?? []).some((c) => c.identification?.speakerUri === speakerUri);
    if (listed && Array.isArray(env.conversation.floorGranted)) {
      const granted = env.conversation.floorGranted.includes(speakerUri);
      if (granted && !state.hasFloor) {
        // Granted since (§1.20): what was held goes out now.
        state.floorRequested = false;
        out.push(...state.pending.splice(0));
      }
      state.hasFloor = granted;
    }
    const isConvener = def.convener !== undefined && (env.conversation.assignedFloorRoles?.convener ?? []).includes(speakerUri);
    const ctx: AgentContext = {
      conversationId,
      conversation: env.conversation,
      sender: env.sender,
      get self() {
        return identification();
      },
      version,
      get hasFloor() {
        return state.hasFloor;
      },
      memory: state.memory,
      get history() {
        return state.history;
      },
      now,
      newId,
      dialogEvent: (text, o = {}) => buildDialogEvent({ id: newId(), speakerUri, startTime: now(), text, ...(o.lang === undefined ? {} : { lang: o.lang }) }),
      say: (text, to) => utterance({ dialogEvent: ctx.dialogEvent(text), ...(to === undefined ? {} : { to }) }),
    };

    /** Queues reply events, holding utterances while floorless (§2.1 revokeFloor). */
    const emit = (events: OfpEvent[], directed: boolean): void => {
      const speaks = events.some((e) => e.eventType === "utterance");
      if (!speaks || state.hasFloor || directed || def.whenFloorless === "speak") {
        out.push(...events);
        return;
      }
      if (def.whenFloorless === "silent") return;
      state.pending.push(...events);
      if (!state.floorRequested) {
        state.floorRequested = true;
        out.push(requestFloor({ reason: "has an answer" }));
      }
    };
    const answer = async (reply: Maybe<AgentReply>, defaultTo: To | undefined, directed: boolean): Promise<void> => {
      const r = await reply;
      if (r !== undefined) emit(replyEvents(r, ctx, defaultTo), directed);
    };

    if (senderUri !== speakerUri) {
      const events = env.events;
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        // §2.2: events the floor delegates to the convener (it sends delegable events to a
        // convener only as delegations; utterances only from conversants without the floor).
        if (isConvener && isDelegation(ev, senderUri, env.conversation, speakerUri)) {
          const decision = (await def.convener!.decide?.({ event: ev, from: senderUri }, ctx)) ?? defaultConvenerDecision(ev, senderUri);
          out.push(...(decision === "approve" ? [structuredClone(ev)] : decision));
          continue;
        }
        if (state.left && !(ev.eventType === "invite" && isAddressedTo(ev, me))) continue;
        if (!isAddressedTo(ev, me)) continue;
        switch (ev.eventType) {
          case "utterance": {
            const de = ev.parameters.dialogEvent;
            remember(state, de);
            const priv = isPrivate(ev);
            const directed = ev.to?.speakerUri === speakerUri;
            await answer(
              def.onUtterance({ text: textOf(de) ?? "", dialogEvent: de, event: ev, from: de.speakerUri, private: priv, directed }, ctx),
              priv ? { speakerUri: senderUri, private: true } : undefined,
              directed,
            );
            break;
          }
          case "invite": {
            const history = ev.parameters?.dialogHistory ?? [];
            for (const de of history) remember(state, de);
            const decision: InviteDecision = def.onInvite === undefined ? { accept: true } : await def.onInvite({ event: ev, dialogHistory: history, from: senderUri }, ctx);
            if (!decision.accept) {
              out.push(declineInvite({ to: { speakerUri: senderUri }, reason: decision.reason }));
              break;
            }
            state.joined = true;
            state.left = false;
            state.hasFloor = true;
            state.floorRequested = false;
            if (version !== "1.0.0") out.push(acceptInvite({ to: { speakerUri: senderUri } }));
            const greeting = decision.greeting ?? def.greeting ?? `Hello, I'm ${def.manifest.identification.conversationalName}. How can I help?`;
            if (greeting !== false) out.push(ctx.say(greeting));
            if (decision.reply !== undefined) {
              await answer(decision.reply, undefined, true);
              break;
            }
            // §2.1: respond to accompanying utterances (handled as they come) or else to the dialog history.
            const accompanied = events.some((e, j) => j !== i && e.eventType === "utterance" && isAddressedTo(e, me));
            const last = history.at(-1);
            if (!accompanied && last !== undefined && last.speakerUri !== speakerUri) {
              await answer(def.onUtterance({ text: textOf(last) ?? "", dialogEvent: last, event: utterance({ dialogEvent: last }), from: last.speakerUri, private: false, directed: false }, ctx), undefined, true);
            }
            break;
          }
          case "acceptInvite":
          case "declineInvite": {
            const key = state.invitesSent.find((k) => k === senderUri || k === env.sender.serviceUrl);
            if (key === undefined) break;
            state.invitesSent = state.invitesSent.filter((k) => k !== key);
            await answer(def.onInviteAnswer?.({ accepted: ev.eventType === "acceptInvite", event: ev, from: senderUri }, ctx), undefined, false);
            break;
          }
          case "bye":
            await def.onBye?.({ from: senderUri }, ctx);
            break;
          case "getManifests": {
            const scope = typeof ev.parameters?.recommendScope === "string" ? ev.parameters.recommendScope : "internal";
            if (scope === "external") break;
            const manifests = ev.to !== undefined ? [manifest()] : await def.onGetManifests?.({ event: ev, scope }, ctx);
            if (manifests !== undefined && manifests.length > 0) out.push(publishManifests({ to: { speakerUri: senderUri, ...(env.sender.serviceUrl === undefined ? {} : { serviceUrl: env.sender.serviceUrl }) }, servicingManifests: manifests }));
            break;
          }
          case "publishManifests":
            if (!state.manifestsAsked) break;
            state.manifestsAsked = false;
            await answer(def.onManifests?.({ event: ev, from: senderUri }, ctx), undefined, false);
            break;
          case "uninvite":
            state.left = true;
            state.joined = false;
            state.pending = [];
            await def.onUninvite?.({ event: ev, from: senderUri }, ctx);
            break;
          case "grantFloor": {
            state.hasFloor = true;
            state.floorRequested = false;
            const held = state.pending;
            state.pending = [];
            out.push(...held);
            await answer(def.onFloorGranted?.({ event: ev, from: senderUri }, ctx), undefined, true);
            break;
          }
          case "revokeFloor":
            state.hasFloor = false;
            await def.onFloorRevoked?.({ event: ev, from: senderUri }, ctx);
            break;
          case "context":
            await answer(def.onContext?.({ event: ev, dialogHistory: ev.parameters?.dialogHistory ?? [] }, ctx), undefined, false);
            break;
          default:
            // requestFloor, yieldFloor, legacy draft events, unknown types: ignored (§2.1).
            break;
        }
      }
    }

    // Bookkeeping of what this agent itself says.
    for (const e of out) {
      if (e.eventType === "utterance") remember(state, e.parameters.dialogEvent);
      if (e.eventType === "invite" && e.to !== undefined) state.invitesSent.push(...[e.to.speakerUri, e.to.serviceUrl].filter((k): k is string => k !== undefined));
      if (e.eventType === "getManifests") state.manifestsAsked = true;
      if (e.eventType === "yieldFloor") state.hasFloor = false;
      if (e.eventType === "bye") state.left = true;
    }
    const composed = composeEnvelope({ version, conversation: { id: conversationId }, sender: me, events: out });
    def.onTrace?.({ direction: "out", document: composed.document });
    return composed.document;
  }

  const agent: OfpAgent = {
    speakerUri,
    get serviceUrl() {
      return serviceUrl;
    },
    get manifest() {
      return manifest();
    },
    get identification() {
      return identification();
    },
    handle,
    async serve(o = {}) {
      const path = o.path ?? "/";
      const server = await serveOfp({ routes: { [path]: handle }, ...(o.port === undefined ? {} : { port: o.port }), ...(o.host === undefined ? {} : { host: o.host }), ...(o.tls === undefined ? {} : { tls: o.tls }) });
      if (serviceUrl === undefined) serviceUrl = server.urlOf(path);
      return server;
    },
    conversation: (id) => states.get(id),
  };
  return agent;
}

/** The default convener decision: approve, and answer requestFloor with grantFloor to the requester. */
export function defaultConvenerDecision(event: OfpEvent, from: string): ConvenerDecision {
  if (event.eventType === "requestFloor") return [{ eventType: "grantFloor", to: { speakerUri: from }, ...(event.reason === undefined ? {} : { reason: `requested: ${event.reason}` }) }];
  return "approve";
}

/** A convener: an agent that speaks only to decide delegated events (and greets nobody). */
export function defineConvener(def: Omit<AgentDefinition, "onUtterance" | "convener"> & { policy?: ConvenerPolicy; onUtterance?: AgentDefinition["onUtterance"] }): OfpAgent {
  const { policy, onUtterance, ...rest } = def;
  return defineAgent({ greeting: false, ...rest, convener: policy ?? {}, onUtterance: onUtterance ?? (() => undefined) });
}
