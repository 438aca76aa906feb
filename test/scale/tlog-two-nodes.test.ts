/**
 * Scale-out for the transparency log: two `agentwire tlog serve --db postgres://…` processes with
 * the same origin and key run ONE log. Four client loops submit distinct digests to both servers
 * at once (every answer's signed checkpoint and inclusion proof verified by TlogClient) while one
 * server is SIGKILLed and restarted twice; a submit whose answer did not arrive is retried on the
 * other server. Afterwards: the log holds every acknowledged digest exactly once at the index its
 * receipt named, no digest twice, every checkpoint any server signed is consistent with the final
 * one (one linear tree), and both servers serve the same checkpoint.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { generateKeyPair, privateJwks } from "../../src/crypto/keys.js";
import { TlogClient } from "../../src/trust/tlog/client.js";
import type { SignedCheckpoint } from "../../src/trust/tlog/checkpoint.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "../store/postgres-server.js";
import { BIN } from "./cluster.js";

const ORIGIN = "log.cluster.example";

interface LogServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly verifierKey: string;
  readonly exited: Promise<void>;
}

function startLog(db: string, key: string): Promise<LogServer> {
  const child = spawn(process.execPath, [BIN, "tlog", "serve", "--db", db, "--key", key, "--origin", ORIGIN, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const first = JSON.parse(buf.slice(0, nl)) as { url: string; verifierKey: string };
        resolve({ child, url: first.url, verifierKey: first.verifierKey, exited });
      }
    });
    void exited.then(() => reject(new Error(`tlog serve exited before listening: ${err}`)));
  });
}

function digest(n: number): string {
  return `sha256:${createHash("sha256").update(`digest-${n}`).digest("hex")}`;
}

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("one transparency log served by two processes on one PostgreSQL database", () => {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-tlog-2nodes-"));
  let pgServer: TestPostgres;
  let db: string;
  const keyFile = join(dir, "log.jwks");
  const servers: LogServer[] = [];

  beforeAll(async () => {
    pgServer = await startTestPostgres();
    db = await pgServer.createDatabase();
    writeFileSync(keyFile, JSON.stringify(privateJwks([generateKeyPair(ALG_EDDSA)])), { mode: 0o600 });
    servers.push(await startLog(db, keyFile), await startLog(db, keyFile));
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) {
      s.child.kill("SIGTERM");
      await s.exited;
    }
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("concurrent submits to both, one server SIGKILLed twice: every acknowledged digest logged once, one linear tree", async () => {
    const vkey = servers[0]!.verifierKey;
    expect(servers[1]!.verifierKey).toBe(vkey);
    const client = (i: number) => new TlogClient(servers[i]!.url, { verifiers: [vkey], origin: ORIGIN });
    const acknowledged = new Map<string, number>();
    const checkpoints: SignedCheckpoint[] = [];
    let next = 0;
    let retries = 0;
    const TOTAL = 240;
    const loop = async (worker: number) => {
      for (;;) {
        const n = next++;
        if (n >= TOTAL) return;
        const hash = digest(n);
        for (let attempt = 0; ; attempt++) {
          // Alternate servers per digest, and switch server on every retry.
          const target = (n + worker + attempt) % 2;
          try {
            const receipt = await client(target).submit(hash);
            acknowledged.set(hash, receipt.index);
            if (n % 20 === 0) checkpoints.push(receipt.checkpoint);
            break;
          } catch (e) {
            if (attempt > 50) throw e;
            retries++;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    };
    const killer = (async () => {
      for (let k = 0; k < 2; k++) {
        while (next < (k + 1) * 70) await new Promise((r) => setTimeout(r, 5));
        const victim = servers[0]!;
        victim.child.kill("SIGKILL");
        await victim.exited;
        servers[0] = await startLog(db, keyFile);
      }
    })();
    await Promise.all([loop(0), loop(1), loop(2), loop(3), killer]);
    expect(acknowledged.size).toBe(TOTAL);

    const a = client(0);
    const b = client(1);
    const finalA = await a.checkpoint();
    const finalB = await b.checkpoint();
    expect(finalB.note).toBe(finalA.note);
    // A retried submit that had committed before its server died is found, not appended again.
    expect(finalA.size).toBe(TOTAL);
    const indices = new Set(acknowledged.values());
    expect(indices.size).toBe(TOTAL);
    for (const [hash, index] of acknowledged) {
      const proof = await (index % 2 === 0 ? a : b).verifyInclusion(hash, index, finalA);
      expect(proof.index).toBe(index);
    }
    for (const c of checkpoints) await b.verifyConsistency(c, finalA);
    console.log(`tlog two nodes: ${TOTAL} digests, 2 SIGKILLs, ${retries} retried submits, ${checkpoints.length} checkpoints consistent with the final one`);
  }, 120_000);
});
