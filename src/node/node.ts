/**
 * `agentwire serve`: a local agentwire node. One data directory holds its keys (generated on
 * first start, `keys/private.jwks.json` mode 0600) and its embedded store (`ohp.sqlite`); the
 * node serves every OHP binding on loopback, the well-known documents and a `did:web` document,
 * logs JSON lines, and shuts down gracefully.
 *
 * Identity: `did:web:localhost%3A<port>` unless configured, so peers on the same machine
 * resolve each other's keys the did:web way (`/.well-known/ohp-jwks.json`, plain http allowed
 * for localhost only). Other issuers are trusted through `trust` in the config file.
 *
 * With `tlog` in the config the node also hosts a transparency log under /tlog/v1
 * (./tlog-host.ts), in which its OAP tools anchor their receipts.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Server } from "node:http";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65, type Jwks, type PublicJwk } from "../crypto/jwk.js";
import { generateKeyPair, parseJwks, parsePrivateJwks, privateJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { grpcTransport } from "../ohp/bindings/grpc.js";
import { httpsTransport } from "../ohp/bindings/https.js";
import { attachOhpWsServer, type OhpWsServer } from "../ohp/bindings/ws/server.js";
import { wsTransport } from "../ohp/bindings/ws/transport.js";
import { SipInfoEndpoint } from "../ohp/bindings/sip-info/endpoint.js";
import { sipInfoTransport } from "../ohp/bindings/sip-info/transport.js";
import type { OhpBindingName } from "../ohp/bindings/types.js";
import { OhpNode, type HandoffDecision, type NodeIdentity, type NodeLogEvent, type OhpTransport } from "../ohp/control/node.js";
import type { HandoffStore } from "../ohp/control/store.js";
import { parseReceiverPolicy, type ReceiverPolicy } from "../ohp/policy.js";
import { openHandoffStore } from "../store/index.js";
import { WebIssuerKeySource } from "../trust/did/issuer-keys.js";
import { inspectorRoutes } from "../inspector/index.js";
import { NodeMetrics } from "./metrics.js";
import { NodeConfigError } from "./errors.js";
import { parseNodeTlogConfig, startNodeTlog, type NodeTlogConfig, type NodeTlogHost } from "./tlog-host.js";
import { parseOapNodeConfig, startOapNodeHost, type OapNodeConfig, type OapNodeHost } from "../oap/server/node-host.js";
import type { OapToolDefinition } from "../oap/server/tool.js";
import { startOhpServers, type RunningOhpServers } from "./server.js";

export { NodeConfigError };

/** The config file (`--config FILE`), every member optional. */
export interface NodeConfig {
  readonly identity?: Partial<NodeIdentity>;
  readonly host?: string;
  readonly port?: number;
  readonly grpcPort?: number | false;
  /** UDP port of the ohp/sip-info endpoint (default any free port). */
  readonly sipPort?: number;
  readonly policy?: ReceiverPolicy;
  /** Issuers trusted as senders: `{did, jwks}` with an inline JWKS or a file path. */
  readonly trust?: readonly { readonly did: string; readonly jwks: JsonValue }[];
  /** Resolve `did:web:localhost…` issuers over plain http (local demos). Default true. */
  readonly trustLocalhostDidWeb?: boolean;
  /** Reject PROPOSEs for these purposes (a stand-in for application logic). */
  readonly rejectPurposes?: readonly string[];
  /** OAP hosting settings (`{"apiKeys": [{id, key | sha256, principal_did, ...}]}`). */
  readonly oap?: OapNodeConfig;
  /** AI systems this node operates (`/.well-known/ohp-ai-systems.json` entries); not served when absent. */
  readonly aiSystems?: readonly JsonObject[];
  /** A transparency log this node hosts under /tlog/v1 (`{"origin": "log.example.com", "anchorOap": true}`); shared by all nodes on PostgreSQL. */
  readonly tlog?: NodeTlogConfig;
}

