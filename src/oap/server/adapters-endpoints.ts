/**
 * §38 adapters, served (opt-in): an MCP view of an {@link OapToolServer} and its A2A Agent Card.
 * A Node request listener like {@link createOapHttpHandler}'s (resolves false for other paths);
 * `createOapHttpHandler(server, { adapters })` mounts it in front of the OAP routes.
 *
 * | method | path | answer |
 * |-|-|-|
 * | POST | /mcp | MCP (2025-06-18) Streamable-HTTP JSON-RPC 2.0, JSON answers only: `initialize`, `ping`, `tools/list`, `tools/call` |
 * | GET | /.well-known/agent.json, /.well-known/agent-card.json | the A2A Agent Card of the manifest |
 *
 * Trust model of `/mcp` (MCP requests carry no signatures): every request needs
 * `Authorization: Bearer <token>`; `credentials(token)` maps it to the Principal the call acts
 * for (unknown → HTTP 401, JSON-RPC -32001). `tools/call` is mapped to an OAP request envelope
 * (mcpCallToOapRequest) whose `agent_did` is the configured **adapter agent**; the server signs it
 * with that agent's key and runs it through the engine's ordinary invoke path
 * ({@link OapToolServer.invoke}, the same checks as `/oap/invoke`: signature, replay, §10
 * authorisation with the forwarded `Authorization` — by default the bearer itself, so the MCP
 * bearer is typically the Principal's OAP API key — policy, schemas, rate limits). The receipt
 * therefore names the adapter agent as `agent_did` and the credential's Principal as
 * `principal_did`; it is returned in the result's `_meta["oap/receipt"]`. The adapter agent's DID
 * must resolve through the server's key resolver (e.g. a did:key).
 *
 * MCP carries no idempotency keys: a call's `params._meta["oap/idempotency_key"]` is used when
 * given, else an idempotent action gets the request id as its key (no deduplication of retries).
 *
 * Errors: malformed params, an unknown tool and input the action's schema refuses are JSON-RPC
 * errors (-32602, OAP error in `data`); other OAP errors (policy, rate limit, handler failures)
 * are tool results with `isError: true` (MCP "tool execution errors").
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { parseJsonStrict } from "../../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { oapManifestToA2aAgentCard } from "../adapters/a2a.js";
import { mcpCallToOapRequest, oapManifestToMcpTools, oapResponseToMcpResult, type McpCallContext } from "../adapters/mcp.js";
import { isOapError, OapError } from "../errors.js";
import { oapRequestHeaders, signRequest, type OapSigner } from "../sign.js";
import type { OapToolServer } from "./engine.js";

/** Paths of the adapters (below the server's base path). */
export const OAP_ADAPTER_PATHS = Object.freeze({
  mcp: "/mcp",
  agentCard: "/.well-known/agent.json",
  agentCardV3: "/.well-known/agent-card.json",
});

/** The MCP protocol revision answered by `initialize`. */
export const MCP_PROTOCOL_VERSION = "2025-06-18";

/** Who an MCP bearer acts for. */
export interface McpCredential {
  readonly principal_did: string;
  /** `Authorization` forwarded to the engine's §10 check (default `Bearer <the MCP bearer>`). */
  readonly authorization?: string;
  readonly scope_id?: string;
  /** Overrides of the adapter's default context. */
  readonly context?: Partial<McpCallContext["context"]>;
}

/** Options of the MCP endpoint. */
export interface OapMcpAdapterOptions {
  /** The agent the server signs MCP calls as (recorded as `agent_did` in requests and receipts). */
  readonly agent: { readonly did: string; readonly signer: OapSigner };
  /** Maps a bearer token to its Principal (undefined: 401). */
  readonly credentials: ((token: string) => McpCredential | undefined | Promise<McpCredential | undefined>) | ReadonlyMap<string, McpCredential>;
  /** Default request context (locale, currency, jurisdictions). */
  readonly context: McpCallContext["context"];
  /** Prefix of tool names (e.g. "weather."). */
  readonly namePrefix?: string;
}

