/**
 * Hosting OAP tools inside an agentwire node (`agentwire serve`): the first tool is the node's
 * own Tool (its DID is the node DID, `/.well-known/oap-tool.json` at the node's root, signed
 * with the node's Ed25519 key, which the node's DID document already lists); further tools are
 * mounted at `/tools/<id>` with DIDs `<node DID>:tools:<id>` (did:web path form, DID document at
 * `/tools/<id>/did.json`). Each tool has its own SQLite store `DIR/oap-<id>.sqlite`.
 * `oap.v1.ToolService` is served on the node's HTTP port (Connect, gRPC-Web) and on its gRPC
 * port; the `oap-tool` request header picks a tool other than the first.
 *
 * With `oap.commerce.wallet` in the config, every hosted tool charges its priced actions to the
 * calling Principal's wallet (hold before the call, final capture citing the receipt after; §11.2)
 * and serves the wallet endpoints: one {@link Wallet} per node, provider = the node DID, on
 * `DIR/wallet.sqlite` (or the shared PostgreSQL database with `--store postgres://…`).
 * `oap.commerce.fund` opens and credits wallets at start, once (idempotency key per Principal
 * and currency), so a restart never credits twice.
 *
 * Every start is a new node id (`<host>/<pid>/<random>`, the owner of its task and in-flight
 * idempotency leases; docs/scale-out.md "Leases"); `oap.leases` sets the lease lengths. With the
 * default SQLite store a starting node fails every task left open (its store is its own); with a
 * shared store only those whose owner's lease expired.
 *
 * §7 action rate limits: with `openRateLimiter` (`agentwire serve --store postgres://…`) each tool's
 * `rpm` windows are shared by every node on the database (src/store/postgres-oap-rate-limit.ts);
 * `"oap": {"rateLimits": "node"}` in the config keeps them in memory per node instead.
 *
 * @module
 */
import type { AsyncTransparencyLog } from "../../trust/tlog/async-log.js";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Server } from "node:http2";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { DidResolver } from "../../trust/did/resolver.js";
import { apiKeyDigest, type ApiKeyRecord, type ApiKeyStore } from "../auth.js";
import { OapError } from "../errors.js";
import { Wallet } from "../commerce/wallet.js";
import { SqliteWalletStore } from "../commerce/wallet-sqlite.js";
import type { WalletStore } from "../commerce/wallet-store.js";
import { didKeyResolver } from "../sign.js";
import { OapToolServer, type OapLogEvent } from "./engine.js";
import { cachingKeyResolver } from "./key-cache.js";
import { oapToolServiceRoutes } from "./grpc.js";
import { createOapHttpHandler } from "./http.js";
import { SqliteOapStore } from "./sqlite-store.js";
import type { OapStore } from "./store.js";
import type { OapRateLimiter } from "../rate-limit.js";
import type { OapToolDefinition } from "./tool.js";

/** An API key entry of the node config (`oap.apiKeys[]`): the key itself or its SHA-256 (hex). */
export interface ConfiguredApiKey extends ApiKeyRecord {
  readonly key?: string;
  readonly sha256?: string;
}

/** A wallet opened and credited at start (`oap.commerce.fund[]`). */
export interface ConfiguredFunding {
  readonly principal_did: string;
  /** Default `urn:oap:wallet:<principal_did>`. */
  readonly wallet_did?: string;
  readonly amount: string;
  readonly currency: string;
}

/** The `oap.commerce` member: the node's wallet. */
export interface OapCommerceConfig {
  /** Charge priced actions to the Principal's wallet and serve the wallet endpoints. */
  readonly wallet: boolean;
  /** SQLite file of the wallet (relative to the data directory; default `wallet.sqlite`); ignored with a PostgreSQL store. */
  readonly walletPath?: string;
  /** Lifetime of the hold of a call (seconds, default 3600). */
  readonly holdSeconds?: number;
  readonly fund?: readonly ConfiguredFunding[];
}

/** The `oap.leases` member: lease lengths (ms) of the node's tasks and in-flight idempotency reservations. */
export interface OapLeaseConfig {
  /** Task lease (default 30 000): a task of a dead node is failed by another node this long after its last renewal. */
  readonly taskMs?: number;
  /** In-flight idempotency lease (default 30 000): a retry may take over a dead node's reservation this long after its last renewal. */
  readonly idempotencyMs?: number;
}

function parseLeases(value: unknown, bad: (m: string) => never): OapLeaseConfig {
  if (!isJsonObject(value as JsonValue)) return bad("leases must be an object");
  const out: { taskMs?: number; idempotencyMs?: number } = {};
  for (const [k, v] of Object.entries(value as JsonObject)) {
    if (k !== "taskMs" && k !== "idempotencyMs") bad(`leases: unknown member ${JSON.stringify(k)}`);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 30 || v > 86_400_000) bad(`leases.${k} must be an integer 30..86400000 (ms)`);
    out[k as "taskMs" | "idempotencyMs"] = v as number;
  }
  return out;
}

