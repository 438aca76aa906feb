/**
 * The `ohp/ws` client side (OHP §7.2): opens the connection with subprotocol `ohp.v0_1`, sends
 * its `hello`, waits for the server's, then sends envelopes (resolving on `ack`, or on the answer
 * envelope) and hands the server's envelopes (e.g. a RETURN, Flow B) to its own handler.
 */
import WebSocket, { type RawData } from "ws";
import type { Tier } from "../../tiers.js";
import type { OhpEnvelopeHandler } from "../types.js";
import { OhpWsDedupeCache } from "./dedupe.js";
import { OhpWsError } from "./errors.js";
import {
  errorFrame,
  helloFrame,
  OHP_WS_CLOSE,
  OHP_WS_MAX_ENVELOPE_BYTES,
  OHP_WS_MAX_FRAME_BYTES,
  OHP_WS_SUBPROTOCOL,
  parseOhpWsFrame,
  type OhpWsHelloFrame,
} from "./frames.js";
import { ohpWsTenantPair, type OhpWsConnection, type OhpWsEvent } from "./api.js";
import { OhpWsConnectionImpl, peerError, rawToBytes, refuseSocket } from "./connection.js";

/** What the client announces in its `hello`. */
export interface OhpWsClientHello {
  readonly maxTier: Tier;
  readonly bindings: readonly string[];
  /** This side's tenant: the first half of the tenant pair. */
  readonly tenant?: string;
  /** DPoP-bound session token (Sealed+); the server's node verifies it. */
  readonly sessionToken?: string;
}

/** TLS settings for `wss:` URLs (TLS 1.3 is always required). */
export interface OhpWsClientTls {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly servername?: string;
  /** Default true; false only for tests. */
  readonly rejectUnauthorized?: boolean;
}

export interface OhpWsClientOptions {
  readonly hello: OhpWsClientHello;
  /** Receives every envelope the server sends (other than answers claimed by `sendAndAwaitAnswer`). */
  readonly handler: OhpEnvelopeHandler;
  /** Extra upgrade request headers (e.g. `DPoP`, `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: OhpWsClientTls;
  /** Time allowed for the upgrade and the server's hello (default 10 000 ms). */
  readonly helloTimeoutMs?: number;
  /** Default ack timeout of `send` (default 10 000 ms). */
  readonly ackTimeoutMs?: number;
  /** Send `ping`s too (default: off; the server pings, §7.2). */
  readonly heartbeatMs?: number;
  /** Unanswered client pings before closing (default 2; only with `heartbeatMs`). */
  readonly missedPongs?: number;
  readonly maxFrameBytes?: number;
  readonly maxEnvelopeBytes?: number;
  readonly maxFrameErrors?: number;
  readonly dedupeMaxEntries?: number;
  readonly closeGraceMs?: number;
  /** Offer permessage-deflate (default false). */
  readonly deflate?: boolean;
  readonly now?: () => number;
  readonly onEvent?: (event: OhpWsEvent) => void;
}

/** An open `ohp/ws` client connection. */
export interface OhpWsClient extends OhpWsConnection {
  /** The server's hello (its `maxTier`, `bindings`, `tenant`). */
  readonly serverHello: OhpWsHelloFrame;
}

/**
 * Connects to an `ohp/ws` endpoint (`ws:` for tests, `wss:` otherwise) and completes the hello
 * exchange. Rejects with `ERR_OHP_WS_HANDSHAKE` (`detail.status` when the server answered the
 * upgrade with HTTP), `ERR_OHP_WS_SUBPROTOCOL`, `ERR_OHP_WS_HELLO_TIMEOUT`, `ERR_OHP_WS_CLOSED`,
 * `ERR_OHP_WS_HELLO_REQUIRED`, or the code of the server's `error` frame (e.g. `ERR_OHP_WS_AUTH`).
 */
