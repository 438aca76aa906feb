import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectSchema, validateSchema } from "../../src/schema/validate.js";
import { validateDocument } from "../../src/validate.js";
import { REPO_DIR, UPSTREAM_OHP, extractedBlocks, readJson, upstreamEnvelopes } from "../helpers/upstream.js";

describe("§4.1 every upstream OHP envelope conforms to the envelope schema", () => {
  const all = upstreamEnvelopes();
  it("there are exactly 10 upstream envelopes (4 examples + 6 vectors)", () => {
    expect(all).toHaveLength(10);
  });
  for (const { name, json } of all) {
    it(`${name} is valid (schema + §4.2 in receive mode)`, () => {
      const r = validateDocument(json);
      expect(r.schema).toBe("ohp-envelope");
      expect(r.errors).toEqual([]);
      expect(r.valid).toBe(true);
    });
  }
});

/** Upstream markdown blocks: which parse as envelopes and which are known-broken upstream. */
const EXTRACTED: Record<string, { schema: "ohp-envelope" | "ohp-capabilities" | null; valid?: boolean; errorAt?: string[] }> = {
  "README.md--core-envelope.json": { schema: "ohp-envelope", valid: false, errorAt: ["/control/nonce", "/intent/slots", "/transcript/summary"] },
  "docs--06-envelope.md--reference-regulated-envelope.json": {
    schema: "ohp-envelope",
    valid: false,
    errorAt: ["/aiSystem/modelCardSha256", "/control/nonce", "/decisions/0/id"],
  },
  "examples--flows--B-ai-to-ai.md--sealed-propose.json": { schema: "ohp-envelope", valid: false, errorAt: ["/id", "/session/media/rtpFingerprint"] },
  "examples--flows--C-ivr-to-queue.md--signed-propose.json": { schema: "ohp-envelope", valid: true },
  "examples--flows--D-cross-channel.md--sealed-assume.json": { schema: "ohp-envelope", valid: false, errorAt: ["/session/media"] },
  "docs--03-conformance-tiers.md--capabilities-example.json": { schema: "ohp-capabilities", valid: true },
  "conformance--README.md--expected-accept-negative.json": { schema: null },
  "conformance--README.md--expected-accept-positive.json": { schema: null },
  "conformance--README.md--expected-emit-negative.json": { schema: null },
  "conformance--README.md--expected-emit-positive.json": { schema: null },
  "conformance--sealed-01-README.md--sealed-block.json": { schema: null },
  "docs--07-transport-bindings.md--ws-ack-frame.json": { schema: null },
  "docs--07-transport-bindings.md--ws-hello-frame.json": { schema: null },
};

describe("upstream markdown examples: the valid ones pass, the known-broken ones fail where upstream is wrong", () => {
  const blocks = extractedBlocks();
  it("every extracted block is classified", () => {
    expect(blocks.map((b) => b.name).sort()).toEqual(Object.keys(EXTRACTED).sort());
  });
  for (const { name, json } of blocks) {
    const want = EXTRACTED[name]!;
    it(`${name}: ${want.schema === null ? "not a document type we validate" : want.valid ? "valid" : "invalid"}`, () => {
      if (want.schema === null) {
        expect(detectSchema(json)).toBeUndefined();
        return;
      }
      const r = validateDocument(json);
      expect(r.schema).toBe(want.schema);
      expect(r.valid).toBe(want.valid);
      if (want.errorAt) expect(r.errors.map((e) => e.pointer)).toEqual(expect.arrayContaining(want.errorAt));
    });
  }
});

describe("well-known document schemas are true to upstream", () => {
  for (const [ours, theirs] of [
    ["ohp-envelope", "ohp-envelope.schema.json"],
    ["ohp-capabilities", "well-known/ohp-capabilities.schema.json"],
    ["ohp-jwks", "well-known/ohp-jwks.schema.json"],
    ["ohp-ai-systems", "well-known/ohp-ai-systems.schema.json"],
  ] as const) {
    it(`${ours} equals upstream except for its $id`, () => {
      const a = JSON.parse(readFileSync(join(REPO_DIR, "schemas/ohp", `${ours}.schema.json`), "utf8")) as Record<string, unknown>;
      const b = readJson(join(UPSTREAM_OHP, "schemas", theirs)) as Record<string, unknown>;
      expect(a["$id"]).toMatch(/^https:\/\/schemas\.agentwire\.dev\//);
      expect({ ...a, $id: null }).toStrictEqual({ ...b, $id: null });
    });
  }

  it("§11 the D03 capabilities example validates; a broken one reports pointers", () => {
    const caps = readJson(join(UPSTREAM_OHP, "_extracted-from-markdown", "docs--03-conformance-tiers.md--capabilities-example.json")) as Record<string, unknown>;
    expect(validateSchema("ohp-capabilities", caps)).toEqual([]);
    const broken = { ...caps, maxTier: "platinum", bindings: [] };
    expect(validateSchema("ohp-capabilities", broken).map((e) => e.pointer)).toEqual(["/bindings", "/maxTier"]);
  });

  it("§8.2 a JWKS with an unknown kty is rejected", () => {
    expect(validateSchema("ohp-jwks", { keys: [{ kty: "oct", kid: "k", use: "sig" }] }).map((e) => e.pointer)).toContain("/keys/0/kty");
    expect(validateSchema("ohp-jwks", { keys: [{ kty: "OKP", crv: "Ed25519", x: "AAAA", kid: "k", use: "sig", alg: "EdDSA" }] })).toEqual([]);
  });
});

describe("§4.1 schema rejects broken envelopes with JSON pointers", () => {
  const base = upstreamEnvelopes()[0]!.json as Record<string, any>;
  const cases: [string, (e: Record<string, any>) => void, string][] = [
    ["missing id", (e) => delete e["id"], "/id"],
    ["bad id", (e) => (e["id"] = "cse_01HZX0R5N9V8W1QYK0XQM3R3KI"), "/id"],
    ["wrong ohp version", (e) => (e["ohp"] = "0.2"), "/ohp"],
    ["unknown tier", (e) => (e["conformance"] = "gold"), "/conformance"],
    ["short nonce", (e) => (e["control"]["nonce"] = "abc"), "/control/nonce"],
    ["unknown verb", (e) => (e["control"]["verb"] = "GRAB"), "/control/verb"],
    ["confidence > 1", (e) => (e["intent"]["current"]["confidence"] = 1.5), "/intent/current/confidence"],
    ["bad issuedAt", (e) => (e["issuedAt"] = "yesterday"), "/issuedAt"],
    ["unknown channel", (e) => (e["session"]["channel"] = "pigeon"), "/session/channel"],
  ];
  for (const [what, mutate, pointer] of cases) {
    it(`${what} → error at ${pointer}`, () => {
      const e = structuredClone(base);
      mutate(e);
      const r = validateDocument(e);
      expect(r.valid).toBe(false);
      expect(r.errors.map((x) => x.pointer)).toContain(pointer);
    });
  }
});