/** Options of the adapters (each one off unless given). */
export interface OapAdapterOptions {
  readonly mcp?: OapMcpAdapterOptions;
  /** Serve the A2A Agent Card; `url` is the card's `url` (default: the Tool's base URL). */
  readonly a2a?: true | { readonly url?: string };
  /** Largest MCP request body (default 1 MiB). */
  readonly maxBodyBytes?: number;
}

/** JSON-RPC error codes. */
export const JSONRPC = Object.freeze({ parseError: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internalError: -32603, unauthorized: -32001 });

type RpcId = string | number | null;

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: JsonValue,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: JsonObject, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function rpcError(id: RpcId, e: RpcError): JsonObject {
  return { jsonrpc: "2.0", id, error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } };
}

async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function bearerOf(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === "string" ? /^Bearer\s+(\S+)\s*$/iu.exec(h) : null;
  return m?.[1];
}

/** The MCP + A2A listener of `server` (resolves true when it answered the request). */
export function createOapAdapterHandler(server: OapToolServer, options: OapAdapterOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const max = options.maxBodyBytes ?? 1 << 20;
  const base = server.basePath;
  const mcp = options.mcp;

  const credentialOf = async (token: string): Promise<McpCredential | undefined> => {
    const c = mcp?.credentials;
    if (c === undefined) return undefined;
    return typeof c === "function" ? await c(token) : c.get(token);
  };

  const call = async (params: JsonObject, token: string, cred: McpCredential, req: IncomingMessage): Promise<JsonObject> => {
    if (mcp === undefined) throw new RpcError(JSONRPC.internalError, "MCP is not configured");
    if (typeof params["name"] !== "string") throw new RpcError(JSONRPC.invalidParams, "params.name must be a string");
    if (params["arguments"] !== undefined && !isJsonObject(params["arguments"])) throw new RpcError(JSONRPC.invalidParams, "params.arguments must be an object");
    const manifest = server.manifest as unknown as OapManifest;
    let unsigned: JsonObject;
    try {
      unsigned = mcpCallToOapRequest({ name: params["name"], ...(params["arguments"] === undefined ? {} : { arguments: params["arguments"] as JsonObject }) }, manifest, {
        principal_did: cred.principal_did,
        agent_did: mcp.agent.did,
        context: { ...mcp.context, ...cred.context },
        ...(cred.scope_id === undefined ? {} : { scope_id: cred.scope_id }),
        ...(mcp.namePrefix === undefined ? {} : { namePrefix: mcp.namePrefix }),
      });
    } catch (e) {
      if (isOapError(e)) throw new RpcError(JSONRPC.invalidParams, e.code === "ERR_OAP_ACTION_NOT_FOUND" ? `Unknown tool: ${params["name"]}` : e.message, { oap_error: e.toErrorObject() as unknown as JsonObject });
      throw e;
    }
    // MCP has no idempotency keys: `_meta["oap/idempotency_key"]` when the client gives one, else
    // (idempotent actions require a key, §8.4) the request id — no deduplication of MCP retries.
    const meta = isJsonObject(params["_meta"]) ? params["_meta"] : {};
    const action = manifest.actions.find((a) => a.id === unsigned["action"]);
    const idemKey = typeof meta["oap/idempotency_key"] === "string" ? meta["oap/idempotency_key"] : action?.idempotent === true ? String(unsigned["request_id"]) : undefined;
    if (idemKey !== undefined) unsigned = { ...unsigned, idempotency_key: idemKey };
    const env = signRequest(unsigned, mcp.agent.signer) as unknown as JsonObject;
    const headers: Record<string, string> = {
      ...oapRequestHeaders(env),
      authorization: cred.authorization ?? `Bearer ${token}`,
    };
    const disconnect = new AbortController();
    req.on("close", () => disconnect.abort(new OapError("ERR_OAP_TIMEOUT", "the client went away")));
    const o = await server.invoke(env, { transport: "https", header: (n) => headers[n.toLowerCase()], signal: disconnect.signal });
    if (o.kind === "error" && o.error.code === "invalid_input") {
      throw new RpcError(JSONRPC.invalidParams, o.error.message, { oap_error: o.error as unknown as JsonObject });
    }
    if (o.kind === "task") {
      const r = oapResponseToMcpResult({ ...o.body, status: "accepted", output: o.task as unknown as JsonObject });
      return r as unknown as JsonObject;
    }
    return oapResponseToMcpResult(o.body) as unknown as JsonObject;
  };

  const dispatch = async (msg: JsonObject, token: string, cred: McpCredential, req: IncomingMessage): Promise<JsonObject> => {
    const method = msg["method"];
    const params = msg["params"] === undefined ? {} : msg["params"];
    if (!isJsonObject(params)) throw new RpcError(JSONRPC.invalidParams, "params must be an object");
    switch (method) {
      case "initialize": {
        const m = server.manifest as unknown as OapManifest;
        return { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: { tools: { listChanged: false } }, serverInfo: { name: m.tool.name, version: m.tool.version }, instructions: m.tool.description_for_agents };
      }
      case "ping":
        return {};
      case "tools/list":
        return oapManifestToMcpTools(server.manifest as unknown as OapManifest, mcp?.namePrefix === undefined ? {} : { namePrefix: mcp.namePrefix }) as unknown as JsonObject;
      case "tools/call":
        return call(params, token, cred, req);
      default:
        throw new RpcError(JSONRPC.methodNotFound, `method not found: ${String(method)}`);
    }
  };

  const serveMcp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const token = bearerOf(req);
    const cred = token === undefined ? undefined : await credentialOf(token);
    if (token === undefined || cred === undefined) {
      send(res, 401, rpcError(null, new RpcError(JSONRPC.unauthorized, "unauthorized: a valid bearer credential is required")), { "www-authenticate": 'Bearer realm="mcp"' });
      return;
    }
    const text = await readBody(req, max);
    if (text === undefined) {
      send(res, 413, rpcError(null, new RpcError(JSONRPC.invalidRequest, `the request body exceeds ${max} bytes`)));
      return;
    }
    let msg: JsonValue;
    try {
      msg = parseJsonStrict(text);
    } catch (e) {
      send(res, 400, rpcError(null, new RpcError(JSONRPC.parseError, `parse error: ${(e as Error).message}`)));
      return;
    }
    if (!isJsonObject(msg) || msg["jsonrpc"] !== "2.0" || typeof msg["method"] !== "string") {
      send(res, 400, rpcError(null, new RpcError(JSONRPC.invalidRequest, "not a JSON-RPC 2.0 request (batches are not supported)")));
      return;
    }
    const id = msg["id"];
    if (id === undefined) {
      // A notification (e.g. notifications/initialized): accepted, no answer.
      res.writeHead(202).end();
      return;
    }
    if (typeof id !== "string" && typeof id !== "number") {
      send(res, 400, rpcError(null, new RpcError(JSONRPC.invalidRequest, "id must be a string or a number")));
      return;
    }
    try {
      send(res, 200, { jsonrpc: "2.0", id, result: await dispatch(msg, token, cred, req) }, { "mcp-protocol-version": MCP_PROTOCOL_VERSION });
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError(JSONRPC.internalError, isOapError(e) ? e.message : "internal error");
      send(res, 200, rpcError(id, err));
    }
  };

  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (base !== "" && !url.pathname.startsWith(`${base}/`)) return false;
    const path = url.pathname.slice(base.length);
    const method = (req.method ?? "GET").toUpperCase();
    if (mcp !== undefined && path === OAP_ADAPTER_PATHS.mcp) {
      if (method === "POST") await serveMcp(req, res);
      // No server-initiated SSE stream (GET) and no sessions (DELETE): 405 per Streamable HTTP.
      else res.writeHead(405, { allow: "POST" }).end();
      return true;
    }
    if (options.a2a !== undefined && (path === OAP_ADAPTER_PATHS.agentCard || path === OAP_ADAPTER_PATHS.agentCardV3)) {
      if (method !== "GET" && method !== "HEAD") return false;
      const cardUrl = (options.a2a === true ? undefined : options.a2a.url) ?? server.url("/");
      send(res, 200, oapManifestToA2aAgentCard(server.manifest as unknown as OapManifest, cardUrl) as unknown as JsonObject, { "cache-control": "max-age=300" });
      return true;
    }
    return false;
  };
}
