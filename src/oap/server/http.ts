/**
 * The HTTPS binding of an {@link OapToolServer} (§6, §8, §9): a Node request listener that
 * serves the well-known documents and the manifest's endpoints, and returns false for any other
 * path (so it composes with other listeners, e.g. the OHP node's).
 *
 * | method | path | answer |
 * |-|-|-|
 * | GET | /.well-known/oap-tool.json | the manifest |
 * | GET | /.well-known/did.json | the Tool's DID document (unless hosted by a node that serves its own) |
 * | POST | /oap/invoke | 200 signed response · 202 task · error envelope (Appendix B status) |
 * | POST | /oap/stream | SSE: `id: seq`, `event: oap.progress…`, final `oap.complete` (response + receipt) or `oap.error` |
 * | GET | /oap/audit | `{receipts, events}` of the authenticated Principal |
 * | POST | /oap/data/delete | signed Deletion Receipt |
 * | GET, POST | /oap/data/export | signed export |
 * | GET, POST | /oap/incident | published incidents · 202 report receipt |
 * | POST | /oap/discover | matching actions |
 * | POST, DELETE | /oap/subscribe[/{id}] | webhook subscriptions; commercial ones (`tier`, `urn:oap:subscription:` ids) with commerce |
 * | GET | /oap/billing | price options, notices, the Principal's subscriptions (commerce) |
 * | GET | /oap/tasks | the caller's tasks |
 * | GET | /oap/tasks/{id} | 202 + task while open, 200 + task when terminal |
 * | GET | /oap/tasks/{id}/events | SSE of the task after each transition (`Last-Event-ID` resumes) |
 * | POST | /oap/tasks/{id}/cancel, /input | signed control messages |
 *
 * Every error is the signed response envelope with `status: "error"` and the Appendix B status
 * (a method an endpoint does not take is 404 not_found: Appendix B has no 405). Invocation
 * answers carry `OAP-Version`, `OAP-Request-Id`, `OAP-Signature` (the body's signature value)
 * and `OAP-Trace` (the caller's W3C trace continued by the Tool's span).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { parseJsonStrict } from "../../json/parse.js";
import { isJsonObject, type JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import { isTerminalTaskStatus } from "../tasks/lifecycle.js";
import { httpMessage } from "../webhooks/rfc9421.js";
import { OAP_PATHS, type InvocationMeta, type InvokeOutcome, type OapToolServer, type StreamEventJson } from "./engine.js";
import { OAP_PLANE_PATHS } from "./plane-endpoints.js";
import { createOapAdapterHandler, type OapAdapterOptions } from "./adapters-endpoints.js";
import { formatTraceparent, type TraceContext } from "./trace.js";

/** Options of {@link createOapHttpHandler}. */
export interface OapHttpOptions {
  /** Largest request body (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Serve the DID document (default true). */
  readonly serveDidDocument?: boolean;
  /**
   * Path of the DID document below the base path (default "/.well-known/did.json"; did:web DIDs
   * with a path, e.g. did:web:host:tools:x, resolve to "/tools/x/did.json": use "/did.json").
   */
  readonly didDocumentPath?: string;
  /** SSE keep-alive comment interval (default 15 s). */
  readonly heartbeatMs?: number;
  /** §38 adapters (opt-in): MCP at /mcp, the A2A Agent Card at /.well-known/agent.json (adapters-endpoints.ts). */
  readonly adapters?: OapAdapterOptions;
}

const OAP_JSON = "application/oap+json";

