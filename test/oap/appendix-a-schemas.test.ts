/**
 * OAP-CORE-1.0 §34 Appendix A "Normative JSON Schemas": schemas/oap/ holds the 42 upstream
 * schemas under agentwire `$id`s, compiled by codegen into types and validators; every upstream
 * fixture that should validate does, every invalid one fails.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { schemas, type SchemaName } from "../../gen/schemas.js";
import { OAP_SCHEMA_ID_BASE, OAP_SCHEMA_NAMES, OAP_UPSTREAM_SCHEMA_ID_BASE, assertOapDocument, parseOapDocument, validateOapDocument } from "../../src/oap/documents.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { UPSTREAM_OAP, codeOf, upstream, walk } from "./helpers.js";

const OURS = join(REPO_DIR, "schemas", "oap");
const THEIRS = join(UPSTREAM_OAP, "schemas", "v1.0");
const upstreamFiles = readdirSync(THEIRS).filter((f) => f.endsWith(".schema.json")).sort();

/** Undo our $id base (upstream uses two hosts). */
function toUpstreamText(ours: string, file: string): string {
  const host = ["oap-instrument-profile.schema.json", "oap-subscription-agreement.schema.json"].includes(file)
    ? "https://spec.openagentprotocol.eu/schemas/v1.0/"
    : OAP_UPSTREAM_SCHEMA_ID_BASE;
  return ours.split(OAP_SCHEMA_ID_BASE).join(host);
}

