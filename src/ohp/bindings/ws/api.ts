/**
 * The public, transport-library-free types of the `ohp/ws` binding (no `ws` types cross this
 * boundary, so consumers need no `@types/ws`).
 */
import type { JsonObject } from "../../../json/types.js";
import type { OhpWsErrorCode } from "./errors.js";
import type { OhpWsAckFrame, OhpWsHelloFrame } from "./frames.js";

/** How a connection ended. */
export interface OhpWsCloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** What the binding reports for logs and metrics (never needed for correctness). */
export type OhpWsEvent =
  | { readonly kind: "open"; readonly peer: string }
  | { readonly kind: "close"; readonly peer: string; readonly code: number; readonly reason: string }
  | { readonly kind: "refused"; readonly code: OhpWsErrorCode; readonly message: string; readonly peer?: string }
  | { readonly kind: "replaced"; readonly peer: string }
  | { readonly kind: "frame-error"; readonly peer: string; readonly code: OhpWsErrorCode; readonly message: string }
  | { readonly kind: "peer-error"; readonly peer: string; readonly code: string; readonly message: string; readonly id?: string }
  | { readonly kind: "handler-error"; readonly peer: string; readonly id: string; readonly error: unknown }
  | { readonly kind: "ping"; readonly peer: string; readonly outstanding: number }
  | { readonly kind: "pong"; readonly peer: string }
  | { readonly kind: "transport-error"; readonly peer?: string; readonly error: Error };

/** Options of {@link OhpWsConnection.send}. */
export interface OhpWsSendOptions {
  /** Reject with `ERR_OHP_WS_ACK_TIMEOUT` when no ack arrives in time (default: the connection's). */
  readonly ackTimeoutMs?: number;
}

/** An established `ohp/ws` connection, from either end. */
export interface OhpWsConnection {
  /** The tenant pair, `<client tenant>|<server tenant>` (see docs/ohp-ws.md). */
  readonly peer: string;
  /** The hello the other end sent. */
  readonly peerHello: OhpWsHelloFrame;
  /** True until the connection starts closing. */
  readonly isOpen: boolean;
  /** Resolves (never rejects) once the socket is closed. */
  readonly closed: Promise<OhpWsCloseInfo>;
  /**
   * Sends one envelope; resolves with the peer's `ack` (`accepted` or `duplicate`). Rejects with
   * `ERR_OHP_WS_ENVELOPE_ID`, `ERR_OHP_WS_ENVELOPE_TOO_LARGE`, `ERR_OHP_WS_ENVELOPE_REFUSED`
   * (ack `invalid`), `ERR_OHP_WS_ACK_TIMEOUT`, `ERR_OHP_WS_CLOSED` or the code of the peer's
   * `error` frame for this id.
   */
  send(envelope: JsonObject, options?: OhpWsSendOptions): Promise<OhpWsAckFrame>;
  /**
   * Sends one envelope and resolves with the envelope that answers it (its
   * `control.refs.proposedId` equals the sent `id`); that answer is not given to the handler.
   * Rejects like {@link send}, with `ERR_OHP_WS_ANSWER_TIMEOUT` after `timeoutMs`, and with
   * `ERR_OHP_WS_DUPLICATE_SEND` when an answer to the same id is already awaited.
   */
  sendAndAwaitAnswer(envelope: JsonObject, timeoutMs: number): Promise<JsonObject>;
  /** Closes the connection (default 1000) and resolves once the socket is closed. */
  close(code?: number, reason?: string): Promise<OhpWsCloseInfo>;
}

/** The tenant pair string of a client and a server tenant: `<client>|<server or "-">`. */
export function ohpWsTenantPair(clientTenant: string, serverTenant: string | undefined): string {
  return `${clientTenant}|${serverTenant ?? "-"}`;
}
