import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { upstreamEnvelopes, REPO_DIR } from "../helpers/upstream.js";

let files: Record<string, string> = {};

function example(prefix: string): string {
  return upstreamEnvelopes().find((e) => e.name.includes(prefix))!.path;
}

beforeAll(async () => {
  const r = await cli(["keygen", "--out", "keys"]);
  expect(r.code).toBe(0);
  files = Object.fromEntries(Object.entries(r.written).map(([p, w]) => [p, w.text]));
  const other = await cli(["keygen", "--out", "other"]);
  for (const [p, w] of Object.entries(other.written)) files[p] = w.text;
});

describe("agentwire keygen", () => {
  it("writes private.jwks.json (0600) and public.jwks.json with EdDSA, ML-DSA-65 and X25519 keys", async () => {
    const r = await cli(["keygen", "--out", "k"]);
    expect(r.code).toBe(0);
    expect(r.written["k/private.jwks.json"]!.mode).toBe(0o600);
    const pub = JSON.parse(r.written["k/public.jwks.json"]!.text);
    expect(pub.keys.map((k: { alg: string }) => k.alg)).toEqual(["EdDSA", "ML-DSA-65", "HPKE/X25519-SHA256-CHACHA20POLY1305"]);
    expect(JSON.stringify(pub)).not.toMatch(/"(d|priv)"/);
    const priv = JSON.parse(r.written["k/private.jwks.json"]!.text);
    expect(priv.keys.every((k: Record<string, unknown>) => typeof (k["d"] ?? k["priv"]) === "string")).toBe(true);
  });

  it("never prints private key material", async () => {
    const r = await cli(["keygen", "--out", "k"]);
    const priv = JSON.parse(r.written["k/private.jwks.json"]!.text) as { keys: Record<string, string>[] };
    for (const k of priv.keys) expect(r.out).not.toContain((k["d"] ?? k["priv"])!);
  });

  it("refuses to overwrite without --force (exit 2) and rejects unknown algorithms (exit 2)", async () => {
    expect((await cli(["keygen", "--out", "keys"], files)).code).toBe(2);
    expect((await cli(["keygen", "--out", "keys", "--force"], files)).code).toBe(0);
    expect((await cli(["keygen", "--out", "x", "--alg", "RS256"])).code).toBe(2);
    expect((await cli(["keygen"])).code).toBe(2);
  });
});

describe("agentwire ohp sign / verify", () => {
  it("signs each signed tier and verify accepts it (exit 0) with the JSON outcome", async () => {
    for (const p of ["02-signed", "03-sealed", "04-regulated"]) {
      const s = await cli(["ohp", "sign", example(p), "--keys", "keys/private.jwks.json"], files);
      expect(s.code, s.err).toBe(0);
      const env = JSON.parse(s.out);
      const policy = JSON.stringify({ annexIIIAllowed: ["5(d)"] });
      const v = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--now", env.issuedAt, "--policy", "policy.json"], {
        ...files,
        "env.json": s.out,
        "policy.json": policy,
      });
      expect(v.code, v.out + v.err).toBe(0);
      expect(JSON.parse(v.out)).toMatchObject({ outcome: "accept", rejectReason: null, firstFailingStep: null });
      // What the command line cannot supply is reported, never silently passed.
      if (p !== "02-signed") expect(JSON.parse(v.out).unverified.length).toBeGreaterThan(0);
      const strict = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--now", env.issuedAt, "--policy", "strict.json"], {
        ...files,
        "env.json": s.out,
        "strict.json": JSON.stringify({ annexIIIAllowed: ["5(d)"], requireHooks: true }),
      });
      expect(JSON.parse(strict.out)).toMatchObject({ outcome: "reject", rejectReason: "unknown" });
      const typo = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--policy", "typo.json"], { ...files, "env.json": s.out, "typo.json": '{"annexIIIAllow":[]}' });
      expect(typo.code).toBe(1);
      expect(typo.err).toMatch(/unknown member/);
    }
  });

  it("verify rejects (exit 1) an envelope signed by a key outside the trust anchor as signature-invalid", async () => {
    const s = await cli(["ohp", "sign", example("02-signed"), "--keys", "other/private.jwks.json"], files);
    const env = JSON.parse(s.out);
    const v = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--now", env.issuedAt], { ...files, "env.json": s.out });
    expect(v.code).toBe(1);
    expect(JSON.parse(v.out)).toMatchObject({ outcome: "reject", rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("verify --call-id and --now feed steps 4 and 3", async () => {
    const s = await cli(["ohp", "sign", example("02-signed"), "--keys", "keys/private.jwks.json"], files);
    const f = { ...files, "env.json": s.out };
    const env = JSON.parse(s.out);
    const wrongCall = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--now", env.issuedAt, "--call-id", "nope"], f);
    expect(JSON.parse(wrongCall.out)).toMatchObject({ rejectReason: "not-bound-to-call", firstFailingStep: 4 });
    const late = await cli(["ohp", "verify", "env.json", "--jwks", "keys/public.jwks.json", "--now", "2030-01-01T00:00:00Z"], f);
    expect(late.code).toBe(1);
    expect(JSON.parse(late.out)).toMatchObject({ rejectReason: "stale", firstFailingStep: 3 });
  });

  it("verify: invalid JSON is a reject (exit 1); usage mistakes exit 2", async () => {
    const bad = await cli(["ohp", "verify", "bad.json", "--jwks", "keys/public.jwks.json"], { ...files, "bad.json": "{" });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ outcome: "reject", firstFailingStep: 0 });
    expect((await cli(["ohp", "verify", "x.json"], files)).code).toBe(2);
    expect((await cli(["ohp", "verify", example("02-signed"), "--jwks", "keys/public.jwks.json", "--now", "yesterday"], files)).code).toBe(2);
    expect((await cli(["ohp", "verify", example("02-signed"), "--jwks", "keys/private.jwks.json"], files)).code).toBe(2);
    expect((await cli(["ohp", "verify", example("02-signed"), "--jwks", "missing.json"], files)).code).toBe(2);
    expect((await cli(["ohp", "frobnicate"], files)).code).toBe(2);
    expect((await cli(["ohp", "sign", example("01-core"), "--keys", "keys/private.jwks.json"], files)).code).toBe(1);
  });

  it("signing-bytes prints the surface hex and --leaf-hash its sha256", async () => {
    const hex = await cli(["ohp", "signing-bytes", example("02-signed")]);
    expect(hex.code).toBe(0);
    expect(hex.out.trim()).toMatch(/^[0-9a-f]+$/);
    expect(hex.out.trim().length).toBe(1544 * 2);
    const leaf = await cli(["ohp", "signing-bytes", example("02-signed"), "--leaf-hash"]);
    const { createHash } = await import("node:crypto");
    expect(leaf.out.trim()).toBe(`sha256:${createHash("sha256").update(Buffer.from(hex.out.trim(), "hex")).digest("hex")}`);
  });
});

