/**
 * The OHP conformance runner (the v0.2 "RR" runner the spec promises): walks
 * `<dir>/<tier>/<NN-name>/` up to a claimed tier, runs each vector and compares with its
 * `expected.json`. Outcomes:
 *
 * - `accept` / `reject`: the receiver pipeline with the vector's `now`, and its receiver context
 *   (`context.json`, see ./context.ts). Vectors without a context are upstream v0.1 vectors: the
 *   runner defaults the context (live leg = the envelope's own, stub issuer, Annex III allowlist
 *   = the envelope's clause, lenient tier completeness) and treats placeholder signatures and
 *   proofs as "verification deferred" with a warning (OHP conformance rule VR signed/01).
 *   `rejectReason` and `firstFailingStep` must match when given; `openedSealedFields` must have
 *   been opened.
 * - `emit` / `refuse`: the builder with `input.json`; `shouldContainFields` /
 *   `shouldNotContainFields`, or `refuseReason` and `minTier`.
 * - `structural-only`: schema validity, the tier, `regulatedBlocksPresent`,
 *   `signatureAlgsPresent` and (with `now`) freshness.
 */
import { readdir, readFile, mkdir, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseJwks, parsePrivateJwks } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { buildEnvelope, checkEmitExpectation, hasFieldPath, refusalOf, type EnvelopeInput, type SealInput } from "../ohp/builder.js";
import { isTier, TIERS, tierAtLeast, type Tier } from "../ohp/tiers.js";
import { verifyEnvelope, type VerifyEnvelopeOptions, type VerifyEnvelopeResult } from "../ohp/verify.js";
import { validateDocument } from "../validate.js";
import { contextOptions } from "./context.js";

