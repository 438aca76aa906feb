import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { federationCommand } from "../../../src/cli/federation.js";
import { CliExit, UsageError, type CliIo } from "../../../src/cli/io.js";
import { LEAF, NOW, TA, buildFederation, trustAnchors } from "./helpers.js";

async function run(args: string[], files: Record<string, string>) {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: async (p) => {
      if (p in files) return files[p]!;
      const { readFileSync } = await import("node:fs");
      return readFileSync(p, "utf8");
    },
    writeFile: async () => undefined,
    cwd: process.cwd(),
  };
  try {
    return { code: await federationCommand.run(args, io), out, err };
  } catch (e) {
    if (e instanceof CliExit) return { code: e.exitCode, out, err: e.message };
    if (e instanceof UsageError) return { code: 2, out, err: e.message };
    throw e;
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const anchorFile = JSON.stringify(trustAnchors.map((a) => ({ entity_id: "did:web:federation.openhandoffprotocol.org", jwks: a.jwks })));

describe("agentwire federation resolve (OpenID Federation 1.0 §10, offline)", () => {
  it("§10.1: resolves from a statements file and prints the effective ohp_issuer metadata", async () => {
    const fed = await buildFederation();
    const files = { "anchor.json": anchorFile, "stmts.json": JSON.stringify([fed.leafEc, fed.intAboutLeaf, fed.intEc, fed.taAboutInt, fed.taEc]) };
    const r = await run(["resolve", "did:web:idp.bank.example.com", "--anchor", "anchor.json", "--statements", "stmts.json", "--now", NOW.toISOString()], files);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.entityId).toBe(LEAF);
    expect(out.trustAnchorId).toBe(TA);
    expect(out.chain).toHaveLength(4);
    expect(out.caps).toEqual({ ial: "IAL3", aal: "AAL3", fal: "FAL2" });
    expect(out.ohp_issuer.jurisdictions).toEqual(["GB", "IE"]);
  });

  it("§10.1: resolves from a directory of .jwt files", async () => {
    const fed = await buildFederation();
    const dir = mkdtempSync(join(tmpdir(), "aw-fed-"));
    dirs.push(dir);
    Object.entries({ leaf: fed.leafEc, a: fed.intAboutLeaf, b: fed.intEc, c: fed.taAboutInt, d: fed.taEc }).forEach(([n, jwt]) => writeFileSync(join(dir, `${n}.jwt`), `${jwt}\n`));
    const r2 = await run(["resolve", LEAF, "--anchor", "anchor.json", "--statements", dir, "--now", NOW.toISOString()], { "anchor.json": anchorFile });
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.out).entityId).toBe(LEAF);
  });

  it("§10.2: an expired chain exits 1 with the typed code in the message", async () => {
    const fed = await buildFederation();
    const files = { "anchor.json": anchorFile, "stmts.txt": [fed.leafEc, fed.intAboutLeaf, fed.intEc, fed.taAboutInt, fed.taEc].join("\n") };
    const r = await run(["resolve", LEAF, "--anchor", "anchor.json", "--statements", "stmts.txt", "--now", "2030-01-01T00:00:00Z"], files);
    expect(r.code).toBe(1);
    expect(r.err).toContain("ERR_FED_EXPIRED");
  });

  it("usage errors exit 2", async () => {
    expect((await run(["resolve", LEAF], {})).code).toBe(2);
    expect((await run(["frobnicate"], {})).code).toBe(2);
  });
});
