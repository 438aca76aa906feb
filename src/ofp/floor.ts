/**
 * The Open Floor floor manager (OFP §0.4.1, §2.2): a registry of conversations that curates
 * their `conversation` section, routes every event to the conversants it is for, delegates the
 * discretionary ones to a convener (§0.4.2), and keeps a full event log per conversation.
 *
 * Routing (§2.2 "Delegating Events To Convener", processed in order per envelope and per event,
 * "Processing Envelopes and Events in Sequence"):
 *
 * | event | convener assigned | no convener |
 * |-|-|-|
 * | utterance from a conversant with the floor | pass through | pass through |
 * | utterance from a conversant without the floor | delegate | ignore |
 * | invite, uninvite, grantFloor, revokeFloor | delegate | pass through |
 * | requestFloor | delegate | the floor sends grantFloor |
 * | everything else | pass through | pass through |
 *
 * Pass through = to every conversant but the sender; a private utterance (whisper) only to its
 * `to` conversant, or to the focal agent when it is addressed to the floor itself. Events the
 * convener sent, or returned unchanged (its approval), are passed through without a second
 * delegation; the convener never receives a delegable event except as a delegation, so it can
 * tell the two apart. Bookkeeping (§2.2 "Curating the conversation section"): an invitee is added
 * (with floor rights) as soon as the invite is passed through and becomes the focal agent;
 * declineInvite, bye and uninvite remove a conversant; yieldFloor and revokeFloor take floor
 * rights away, grantFloor gives them (and focus); requestFloor changes nothing by itself.
 *
 * Delivery: conversants the floor invited are `push` (the envelope is POSTed to their
 * serviceUrl and their answer is processed as their next envelope); conversants that opened
 * the conversation as clients (a user proxy) are `pull` (their events wait in an outbox and are
 * returned in the answer to their next request, or go down their gRPC stream). A push
 * conversant that does not answer within `responseTimeoutMs` (or cannot be reached) is removed
 * and the others get an `uninvite` with `@timedOut` (or `@error`) from the floor.
 *
 * Inbound envelopes are parsed in lenient mode by default (docs/ofp.md "Lenient mode").
 */
import { isDeepStrictEqual } from "node:util";
import type { JsonObject } from "../json/types.js";
import { isAddressedTo, isPrivate } from "./address.js";
import { DELEGATED_EVENT_TYPES } from "./agent.js";
import { getManifests, grantFloor, invite as inviteEvent, uninvite as uninviteEvent } from "./build.js";
import { MemoryFloorStore, type ConversantRecord, type ConversationRecord, type Delivery, type FloorLogEntry, type FloorStore, type FloorVersion, type OutboxItem } from "./floor-store.js";
import { sendEnvelope, serveOfp, type OfpEnvelopeHandler, type OfpInboundMeta, type RunningOfpServer, type ServeOfpOptions } from "./http.js";
import { parseOfpEnvelope } from "./parse.js";
import { composeEnvelope, defaultClock, defaultIds, defaultTimer, eventTypes, OfpRuntimeError, withTimeout, type Clock, type IdSource, type Timer } from "./runtime.js";
import type { Conversation, DialogEvent, Identification, OfpDocument, OfpEvent, PublishedManifest, Sender, To } from "./types.js";

/** Sends an envelope to a push conversant and returns its answer. */
export interface FloorTransport {
  deliver(serviceUrl: string, document: OfpDocument, signal: AbortSignal): Promise<OfpDocument | undefined>;
}

/** The default transport: the HTTPS binding ({@link sendEnvelope}, lenient answers). */
export function httpFloorTransport(options: { fetch?: typeof fetch } = {}): FloorTransport {
  return {
    async deliver(serviceUrl, document, signal) {
      const answer = await sendEnvelope(serviceUrl, document, { signal, timeoutMs: Infinity, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) });
      return answer.value;
    },
  };
}

/** Who the floor manager is when it speaks itself (grantFloor, uninvite @timedOut, discovery). */
export interface FloorIdentity {
  speakerUri: string;
  /** Where conversants reach the floor; set by {@link FloorManager.serve} when absent. */
  serviceUrl?: string;
}

/** Options of {@link FloorManager}. */
export interface FloorManagerOptions {
  identity: FloorIdentity;
  /** Default: a {@link MemoryFloorStore}. */
  store?: FloorStore;
  /** Version of the envelopes the floor writes (default 1.1.0). */
  version?: FloorVersion;
  /** Default: {@link httpFloorTransport}. */
  transport?: FloorTransport;
  /** How long a push conversant may take to answer (default 10 s). */
  responseTimeoutMs?: number;
  /** Injected timer (tests decide when time is up). */
  timer?: Timer;
  now?: Clock;
  /** Ids of conversations the floor opens without one. */
  newId?: IdSource;
  /** Known agents: the identification for an invite's `to` (tried before discovery). */
  directory?: (to: To) => Identification | undefined | Promise<Identification | undefined>;
  /** Ask an unknown invitee for its manifest (getManifests, §1.17) before inviting it. Default true. */
  discover?: boolean;
  /** A convener the floor invites into every conversation it opens (unless the opener names another). */
  convener?: Identification;
  /** Parse inbound envelopes in lenient mode (default true). */
  lenient?: boolean;
  /** Create a conversation when an envelope names an unknown one (default true). */
  openOnFirstEnvelope?: boolean;
  /** `empty` (default): close when nobody but the convener is left; `no-pull-conversants`: when the last client (user proxy) leaves. */
  closeWhen?: "empty" | "no-pull-conversants";
  /** Upper bound of envelopes processed for one request (answers included). Default 256. */
  maxEnvelopesPerRequest?: number;
  /** Told of every log entry as it is written. */
  onLog?: (entry: FloorLogEntry) => void;
}

