/**
 * `agentwire demo cluster`: two `agentwire serve` processes sharing one PostgreSQL database, and
 * what a cluster has to get right, shown step by step:
 *
 * 1. a throwaway PostgreSQL from Debian's binaries (initdb / pg_ctl into a temp directory on
 *    loopback; src/store/local-postgres.ts), unless a `postgres://` URL is given;
 * 2. two nodes with one identity and key file (`--store` that database, a hosted transparency
 *    log, the weather Tool), started at once so their schema migrations race;
 * 3. OHP: a Signed PROPOSE accepted by node 1; the same envelope retransmitted to node 2 gets node
 *    1's answer, and a different envelope reusing its `(id, nonce)` is rejected by node 2 as a
 *    replay (the shared replay store);
 * 4. OAP: a `climate_report` task created on node 1 is polled to completion on node 2, and the
 *    exact request replayed on node 2 is refused (shared nonces);
 * 5. OAP: concurrent invocations for one Principal split across both nodes leave ONE linear
 *    receipt chain (`seq` 1..n, verified with the cluster key), every receipt anchored in the
 *    ONE transparency log both nodes serve (same signed checkpoint on both).
 *
 * Everything is torn down at the end.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { baseEnvelope } from "../conformance/templates.js";
import { builderInputOf } from "../conformance/world.js";
import { ALG_EDDSA } from "../crypto/jwk.js";
import { exportPublicJwk, keyPairFromSeed, publicJwks, publicKeyFor, type PrivateKeyRecord } from "../crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { loadOrCreateKeys } from "../node/node.js";
import { spawnServe, stopSpawned, type SpawnedNode } from "../node/spawn.js";
import { verifyReceiptChain } from "../oap/receipts.js";
import { signCallerRequest } from "../oap/server/caller-auth.js";
import { oapRequestHeaders, signRequest, type OapSigner } from "../oap/sign.js";
import { oapUlid } from "../oap/util.js";
import { buildEnvelope } from "../ohp/builder.js";
import { discoverPeer, httpsTransport } from "../ohp/bindings/https.js";
import { startLocalPostgres, type LocalPostgres } from "../store/local-postgres.js";
import { didKeyFromPublicKey } from "../trust/did/did-key.js";
import { TlogClient } from "../trust/tlog/client.js";

/** Options of {@link runClusterDemo}. */
export interface ClusterDemoOptions {
  /** A PostgreSQL database to use (default: a throwaway local server). */
  readonly store?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** The CLI to spawn (default: this package's bin.js). */
  readonly bin?: string;
}

/** One checked step. */
export interface ClusterDemoStep {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What {@link runClusterDemo} found. */
export interface ClusterDemoReport {
  readonly ok: boolean;
  readonly steps: readonly ClusterDemoStep[];
}

const CLUSTER_DID = "did:web:cc.cluster-demo.example";
const SENDER_DID = "did:web:ivr.cluster-demo.example";
const LOG_ORIGIN = "log.cluster-demo.example";
const CONTEXT = { locale: "en-GB", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" };

function defaultBin(): string {
  return fileURLToPath(new URL("../cli/bin.js", import.meta.url));
}

/** A did:key identity and its OAP signer. */
function didKeyParty(): { did: string; signer: OapSigner } {
  const seed = new Uint8Array(randomBytes(32));
  const did = didKeyFromPublicKey(keyPairFromSeed(ALG_EDDSA, seed).publicJwk);
  return { did, signer: { key: keyPairFromSeed(ALG_EDDSA, seed, { kid: `${did}#${did.slice("did:key:".length)}` }) } };
}

/** A deterministic random source, so two builds can share an envelope id and nonce. */
function seededRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) out.set(createHash("sha256").update(`${seed}/${counter++}`).digest().subarray(0, Math.min(32, n - off)), off);
    return out;
  };
}

async function postJson(url: string, body: JsonObject, headers: Record<string, string>): Promise<{ status: number; body: JsonObject }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const parsed = JSON.parse((await res.text()) || "{}") as JsonValue;
  return { status: res.status, body: isJsonObject(parsed) ? parsed : {} };
}

function oapHeaders(env: JsonObject): Record<string, string> {
  return { "content-type": "application/oap+json", ...oapRequestHeaders(env) };
}

function controlOf(answer: JsonObject | undefined): JsonObject {
  return isJsonObject(answer?.["control"]) ? answer["control"] : {};
}

