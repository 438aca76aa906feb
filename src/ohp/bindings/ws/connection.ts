/**
 * One established `ohp/ws` connection (hellos exchanged), the same on both ends: frames in and
 * out, acks, dedupe, answers to the handler's envelopes, answer waiters, heartbeat and close.
 * server.ts and client.ts do the upgrade and the hello, then hand the socket to
 * {@link OhpWsConnectionImpl}.
 */
import type { RawData, WebSocket } from "ws";
import type { JsonObject } from "../../../json/types.js";
import { isJsonObject } from "../../../json/types.js";
import type { InboundMeta, OhpEnvelopeHandler } from "../types.js";
import { ohpWsDedupeWindowMs, type OhpWsDedupeCache, type OhpWsDedupeEntry } from "./dedupe.js";
import { isOhpWsErrorCode, OhpWsError, type OhpWsErrorCode } from "./errors.js";
import type { OhpWsCloseInfo, OhpWsConnection, OhpWsEvent, OhpWsSendOptions } from "./api.js";
import {
  errorFrame,
  OHP_WS_CLOSE,
  OHP_WS_MAX_ID_LENGTH,
  parseOhpWsFrame,
  serializeOhpWsFrame,
  type OhpWsAckFrame,
  type OhpWsAckStatus,
  type OhpWsErrorFrame,
  type OhpWsFrame,
  type OhpWsHelloFrame,
} from "./frames.js";

/** Limits and timers of one connection. */
export interface OhpWsConnectionConfig {
  readonly peer: string;
  readonly peerHello: OhpWsHelloFrame;
  readonly handler: OhpEnvelopeHandler;
  /** Authorization, DPoP, method and URI for every {@link InboundMeta} of this connection. */
  readonly meta: Omit<InboundMeta, "binding" | "byteLength" | "peer" | "expected">;
  readonly dedupe: OhpWsDedupeCache;
  readonly maxFrameBytes: number;
  readonly maxEnvelopeBytes: number;
  readonly maxFrameErrors: number;
  readonly ackTimeoutMs: number;
  /** Send `ping` every `intervalMs`; close after `missedPongs` unanswered ones. */
  readonly heartbeat?: { readonly intervalMs: number; readonly missedPongs: number };
  /** After a close frame, how long to wait for the peer's before cutting the socket. */
  readonly closeGraceMs: number;
  readonly emit: (event: OhpWsEvent) => void;
}

interface AckWaiter {
  resolve(ack: OhpWsAckFrame): void;
  reject(error: Error): void;
}

interface AnswerWaiter {
  resolve(envelope: JsonObject): void;
  reject(error: Error): void;
}

/** A WebSocket message as `ws` delivers it, as one buffer. */
export function rawToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** The WebSocket `OPEN` readyState. */
export const WS_OPEN = 1;

/** Sends an `error` frame (best effort) and closes with `closeCode`, cutting the socket after `graceMs`. */
export function refuseSocket(ws: WebSocket, frame: OhpWsErrorFrame, closeCode: number, graceMs: number): void {
  if (ws.readyState === WS_OPEN) {
    ws.send(serializeOhpWsFrame(frame), () => undefined);
    ws.close(closeCode, frame.code);
  }
  setTimeout(() => ws.terminate(), graceMs).unref();
}

/** `control.refs.proposedId` of an envelope, when it is a string. */
export function proposedIdOf(envelope: JsonObject): string | undefined {
  const control = envelope["control"];
  if (!isJsonObject(control)) return undefined;
  const refs = control["refs"];
  if (!isJsonObject(refs)) return undefined;
  const id = refs["proposedId"];
  return typeof id === "string" ? id : undefined;
}

function envelopeId(envelope: JsonObject): string | undefined {
  const id = envelope["id"];
  return typeof id === "string" && id.length > 0 && id.length <= OHP_WS_MAX_ID_LENGTH ? id : undefined;
}

const encoder = new TextEncoder();

/** The connection implementation shared by server and client. */
export class OhpWsConnectionImpl implements OhpWsConnection {
  readonly peer: string;
  readonly peerHello: OhpWsHelloFrame;
  readonly closed: Promise<OhpWsCloseInfo>;

