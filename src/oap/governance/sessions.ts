/**
 * Coordination Sessions (OAP-CORE-1.0 §15.4): Agents collaborating on a shared Task establish a
 * session identified by a session DID; every message is signed and ordered by the Lamport or
 * vector clock the session manifest declares.
 *
 * Lamport: each send increments the local clock; each receive sets it to max(local, message)+1;
 * the total order is (lamport, sender_did). Vector: each participant keeps a vector; the order
 * is a linear extension of causality — (sum of the vector, sender_did) — since a causal
 * successor always has a strictly greater sum.
 *
 * Messages are singly signed OAP documents (JCS, Ed25519, `signature: {alg, kid, value}`) by a
 * key of `sender_did`; receivers verify the signature, the session, membership, and refuse a
 * repeated (sender, clock) pair.
 *
 * @module
 */
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { isJsonObject, type JsonValue } from "../../json/types.js";
import { OapError } from "../errors.js";
import { signDocument, verifyDocument, type OapKeyResolver, type OapSigner } from "../sign.js";
import { clockMs, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

/** Clock kinds of §15.4. */
export type SessionClockKind = "lamport" | "vector";

/** The session manifest. */
export interface SessionManifest {
  readonly session_did: string;
  readonly clock: SessionClockKind;
  readonly participants: readonly string[];
  readonly created_at: string;
  readonly task?: string;
}

/** A signed session message. */
export interface SessionMessage {
  readonly session_did: string;
  readonly sender_did: string;
  /** Lamport time (lamport sessions). */
  readonly lamport?: number;
  /** Vector time (vector sessions). */
  readonly vector?: Readonly<Record<string, number>>;
  readonly sent_at: string;
  readonly body: JsonValue;
  readonly signature: { readonly alg: string; readonly kid: string; readonly value: string };
}

/** A new session manifest (session DID `did:oap:session:<ULID>` unless given). */
export function createSessionManifest(input: { readonly participants: readonly string[]; readonly clock?: SessionClockKind; readonly task?: string; readonly session_did?: string }, clock: OapClock = systemClock, random: OapRandom = systemRandom): SessionManifest {
  if (input.participants.length < 2) throw new OapError("ERR_OAP_INPUT_INVALID", "a coordination session needs at least two participants");
  return {
    session_did: input.session_did ?? `did:oap:session:${oapUlid(clockMs(clock), random)}`,
    clock: input.clock ?? "lamport",
    participants: [...new Set(input.participants)],
    created_at: rfc3339(clock()),
    ...(input.task === undefined ? {} : { task: input.task }),
  };
}

/** Vector clock comparison. */
export function compareVectors(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): "before" | "after" | "equal" | "concurrent" {
  let less = false;
  let greater = false;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k] ?? 0;
    const y = b[k] ?? 0;
    if (x < y) less = true;
    if (x > y) greater = true;
  }
  return less && greater ? "concurrent" : less ? "before" : greater ? "after" : "equal";
}

function vectorSum(v: Readonly<Record<string, number>> | undefined): number {
  return Object.values(v ?? {}).reduce((a, b) => a + b, 0);
}

/** Total order of messages (see the module comment). */
export function compareMessages(a: SessionMessage, b: SessionMessage): number {
  const ta = a.lamport ?? vectorSum(a.vector);
  const tb = b.lamport ?? vectorSum(b.vector);
  if (ta !== tb) return ta - tb;
  return a.sender_did < b.sender_did ? -1 : a.sender_did > b.sender_did ? 1 : 0;
}

/** One participant's view of a session. */
export class CoordinationSession {
  readonly manifest: SessionManifest;
  readonly #self: string;
  readonly #signer: OapSigner | PrivateKeyRecord;
  readonly #keys: OapKeyResolver;
  readonly #clock: OapClock;
  #lamport = 0;
  #vector: Record<string, number> = {};
  readonly #log: SessionMessage[] = [];
  readonly #seen = new Set<string>();

  constructor(options: { readonly manifest: SessionManifest; readonly self: string; readonly signer: OapSigner | PrivateKeyRecord; readonly keys: OapKeyResolver; readonly clock?: OapClock }) {
    if (!options.manifest.participants.includes(options.self)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `${options.self} is not a participant of ${options.manifest.session_did}`);
    this.manifest = options.manifest;
    this.#self = options.self;
    this.#signer = options.signer;
    this.#keys = options.keys;
    this.#clock = options.clock ?? systemClock;
  }