/** The `oap` member of the node config. */
export interface OapNodeConfig {
  readonly apiKeys?: readonly ConfiguredApiKey[];
  readonly commerce?: OapCommerceConfig;
  /** Lease lengths (docs/scale-out.md "Leases"). */
  readonly leases?: OapLeaseConfig;
  /**
   * Where §7 action rate limits are counted: `shared` (default) through the node's store when it
   * offers a shared limiter (PostgreSQL: `rpm` across every node of the database), `node` in this
   * process only (a cluster of N nodes then allows N × `rpm`).
   */
  readonly rateLimits?: "shared" | "node";
}

const AMOUNT = /^\d+(\.\d+)?$/;

function parseCommerce(value: unknown, bad: (m: string) => never): OapCommerceConfig {
  if (!isJsonObject(value as JsonValue)) return bad("commerce must be an object");
  const c = value as JsonObject;
  for (const k of Object.keys(c)) if (!["wallet", "walletPath", "holdSeconds", "fund"].includes(k)) bad(`commerce: unknown member ${JSON.stringify(k)}`);
  if (typeof c["wallet"] !== "boolean") bad("commerce.wallet must be true or false");
  if (c["walletPath"] !== undefined && (typeof c["walletPath"] !== "string" || c["walletPath"] === "")) bad("commerce.walletPath must be a non-empty string");
  const hs = c["holdSeconds"];
  if (hs !== undefined && (typeof hs !== "number" || !Number.isInteger(hs) || hs < 1 || hs > 7 * 86_400)) bad("commerce.holdSeconds must be an integer 1..604800");
  let fund: ConfiguredFunding[] | undefined;
  if (c["fund"] !== undefined) {
    if (!Array.isArray(c["fund"])) bad("commerce.fund must be an array");
    if (c["wallet"] !== true) bad("commerce.fund needs commerce.wallet: true");
    fund = (c["fund"] as JsonValue[]).map((f, i): ConfiguredFunding => {
      if (!isJsonObject(f)) return bad(`commerce.fund[${i}] must be an object`);
      for (const m of Object.keys(f)) if (!["principal_did", "wallet_did", "amount", "currency"].includes(m)) bad(`commerce.fund[${i}]: unknown member ${m}`);
      if (typeof f["principal_did"] !== "string" || !f["principal_did"].startsWith("did:")) bad(`commerce.fund[${i}].principal_did must be a DID`);
      if (f["wallet_did"] !== undefined && typeof f["wallet_did"] !== "string") bad(`commerce.fund[${i}].wallet_did must be a string`);
      if (typeof f["amount"] !== "string" || !AMOUNT.test(f["amount"])) bad(`commerce.fund[${i}].amount must be a decimal string`);
      if (typeof f["currency"] !== "string" || !/^[A-Z]{3}$/.test(f["currency"])) bad(`commerce.fund[${i}].currency must be an ISO 4217 code`);
      return f as unknown as ConfiguredFunding;
    });
  }
  return { wallet: c["wallet"] as boolean, ...(c["walletPath"] === undefined ? {} : { walletPath: c["walletPath"] as string }), ...(hs === undefined ? {} : { holdSeconds: hs as number }), ...(fund === undefined ? {} : { fund }) };
}

/** Parses the `oap` config member strictly. */
export function parseOapNodeConfig(value: unknown): OapNodeConfig {
  const bad = (m: string): never => {
    throw new OapError("ERR_OAP_INPUT_INVALID", `config oap: ${m}`);
  };
  if (!isJsonObject(value as JsonValue)) return bad("must be an object");
  const v = value as JsonObject;
  for (const k of Object.keys(v)) if (k !== "apiKeys" && k !== "commerce" && k !== "rateLimits" && k !== "leases") bad(`unknown member ${JSON.stringify(k)}`);
  const leases = v["leases"] === undefined ? {} : { leases: parseLeases(v["leases"], bad) };
  const rl = v["rateLimits"];
  if (rl !== undefined && rl !== "shared" && rl !== "node") bad("rateLimits must be \"shared\" or \"node\"");
  const commerce = { ...(v["commerce"] === undefined ? {} : { commerce: parseCommerce(v["commerce"], bad) }), ...(rl === undefined ? {} : { rateLimits: rl as "shared" | "node" }), ...leases };
  if (v["apiKeys"] === undefined) return commerce;
  if (!Array.isArray(v["apiKeys"])) return bad("apiKeys must be an array");
  const keys = v["apiKeys"].map((k, i): ConfiguredApiKey => {
    if (!isJsonObject(k) || typeof k["id"] !== "string") return bad(`apiKeys[${i}] needs an id`);
    if (typeof k["key"] !== "string" && (typeof k["sha256"] !== "string" || !/^[0-9a-f]{64}$/.test(k["sha256"]))) bad(`apiKeys[${i}] needs key or sha256 (64 hex digits)`);
    for (const m of Object.keys(k)) if (!["id", "key", "sha256", "principal_did", "actions", "scopes", "revoked", "expires_at"].includes(m)) bad(`apiKeys[${i}]: unknown member ${m}`);
    return k as unknown as ConfiguredApiKey;
  });
  return { apiKeys: keys, ...commerce };
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
  /** Opens the wallet store when `config.commerce.wallet` (default: SQLite `DIR/wallet.sqlite`); PostgreSQL with `--store postgres://…`. */
  readonly openWalletStore?: () => WalletStore | Promise<WalletStore>;
  /** The §7 rate limiter of a tool (default: in memory per tool); PostgreSQL with `--store postgres://…` (rpm shared by the nodes). Ignored with `config.rateLimits: "node"`. */
  readonly openRateLimiter?: (toolId: string) => OapRateLimiter;
  /** This node's id, owner of its leases (default `<host>/<pid>/<12 hex>`, new at every start). */
  readonly nodeId?: string;
  /** Transparency logs every tool anchors its receipts in (§19.3): the node's own log (`tlog` config). */
  readonly logs?: readonly AsyncTransparencyLog[];
}