/** Runs the demo (see the module comment); never throws for a failed check, only reports it. */
export async function runClusterDemo(options: ClusterDemoOptions = {}): Promise<ClusterDemoReport> {
  const say = options.log ?? (() => undefined);
  const steps: ClusterDemoStep[] = [];
  const step = (name: string, ok: boolean, detail: string): void => {
    steps.push({ name, ok, detail });
    say(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
  };
  const dir = mkdtempSync(join(tmpdir(), "agentwire-cluster-demo-"));
  let server: LocalPostgres | undefined;
  const nodes: SpawnedNode[] = [];
  let db: pg.Pool | undefined;
  try {
    let url = options.store;
    if (url === undefined) {
      server = await startLocalPostgres();
      url = await server.createDatabase("agentwire_cluster_demo");
      step("PostgreSQL", true, `throwaway server from ${server.dir} on 127.0.0.1:${server.port} (initdb + pg_ctl, loopback only)`);
    } else step("PostgreSQL", true, "the given database");
    db = new pg.Pool({ connectionString: url, max: 2 });

    // One identity, one key file, one config for both nodes.
    const dataDirs = [join(dir, "node-1"), join(dir, "node-2")];
    const { keys } = await loadOrCreateKeys(dataDirs[0] as string);
    mkdirSync(join(dataDirs[1] as string, "keys"), { recursive: true, mode: 0o700 });
    copyFileSync(join(dataDirs[0] as string, "keys", "private.jwks.json"), join(dataDirs[1] as string, "keys", "private.jwks.json"));
    const senderKey: PrivateKeyRecord = keyPairFromSeed(ALG_EDDSA, new Uint8Array(randomBytes(32)));
    const config = join(dir, "cluster.json");
    writeFileSync(
      config,
      JSON.stringify({
        identity: { vendor: "contact-centre", agentId: "queue-1", region: "local", did: CLUSTER_DID },
        trustLocalhostDidWeb: false,
        trust: [{ did: SENDER_DID, jwks: publicJwks([senderKey]) }],
        tlog: { origin: LOG_ORIGIN },
      }),
    );
    const bin = options.bin ?? defaultBin();
    nodes.push(...(await Promise.all(dataDirs.map((data) => spawnServe({ bin, data, config, store: url as string })))));
    const [n1, n2] = nodes as [SpawnedNode, SpawnedNode];
    const applied = nodes.flatMap((n) => (Array.isArray(n.listening["migrationsApplied"]) ? (n.listening["migrationsApplied"] as number[]) : []));
    step("two nodes", applied.length === new Set(applied).size, `${n1.url} and ${n2.url}, one DID ${CLUSTER_DID}; schema migrations ${applied.sort((a, b) => a - b).join(", ")} applied once between them`);

    // OHP: retransmission answered from the shared record; (id, nonce) reuse refused as a replay.
    const p1 = await discoverPeer(n1.url, "ohp/https", { cache: new Map() });
    const p2 = await discoverPeer(n2.url, "ohp/https", { cache: new Map() });
    const input = builderInputOf(baseEnvelope("signed"));
    const issuer = { ...input.issuer, vendor: "ivr-vendor", agentId: "ivr-1", did: SENDER_DID };
    const now = new Date();
    const build = async (summary: string): Promise<JsonObject> =>
      (
        await buildEnvelope(
          { ...input, issuer, transcript: { ...(input.transcript ?? {}), summary } as typeof input.transcript },
          { keys: [senderKey], anchor: false, random: seededRandom("cluster-demo"), now: () => now },
        )
      ).envelope;
    const propose = await build("Caller asks to move a delivery slot.");
    const https = httpsTransport({ timeoutMs: 10_000 });
    const a1 = await https.send(p1, propose, {});
    const a2 = await https.send(p2, propose, {});
    const twin = await build("Caller asks for a refund instead.");
    const a3 = await https.send(p2, twin, {});
    const replayText = String((isJsonObject(a3?.["transcript"]) ? a3["transcript"]["summary"] : "") ?? "");
    step(
      "OHP replay across nodes",
      controlOf(a1)["verb"] === "ACCEPT" && JSON.stringify(a2) === JSON.stringify(a1) && controlOf(a3)["verb"] === "REJECT" && /already received/.test(replayText),
      `PROPOSE ${String(propose["id"])} → node 1 ${String(controlOf(a1)["verb"])}; the same envelope to node 2 → node 1's answer (${JSON.stringify(a2) === JSON.stringify(a1) ? "identical" : "DIFFERENT"}); a re-signed envelope with the same (id, nonce) to node 2 → ${String(controlOf(a3)["verb"])} (${replayText})`,
    );

    // OAP: a task created on node 1, served by node 2; a replayed request refused on node 2.
    const agent = didKeyParty();
    const principal = didKeyParty();
    const envelope = (overrides: JsonObject): JsonObject =>
      signRequest(
        { oap_version: "1.0", request_id: oapUlid(Date.now()), timestamp: new Date().toISOString(), principal_did: principal.did, agent_did: agent.did, action: "get_forecast", input: { location: "Berlin", days: 2 }, context: CONTEXT, ...overrides },
        agent.signer,
      ) as unknown as JsonObject;
    const taskEnv = envelope({ action: "climate_report", input: { location: "Vienna", from_year: 2001, to_year: 2003 } });
    const created = await postJson(`${n1.url}/oap/invoke`, taskEnv, oapHeaders(taskEnv));
    const taskId = String(created.body["task_id"] ?? "").replace(/^urn:oap:task:/, "");
    let task: JsonObject = {};
    for (let i = 0; i < 400 && task["status"] !== "completed" && task["status"] !== "failed"; i++) {
      const u = `${n2.url}/oap/tasks/${taskId}`;
      const res = await fetch(u, { headers: signCallerRequest({ method: "GET", url: u }, agent.signer) });
      task = (await res.json()) as JsonObject;
      if (task["status"] !== "completed") await new Promise((r) => setTimeout(r, 25));
    }
    const replay = await postJson(`${n2.url}/oap/invoke`, taskEnv, oapHeaders(taskEnv));
    step(
      "OAP task across nodes",
      created.status === 202 && task["status"] === "completed" && replay.status === 409,
      `climate_report accepted by node 1 (${created.status}, task ${taskId}), polled on node 2 → ${String(task["status"])}; the same request replayed on node 2 → ${replay.status}`,
    );

    // OAP: one linear chain under concurrent invocations on both nodes, anchored in one log.
    const answers: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = next++; i < 24; i = next++) {
          const env = envelope({ idempotency_key: `cluster-demo-${i}`, input: { location: "Leeds", days: 1 + (i % 5) } });
          answers.push((await postJson(`${(w % 2 === 0 ? n1 : n2).url}/oap/invoke`, env, oapHeaders(env))).status);
        }
      }),
    );
    const rows = (await db.query<{ receipt: string; seq: string }>("SELECT receipt, seq FROM oap_receipts WHERE principal = $1 ORDER BY seq", [principal.did])).rows;
    const chain = rows.map((r) => JSON.parse(r.receipt) as JsonObject);
    const clusterKey = publicKeyFor(exportPublicJwk(keys.find((k) => k.alg === ALG_EDDSA) as PrivateKeyRecord));
    const vkey = String(n1.listening["tlogVerifierKey"]);
    const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_DID}#`) ? clusterKey : undefined) }, logKeys: [vkey], minAnchors: 1 });
    const linear = rows.every((r, i) => Number(r.seq) === i + 1);
    step(
      "OAP receipt chain",
      answers.length === 24 && answers.every((s) => s === 200) && linear && report.ok && report.anchorsVerified === chain.length,
      `24 invocations, 8 in flight split across both nodes: ${answers.filter((s) => s === 200).length} × 200; ${chain.length} receipts (with the task's) in one chain, seq 1..${rows.length}${linear ? "" : " (NOT linear)"}, signatures ${report.signaturesVerified ? "verified" : "unchecked"}, ${report.anchorsVerified} anchors verified`,
    );

    const clients = nodes.map((n) => new TlogClient(`${n.url}/tlog`, { verifiers: [vkey], origin: LOG_ORIGIN }));
    const [c1, c2] = await Promise.all(clients.map((c) => c.checkpoint()));
    step("one transparency log", c1 !== undefined && c2 !== undefined && c1.note === c2.note && c1.size === chain.length, `${LOG_ORIGIN}: both nodes serve the same signed checkpoint (size ${String(c1?.size)})`);
  } catch (e) {
    step("demo", false, (e as Error).message);
  } finally {
    await Promise.all(nodes.map((n) => stopSpawned(n)));
    await db?.end();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok: steps.length > 0 && steps.every((s) => s.ok), steps };
}