/** The result of one vector. */
export interface VectorResult {
  readonly tier: Tier;
  readonly name: string;
  readonly pass: boolean;
  readonly outcome: string;
  readonly expected: JsonObject;
  readonly actual: JsonObject;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Options of {@link runOhpConformance}. */
export interface ConformanceOptions {
  /** Claimed tier: runs its vectors and every lower tier's. Default: every tier present. */
  readonly tier?: Tier;
  /** Writes `results/<tier>/<vector>.json` here when given. */
  readonly resultsDir?: string;
  /** Only vectors whose `<tier>/<name>` contains this text. */
  readonly filter?: string;
}

/** Summary of a run. */
export interface ConformanceSummary {
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly VectorResult[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJsonFile(path: string): Promise<JsonValue> {
  return parseJsonStrict(await readFile(path, "utf8"));
}

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function dateOf(value: JsonValue | undefined): Date | undefined {
  if (typeof value !== "string") return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The upstream-v0.1 receiver context (no context.json): see the module comment. */
function upstreamProfile(envelope: JsonValue): VerifyEnvelopeOptions {
  const env = obj(envelope) ?? {};
  const session = obj(env["session"]);
  const media = obj(session?.["media"]);
  const clause = obj(env["aiSystem"])?.["annexIIIClause"];
  const callId = typeof session?.["callId"] === "string" ? session["callId"] : undefined;
  const rtp = typeof media?.["rtpFingerprint"] === "string" ? media["rtpFingerprint"] : undefined;
  return {
    deferPlaceholderSignatures: true,
    policy: { tierCompleteness: "warn", annexIIIAllowed: typeof clause === "string" ? [clause] : [], requireHooks: false },
    hooks: {
      resolveIssuer: () => ({ keys: { keys: [] } }),
      liveCall: () => ({ ...(callId === undefined ? {} : { callId }), ...(rtp === undefined ? {} : { rtpFingerprint: rtp }) }),
    },
  };
}

function pipelineActual(r: VerifyEnvelopeResult): JsonObject {
  const out: JsonObject = { outcome: r.outcome, rejectReason: r.rejectReason, firstFailingStep: r.firstFailingStep, check: r.check };
  if (r.detail) out["detail"] = JSON.parse(JSON.stringify(r.detail)) as JsonValue;
  if (r.sealed) out["openedSealedFields"] = Object.keys(r.sealed.fields).sort();
  if (r.unverified.length > 0) out["unverified"] = [...r.unverified];
  return out;
}

async function runPipelineVector(dir: string, expected: JsonObject, problems: string[], warnings: string[]): Promise<JsonObject> {
  const text = await readFile(join(dir, "envelope.json"), "utf8");
  let envelope: JsonValue;
  try {
    envelope = parseJsonStrict(text);
  } catch (e) {
    return { outcome: "reject", rejectReason: "unknown", firstFailingStep: 0, check: "schema", detail: { code: isAgentwireError(e) ? e.code : "ERR_JSON", message: (e as Error).message } };
  }
  let options: VerifyEnvelopeOptions;
  if (await exists(join(dir, "context.json"))) {
    options = await contextOptions(await readJsonFile(join(dir, "context.json")), (p) => readFile(join(dir, p), "utf8"));
  } else {
    options = upstreamProfile(envelope);
    warnings.push("no context.json: upstream v0.1 receiver context assumed (live leg matches, stub issuer, placeholder crypto deferred)");
  }
  const env = obj(envelope);
  const now = dateOf(expected["now"]) ?? dateOf(env?.["issuedAt"]);
  const result = await verifyEnvelope(envelope, { ...options, byteLength: options.byteLength ?? Buffer.byteLength(text, "utf8"), ...(now ? { now } : {}) });
  warnings.push(...result.warnings);
  const actual = pipelineActual(result);
  if (result.outcome !== expected["outcome"]) problems.push(`outcome ${result.outcome}, expected ${String(expected["outcome"])}${result.detail ? `: ${result.detail.message}` : ""}`);
  if (expected["outcome"] === "reject") {
    if (expected["rejectReason"] !== undefined && expected["rejectReason"] !== result.rejectReason) {
      problems.push(`rejectReason ${String(result.rejectReason)}, expected ${String(expected["rejectReason"])}`);
    }
    if (expected["firstFailingStep"] !== undefined && expected["firstFailingStep"] !== result.firstFailingStep) {
      problems.push(`firstFailingStep ${String(result.firstFailingStep)}, expected ${String(expected["firstFailingStep"])}`);
    }
    if (expected["check"] !== undefined && expected["check"] !== result.check) problems.push(`check ${String(result.check)}, expected ${String(expected["check"])}`);
  }
  const opened = expected["openedSealedFields"];
  if (Array.isArray(opened)) {
    const got = new Set(result.sealed ? Object.keys(result.sealed.fields) : []);
    const missing = opened.filter((f) => typeof f !== "string" || !got.has(f));
    if (missing.length > 0) problems.push(`sealed fields not opened: ${missing.join(", ")}`);
  }
  if (expected["signatureVerifyRequired"] === true && result.warnings.some((w) => w.includes("verification deferred"))) {
    warnings.push("signatureVerifyRequired: placeholder signatures, verification deferred (v0.1 vector)");
  }
  return actual;
}

async function runStructuralVector(dir: string, tier: Tier, expected: JsonObject, problems: string[], warnings: string[]): Promise<JsonObject> {
  const envelope = await readJsonFile(join(dir, "envelope.json"));
  const env = obj(envelope) ?? {};
  const validation = validateDocument(envelope, { schema: "ohp-envelope" });
  const actual: JsonObject = { outcome: "structural-only", schemaValid: validation.valid, tier: String(env["conformance"]) };
  if (expected["schemaValid"] !== undefined && expected["schemaValid"] !== validation.valid) {
    problems.push(`schemaValid ${validation.valid}, expected ${String(expected["schemaValid"])}: ${validation.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")}`);
  }
  if (env["conformance"] !== tier) problems.push(`conformance ${String(env["conformance"])} is not the directory's tier ${tier}`);
  const blocks = expected["regulatedBlocksPresent"];
  if (Array.isArray(blocks)) {
    const absent = blocks.filter((b) => typeof b !== "string" || !hasFieldPath(env, b));
    if (absent.length > 0) problems.push(`blocks absent: ${absent.join(", ")}`);
  }
  const algs = expected["signatureAlgsPresent"];
  if (Array.isArray(algs)) {
    const present = new Set((Array.isArray(env["signatures"]) ? env["signatures"] : []).map((s) => (isJsonObject(s) ? s["alg"] : undefined)));
    const absent = algs.filter((a) => !present.has(a));
    if (absent.length > 0) problems.push(`signature algorithms absent: ${absent.join(", ")}`);
  }
  if (expected["freshnessOk"] === true) {
    const now = dateOf(expected["now"]);
    const r = await verifyEnvelope(envelope, { ...upstreamProfile(envelope), ...(now ? { now } : {}) });
    const stale = r.steps.find((s) => s.name === "freshness");
    actual["freshnessOk"] = stale?.status === "pass";
    if (stale?.status !== "pass") problems.push(`freshness failed: ${r.detail?.message ?? "not reached"}`);
  }
  warnings.push("structural-only vector (v0.1): cryptographic checks deferred upstream");
  return actual;
}

async function runEmitVector(dir: string, expected: JsonObject, problems: string[]): Promise<JsonObject> {
  const scenario = obj(await readJsonFile(join(dir, "input.json")));
  if (scenario === undefined || !isJsonObject(scenario["input"])) throw new Error("input.json must be {input, now?, keys?, seal?}");
  const read = async (v: JsonValue | undefined): Promise<JsonValue | undefined> => (typeof v === "string" ? readJsonFile(join(dir, v)) : v);
  const keysDoc = await read(scenario["keys"]);
  const keys = keysDoc === undefined ? [] : parsePrivateJwks(keysDoc);
  const sealDoc = obj(scenario["seal"]);
  let seal: SealInput | undefined;
  if (sealDoc !== undefined) {
    const recipients = parseJwks(await read(sealDoc["recipients"])).keys.filter((k) => k.use === "enc");
    seal = {
      recipients,
      ...(Array.isArray(sealDoc["move"]) ? { move: sealDoc["move"].map(String) } : {}),
      ...(isJsonObject(sealDoc["fields"]) ? { fields: sealDoc["fields"] } : {}),
    };
  }
  const now = dateOf(scenario["now"]) ?? dateOf(expected["now"]) ?? new Date();
  try {
    const built = await buildEnvelope(scenario["input"] as unknown as EnvelopeInput, {
      keys,
      ...(seal ? { seal } : {}),
      anchor: false,
      now: () => now,
    });
    const actual: JsonObject = { outcome: "emit", tier: built.tier, verb: String(obj(built.envelope["control"])?.["verb"]) };
    if (expected["outcome"] !== "emit") {
      problems.push(`emitted a ${built.tier} envelope, expected ${String(expected["outcome"])}`);
      return actual;
    }
    const check = checkEmitExpectation(built.envelope, expected as never);
    problems.push(...check.problems);
    return actual;
  } catch (e) {
    const refusal = refusalOf(e);
    const actual: JsonObject = refusal
      ? { outcome: "refuse", refuseReason: refusal.refuseReason, minTier: refusal.minTier }
      : { outcome: "error", code: isAgentwireError(e) ? e.code : "ERR_INTERNAL", message: (e as Error).message };
    if (expected["outcome"] !== "refuse") problems.push(`builder failed: ${(e as Error).message}`);
    else if (refusal === undefined) problems.push(`builder failed without a refusal: ${(e as Error).message}`);
    else {
      if (expected["refuseReason"] !== undefined && expected["refuseReason"] !== refusal.refuseReason) problems.push(`refuseReason ${refusal.refuseReason}`);
      if (expected["minTier"] !== undefined && expected["minTier"] !== refusal.minTier) problems.push(`minTier ${refusal.minTier}, expected ${String(expected["minTier"])}`);
    }
    return actual;
  }
}

/** Runs one vector directory. */
export async function runVector(dir: string, tier: Tier, name: string): Promise<VectorResult> {
  const problems: string[] = [];
  const warnings: string[] = [];
  let expected: JsonObject = {};
  let actual: JsonObject = {};
  try {
    expected = obj(await readJsonFile(join(dir, "expected.json"))) ?? {};
    const outcome = expected["outcome"];
    if (outcome === "accept" || outcome === "reject") actual = await runPipelineVector(dir, expected, problems, warnings);
    else if (outcome === "emit" || outcome === "refuse") actual = await runEmitVector(dir, expected, problems);
    else if (outcome === "structural-only") actual = await runStructuralVector(dir, tier, expected, problems, warnings);
    else problems.push(`unknown expected outcome ${JSON.stringify(outcome)}`);
  } catch (e) {
    problems.push(`vector could not run: ${(e as Error).message}`);
  }
  return { tier, name, pass: problems.length === 0, outcome: String(expected["outcome"]), expected, actual, problems, warnings };
}

/** Runs every vector of `dir` up to the claimed tier; never throws for a failing vector. */
export async function runOhpConformance(dir: string, options: ConformanceOptions = {}): Promise<ConformanceSummary> {
  const results: VectorResult[] = [];
  for (const tier of TIERS) {
    if (options.tier !== undefined && !tierAtLeast(options.tier, tier)) continue;
    const tierDir = join(dir, tier);
    if (!(await exists(tierDir))) continue;
    const names = (await readdir(tierDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    for (const name of names) {
      if (options.filter !== undefined && !`${tier}/${name}`.includes(options.filter)) continue;
      const r = await runVector(join(tierDir, name), tier, name);
      results.push(r);
      if (options.resultsDir !== undefined) {
        await mkdir(join(options.resultsDir, tier), { recursive: true });
        await writeFile(join(options.resultsDir, tier, `${name}.json`), JSON.stringify(r, null, 2) + "\n");
      }
    }
  }
  const passed = results.filter((r) => r.pass).length;
  return { passed, failed: results.length - passed, results };
}

/** True when `value` names a tier (for CLI parsing). */
export function parseTierOption(value: string | undefined): Tier | undefined {
  if (value === undefined) return undefined;
  if (!isTier(value)) throw new RangeError(`--tier must be one of ${TIERS.join(", ")}`);
  return value;
}
