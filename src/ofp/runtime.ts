/**
 * What the Open Floor agent runtime, floor manager and bindings share: their error class, the
 * injected clock / id / timer hooks, and {@link composeEnvelope}, which builds the envelopes
 * they send (validated in lenient mode, so that conversants of lenient peers can be relayed).
 */
import { randomUUID } from "node:crypto";
import { AgentwireError } from "../errors.js";
import type { ValidationIssue } from "../schema/validate.js";
import type { Conversation, OfpDocument, OfpEvent, Sender } from "./types.js";
import { validateOfp } from "./validate.js";
import type { Ofp1xVersion } from "./versions.js";

/** Stable codes of {@link OfpRuntimeError}. */
export type OfpRuntimeErrorCode =
  /** A peer could not be reached, answered with an HTTP error, or did not answer an envelope. */
  | "ERR_OFP_TRANSPORT"
  /** A peer did not answer within the configured time. */
  | "ERR_OFP_TIMEOUT"
  /** The floor manager refused an operation (closed or unknown conversation, not a conversant). */
  | "ERR_OFP_FLOOR"
  /** An envelope the runtime composed does not validate (a bug or a hostile handler result). */
  | "ERR_OFP_COMPOSE"
  /** The OHP bridge cannot map a floor to an OHP envelope or back. */
  | "ERR_OFP_BRIDGE";

/** Raised by the agent runtime, the floor manager, the bindings and the OHP bridge. */
export class OfpRuntimeError extends AgentwireError<OfpRuntimeErrorCode> {}

/** The wall clock, injected. */
export type Clock = () => Date;
/** A source of fresh ids (dialog events, conversations), injected. */
export type IdSource = () => string;

/**
 * Resolves after `ms` milliseconds or when `signal` aborts (then it never resolves). Injected so
 * tests decide when a peer has "taken too long" without waiting for real time.
 */
export type Timer = (ms: number, signal: AbortSignal) => Promise<void>;

export const defaultClock: Clock = () => new Date();
export const defaultIds: IdSource = () => randomUUID();

/** A real timer (setTimeout, unref'd so it never holds the process open). */
export const defaultTimer: Timer = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return;
    const t = setTimeout(resolve, ms);
    t.unref();
    signal.addEventListener("abort", () => clearTimeout(t), { once: true });
  });

/** Races `work` against `timer(ms)`: `{ok: value}` or `{timedOut: true}`; the loser is aborted. */
export async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, timer: Timer): Promise<{ ok: T } | { timedOut: true }> {
  const workAbort = new AbortController();
  const timerAbort = new AbortController();
  try {
    return await Promise.race([
      work(workAbort.signal).then((ok) => ({ ok })),
      timer(ms, timerAbort.signal).then(() => ({ timedOut: true as const })),
    ]);
  } finally {
    timerAbort.abort();
    workAbort.abort();
  }
}

/** Input of {@link composeEnvelope}. */
export interface ComposeInit {
  version: Ofp1xVersion;
  conversation: Conversation;
  sender: Sender;
  events: readonly OfpEvent[];
}

/** What {@link composeEnvelope} returns: the document and the events it had to drop. */
export interface Composed {
  document: OfpDocument;
  dropped: { event: OfpEvent; errors: ValidationIssue[] }[];
}

function documentOf(init: ComposeInit, events: readonly OfpEvent[]): OfpDocument {
  return {
    openFloor: {
      schema: { version: init.version },
      conversation: structuredClone(init.conversation),
      sender: structuredClone(init.sender),
      events: structuredClone([...events]),
    },
  };
}

/**
 * An envelope for sending, validated against `version` in lenient mode (what the runtime
 * relays may carry a lenient peer's identification). Events that make it invalid are dropped
 * one by one and reported; an envelope whose frame itself is invalid (conversation, sender)
 * throws ERR_OFP_COMPOSE.
 */
export function composeEnvelope(init: ComposeInit): Composed {
  const whole = documentOf(init, init.events);
  if (validateOfp(whole, { lenient: true }).valid) return { document: whole, dropped: [] };
  const frame = validateOfp(documentOf(init, []), { lenient: true });
  if (!frame.valid) {
    throw new OfpRuntimeError("ERR_OFP_COMPOSE", `cannot compose an Open Floor ${init.version} envelope: ${frame.errors[0]?.pointer ?? ""}: ${frame.errors[0]?.message ?? "invalid"}`, { detail: { errors: frame.errors } });
  }
  const kept: OfpEvent[] = [];
  const dropped: Composed["dropped"] = [];
  for (const event of init.events) {
    const r = validateOfp(documentOf(init, [event]), { lenient: true });
    if (r.valid) kept.push(event);
    else dropped.push({ event, errors: r.errors });
  }
  return { document: documentOf(init, kept), dropped };
}

/** The event types of a document, for logs and traces. */
export function eventTypes(doc: OfpDocument): string[] {
  return doc.openFloor.events.map((e) => e.eventType);
}
