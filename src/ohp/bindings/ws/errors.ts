/**
 * Typed errors of the `ohp/ws` binding. The same stable codes travel in `error` frames (an
 * agentwire addition, see docs/ohp-ws.md), so a peer that receives one can branch on it.
 */
import { AgentwireError } from "../../../errors.js";

/** Every code the binding raises or puts in an `error` frame. */
export const OHP_WS_ERROR_CODES = [
  // Frame parsing (sent in `error` frames, thrown by parseOhpWsFrame).
  /** A text frame is not strict JSON (or not UTF-8). */
  "ERR_OHP_WS_FRAME_JSON",
  /** A binary frame: `ohp/ws` carries text frames only. */
  "ERR_OHP_WS_FRAME_BINARY",
  /** A frame above the frame size limit (32 KiB envelope + framing overhead). */
  "ERR_OHP_WS_FRAME_TOO_LARGE",
  /** `type` is missing, not a string, or not a frame type of OHP 0.1. */
  "ERR_OHP_WS_FRAME_TYPE",
  /** A known frame type with missing, mistyped or unknown members. */
  "ERR_OHP_WS_FRAME_SHAPE",
  /** A `hello` whose `ohp` is not `"0.1"`. */
  "ERR_OHP_WS_VERSION",
  // Connection order and admission.
  /** The first frame on a connection was not a `hello`. */
  "ERR_OHP_WS_HELLO_REQUIRED",
  /** A second `hello` on an established connection (ignored). */
  "ERR_OHP_WS_HELLO_DUPLICATE",
  /** No `hello` (or no authentication result) within the hello timeout. */
  "ERR_OHP_WS_HELLO_TIMEOUT",
  /** The server's `authenticate` hook refused the hello. */
  "ERR_OHP_WS_AUTH",
  /** A newer connection of the same tenant pair replaced this one. */
  "ERR_OHP_WS_REPLACED",
  /** The peer missed too many `pong`s. */
  "ERR_OHP_WS_HEARTBEAT",
  /** Too many bad frames on one connection. */
  "ERR_OHP_WS_TOO_MANY_ERRORS",
  /** The server is shutting down. */
  "ERR_OHP_WS_SHUTDOWN",
  // Envelopes.
  /** An envelope frame whose envelope has no usable string `id`. */
  "ERR_OHP_WS_ENVELOPE_ID",
  /** An envelope above 32 KiB of JSON (§7 common rules). */
  "ERR_OHP_WS_ENVELOPE_TOO_LARGE",
  /** The receiving node's handler failed on this envelope (no answer will come). */
  "ERR_OHP_WS_HANDLER",
  // Local (thrown only).
  /** The WebSocket upgrade failed (HTTP status in `detail.status`, or a network error). */
  "ERR_OHP_WS_HANDSHAKE",
  /** The server did not select the `ohp.v0_1` subprotocol. */
  "ERR_OHP_WS_SUBPROTOCOL",
  /** The connection closed before the operation completed (`detail.code`, `detail.reason`). */
  "ERR_OHP_WS_CLOSED",
  /** No `ack` for a sent envelope within the ack timeout. */
  "ERR_OHP_WS_ACK_TIMEOUT",
  /** No answer envelope (`control.refs.proposedId` = the sent id) within the timeout. */
  "ERR_OHP_WS_ANSWER_TIMEOUT",
  /** The peer acknowledged a sent envelope with status `invalid`. */
  "ERR_OHP_WS_ENVELOPE_REFUSED",
  /** `sendAndAwaitAnswer` for an id that is already awaiting its answer. */
  "ERR_OHP_WS_DUPLICATE_SEND",
  /** The peer sent an `error` frame with a code this version does not know (`detail.peerCode`). */
  "ERR_OHP_WS_PEER_ERROR",
] as const;

/** Stable codes of {@link OhpWsError}. */
export type OhpWsErrorCode = (typeof OHP_WS_ERROR_CODES)[number];

/** Raised by the `ohp/ws` binding; `code` is stable, the message is for humans. */
export class OhpWsError extends AgentwireError<OhpWsErrorCode> {}

/** True when `code` is one of {@link OHP_WS_ERROR_CODES}. */
export function isOhpWsErrorCode(code: unknown): code is OhpWsErrorCode {
  return typeof code === "string" && (OHP_WS_ERROR_CODES as readonly string[]).includes(code);
}
