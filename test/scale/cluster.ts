/**
 * Helpers for the scale-out tests: `agentwire serve` child processes (dist/src/cli/bin.js) with
 * a chosen store, a shared identity and key file, and an in-process sender node with a
 * retrying transport (the same envelope is re-sent until a node answers, which is safe because
 * receivers are idempotent by envelope id).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { httpsTransport } from "../../src/ohp/bindings/https.js";
import { OhpNode, type NodeIdentity, type OhpTransport, type PeerRef } from "../../src/ohp/control/node.js";
import { MemoryHandoffStore, type HandoffStore } from "../../src/ohp/control/store.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { spawnServe, stopSpawned, type SpawnServeOptions, type SpawnedNode } from "../../src/node/spawn.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { freePort } from "../../src/util/http.js";

export { freePort };
import { startTestPostgres, type TestPostgres } from "../store/postgres-server.js";

/** The CLI under test (`AGENTWIRE_BIN` overrides it, e.g. a build from a clean checkout). */
export const BIN = process.env["AGENTWIRE_BIN"] ?? join(REPO_DIR, "dist", "src", "cli", "bin.js");


/** A sender identity with deterministic keys. */
export interface SenderParty {
  readonly identity: NodeIdentity;
  readonly keys: readonly PrivateKeyRecord[];
}

export function senderParty(seedBase: number, name: string): SenderParty {
  const seed = (n: number) => new Uint8Array(32).fill(n);
  return {
    identity: { vendor: `${name}-vendor`, agentId: `${name}-1`, region: "uk-west", did: `did:web:${name}.example` },
    keys: [keyPairFromSeed(ALG_EDDSA, seed(seedBase)), keyPairFromSeed(ALG_MLDSA65, seed(seedBase + 1)), keyPairFromSeed(ALG_HPKE_X25519, seed(seedBase + 2))],
  };
}

/** The cluster's shared identity (all nodes behind one name hold the same keys). */
export const CLUSTER_IDENTITY = { vendor: "contact-centre", agentId: "queue-1", region: "uk-south", did: "did:web:cc.example" } as const;

/**
 * Prepares `count` data directories holding the same private key file (generated once in the
 * first) and one config file trusting `senders`; returns their paths.
 */
export async function prepareCluster(dir: string, count: number, senders: readonly SenderParty[], policy: JsonObject = {}): Promise<{ dataDirs: string[]; config: string }> {
  const dataDirs = Array.from({ length: count }, (_, i) => join(dir, `node-${i + 1}`));
  await loadOrCreateKeys(dataDirs[0]!);
  for (const d of dataDirs.slice(1)) {
    mkdirSync(join(d, "keys"), { recursive: true, mode: 0o700 });
    copyFileSync(join(dataDirs[0]!, "keys", "private.jwks.json"), join(d, "keys", "private.jwks.json"));
  }
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      identity: CLUSTER_IDENTITY,
      trustLocalhostDidWeb: false,
      policy: { annexIIIAllowed: ["5(b)", "5(c)", "5(d)"], ...policy },
      trust: senders.map((s) => ({ did: s.identity.did, jwks: publicJwks([...s.keys]) })),
    }),
  );
  return { dataDirs, config };
}

/** A running `agentwire serve`. */
export type Served = SpawnedNode;

/** Spawns `agentwire serve` (the CLI under test) and resolves on its `listening` line. */
export function serve(options: Omit<SpawnServeOptions, "bin">): Promise<Served> {
  return spawnServe({ bin: BIN, ...options });
}

/** SIGKILLs a node and waits for it to be gone. */
export function kill9(s: Served): Promise<void> {
  return stopSpawned(s, "SIGKILL");
}

/** SIGTERM and wait (graceful). */
export function stop(s: Served): Promise<void> {
  return stopSpawned(s);
}

/** Counts what the retrying transport did. */
export interface RetryStats {
  sends: number;
  retries: number;
}

/**
 * Wraps a transport: on any failure (connection refused or reset, a node killed mid-request)
 * the SAME envelope is sent again, every `delayMs`, until `deadlineMs` has passed.
 */
export function retryingTransport(inner: OhpTransport, options: { deadlineMs?: number; delayMs?: number; stats?: RetryStats } = {}): OhpTransport {
  return {
    async send(peer: PeerRef, envelope: JsonObject, extra: { readonly dpop?: string }): Promise<JsonObject | undefined> {
      const until = Date.now() + (options.deadlineMs ?? 8_000);
      for (;;) {
        if (options.stats) options.stats.sends++;
        try {
          return await inner.send(peer, envelope, extra);
        } catch (e) {
          if (Date.now() > until) throw e;
          if (options.stats) options.stats.retries++;
          await new Promise((r) => setTimeout(r, options.delayMs ?? 50));
        }
      }
    },
  };
}

