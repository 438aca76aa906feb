import { createHash } from "node:crypto";
import { join } from "node:path";
import { decodeTime } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../../src/json/types.js";
import {
  buildEnvelope,
  checkEmitExpectation,
  DEFAULT_PII_DETECTORS,
  detectPii,
  fieldPaths,
  hasFieldPath,
  ibanValid,
  luhnValid,
  newNonce,
  OhpEmitError,
  ohpUlid,
  redactTranscript,
  refusalOf,
  scanClearPart,
  tierRequirementOf,
  workloadMinTier,
  type BuildEnvelopeOptions,
  type BuiltEnvelope,
  type EmitExpectation,
  type EnvelopeInput,
  type OhpEmitErrorCode,
  type RandomSource,
} from "../../src/ohp/builder.js";
import { openEnvelope } from "../../src/ohp/seal.js";
import { signingSurface } from "../../src/ohp/surface.js";
import type { Tier } from "../../src/ohp/tiers.js";
import { verifyEnvelope } from "../../src/ohp/verify.js";
import {
  MemoryLogStore,
  TlogClient,
  TransparencyLog,
  ed25519NoteSigner,
  startTlogServer,
  verifierKeyOf,
  verifyAnchoring,
  type RunningTlogServer,
} from "../../src/trust/tlog/index.js";
import { validateDocument } from "../../src/validate.js";
import { testJwks, testKeys } from "../helpers/keys.js";
import { readJson, UPSTREAM_OHP } from "../helpers/upstream.js";

// ---------------------------------------------------------------------------------------------
// Fixtures: a fixed clock, a seeded random source, upstream example content as input
// ---------------------------------------------------------------------------------------------

const NOW = new Date("2026-05-28T15:10:00.123Z");
const clock = (): Date => new Date(NOW.getTime());