describe("Appendix A: our schemas are upstream's, under our own $id", () => {
  it("42 upstream schemas (the 12 Appendix A ones, the conformance receipt and 29 RFC extensions), all shipped", () => {
    expect(upstreamFiles).toHaveLength(42);
    expect(readdirSync(OURS).sort()).toEqual(upstreamFiles);
    expect([...OAP_SCHEMA_NAMES].sort()).toEqual(upstreamFiles.map((f) => f.replace(/\.schema\.json$/, "")).sort());
    const appendixA = ["manifest", "action", "request-envelope", "response-envelope", "receipt", "decision-record", "ccc", "subscription", "wallet-statement", "incident", "deletion-receipt", "attestation"];
    for (const n of appendixA) expect(OAP_SCHEMA_NAMES).toContain(`oap-${n}`);
  });

  for (const file of upstreamFiles) {
    it(`${file}: byte-identical to upstream except the $id / $ref base`, () => {
      const ours = readFileSync(join(OURS, file), "utf8");
      expect(toUpstreamText(ours, file)).toBe(readFileSync(join(THEIRS, file), "utf8"));
      const schema = JSON.parse(ours) as { $id: string; $schema: string };
      expect(schema.$id).toBe(`${OAP_SCHEMA_ID_BASE}${file}`);
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(ours).not.toContain("openagentprotocol.eu/schemas");
    });
  }

  it("every OAP schema is in the generated registry with its validator and type", () => {
    for (const name of OAP_SCHEMA_NAMES) {
      const entry = schemas[name as SchemaName];
      expect(entry.file).toBe(`schemas/oap/${name}.schema.json`);
      expect(entry.id).toBe(`${OAP_SCHEMA_ID_BASE}${name}.schema.json`);
      expect(typeof entry.validate).toBe("function");
      expect(readFileSync(join(REPO_DIR, "gen", "types", "oap", `${name}.ts`), "utf8")).toContain("export ");
    }
  });

  it("the generated validators are plain ES modules (ajv runtime helpers imported, never require()d)", () => {
    for (const name of OAP_SCHEMA_NAMES) {
      const code = readFileSync(join(REPO_DIR, "gen", "validators", "oap", `${name}.ts`), "utf8");
      expect(code).not.toMatch(/\brequire\(/u);
    }
    expect(readFileSync(join(REPO_DIR, "gen", "validators", "oap", "oap-action.ts"), "utf8")).toContain('import ajvRuntime_ucs2lengthModule from "ajv/dist/runtime/ucs2length.js";');
  });

  it("cross-schema $refs resolve to our copies (manifest → action → commerce primitive; intent-response → aql-decision)", () => {
    const manifest = upstream("test-suite/schema/valid/manifest-minimal.json");
    const bad = structuredClone(manifest) as { actions: { cost?: unknown }[] };
    (bad.actions[0] as { cost?: unknown }).cost = { type: "free", primitive: { preset: "no_such_preset" } };
    expect(validateOapDocument("oap-manifest", manifest)).toEqual([]);
    expect(validateOapDocument("oap-manifest", bad).map((i) => i.pointer)).toContain("/actions/0/cost/primitive/preset");
  });
});

/** The schema each official fixture targets (by file name, longest schema name first). */
function schemaOfFixture(file: string): string {
  const base = file.split("/").pop() as string;
  const names = OAP_SCHEMA_NAMES.map((n) => n.slice(4)).sort((a, b) => b.length - a.length);
  const hit = names.find((n) => base.startsWith(`${n}-`) || base === `${n}.json`);
  if (hit === undefined) throw new Error(`no schema for ${file}`);
  return `oap-${hit}`;
}

describe("official test-suite schema fixtures", () => {
  const valid = walk(join(UPSTREAM_OAP, "test-suite", "schema", "valid"));
  const invalid = walk(join(UPSTREAM_OAP, "test-suite", "schema", "invalid"));

  it("9 valid and 5 invalid fixtures", () => {
    expect(valid).toHaveLength(9);
    expect(invalid).toHaveLength(5);
  });

  for (const f of valid) {
    it(`valid/${f} validates against ${schemaOfFixture(f)}`, () => {
      expect(validateOapDocument(schemaOfFixture(f) as never, upstream(`test-suite/schema/valid/${f}`))).toEqual([]);
    });
  }

  const expectedFailures: Record<string, string[]> = {
    "cross-match-receipt-single-segment.json": ["/segments"],
    "intent-bad-operator.json": ["/constraints/operator"],
    "manifest-missing-oap-version.json": ["/oap_version"],
    "receipt-bad-id-no-signatures.json": ["/receipt_id", "/signatures"],
    "workflow-manifest-no-roles.json": ["/roles"],
  };
  for (const f of invalid) {
    it(`invalid/${f} fails ${schemaOfFixture(f)}, at the member its name says`, () => {
      const issues = validateOapDocument(schemaOfFixture(f) as never, upstream(`test-suite/schema/invalid/${f}`));
      expect(issues.length).toBeGreaterThan(0);
      for (const p of expectedFailures[f] ?? ["(unlisted)"]) expect(issues.map((i) => i.pointer)).toContain(p);
    });
  }
});

describe("upstream examples (not validated upstream)", () => {
  const EXAMPLES: Record<string, string> = {
    "ad-hoc-teamwork-three-tier/capability-announcement.json": "oap-capability-announcement",
    "ad-hoc-teamwork-three-tier/convention-drift-receipt.json": "oap-convention-drift-receipt",
    "ad-hoc-teamwork-three-tier/convention-receipt-tier1.json": "oap-convention-receipt",
    "ad-hoc-teamwork-three-tier/late-join-receipt.json": "oap-late-join-receipt",
    "aql/action-intent.json": "oap-intent",
    "aql/commercial-intent.json": "oap-intent",
    "aql/delegation-intent.json": "oap-intent",
    "aql/discovery-intent.json": "oap-intent",
    "aql/knowledge-intent.json": "oap-intent",
    "aql/subscription-intent.json": "oap-intent",
    "enterprise-agent-provisioning/byoa-attestation.json": "oap-byoa-attestation",
    "enterprise-agent-provisioning/context-switch.json": "oap-context-switch",
    "enterprise-agent-provisioning/offboarding-receipt.json": "oap-offboarding-receipt",
    "enterprise-agent-provisioning/provisioning-manifest.json": "oap-provisioning-manifest",
    "legal-research-privileged/ccc.json": "oap-ccc",
    "legal-research-privileged/manifest.json": "oap-manifest",
    "payment/alice-amex.instrument-profile.json": "oap-instrument-profile",
    "payment/alice-payment-mandate.payment-mandate.json": "oap-payment-mandate",
    "payment/eur-usd.fx-quote.json": "oap-fx-quote",
    "payment/hotel-booking.settlement-confirmation.json": "oap-settlement-confirmation",
    "payment/saas-tool-subscription.subscription-agreement.json": "oap-subscription-agreement",
    "presentation/hotel-comparison.presentation-intent.json": "oap-presentation-intent",
    "team-crm-collaborative/manifest.json": "oap-manifest",
    "training/oap-knowledge.training-data-license.json": "oap-training-data-license",
    "weather-pro/decision-record.json": "oap-decision-record",
    "weather-pro/manifest.json": "oap-manifest",
    "weather-pro/receipt.json": "oap-receipt",
  };
  /** Request bodies and data with no schema of their own. */
  const NO_SCHEMA = ["ad-hoc-teamwork-three-tier/convention-propose-request.json", "ad-hoc-teamwork-three-tier/late-join-request.json", "aql/candidates.json"];

  it("every example is either mapped to its schema or has none", () => {
    expect(walk(join(UPSTREAM_OAP, "examples")).sort()).toEqual([...Object.keys(EXAMPLES), ...NO_SCHEMA].sort());
  });

  for (const [f, schema] of Object.entries(EXAMPLES)) {
    it(`${f} validates against ${schema}`, () => {
      expect(validateOapDocument(schema as never, upstream(`examples/${f}`))).toEqual([]);
    });
  }

  it("late-join-request embeds a valid capability announcement", () => {
    const req = upstream<{ capability_announcement: unknown }>("examples/ad-hoc-teamwork-three-tier/late-join-request.json");
    expect(validateOapDocument("oap-capability-announcement", req.capability_announcement)).toEqual([]);
  });
});

describe("§8.2/§8.3/§19.1 the spec's own inline examples and the reference server's shapes", () => {
  it("§8.3: a reference-server style response (status success, top-level receipt_id, no signature) is NOT a valid response envelope (contradiction 3)", () => {
    const refServer = { oap_version: "1.0", request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX", status: "success", tool_did: "did:web:x", output: {}, receipt_id: "urn:oap:receipt:1", receipt_hash: "sha256:00", error: null };
    const pointers = validateOapDocument("oap-response-envelope", refServer).map((i) => i.pointer);
    expect(pointers).toEqual(expect.arrayContaining(["/response_id", "/signature", "/status", "/timestamp"]));
  });

  it("§19.1: zkp.proof is an object in the schema, a string in the spec example (contradiction 13)", async () => {
    const receipt = upstream("test-suite/schema/valid/receipt-genesis.json");
    expect(validateOapDocument("oap-receipt", { ...receipt, zkp: { system: "groth16", public_inputs: [], proof: "base64url..." } }).map((i) => i.pointer)).toEqual(["/zkp/proof"]);
    expect(validateOapDocument("oap-receipt", { ...receipt, previous_receipt_hash: null }).map((i) => i.pointer)).toEqual(["/previous_receipt_hash"]);
    // AP=false: the unknown member is reported at the receipt itself.
    expect(validateOapDocument("oap-receipt", { ...receipt, energy: {} })).toEqual([{ pointer: "", message: "must NOT have additional properties", rule: "schema:additionalProperties" }]);
    expect(await codeOf(() => assertOapDocument("oap-receipt", { ...receipt, self_hash: "sha256:x" }))).toBe("ERR_OAP_ENVELOPE_INVALID");
  });

  it("parseOapDocument: strict JSON (duplicate members rejected) then the schema", async () => {
    expect(await codeOf(() => parseOapDocument("oap-ccc", '{"ccc_version":"1.0","scope_id":"a","scope_id":"b"}'))).toBe("ERR_OAP_ENVELOPE_INVALID");
    expect(parseOapDocument("oap-ccc", '{"ccc_version":"1.0","scope_id":"s"}').scope_id).toBe("s");
  });
});
