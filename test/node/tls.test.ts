import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { startAgentwireNode } from "../../src/node/node.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function pki(): { ca: string; caKey: string; cert: string; key: string; clientCert: string; clientKey: string } {
  const f = (n: string) => join(dir, n);
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run("req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=agentwire test CA");
  for (const [name, cn] of [["server", "localhost"], ["client", "peer-node"]] as const) {
    run("req", "-newkey", "ed25519", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
    run("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f(`${name}.pem`), "-days", "2", ...(name === "server" ? ["-extfile", f("san.ext")] : []));
  }
  const read = (n: string) => readFileSync(f(n), "utf8");
  return { ca: read("ca.pem"), caKey: read("ca.key"), cert: read("server.pem"), key: read("server.key"), clientCert: read("client.pem"), clientKey: read("client.key") };
}

function get(url: string, options: { ca: string; cert?: string; key?: string; maxVersion?: "TLSv1.2" }): Promise<{ status: number; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: options.ca, ...(options.cert ? { cert: options.cert, key: options.key } : {}), ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}), servername: "localhost" }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol();
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, protocol }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe.skipIf(!haveOpenssl())("TLS 1.3 listeners and mTLS (agentwire serve --tls-*)", () => {
  it("serves over TLS 1.3 only, and with a client CA refuses clients without a certificate", async () => {
    require_san();
    const p = pki();
    const node = await startAgentwireNode({ dataDir: join(dir, "n"), port: 0, grpcPort: 0, tls: { key: p.key, cert: p.cert, clientCa: p.ca } });
    try {
      expect(node.servers.url).toMatch(/^https:/);
      const ok = await get(`${node.servers.url}/healthz`, { ca: p.ca, cert: p.clientCert, key: p.clientKey });
      expect(ok).toEqual({ status: 200, protocol: "TLSv1.3" });
      await expect(get(`${node.servers.url}/healthz`, { ca: p.ca })).rejects.toThrow();
      await expect(get(`${node.servers.url}/healthz`, { ca: p.ca, cert: p.clientCert, key: p.clientKey, maxVersion: "TLSv1.2" })).rejects.toThrow();
    } finally {
      await node.stop();
    }
  });
});

function require_san(): void {
  execFileSync("sh", ["-c", `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${join(dir, "san.ext")}`]);
}
