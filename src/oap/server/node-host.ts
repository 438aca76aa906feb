/**
 * Hosting OAP tools inside an agentwire node (`agentwire serve`): the first tool is the node's
 * own Tool (its DID is the node DID, `/.well-known/oap-tool.json` at the node's root, signed
 * with the node's Ed25519 key, which the node's DID document already lists); further tools are
 * mounted at `/tools/<id>` with DIDs `<node DID>:tools:<id>` (did:web path form, DID document at
 * `/tools/<id>/did.json`). Each tool has its own SQLite store `DIR/oap-<id>.sqlite`.
 * `oap.v1.ToolService` is served on the node's HTTP port (Connect, gRPC-Web) and on its gRPC
 * port; the `oap-tool` request header picks a tool other than the first.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Server } from "node:http2";
import { join } from "node:path";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { DidResolver } from "../../trust/did/resolver.js";
import { apiKeyDigest, type ApiKeyRecord, type ApiKeyStore } from "../auth.js";
import { OapError } from "../errors.js";
import { didKeyResolver } from "../sign.js";
import { OapToolServer, type OapLogEvent } from "./engine.js";
import { cachingKeyResolver } from "./key-cache.js";
import { oapToolServiceRoutes } from "./grpc.js";
import { createOapHttpHandler } from "./http.js";
import { SqliteOapStore } from "./sqlite-store.js";
import type { OapStore } from "./store.js";
import type { OapToolDefinition } from "./tool.js";

/** An API key entry of the node config (`oap.apiKeys[]`): the key itself or its SHA-256 (hex). */
export interface ConfiguredApiKey extends ApiKeyRecord {
  readonly key?: string;
  readonly sha256?: string;
}

/** The `oap` member of the node config. */
export interface OapNodeConfig {
  readonly apiKeys?: readonly ConfiguredApiKey[];
}

/** Parses the `oap` config member strictly. */
export function parseOapNodeConfig(value: unknown): OapNodeConfig {
  const bad = (m: string): never => {
    throw new OapError("ERR_OAP_INPUT_INVALID", `config oap: ${m}`);
  };
  if (!isJsonObject(value as JsonValue)) return bad("must be an object");
  const v = value as JsonObject;
  for (const k of Object.keys(v)) if (k !== "apiKeys") bad(`unknown member ${JSON.stringify(k)}`);
  if (v["apiKeys"] === undefined) return {};
  if (!Array.isArray(v["apiKeys"])) return bad("apiKeys must be an array");
  const keys = v["apiKeys"].map((k, i): ConfiguredApiKey => {
    if (!isJsonObject(k) || typeof k["id"] !== "string") return bad(`apiKeys[${i}] needs an id`);
    if (typeof k["key"] !== "string" && (typeof k["sha256"] !== "string" || !/^[0-9a-f]{64}$/.test(k["sha256"]))) bad(`apiKeys[${i}] needs key or sha256 (64 hex digits)`);
    for (const m of Object.keys(k)) if (!["id", "key", "sha256", "principal_did", "actions", "scopes", "revoked", "expires_at"].includes(m)) bad(`apiKeys[${i}]: unknown member ${m}`);
    return k as unknown as ConfiguredApiKey;
  });
  return { apiKeys: keys };
}

/** An {@link ApiKeyStore} over configured keys (indexed by digest). */
export function configuredApiKeys(keys: readonly ConfiguredApiKey[]): ApiKeyStore {
  const map = new Map<string, ApiKeyRecord>();
  for (const k of keys) {
    const { key, sha256, ...record } = k;
    map.set(sha256 ?? apiKeyDigest(key as string), record);
  }
  return { lookup: (digest) => map.get(digest) };
}

/** Options of {@link startOapNodeHost}. */
export interface OapNodeHostOptions {
  readonly tools: readonly OapToolDefinition[];
  /** The node DID (did:web) and origin. */
  readonly did: string;
  readonly baseUrl: string;
  /** The node's Ed25519 signing key (kid as in the node's JWKS). */
  readonly key: PrivateKeyRecord;
  readonly dataDir: string;
  readonly compat?: boolean;
  readonly config?: OapNodeConfig;
  /** Resolve did:web:localhost over plain http (default true, like the node). */
  readonly allowInsecureLocalhostDids?: boolean;
  readonly log?: (event: OapLogEvent) => void;
  /** Opens the store of a tool (default: the SQLite file `DIR/oap-<id>.sqlite`); `agentwire serve --store postgres://…` passes PostgreSQL. */
  readonly openStore?: (toolId: string) => OapStore | Promise<OapStore>;
}

