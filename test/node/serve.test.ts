/**
 * `agentwire serve` as users run it: a child process with its own data directory. Proves the
 * handoff state survives kill -9 between ACCEPT and ASSUME, and that clients in other
 * languages / tools complete a handoff over ohp/grpc (Python grpcio from Debian protoc, buf curl).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../../src/util/http.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../src/conformance/world.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../src/crypto/keys.js";
import { buildEnvelope } from "../../src/ohp/builder.js";
import { grpcTransport } from "../../src/ohp/bindings/grpc.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import { OhpNode } from "../../src/ohp/control/node.js";
import { MemoryHandoffStore, SqliteHandoffStore } from "../../src/ohp/control/store.js";
import { REPO_DIR } from "../helpers/upstream.js";

const BIN = join(REPO_DIR, "dist", "src", "cli", "bin.js");
const dir = mkdtempSync(join(tmpdir(), "agentwire-serve-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seed = (n: number) => new Uint8Array(32).fill(n);
const senderKeys = [keyPairFromSeed(ALG_EDDSA, seed(71)), keyPairFromSeed(ALG_MLDSA65, seed(72)), keyPairFromSeed(ALG_HPKE_X25519, seed(73))];
const SENDER = { vendor: "ivr-vendor", agentId: "ivr-1", region: "uk-west", did: "did:web:ivr-vendor.example" };

interface Served {
  child: ChildProcess;
  url: string;
  grpcUrl: string;
  lines: string[];
}

async function serve(data: string, port: number, grpcPort: number): Promise<Served> {
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ identity: { vendor: "contact-centre", agentId: "queue-1", region: "uk-south" }, trust: [{ did: SENDER.did, jwks: publicJwks(senderKeys) }] }));
  const child = spawn(process.execPath, [BIN, "serve", "--port", String(port), "--grpc-port", String(grpcPort), "--data", data, "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const listening = await new Promise<Record<string, string>>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const e = JSON.parse(line) as Record<string, string>;
        if (e["event"] === "listening") resolve(e);
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url: listening["url"]!, grpcUrl: listening["grpcUrl"]!, lines };
}

function sender(): OhpNode {
  return new OhpNode({
    identity: SENDER,
    signingKeys: senderKeys.slice(0, 2),
    encryptionKeys: senderKeys.slice(2),
    store: new MemoryHandoffStore(),
    transports: { "ohp/https": httpsTransport(), "ohp/grpc": grpcTransport() },
  });
}

const built = existsSync(BIN);

describe.skipIf(!built)("agentwire serve (child process)", () => {
  let port: number;
  let grpcPort: number;
  const data = join(dir, "node-b");
  let b: Served;

  beforeAll(async () => {
    port = await freePort();
    grpcPort = await freePort();
    b = await serve(data, port, grpcPort);
  });
  afterAll(() => b.child.kill("SIGTERM"));

  it("§8.4 / D08: kill -9 between ACCEPT and ASSUME; after restart the handoff is intact and ASSUME is ACCEPTed", async () => {
    const a = sender();
    for (const tier of ["signed", "regulated"] as const) {
      const p = await discoverPeer(b.url, "ohp/https");
      const r = await a.propose(p, builderInputOf(baseEnvelope(tier)));
      expect(r.verb, JSON.stringify(r.answer?.["transcript"])).toBe("ACCEPT");
      b.child.kill("SIGKILL");
      await new Promise((res) => b.child.once("exit", res));
      b = await serve(data, port, grpcPort);
      expect(b.lines[0]).toMatch(/"keysCreated":false/);
      const p2 = await discoverPeer(b.url, "ohp/https");
      const assumed = await a.assume(p2, r.handoffId);
      expect(assumed.state).toBe("HANDED_OFF");
      // A duplicate PROPOSE after the restart is answered from the store: the same ACCEPT.
      const propose = (await a.handoffs("sender")).find((h) => h.id === r.handoffId)!.envelopes["PROPOSE"]!;
      expect(await httpsTransport().send(p2, propose, {})).toEqual(r.answer);
    }
    b.child.kill("SIGTERM");
    await new Promise((res) => b.child.once("exit", res));
    const store = new SqliteHandoffStore(join(data, "ohp.sqlite"));
    try {
      const held = store.list("receiver").filter((h) => h.state === "HANDED_OFF");
      expect(held).toHaveLength(2);
    } finally {
      store.close();
    }
    b = await serve(data, port, grpcPort);
  });

  it("§7.4 polyglot: a Python grpcio client generated by Debian protoc completes a handoff over ohp/grpc", async () => {
    const out = join(dir, "py");
    mkdirSync(out, { recursive: true });
    execFileSync("protoc", ["-I", join(REPO_DIR, "proto"), "-I", "/usr/include", `--python_out=${out}`, `--grpc_python_out=${out}`, "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", "ohp/v0_1/envelope.proto", "ohp/v0_1/handoff.proto"], { stdio: "pipe" });
    const input = builderInputOf(baseEnvelope("signed"));
    const signed = (await buildEnvelope({ ...input, issuer: { ...input.issuer, ...SENDER } }, { keys: senderKeys.slice(0, 1), anchor: false })).envelope;
    const file = join(dir, "propose.json");
    writeFileSync(file, JSON.stringify(signed));
    const printed = await new Promise<string>((resolve, reject) => {
      const py = spawn("/usr/bin/python3", [join(REPO_DIR, "test", "node", "python_grpc_propose.py"), out, `127.0.0.1:${grpcPort}`, file], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      py.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      py.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      py.on("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr))));
    });
    const answer = JSON.parse(printed) as Record<string, any>;
    expect(answer["control"]["verb"]).toBe("ACCEPT");
    expect(answer["control"]["refs"]["proposedId"]).toBe(signed["id"]);
  });

  it("§7.4: buf curl --protocol grpc --http2-prior-knowledge completes a handoff", async () => {
    const input = builderInputOf(baseEnvelope("signed"));
    const signed = (await buildEnvelope({ ...input, issuer: { ...input.issuer, ...SENDER } }, { keys: senderKeys.slice(0, 1), anchor: false })).envelope;
    const out = execFileSync(
      join(REPO_DIR, "node_modules", ".bin", "buf"),
      ["curl", "--schema", join(REPO_DIR, "proto"), "--protocol", "grpc", "--http2-prior-knowledge", "-d", JSON.stringify(signed), `http://127.0.0.1:${grpcPort}/ohp.v0_1.Handoff/Stream`],
      { encoding: "utf8", timeout: 60_000 },
    );
    const answer = JSON.parse(out) as Record<string, any>;
    expect(answer["control"]["verb"]).toBe("ACCEPT");
    expect(answer["control"]["refs"]["proposedId"]).toBe(signed["id"]);
  });
});
