/**
 * The `ohp/ws` server side (OHP §7.2): WebSocket upgrades on the node's existing `node:http` /
 * `node:https` server (one port for HTTPS and WS), subprotocol `ohp.v0_1`, the client's `hello`
 * first, one connection per tenant pair, dedupe per tenant pair, `ping` every 20 s.
 * See docs/ohp-ws.md for every decision the spec leaves open.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Tier } from "../../tiers.js";
import type { OhpEnvelopeHandler } from "../types.js";
import { OhpWsDedupeCache, OHP_MAX_LIFETIME_MS, OHP_SKEW_MS } from "./dedupe.js";
import { OhpWsError, type OhpWsErrorCode } from "./errors.js";
import {
  errorFrame,
  helloFrame,
  OHP_WS_CLOSE,
  OHP_WS_DEFAULT_PATH,
  OHP_WS_MAX_ENVELOPE_BYTES,
  OHP_WS_MAX_FRAME_BYTES,
  OHP_WS_SUBPROTOCOL,
  parseOhpWsFrame,
  type OhpWsHelloFrame,
} from "./frames.js";
import { ohpWsTenantPair, type OhpWsCloseInfo, type OhpWsConnection, type OhpWsEvent } from "./api.js";
import { OhpWsConnectionImpl, rawToBytes, refuseSocket, WS_OPEN } from "./connection.js";

/** What the server announces in its `hello`. */
export interface OhpWsServerHello {
  readonly maxTier: Tier;
  readonly bindings: readonly string[];
  /** This node's tenant: the second half of every tenant pair. */
  readonly tenant?: string;
}

/** The HTTP upgrade request, as the `authenticate` hook sees it. */
export interface OhpWsUpgradeInfo {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress?: string;
  /** The target URI a DPoP proof on the upgrade must be bound to (`htu`): `https://host/path`. */
  readonly httpUri: string;
}

/** Result of `authenticate`: admit (optionally naming the authenticated tenant) or refuse. */
export type OhpWsAuthResult = { readonly ok: true; readonly tenant?: string } | { readonly ok: false; readonly reason: string };

/** Decides whether a client's hello (and its upgrade request) may open a connection. */
export type OhpWsAuthenticate = (hello: OhpWsHelloFrame, upgrade: OhpWsUpgradeInfo) => Promise<OhpWsAuthResult>;

export interface OhpWsServerOptions {
  /** Upgrade path (default `/ohp/v1/ws`); other paths are left to other `upgrade` listeners. */
  readonly path?: string;
  /** Receives every inbound envelope; its answer goes back on the same connection. */
  readonly handler: OhpEnvelopeHandler;
  readonly hello: OhpWsServerHello;
  /** Admission hook, called once per connection after the client's hello (default: admit). */
  readonly authenticate?: OhpWsAuthenticate;
  /** `ping` interval (default 20 000 ms, §7.2). */
  readonly heartbeatMs?: number;
  /** Unanswered pings after which the connection is closed (default 2). */
  readonly missedPongs?: number;
  /** Time allowed for hello + authentication (default 10 000 ms). */
  readonly helloTimeoutMs?: number;
  /** Default ack timeout of `send` on server connections (default 10 000 ms). */
  readonly ackTimeoutMs?: number;
  /** Frame size cap (default 32 KiB + 1 KiB); frames above 4× the cap are cut by `ws` (close 1009). */
  readonly maxFrameBytes?: number;
  /** Envelope size cap (default 32 KiB). */
  readonly maxEnvelopeBytes?: number;
  /** Bad frames tolerated per connection before closing it (default 16). */
  readonly maxFrameErrors?: number;
  /** Ids remembered per tenant pair (default 10 000). */
  readonly dedupeMaxEntries?: number;
  /** How long to wait for the peer's close frame before cutting the socket (default 2 000 ms). */
  readonly closeGraceMs?: number;
  /** Accept permessage-deflate (default false: frames are small and compression costs memory). */
  readonly deflate?: boolean;
  /** Clock for dedupe windows (default `Date.now`). */
  readonly now?: () => number;
  /** Log / metrics hook. */
  readonly onEvent?: (event: OhpWsEvent) => void;
}

export interface OhpWsServerCloseOptions {
  /** Longest wait for handler calls under way, then for close handshakes (default 5 000 ms). */
  readonly timeoutMs?: number;
}

/** A running `ohp/ws` endpoint. */
export interface OhpWsServer {
  readonly path: string;
  /** Tenant pairs with an open connection. */
  peers(): string[];
  /** The open connection of a tenant pair (to send RETURN and other server-initiated envelopes). */
  connection(peer: string): OhpWsConnection | undefined;
  /**
   * Graceful stop: refuses new upgrades, lets handler calls under way answer, closes every
   * connection with 1001 and detaches from the HTTP server (which it does not close).
   */
  close(options?: OhpWsServerCloseOptions): Promise<void>;
}