/** An in-process sender node (memory store) speaking ohp/https through `transport`. */
export function senderNode(party: SenderParty, transport: OhpTransport = httpsTransport({ timeoutMs: 5_000 }), store: HandoffStore = new MemoryHandoffStore()): OhpNode {
  return new OhpNode({
    identity: party.identity,
    signingKeys: party.keys.filter((k) => k.use === "sig"),
    encryptionKeys: party.keys.filter((k) => k.use === "enc"),
    store,
    transports: { "ohp/https": transport },
  });
}

/** What {@link postgresCluster} sets up before a file's tests (read the fields inside tests). */
export interface PostgresCluster {
  /** The file's temp directory (data directories, config, whatever the tests write). */
  readonly dir: string;
  server: TestPostgres;
  /** The database URL the nodes share. */
  url: string;
  /** A small pool for reading the database directly. */
  db: pg.Pool;
  cluster: { dataDirs: string[]; config: string };
  /** The running nodes; replace an entry after a restart: every entry is stopped after the file. */
  nodes: Served[];
}

/** Options of {@link postgresCluster}. */
export interface PostgresClusterOptions {
  /** Data directories prepared (one identity, one key file). Default 2. */
  readonly count?: number;
  /** Nodes started before the tests (the first ones, all at once). Default `count`. */
  readonly start?: number;
  readonly senders?: readonly SenderParty[];
  readonly policy?: JsonObject;
  /** Members merged into the cluster config file (e.g. `{"tlog": {…}}`). */
  readonly config?: JsonObject;
  /** Extra `serve` arguments, given the temp directory (e.g. a tool module written there). */
  readonly serveArgs?: (dir: string) => readonly string[];
}

/**
 * Inside a `describe`: a throwaway PostgreSQL database and `start` `agentwire serve` processes on
 * it before the tests (started at once, so their migrations race), all torn down after them.
 */
export function postgresCluster(prefix: string, options: PostgresClusterOptions = {}): PostgresCluster {
  const c = { dir: mkdtempSync(join(tmpdir(), `agentwire-${prefix}-`)), nodes: [] as Served[] } as PostgresCluster;
  beforeAll(async () => {
    c.server = await startTestPostgres();
    c.url = await c.server.createDatabase();
    c.db = new pg.Pool({ connectionString: c.url, max: 2 });
    c.cluster = await prepareCluster(c.dir, options.count ?? 2, options.senders ?? [], options.policy ?? {});
    if (options.config !== undefined) {
      const base = JSON.parse(readFileSync(c.cluster.config, "utf8")) as JsonObject;
      writeFileSync(c.cluster.config, JSON.stringify({ ...base, ...options.config }));
    }
    const args = options.serveArgs?.(c.dir) ?? [];
    const dirs = c.cluster.dataDirs.slice(0, options.start ?? c.cluster.dataDirs.length);
    c.nodes = await Promise.all(dirs.map((data) => serve({ data, config: c.cluster.config, store: c.url, args })));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(c.nodes.map((n) => stop(n)));
    await c.db?.end();
    await c.server?.stop();
    rmSync(c.dir, { recursive: true, force: true });
  });
  return c;
}

/**
 * Writes a tool module for the built CLI (`serve --oap-tool FILE`) into `dir`: the weather
 * manifest's get_forecast as tool `id`, with `actionPatch` merged into the action (e.g. a
 * `rate_limit`) and `delayMs` of work before its fixed forecast. Returns the file's path.
 */
export function weatherToolModule(dir: string, options: { readonly id: string; readonly actionPatch?: JsonObject; readonly delayMs?: number }): string {
  const dist = dirname(dirname(BIN)); // dist/src
  const path = join(dir, `${options.id}.mjs`);
  writeFileSync(
    path,
    `import { defineTool } from ${JSON.stringify(pathToFileURL(join(dist, "oap", "server", "tool.js")).href)};
import { WEATHER_MANIFEST } from ${JSON.stringify(pathToFileURL(join(dist, "oap", "tools", "weather.js")).href)};
const action = WEATHER_MANIFEST.actions.find((a) => a.id === "get_forecast");
export default defineTool({
  manifest: { ...WEATHER_MANIFEST, tool: { ...WEATHER_MANIFEST.tool, id: ${JSON.stringify(options.id)}, name: ${JSON.stringify(options.id)} }, actions: [{ ...action, ...${JSON.stringify(options.actionPatch ?? {})} }] },
  actions: {
    get_forecast: async () => {
      await new Promise((r) => setTimeout(r, ${options.delayMs ?? 0}));
      return { forecast: [{ date: "2026-05-03", temperature_c_min: 9, temperature_c_max: 17, precipitation_mm: 0, summary: "Clear" }] };
    },
  },
});
`,
  );
  return path;
}