/** Deterministic bytes: SHA-256(seed || counter) blocks. */
function seeded(seed: string): RandomSource {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = createHash("sha256").update(`${seed}/${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

const issuer = testKeys(1);
const receiver = testKeys(2);
const stranger = testKeys(3);
const issuerJwks = testJwks(1);

const LOG_ID = "rekor.openhandoffprotocol.org";
const logSeed = new Uint8Array(32).fill(0x42);
const logKey = verifierKeyOf(LOG_ID, logSeed);
let server: RunningTlogServer;
let tlog: TlogClient;

beforeAll(async () => {
  const log = new TransparencyLog(new MemoryLogStore(), { origin: LOG_ID, signers: [ed25519NoteSigner(LOG_ID, logSeed)] });
  for (let i = 0; i < 5; i++) log.append(new Uint8Array(32).fill(i));
  server = await startTlogServer({ log });
  tlog = new TlogClient(server.url, { verifiers: [logKey], origin: LOG_ID });
});
afterAll(async () => server.close());

function example(file: string): JsonObject {
  return structuredClone(readJson(join(UPSTREAM_OHP, "examples", "envelopes", file))) as JsonObject;
}

const obj = (v: JsonValue | undefined): JsonObject => v as JsonObject;

/** EnvelopeInput from an upstream example: its content without generated members or crypto. */
function inputFrom(file: string): EnvelopeInput {
  const e = example(file);
  const audience = { ...obj(e["audience"]) };
  delete audience["recipientKeys"];
  const control = { ...obj(e["control"]) };
  delete control["verb"];
  delete control["nonce"];
  const decisions = (e["decisions"] as JsonObject[] | undefined)?.map((d) => {
    const { id: _id, at: _at, ...rest } = d;
    return rest;
  });
  const input: Record<string, unknown> = {
    tier: e["conformance"],
    issuer: e["issuer"],
    audience,
    session: e["session"],
    intent: e["intent"],
    transcript: e["transcript"],
    control,
  };
  for (const k of ["caller", "memory", "policy", "aiSystem", "governance", "oversight"]) if (e[k] !== undefined) input[k] = e[k];
  if (decisions !== undefined) input["decisions"] = decisions;
  if (e["transparency"] !== undefined) input["transparency"] = { logId: obj(e["transparency"])["logId"] };
  return input as unknown as EnvelopeInput;
}

const CORE = "01-core-ivr-handoff.json";
const SIGNED = "02-signed-cs-handoff.json";
const SEALED = "03-sealed-payment.json";
const REGULATED = "04-regulated-healthcare.json";

const SEALED_FIELDS = {
  "payment.disputeDetail": { amount: 42.5, merchant: "Example Ltd", reason: "unauthorised" },
  "caller.vulnerable": false,
};
const REGULATED_FIELDS = { "healthcare.fhirRef": "Patient/example-123", "caller.vulnerable": true };

/** Build options per tier (keys, seal, tlog) with the fixed clock and a seeded random source. */
function optionsFor(tier: Tier, extra: Partial<BuildEnvelopeOptions> = {}): BuildEnvelopeOptions {
  const base: BuildEnvelopeOptions = { now: clock, random: seeded(`${tier}`) };
  const keys = tier === "core" ? {} : { keys: tier === "regulated" ? [issuer.ed, issuer.mldsa] : [issuer.ed] };
  const seal =
    tier === "sealed"
      ? { seal: { recipients: [receiver.x25519.publicJwk], fields: SEALED_FIELDS } }
      : tier === "regulated"
        ? { seal: { recipients: [receiver.x25519.publicJwk], fields: REGULATED_FIELDS } }
        : {};
  const anchor = tier === "regulated" ? { tlog } : {};
  return { ...base, ...keys, ...seal, ...anchor, ...extra };
}

const FILES: Record<Tier, string> = { core: CORE, signed: SIGNED, sealed: SEALED, regulated: REGULATED };

async function build(tier: Tier, mutate?: (i: Record<string, any>) => void, extra: Partial<BuildEnvelopeOptions> = {}): Promise<BuiltEnvelope> {
  const input = inputFrom(FILES[tier]) as unknown as Record<string, any>;
  mutate?.(input);
  return buildEnvelope(input as unknown as EnvelopeInput, optionsFor(tier, extra));
}

/** The OhpEmitError a promise rejects with (fails the test otherwise). */
async function emitFailure(p: Promise<unknown>): Promise<OhpEmitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OhpEmitError);
    return e as OhpEmitError;
  }
  throw new Error("expected an OhpEmitError, the build succeeded");
}

async function expectCode(p: Promise<unknown>, code: OhpEmitErrorCode): Promise<OhpEmitError> {
  const e = await emitFailure(p);
  expect(e.code, e.message).toBe(code);
  return e;
}

const issues = (e: OhpEmitError): { pointer: string; rule: string }[] => (e.detail?.["issues"] ?? []) as { pointer: string; rule: string }[];

// ---------------------------------------------------------------------------------------------

describe("OHP §4.4 / §4.6 generated members", () => {
  it("§4.6 id is cse_ + a 26-char Crockford ULID whose time is issuedAt", async () => {
    const { envelope } = await build("core");
    const id = envelope["id"] as string;
    expect(id).toMatch(/^cse_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decodeTime(id.slice(4))).toBe(NOW.getTime());
  });

  it("§4.4 issuedAt is the injected clock with millisecond precision; notAfter defaults to issuedAt + PT2M", async () => {
    const { envelope } = await build("core");
    expect(envelope["issuedAt"]).toBe("2026-05-28T15:10:00.123Z");
    expect(envelope["notAfter"]).toBe("2026-05-28T15:12:00.123Z");
    expect(envelope["notBefore"]).toBeUndefined(); // F6: may at Core
  });

  it("§4.2 F6: notBefore = issuedAt at Signed+ (SHOULD, MUST at Regulated); notBeforeDelayMs shifts it", async () => {
    expect((await build("signed")).envelope["notBefore"]).toBe("2026-05-28T15:10:00.123Z");
    const delayed = await build("core", undefined, { notBeforeDelayMs: 1000 });
    expect(delayed.envelope["notBefore"]).toBe("2026-05-28T15:10:01.123Z");
  });

  it("§4.4 notAfter ≤ issuedAt + PT5M: exactly PT5M is accepted, one millisecond more is refused", async () => {
    const ok = await build("core", undefined, { lifetimeMs: 300_000 });
    expect(Date.parse(ok.envelope["notAfter"] as string) - Date.parse(ok.envelope["issuedAt"] as string)).toBe(300_000);
    const e = await expectCode(build("core", undefined, { lifetimeMs: 300_001 }), "ERR_OHP_EMIT_INPUT");
    expect(e.detail?.["rule"]).toBe("§4.4");
    await expectCode(build("core", undefined, { lifetimeMs: 0 }), "ERR_OHP_EMIT_INPUT");
    await expectCode(build("core", undefined, { notBeforeDelayMs: 120_000 }), "ERR_OHP_EMIT_INPUT");
  });

  it("§4.6 control.nonce is lowercase hex of ≥ 64 random bits (default 128); fewer than 8 bytes is refused", async () => {
    const { envelope } = await build("core");
    expect(obj(envelope["control"])["nonce"]).toMatch(/^[0-9a-f]{32}$/);
    expect(newNonce(seeded("n"), 8)).toMatch(/^[0-9a-f]{16}$/);
    expect(() => newNonce(seeded("n"), 7)).toThrow(expect.objectContaining({ code: "ERR_OHP_EMIT_INPUT" }));
  });

  it("§4.6 decisions[] get distinct dec_ ULIDs and at = issuedAt unless given", async () => {
    const { envelope } = await build("regulated");
    const decisions = envelope["decisions"] as JsonObject[];
    expect(decisions).toHaveLength(2);
    for (const d of decisions) {
      expect(d["id"]).toMatch(/^dec_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(decodeTime((d["id"] as string).slice(4))).toBe(NOW.getTime());
      expect(d["at"]).toBe(envelope["issuedAt"]);
    }
    expect(decisions[0]!["id"]).not.toBe(decisions[1]!["id"]);
  });

  it("§4.6 ULIDs: the random part comes from the injected source (reproducible), and a bad source is refused", async () => {
    expect(ohpUlid(NOW.getTime(), seeded("x"))).toBe(ohpUlid(NOW.getTime(), seeded("x")));
    expect(ohpUlid(NOW.getTime(), seeded("x"))).not.toBe(ohpUlid(NOW.getTime(), seeded("y")));
    expect(() => ohpUlid(0, seeded("x"))).toThrow(expect.objectContaining({ code: "ERR_OHP_EMIT_INPUT" }));
    await expectCode(build("core", undefined, { random: () => new Uint8Array(3) }), "ERR_OHP_EMIT_INPUT");
    await expectCode(build("core", undefined, { now: () => new Date(Number.NaN) }), "ERR_OHP_EMIT_INPUT");
  });

  it("the same clock and random source give byte-identical Core and Signed envelopes (Ed25519 is deterministic)", async () => {
    expect((await build("core")).json).toBe((await build("core")).json);
    expect((await build("signed")).json).toBe((await build("signed")).json);
  });
});

describe("OHP §4.2 every tier: the output validates and the receiver accepts it", () => {
  for (const tier of ["core", "signed", "sealed", "regulated"] as const) {
    it(`§4.2 ${tier}: validateDocument (emit mode, with byteLength) has no errors and verifyEnvelope accepts`, async () => {
      const built = await build(tier);
      expect(built.envelope["conformance"]).toBe(tier);
      const v = validateDocument(JSON.parse(built.json), { schema: "ohp-envelope", byteLength: built.byteLength, mode: "emit" });
      expect(v.errors).toEqual([]);
      const callId = obj(built.envelope["session"])["callId"] as string;
      const result = await verifyEnvelope(JSON.parse(built.json), {
        jwks: issuerJwks,
        now: NOW,
        callId,
        keys: receiver.all,
        byteLength: built.byteLength,
        policy: { annexIIIAllowed: ["5(d)"] },
      });
      expect(result.detail).toBeUndefined();
      expect(result.outcome).toBe("accept");
      expect(result.tier).toBe(tier);
      expect(result.signatures?.map((s) => s.alg) ?? []).toEqual(tier === "core" ? [] : tier === "regulated" ? ["EdDSA", "ML-DSA-65"] : ["EdDSA"]);
    });
  }

  it("§6.2 the builder signs governance.prohibited.attestationJws and art50Disclosure.proofJws with the issuer key", async () => {
    const built = await build("regulated");
    const governance = obj(built.envelope["governance"]);
    for (const jws of [obj(governance["prohibited"])["attestationJws"], obj(governance["art50Disclosure"])["proofJws"]]) {
      expect(jws).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]{86}$/);
      expect(JSON.parse(Buffer.from((jws as string).split(".")[0]!, "base64url").toString())).toEqual({ alg: "EdDSA", kid: issuer.ed.kid });
    }
    const result = await verifyEnvelope(JSON.parse(built.json), { jwks: issuerJwks, now: NOW, policy: { annexIIIAllowed: ["5(d)"] } });
    const status = (name: string): string | undefined => result.steps.find((s) => s.name === name)?.status;
    expect(status("prohibited-practices")).toBe("pass");
    expect(status("art50-disclosure")).toBe("pass");
  });

  it("§3.1.1 Core carries no signatures; §5.1 Signed/Sealed exactly one EdDSA; Regulated EdDSA + ML-DSA-65", async () => {
    expect((await build("core")).envelope["signatures"]).toBeUndefined();
    expect((await build("signed")).signatures.map((s) => s.alg)).toEqual(["EdDSA"]);
    expect((await build("sealed")).signatures.map((s) => s.alg)).toEqual(["EdDSA"]);
    expect((await build("regulated")).signatures.map((s) => s.alg)).toEqual(["EdDSA", "ML-DSA-65"]);
  });

  it("§5.3 Sealed: the receiver opens exactly the sealed values; a third party cannot", async () => {
    const built = await build("sealed");
    expect(built.sealedFields).toEqual(["caller.vulnerable", "payment.disputeDetail"]);
    expect(obj(built.envelope["audience"])["recipientKeys"]).toEqual([{ kid: receiver.x25519.kid, alg: "HPKE/X25519-SHA256-CHACHA20POLY1305" }]);
    const result = await verifyEnvelope(JSON.parse(built.json), { jwks: issuerJwks, now: NOW, keys: receiver.all });
    expect(result.sealed?.fields).toEqual(SEALED_FIELDS);
    await expect(openEnvelope(built.envelope, stranger.all)).rejects.toMatchObject({ code: "ERR_HPKE_NO_RECIPIENT" });
  });

  it("seal → sign → anchor: the sealed block is signed, leafHash is the surface hash, and the log holds it", async () => {
    const built = await build("regulated");
    expect(built.anchor).toBeDefined();
    expect(built.leafHash).toBe(`sha256:${createHash("sha256").update(signingSurface(built.envelope)).digest("hex")}`);
    expect(obj(built.envelope["transparency"])).toEqual({ logId: LOG_ID, leafHash: built.leafHash });
    expect(built.anchor!.leafHash).toBe(built.leafHash);
    const anchored = verifyAnchoring(JSON.parse(built.json), { checkpoint: built.anchor!.checkpoint, proof: built.anchor!.proof, verifierKey: logKey });
    expect(anchored.leafHash).toBe(built.leafHash);
    // Tampering with the ciphertext breaks the signatures (encrypt-then-sign, §6.4).
    const tampered = JSON.parse(built.json) as JsonObject;
    const sealed = obj(tampered["sealed"]);
    sealed["ciphertext"] = `${(sealed["ciphertext"] as string).slice(0, -2)}AA`;
    const result = await verifyEnvelope(tampered, { jwks: issuerJwks, now: NOW });
    expect(result.rejectReason).toBe("signature-invalid");
  });

  it("§4.2 SHOULD rows that are missing come back as warnings, not errors", async () => {
    const built = await build("core", (i) => {
      delete i["policy"];
    });
    expect(built.warnings.map((w) => w.rule)).toEqual(expect.arrayContaining(["§4.2 F41", "§4.2 F42", "§4.2 F44"]));
  });
});

describe("OHP §3.1 / §3.2 workload → minimum tier, and the emit-negative refusal", () => {
  it("§3.1.1 Core is refused for a PII workload with the upstream emit-negative shape (minTier sealed)", async () => {
    const expected = readJson(join(UPSTREAM_OHP, "_extracted-from-markdown", "conformance--README.md--expected-emit-negative.json"));
    const e = await expectCode(
      build("core", (i) => {
        i["workload"] = { data: ["pii"] };
      }),
      "ERR_OHP_EMIT_TIER_REFUSED",
    );
    expect(refusalOf(e)).toEqual(expected);
    expect(refusalOf(e)).toEqual({ outcome: "refuse", refuseReason: "workload-requires-higher-tier", minTier: "sealed" });
  });

  it("§3.1.1 Core is refused when the input itself carries an assurance claim (minTier sealed)", async () => {
    const sealedCaller = obj(example(SEALED)["caller"]);
    const e = await expectCode(
      build("core", (i) => {
        i["caller"] = { assurance: sealedCaller["assurance"] };
      }),
      "ERR_OHP_EMIT_TIER_REFUSED",
    );
    expect(refusalOf(e)?.minTier).toBe("sealed");
  });

  it("§3.1.2 Signed is refused for payment tokens, PHI and sealed values; allowed for identity references", async () => {
    for (const data of ["payment-token", "phi", "pci", "special-category"] as const) {
      const e = await expectCode(build("signed", (i) => void (i["workload"] = { data: [data] })), "ERR_OHP_EMIT_TIER_REFUSED");
      expect(refusalOf(e)?.minTier).toBe("sealed");
    }
    const e = await expectCode(build("signed", undefined, { seal: { recipients: [receiver.x25519.publicJwk], fields: SEALED_FIELDS } }), "ERR_OHP_EMIT_TIER_REFUSED");
    expect(refusalOf(e)?.minTier).toBe("sealed");
    const ok = await build("signed", (i) => void (i["workload"] = { data: ["identity-ref"] }));
    expect(obj(ok.envelope["audience"])["minTier"]).toBe("signed");
  });

  it("§3.1.4 Regulated is required for high-risk AI, Annex III, decisions[] and INCIDENT", async () => {
    for (const workload of [{ highRiskAi: true }, { annexIIIClause: "5(b)" }, { decisionProvenance: true }]) {
      const e = await expectCode(build("sealed", (i) => void (i["workload"] = workload)), "ERR_OHP_EMIT_TIER_REFUSED");
      expect(refusalOf(e)).toEqual({ outcome: "refuse", refuseReason: "workload-requires-higher-tier", minTier: "regulated" });
    }
    const e = await expectCode(build("sealed", (i) => void (i["verb"] = "INCIDENT")), "ERR_OHP_EMIT_TIER_REFUSED");
    expect(refusalOf(e)?.minTier).toBe("regulated");
    const d = await expectCode(
      build("signed", (i) => void (i["decisions"] = [{ type: "routing.decision", input: {}, output: {} }])),
      "ERR_OHP_EMIT_TIER_REFUSED",
    );
    expect(refusalOf(d)?.minTier).toBe("regulated");
  });

  it("§3.2 a declared audience.minTier above the target tier is refused too", async () => {
    const e = await expectCode(build("core", (i) => void (i["audience"]["minTier"] = "signed")), "ERR_OHP_EMIT_TIER_REFUSED");
    expect(refusalOf(e)?.minTier).toBe("signed");
  });

  it("D03: audience.minTier is set from the workload, not copied from a lower guess", async () => {
    const built = await build("sealed", (i) => {
      i["audience"]["minTier"] = "core";
      i["workload"] = { data: ["pci"] };
    });
    expect(obj(built.envelope["audience"])["minTier"]).toBe("sealed");
    expect(built.requirement.minTier).toBe("sealed");
  });

  it("workloadMinTier / tierRequirementOf: the mapping table and its reasons", () => {
    expect(workloadMinTier({}).minTier).toBe("core");
    expect(workloadMinTier({ data: ["identity-ref"] }).minTier).toBe("signed");
    expect(workloadMinTier({ data: ["identity-ref", "pii"] }).minTier).toBe("sealed");
    expect(workloadMinTier({ callerAssurance: true }).minTier).toBe("sealed");
    expect(workloadMinTier({ data: ["pii"], highRiskAi: true }).reasons[0]).toEqual({ tier: "regulated", because: "workload involves an EU AI Act high-risk system" });
    expect(workloadMinTier({ floor: "signed" }).minTier).toBe("signed");
    expect(tierRequirementOf(inputFrom(REGULATED)).minTier).toBe("regulated");
    expect(tierRequirementOf(inputFrom(CORE)).minTier).toBe("core");
  });

  it("refusalOf is undefined for every other failure", async () => {
    const e = await expectCode(build("regulated", undefined, { keys: [issuer.ed] }), "ERR_OHP_EMIT_KEYS");
    expect(refusalOf(e)).toBeUndefined();
    expect(refusalOf(new Error("x"))).toBeUndefined();
  });
});

describe("OHP §4.2 per-tier MUST table on emit", () => {
  it("§4.2 F29 transcript.summary is required at Core", async () => {
    const e = await expectCode(build("core", (i) => void delete i["transcript"]["summary"]), "ERR_OHP_EMIT_TIER_INCOMPLETE");
    expect(issues(e)).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: "/transcript/summary", rule: "§4.2 F29" })]));
  });

  it("§4.2 F10 / F14 Signed requires issuer.did and audience.did", async () => {
    const e = await expectCode(
      build("signed", (i) => {
        delete i["issuer"]["did"];
        delete i["audience"]["did"];
      }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toEqual(expect.arrayContaining(["§4.2 F10", "§4.2 F14"]));
  });

  it("§4.2 F31 / F41 / F42 / F44 / F46 Signed requires transcript.redaction, the policy blocks and control.reason", async () => {
    const e = await expectCode(
      build("signed", (i) => {
        delete i["transcript"]["redaction"];
        delete i["policy"];
        delete i["control"]["reason"];
      }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toEqual(expect.arrayContaining(["§4.2 F31", "§4.2 F41", "§4.2 F42", "§4.2 F44", "§4.2 F46"]));
  });

  it("§4.2 F11 / F22 / F24 Sealed requires issuer.federation, caller.assurance and caller.consent[]", async () => {
    const e = await expectCode(
      build("sealed", (i) => {
        delete i["issuer"]["federation"];
        delete i["caller"]["assurance"];
        delete i["caller"]["consent"];
      }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toEqual(expect.arrayContaining(["§4.2 F11", "§4.2 F22", "§4.2 F24"]));
  });

  it("§4.2 F17 Sealed requires audience.recipientKeys (no seal recipients given)", async () => {
    const e = await expectCode(build("sealed", undefined, { seal: undefined }), "ERR_OHP_EMIT_TIER_INCOMPLETE");
    expect(issues(e)).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: "/audience/recipientKeys", rule: "§4.2 F17" })]));
  });

  it("§4.2 F21 Sealed requires session.media.rtpFingerprint on voice channels", async () => {
    const e = await expectCode(build("sealed", (i) => void delete i["session"]["media"]["rtpFingerprint"]), "ERR_OHP_EMIT_TIER_INCOMPLETE");
    expect(issues(e).map((x) => x.rule)).toContain("§4.2 F21");
  });

  it("§4.2 F43 Regulated requires policy.guardrails (upstream regulated/02 omits it; the builder refuses)", async () => {
    const e = await expectCode(build("regulated", (i) => void delete i["policy"]["guardrails"]), "ERR_OHP_EMIT_TIER_INCOMPLETE");
    expect(issues(e).map((x) => x.rule)).toContain("§4.2 F43");
  });

  it("§4.2 F40 / §6.4 Regulated requires at least one decision", async () => {
    const e = await expectCode(
      build("regulated", (i) => {
        i["decisions"] = [];
      }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toContain("§4.2 F40 / §6.4");
  });

  it("§4.2 F38 / F39 Regulated high-risk requires art86Explanation and oversight", async () => {
    const e = await expectCode(
      build("regulated", (i) => {
        delete i["governance"]["art86Explanation"];
        delete i["oversight"];
      }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toEqual(expect.arrayContaining(["§4.2 F38 / §6.2", "§4.2 F39 / §6.3"]));
  });

  it("§4.2 F49 Regulated requires transparency.logId (anchoring left to the caller)", async () => {
    const e = await expectCode(
      build("regulated", (i) => void delete i["transparency"], { tlog: undefined, anchor: false }),
      "ERR_OHP_EMIT_TIER_INCOMPLETE",
    );
    expect(issues(e).map((x) => x.rule)).toContain("§4.2 F49");
  });

  it("§4.2 F49 defaults transparency.logId to the log's origin at Regulated", async () => {
    const built = await build("regulated", (i) => void delete i["transparency"]);
    expect(obj(built.envelope["transparency"])["logId"]).toBe(LOG_ID);
    expect(built.anchor?.logId).toBe(LOG_ID);
  });

  it("§6.1 a systemic-risk GPAI model without policyUrl is refused", async () => {
    const e = await expectCode(build("regulated", (i) => void delete i["aiSystem"]["gpaiChain"][0]["policyUrl"]), "ERR_OHP_EMIT_TIER_INCOMPLETE");
    expect(issues(e).map((x) => x.rule)).toContain("§6.1");
  });

  it("§4.1 schema violations that no §4.2 row covers are ERR_OHP_EMIT_SCHEMA", async () => {
    const e = await expectCode(build("core", (i) => void (i["issuer"]["vendor"] = "Vendor A")), "ERR_OHP_EMIT_SCHEMA");
    expect(issues(e)[0]!.pointer).toBe("/issuer/vendor");
  });

  it("§4.1 non-JSON input values (Date, NaN, lone surrogates) are refused with their pointer", async () => {
    const e = await expectCode(build("core", (i) => void (i["intent"]["slots"]["when"] = new Date())), "ERR_OHP_EMIT_INPUT");
    expect(e.detail?.["pointer"]).toBe("/intent/slots/when");
    await expectCode(build("core", (i) => void (i["intent"]["current"]["confidence"] = Number.NaN)), "ERR_OHP_EMIT_INPUT");
    const s = await expectCode(build("core", (i) => void (i["intent"]["slots"]["x"] = "a\ud800b")), "ERR_OHP_EMIT_INPUT");
    expect(s.detail?.["pointer"]).toBe("/intent/slots/x");
  });
});

describe("OHP §5.1 / §5.7 keys and anchoring", () => {
  it("§5.1 Signed without an EdDSA key and Regulated without an ML-DSA-65 key are ERR_OHP_EMIT_KEYS", async () => {
    const a = await expectCode(build("signed", undefined, { keys: [] }), "ERR_OHP_EMIT_KEYS");
    expect(a.detail?.["causeCode"]).toBe("ERR_OHP_SIGN_KEY_MISSING");
    const b = await expectCode(build("regulated", undefined, { keys: [issuer.ed] }), "ERR_OHP_EMIT_KEYS");
    expect(b.detail?.["alg"]).toBe("ML-DSA-65");
  });

  it("§5.7 Regulated without a transparency log is refused unless anchor: false", async () => {
    const e = await expectCode(build("regulated", undefined, { tlog: undefined }), "ERR_OHP_EMIT_ANCHOR");
    expect(e.detail?.["rule"]).toBe("§5.7");
    await expectCode(build("regulated", (i) => void delete i["transparency"], { tlog: undefined }), "ERR_OHP_EMIT_ANCHOR");
    const unanchored = await build("regulated", undefined, { tlog: undefined, anchor: false });
    expect(unanchored.anchor).toBeUndefined();
    expect(obj(unanchored.envelope["transparency"])["leafHash"]).toBe(unanchored.leafHash);
  });

  it("§4.2 F49-F50 / D09 step 14: anchoring is optional below Regulated; leafHash is always the surface hash", async () => {
    const withLog = await build("sealed", (i) => void (i["transparency"] = { logId: LOG_ID }), { tlog });
    expect(withLog.anchor?.leafHash).toBe(withLog.leafHash);
    const noLog = await build("sealed", (i) => void (i["transparency"] = { logId: LOG_ID }));
    expect(noLog.anchor).toBeUndefined();
    expect(obj(noLog.envelope["transparency"])["leafHash"]).toBe(noLog.leafHash);
    const core = await build("core", (i) => void (i["transparency"] = { logId: LOG_ID }));
    expect(obj(core.envelope["transparency"])["leafHash"]).toBe(`sha256:${createHash("sha256").update(signingSurface(core.envelope)).digest("hex")}`);
  });

  it("§5.7 a log that cannot be reached is ERR_OHP_EMIT_ANCHOR with the log's error code", async () => {
    const down = new TlogClient("http://127.0.0.1:9", {
      verifiers: [logKey],
      origin: LOG_ID,
      fetch: async () => {
        throw new Error("connection refused");
      },
    });
    const e = await expectCode(build("regulated", undefined, { tlog: down }), "ERR_OHP_EMIT_ANCHOR");
    expect(e.detail?.["causeCode"]).toBe("ERR_TLOG_HTTP_RESPONSE");
  });

  it("§5.3 a recipient that is not an X25519 key is ERR_OHP_EMIT_SEAL", async () => {
    const e = await expectCode(
      build("sealed", undefined, { seal: { recipients: [issuer.ed.publicJwk], fields: SEALED_FIELDS } }),
      "ERR_OHP_EMIT_SEAL",
    );
    expect(e.detail?.["causeCode"]).toBe("ERR_OHP_SEAL_RECIPIENT");
  });
});

describe("OHP §6.2 governance preconditions", () => {
  it("§6.2 a true governance.prohibited flag is never emitted (ERR_OHP_EMIT_GOVERNANCE)", async () => {
    const e = await expectCode(
      build("regulated", (i) => void (i["governance"]["prohibited"]["subliminalManipulation"] = true)),
      "ERR_OHP_EMIT_GOVERNANCE",
    );
    expect(e.detail?.["pointer"]).toBe("/governance/prohibited/subliminalManipulation");
  });

  it("§6.2 a high-risk AIIA reviewed more than 12 months before issuedAt is refused; exactly 12 months is fine", async () => {
    const e = await expectCode(build("regulated", (i) => void (i["governance"]["aiia"]["lastReviewedAt"] = "2025-05-27")), "ERR_OHP_EMIT_GOVERNANCE");
    expect(e.detail?.["pointer"]).toBe("/governance/aiia/lastReviewedAt");
    await build("regulated", (i) => void (i["governance"]["aiia"]["lastReviewedAt"] = "2025-05-28"));
  });

  it("§6.1 riskClass prohibited is refused", async () => {
    await expectCode(build("regulated", (i) => void (i["aiSystem"]["riskClass"] = "prohibited")), "ERR_OHP_EMIT_GOVERNANCE");
  });
});

describe("OHP §3.1 / D06 PII, PCI and PHI stay out of the clear part", () => {
  it("D06 transcript turns and summary are redacted with [REDACTED:<tag>]", async () => {
    const built = await build("core", (i) => {
      i["transcript"]["turns"] = [
        { t: "2026-05-28T15:06:00Z", role: "caller", text: "My card is 4111 1111 1111 1111 and my email is alex@example.com" },
        { t: "2026-05-28T15:06:08Z", role: "caller", text: "Call me on +44 20 7946 0958, DOB 12/03/1985." },
      ];
      i["transcript"]["summary"] = "Caller (alex@example.com) asked for branch hours.";
    });
    const t = obj(built.envelope["transcript"]);
    const turns = t["turns"] as JsonObject[];
    expect(turns[0]!["text"]).toBe("My card is [REDACTED:pan] and my email is [REDACTED:email]");
    expect(turns[1]!["text"]).toBe("Call me on [REDACTED:phone], DOB [REDACTED:dob].");
    expect(t["summary"]).toBe("Caller ([REDACTED:email]) asked for branch hours.");
    expect(t["format"]).toBe("ohp.turns/v1");
    expect(built.redactions).toEqual([
      { pointer: "/transcript/turns/0/text", tag: "pan" },
      { pointer: "/transcript/turns/0/text", tag: "email" },
      { pointer: "/transcript/turns/1/text", tag: "phone" },
      { pointer: "/transcript/turns/1/text", tag: "dob" },
      { pointer: "/transcript/summary", tag: "email" },
    ]);
  });

  it("§3.1 PII in intent.slots is refused at every tier (ERR_OHP_EMIT_PII_OUTSIDE_SEALED)", async () => {
    for (const tier of ["core", "sealed"] as const) {
      const e = await expectCode(build(tier, (i) => void (i["intent"]["slots"]["contact"] = "alex@example.com")), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
      expect(e.detail).toMatchObject({ pointer: "/intent/slots/contact", tag: "email", by: "value" });
    }
  });

  it("D06 a raw PAN in a slot is refused (card data only as an opaque card.ref token)", async () => {
    const e = await expectCode(build("sealed", (i) => void (i["intent"]["slots"]["card"] = { number: "4111111111111111" })), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
    expect(e.detail).toMatchObject({ pointer: "/intent/slots/card/number", tag: "pan" });
    const n = await expectCode(build("sealed", (i) => void (i["intent"]["slots"]["card"] = { n: 4111111111111111 })), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
    expect(n.detail?.["tag"]).toBe("pan");
  });

  it("D04 sensitive member names (dateOfBirth, cvv, …) are refused in the clear whatever their value looks like", async () => {
    const e = await expectCode(build("core", (i) => void (i["intent"]["slots"]["dateOfBirth"] = "1985-03-12")), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
    expect(e.detail).toMatchObject({ pointer: "/intent/slots/dateOfBirth", tag: "dob", by: "member" });
    const cvv = await expectCode(build("core", (i) => void (i["intent"]["slots"]["cvv"] = "123")), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
    expect(cvv.detail?.["tag"]).toBe("cvv");
  });

  it("D06 PII memory facts are refused (they belong in sealed)", async () => {
    const e = await expectCode(build("sealed", (i) => void (i["memory"]["facts"] = ["phone 07700 900123"])), "ERR_OHP_EMIT_PII_OUTSIDE_SEALED");
    expect(e.detail).toMatchObject({ pointer: "/memory/facts/0", tag: "phone" });
  });

  it("§5.3 the same PII is accepted once seal.move takes it out of the clear part", async () => {
    const built = await build(
      "sealed",
      (i) => void (i["intent"]["slots"]["contact"] = { email: "alex@example.com" }),
      { seal: { recipients: [receiver.x25519.publicJwk], move: ["intent.slots.contact"], fields: SEALED_FIELDS } },
    );
    expect(hasFieldPath(built.envelope, "intent.slots.contact")).toBe(false);
    expect(built.sealedFields).toContain("intent.slots.contact");
    const opened = await openEnvelope(built.envelope, receiver.all);
    expect(opened.fields["intent.slots.contact"]).toEqual({ email: "alex@example.com" });
  });

  it("redaction: false leaves transcripts untouched, and the clear-part scan then refuses them", async () => {
    const e = await expectCode(
      build("core", (i) => void (i["transcript"]["summary"] = "Caller alex@example.com asked for hours"), { redaction: false }),
      "ERR_OHP_EMIT_PII_OUTSIDE_SEALED",
    );
    expect(e.detail?.["pointer"]).toBe("/transcript/summary");
  });

  it("piiScanExempt skips a reviewed member", async () => {
    const built = await build("core", (i) => void (i["intent"]["slots"]["supportMailbox"] = "help@vendor-a.example"), {
      piiScanExempt: ["/intent/slots/supportMailbox"],
    });
    expect(obj(obj(built.envelope["intent"])["slots"])["supportMailbox"]).toBe("help@vendor-a.example");
  });

  it("the upstream example envelopes have no clear-part findings (no false positives on ids, hashes, DIDs, times)", () => {
    for (const f of [CORE, SIGNED, SEALED, REGULATED]) expect(scanClearPart(example(f)), f).toEqual([]);
  });
});

describe("Redaction detectors (D06 [REDACTED:<tag>])", () => {
  const redact = (s: string): string => redactTranscript(s).text;

  it("pan: Luhn-valid 13-19 digit card numbers, grouped or not; Luhn failures and all-same digits are kept", () => {
    expect(redact("card 4111 1111 1111 1111 ok")).toBe("card [REDACTED:pan] ok");
    expect(redact("card 4111-1111-1111-1111.")).toBe("card [REDACTED:pan].");
    expect(redact("5500005555555559")).toBe("[REDACTED:pan]");
    expect(redact("card 4111 1111 1111 1112")).toBe("card 4111 1111 1111 1112");
    expect(redact("0000000000000000")).toBe("0000000000000000");
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
  });

  it("iban: mod-97 valid, compact or grouped", () => {
    expect(redact("IBAN GB82 WEST 1234 5698 7654 32 please")).toBe("IBAN [REDACTED:iban] please");
    expect(redact("DE89370400440532013000")).toBe("[REDACTED:iban]");
    expect(ibanValid("GB82WEST12345698765433")).toBe(false);
    expect(redact("GB82WEST12345698765433")).toBe("GB82WEST12345698765433");
  });

  it("ssn and nino", () => {
    expect(redact("SSN 123-45-6789")).toBe("SSN [REDACTED:ssn]");
    expect(redact("SSN 000-45-6789")).toBe("SSN 000-45-6789");
    expect(redact("NI AB 12 34 56 C thanks")).toBe("NI [REDACTED:nino] thanks");
    expect(redact("NI QQ 12 34 56 C")).toBe("NI QQ 12 34 56 C"); // QQ: HMRC example prefix, never issued
    expect(redact("ref GB123456A")).toBe("ref GB123456A");
  });

  it("email and phone (international, UK national, North American)", () => {
    expect(redact("write to alex.smith+x@mail.example.co.uk.")).toBe("write to [REDACTED:email].");
    expect(redact("+44 20 7946 0958")).toBe("[REDACTED:phone]");
    expect(redact("ring 07700 900123 or 020 7946 0958")).toBe("ring [REDACTED:phone] or [REDACTED:phone]");
    expect(redact("(415) 555-2671")).toBe("[REDACTED:phone]");
  });

  it("dob: only a date introduced by a birth keyword; the keyword stays", () => {
    expect(redact("date of birth: 1985-03-12")).toBe("date of birth: [REDACTED:dob]");
    expect(redact("born on 12 March 1985")).toBe("born on [REDACTED:dob]");
    expect(redact("DOB is March 12, 1985")).toBe("DOB is [REDACTED:dob]");
    expect(redact("appointment on 12/03/2026")).toBe("appointment on 12/03/2026");
  });

  it("conservative: times, ids, amounts, hashes, postcodes and existing markers are not touched", () => {
    for (const s of [
      "2026-05-28T15:06:00.123Z",
      "cse_01HZX0R5N9V8W1QYK0XQM3R3K9",
      "dec_01HZX1A0R5N9V8W1QYK0XQM3R3",
      "raising chargeback for ch_7781 (GBP 42.50)",
      "sha256:c4b9d8e1a2f3046789ab4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9012345678abcd",
      "opening hours of EC1A 1BB branch",
      "Yes, ending [REDACTED:pan-last4].",
      "order 12345, confidence 0.93",
      "9f3b1a2c4d5e6f70",
    ]) {
      expect(redact(s), s).toBe(s);
    }
  });

  it("overlapping detections: the earliest, longest span wins, offsets refer to the input", () => {
    const text = "pay 4111111111111111 now";
    expect(detectPii(text)).toEqual([{ tag: "pan", category: "pci", start: 4, end: 20 }]);
    expect(DEFAULT_PII_DETECTORS.map((d) => d.tag)).toEqual(["pan", "iban", "ssn", "nino", "email", "dob", "phone", "phone", "phone"]);
  });

  it("custom detectors replace the defaults", () => {
    const r = redactTranscript("patient Jamie Smith", [{ tag: "name", category: "pii", description: "test", pattern: /Jamie Smith/ }]);
    expect(r.text).toBe("patient [REDACTED:name]");
  });
});

describe("OHP §4.5 size caps", () => {
  it("§4.5 a signing surface above 8 KiB is ERR_OHP_EMIT_SIZE (what: surface)", async () => {
    const e = await expectCode(build("signed", (i) => void (i["transcript"]["summary"] = "x".repeat(9000))), "ERR_OHP_EMIT_SIZE");
    expect(e.detail).toMatchObject({ what: "surface", limit: 8192 });
  });

  it("§4.5 a JSON envelope above 32 KiB is ERR_OHP_EMIT_SIZE even when the surface fits (what: json)", async () => {
    // Control characters cost 1 byte in CBOR and 6 in JSON (\u0001).
    const e = await expectCode(build("core", (i) => void (i["transcript"]["summary"] = "\u0001".repeat(6000))), "ERR_OHP_EMIT_SIZE");
    expect(e.detail).toMatchObject({ what: "json", limit: 32768 });
    expect(e.detail?.["bytes"]).toBeGreaterThan(32768);
  });

  it("§4.5 the built envelope reports its sizes", async () => {
    const built = await build("regulated");
    expect(built.byteLength).toBe(Buffer.byteLength(built.json));
    expect(built.byteLength).toBeLessThanOrEqual(32768);
    expect(built.surface.length).toBeLessThanOrEqual(8192);
  });
});

describe("CR emit-positive expectations", () => {
  it("CR emit-positive: a Sealed build matches the upstream expected.json shape", async () => {
    const expected = readJson(join(UPSTREAM_OHP, "_extracted-from-markdown", "conformance--README.md--expected-emit-positive.json")) as EmitExpectation;
    const built = await build("sealed");
    expect(checkEmitExpectation(built.envelope, expected)).toEqual({ ok: true, problems: [] });
    expect(checkEmitExpectation((await build("signed")).envelope, expected).problems).toEqual([
      "conformance is signed, expected sealed",
      "missing caller.identity.sdJwtVc",
      "missing sealed.ciphertext",
    ]);
  });

  it("CR emit-positive: sealed names are absent from the clear part", async () => {
    const built = await build("sealed", undefined, {
      seal: { recipients: [receiver.x25519.publicJwk], move: ["caller.identity.disclosures"], fields: SEALED_FIELDS },
    });
    const r = checkEmitExpectation(built.envelope, {
      outcome: "emit",
      tier: "sealed",
      verb: "PROPOSE",
      shouldContainFields: ["caller.identity.sdJwtVc", "sealed.fields", "audience.recipientKeys.0.kid"],
      shouldNotContainFields: ["caller.identity.disclosures", "payment.disputeDetail", "caller.vulnerable"],
    });
    expect(r).toEqual({ ok: true, problems: [] });
  });

  it("fieldPaths lists every member and index as a dotted path", () => {
    expect(fieldPaths({ a: { b: [1, { c: true }] }, d: null })).toEqual(["a", "a.b", "a.b.0", "a.b.1", "a.b.1.c", "d"]);
    expect(hasFieldPath({ a: { b: "s" } }, "a.b.c")).toBe(false);
    expect(hasFieldPath({ a: [{ b: 1 }] }, "a.0.b")).toBe(true);
  });
});