export function connectOhpWs(url: string | URL, options: OhpWsClientOptions): Promise<OhpWsClient> {
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const maxFrameBytes = options.maxFrameBytes ?? OHP_WS_MAX_FRAME_BYTES;
  const closeGraceMs = options.closeGraceMs ?? 2_000;
  const emit = (event: OhpWsEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing log hook must not break the transport.
    }
  };
  const tls = options.tls;
  return new Promise<OhpWsClient>((resolve, reject) => {
    let settled = false;
    let conn: OhpWsConnectionImpl | undefined;
    const ws = new WebSocket(url, [OHP_WS_SUBPROTOCOL], {
      maxPayload: maxFrameBytes * 4,
      perMessageDeflate: options.deflate ?? false,
      handshakeTimeout: helloTimeoutMs,
      minVersion: "TLSv1.3",
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
      ...(tls?.ca === undefined ? {} : { ca: tls.ca as string | Buffer | Array<string | Buffer> }),
      ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls?.key === undefined ? {} : { key: tls.key }),
      ...(tls?.servername === undefined ? {} : { servername: tls.servername }),
      ...(tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
    });
    const fail = (error: OhpWsError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new OhpWsError("ERR_OHP_WS_HELLO_TIMEOUT", `no server hello within ${helloTimeoutMs} ms`));
      ws.terminate();
    }, helloTimeoutMs);

    ws.on("unexpected-response", (req, res) => {
      const status = res.statusCode ?? 0;
      fail(new OhpWsError("ERR_OHP_WS_HANDSHAKE", `upgrade refused: HTTP ${status}`, { detail: { status } }));
      res.resume();
      req.destroy();
      ws.terminate();
    });
    ws.on("error", (error: Error) => {
      if (!settled) {
        // `ws` itself fails the handshake when the server selects no (or another) subprotocol.
        const code = /subprotocol/i.test(error.message) ? "ERR_OHP_WS_SUBPROTOCOL" : "ERR_OHP_WS_HANDSHAKE";
        fail(new OhpWsError(code, `connection failed: ${error.message}`, { cause: error }));
      }
      else emit({ kind: "transport-error", ...(conn === undefined ? {} : { peer: conn.peer }), error });
    });
    ws.on("close", (code: number, reason: Buffer) => {
      fail(new OhpWsError("ERR_OHP_WS_CLOSED", `closed before the hello exchange (${code})`, { detail: { code, reason: reason.toString("utf8") } }));
    });
    ws.on("open", () => {
      if (ws.protocol !== OHP_WS_SUBPROTOCOL) {
        fail(new OhpWsError("ERR_OHP_WS_SUBPROTOCOL", `server selected ${JSON.stringify(ws.protocol)}, not ${OHP_WS_SUBPROTOCOL}`));
        ws.close(OHP_WS_CLOSE.protocolError);
        return;
      }
      ws.send(
        JSON.stringify(
          helloFrame({
            maxTier: options.hello.maxTier,
            bindings: options.hello.bindings,
            tenant: options.hello.tenant,
            sessionToken: options.hello.sessionToken,
          }),
        ),
      );
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (conn !== undefined) {
        conn.handleMessage(data, isBinary);
        return;
      }
      if (settled) return;
      let frame;
      try {
        frame = parseOhpWsFrame(rawToBytes(data), { isBinary, maxFrameBytes }).frame;
      } catch (e) {
        const err = e instanceof OhpWsError ? e : new OhpWsError("ERR_OHP_WS_FRAME_JSON", String(e));
        fail(err);
        refuseSocket(ws, errorFrame(err.code, `the first frame must be a valid hello: ${err.message}`), OHP_WS_CLOSE.policyViolation, closeGraceMs);
        return;
      }
      if (frame.type === "error") {
        fail(peerError(frame));
        ws.close(OHP_WS_CLOSE.normal);
        setTimeout(() => ws.terminate(), closeGraceMs).unref();
        return;
      }
      if (frame.type !== "hello") {
        fail(new OhpWsError("ERR_OHP_WS_HELLO_REQUIRED", `the server's first frame was ${frame.type}, not hello`));
        refuseSocket(ws, errorFrame("ERR_OHP_WS_HELLO_REQUIRED", "the first frame must be hello"), OHP_WS_CLOSE.policyViolation, closeGraceMs);
        return;
      }
      const serverHello = frame;
      const c = new OhpWsConnectionImpl(ws, {
        peer: ohpWsTenantPair(options.hello.tenant ?? "anonymous", serverHello.tenant),
        peerHello: serverHello,
        handler: options.handler,
        meta: {},
        dedupe: new OhpWsDedupeCache({
          ...(options.dedupeMaxEntries === undefined ? {} : { maxEntries: options.dedupeMaxEntries }),
          ...(options.now === undefined ? {} : { now: options.now }),
        }),
        maxFrameBytes,
        maxEnvelopeBytes: options.maxEnvelopeBytes ?? OHP_WS_MAX_ENVELOPE_BYTES,
        maxFrameErrors: options.maxFrameErrors ?? 16,
        ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
        ...(options.heartbeatMs === undefined ? {} : { heartbeat: { intervalMs: options.heartbeatMs, missedPongs: options.missedPongs ?? 2 } }),
        closeGraceMs,
        emit,
      });
      conn = c;
      settled = true;
      clearTimeout(timer);
      c.start();
      emit({ kind: "open", peer: c.peer });
      resolve(Object.assign(c, { serverHello }));
    });
  });
}
