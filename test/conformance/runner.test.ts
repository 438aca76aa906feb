import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeCanonical, CborTag } from "../../src/cbor/index.js";
import { packVectorNames, writeOhpPack } from "../../src/conformance/pack.js";
import { runOhpConformance } from "../../src/conformance/runner.js";
import { REJECT_REASONS } from "../../src/ohp/reasons.js";
import { cli } from "../helpers/cli.js";

const UPSTREAM = join(process.cwd(), "test", "upstream", "ohp", "conformance", "test-vectors");
const PACK = join(process.cwd(), "test", "vectors", "ohp");
const tmp = mkdtempSync(join(tmpdir(), "agentwire-conformance-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function vectorDirs(root: string): string[] {
  return ["core", "signed", "sealed", "regulated"].flatMap((t) => readdirSync(join(root, t)).map((n) => join(root, t, n)));
}

/** Replaces tag-0 values by their text so a decoded envelope.cbor compares with envelope.json. */
function untag(v: unknown): unknown {
  if (v instanceof CborTag) return v.value;
  if (Array.isArray(v)) return v.map(untag);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, untag(x)]));
  return v;
}

describe("OHP conformance runner (§10 / RR): upstream v0.1 vectors", () => {
  it("passes every upstream vector, each with its expected outcome", async () => {
    const s = await runOhpConformance(UPSTREAM);
    expect(s.results.map((r) => `${r.tier}/${r.name}:${r.outcome}:${r.pass}`)).toEqual([
      "core/01-minimal-valid:accept:true",
      "core/02-stale-envelope:reject:true",
      "signed/01-valid-jws:accept:true",
      "sealed/01-hpke-roundtrip:structural-only:true",
      "regulated/01-full-structural:structural-only:true",
      "regulated/02-prohibited-flag:reject:true",
    ]);
    const stale = s.results.find((r) => r.name === "02-stale-envelope")!;
    expect(stale.actual).toMatchObject({ rejectReason: "stale", firstFailingStep: 3 });
    const prohibited = s.results.find((r) => r.name === "02-prohibited-flag")!;
    expect(prohibited.actual).toMatchObject({ rejectReason: "prohibited-practice", firstFailingStep: 8 });
  });

  it("VR signed/01: placeholder signatures are 'verification deferred' with a warning, never silently verified", async () => {
    const s = await runOhpConformance(UPSTREAM, { filter: "signed/01" });
    expect(s.results[0]!.warnings.join()).toMatch(/verification deferred/);
  });

  it("--tier claims a tier: its vectors and all lower tiers' run", async () => {
    const s = await runOhpConformance(UPSTREAM, { tier: "signed" });
    expect(new Set(s.results.map((r) => r.tier))).toEqual(new Set(["core", "signed"]));
  });

  it("a vector whose expectation differs fails, naming the difference; results are written per vector", async () => {
    const dir = join(tmp, "broken");
    cpSync(UPSTREAM, dir, { recursive: true });
    const expectedPath = join(dir, "core", "02-stale-envelope", "expected.json");
    const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
    writeFileSync(expectedPath, JSON.stringify({ ...expected, firstFailingStep: 4 }));
    writeFileSync(join(dir, "core", "01-minimal-valid", "expected.json"), "{ not json");
    const results = join(tmp, "results");
    const s = await runOhpConformance(dir, { resultsDir: results });
    expect(s.failed).toBe(2);
    expect(s.results.find((r) => r.name === "02-stale-envelope")!.problems.join()).toMatch(/firstFailingStep 3, expected 4/);
    expect(s.results.find((r) => r.name === "01-minimal-valid")!.problems.join()).toMatch(/could not run/);
    expect(JSON.parse(readFileSync(join(results, "core", "02-stale-envelope.json"), "utf8")).pass).toBe(false);
  });
});

