/**
 * Loopback load: signed PROPOSEs to an agentwire node over ohp/https and ohp/grpc, with the
 * whole receiver pipeline and the durable SQLite store, against a bare connect-node echo of the
 * same Handoff service measured in the same run. Reports throughput, p50/p99 latency and the
 * heap before/after (a long run's memory should stay flat).
 *
 *   npm run bench -- load            (LOAD_SECONDS, LOAD_CONCURRENCY, LOAD_ROUNDS, LOAD_ROUND_SIZE)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { Handoff } from "../../gen/ohp/v0_1/handoff_pb.js";
import type { Envelope } from "../../gen/ohp/v0_1/envelope_pb.js";
import { builderInputOf } from "../../src/conformance/world.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { buildEnvelope } from "../../src/ohp/builder.js";
import { grpcTransport } from "../../src/ohp/bindings/grpc.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import type { OhpTransport, PeerRef } from "../../src/ohp/control/node.js";
import { envelopeFromJson } from "../../src/ohp/proto-json.js";
import { startAgentwireNode } from "../../src/node/node.js";
import { forceGc, type BenchResult } from "./types.js";

const SECONDS = Number(process.env["LOAD_SECONDS"] ?? 5);
const CONCURRENCY = Number(process.env["LOAD_CONCURRENCY"] ?? 16);
/** Steady-state rounds (LOAD_ROUNDS, default 6) of LOAD_ROUND_SIZE (default 1000) handoffs. */
const ROUNDS = Number(process.env["LOAD_ROUNDS"] ?? 6);
const ROUND_SIZE = Number(process.env["LOAD_ROUND_SIZE"] ?? 1000);
const SENDER = { vendor: "load-sender", agentId: "gen-1", region: "local", did: "did:web:load-sender.example" };

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function drive(send: (i: number) => Promise<unknown>, total: number): Promise<{ ops: number; p50: number; p99: number; done: number }> {
  const latencies: number[] = [];
  let next = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end && next < total) {
        const i = next++;
        const s = performance.now();
        await send(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), done: latencies.length };
}

function heapMiB(): number {
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

export async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-load-"));
  const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x55));
  const node = await startAgentwireNode({
    dataDir: join(dir, "node"),
    port: 0,
    grpcPort: 0,
    config: { trust: [{ did: SENDER.did, jwks: publicJwks([key]) as unknown as JsonObject }], policy: { rateLimit: false } },
  });
  // The baseline: the same service, echoing each envelope back, no pipeline, no store.
  const echo: Http2Server = createH2Server(
    connectNodeAdapter({
      routes: (router: ConnectRouter) =>
        router.service(Handoff, {
          async *stream(requests: AsyncIterable<Envelope>) {
            for await (const m of requests) yield m;
          },
        }),
    }),
  );
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  const results: BenchResult[] = [];
  try {
    const total = Math.max(2000, SECONDS * 1500);
    const input = builderInputOf(baseEnvelope("signed"));
    const envelopes: JsonObject[] = [];
    for (let i = 0; i < total; i++) {
      envelopes.push((await buildEnvelope({ ...input, issuer: { ...input.issuer, ...SENDER } }, { keys: [key], anchor: false })).envelope);
    }
    const echoClient = createClient(Handoff, createGrpcTransport({ baseUrl: echoUrl }));
    const echoMessages = envelopes.map((e) => envelopeFromJson(e));
    const echoSend = async (i: number): Promise<void> => {
      async function* one(): AsyncIterable<Envelope> {
        yield echoMessages[i]!;
      }
      for await (const _ of echoClient.stream(one())) break;
    };
    const group = `OHP load, loopback, ${CONCURRENCY} in flight, ${SECONDS} s per row, signed PROPOSE`;
    forceGc();
    const heap0 = heapMiB();
    const heaps: string[] = [];
    const base = await drive(echoSend, total);
    results.push({ group, name: "bare connect-node echo (gRPC stream)", opsPerSec: base.ops, note: `p50 ${base.p50.toFixed(2)} ms, p99 ${base.p99.toFixed(2)} ms` });
    let offset = 0;
    for (const [binding, transport] of [
      ["ohp/grpc", grpcTransport()],
      ["ohp/https", httpsTransport()],
    ] as [PeerRef["binding"], OhpTransport][]) {
      const p = await discoverPeer(node.servers.url, "ohp/https", { cache: new Map() });
      const peer: PeerRef = { ...p, binding, url: binding === "ohp/grpc" ? node.servers.grpcUrl! : node.servers.url };
      const start = offset;
      const r = await drive((i) => transport.send(peer, envelopes[(start + i) % total]!, {}), total - start);
      offset += r.done;
      forceGc();
      heaps.push(`${heapMiB()} MiB after ${binding}`);
      results.push({
        group,
        name: `${binding} PROPOSE → signed ACCEPT (pipeline + SQLite)`,
        opsPerSec: r.ops,
        baseline: "bare connect-node echo (gRPC stream)",
        note: `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
      });
    }
    const last = results.pop()!;
    results.push({ ...last, note: `${last.note ?? ""}; live heap (after a full GC) ${heap0} MiB before, ${heaps.join(", ")}` });

    // Steady state: rounds of fresh handoffs over ohp/https, the live heap after each. A leak
    // grows it round after round; warm-up (JIT, connection pools, caches filling to their
    // bounds) shows in the first rounds only.
    envelopes.length = 0;
    echoMessages.length = 0;
    const peer = { ...(await discoverPeer(node.servers.url, "ohp/https", { cache: new Map() })), binding: "ohp/https" as const, url: node.servers.url };
    const https = httpsTransport();
    const rounds: number[] = [];
    let sent = 0;
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ROUND_SIZE) {
            next++;
            const env = (await buildEnvelope({ ...input, issuer: { ...input.issuer, ...SENDER } }, { keys: [key], anchor: false })).envelope;
            await https.send(peer, env, {});
            sent++;
          }
        }),
      );
      forceGc();
      rounds.push(heapMiB());
    }
    results.push({
      group: `OHP memory over a long run: ${ROUNDS} rounds of ${ROUND_SIZE} handoffs (ohp/https, ${CONCURRENCY} in flight, envelopes built on the fly)`,
      name: "live heap after each round (full GC)",
      opsPerSec: (sent * 1000) / (performance.now() - t0),
      note: `${rounds.map((h) => `${h}`).join(" → ")} MiB; last half of the rounds ${(rounds[rounds.length - 1]! - rounds[Math.floor(rounds.length / 2)]!).toFixed(1)} MiB`,
    });
  } finally {
    await node.stop();
    await new Promise<void>((r) => echo.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