/** Offered subprotocols of an upgrade request. */
function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers["sec-websocket-protocol"];
  if (raw === undefined) return [];
  return raw.split(",").map((p) => p.trim());
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, body: string): void {
  socket.on("error", () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Serves `ohp/ws` on `httpServer` (HTTP or HTTPS; TLS 1.3 is the server's configuration) by
 * handling its `upgrade` events for `path`.
 */
export function attachOhpWsServer(httpServer: HttpServer | HttpsServer, options: OhpWsServerOptions): OhpWsServer {
  const path = options.path ?? OHP_WS_DEFAULT_PATH;
  const heartbeatMs = options.heartbeatMs ?? 20_000;
  const missedPongs = options.missedPongs ?? 2;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const maxFrameBytes = options.maxFrameBytes ?? OHP_WS_MAX_FRAME_BYTES;
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? OHP_WS_MAX_ENVELOPE_BYTES;
  const maxFrameErrors = options.maxFrameErrors ?? 16;
  const closeGraceMs = options.closeGraceMs ?? 2_000;
  const now = options.now ?? Date.now;
  const emit = (event: OhpWsEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing log hook must not break the transport.
    }
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes * 4,
    perMessageDeflate: options.deflate ?? false,
    handleProtocols: (protocols) => (protocols.has(OHP_WS_SUBPROTOCOL) ? OHP_WS_SUBPROTOCOL : false),
  });
  const connections = new Map<string, OhpWsConnectionImpl>();
  const dedupes = new Map<string, OhpWsDedupeCache>();
  const pending = new Set<WebSocket>();
  let anonymous = 0;
  let closing = false;

  // Dedupe caches outlive connections (a reconnecting peer is still deduplicated) but not their
  // longest window.
  const sweep = setInterval(() => {
    for (const [peer, cache] of dedupes) {
      cache.prune();
      if (cache.size === 0 && !connections.has(peer)) dedupes.delete(peer);
    }
  }, OHP_MAX_LIFETIME_MS + OHP_SKEW_MS);
  sweep.unref();

  const dedupeFor = (peer: string): OhpWsDedupeCache => {
    let cache = dedupes.get(peer);
    if (cache === undefined) {
      cache = new OhpWsDedupeCache({ ...(options.dedupeMaxEntries === undefined ? {} : { maxEntries: options.dedupeMaxEntries }), now });
      dedupes.set(peer, cache);
    }
    return cache;
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      pathname = "";
    }
    if (pathname !== path) {
      // Leave it to other upgrade listeners; with none, answer rather than leave the socket hanging.
      if (httpServer.listenerCount("upgrade") <= 1) rejectUpgrade(socket, 404, "Not Found", "no WebSocket endpoint here\n");
      return;
    }
    if (closing) {
      rejectUpgrade(socket, 503, "Service Unavailable", "shutting down\n");
      return;
    }
    if (!offeredProtocols(req).includes(OHP_WS_SUBPROTOCOL)) {
      emit({ kind: "refused", code: "ERR_OHP_WS_SUBPROTOCOL", message: `upgrade without subprotocol ${OHP_WS_SUBPROTOCOL}` });
      rejectUpgrade(socket, 400, "Bad Request", `Sec-WebSocket-Protocol must offer ${OHP_WS_SUBPROTOCOL}\n`);
      return;
    }
    socket.on("error", (error: Error) => emit({ kind: "transport-error", error }));
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };
  httpServer.on("upgrade", onUpgrade);

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    pending.add(ws);
    const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
    const host = headerValue(req.headers.host) ?? "localhost";
    const upgrade: OhpWsUpgradeInfo = {
      url: req.url ?? path,
      headers: req.headers,
      ...(req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress }),
      httpUri: `${encrypted ? "https" : "http"}://${host}${path}`,
    };
    let state: "hello" | "auth" | "open" | "done" = "hello";
    let conn: OhpWsConnectionImpl | undefined;
    const queue: Array<[RawData, boolean]> = [];

    const refuse = (code: OhpWsErrorCode, message: string, closeCode: number, peer?: string): void => {
      if (state === "done") return;
      state = "done";
      clearTimeout(helloTimer);
      pending.delete(ws);
      emit({ kind: "refused", code, message, ...(peer === undefined ? {} : { peer }) });
      refuseSocket(ws, errorFrame(code, message), closeCode, closeGraceMs);
    };
    const helloTimer = setTimeout(() => refuse("ERR_OHP_WS_HELLO_TIMEOUT", `no hello within ${helloTimeoutMs} ms`, OHP_WS_CLOSE.policyViolation), helloTimeoutMs);
    helloTimer.unref();

    ws.on("error", (error: Error) => emit({ kind: "transport-error", ...(conn === undefined ? {} : { peer: conn.peer }), error }));
    ws.on("close", () => {
      clearTimeout(helloTimer);
      pending.delete(ws);
      if (state !== "open") state = "done";
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (conn !== undefined) {
        conn.handleMessage(data, isBinary);
        return;
      }
      if (state === "auth") {
        if (queue.length >= 64) refuse("ERR_OHP_WS_TOO_MANY_ERRORS", "too many frames before the hello was answered", OHP_WS_CLOSE.policyViolation);
        else queue.push([data, isBinary]);
        return;
      }
      if (state !== "hello") return;
      let hello: OhpWsHelloFrame;
      try {
        const { frame } = parseOhpWsFrame(rawToBytes(data), { isBinary, maxFrameBytes });
        if (frame.type !== "hello") {
          refuse("ERR_OHP_WS_HELLO_REQUIRED", `the first frame must be hello, got ${frame.type}`, OHP_WS_CLOSE.policyViolation);
          return;
        }
        hello = frame;
      } catch (e) {
        const err = e instanceof OhpWsError ? e : new OhpWsError("ERR_OHP_WS_FRAME_JSON", String(e));
        const closeCode =
          err.code === "ERR_OHP_WS_FRAME_BINARY"
            ? OHP_WS_CLOSE.unsupportedData
            : err.code === "ERR_OHP_WS_VERSION"
              ? OHP_WS_CLOSE.protocolError
              : OHP_WS_CLOSE.policyViolation;
        refuse(err.code, `the first frame must be a valid hello: ${err.message}`, closeCode);
        return;
      }
      state = "auth";
      void admit(hello);
    });

    async function admit(hello: OhpWsHelloFrame): Promise<void> {
      let result: OhpWsAuthResult = { ok: true };
      if (options.authenticate !== undefined) {
        try {
          result = await options.authenticate(hello, upgrade);
        } catch {
          result = { ok: false, reason: "authentication failed" };
        }
      }
      if (state !== "auth" || ws.readyState !== WS_OPEN) return;
      if (!result.ok) {
        refuse("ERR_OHP_WS_AUTH", result.reason, OHP_WS_CLOSE.policyViolation, hello.tenant);
        return;
      }
      if (closing) {
        refuse("ERR_OHP_WS_SHUTDOWN", "server shutting down", OHP_WS_CLOSE.goingAway);
        return;
      }
      clearTimeout(helloTimer);
      pending.delete(ws);
      state = "open";
      const clientTenant = result.tenant ?? hello.tenant ?? `anonymous#${++anonymous}`;
      const peer = ohpWsTenantPair(clientTenant, options.hello.tenant);
      const previous = connections.get(peer);
      if (previous !== undefined) {
        emit({ kind: "replaced", peer });
        void previous.closeWithError("ERR_OHP_WS_REPLACED", "a newer connection of this tenant pair replaced this one", OHP_WS_CLOSE.replaced);
      }
      const c = new OhpWsConnectionImpl(ws, {
        peer,
        peerHello: hello,
        handler: options.handler,
        meta: {
          ...(hello.sessionToken === undefined
            ? headerValue(req.headers.authorization) === undefined
              ? {}
              : { authorization: headerValue(req.headers.authorization) as string }
            : { authorization: hello.sessionToken }),
          ...(headerValue(req.headers.dpop) === undefined ? {} : { dpop: headerValue(req.headers.dpop) as string }),
          httpMethod: "GET",
          httpUri: upgrade.httpUri,
        },
        dedupe: dedupeFor(peer),
        maxFrameBytes,
        maxEnvelopeBytes,
        maxFrameErrors,
        ackTimeoutMs,
        heartbeat: { intervalMs: heartbeatMs, missedPongs },
        closeGraceMs,
        emit,
      });
      conn = c;
      connections.set(peer, c);
      void c.closed.then(() => {
        if (connections.get(peer) === c) connections.delete(peer);
      });
      c.sendFrame(helloFrame(options.hello));
      c.start();
      emit({ kind: "open", peer });
      for (const [data, isBinary] of queue.splice(0)) c.handleMessage(data, isBinary);
    }
  }

  return {
    path,
    peers: () => [...connections.keys()],
    connection: (peer) => connections.get(peer),
    async close(closeOptions = {}) {
      const timeoutMs = closeOptions.timeoutMs ?? 5_000;
      if (!closing) {
        closing = true;
        httpServer.off("upgrade", onUpgrade);
        clearInterval(sweep);
      }
      for (const ws of [...pending]) {
        pending.delete(ws);
        refuseSocket(ws, errorFrame("ERR_OHP_WS_SHUTDOWN", "server shutting down"), OHP_WS_CLOSE.goingAway, closeGraceMs);
      }
      const open = [...connections.values()];
      await Promise.all(open.map((c) => c.drain(timeoutMs)));
      const closes: Array<Promise<OhpWsCloseInfo>> = open.map((c) => c.closeWithError("ERR_OHP_WS_SHUTDOWN", "server shutting down", OHP_WS_CLOSE.goingAway));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closes), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