/** Input of {@link FloorManager.openConversation}. */
export interface OpenConversationInit {
  id?: string;
  /** Conversants present from the start (delivery `pull` unless given). */
  conversants?: { identification: Identification; delivery?: Delivery }[];
  /** A convener to invite (§0.4.2; default: the floor's); it is assigned the role once it has accepted. `null`: none. */
  convener?: Identification | null;
  /** Agents the floor invites at once (each becomes focal in turn). */
  invite?: { to: To; dialogHistory?: DialogEvent[]; reason?: string }[];
  version?: FloorVersion;
  data?: JsonObject;
}

interface Item {
  sender: Sender;
  events: OfpEvent[];
  /** The envelope, logged as `received` when the item is processed. */
  document?: OfpDocument;
}

interface Pending {
  event: OfpEvent;
  sender: Sender;
  /** Returned unchanged by the convener (or originated by floor/convener): never delegated again. */
  approved: boolean;
}

interface Routed {
  target: ConversantRecord;
  sender: Sender;
  events: OfpEvent[];
  conversation: Conversation;
}

interface Ctx {
  conv: ConversationRecord;
  /** Floor notices (uninvite @timedOut) waiting to be routed. */
  notices: Item[];
  /** Conversants removed during this request (their outboxes still answer their last request). */
  removed: Map<string, ConversantRecord>;
}

type PostResult = { kind: "answered"; document: OfpDocument | undefined } | { kind: "timeout" } | { kind: "failed"; message: string };

const IDENTIFICATION_MEMBERS = ["speakerUri", "serviceUrl", "organization", "conversationalName", "department", "role", "synopsis", "openFloorRoles"] as const;

/** A copy of the members the conversants section may carry (its identification is closed). */
export function curateIdentification(i: Partial<Identification>): Identification {
  const out: Record<string, unknown> = {};
  for (const k of IDENTIFICATION_MEMBERS) if (i[k] !== undefined) out[k] = structuredClone(i[k]);
  return out as unknown as Identification;
}

const uriOf = (c: ConversantRecord): string => c.identification.speakerUri;

/** The floor manager (see the module comment). */
export class FloorManager {
  readonly #o: FloorManagerOptions;
  readonly #store: FloorStore;
  readonly #now: Clock;
  readonly #timer: Timer;
  readonly #transport: FloorTransport;
  readonly #locks = new Map<string, Promise<void>>();
  readonly #sinks = new Map<string, (doc: OfpDocument) => void>();
  #serviceUrl: string | undefined;

  constructor(options: FloorManagerOptions) {
    this.#o = options;
    this.#store = options.store ?? new MemoryFloorStore();
    this.#now = options.now ?? defaultClock;
    this.#timer = options.timer ?? defaultTimer;
    this.#transport = options.transport ?? httpFloorTransport();
    this.#serviceUrl = options.identity.serviceUrl;
  }