  readonly #ws: WebSocket;
  readonly #cfg: OhpWsConnectionConfig;
  readonly #ackWaiters = new Map<string, Set<AckWaiter>>();
  readonly #answerWaiters = new Map<string, AnswerWaiter>();
  readonly #inFlight = new Set<Promise<void>>();
  #open = true;
  #frameErrors = 0;
  #outstandingPings = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closeInfo: OhpWsCloseInfo | undefined;

  constructor(ws: WebSocket, cfg: OhpWsConnectionConfig) {
    this.#ws = ws;
    this.#cfg = cfg;
    this.peer = cfg.peer;
    this.peerHello = cfg.peerHello;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code: number, reason: Buffer) => {
        this.#open = false;
        this.#stopHeartbeat();
        const info = { code, reason: reason.toString("utf8") };
        this.#closeInfo = info;
        const error = new OhpWsError("ERR_OHP_WS_CLOSED", `connection closed (${code}${info.reason ? ` ${info.reason}` : ""})`, { detail: { ...info } });
        for (const set of this.#ackWaiters.values()) for (const w of set) w.reject(error);
        this.#ackWaiters.clear();
        for (const w of this.#answerWaiters.values()) w.reject(error);
        this.#answerWaiters.clear();
        cfg.emit({ kind: "close", peer: cfg.peer, ...info });
        resolve(info);
      });
    });
  }

  get isOpen(): boolean {
    return this.#open && this.#ws.readyState === WS_OPEN;
  }

  /** Starts the heartbeat (after the hello went out). */
  start(): void {
    const hb = this.#cfg.heartbeat;
    if (hb === undefined || this.#heartbeat !== undefined) return;
    this.#heartbeat = setInterval(() => this.#tick(hb.missedPongs), hb.intervalMs);
    this.#heartbeat.unref();
  }

  /** Sends one frame (best effort: a failed write surfaces as a close). */
  sendFrame(frame: OhpWsFrame): void {
    if (this.#ws.readyState !== WS_OPEN) return;
    this.#ws.send(serializeOhpWsFrame(frame), (err) => {
      if (err) this.#cfg.emit({ kind: "transport-error", peer: this.peer, error: err });
    });
  }

  /** Handles one received message. Never throws. */
  handleMessage(data: RawData, isBinary: boolean): void {
    if (!this.#open) return;
    let parsed;
    try {
      parsed = parseOhpWsFrame(rawToBytes(data), { isBinary, maxFrameBytes: this.#cfg.maxFrameBytes });
    } catch (e) {
      const err = e instanceof OhpWsError ? e : new OhpWsError("ERR_OHP_WS_FRAME_JSON", String(e));
      this.#frameError(err.code, err.message, err.code === "ERR_OHP_WS_FRAME_BINARY" ? OHP_WS_CLOSE.unsupportedData : undefined);
      return;
    }
    const { frame } = parsed;
    switch (frame.type) {
      case "envelope":
        this.#onEnvelope(frame.envelope, parsed.envelopeByteLength ?? parsed.byteLength);
        return;
      case "ack":
        this.#onAck(frame);
        return;
      case "ping":
        this.sendFrame({ type: "pong" });
        return;
      case "pong":
        this.#outstandingPings = 0;
        this.#cfg.emit({ kind: "pong", peer: this.peer });
        return;
      case "error":
        this.#onPeerError(frame);
        return;
      case "hello":
        this.#frameError("ERR_OHP_WS_HELLO_DUPLICATE", "hello already exchanged on this connection");
        return;
    }
  }

  send(envelope: JsonObject, options: OhpWsSendOptions = {}): Promise<OhpWsAckFrame> {
    return new Promise((resolve, reject) => {
      const id = envelopeId(envelope);
      if (id === undefined) {
        reject(new OhpWsError("ERR_OHP_WS_ENVELOPE_ID", `an envelope needs a string id of 1–${OHP_WS_MAX_ID_LENGTH} characters`));
        return;
      }
      const envelopeText = JSON.stringify(envelope);
      const envelopeBytes = encoder.encode(envelopeText).byteLength;
      if (envelopeBytes > this.#cfg.maxEnvelopeBytes) {
        reject(new OhpWsError("ERR_OHP_WS_ENVELOPE_TOO_LARGE", `envelope of ${envelopeBytes} bytes exceeds ${this.#cfg.maxEnvelopeBytes}`, { detail: { id, envelopeBytes } }));
        return;
      }
      if (!this.isOpen) {
        reject(this.#closedError());
        return;
      }
      let set = this.#ackWaiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.#ackWaiters.set(id, set);
      }
      const waiters = set;
      const timer = setTimeout(() => {
        done();
        reject(new OhpWsError("ERR_OHP_WS_ACK_TIMEOUT", `no ack for ${id}`, { detail: { id } }));
      }, options.ackTimeoutMs ?? this.#cfg.ackTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#ackWaiters.get(id) === waiters) this.#ackWaiters.delete(id);
      };
      const waiter: AckWaiter = {
        resolve: (ack) => {
          done();
          resolve(ack);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      waiters.add(waiter);
      this.#ws.send(`{"type":"envelope","envelope":${envelopeText}}`, (err) => {
        if (err) waiter.reject(new OhpWsError("ERR_OHP_WS_CLOSED", `send failed: ${err.message}`, { cause: err }));
      });
    });
  }

  sendAndAwaitAnswer(envelope: JsonObject, timeoutMs: number): Promise<JsonObject> {
    return new Promise((resolve, reject) => {
      const id = envelopeId(envelope);
      if (id === undefined) {
        reject(new OhpWsError("ERR_OHP_WS_ENVELOPE_ID", `an envelope needs a string id of 1–${OHP_WS_MAX_ID_LENGTH} characters`));
        return;
      }
      if (this.#answerWaiters.has(id)) {
        reject(new OhpWsError("ERR_OHP_WS_DUPLICATE_SEND", `an answer to ${id} is already awaited`, { detail: { id } }));
        return;
      }
      const timer = setTimeout(() => {
        waiter.reject(new OhpWsError("ERR_OHP_WS_ANSWER_TIMEOUT", `no answer to ${id} within ${timeoutMs} ms`, { detail: { id, timeoutMs } }));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        if (this.#answerWaiters.get(id) === waiter) this.#answerWaiters.delete(id);
      };
      const waiter: AnswerWaiter = {
        resolve: (answer) => {
          done();
          resolve(answer);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      this.#answerWaiters.set(id, waiter);
      this.send(envelope, { ackTimeoutMs: timeoutMs }).catch((error: unknown) => {
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  close(code: number = OHP_WS_CLOSE.normal, reason = ""): Promise<OhpWsCloseInfo> {
    this.#open = false;
    this.#stopHeartbeat();
    if (this.#closeInfo === undefined) {
      try {
        this.#ws.close(code, reason);
      } catch {
        this.#ws.terminate();
      }
      setTimeout(() => this.#ws.terminate(), this.#cfg.closeGraceMs).unref();
    }
    return this.closed;
  }

  /** Sends an `error` frame, then closes with `code` (agentwire refusals: replaced, shutdown, heartbeat). */
  closeWithError(code: OhpWsErrorCode, message: string, closeCode: number): Promise<OhpWsCloseInfo> {
    if (this.isOpen) this.sendFrame(errorFrame(code, message));
    return this.close(closeCode, code);
  }

  /** Waits for the handler calls under way (bounded by `timeoutMs`) so their answers go out. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  #closedError(): OhpWsError {
    return new OhpWsError("ERR_OHP_WS_CLOSED", "connection is closed", { detail: { ...(this.#closeInfo ?? {}) } });
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #tick(missedPongs: number): void {
    if (!this.isOpen) return;
    if (this.#outstandingPings >= missedPongs) {
      void this.closeWithError("ERR_OHP_WS_HEARTBEAT", `${this.#outstandingPings} pings unanswered`, OHP_WS_CLOSE.heartbeatTimeout);
      return;
    }
    this.#outstandingPings++;
    this.sendFrame({ type: "ping" });
    this.#cfg.emit({ kind: "ping", peer: this.peer, outstanding: this.#outstandingPings });
  }

  #frameError(code: OhpWsErrorCode, message: string, closeCode?: number, id?: string): void {
    this.#cfg.emit({ kind: "frame-error", peer: this.peer, code, message });
    this.sendFrame(errorFrame(code, message, id));
    if (closeCode !== undefined) {
      void this.close(closeCode, code);
      return;
    }
    this.#frameErrors++;
    if (this.#frameErrors >= this.#cfg.maxFrameErrors) {
      void this.closeWithError("ERR_OHP_WS_TOO_MANY_ERRORS", `${this.#frameErrors} bad frames`, OHP_WS_CLOSE.policyViolation);
    }
  }

  #ack(id: string, status: OhpWsAckStatus): void {
    this.sendFrame({ type: "ack", id, status });
  }

  #onEnvelope(envelope: JsonObject, byteLength: number): void {
    const id = envelopeId(envelope);
    if (id === undefined) {
      this.#frameError("ERR_OHP_WS_ENVELOPE_ID", `an envelope needs a string id of 1–${OHP_WS_MAX_ID_LENGTH} characters`);
      return;
    }
    if (byteLength > this.#cfg.maxEnvelopeBytes) {
      this.#ack(id, "invalid");
      this.#frameError("ERR_OHP_WS_ENVELOPE_TOO_LARGE", `envelope of ${byteLength} bytes exceeds ${this.#cfg.maxEnvelopeBytes}`, undefined, id);
      return;
    }
    const seen = this.#cfg.dedupe.get(id);
    if (seen !== undefined) {
      this.#ack(id, "duplicate");
      if (seen.answer !== undefined) this.sendFrame({ type: "envelope", envelope: seen.answer });
      return;
    }
    const entry = this.#cfg.dedupe.add(id, ohpWsDedupeWindowMs(envelope));
    this.#ack(id, "accepted");
    const proposedId = proposedIdOf(envelope);
    if (proposedId !== undefined) {
      const waiter = this.#answerWaiters.get(proposedId);
      if (waiter !== undefined) {
        waiter.resolve(envelope);
        return;
      }
    }
    const meta: InboundMeta = { ...this.#cfg.meta, binding: "ohp/ws", byteLength, peer: this.peer };
    const run = this.#runHandler(id, envelope, meta, entry);
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run));
  }

  async #runHandler(id: string, envelope: JsonObject, meta: InboundMeta, entry: OhpWsDedupeEntry): Promise<void> {
    let answer: JsonObject | undefined;
    try {
      answer = await this.#cfg.handler(envelope, meta);
    } catch (error) {
      this.#cfg.emit({ kind: "handler-error", peer: this.peer, id, error });
      this.sendFrame(errorFrame("ERR_OHP_WS_HANDLER", "the receiving node failed on this envelope", id));
      return;
    }
    if (answer === undefined) return;
    entry.answer = answer;
    // The peer's ack for the answer has no waiter here and is ignored; repeats of the original
    // envelope get the cached answer again.
    this.send(answer).catch((error: unknown) => {
      if (!(error instanceof OhpWsError && (error.code === "ERR_OHP_WS_CLOSED" || error.code === "ERR_OHP_WS_ACK_TIMEOUT"))) {
        this.#cfg.emit({ kind: "handler-error", peer: this.peer, id, error });
      }
    });
  }

  #onAck(frame: OhpWsAckFrame): void {
    const waiters = this.#ackWaiters.get(frame.id);
    if (waiters === undefined) return;
    for (const w of [...waiters]) {
      if (frame.status === "invalid") {
        w.reject(new OhpWsError("ERR_OHP_WS_ENVELOPE_REFUSED", `peer acknowledged ${frame.id} as invalid`, { detail: { id: frame.id } }));
      } else w.resolve(frame);
    }
  }

  #onPeerError(frame: OhpWsErrorFrame): void {
    this.#cfg.emit({
      kind: "peer-error",
      peer: this.peer,
      code: frame.code,
      message: frame.message,
      ...(frame.id === undefined ? {} : { id: frame.id }),
    });
    if (frame.id === undefined) return;
    const error = peerError(frame);
    const waiters = this.#ackWaiters.get(frame.id);
    if (waiters !== undefined) for (const w of [...waiters]) w.reject(error);
    this.#answerWaiters.get(frame.id)?.reject(error);
  }
}

/** The {@link OhpWsError} for a received `error` frame (unknown codes become `ERR_OHP_WS_PEER_ERROR`). */
export function peerError(frame: OhpWsErrorFrame): OhpWsError {
  const detail = { peerCode: frame.code, ...(frame.id === undefined ? {} : { id: frame.id }) };
  return new OhpWsError(isOhpWsErrorCode(frame.code) ? frame.code : "ERR_OHP_WS_PEER_ERROR", `peer: ${frame.message}`, { detail });
}
