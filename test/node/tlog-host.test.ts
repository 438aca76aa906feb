/**
 * The node-hosted transparency log (src/node/tlog-host.ts) on an embedded node: the API under
 * /tlog/v1/…, checkpoints signed with the node key under the configured origin and verified by
 * TlogClient, other paths left to the node, the log continuing after a restart on the same data
 * directory, and strict parsing of the `tlog` config member.
 */
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { generateKeyPair } from "../../src/crypto/keys.js";
import { parseNodeTlogConfig, startNodeTlog, type NodeTlogHost } from "../../src/node/tlog-host.js";
import { TlogClient } from "../../src/trust/tlog/client.js";
import { listenOn } from "../../src/util/http.js";

const dir = mkdtempSync(join(tmpdir(), "aw-node-tlog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = generateKeyPair(ALG_EDDSA);

async function serveHost(host: NodeTlogHost): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!host.http(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  const address = await listenOn(server, 0, "127.0.0.1");
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("the node-hosted transparency log", () => {
  it("serves /tlog/v1 with checkpoints the node key signs; continues after a restart", async () => {
    const config = parseNodeTlogConfig({ origin: "log.node.example" });
    const host = await startNodeTlog({ config, key, dataDir: dir });
    expect(host.backend).toBe("sqlite");
    expect(host.verifierKey.startsWith("log.node.example+")).toBe(true);
    const http = await serveHost(host);
    const client = new TlogClient(`${http.url}/tlog`, { verifiers: [host.verifierKey], origin: "log.node.example" });
    const a = await client.submit(`sha256:${"aa".repeat(32)}`);
    const b = await client.submit(`sha256:${"bb".repeat(32)}`);
    expect([a.index, b.index]).toEqual([0, 1]);
    expect((await client.submit(`sha256:${"aa".repeat(32)}`)).index).toBe(0);
    expect((await fetch(`${http.url}/other`)).status).toBe(418);
    expect((await fetch(`${http.url}/tlogx/v1/checkpoint`)).status).toBe(418);
    expect((await fetch(`${http.url}/tlog/v2/nothing`)).status).toBe(404);
    const before = await client.checkpoint();
    await http.close();
    await host.close();

    const again = await startNodeTlog({ config, key, dataDir: dir });
    const http2 = await serveHost(again);
    const client2 = new TlogClient(`${http2.url}/tlog`, { verifiers: [again.verifierKey], origin: "log.node.example" });
    expect((await client2.submit(`sha256:${"cc".repeat(32)}`)).index).toBe(2);
    await client2.verifyConsistency(before, await client2.checkpoint());
    await http2.close();
    await again.close();
  });

  it("another origin on the same data directory is a config error, not a second tree", async () => {
    await expect(startNodeTlog({ config: { origin: "other.example" }, key, dataDir: dir })).rejects.toMatchObject({ code: "ERR_NODE_CONFIG" });
  });

  it("the tlog config member is parsed strictly", () => {
    expect(parseNodeTlogConfig({ origin: "log.example.com", anchorOap: false })).toEqual({ origin: "log.example.com", anchorOap: false });
    for (const bad of [null, [], {}, { origin: "" }, { origin: "has space" }, { origin: "a+b" }, { origin: "x", anchorOap: "yes" }, { origin: "x", extra: 1 }]) {
      expect(() => parseNodeTlogConfig(bad)).toThrow(expect.objectContaining({ code: "ERR_NODE_CONFIG" }));
    }
  });
});

describe("agentwire serve with a tlog config (embedded store)", () => {
  it("hosts the log and anchors the receipts of its OAP tool in it; anchorOap: false leaves them unanchored", async () => {
    const { parseNodeConfig, startAgentwireNode } = await import("../../src/node/node.js");
    const { weatherTool } = await import("../../src/oap/tools/weather.js");
    const { envelope, oapHeaders, post } = await import("../oap/server-helpers.js");
    const events: Record<string, unknown>[] = [];
    for (const anchorOap of [true, false]) {
      const config = await parseNodeConfig({ tlog: { origin: "log.serve.example", anchorOap } }, dir);
      const node = await startAgentwireNode({ dataDir: join(dir, `serve-${anchorOap}`), port: 0, grpcPort: 0, config, oap: { tools: [weatherTool()] }, log: (e) => events.push(e as unknown as Record<string, unknown>) });
      try {
        const listening = events.filter((e) => e["event"] === "listening").at(-1) as Record<string, unknown>;
        expect(listening).toMatchObject({ tlog: `${node.servers.url}/tlog`, tlogOrigin: "log.serve.example" });
        const env = envelope({ idempotency_key: `york-${anchorOap}`, input: { location: "York", days: 1 } });
        const r = await post(`${node.servers.url}/oap/invoke`, env, oapHeaders(env));
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        const receipt = r.body["receipt"] as Record<string, unknown>;
        const client = new TlogClient(`${node.servers.url}/tlog`, { verifiers: [String(listening["tlogVerifierKey"])], origin: "log.serve.example" });
        if (anchorOap) {
          expect(receipt["anchored_in"]).toEqual(["log.serve.example"]);
          expect((await client.checkpoint()).size).toBe(1);
        } else {
          expect(receipt["anchored_in"]).toBeUndefined();
          expect((await client.checkpoint()).size).toBe(0);
        }
      } finally {
        await node.stop();
      }
    }
  });
});