describe("agentwire ohp seal / open", () => {
  it("seals for the receiver, signs, verifies with --keys, and opens", async () => {
    const env = JSON.parse(readFileSync(example("03-sealed"), "utf8"));
    delete env.sealed;
    const f: Record<string, string> = { ...files, "u.json": JSON.stringify(env), "fields.json": JSON.stringify({ "caller.vulnerable": true }) };
    const sealed = await cli(["ohp", "seal", "u.json", "--to", "other/public.jwks.json", "--fields", "fields.json", "--move", "memory"], f);
    expect(sealed.code, sealed.err).toBe(0);
    expect(JSON.parse(sealed.out).memory).toBeUndefined();
    f["sealed.json"] = sealed.out;
    const signed = await cli(["ohp", "sign", "sealed.json", "--keys", "keys/private.jwks.json"], f);
    expect(signed.code, signed.err).toBe(0);
    f["signed.json"] = signed.out;
    const now = JSON.parse(signed.out).issuedAt;
    const v = await cli(["ohp", "verify", "signed.json", "--jwks", "keys/public.jwks.json", "--now", now, "--keys", "other/private.jwks.json"], f);
    expect(v.code, v.out).toBe(0);
    expect(JSON.parse(v.out).sealed.fields).toEqual({ "caller.vulnerable": true, memory: env.memory });
    const opened = await cli(["ohp", "open", "signed.json", "--keys", "other/private.jwks.json"], f);
    expect(JSON.parse(opened.out).fields["caller.vulnerable"]).toBe(true);
    const wrong = await cli(["ohp", "open", "signed.json", "--keys", "keys/private.jwks.json"], f);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/ERR_HPKE_NO_RECIPIENT/);
  });
});

describe("the built executable", () => {
  const bin = join(REPO_DIR, "dist/src/cli/bin.js");
  it.skipIf(!existsSync(bin))("keygen writes a 0600 private key file on disk and sign|verify round-trips through files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agentwire-keys-"));
    const run = promisify(execFile);
    await run(process.execPath, [bin, "keygen", "--out", dir]);
    expect(statSync(join(dir, "private.jwks.json")).mode & 0o777).toBe(0o600);
    const { stdout } = await run(process.execPath, [bin, "ohp", "sign", example("04-regulated"), "--keys", join(dir, "private.jwks.json")]);
    writeFileSync(join(dir, "env.json"), stdout);
    const now = JSON.parse(stdout).issuedAt;
    writeFileSync(join(dir, "policy.json"), JSON.stringify({ annexIIIAllowed: ["5(d)"] }));
    const v = await run(process.execPath, [bin, "ohp", "verify", join(dir, "env.json"), "--jwks", join(dir, "public.jwks.json"), "--now", now, "--policy", join(dir, "policy.json")]);
    expect(JSON.parse(v.stdout).outcome).toBe("accept");
  });
});

describe("agentwire demo", () => {
  it("runs keys → seal → hybrid sign → verify → tamper end to end (exit 0)", async () => {
    const r = await cli(["demo"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/"outcome":"accept"/);
    expect(r.out).toMatch(/"rejectReason":"signature-invalid","firstFailingStep":2/);
    expect(r.out.trim().endsWith("demo ok")).toBe(true);
  });
});