  /** The local Lamport time. */
  get lamport(): number {
    return this.#lamport;
  }

  /** The local vector time. */
  get vector(): Readonly<Record<string, number>> {
    return { ...this.#vector };
  }

  /** Signs and logs a message at the next clock tick. */
  send(body: JsonValue): SessionMessage {
    const base = { session_did: this.manifest.session_did, sender_did: this.#self, sent_at: rfc3339(this.#clock()), body: structuredClone(body) };
    let doc: Record<string, unknown>;
    if (this.manifest.clock === "lamport") {
      this.#lamport++;
      doc = { ...base, lamport: this.#lamport };
    } else {
      this.#vector = { ...this.#vector, [this.#self]: (this.#vector[this.#self] ?? 0) + 1 };
      doc = { ...base, vector: { ...this.#vector } };
    }
    const msg = signDocument(doc, this.#signer) as unknown as SessionMessage;
    this.#append(msg);
    return msg;
  }

  /** Verifies and logs a peer's message, advancing the local clock. */
  async receive(message: unknown): Promise<SessionMessage> {
    if (!isJsonObject(message as JsonValue)) throw new OapError("ERR_OAP_ENVELOPE_INVALID", "a session message is a JSON object");
    const m = message as unknown as SessionMessage;
    if (m.session_did !== this.manifest.session_did) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the message belongs to ${String(m.session_did)}`);
    if (typeof m.sender_did !== "string" || !this.manifest.participants.includes(m.sender_did)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `${String(m.sender_did)} is not a participant`);
    if (this.manifest.clock === "lamport" ? !(Number.isSafeInteger(m.lamport) && (m.lamport as number) > 0) : !isJsonObject(m.vector as unknown as JsonValue)) {
      throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the message lacks its ${this.manifest.clock} clock`);
    }
    await verifyDocument(m, this.#keys, { expectedSigner: m.sender_did });
    const key = this.#key(m);
    if (this.#seen.has(key)) throw new OapError("ERR_OAP_REPLAY_NONCE", `message ${key} was already received`);
    if (this.manifest.clock === "lamport") this.#lamport = Math.max(this.#lamport, m.lamport as number) + 1;
    else {
      const merged: Record<string, number> = { ...this.#vector };
      for (const [k, v] of Object.entries(m.vector ?? {})) merged[k] = Math.max(merged[k] ?? 0, v);
      merged[this.#self] = (merged[this.#self] ?? 0) + 1;
      this.#vector = merged;
    }
    this.#append(m);
    return m;
  }

  #key(m: SessionMessage): string {
    return `${m.sender_did}@${m.lamport ?? `v${m.vector?.[m.sender_did] ?? 0}`}`;
  }

  #append(m: SessionMessage): void {
    this.#seen.add(this.#key(m));
    this.#log.push(m);
  }

  /** Every message sent or received, in the session's total order. */
  ordered(): SessionMessage[] {
    return [...this.#log].sort(compareMessages);
  }
}

/** A session as a relay (the Tool) holds it. */
export interface RelayedSession {
  readonly manifest: SessionManifest;
  /** The participant that created it (only it may close it). */
  readonly creator: string;
  readonly status: "open" | "closed";
  /** Participants that joined (the creator joins at creation). */
  readonly joined: readonly string[];
  readonly closed_at?: string;
}

/**
 * §15.4 sessions held by a relay (the Tool's `session` endpoints): participants create a
 * session, join it, append signed messages and read them back in the session's total order
 * ({@link compareMessages}). The relay is not a participant: it verifies each message like a
 * receiver ({@link CoordinationSession.receive}: session, membership, signature by
 * `sender_did`, clock present) and additionally refuses a sender's clock that does not move
 * forward (its Lamport time, or its own vector entry), a sender that has not joined, and any
 * append after the close (409). In memory.
 */
export class SessionRelay {
  readonly #keys: OapKeyResolver;
  readonly #clock: OapClock;
  readonly #random: OapRandom;
  readonly #sessions = new Map<string, { session: RelayedSession; log: SessionMessage[]; last: Map<string, number> }>();

  constructor(options: { readonly keys: OapKeyResolver; readonly clock?: OapClock; readonly random?: OapRandom }) {
    this.#keys = options.keys;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /** Creates a session whose participants include `creator`. */
  create(creator: string, input: { readonly participants: readonly string[]; readonly clock?: SessionClockKind; readonly task?: string }): RelayedSession {
    if (!input.participants.includes(creator)) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", `${creator} must be a participant of the session it creates`);
    if (input.clock !== undefined && input.clock !== "lamport" && input.clock !== "vector") throw new OapError("ERR_OAP_INPUT_INVALID", "clock is lamport or vector");
    const manifest = createSessionManifest(input, this.#clock, this.#random);
    const session: RelayedSession = { manifest, creator, status: "open", joined: [creator] };
    this.#sessions.set(manifest.session_did, { session, log: [], last: new Map() });
    return session;
  }

  #entry(sessionDid: string, who: string): { session: RelayedSession; log: SessionMessage[]; last: Map<string, number> } {
    const e = this.#sessions.get(sessionDid);
    // non-participants learn nothing about the session
    if (e === undefined || !e.session.manifest.participants.includes(who)) throw new OapError("ERR_OAP_NOT_FOUND", `unknown session ${sessionDid}`);
    return e;
  }

  #open(e: { session: RelayedSession }): void {
    if (e.session.status === "closed") throw new OapError("ERR_OAP_CONFLICT", `session ${e.session.manifest.session_did} is closed`, { details: { status: "closed" } });
  }

  /** A participant joins (idempotent). */
  join(sessionDid: string, who: string): RelayedSession {
    const e = this.#entry(sessionDid, who);
    this.#open(e);
    if (!e.session.joined.includes(who)) e.session = { ...e.session, joined: [...e.session.joined, who] };
    return e.session;
  }

  /** Appends a participant's signed message (sent by `who`); answers its position in the total order. */
  async append(who: string, message: unknown): Promise<{ message: SessionMessage; position: number }> {
    if (!isJsonObject(message as JsonValue)) throw new OapError("ERR_OAP_INPUT_INVALID", "a session message is a JSON object");
    const m = message as unknown as SessionMessage;
    const e = this.#entry(String(m.session_did), who);
    this.#open(e);
    if (m.sender_did !== who) throw new OapError("ERR_OAP_SCOPE_INSUFFICIENT", "a participant appends its own messages only");
    if (!e.session.joined.includes(who)) throw new OapError("ERR_OAP_CONFLICT", `${who} has not joined the session`, { details: { status: "not_joined" } });
    const lamport = e.session.manifest.clock === "lamport";
    const own = lamport ? m.lamport : m.vector?.[who];
    if (!(Number.isSafeInteger(own) && (own as number) > 0) || (!lamport && !isJsonObject(m.vector as unknown as JsonValue))) {
      throw new OapError("ERR_OAP_INPUT_INVALID", `the message lacks its ${e.session.manifest.clock} clock`);
    }
    await verifyDocument(m, this.#keys, { expectedSigner: who });
    const previous = e.last.get(who) ?? 0;
    if ((own as number) <= previous) throw new OapError("ERR_OAP_CONFLICT", `the clock of ${who} must move forward (last ${previous}, got ${String(own)})`, { details: { last: previous } });
    e.last.set(who, own as number);
    e.log.push(m);
    const ordered = [...e.log].sort(compareMessages);
    return { message: m, position: ordered.indexOf(m) };
  }

  /** The session and its messages in total order (optionally only those after position `after`). */
  read(sessionDid: string, who: string, after = -1): RelayedSession & { readonly messages: SessionMessage[] } {
    const e = this.#entry(sessionDid, who);
    return { ...e.session, messages: [...e.log].sort(compareMessages).slice(Math.max(0, after + 1)) };
  }

  /** Closes the session (its creator only); later appends and joins answer 409. */
  close(sessionDid: string, who: string): RelayedSession {
    const e = this.#entry(sessionDid, who);
    if (e.session.creator !== who) throw new OapError("ERR_OAP_POLICY_BLOCK", "a session is closed by its creator");
    this.#open(e);
    e.session = { ...e.session, status: "closed", closed_at: rfc3339(this.#clock()) };
    return e.session;
  }
}
