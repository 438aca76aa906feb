/**
 * The HTTPS binding of Open Floor (OFP §1.1, §2.3; decision log "How are conversations
 * started?"): a conversant POSTs one JSON envelope to a `serviceUrl` and the HTTP response
 * carries one envelope back (with an empty `events` array when there is nothing to say, §2.3).
 *
 * - {@link createOfpHttpListener}: a node:http / node:https request listener for any number of
 *   envelope handlers, one per path (an agent's `serviceUrl` is `origin + path`).
 * - {@link serveOfp}: starts a server on loopback (plain HTTP by default, TLS with `tls`).
 * - {@link sendEnvelope}: the client side: POST, strict JSON, lenient envelope parsing.
 *
 * Status codes: 200 with the answer envelope; 400 (not strict JSON, not an envelope, invalid
 * envelope; body `{error, message, errors?}`), 404 (no handler at that path), 405 (not POST),
 * 413 (body over `maxBytes`, default 1 MiB), 415 (not `application/json`), 500 (handler failure).
 */
import { listenOn, readBodyLimited } from "../util/http.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { isAgentwireError } from "../errors.js";
import { parseOfpEnvelope, type ParsedOfpEnvelope } from "./parse.js";
import { OfpRuntimeError } from "./runtime.js";
import type { OfpDocument } from "./types.js";

/** The media type of Open Floor envelopes on HTTP (JSON, §1.1). */
export const OFP_JSON_MEDIA_TYPE = "application/json";
/** Default maximum request body. */
export const OFP_MAX_BODY_BYTES = 1024 * 1024;

/** What the transport knows about one received envelope. */
export interface OfpInboundMeta {
  readonly binding: "ofp/https" | "ofp/grpc";
  /** Remote address (HTTP) or peer (gRPC), for logs. */
  readonly peer?: string;
}

/**
 * Handles one received envelope (parsed JSON, not yet validated) and returns the envelope to
 * answer with. Throws OfpError (ERR_OFP_JSON / ERR_OFP_NOT_ENVELOPE / ERR_OFP_INVALID) for bad
 * input, which the bindings turn into 400 / INVALID_ARGUMENT.
 */
export type OfpEnvelopeHandler = (envelope: unknown, meta: OfpInboundMeta) => Promise<OfpDocument>;

/** Options of {@link createOfpHttpListener}. */
export interface OfpHttpListenerOptions {
  /** Handlers by path (`"/"`, `"/travel"`). */
  readonly routes: Readonly<Record<string, OfpEnvelopeHandler>>;
  readonly maxBytes?: number;
}

function problem(res: ServerResponse, status: number, error: string, message: string, extra: Record<string, unknown> = {}): void {
  const body = JSON.stringify({ error, message, ...extra });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}


/** The status a handler failure maps to: OfpError input codes are 400, everything else 500. */
export function httpStatusOf(e: unknown): { status: number; error: string } {
  if (isAgentwireError(e)) {
    if (e.code === "ERR_OFP_JSON") return { status: 400, error: "invalid-json" };
    if (e.code === "ERR_OFP_NOT_ENVELOPE" || e.code === "ERR_OFP_INVALID" || e.code === "ERR_OFP_VERSION") return { status: 400, error: "invalid-envelope" };
    if (e.code === "ERR_OFP_FLOOR") return { status: 409, error: "refused" };
  }
  return { status: 500, error: "internal" };
}

/**
 * A request listener serving the handlers. Returns `false` (without answering) for paths it
 * has no handler for, so it can sit in front of other handlers (e.g. a Connect adapter).
 */
export function createOfpHttpListener(options: OfpHttpListenerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const max = options.maxBytes ?? OFP_MAX_BODY_BYTES;
  return async (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const handler = options.routes[path];
    if (handler === undefined) return false;
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      problem(res, 405, "method-not-allowed", "POST an Open Floor envelope");
      return true;
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== OFP_JSON_MEDIA_TYPE) {
      problem(res, 415, "unsupported-media-type", `Content-Type must be ${OFP_JSON_MEDIA_TYPE}`);
      return true;
    }
    const body = await readBodyLimited(req, max);
    if (body === "too-large") {
      problem(res, 413, "too-large", `an envelope is at most ${max} bytes here`);
      return true;
    }
    let answer: OfpDocument;
    try {
      // The handler parses (strict JSON text → parseOfpEnvelope), so it sees the text itself.
      answer = await handler(body.toString("utf8"), { binding: "ofp/https", peer: req.socket.remoteAddress ?? "unknown" });
    } catch (e) {
      const { status, error } = httpStatusOf(e);
      const errors = isAgentwireError(e) ? e.detail?.["errors"] : undefined;
      problem(res, status, error, (e as Error).message, errors === undefined ? {} : { errors });
      return true;
    }
    const text = JSON.stringify(answer);
    res.writeHead(200, { "content-type": OFP_JSON_MEDIA_TYPE, "content-length": Buffer.byteLength(text) });
    res.end(text);
    return true;
  };
}