  /** The floor's own sender object. */
  get identity(): Sender {
    return { speakerUri: this.#o.identity.speakerUri, ...(this.#serviceUrl === undefined ? {} : { serviceUrl: this.#serviceUrl }) };
  }

  get store(): FloorStore {
    return this.#store;
  }

  /** The envelope handler for the bindings (HTTPS POST, gRPC Send/Converse). */
  readonly handle: OfpEnvelopeHandler = (envelope, meta) => this.receive(envelope, meta);

  /** Serves the floor over the HTTPS binding on loopback; sets the floor's serviceUrl when absent. */
  async serve(options: Omit<ServeOfpOptions, "routes"> & { path?: string } = {}): Promise<RunningOfpServer> {
    const { path = "/", ...rest } = options;
    const server = await serveOfp({ ...rest, routes: { [path]: this.handle } });
    this.#serviceUrl ??= server.urlOf(path);
    return server;
  }

  /** A conversation's record. */
  conversation(id: string): ConversationRecord | undefined {
    return this.#store.get(id);
  }

  conversations(): ConversationRecord[] {
    return this.#store.list();
  }

  /** A conversation's event log. */
  log(id: string, afterSeq?: number): FloorLogEntry[] {
    return this.#store.log(id, afterSeq);
  }

  /** The `conversation` section the floor writes for a conversation (§1.6). */
  conversationSection(id: string): Conversation | undefined {
    const conv = this.#store.get(id);
    return conv === undefined ? undefined : this.#snapshot(conv);
  }

  /** The public dialog events routed in a conversation, oldest first (the last `limit`). */
  dialogHistory(id: string, options: { limit?: number } = {}): DialogEvent[] {
    const all = this.#store
      .log(id)
      .filter((e) => e.kind === "routed" && e.event?.eventType === "utterance" && !isPrivate(e.event))
      .map((e) => (e.event as Extract<OfpEvent, { eventType: "utterance" }>).parameters.dialogEvent);
    return options.limit === undefined ? all : all.slice(-options.limit);
  }

  /** Updates a conversation's application data (e.g. the OHP bridge's handoff record). */
  async setData(id: string, patch: JsonObject): Promise<void> {
    await this.#locked(id, async () => {
      const conv = this.#mustGet(id);
      conv.data = { ...conv.data, ...structuredClone(patch) };
      this.#save(conv);
    });
  }

  /** Appends an application entry (e.g. `handoff`) to a conversation's log. */
  note(id: string, entry: Omit<FloorLogEntry, "seq" | "conversationId" | "at">): FloorLogEntry {
    return this.#append(id, entry);
  }

  /**
   * Opens a conversation: its first conversants, then a convener and agents invited by the
   * floor itself (their answers are processed as usual). Throws ERR_OFP_FLOOR when the id exists.
   */
  async openConversation(init: OpenConversationInit = {}): Promise<ConversationRecord> {
    const id = init.id ?? (this.#o.newId ?? defaultIds)();
    return this.#locked(id, async () => {
      if (this.#store.get(id) !== undefined) throw new OfpRuntimeError("ERR_OFP_FLOOR", `conversation ${id} exists`);
      const conv = this.#create(id, init.version, init.data);
      const ctx: Ctx = { conv, removed: new Map(), notices: [] };
      for (const c of init.conversants ?? []) this.#addConversant(ctx, curateIdentification(c.identification), c.delivery ?? "pull", "joined", "opened with the conversation");
      this.#save(conv);
      const convener = init.convener === undefined ? this.#o.convener : init.convener;
      if (convener !== undefined && convener !== null) await this.#inviteConvener(ctx, curateIdentification(convener));
      const invites = (init.invite ?? []).map((i) => inviteEvent({ to: i.to, ...(i.dialogHistory === undefined ? {} : { dialogHistory: i.dialogHistory }), ...(i.reason === undefined ? {} : { reason: i.reason }) }));
      await this.#cascade(ctx, invites.length > 0 ? [{ sender: this.identity, events: invites }] : []);
      this.#save(conv);
      return structuredClone(conv);
    });
  }

  /** Events the floor itself sends into a conversation (processed like any envelope of the floor). */
  async send(conversationId: string, events: readonly OfpEvent[]): Promise<ConversationRecord> {
    return this.#locked(conversationId, async () => {
      const conv = this.#mustGet(conversationId);
      if (conv.status === "closed") throw new OfpRuntimeError("ERR_OFP_FLOOR", `conversation ${conversationId} is closed`);
      const ctx: Ctx = { conv, removed: new Map(), notices: [] };
      await this.#cascade(ctx, [{ sender: this.identity, events: structuredClone([...events]) }]);
      this.#save(conv);
      return structuredClone(conv);
    });
  }

  /**
   * Processes an envelope from a conversant (or a new one opening a conversation) and returns
   * the answer for it: the events waiting in its outbox (pull conversants), else an envelope
   * with no events (§2.3). Throws OfpError for invalid envelopes and OfpRuntimeError
   * ERR_OFP_FLOOR for closed or unknown conversations and senders that are not conversants.
   */
  async receive(input: unknown, _meta?: OfpInboundMeta): Promise<OfpDocument> {
    const parsed = parseOfpEnvelope(input, { lenient: this.#o.lenient ?? true });
    const env = parsed.envelope;
    const id = env.conversation.id;
    return this.#locked(id, async () => {
      let conv = this.#store.get(id);
      const notices: Item[] = [];
      const sender: Sender = { speakerUri: env.sender.speakerUri, ...(env.sender.serviceUrl === undefined ? {} : { serviceUrl: env.sender.serviceUrl }) };
      if (conv === undefined) {
        if (this.#o.openOnFirstEnvelope === false) throw new OfpRuntimeError("ERR_OFP_FLOOR", `no conversation ${id}`);
        conv = this.#create(id, undefined, undefined);
        const ident = await this.#identificationOfSender(env.conversation, sender);
        const opening: Ctx = { conv, removed: new Map(), notices: [] };
        this.#addConversant(opening, ident, "pull", "joined", "opened the conversation");
        if (this.#o.convener !== undefined) await this.#inviteConvener(opening, curateIdentification(this.#o.convener));
        this.#save(conv);
        notices.push(...opening.notices);
      }
      const ctx: Ctx = { conv, removed: new Map(), notices };
      if (conv.status === "closed") {
        this.#append(id, { kind: "ignored", from: sender.speakerUri, events: eventTypes(parsed.value), document: parsed.value, note: "conversation closed" });
        throw new OfpRuntimeError("ERR_OFP_FLOOR", `conversation ${id} is closed`);
      }
      const me = this.#find(conv, sender.speakerUri);
      if (me === undefined) {
        this.#append(id, { kind: "ignored", from: sender.speakerUri, events: eventTypes(parsed.value), document: parsed.value, note: "sender is not a conversant" });
        throw new OfpRuntimeError("ERR_OFP_FLOOR", `${sender.speakerUri} is not a conversant of ${id}`);
      }
      if (me.status === "invited") me.status = "joined";
      await this.#cascade(ctx, [{ sender, events: env.events, document: parsed.value }]);
      const answer = this.#answerFor(ctx, sender.speakerUri);
      this.#save(conv);
      return answer;
    });
  }

  /**
   * Sends everything routed to a conversant down `sink` (a gRPC stream) instead of its outbox
   * or serviceUrl, starting with what waits in its outbox; what it says comes back as new
   * requests. Returns the function that detaches the sink.
   */
  async attach(conversationId: string, speakerUri: string, sink: (doc: OfpDocument) => void): Promise<() => void> {
    const key = `${conversationId}\n${speakerUri}`;
    await this.#locked(conversationId, async () => {
      this.#sinks.set(key, sink);
      const conv = this.#store.get(conversationId);
      const c = conv === undefined ? undefined : this.#find(conv, speakerUri);
      if (conv !== undefined && c !== undefined && c.delivery === "pull" && c.outbox.length > 0) {
        const doc = this.#answerFor({ conv, removed: new Map(), notices: [] }, speakerUri);
        this.#save(conv);
        sink(doc);
      }
    });
    return () => {
      if (this.#sinks.get(key) === sink) this.#sinks.delete(key);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // the cascade: route, deliver, process answers, until quiet

  async #cascade(ctx: Ctx, items: Item[]): Promise<void> {
    const queue = [...items, ...ctx.notices.splice(0)];
    const max = this.#o.maxEnvelopesPerRequest ?? 256;
    let n = 0;
    while (queue.length > 0) {
      if (n++ >= max) {
        this.#append(ctx.conv.id, { kind: "dropped", note: `${queue.length} envelope(s) left unprocessed: more than ${max} envelopes for one request` });
        break;
      }
      const item = queue.shift()!;
      if (item.document !== undefined) this.#append(ctx.conv.id, { kind: "received", from: item.sender.speakerUri, events: eventTypes(item.document), document: item.document });
      const routed = await this.#route(ctx, item);
      queue.push(...(await this.#deliverAll(ctx, routed)), ...ctx.notices.splice(0));
      this.#save(ctx.conv);
      if (ctx.conv.status === "closed") break;
    }
    await this.#closeIfDone(ctx);
  }

  async #route(ctx: Ctx, item: Item): Promise<Routed[]> {
    const { conv } = ctx;
    const out: Routed[] = [];
    const pending: Pending[] = item.events.map((event) => ({ event, sender: item.sender, approved: false }));
    while (pending.length > 0) {
      const p = pending.shift()!;
      const s = p.sender.speakerUri;
      if (s !== this.#o.identity.speakerUri && this.#find(conv, s) === undefined) {
        this.#append(conv.id, { kind: "ignored", from: s, event: p.event, note: "sender is not a conversant" });
        continue;
      }
      const action = this.#actionOf(conv, p);
      if (action === "delegate") {
        const decision = await this.#delegate(ctx, p);
        if (decision === undefined) {
          pending.unshift(p); // the convener is gone: decide again without it
          continue;
        }
        const convener = decision.convener;
        pending.unshift(...decision.events.map((e): Pending => (isDeepStrictEqual(e, p.event) ? { ...p, approved: true } : { event: e, sender: convener, approved: true })));
        continue;
      }
      if (action === "ignore") {
        this.#append(conv.id, { kind: "ignored", from: s, event: p.event, note: "utterance without the floor and no convener (§2.2)" });
        continue;
      }
      if (action === "grant") {
        pending.unshift({ event: grantFloor({ to: { speakerUri: s }, reason: "requested (no convener)" }), sender: this.identity, approved: true });
        continue;
      }
      const targets = await this.#apply(ctx, p);
      if (targets === undefined) continue;
      this.#append(conv.id, { kind: "routed", from: s, event: p.event, to: targets.map(uriOf).join(" ") });
      const snapshot = this.#snapshot(conv);
      // One envelope per recipient for consecutive events of one sender routed under the same
      // conversation state: the section an envelope carries is the state its events saw.
      for (const target of targets) {
        const last = out.findLast((r) => r.target === target);
        if (last !== undefined && last.sender.speakerUri === s && isDeepStrictEqual(last.conversation, snapshot)) last.events.push(p.event);
        else out.push({ target, sender: p.sender, events: [p.event], conversation: snapshot });
      }
    }
    return out;
  }

  #actionOf(conv: ConversationRecord, p: Pending): "pass" | "delegate" | "ignore" | "grant" {
    const s = p.sender.speakerUri;
    if (p.approved || s === this.#o.identity.speakerUri || s === conv.convener) return "pass";
    const hasConvener = conv.convener !== undefined && this.#find(conv, conv.convener) !== undefined;
    switch (p.event.eventType) {
      case "utterance":
        return conv.floorGranted.includes(s) ? "pass" : hasConvener ? "delegate" : "ignore";
      case "invite":
      case "uninvite":
      case "grantFloor":
      case "revokeFloor":
        return hasConvener ? "delegate" : "pass";
      case "requestFloor":
        return hasConvener ? "delegate" : "grant";
      default:
        return "pass";
    }
  }

  /** §2.2: sends one event to the convener in its own envelope and returns what it answers. */
  async #delegate(ctx: Ctx, p: Pending): Promise<{ events: OfpEvent[]; convener: Sender } | undefined> {
    const { conv } = ctx;
    const convener = this.#find(conv, conv.convener!)!;
    const composed = composeEnvelope({ version: conv.version, conversation: this.#snapshot(conv), sender: p.sender, events: [p.event] });
    this.#append(conv.id, { kind: "delegated", from: p.sender.speakerUri, to: uriOf(convener), event: p.event, document: composed.document });
    const r = await this.#post(convener.identification.serviceUrl, composed.document);
    if (r.kind !== "answered") {
      this.#silent(ctx, convener, r);
      return undefined;
    }
    const answer = r.document;
    if (answer !== undefined && answer.openFloor.sender.speakerUri !== uriOf(convener)) {
      this.#append(conv.id, { kind: "ignored", from: answer.openFloor.sender.speakerUri, document: answer, note: "delegation answered by someone else than the convener" });
      return { events: [], convener: { speakerUri: uriOf(convener), serviceUrl: convener.identification.serviceUrl } };
    }
    const events = answer?.openFloor.events ?? [];
    this.#append(conv.id, { kind: "decided", from: uriOf(convener), events: events.map((e) => e.eventType), ...(answer === undefined ? {} : { document: answer }) });
    return { events, convener: { speakerUri: uriOf(convener), serviceUrl: convener.identification.serviceUrl } };
  }

  /** Bookkeeping of a passed-through event (§2.2) and its recipients; undefined when it is ignored (and logged). */
  async #apply(ctx: Ctx, p: Pending): Promise<ConversantRecord[] | undefined> {
    const { conv } = ctx;
    const e = p.event;
    const s = p.sender.speakerUri;
    // The convener sees delegable events only as delegations (§2.2).
    const delegable = DELEGATED_EVENT_TYPES.has(e.eventType) || (e.eventType === "utterance" && p.approved && s !== conv.convener && s !== this.#o.identity.speakerUri);
    const excluded = new Set([s, ...(delegable && conv.convener !== undefined ? [conv.convener] : [])]);
    const others = (): ConversantRecord[] => conv.conversants.filter((c) => !excluded.has(uriOf(c)));
    switch (e.eventType) {
      case "utterance": {
        if (!isPrivate(e)) return others();
        const to = e.to!;
        const toFloor = to.speakerUri === this.#o.identity.speakerUri || (to.speakerUri === undefined && to.serviceUrl !== undefined && to.serviceUrl === this.#serviceUrl);
        const matched = toFloor ? [] : others().filter((c) => isAddressedTo(e, c.identification));
        if (matched.length > 0) return matched;
        const focal = conv.focal === undefined ? undefined : this.#find(conv, conv.focal);
        if (focal !== undefined && !excluded.has(uriOf(focal))) return [focal];
        this.#append(conv.id, { kind: "ignored", from: s, event: e, note: "whisper for nobody in the conversation" });
        return undefined;
      }
      case "invite": {
        if (e.to === undefined) return others();
        let invitee = this.#findByTo(conv, e.to);
        if (invitee === undefined) {
          const ident = await this.#resolveInvitee(ctx, e.to);
          if (ident === undefined) {
            this.#append(conv.id, { kind: "ignored", from: s, event: e, note: "the invitee has no serviceUrl the floor can reach" });
            return undefined;
          }
          invitee = this.#addConversant(ctx, ident, "push", "invited", `invited by ${s}`);
        } else if (!conv.floorGranted.includes(uriOf(invitee))) {
          conv.floorGranted.push(uriOf(invitee));
          this.#append(conv.id, { kind: "floor", to: uriOf(invitee), note: "granted (invited again)" });
        }
        this.#focus(conv, uriOf(invitee));
        return others();
      }
      case "uninvite": {
        const targets = others();
        const c = e.to === undefined ? undefined : this.#findByTo(conv, e.to);
        if (c !== undefined) this.#remove(ctx, c, `uninvited by ${s}${e.reason === undefined ? "" : ` (${e.reason})`}`);
        return targets;
      }
      case "declineInvite":
      case "bye": {
        const targets = others();
        const c = this.#find(conv, s);
        if (c !== undefined) this.#remove(ctx, c, `${e.eventType}${e.reason === undefined ? "" : ` (${e.reason})`}`);
        return targets;
      }
      case "acceptInvite": {
        const c = this.#find(conv, s);
        if (c !== undefined && c.status === "invited") {
          c.status = "joined";
          this.#append(conv.id, { kind: "joined", to: s, note: "accepted the invitation" });
        }
        return others();
      }
      case "grantFloor": {
        const c = e.to === undefined ? undefined : this.#findByTo(conv, e.to);
        if (c !== undefined) {
          if (!conv.floorGranted.includes(uriOf(c))) conv.floorGranted.push(uriOf(c));
          this.#append(conv.id, { kind: "floor", from: s, to: uriOf(c), note: "granted" });
          this.#focus(conv, uriOf(c));
        }
        return others();
      }
      case "revokeFloor": {
        const c = e.to === undefined ? undefined : this.#findByTo(conv, e.to);
        if (c !== undefined && conv.floorGranted.includes(uriOf(c))) {
          conv.floorGranted = conv.floorGranted.filter((u) => u !== uriOf(c));
          this.#append(conv.id, { kind: "floor", from: s, to: uriOf(c), note: `revoked${e.reason === undefined ? "" : ` (${e.reason})`}` });
        }
        return others();
      }
      case "yieldFloor": {
        if (conv.floorGranted.includes(s)) {
          conv.floorGranted = conv.floorGranted.filter((u) => u !== s);
          this.#append(conv.id, { kind: "floor", from: s, to: s, note: `yielded${e.reason === undefined ? "" : ` (${e.reason})`}` });
        }
        return others();
      }
      default:
        return others();
    }
  }

  /** Delivers routed envelopes in order; returns the answers (and floor notices for removed conversants). */
  async #deliverAll(ctx: Ctx, routed: Routed[]): Promise<Item[]> {
    const { conv } = ctx;
    const items: Item[] = [];
    const failed = new Set<ConversantRecord>();
    for (const r of routed) {
      if (failed.has(r.target)) continue;
      const uri = uriOf(r.target);
      const composed = composeEnvelope({ version: conv.version, conversation: r.conversation, sender: r.sender, events: r.events });
      for (const d of composed.dropped) this.#append(conv.id, { kind: "dropped", from: r.sender.speakerUri, to: uri, event: d.event, note: `not valid in Open Floor ${conv.version}: ${d.errors[0]?.message ?? "invalid"}` });
      const doc = composed.document;
      if (doc.openFloor.events.length === 0) continue;
      // An open stream (gRPC Converse) takes everything; its answers come up the stream.
      const sink = this.#sinks.get(`${conv.id}\n${uri}`);
      if (sink !== undefined) {
        this.#append(conv.id, { kind: "delivered", from: r.sender.speakerUri, to: uri, events: eventTypes(doc), document: doc, note: "stream" });
        sink(doc);
        continue;
      }
      if (r.target.delivery === "pull") {
        r.target.outbox.push(...doc.openFloor.events.map((event): OutboxItem => ({ sender: r.sender.speakerUri, event })));
        this.#append(conv.id, { kind: "queued", from: r.sender.speakerUri, to: uri, events: eventTypes(doc) });
        continue;
      }
      this.#append(conv.id, { kind: "delivered", from: r.sender.speakerUri, to: uri, events: eventTypes(doc), document: doc });
      const res = await this.#post(r.target.identification.serviceUrl, doc);
      if (res.kind !== "answered") {
        failed.add(r.target);
        this.#silent(ctx, r.target, res);
        continue;
      }
      const answer = res.document;
      if (answer === undefined || answer.openFloor.events.length === 0) continue;
      const from = answer.openFloor.sender.speakerUri;
      if (from !== uri) {
        if (r.target.status === "invited" && this.#find(conv, from) === undefined) this.#rename(conv, r.target, from);
        else {
          this.#append(conv.id, { kind: "ignored", from, to: uri, document: answer, note: `answer to an envelope for ${uri} sent as ${from}` });
          continue;
        }
      }
      items.push({ sender: answer.openFloor.sender, events: answer.openFloor.events, document: answer });
    }
    return items;
  }

  async #post(serviceUrl: string, doc: OfpDocument): Promise<PostResult> {
    try {
      const r = await withTimeout((signal) => this.#transport.deliver(serviceUrl, doc, signal), this.#o.responseTimeoutMs ?? 10_000, this.#timer);
      if ("timedOut" in r) return { kind: "timeout" };
      if (r.ok !== undefined) {
        // Answers are untrusted input like any request (lenient, like requests).
        const parsed = parseOfpEnvelope(r.ok, { lenient: this.#o.lenient ?? true });
        if (parsed.envelope.conversation.id !== doc.openFloor.conversation.id) return { kind: "failed", message: `answered for conversation ${parsed.envelope.conversation.id}` };
        return { kind: "answered", document: parsed.value };
      }
      return { kind: "answered", document: undefined };
    } catch (e) {
      return { kind: "failed", message: (e as Error).message };
    }
  }

  /** A push conversant that did not answer: removed; the others are told by an uninvite from the floor. */
  #silent(ctx: Ctx, c: ConversantRecord, r: Exclude<PostResult, { kind: "answered" }>): void {
    const { conv } = ctx;
    const uri = uriOf(c);
    const why = r.kind === "timeout" ? `@timedOut: no answer within ${this.#o.responseTimeoutMs ?? 10_000} ms` : `@error: ${r.message}`;
    this.#append(conv.id, { kind: r.kind === "timeout" ? "timeout" : "failed", to: uri, note: why });
    if (this.#find(conv, uri) === undefined) return;
    this.#remove(ctx, c, why);
    ctx.notices.push({ sender: this.identity, events: [uninviteEvent({ to: { speakerUri: uri, serviceUrl: c.identification.serviceUrl }, reason: why })] });
  }

  // ---------------------------------------------------------------------------------------------
  // conversants

  #create(id: string, version: FloorVersion | undefined, data: JsonObject | undefined): ConversationRecord {
    const at = this.#now().toISOString();
    const conv: ConversationRecord = { id, version: version ?? this.#o.version ?? "1.1.0", status: "open", conversants: [], floorGranted: [], createdAt: at, updatedAt: at, data: data ?? {} };
    this.#store.put(conv);
    this.#append(id, { kind: "opened", from: this.#o.identity.speakerUri, note: `Open Floor ${conv.version}` });
    return conv;
  }

  #find(conv: ConversationRecord, speakerUri: string): ConversantRecord | undefined {
    return conv.conversants.find((c) => uriOf(c) === speakerUri);
  }

  #findByTo(conv: ConversationRecord, to: To): ConversantRecord | undefined {
    if (to.speakerUri !== undefined) {
      const byUri = this.#find(conv, to.speakerUri);
      if (byUri !== undefined || to.serviceUrl === undefined) return byUri;
      // §1.12: the invitee need not adopt the suggested speakerUri; one agent per serviceUrl here.
      const byUrl = conv.conversants.filter((c) => c.identification.serviceUrl === to.serviceUrl);
      return byUrl.length === 1 ? byUrl[0] : undefined;
    }
    return to.serviceUrl === undefined ? undefined : conv.conversants.find((c) => c.identification.serviceUrl === to.serviceUrl);
  }

  #addConversant(ctx: Ctx, identification: Identification, delivery: Delivery, status: ConversantRecord["status"], note: string): ConversantRecord {
    const c: ConversantRecord = { identification, delivery, status, outbox: [], addedAt: this.#now().toISOString() };
    ctx.conv.conversants.push(c);
    // §2.2: conversants hold the floor as soon as they are added.
    if (!ctx.conv.floorGranted.includes(uriOf(c))) ctx.conv.floorGranted.push(uriOf(c));
    this.#append(ctx.conv.id, { kind: "joined", to: uriOf(c), note: `${note} (${delivery})` });
    return c;
  }

  #remove(ctx: Ctx, c: ConversantRecord, note: string): void {
    const { conv } = ctx;
    const uri = uriOf(c);
    conv.conversants = conv.conversants.filter((x) => x !== c);
    conv.floorGranted = conv.floorGranted.filter((u) => u !== uri);
    if (conv.focal === uri) delete conv.focal;
    if (conv.convener === uri) delete conv.convener;
    ctx.removed.set(uri, c);
    this.#append(conv.id, { kind: "left", to: uri, note });
  }

  #rename(conv: ConversationRecord, c: ConversantRecord, speakerUri: string): void {
    const old = uriOf(c);
    c.identification = { ...c.identification, speakerUri };
    conv.floorGranted = conv.floorGranted.map((u) => (u === old ? speakerUri : u));
    if (conv.focal === old) conv.focal = speakerUri;
    if (conv.convener === old) conv.convener = speakerUri;
    this.#append(conv.id, { kind: "joined", to: speakerUri, note: `answers as ${speakerUri}, not ${old} (§1.12)` });
  }

  #focus(conv: ConversationRecord, speakerUri: string): void {
    if (conv.focal === speakerUri) return;
    conv.focal = speakerUri;
    this.#append(conv.id, { kind: "floor", to: speakerUri, note: "focal agent" });
  }

  async #identificationOfSender(conversation: Conversation, sender: Sender): Promise<Identification> {
    const listed = (conversation.conversants ?? []).find((c) => c.identification?.speakerUri === sender.speakerUri)?.identification;
    if (listed !== undefined) return curateIdentification(listed);
    const known = await this.#o.directory?.({ speakerUri: sender.speakerUri, ...(sender.serviceUrl === undefined ? {} : { serviceUrl: sender.serviceUrl }) });
    if (known !== undefined) return curateIdentification(known);
    // A client without a manifest: it is reached through the floor (pull), so that is its serviceUrl.
    return { speakerUri: sender.speakerUri, serviceUrl: sender.serviceUrl ?? this.#serviceUrl ?? sender.speakerUri, organization: "", conversationalName: sender.speakerUri, synopsis: "" };
  }

  /** The identification of an invitee: the directory, else its manifest (§1.17), else what the invite says. */
  async #resolveInvitee(ctx: Ctx, to: To): Promise<Identification | undefined> {
    const known = await this.#o.directory?.(to);
    if (known !== undefined && known.serviceUrl !== undefined) return curateIdentification(known);
    const url = to.serviceUrl;
    if (url === undefined) return undefined;
    if (this.#o.discover !== false) {
      const doc = composeEnvelope({ version: ctx.conv.version, conversation: { id: ctx.conv.id }, sender: this.identity, events: [getManifests({ to: { serviceUrl: url, ...(to.speakerUri === undefined ? {} : { speakerUri: to.speakerUri }) } })] }).document;
      const r = await this.#post(url, doc);
      const published = r.kind === "answered" ? (r.document?.openFloor.events ?? []).flatMap((e) => (e.eventType === "publishManifests" ? (e.parameters?.servicingManifests ?? []) : [])) : [];
      const pick = (m: PublishedManifest[]): PublishedManifest | undefined => m.find((x) => x.identification.speakerUri === to.speakerUri) ?? m.find((x) => x.identification.serviceUrl === url) ?? m[0];
      const chosen = pick(published);
      this.#append(ctx.conv.id, { kind: "discovery", from: this.#o.identity.speakerUri, to: url, note: chosen === undefined ? `no manifest (${r.kind})` : `manifest of ${String(chosen.identification.speakerUri)}` });
      if (chosen !== undefined && typeof chosen.identification.speakerUri === "string") {
        return curateIdentification({ ...(chosen.identification as Partial<Identification>), serviceUrl: url });
      }
    }
    const name = to.speakerUri ?? url;
    return { speakerUri: name, serviceUrl: url, organization: "", conversationalName: name, synopsis: "" };
  }

  /** §0.4.2: invites a convener (bare invite from the floor) and assigns the role once it accepted. */
  async #inviteConvener(ctx: Ctx, identification: Identification): Promise<void> {
    const { conv } = ctx;
    const c = this.#find(conv, identification.speakerUri) ?? this.#addConversant(ctx, identification, "push", "invited", "invited as convener");
    const composed = composeEnvelope({ version: conv.version, conversation: this.#snapshot(conv), sender: this.identity, events: [inviteEvent({ to: { speakerUri: identification.speakerUri, serviceUrl: identification.serviceUrl }, reason: "convener" })] });
    this.#append(conv.id, { kind: "delivered", from: this.#o.identity.speakerUri, to: uriOf(c), events: ["invite"], document: composed.document });
    const r = await this.#post(identification.serviceUrl, composed.document);
    if (r.kind !== "answered") {
      this.#silent(ctx, c, r);
      return;
    }
    const events = r.document?.openFloor.events ?? [];
    if (r.document !== undefined) this.#append(conv.id, { kind: "received", from: r.document.openFloor.sender.speakerUri, events: events.map((e) => e.eventType), document: r.document });
    if (events.some((e) => e.eventType === "declineInvite")) {
      this.#remove(ctx, c, "declined the convener role");
      return;
    }
    c.status = "joined";
    conv.convener = uriOf(c);
    this.#append(conv.id, { kind: "floor", to: uriOf(c), note: "assigned the convener role (§1.6.2)" });
  }

  #answerFor(ctx: Ctx, speakerUri: string): OfpDocument {
    const { conv } = ctx;
    const c = this.#find(conv, speakerUri) ?? ctx.removed.get(speakerUri);
    const items = c !== undefined && c.delivery === "pull" ? c.outbox.splice(0) : [];
    const doc = composeEnvelope({ version: conv.version, conversation: this.#snapshot(conv), sender: this.identity, events: items.map((i) => i.event) }).document;
    if (items.length > 0) this.#append(conv.id, { kind: "answered", to: speakerUri, events: eventTypes(doc), document: doc });
    return doc;
  }

  async #closeIfDone(ctx: Ctx): Promise<void> {
    const { conv } = ctx;
    if (conv.status === "closed") return;
    const members = conv.conversants.filter((c) => uriOf(c) !== conv.convener);
    // Only a departure closes a conversation (a new one may start with nobody but its convener).
    if (ctx.removed.size === 0) return;
    const done = this.#o.closeWhen === "no-pull-conversants" ? !members.some((c) => c.delivery === "pull") : members.length === 0;
    if (!done) return;
    for (const c of [...conv.conversants]) {
      this.#remove(ctx, c, "conversation closed");
      if (c.delivery !== "push") continue;
      const doc = composeEnvelope({ version: conv.version, conversation: this.#snapshot(conv), sender: this.identity, events: [uninviteEvent({ to: { speakerUri: uriOf(c), serviceUrl: c.identification.serviceUrl }, reason: "conversation closed" })] }).document;
      this.#append(conv.id, { kind: "delivered", from: this.#o.identity.speakerUri, to: uriOf(c), events: ["uninvite"], document: doc });
      const r = await this.#post(c.identification.serviceUrl, doc);
      if (r.kind !== "answered") this.#append(conv.id, { kind: r.kind === "timeout" ? "timeout" : "failed", to: uriOf(c), note: "while closing" });
    }
    conv.status = "closed";
    this.#append(conv.id, { kind: "closed", note: "no conversants left" });
    this.#save(conv);
  }

  // ---------------------------------------------------------------------------------------------
  // plumbing

  /** §1.6: the conversation section the floor curates. */
  #snapshot(conv: ConversationRecord): Conversation {
    return {
      id: conv.id,
      conversants: conv.conversants.map((c) => ({ identification: structuredClone(c.identification) })),
      ...(conv.convener === undefined ? {} : { assignedFloorRoles: { convener: [conv.convener] } }),
      floorGranted: [...conv.floorGranted],
    };
  }

  #mustGet(id: string): ConversationRecord {
    const conv = this.#store.get(id);
    if (conv === undefined) throw new OfpRuntimeError("ERR_OFP_FLOOR", `no conversation ${id}`);
    return conv;
  }

  #save(conv: ConversationRecord): void {
    conv.updatedAt = this.#now().toISOString();
    this.#store.put(conv);
  }

  #append(conversationId: string, entry: Omit<FloorLogEntry, "seq" | "conversationId" | "at">): FloorLogEntry {
    const full = this.#store.append({ conversationId, at: this.#now().toISOString(), ...entry });
    this.#o.onLog?.(full);
    return full;
  }

  async #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = previous.then(() => mine);
    this.#locks.set(id, chain);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(id) === chain) this.#locks.delete(id);
    }
  }
}