describe("the signed vector pack (test/vectors/ohp)", () => {
  it("the runner passes 100% of the committed pack", async () => {
    const s = await runOhpConformance(PACK);
    expect(s.results.filter((r) => !r.pass).map((r) => `${r.tier}/${r.name}: ${r.problems.join("; ")}`)).toEqual([]);
    expect(s.passed).toBe(packVectorNames().length);
  });

  it("has at least one vector per §8.3 REJECT code, and accept and emit positives for every tier", async () => {
    const s = await runOhpConformance(PACK);
    const reasons = new Set(s.results.filter((r) => r.outcome === "reject").map((r) => r.expected["rejectReason"]));
    expect([...REJECT_REASONS].filter((r) => !reasons.has(r))).toEqual([]);
    for (const tier of ["core", "signed", "sealed", "regulated"]) {
      expect(s.results.some((r) => r.tier === tier && r.outcome === "accept"), `${tier} accept`).toBe(true);
      expect(s.results.some((r) => r.tier === tier && r.outcome === "emit"), `${tier} emit`).toBe(true);
    }
  });

  it("covers every negative the upstream roadmap plans", () => {
    const names = packVectorNames().map((n) => n.split("/")[1]);
    for (const planned of [
      "missing-id", "tier-mismatch", "emit-refuses-pii", "control-verb-mismatch", "tampered-payload", "revoked-kid",
      "canonicalisation-divergence", "rtp-fingerprint-mismatch", "consent-out-of-scope", "sd-jwt-claim-tampered",
      "pii-into-non-sealed", "art50-disclosure-missing", "oversight-mode-insufficient", "gpai-systemic-no-policy",
      "stale-aiia", "annex-iii-not-allowlisted", "hybrid-pq-sig-roundtrip", "incident-verb", "stale", "prohibited-flag",
    ]) {
      expect(names, planned).toContain(planned);
    }
  });

  it("envelope.cbor is the canonical CBOR of envelope.json (strict decode, tag 0 on the rfc3339 fields)", () => {
    for (const dir of vectorDirs(PACK)) {
      let cbor: Buffer;
      try {
        cbor = readFileSync(join(dir, "envelope.cbor"));
      } catch {
        continue; // emit vectors
      }
      const decoded = decodeCanonical(new Uint8Array(cbor)) as Record<string, unknown>;
      expect(decoded["issuedAt"], dir).toBeInstanceOf(CborTag);
      expect(untag(decoded), dir).toEqual(JSON.parse(readFileSync(join(dir, "envelope.json"), "utf8")));
    }
  });

  it("regenerates with one command and the regenerated pack passes 100%", async () => {
    const out = join(tmp, "pack");
    const r = await cli(["conformance", "pack", out]);
    expect(r.code, r.err).toBe(0);
    const run = await cli(["conformance", "ohp", out]);
    expect(run.code, run.out).toBe(0);
    expect(run.out.trim().split("\n").at(-1)).toBe(`${packVectorNames().length} passed, 0 failed`);
  });

  it("a pack from other keys fails against a context that trusts the committed keys (the crypto is real)", async () => {
    const out = join(tmp, "other");
    await writeOhpPack(out, { label: "another-world" });
    cpSync(join(PACK, "keys"), join(out, "keys"), { recursive: true });
    const s = await runOhpConformance(out, { filter: "signed/01" });
    expect(s.results[0]!.pass).toBe(false);
    expect(s.results[0]!.actual).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("CLI: exit 1 and 'N passed, N failed' when a vector fails; exit 2 on usage errors", async () => {
    const dir = join(tmp, "cli");
    cpSync(UPSTREAM, dir, { recursive: true });
    writeFileSync(join(dir, "core", "02-stale-envelope", "expected.json"), JSON.stringify({ outcome: "accept", now: "2026-05-28T13:00:00Z" }));
    const r = await cli(["conformance", "ohp", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/5 passed, 1 failed/);
    expect((await cli(["conformance", "ohp", dir, "--tier", "gold"])).code).toBe(2);
    expect((await cli(["conformance"])).code).toBe(2);
  });
});
