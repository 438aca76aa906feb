import { describe, expect, it } from "vitest";
import { sdjwtCommand } from "../../../src/cli/federation.js";
import { CliExit, UsageError, type CliIo } from "../../../src/cli/io.js";
import { toOhpIdentity } from "../../../src/trust/sdjwt/index.js";
import { NOW, credential, idpJwks } from "./helpers.js";

async function run(args: string[], files: Record<string, string>) {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: async (p) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p]!;
    },
    writeFile: async () => undefined,
    cwd: "/",
  };
  try {
    return { code: await sdjwtCommand.run(args, io), out, err };
  } catch (e) {
    if (e instanceof CliExit) return { code: e.exitCode, out, err: e.message };
    if (e instanceof UsageError) return { code: 2, out, err: e.message };
    throw e;
  }
}

describe("agentwire sdjwt verify (OHP §5.4)", () => {
  it("OHP §5.4: verifies caller.identity inside an envelope and warns about a lying claimsRevealed", async () => {
    const identity = toOhpIdentity(await credential(), { purposeClaims: ["given_name"] });
    const envelope = { caller: { identity: { ...identity, claimsRevealed: ["given_name", "nhsId"] } } };
    const r = await run(["verify", "env.json", "--jwks", "jwks.json", "--now", NOW.toISOString()], {
      "env.json": JSON.stringify(envelope),
      "jwks.json": JSON.stringify(idpJwks),
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.claims.given_name).toBe("Alex");
    expect(out.claims.nhsId).toBeUndefined();
    expect(r.err).toContain("nhsId");
  });

  it("RFC 9901 §7.1: a compact SD-JWT with a foreign disclosure exits 1 with ERR_SDJWT_DIGEST", async () => {
    const compact = await credential();
    const foreign = Buffer.from(JSON.stringify(["c2FsdA", "given_name", "Mallory"])).toString("base64url");
    const r = await run(["verify", "c.txt", "--jwks", "jwks.json", "--now", NOW.toISOString()], {
      "c.txt": `${compact}${foreign}~`,
      "jwks.json": JSON.stringify(idpJwks),
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain("ERR_SDJWT_DIGEST");
  });

  it("usage errors exit 2", async () => {
    expect((await run(["verify", "x"], {})).code).toBe(2);
  });
});