/** Options of {@link serveOfp}. */
export interface ServeOfpOptions {
  /** Handlers by path; a single handler serves `/`. */
  readonly routes: Readonly<Record<string, OfpEnvelopeHandler>> | OfpEnvelopeHandler;
  /** Port (0 = any free port). Default 0. */
  readonly port?: number;
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** PEM key and certificate: serve HTTPS instead of plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  readonly maxBytes?: number;
  /** Tried for requests no envelope handler takes (return true when handled). */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;
}

/** A running Open Floor HTTP server. */
export interface RunningOfpServer {
  /** `http(s)://host:port` (no trailing slash). */
  readonly origin: string;
  /** The URL of a path (`urlOf("/travel")`); `url` is `urlOf("/")`. */
  urlOf(path: string): string;
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts an Open Floor HTTP(S) server. */
export async function serveOfp(options: ServeOfpOptions): Promise<RunningOfpServer> {
  const routes = typeof options.routes === "function" ? { "/": options.routes } : options.routes;
  const listener = createOfpHttpListener({ routes, ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        if (await listener(req, res)) return;
        if (options.fallback !== undefined && (await options.fallback(req, res))) return;
        problem(res, 404, "not-found", `no Open Floor endpoint at ${req.url ?? "/"}`);
      } catch (e) {
        if (!res.headersSent) problem(res, 500, "internal", (e as Error).message);
        else res.destroy();
      }
    })();
  };
  const server: Server = options.tls === undefined ? createServer(onRequest) : (createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) as unknown as Server);
  const host = options.host ?? "127.0.0.1";
  const port = (await listenOn(server, options.port ?? 0, host)).port;
  const origin = `${options.tls === undefined ? "http" : "https"}://${host}:${port}`;
  const urlOf = (path: string): string => (path === "/" ? `${origin}/` : `${origin}${path.startsWith("/") ? path : `/${path}`}`);
  return {
    origin,
    urlOf,
    url: urlOf("/"),
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Options of {@link sendEnvelope}. */
export interface SendEnvelopeOptions {
  readonly fetch?: typeof fetch;
  /** Abort after this many ms (default 30 s; `Infinity`: never); an abort `signal` may end it earlier. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Parse the answer in lenient mode (default true: peers such as the Python library need it). */
  readonly lenient?: boolean;
}

/**
 * POSTs `envelope` to `url` and returns the parsed answer envelope. Throws OfpRuntimeError
 * ERR_OFP_TRANSPORT (unreachable, HTTP error, empty body) or ERR_OFP_TIMEOUT, and OfpError when
 * the answer is not a valid envelope.
 */
export async function sendEnvelope(url: string, envelope: OfpDocument, options: SendEnvelopeOptions = {}): Promise<ParsedOfpEnvelope> {
  const f = options.fetch ?? fetch;
  const ms = options.timeoutMs ?? 30_000;
  const timeout = Number.isFinite(ms) ? AbortSignal.timeout(ms) : new AbortController().signal;
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let res: Response;
  let text: string;
  try {
    res = await f(url, { method: "POST", headers: { "content-type": OFP_JSON_MEDIA_TYPE, accept: OFP_JSON_MEDIA_TYPE }, body: JSON.stringify(envelope), signal });
    text = await res.text();
  } catch (cause) {
    if (timeout.aborted) throw new OfpRuntimeError("ERR_OFP_TIMEOUT", `ofp/https: ${url} did not answer in time`, { cause });
    throw new OfpRuntimeError("ERR_OFP_TRANSPORT", `ofp/https: cannot reach ${url}: ${(cause as Error).message}`, { cause });
  }
  if (res.status !== 200) {
    throw new OfpRuntimeError("ERR_OFP_TRANSPORT", `ofp/https: ${url} answered ${res.status}: ${text.slice(0, 300)}`, { detail: { status: res.status, body: text.slice(0, 2000) } });
  }
  if (text.trim() === "") throw new OfpRuntimeError("ERR_OFP_TRANSPORT", `ofp/https: ${url} answered without an envelope`);
  return parseOfpEnvelope(text, { lenient: options.lenient ?? true });
}
