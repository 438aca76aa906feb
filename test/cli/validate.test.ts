import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { REPO_DIR, upstreamEnvelopes } from "../helpers/upstream.js";


describe("agentwire validate", () => {
  it("accepts all 10 upstream OHP envelopes (exit 0)", async () => {
    const r = await cli(["validate", ...upstreamEnvelopes().map((e) => e.path)]);
    expect(r.code).toBe(0);
    expect(r.out.match(/: valid \(ohp-envelope, tier /g)).toHaveLength(10);
  });

  it("rejects a broken envelope with JSON pointers (exit 1)", async () => {
    const env = structuredClone(upstreamEnvelopes()[1]!.json) as Record<string, any>;
    delete env["issuer"]["did"];
    env["control"]["nonce"] = "xyz";
    const r = await cli(["validate", "broken.json", "--json"], { "broken.json": JSON.stringify(env) });
    expect(r.code).toBe(1);
    const result = JSON.parse(r.out);
    expect(result.valid).toBe(false);
    expect(result.errors.map((e: { pointer: string }) => e.pointer)).toEqual(expect.arrayContaining(["/control/nonce", "/issuer/did"]));
  });

  it("invalid JSON and duplicate keys are invalid documents (exit 1)", async () => {
    expect((await cli(["validate", "a.json"], { "a.json": "{" })).code).toBe(1);
    const dup = await cli(["validate", "d.json"], { "d.json": '{"ohp":"0.1","ohp":"0.1"}' });
    expect(dup.code).toBe(1);
    expect(dup.out).toContain("duplicate member name");
  });

  it("§4.5 a JSON envelope over 32 KiB is invalid", async () => {
    const env = structuredClone(upstreamEnvelopes()[0]!.json) as Record<string, any>;
    env["transcript"]["summary"] = "x".repeat(33 * 1024);
    const r = await cli(["validate", "big.json", "--json"], { "big.json": JSON.stringify(env) });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).errors).toContainEqual(expect.objectContaining({ rule: "§4.5" }));
  });

  it("--schema forces a type; --strict turns warnings into errors", async () => {
    const core = upstreamEnvelopes().find((e) => e.name.includes("core/01"))!;
    expect((await cli(["validate", core.path, "--schema", "ohp-envelope"])).code).toBe(0);
    expect((await cli(["validate", core.path, "--strict"])).code).toBe(1);
    expect((await cli(["validate", core.path, "--schema", "ohp-capabilities"])).code).toBe(1);
  });

  it("usage and I/O errors exit 2", async () => {
    expect((await cli(["validate"])).code).toBe(2);
    expect((await cli(["validate", "x.json", "--schema", "nope"])).code).toBe(2);
    expect((await cli(["validate", "/nonexistent/file.json"])).code).toBe(2);
    expect((await cli(["validate", "u.json"], { "u.json": '{"hello":1}' })).code).toBe(2);
    expect((await cli(["validate", "--bogus", "x"])).code).toBe(2);
    expect((await cli(["no-such-command"])).code).toBe(2);
  });

  it("--help lists the commands", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+validate\s/m);
  });

  it("the built `agentwire` bin runs (npm run build first)", async () => {
    const bin = join(REPO_DIR, "dist/src/cli/bin.js");
    expect(existsSync(bin), "dist/ is missing: run `npm run build`").toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "validate", upstreamEnvelopes()[0]!.path]);
    expect(stdout).toContain(": valid (ohp-envelope, tier core)");
  });
});