/** Tools hosted by a node. */
export interface OapNodeHost {
  readonly servers: readonly OapToolServer[];
  /** This node's id (owner of its task and idempotency leases). */
  readonly nodeId: string;
  /** The node's wallet (`oap.commerce.wallet`). */
  readonly wallet: Wallet | undefined;
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
  const cc = options.config?.commerce;
  const leases = options.config?.leases;
  const nodeId = options.nodeId ?? `${hostname()}/${process.pid}/${randomBytes(6).toString("hex")}`;
  let walletStore: WalletStore | undefined;
  let wallet: Wallet | undefined;
  const closeWallet = async (): Promise<void> => {
    await (walletStore?.close?.() as Promise<void> | void);
  };
  try {
    if (cc?.wallet === true) {
      walletStore = options.openWalletStore !== undefined ? await options.openWalletStore() : new SqliteWalletStore(resolve(options.dataDir, cc.walletPath ?? "wallet.sqlite"));
      wallet = new Wallet({ providerDid: options.did, signer: { key: options.key, kid: `${options.did}#${options.key.kid}` }, store: walletStore, ...(cc.holdSeconds === undefined ? {} : { defaultHoldSeconds: cc.holdSeconds }) });
      for (const f of cc.fund ?? []) await fundWallet(wallet, f, options.log);
    }
    for (const [i, tool] of options.tools.entries()) {
      const id = tool.manifest.tool.id;
      const primary = i === 0;
      const did = primary ? options.did : `${options.did}:tools:${id}`;
      const rateLimiter = options.config?.rateLimits === "node" ? undefined : options.openRateLimiter?.(id);
      const server = new OapToolServer({
        tool,
        did,
        signer: { key: options.key, kid: `${did}#${options.key.kid}` },
        baseUrl: options.baseUrl,
        basePath: primary ? "" : `/tools/${id}`,
        store: options.openStore === undefined ? new SqliteOapStore(join(options.dataDir, `oap-${id}.sqlite`)) : await options.openStore(id),
        ...(wallet === undefined ? {} : { commerce: { ...(tool.commerce ?? {}), wallet } }),
        // A store shared with other nodes holds their running tasks too: fail only those whose lease expired.
        recoverOpenTasks: options.openStore === undefined,
        nodeId,
        ...(leases?.taskMs === undefined ? {} : { taskLeaseMs: leases.taskMs }),
        ...(leases?.idempotencyMs === undefined ? {} : { idempotencyLeaseMs: leases.idempotencyMs }),
        ...(rateLimiter === undefined ? {} : { rateLimiter }),
        ...(options.logs === undefined || options.logs.length === 0 ? {} : { logs: options.logs }),
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
    await closeWallet();
    throw e;
  }
  const routes = oapToolServiceRoutes(servers);
  const connect = connectNodeAdapter({ routes });
  return {
    servers,
    nodeId,
    wallet,
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
      await closeWallet();
    },
  };
}

/** Opens and credits a configured wallet once (a replayed credit is a no-op; a changed amount is logged, not applied). */
async function fundWallet(wallet: Wallet, f: ConfiguredFunding, log: ((event: OapLogEvent) => void) | undefined): Promise<void> {
  const walletDid = (await wallet.walletOf(f.principal_did)) ?? f.wallet_did ?? `urn:oap:wallet:${f.principal_did}`;
  if ((await wallet.walletOf(f.principal_did)) === undefined) {
    try {
      await wallet.open(walletDid, f.principal_did);
    } catch (e) {
      // Another node on the same database opened it first.
      if (!(e instanceof OapError && e.code === "ERR_OAP_CONFLICT")) throw e;
    }
  }
  try {
    await wallet.credit(walletDid, { amount: f.amount, currency: f.currency, memo: "agentwire serve: oap.commerce.fund", idempotency_key: `agentwire-serve-fund:${f.currency}` });
  } catch (e) {
    if (!(e instanceof OapError && e.code === "ERR_OAP_IDEMPOTENCY_MISMATCH")) throw e;
    log?.({ at: new Date().toISOString(), event: "oap.wallet-fund-changed", principal_did: f.principal_did, message: "the wallet was funded with another amount before; not credited again" });
  }
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
