import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { didCommand } from "../../../src/cli/did.js";
import type { CliIo } from "../../../src/cli/io.js";
import { testJwks } from "../../helpers/keys.js";
import { startServer, type TestServer } from "./helpers.js";

const SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

async function run(args: string[], files: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: async (p) => {
      if (p in files) return files[p]!;
      throw new Error(`ENOENT: ${p}`);
    },
    writeFile: async () => undefined,
    cwd: "/",
  };
  let code: number;
  try {
    code = await didCommand.run(args, io);
  } catch (e) {
    // main.ts maps these; mirror it for the exit code.
    const name = (e as Error).name;
    code = name === "UsageError" || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : name === "CliExit" ? (e as { exitCode: number }).exitCode : 1;
    err += (e as Error).message;
  }
  return { code, out, err };
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const did = server.did();
  const x = (testJwks(1).keys[0] as { x: string }).x;
  server.routes.set("/.well-known/did.json", {
    body: { id: did, verificationMethod: [{ id: `${did}#k1`, type: "JsonWebKey2020", controller: did, publicKeyJwk: { kty: "OKP", crv: "Ed25519", x } }], assertionMethod: ["#k1"] },
  });
});
afterAll(async () => {
  await server.close();
});

describe("agentwire did resolve", () => {
  it("did:key: prints the key summary (exit 0)", async () => {
    const r = await run(["resolve", SPEC_DID]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("resolved (did:key)");
    expect(r.out).toContain("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK  EdDSA sig");
  });

  it("--json prints the DID document and keys", async () => {
    const r = await run(["resolve", SPEC_DID, "--json"]);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ did: SPEC_DID, resolved: true, method: "key" });
    expect(doc.document.id).toBe(SPEC_DID);
    expect(doc.keys[0].jwk.x).toBe("Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY");
  });

  it("did:web over a local server with --allow-insecure-localhost", async () => {
    const r = await run(["resolve", server.did(), "--allow-insecure-localhost"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`from http://localhost:${server.port}/.well-known/did.json`);
    expect(r.out).toContain("[assertionMethod]");
  });

  it("a resolution failure exits 1 with the error code", async () => {
    const r = await run(["resolve", "did:web:192.168.0.1"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("ERR_DID_INVALID");
    const j = await run(["resolve", server.did("missing"), "--allow-insecure-localhost", "--json"]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out).error.code).toBe("ERR_DID_HTTP_STATUS");
  });

  it("usage errors exit 2", async () => {
    expect((await run(["resolve"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["resolve", SPEC_DID, "--timeout", "x"])).code).toBe(2);
  });
});

describe("agentwire did key", () => {
  it("prints the did:key of each Ed25519 key of a public JWKS", async () => {
    const jwks = testJwks(1);
    const r = await run(["key", "--jwks", "pub.json"], { "pub.json": JSON.stringify(jwks) });
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${jwks.keys[0]!.kid} did:key:z6Mk`));
    const j = await run(["key", "--jwks", "pub.json", "--json"], { "pub.json": JSON.stringify(jwks) });
    expect(JSON.parse(j.out)[0].did).toMatch(/^did:key:z6Mk/);
  });

  it("exit 1 for an invalid JWKS or one without Ed25519 keys; exit 2 for a missing file or flag", async () => {
    expect((await run(["key", "--jwks", "bad.json"], { "bad.json": "{}" })).code).toBe(1);
    const onlyX = { keys: [testJwks(1).keys[2]] };
    expect((await run(["key", "--jwks", "x.json"], { "x.json": JSON.stringify(onlyX) })).code).toBe(1);
    expect((await run(["key", "--jwks", "nope.json"])).code).toBe(2);
    expect((await run(["key"])).code).toBe(2);
  });
});