/** Parses a config document strictly (unknown members are errors). */
export async function parseNodeConfig(value: unknown, baseDir: string): Promise<NodeConfig> {
  const bad = (m: string): never => {
    throw new NodeConfigError("ERR_NODE_CONFIG", `config: ${m}`);
  };
  if (!isJsonObject(value as JsonValue)) bad("must be a JSON object");
  const v = value as JsonObject;
  const known = new Set(["identity", "host", "port", "grpcPort", "sipPort", "policy", "trust", "trustLocalhostDidWeb", "rejectPurposes", "aiSystems", "oap", "tlog"]);
  for (const k of Object.keys(v)) if (!known.has(k)) bad(`unknown member ${JSON.stringify(k)}`);
  const out: Record<string, unknown> = {};
  if (v["identity"] !== undefined) {
    if (!isJsonObject(v["identity"])) bad("identity must be an object");
    for (const [k, x] of Object.entries(v["identity"] as JsonObject)) {
      if (!["vendor", "agentId", "region", "did"].includes(k) || typeof x !== "string") bad(`identity.${k} must be one of vendor, agentId, region, did (strings)`);
    }
    out["identity"] = v["identity"];
  }
  for (const k of ["port", "grpcPort", "sipPort"]) {
    const x = v[k];
    if (x === undefined) continue;
    if (k === "grpcPort" && x === false) out[k] = false;
    else if (typeof x === "number" && Number.isInteger(x) && x >= 0 && x < 65536) out[k] = x;
    else bad(`${k} must be a port number`);
  }
  if (v["host"] !== undefined) out["host"] = typeof v["host"] === "string" ? v["host"] : bad("host must be a string");
  if (v["policy"] !== undefined) out["policy"] = parseReceiverPolicy(v["policy"]);
  if (v["trustLocalhostDidWeb"] !== undefined) out["trustLocalhostDidWeb"] = v["trustLocalhostDidWeb"] === true;
  if (v["rejectPurposes"] !== undefined) {
    const r = v["rejectPurposes"];
    if (!Array.isArray(r) || !r.every((x) => typeof x === "string")) bad("rejectPurposes must be an array of strings");
    out["rejectPurposes"] = r;
  }
  if (v["aiSystems"] !== undefined) {
    const a = v["aiSystems"];
    if (!Array.isArray(a) || a.length === 0 || !a.every((x) => isJsonObject(x))) bad("aiSystems must be a non-empty array of objects");
    out["aiSystems"] = a;
  }
  if (v["oap"] !== undefined) {
    try {
      out["oap"] = parseOapNodeConfig(v["oap"]);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  if (v["tlog"] !== undefined) out["tlog"] = parseNodeTlogConfig(v["tlog"]);
  if (v["trust"] !== undefined) {
    if (!Array.isArray(v["trust"])) bad("trust must be an array");
    const trust = [];
    for (const t of v["trust"] as JsonValue[]) {
      if (!isJsonObject(t) || typeof t["did"] !== "string") bad("trust entries need a did");
      const entry = t as JsonObject;
      const jwks = typeof entry["jwks"] === "string" ? parseJsonStrict(await readFile(join(baseDir, entry["jwks"]), "utf8")) : entry["jwks"];
      parseJwks(jwks);
      trust.push({ did: entry["did"] as string, jwks: jwks as JsonValue });
    }
    out["trust"] = trust;
  }
  return out as NodeConfig;
}

/** Loads the node's keys from `dir`, generating Ed25519, ML-DSA-65 and X25519 keys on first start. */
export async function loadOrCreateKeys(dir: string): Promise<{ keys: PrivateKeyRecord[]; created: boolean }> {
  const path = join(dir, "keys", "private.jwks.json");
  try {
    const keys = parsePrivateJwks(parseJsonStrict(await readFile(path, "utf8")));
    return { keys, created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new NodeConfigError("ERR_NODE_KEYS", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  const keys = [generateKeyPair(ALG_EDDSA), generateKeyPair(ALG_MLDSA65), generateKeyPair(ALG_HPKE_X25519)];
  await mkdir(join(dir, "keys"), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(privateJwks(keys), null, 2) + "\n", { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return { keys, created: true };
}

/** Options of {@link startAgentwireNode}. */
export interface AgentwireNodeOptions {
  readonly dataDir: string;
  /**
   * The control-plane store: `postgres://user@host/db` (shared by several nodes; migrated at
   * start), `sqlite:PATH`, or undefined for the embedded DIR/ohp.sqlite. Keys stay in `dataDir`.
   */
  readonly store?: string;
  readonly config?: NodeConfig;
  readonly port?: number;
  readonly grpcPort?: number | false;
  readonly log?: (event: NodeLogEvent) => void;
  /** More transports (ohp/ws, ohp/sip-info) by binding. */
  readonly transports?: Partial<Record<OhpBindingName, OhpTransport>>;
  /** Attach more listeners (ohp/ws upgrades, sip-info endpoint, OAP routes) once the ports are known. */
  readonly attach?: (ctx: { readonly server: Server; readonly endpoints: Record<string, string>; readonly node: OhpNode }) => void | Promise<void>;
  readonly decide?: (envelope: JsonObject) => HandoffDecision | Promise<HandoffDecision>;
  /** TLS 1.3 listeners (PEM); `clientCa` turns on mTLS. */
  readonly tls?: { readonly key: string; readonly cert: string; readonly clientCa?: string };
  /**
   * OAP tools to host (src/oap/server/node-host.ts): the first is the node's own Tool at the
   * root; `compat` relaxes the strict server for the upstream suite. Absent: no OAP.
   */
  readonly oap?: { readonly tools: readonly OapToolDefinition[]; readonly compat?: boolean };
}

/** A running node. */
export interface RunningAgentwireNode {
  readonly node: OhpNode;
  readonly servers: RunningOhpServers;
  readonly store: HandoffStore;
  readonly identity: NodeIdentity;
  readonly did: string;
  /** The hosted OAP tools, when `oap` was given. */
  readonly oap: OapNodeHost | undefined;
  stop(): Promise<void>;
}

/** Starts a node (see the module comment). */
export async function startAgentwireNode(options: AgentwireNodeOptions): Promise<RunningAgentwireNode> {
  const config = options.config ?? {};
  await mkdir(options.dataDir, { recursive: true });
  const { keys, created } = await loadOrCreateKeys(options.dataDir);
  const metrics = new NodeMetrics();
  const sink = options.log ?? (() => undefined);
  const log = (e: NodeLogEvent): void => {
    metrics.observe(e);
    sink(e);
  };
  let ready = false;
  const opened = await openHandoffStore(options.store, {
    dataDir: options.dataDir,
    ...(config.policy?.rateLimit !== undefined ? { rateLimit: config.policy.rateLimit } : {}),
    onError: (e) => log({ at: new Date().toISOString(), event: "store-error", message: e.message }),
  });
  const store = opened.store;
  let tlogHost: NodeTlogHost | undefined;
  if (config.tlog !== undefined) {
    const signing = keys.find((k) => k.use === "sig" && k.alg === ALG_EDDSA);
    try {
      if (signing === undefined) throw new NodeConfigError("ERR_NODE_KEYS", "the transparency log needs an Ed25519 key");
      tlogHost = await startNodeTlog({ config: config.tlog, key: signing, dataDir: options.dataDir, ...(opened.openLogStore === undefined ? {} : { openStore: opened.openLogStore }) });
    } catch (e) {
      await store.close();
      await opened.close();
      throw e;
    }
  }
  const trusted = new Map<string, Jwks<PublicJwk>>((config.trust ?? []).map((t) => [t.did, parseJwks(t.jwks)]));
  const webKeys = new WebIssuerKeySource({ allowInsecureLocalhost: true, resolveDocument: false });
  const reject = new Set(config.rejectPurposes ?? []);
  // The identity needs the port (did:web:localhost%3A<port>): the node object is created with a
  // placeholder and the identity is fixed once the HTTP port is known.
  const identity: { vendor: string; agentId: string; region: string; did: string } = {
    vendor: config.identity?.vendor ?? "agentwire-node",
    agentId: config.identity?.agentId ?? "node-1",
    region: config.identity?.region ?? "local",
    did: config.identity?.did ?? "did:web:localhost",
  };
  const policy: ReceiverPolicy = { annexIIIAllowed: ["5(b)", "5(c)", "5(d)"], ...(config.policy ?? {}) };
  const resolveIssuerKeys =
    config.trustLocalhostDidWeb === false
      ? undefined
      : async (did: string) => (/^did:web:localhost(%3A\d+)?(:|$)/.test(did) ? (await webKeys.keySet(did)).jwks : undefined);
  let nodeRef: OhpNode | undefined;
  const maxTier = config.policy?.maxTier ?? "regulated";
  const ws = wsTransport({ handler: (e, m) => (nodeRef as OhpNode).handle(e, m), tenant: identity.vendor, maxTier });
  let wsServer: OhpWsServer | undefined;
  let sip: SipInfoEndpoint | undefined;
  const node = new OhpNode({
    identity,
    signingKeys: keys.filter((k) => k.use === "sig"),
    encryptionKeys: keys.filter((k) => k.use === "enc"),
    store,
    ...(opened.rateLimiter ? { rateLimiter: opened.rateLimiter } : {}),
    ...(opened.dpopReplayCache ? { dpopReplayCache: opened.dpopReplayCache } : {}),
    trustedIssuers: trusted,
    ...(resolveIssuerKeys ? { resolveIssuerKeys } : {}),
    policy,
    transports: { "ohp/https": httpsTransport(), "ohp/grpc": grpcTransport(), "ohp/ws": ws, "ohp/sip-info": sipInfoTransport(() => {
      if (sip === undefined) throw new NodeConfigError("ERR_NODE_CONFIG", "ohp/sip-info is not running");
      return sip;
    }), ...(options.transports ?? {}) },
    decide: async (env) => {
      const purpose = isJsonObject(env["audience"]) ? String(env["audience"]["purpose"]) : "";
      if (reject.has(purpose)) return { verdict: "reject", reason: "unknown", note: `this node does not take ${purpose}` };
      return options.decide ? options.decide(env) : { verdict: "accept" };
    },
    log,
  });
  nodeRef = node;
  let oapHost: OapNodeHost | undefined;
  const inspector = inspectorRoutes({ node, store, policy, trustedIssuers: trusted, ...(resolveIssuerKeys ? { resolveIssuerKeys } : {}) });
  const servers = await startOhpServers({
    node,
    port: options.port ?? config.port ?? 0,
    grpcPort: options.grpcPort ?? config.grpcPort ?? 0,
    host: config.host ?? "127.0.0.1",
    ...(options.tls ? { tls: options.tls } : {}),
    ...(config.aiSystems
      ? { aiSystems: () => ({ ohp: "0.1", issuer: { did: identity.did, vendor: identity.vendor }, publishedAt: new Date().toISOString(), systems: [...(config.aiSystems ?? [])] }) }
      : {}),
    routes: async (req, res) => {
      if (await inspector.http(req, res)) return true;
      if (tlogHost?.http(req, res) === true) return true;
      if (oapHost !== undefined && (await oapHost.http(req, res))) return true;
      if (req.method === "GET" && req.url === "/.well-known/did.json") {
        const doc = didDocument(identity.did, node.jwks());
        if (oapHost !== undefined) doc["service"] = oapHost.services();
        res.writeHead(200, { "content-type": "application/did+json" });
        res.end(JSON.stringify(doc));
        return true;
      }
      if (req.method === "GET" && req.url === "/metrics") {
        const byState = new Map<string, number>();
        for (const h of await store.list()) byState.set(`${h.role} ${h.state}`, (byState.get(`${h.role} ${h.state}`) ?? 0) + 1);
        const text = metrics.render([
          {
            name: "agentwire_ohp_handoffs",
            help: "Handoffs in the store, by role and state.",
            values: [...byState].map(([k, v]) => [{ role: k.split(" ")[0]!, state: k.split(" ")[1]! }, v]),
          },
        ]);
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(text);
        return true;
      }
      if (req.method === "GET" && req.url === "/readyz") {
        let storeOk = true;
        try {
          await store.get("readiness-probe", "receiver");
        } catch {
          storeOk = false;
        }
        const ok = ready && storeOk;
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ ready: ok, store: storeOk, draining: !ready }));
        return true;
      }
      if (req.method === "GET" && req.url === "/healthz") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: true, store: opened.backend, handoffs: (await store.list()).length }));
        return true;
      }
      return false;
    },
    attach: async (server, endpoints) => {
      wsServer = attachOhpWsServer(server, { handler: node.handle, hello: { maxTier, bindings: ["ohp/ws"], tenant: identity.vendor } });
      const address = server.address();
      if (address !== null && typeof address === "object") endpoints["ohp/ws"] = `${options.tls ? "wss" : "ws"}://${config.host ?? "127.0.0.1"}:${address.port}${wsServer.path}`;
      sip = await SipInfoEndpoint.listen({ handler: node.handle, host: config.host ?? "127.0.0.1", port: config.sipPort ?? 0 });
      endpoints["ohp/sip-info"] = sip.uri;
      if (options.oap !== undefined && address !== null && typeof address === "object") {
        const signing = keys.find((k) => k.use === "sig" && k.alg === ALG_EDDSA);
        if (signing === undefined) throw new NodeConfigError("ERR_NODE_KEYS", "OAP hosting needs an Ed25519 key");
        oapHost = await startOapNodeHost({
          tools: options.oap.tools,
          did: config.identity?.did ?? `did:web:localhost%3A${address.port}`,
          baseUrl: `${options.tls ? "https" : "http"}://${config.host ?? "127.0.0.1"}:${address.port}`,
          key: signing,
          dataDir: options.dataDir,
          ...(options.oap.compat === true ? { compat: true } : {}),
          ...(config.oap === undefined ? {} : { config: config.oap }),
          allowInsecureLocalhostDids: config.trustLocalhostDidWeb !== false,
          log: (e) => log(e as unknown as NodeLogEvent),
          ...(opened.openOapStore === undefined ? {} : { openStore: opened.openOapStore }),
          ...(opened.openWalletStore === undefined ? {} : { openWalletStore: opened.openWalletStore }),
          ...(opened.openOapRateLimiter === undefined ? {} : { openRateLimiter: opened.openOapRateLimiter }),
          ...(tlogHost !== undefined && config.tlog?.anchorOap !== false ? { logs: [tlogHost.log] } : {}),
        });
        endpoints["oap/manifest"] = `${options.tls ? "https" : "http"}://${config.host ?? "127.0.0.1"}:${address.port}/.well-known/oap-tool.json`;
      }
      await options.attach?.({ server, endpoints, node });
    },
  }).catch(async (e: unknown) => {
    await oapHost?.close();
    await tlogHost?.close();
    await store.close();
    await opened.close();
    throw e;
  });
  if (oapHost !== undefined && servers.http2 !== undefined) oapHost.attachH2(servers.http2);
  if (config.identity?.did === undefined) identity.did = `did:web:localhost%3A${new URL(servers.url).port}`;
  const sweeper = setInterval(() => {
    void node.sweep().then(
      (changed) => changed.forEach((r) => log({ at: new Date().toISOString(), event: "timer", handoff: r.id, state: r.state })),
      (e: unknown) => log({ at: new Date().toISOString(), event: "timer-error", message: (e as Error).message }),
    );
  }, 1000);
  sweeper.unref();
  log({ at: new Date().toISOString(), event: "listening", url: servers.url, inspector: `${servers.url}/inspector/`, grpcUrl: servers.grpcUrl ?? null, did: identity.did, keysCreated: created, data: options.dataDir, store: opened.backend, storeLocation: opened.location, ...(opened.migrations ? { migrationsApplied: opened.migrations.applied } : {}), ...(oapHost === undefined ? {} : { oapNodeId: oapHost.nodeId }), ...(tlogHost === undefined ? {} : { tlog: `${servers.url}${tlogHost.path}`, tlogOrigin: tlogHost.origin, tlogVerifierKey: tlogHost.verifierKey }) });
  ready = true;
  let stopped = false;
  return {
    node,
    servers,
    store,
    identity,
    get did() {
      return identity.did;
    },
    get oap() {
      return oapHost;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      clearInterval(sweeper);
      await ws.close();
      await wsServer?.close({ timeoutMs: 1000 });
      await sip?.close();
      inspector.close();
      await servers.close();
      await oapHost?.close();
      await tlogHost?.close();
      await store.close();
      await opened.close();
      log({ at: new Date().toISOString(), event: "stopped" });
    },
  };
}

/** A minimal DID document for a did:web node (keys in JsonWebKey2020 form). */
export function didDocument(did: string, jwks: Jwks<PublicJwk>): JsonObject {
  const methods = jwks.keys.map((k) => {
    const { kid, alg, use: _u, ...rest } = k as unknown as Record<string, JsonValue>;
    // AKP (ML-DSA) JWKs carry their algorithm in `alg` (RFC 9964): without it the key cannot be parsed.
    const publicKeyJwk = rest["kty"] === "AKP" ? { ...rest, alg: alg as JsonValue } : rest;
    return { id: `${did}#${String(kid)}`, type: "JsonWebKey2020", controller: did, publicKeyJwk: publicKeyJwk as JsonObject };
  });
  const signing = jwks.keys.filter((k) => k.use === "sig").map((k) => `${did}#${k.kid}`);
  const enc = jwks.keys.filter((k) => k.use === "enc").map((k) => `${did}#${k.kid}`);
  return {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
    id: did,
    verificationMethod: methods,
    assertionMethod: signing,
    authentication: signing,
    keyAgreement: enc,
  };
}
