/**
 * The log's HTTP API (node:http, JSON):
 *
 *     POST /v1/entries                 {"hash":"sha256:<64 hex>"} -> 201 {index, size, checkpoint} (200 when already logged)
 *     GET  /v1/entries/<index>         -> {index, hash}
 *     GET  /v1/checkpoint              -> the signed checkpoint note (text/plain)
 *     GET  /v1/proof/inclusion?index=N[&size=M] | ?hash=sha256:..[&size=M] -> {index, size, hashes}
 *     GET  /v1/proof/consistency?from=N&to=M -> {from, to, hashes}
 *
 * The logged entry is the 32-byte digest itself (not its text), so the Merkle leaf hash is
 * SHA-256(0x00 || digest). Errors are `{"error":{"code","message"}}` with 400 (malformed),
 * 404 (unknown route or entry, size beyond the tree), 405, 413 (body over the limit) or 500.
 *
 * @module
 */
import { listenOn } from "../../util/http.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isAgentwireError } from "../../errors.js";
import { TlogError, type TlogErrorCode } from "./errors.js";
import { formatSha256Digest, parseSha256Digest } from "./hash.js";
import { AsyncTransparencyLog } from "./async-log.js";
import { TransparencyLog } from "./log.js";
import { encodeHashes } from "./proof-json.js";

/** Default request body limit: an entry request is about 80 bytes. */
export const DEFAULT_MAX_BODY_BYTES = 4096;

/** Options of {@link createTlogHandler}. */
export interface TlogHandlerOptions {
  /**
   * The log; it needs an origin and a signer for checkpoints. An in-process
   * {@link TransparencyLog} is served through {@link AsyncTransparencyLog.over}; an
   * {@link AsyncTransparencyLog} on a shared store (PostgreSQL) lets several servers run one log.
   */
  readonly log: TransparencyLog | AsyncTransparencyLog;
  /** Largest accepted request body (default {@link DEFAULT_MAX_BODY_BYTES}). */
  readonly maxBodyBytes?: number;
  /** Path prefix the API is mounted under (e.g. "/tlog" for /tlog/v1/entries; default none). */
  readonly basePath?: string;
}

const STATUS: Partial<Record<TlogErrorCode, number>> = {
  ERR_TLOG_HTTP_BAD_REQUEST: 400,
  ERR_TLOG_HASH_INVALID: 400,
  ERR_TLOG_INDEX_OUT_OF_RANGE: 400,
  ERR_TLOG_HTTP_NOT_FOUND: 404,
  ERR_TLOG_SIZE_OUT_OF_RANGE: 404,
  ERR_TLOG_HTTP_METHOD: 405,
  ERR_TLOG_HTTP_TOO_LARGE: 413,
};

function send(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": `${contentType}; charset=utf-8`, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (isAgentwireError(e) && e.code.startsWith("ERR_TLOG_")) {
    const status = STATUS[e.code as TlogErrorCode] ?? 500;
    send(res, status, { error: { code: e.code, message: e.message } });
    return;
  }
  send(res, 500, { error: { code: "ERR_TLOG_INTERNAL", message: "internal error" } });
}

function badRequest(message: string): TlogError {
  return new TlogError("ERR_TLOG_HTTP_BAD_REQUEST", message);
}

function intParam(url: URL, name: string, required: boolean): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null) {
    if (required) throw badRequest(`query parameter ${name} is required`);
    return undefined;
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) throw badRequest(`query parameter ${name} must be a non-negative integer`);
  return Number(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  const tooLarge = () => new TlogError("ERR_TLOG_HTTP_TOO_LARGE", `request body exceeds ${limit} bytes`);
  if (declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function requireMethod(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new TlogError("ERR_TLOG_HTTP_METHOD", `use ${method} on this route`);
}

/** The request handler of the log API. */
export function createTlogHandler(options: TlogHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const log = options.log instanceof TransparencyLog ? AsyncTransparencyLog.over(options.log) : options.log;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      // e.g. "//": a valid request target that WHATWG URL reads as an empty authority (found by the fuzzer).
      throw badRequest("the request target is not a valid path");
    }
    const base = options.basePath ?? "";
    if (base !== "" && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) throw new TlogError("ERR_TLOG_HTTP_NOT_FOUND", `no route ${url.pathname}`);
    const path = url.pathname.slice(base.length);
    if (path === "/v1/entries") {
      requireMethod(req, "POST");
      const text = await readBody(req, limit);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest("the body must be JSON");
      }
      const hash = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)["hash"] : undefined;
      if (typeof hash !== "string") throw badRequest('the body must be {"hash": "sha256:<hex>"}');
      const entry = parseSha256Digest(hash);
      const { index, existed } = await log.submit(entry);
      const checkpoint = await log.signedCheckpoint();
      send(res, existed ? 200 : 201, { index, size: checkpoint.size, checkpoint: checkpoint.note });
      return;
    }
    const entryMatch = /^\/v1\/entries\/(0|[1-9][0-9]{0,15})$/.exec(path);
    if (entryMatch !== null) {
      requireMethod(req, "GET");
      const index = Number(entryMatch[1]);
      if (index >= (await log.size())) throw new TlogError("ERR_TLOG_HTTP_NOT_FOUND", `no entry ${index}`);
      send(res, 200, { index, hash: formatSha256Digest(await log.entry(index)) });
      return;
    }
    if (path === "/v1/checkpoint") {
      requireMethod(req, "GET");
      send(res, 200, (await log.signedCheckpoint()).note, "text/plain");
      return;
    }
    if (path === "/v1/proof/inclusion") {
      requireMethod(req, "GET");
      const size = intParam(url, "size", false) ?? (await log.size());
      const hashText = url.searchParams.get("hash");
      let index = intParam(url, "index", hashText === null);
      if (hashText !== null) {
        const found = await log.findEntry(parseSha256Digest(hashText));
        if (found === undefined) throw new TlogError("ERR_TLOG_HTTP_NOT_FOUND", "the hash is not in the log");
        if (index !== undefined && index !== found) throw badRequest("index and hash name different entries");
        index = found;
      }
      send(res, 200, { index, size, hashes: encodeHashes(await log.inclusionProof(index as number, size)) });
      return;
    }
    if (path === "/v1/proof/consistency") {
      requireMethod(req, "GET");
      const from = intParam(url, "from", true) as number;
      const size = await log.size();
      const to = intParam(url, "to", false) ?? size;
      if (to > size) throw new TlogError("ERR_TLOG_HTTP_NOT_FOUND", `tree size ${to} is beyond the log (size ${size})`);
      if (from < 1 || from > to) throw badRequest("a consistency proof needs 0 < from <= to");
      send(res, 200, { from, to, hashes: encodeHashes(await log.consistencyProof(from, to)) });
      return;
    }
    throw new TlogError("ERR_TLOG_HTTP_NOT_FOUND", `no route ${path}`);
  }

  return (req, res) => {
    route(req, res).catch((e: unknown) => sendError(res, e));
  };
}

/** A running log server. */
export interface RunningTlogServer {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the API on `port` (0: ephemeral) and `host` (default 127.0.0.1). */
export async function startTlogServer(options: TlogHandlerOptions & { readonly port?: number; readonly host?: string }): Promise<RunningTlogServer> {
  const server = createServer(createTlogHandler(options));
  const host = options.host ?? "127.0.0.1";
  const address = await listenOn(server, options.port ?? 0, host);
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