/** Tools hosted by a node. */
export interface OapNodeHost {
  readonly servers: readonly OapToolServer[];
  /** The node's HTTP routes for the tools (resolves true when answered). */
  http(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** DID document services of the primary tool (added to the node's did.json). */
  services(): JsonObject[];
  /** Adds ToolService to the node's gRPC (HTTP/2) server. */
  attachH2(server: Http2Server): void;
  close(): Promise<void>;
}

const TOOL_SERVICE_PREFIX = "/oap.v1.ToolService/";

/** Starts the tools (see the module comment). */
export async function startOapNodeHost(options: OapNodeHostOptions): Promise<OapNodeHost> {
  if (options.tools.length === 0) throw new OapError("ERR_OAP_INTERNAL", "no OAP tools to host");
  const ids = new Set<string>();
  for (const t of options.tools) {
    if (ids.has(t.manifest.tool.id)) throw new OapError("ERR_OAP_ACTION_INVALID", `two tools with id ${t.manifest.tool.id}`);
    ids.add(t.manifest.tool.id);
  }
  const keys = cachingKeyResolver(didKeyResolver(new DidResolver({ allowInsecureLocalhost: options.allowInsecureLocalhostDids !== false })));
  const apiKeys = options.config?.apiKeys === undefined ? undefined : configuredApiKeys(options.config.apiKeys);
  const servers: OapToolServer[] = [];
  const handlers: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>)[] = [];
  try {
    for (const [i, tool] of options.tools.entries()) {
      const id = tool.manifest.tool.id;
      const primary = i === 0;
      const did = primary ? options.did : `${options.did}:tools:${id}`;
      const server = new OapToolServer({
        tool,
        did,
        signer: { key: options.key, kid: `${did}#${options.key.kid}` },
        baseUrl: options.baseUrl,
        basePath: primary ? "" : `/tools/${id}`,
        store: options.openStore === undefined ? new SqliteOapStore(join(options.dataDir, `oap-${id}.sqlite`)) : await options.openStore(id),
        // A store shared with other nodes holds their running tasks too: never fail them here.
        recoverOpenTasks: options.openStore === undefined,
        keys,
        ...(apiKeys === undefined ? {} : { apiKeys }),
        ...(options.compat === true ? { compat: true } : {}),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
      servers.push(server);
      // The primary tool's DID is the node's: the node serves /.well-known/did.json (with the services below).
      handlers.push(createOapHttpHandler(server, primary ? { serveDidDocument: false } : { didDocumentPath: "/did.json" }));
    }
    for (const s of servers) await s.start();
  } catch (e) {
    for (const s of servers) await s.store.close();
    throw e;
  }
  const routes = oapToolServiceRoutes(servers);
  const connect = connectNodeAdapter({ routes });
  return {
    servers,
    async http(req, res) {
      if ((req.url ?? "").startsWith(TOOL_SERVICE_PREFIX)) {
        connect(req, res);
        return true;
      }
      for (let i = handlers.length - 1; i >= 0; i--) if (await (handlers[i] as (q: IncomingMessage, r: ServerResponse) => Promise<boolean>)(req, res)) return true;
      return false;
    },
    services: () => (servers[0] as OapToolServer).services(),
    attachH2(h2) {
      const previous = h2.listeners("request") as ((req: unknown, res: unknown) => void)[];
      h2.removeAllListeners("request");
      const oap = connectNodeAdapter({ routes });
      h2.on("request", (req, res) => {
        if ((req.url ?? "").startsWith(TOOL_SERVICE_PREFIX)) oap(req, res);
        else for (const l of previous) l(req, res);
      });
    },
    async close() {
      for (const s of servers) {
        await s.close();
        await s.store.close();
      }
    },
  };
}

/** True when `v` looks like a {@link defineTool} result. */
export function isOapToolDefinition(v: unknown): v is OapToolDefinition {
  return typeof v === "object" && v !== null && isJsonObject((v as { manifest?: unknown }).manifest as JsonValue) && (v as { actions?: unknown }).actions instanceof Map;
}

/**
 * Loads tools defined in code (`agentwire serve --oap-tool MODULE`): the module's default
 * export, `tool` or `tools` — a `defineTool` result, an array of them, or a function returning either.
 */
export async function loadOapToolModule(path: string): Promise<OapToolDefinition[]> {
  const { pathToFileURL } = await import("node:url");
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  let value = mod["default"] ?? mod["tools"] ?? mod["tool"];
  if (typeof value === "function") value = await (value as () => unknown)();
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every(isOapToolDefinition)) {
    throw new OapError("ERR_OAP_ACTION_INVALID", `${path}: export a defineTool(...) result (default, tool or tools), an array of them, or a function returning one`);
  }
  return list;
}
