/**
 * The OHP control-plane state machine (D08, normative; notes §5.2). The sender's states and the
 * receiver's mirror are pure transition tables: `next(role, state, event)` returns the new state
 * or throws {@link ControlError} `ERR_OHP_CONTROL_TRANSITION`, so an implementation can never
 * take a step the spec does not allow. Timers (`notAfter`, the PT10S ASSUME window) are events
 * like any other.
 */
import { AgentwireError } from "../../errors.js";

/** Control-plane error codes. */
export type ControlErrorCode =
  | "ERR_OHP_CONTROL_TRANSITION"
  | "ERR_OHP_CONTROL_UNKNOWN_HANDOFF"
  | "ERR_OHP_CONTROL_NO_ANSWER"
  | "ERR_OHP_CONTROL_PEER"
  | "ERR_OHP_CONTROL_BINDING"
  | "ERR_OHP_CONTROL_STORE";

/** A control-plane failure (typed, stable codes). */
export class ControlError extends AgentwireError<ControlErrorCode> {}

/** D08 sender states. */
export type SenderState = "READY" | "PROPOSING" | "ACCEPTED" | "REJECTED" | "HANDED_OFF" | "RESUMED" | "ENDED";

/** The receiver's mirror (derived in notes §5.2). */
export type ReceiverState = "ACCEPTED" | "REJECTED" | "HANDED_OFF" | "RETURNED" | "RELEASED";

/** Events that move a handoff. */
export type ControlEvent =
  | "propose-sent"
  | "accept-received"
  | "reject-received"
  | "not-after-passed"
  | "assume-sent"
  | "return-received"
  | "fallback-reissue"
  | "give-up"
  | "accept-sent"
  | "reject-sent"
  | "assume-received"
  | "assume-window-passed"
  | "return-sent";

const SENDER: Readonly<Record<SenderState, Partial<Record<ControlEvent, SenderState>>>> = {
  READY: { "propose-sent": "PROPOSING" },
  PROPOSING: { "accept-received": "ACCEPTED", "reject-received": "REJECTED", "not-after-passed": "REJECTED" },
  // A receiver may abandon an ACCEPT when no ASSUME arrives within PT10S (§8.4).
  ACCEPTED: { "assume-sent": "HANDED_OFF", "reject-received": "REJECTED" },
  HANDED_OFF: { "return-received": "RESUMED" },
  REJECTED: { "fallback-reissue": "READY", "give-up": "ENDED" },
  RESUMED: {},
  ENDED: {},
};

const RECEIVER: Readonly<Record<ReceiverState, Partial<Record<ControlEvent, ReceiverState>>>> = {
  ACCEPTED: { "assume-received": "HANDED_OFF", "assume-window-passed": "RELEASED" },
  REJECTED: {},
  HANDED_OFF: { "return-sent": "RETURNED" },
  RETURNED: {},
  RELEASED: {},
};

/** The sender's next state, or a typed error for a transition D08 does not allow. */
export function nextSenderState(state: SenderState, event: ControlEvent): SenderState {
  const to = SENDER[state][event];
  if (to === undefined) throw new ControlError("ERR_OHP_CONTROL_TRANSITION", `sender cannot take "${event}" in state ${state}`, { detail: { state, event } });
  return to;
}

/** The receiver's next state, or a typed error. */
export function nextReceiverState(state: ReceiverState, event: ControlEvent): ReceiverState {
  const to = RECEIVER[state][event];
  if (to === undefined) throw new ControlError("ERR_OHP_CONTROL_TRANSITION", `receiver cannot take "${event}" in state ${state}`, { detail: { state, event } });
  return to;
}

/** Terminal states (nothing more can happen). */
export function isTerminal(role: "sender" | "receiver", state: SenderState | ReceiverState): boolean {
  const table: Readonly<Record<string, Partial<Record<ControlEvent, string>>>> = role === "sender" ? SENDER : RECEIVER;
  return Object.keys(table[state] ?? {}).length === 0;
}

/** PT10S: after ACCEPT, the receiver waits this long for ASSUME (§8.4). */
export const ASSUME_WINDOW_MS = 10_000;