function headerOf(req: IncomingMessage): (name: string) => string | undefined {
  return (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
}

function absoluteUrl(req: IncomingMessage): string {
  const tls = (req.socket as TLSSocket).encrypted === true;
  return `${tls ? "https" : "http"}://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: JsonObject, headers: Record<string, string> = {}, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function envelopeHeaders(body: JsonObject, requestId: string | undefined, trace: TraceContext | undefined): Record<string, string> {
  const h: Record<string, string> = { "oap-version": "1.0" };
  if (requestId !== undefined) h["oap-request-id"] = requestId;
  const sig = isJsonObject(body["signature"]) ? body["signature"]["value"] : undefined;
  if (typeof sig === "string") h["oap-signature"] = sig;
  if (trace !== undefined) h["oap-trace"] = formatTraceparent(trace);
  return h;
}

function sseHeaders(extra: Record<string, string>): Record<string, string> {
  return { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no", ...extra };
}

/** One SSE event (`id:`, `event:`, `data:` on one line). */
export function sseFrame(id: number, event: string, data: JsonObject): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The HTTPS request listener of `server` (resolves true when it answered the request). */
export function createOapHttpHandler(server: OapToolServer, options: OapHttpOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const max = options.maxBodyBytes ?? 1 << 20;
  const heartbeat = options.heartbeatMs ?? 15_000;
  const base = server.basePath;
  const adapters = options.adapters === undefined ? undefined : createOapAdapterHandler(server, options.adapters);

  const fail = (res: ServerResponse, e: unknown, requestId?: string, trace?: TraceContext): void => {
    const a = server.errorAnswer(e, requestId);
    const headers = envelopeHeaders(a.body, String(a.body["request_id"]), trace);
    if (a.retryAfterSeconds !== undefined) headers["retry-after"] = String(a.retryAfterSeconds);
    sendJson(res, a.status, a.body, headers, OAP_JSON);
  };

  const parseBody = async (req: IncomingMessage, envelope: boolean): Promise<{ raw: Buffer; json: unknown }> => {
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    let raw: Buffer;
    try {
      raw = await readBody(req, max);
    } catch (e) {
      if (e instanceof BodyTooLarge) throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the request body exceeds ${max} bytes`);
      throw e;
    }
    if (raw.length === 0) return { raw, json: undefined };
    if (envelope && type !== OAP_JSON && type !== "application/json") throw new OapError("ERR_OAP_ENVELOPE_INVALID", `Content-Type must be ${OAP_JSON} or application/json`);
    try {
      return { raw, json: parseJsonStrict(raw.toString("utf8")) };
    } catch (cause) {
      throw new OapError("ERR_OAP_ENVELOPE_INVALID", `the body is not JSON: ${(cause as Error).message}`, { cause });
    }
  };

  const caller = (req: IncomingMessage, body?: Buffer) =>
    server.authenticateCaller(httpMessage({ method: req.method ?? "GET", url: absoluteUrl(req), headers: req.headers }), body === undefined ? undefined : new Uint8Array(body));

  const meta = (req: IncomingMessage, transport: "https" | "sse", signal: AbortSignal): InvocationMeta => {
    const cert = (req.socket as TLSSocket).getPeerCertificate?.();
    return { transport, header: headerOf(req), signal, ...(cert !== undefined && Object.keys(cert).length > 0 ? { clientCertificate: cert } : {}) };
  };

  const writeOutcome = (res: ServerResponse, o: InvokeOutcome): void => {
    const headers = envelopeHeaders(o.body, o.requestId, o.trace);
    if (o.kind === "task") {
      if (o.task.poll_url !== undefined) headers["location"] = o.task.poll_url;
      headers["retry-after"] = "1";
      // §9.2: HTTP 202 with the Task descriptor (agentwire's Task carries the descriptor members first).
      delete headers["oap-signature"];
      sendJson(res, 202, o.task as unknown as JsonObject, headers);
      return;
    }
    if (o.kind === "error" && o.retryAfterSeconds !== undefined) headers["retry-after"] = String(o.retryAfterSeconds);
    sendJson(res, o.status, o.body, headers, OAP_JSON);
  };

  const streamEvents = async (req: IncomingMessage, res: ServerResponse, events: AsyncIterable<StreamEventJson | { seq: number; task: unknown }>, headers: Record<string, string>, name?: string): Promise<void> => {
    res.writeHead(200, sseHeaders(headers));
    res.flushHeaders();
    const beat = setInterval(() => res.write(": keep-alive\n\n"), heartbeat);
    beat.unref();
    try {
      for await (const ev of events) {
        if (res.destroyed) break;
        const e = ev as JsonObject;
        res.write(sseFrame(Number(e["seq"]), name ?? String(e["event"]), e));
      }
    } finally {
      clearInterval(beat);
      if (!res.destroyed) res.end();
    }
  };

  return async (req, res) => {
    if (adapters !== undefined && (await adapters(req, res))) return true;
    const url = new URL(req.url ?? "/", "http://x");
    if (base !== "" && !url.pathname.startsWith(`${base}/`)) return false;
    const path = url.pathname.slice(base.length);
    const method = (req.method ?? "GET").toUpperCase();
    const q = url.searchParams;
    const didPath = options.didDocumentPath ?? OAP_PATHS.didDocument;
    if (path === didPath) {
      if (options.serveDidDocument === false || (method !== "GET" && method !== "HEAD")) return false;
      sendJson(res, 200, server.didDocument(), {}, "application/did+json");
      return true;
    }
    const known =
      (Object.values(OAP_PATHS) as string[]).includes(path) ||
      (Object.values(OAP_PLANE_PATHS) as string[]).includes(path) ||
      path.startsWith(`${OAP_PLANE_PATHS.wallet}/`) ||
      path.startsWith(`${OAP_PATHS.tasks}/`) ||
      path.startsWith(`${OAP_PATHS.subscribe}/`);
    if (!known || path === OAP_PATHS.didDocument) return false;
    const disconnect = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) disconnect.abort(new OapError("ERR_OAP_TIMEOUT", "the client went away"));
    });
    try {
      if (method === "OPTIONS") {
        res.writeHead(204, { allow: "GET, POST, PUT, DELETE, OPTIONS", "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS" }).end();
        return true;
      }
      switch (path) {
        case OAP_PATHS.manifest:
          if (method !== "GET" && method !== "HEAD") break;
          sendJson(res, 200, server.manifest, { "cache-control": "max-age=300" });
          return true;
        case OAP_PATHS.conformanceReceipt: {
          const r = server.conformanceReceipt();
          if (r === undefined) return false;
          if (method !== "GET") break;
          sendJson(res, 200, r);
          return true;
        }
        case OAP_PATHS.invoke: {
          if (method !== "POST") break;
          let json: unknown;
          try {
            json = (await parseBody(req, true)).json;
          } catch (e) {
            fail(res, e, headerOf(req)("oap-request-id"), server.trace(meta(req, "https", disconnect.signal)));
            return true;
          }
          writeOutcome(res, await server.invoke(json, meta(req, "https", disconnect.signal)));
          return true;
        }
        case OAP_PATHS.stream: {
          if (method !== "POST") break;
          let json: unknown;
          try {
            json = (await parseBody(req, true)).json;
          } catch (e) {
            fail(res, e, headerOf(req)("oap-request-id"));
            return true;
          }
          const o = await server.openStream(json, meta(req, "sse", disconnect.signal));
          if (o.kind === "error") {
            writeOutcome(res, o);
            return true;
          }
          await streamEvents(req, res, o.events, { "oap-version": "1.0", "oap-request-id": o.requestId, "oap-trace": formatTraceparent(o.trace) });
          return true;
        }
        case OAP_PATHS.audit: {
          if (method !== "GET") break;
          const num = (k: string): number | undefined => (q.get(k) === null ? undefined : Number(q.get(k)));
          const who = await caller(req);
          const out = await server.audit(
            {
              ...(q.get("principal_did") === null ? {} : { principal_did: q.get("principal_did") as string }),
              ...(q.get("receipt_id") === null ? {} : { receipt_id: q.get("receipt_id") as string }),
              ...(num("offset") === undefined ? {} : { offset: num("offset") as number }),
              ...(num("limit") === undefined ? {} : { limit: num("limit") as number }),
              ...(num("events_offset") === undefined ? {} : { events_offset: num("events_offset") as number }),
            },
            who,
          );
          sendJson(res, 200, out);
          return true;
        }
        case OAP_PATHS.dataDelete: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, await server.dataDelete(json, await caller(req, raw)));
          return true;
        }
        case OAP_PATHS.dataExport: {
          if (method !== "GET" && method !== "POST") break;
          const { raw, json } = method === "POST" ? await parseBody(req, false) : { raw: undefined, json: undefined };
          const principal = isJsonObject(json) && typeof json["principal_did"] === "string" ? json["principal_did"] : (q.get("principal_did") ?? undefined);
          sendJson(res, 200, await server.dataExport(principal, await caller(req, raw)));
          return true;
        }
        case OAP_PATHS.incident: {
          const planes = server.planes;
          if (method === "GET") {
            const filter = { ...(q.get("since") === null ? {} : { since: q.get("since") as string }), ...(q.get("status") === null ? {} : { status: q.get("status") as string }) };
            sendJson(res, 200, planes.hasIncidentRegistry ? await planes.listIncidents(filter) : await server.incidents());
            return true;
          }
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          // §22.2 with a registry: the operator (operator key) publishes; anyone else files a report.
          if (planes.hasIncidentRegistry && planes.isOperator(headerOf(req)("authorization"))) {
            sendJson(res, 201, await planes.publishIncident(json, headerOf(req)("authorization")));
            return true;
          }
          sendJson(res, 202, await server.reportIncident(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.consent: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 201, await server.planes.consent(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.billingRefund: {
          if (method === "GET") {
            sendJson(res, 200, await server.planes.listRefunds(q.get("principal_did") ?? undefined, await caller(req)));
            return true;
          }
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 201, await server.planes.fileRefund(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.killSwitch: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, await server.planes.invokeKillSwitch(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.policyReload: {
          if (method !== "POST") break;
          const { json } = await parseBody(req, false);
          sendJson(res, 200, server.planes.reloadPolicy(json, headerOf(req)("authorization")));
          return true;
        }
        case OAP_PLANE_PATHS.timeLock: {
          if (method !== "GET") break;
          sendJson(res, 200, server.planes.timeLock(q.get("lock_id") ?? undefined, await caller(req)));
          return true;
        }
        case OAP_PLANE_PATHS.timeLockCancel: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, server.planes.cancelTimeLock(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.conflicts: {
          if (method !== "GET") break;
          const filter = { ...(q.get("resource") === null ? {} : { resource: q.get("resource") as string }), ...(q.get("status") === null ? {} : { status: q.get("status") as string }) };
          sendJson(res, 200, server.planes.listConflicts(filter, await caller(req)));
          return true;
        }
        case OAP_PLANE_PATHS.conflictsPropose: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 201, server.planes.proposeResolution(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.conflictsResolve: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, await server.planes.resolveConflict(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.lock: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 201, server.planes.lock(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.unlock: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, server.planes.unlock(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.state: {
          if (method === "GET") {
            sendJson(res, 200, server.planes.readState(q.get("resource") ?? undefined, await caller(req)));
            return true;
          }
          if (method !== "PUT" && method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 200, server.planes.writeState(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.session: {
          if (method === "GET") {
            sendJson(res, 200, server.planes.readSession(q.get("session_did") ?? undefined, q.get("after") ?? undefined, await caller(req)));
            return true;
          }
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          sendJson(res, 201, server.planes.createSession(json, await caller(req, raw)));
          return true;
        }
        case OAP_PLANE_PATHS.sessionJoin:
        case OAP_PLANE_PATHS.sessionMessage:
        case OAP_PLANE_PATHS.sessionClose: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          const who = await caller(req, raw);
          if (path === OAP_PLANE_PATHS.sessionMessage) sendJson(res, 201, await server.planes.appendSessionMessage(json, who));
          else sendJson(res, 200, path === OAP_PLANE_PATHS.sessionJoin ? server.planes.joinSession(json, who) : server.planes.closeSession(json, who));
          return true;
        }
        case OAP_PATHS.discover: {
          if (method !== "POST") break;
          sendJson(res, 200, server.discover((await parseBody(req, false)).json));
          return true;
        }
        case OAP_PATHS.subscribe: {
          if (method !== "POST") break;
          const { raw, json } = await parseBody(req, false);
          const commercial = isJsonObject(json) && json["tier"] !== undefined && json["callback_url"] === undefined;
          sendJson(res, 201, commercial ? await server.commerceSubscribe(json, await caller(req, raw)) : await server.subscribe(json, await caller(req, raw)));
          return true;
        }
        case OAP_PATHS.billing: {
          if (method !== "GET") break;
          sendJson(res, 200, await server.billing(q.get("principal_did") ?? undefined, await caller(req)));
          return true;
        }
        case OAP_PATHS.tasks: {
          if (method !== "GET") break;
          const out = await server.listTasks(
            {
              ...(q.get("principal_did") === null ? {} : { principal_did: q.get("principal_did") as string }),
              status: q.getAll("status"),
              ...(q.get("page_size") === null ? {} : { page_size: Number(q.get("page_size")) }),
              ...(q.get("page_token") === null ? {} : { page_token: q.get("page_token") as string }),
            },
            await caller(req),
          );
          sendJson(res, 200, out as unknown as JsonObject);
          return true;
        }
        default:
          break;
      }
      if (path.startsWith(`${OAP_PLANE_PATHS.wallet}/`)) {
        const op = path.slice(OAP_PLANE_PATHS.wallet.length + 1);
        const planes = server.planes;
        const idem = headerOf(req)("oap-idempotency-key");
        const ref = { ...(q.get("wallet_did") === null ? {} : { wallet_did: q.get("wallet_did") as string }), ...(q.get("principal_did") === null ? {} : { principal_did: q.get("principal_did") as string }) };
        if (method === "GET" && op === "balance") {
          sendJson(res, 200, await planes.walletBalance(ref, await caller(req)));
          return true;
        }
        if (method === "GET" && op === "statement") {
          const stmt = { ...ref, ...(q.get("currency") === null ? {} : { currency: q.get("currency") as string }), ...(q.get("from") === null ? {} : { from: q.get("from") as string }), ...(q.get("to") === null ? {} : { to: q.get("to") as string }) };
          sendJson(res, 200, await planes.walletStatement(stmt, await caller(req)));
          return true;
        }
        if (method === "GET" && op === "limits") {
          sendJson(res, 200, await planes.walletLimits(ref, undefined, await caller(req)));
          return true;
        }
        if ((method === "PUT" || method === "POST") && op === "limits") {
          const { raw, json } = await parseBody(req, false);
          const body = isJsonObject(json) ? json : {};
          const r = { ...(typeof body["wallet_did"] === "string" ? { wallet_did: body["wallet_did"] } : {}), ...(typeof body["principal_did"] === "string" ? { principal_did: body["principal_did"] } : {}) };
          sendJson(res, 200, await planes.walletLimits(r, body["rules"] ?? null, await caller(req, raw)));
          return true;
        }
        if (method === "POST" && (op === "export" || op === "import")) {
          const { raw, json } = await parseBody(req, false);
          const who = await caller(req, raw);
          sendJson(res, op === "import" ? 201 : 200, op === "export" ? await planes.walletExport(json, who) : await planes.walletImport(json, who));
          return true;
        }
        if (method === "POST" && (op === "authorize" || op === "capture" || op === "release" || op === "refund")) {
          const { raw, json } = await parseBody(req, false);
          const who = await caller(req, raw);
          const out =
            op === "authorize"
              ? await planes.walletAuthorize(json, who, idem)
              : op === "capture"
                ? await planes.walletCapture(json, who, idem)
                : op === "release"
                  ? await planes.walletRelease(json, who)
                  : await planes.walletRefund(json, who, idem);
          sendJson(res, op === "authorize" ? 201 : 200, out);
          return true;
        }
        throw new OapError("ERR_OAP_NOT_FOUND", `${method} is not served at ${path}`);
      }
      if (path.startsWith(`${OAP_PATHS.subscribe}/`)) {
        if (method !== "DELETE") throw new OapError("ERR_OAP_NOT_FOUND", `${method} is not served at ${path}`);
        const id = decodeURIComponent(path.slice(OAP_PATHS.subscribe.length + 1));
        sendJson(res, 200, id.startsWith("urn:oap:subscription:") ? await server.commerceCancel(id, await caller(req)) : await server.unsubscribe(id, await caller(req)));
        return true;
      }
      if (path.startsWith(`${OAP_PATHS.tasks}/`)) {
        const [id, sub, ...rest] = path.slice(OAP_PATHS.tasks.length + 1).split("/");
        if (id === undefined || id === "" || rest.length > 0) throw new OapError("ERR_OAP_NOT_FOUND", `no such task path ${path}`);
        if (sub === undefined && method === "GET") {
          const task = await server.getTask(id, await caller(req));
          const open = !isTerminalTaskStatus(task.status);
          sendJson(res, open ? 202 : 200, task as unknown as JsonObject, open ? { "retry-after": "1" } : {});
          return true;
        }
        if (sub === "events" && method === "GET") {
          const last = Number(req.headers["last-event-id"] ?? q.get("after_seq") ?? 0);
          const events = await server.watchTask(id, Number.isSafeInteger(last) && last > 0 ? last : 0, await caller(req), disconnect.signal);
          await streamEvents(req, res, events, {}, "oap.task");
          return true;
        }
        if ((sub === "cancel" || sub === "input") && method === "POST") {
          const { json } = await parseBody(req, false);
          const ulid = server.taskIdOf(id);
          if (isJsonObject(json) && json["task_id"] !== undefined && server.taskIdOf(String(json["task_id"])) !== ulid) throw new OapError("ERR_OAP_INPUT_INVALID", "task_id differs from the URL");
          const task = sub === "cancel" ? await server.cancelTask(json) : await server.provideInput(json);
          sendJson(res, 200, task as unknown as JsonObject);
          return true;
        }
        throw new OapError("ERR_OAP_NOT_FOUND", `${method} is not served at ${path}`);
      }
      throw new OapError("ERR_OAP_NOT_FOUND", `${method} is not served at ${path}`);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      fail(res, e, headerOf(req)("oap-request-id"));
      return true;
    }
  };
}
