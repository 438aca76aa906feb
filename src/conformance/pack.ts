/**
 * The agentwire signed OHP vector pack: real Ed25519 + ML-DSA-65 signatures, real HPKE, real
 * SD-JWT VCs and proofs, from the deterministic synthetic keys of {@link createWorld}. Layout
 * (the upstream conformance layout, plus a receiver context per vector):
 *
 *   <out>/keys/{issuer,idp,receiver}.{private,public}.jwks.json   synthetic, never for production
 *   <out>/<tier>/<NN-name>/envelope.json, envelope.cbor, expected.json, context.json, README.md
 *   <out>/<tier>/<NN-name>/input.json                             (emit / refuse vectors)
 *
 * Regenerate with `agentwire conformance pack <out>` (`npm run vectors`). Keys, ids and nonces
 * are deterministic; HPKE and ML-DSA signing are randomised, so bytes change on regeneration
 * while every outcome stays the same.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeCanonical, type CborValue } from "../cbor/index.js";
import { signDetached } from "../crypto/jws.js";
import { ALG_EDDSA } from "../crypto/jwk.js";
import { keyPairFromSeed, privateJwks, publicJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import type { JsonObject, JsonValue } from "../json/types.js";
import { recordProofPayload } from "../ohp/proofs.js";
import type { RejectReason } from "../ohp/reasons.js";
import { envelopeCbor } from "../ohp/surface.js";
import type { Tier } from "../ohp/tiers.js";
import { builderInputOf, createWorld, WORLD_IDP, WORLD_POLICY, type EnvelopeOptions, type World } from "./world.js";
import { baseEnvelope } from "./templates.js";

/* The vectors manipulate untyped JSON by design. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface PipelineSpec {
  readonly kind: "pipeline";
  readonly tier: Tier;
  readonly name: string;
  readonly proves: string;
  readonly trace: string;
  readonly envelope?: EnvelopeOptions;
  readonly context?: (ctx: Json, env: Json) => void;
  readonly nowOffsetSeconds?: number;
  readonly expect: { readonly outcome: "accept" } | { readonly outcome: "reject"; readonly rejectReason: RejectReason; readonly firstFailingStep: number; readonly check: string };
}

interface EmitSpec {
  readonly kind: "emit";
  readonly tier: Tier;
  readonly name: string;
  readonly proves: string;
  readonly trace: string;
  readonly input?: (input: Json) => void;
  readonly expected: JsonObject;
}

type Spec = PipelineSpec | EmitSpec;

const reject = (rejectReason: RejectReason, firstFailingStep: number, check: string) => ({ outcome: "reject" as const, rejectReason, firstFailingStep, check });
const ACCEPT = { outcome: "accept" as const };

function specs(world: World, forger: PrivateKeyRecord): readonly Spec[] {
  const divergentSignature = (e: Json): void => {
    // A sender that signs the JSON data model without the tag-0 wrapping the surface requires.
    const plain = { ...e, signatures: [] } as unknown as CborValue;
    e["signatures"][0].jws = signDetached(encodeCanonical(plain), world.keys.issuerEd);
  };
  const forgeArt50Proof = (e: Json): void => {
    const art50 = e["governance"].art50Disclosure as JsonObject;
    art50["proofJws"] = signDetached(recordProofPayload(art50, "proofJws"), forger);
  };
  return [
  // ---- accept-positive
  { kind: "pipeline", tier: "core", name: "accept-minimal", proves: "a fresh Core envelope is accepted", trace: "§4.2, D09 3-4", expect: ACCEPT },
  { kind: "pipeline", tier: "signed", name: "accept-eddsa", proves: "a Signed envelope with a real EdDSA detached JWS over the canonical CBOR surface is accepted", trace: "§5.1-5.2, D09 1-2", expect: ACCEPT },
  { kind: "pipeline", tier: "sealed", name: "accept-hpke-open", proves: "a Sealed envelope is accepted and the receiver opens its HPKE slot (payment.disputeDetail, caller.vulnerable)", trace: "§5.3, §6.4, D09 13", expect: ACCEPT },
  { kind: "pipeline", tier: "regulated", name: "accept-full", proves: "a Regulated envelope passes all 14 D09 steps with every hook supplied", trace: "D09 1-14", expect: ACCEPT },
  { kind: "pipeline", tier: "regulated", name: "hybrid-pq-sig-roundtrip", proves: "EdDSA and ML-DSA-65 signatures both verify (hybrid AND)", trace: "§5.1, D09 2", expect: ACCEPT },
  {
    kind: "pipeline", tier: "regulated", name: "incident-verb", proves: "an INCIDENT envelope (Art 73 category in control.reason) is received like any other verb", trace: "§8, D09",
    envelope: { edit: (e: Json) => { e["control"].verb = "INCIDENT"; e["control"].reason = "art73.serious-incident"; } }, expect: ACCEPT,
  },
  // ---- accept-negative, pre-checks (step 0)
  { kind: "pipeline", tier: "core", name: "missing-id", proves: "an envelope without id fails the schema", trace: "§4.1, schema", envelope: { after: (e: Json) => delete e["id"] }, expect: reject("unknown", 0, "schema") },
  { kind: "pipeline", tier: "signed", name: "tier-mismatch", proves: "conformance below audience.minTier is tier-insufficient", trace: "§3.2 tier gate", envelope: { edit: (e: Json) => (e["audience"].minTier = "sealed") }, expect: reject("tier-insufficient", 0, "tier-gate") },
  { kind: "pipeline", tier: "regulated", name: "tier-above-receiver-max", proves: "conformance above the receiver's maxTier is tier-insufficient", trace: "§3.2, §11", context: (c) => (c["policy"].maxTier = "sealed"), expect: reject("tier-insufficient", 0, "tier-gate") },
  { kind: "pipeline", tier: "signed", name: "control-verb-mismatch", proves: "a binding that announces ACCEPT for a PROPOSE envelope is rejected", trace: "§7 verb echo", context: (c) => (c["expected"] = { verb: "ACCEPT" }), expect: reject("unknown", 0, "echo") },
  { kind: "pipeline", tier: "signed", name: "pii-into-non-sealed", proves: "a card number in the clear part is rejected", trace: "§3.1", envelope: { edit: (e: Json) => (e["transcript"].summary += " Card 4111 1111 1111 1111.") }, expect: reject("unknown", 0, "content") },
  { kind: "pipeline", tier: "signed", name: "rate-limit", proves: "an issuer kid over its rate limit is rejected", trace: "§5.10", context: (c) => (c["rateLimitExceeded"] = true), expect: reject("rate-limit", 0, "rate-limit") },
  { kind: "pipeline", tier: "signed", name: "replayed-id-nonce", proves: "an (id, nonce) seen before is a replay", trace: "§8 idempotency", context: (c) => (c["seenBefore"] = true), expect: reject("unknown", 0, "replay") },
  // ---- steps 1-2
  { kind: "pipeline", tier: "sealed", name: "issuer-refused-by-federation", proves: "a federation refusal for a non-crypto reason is unknown at step 1", trace: "D09 1", context: (c) => (c["issuer"] = { refused: true, reason: "unknown", message: "membership suspended" }), expect: reject("unknown", 1, "issuer") },
  { kind: "pipeline", tier: "signed", name: "tampered-payload", proves: "any change after signing fails the signature", trace: "§5.2, D09 2", envelope: { after: (e: Json) => (e["transcript"].summary += ".") }, expect: reject("signature-invalid", 2, "signatures") },
  {
    kind: "pipeline", tier: "signed", name: "revoked-kid", proves: "a signature by a revoked kid fails", trace: "§5.9, D09 2",
    context: (c) => (c["issuer"].jwks = "../../keys/issuer-revoked.public.jwks.json"), expect: reject("signature-invalid", 2, "signatures"),
  },
  { kind: "pipeline", tier: "regulated", name: "pq-half-stripped", proves: "a Regulated envelope without its ML-DSA-65 half fails", trace: "§5.1, D09 2", envelope: { after: (e: Json) => (e["signatures"] = e["signatures"].filter((s: Json) => s["alg"] === "EdDSA")) }, expect: reject("signature-invalid", 2, "signatures") },
  { kind: "pipeline", tier: "signed", name: "canonicalisation-divergence", proves: "a signature over a non-canonical surface (no tag 0, JSON numbers as given) does not verify", trace: "§5.2, D09 2", envelope: { after: divergentSignature }, expect: reject("signature-invalid", 2, "signatures") },
  // ---- steps 3-6
  { kind: "pipeline", tier: "core", name: "stale", proves: "an envelope received after notAfter + 5 s is stale", trace: "§4.4, D09 3", nowOffsetSeconds: 600, expect: reject("stale", 3, "freshness") },
  { kind: "pipeline", tier: "signed", name: "call-id-mismatch", proves: "session.callId must equal the live Call-ID", trace: "D09 4", context: (c) => (c["live"].callId = "callid_other_leg"), expect: reject("not-bound-to-call", 4, "call-binding") },
  { kind: "pipeline", tier: "sealed", name: "rtp-fingerprint-mismatch", proves: "session.media.rtpFingerprint must equal the live audio's", trace: "§9, D09 4", context: (c) => (c["live"].rtpFingerprint = `sha256:${"1".repeat(64)}`), expect: reject("not-bound-to-call", 4, "call-binding") },
  { kind: "pipeline", tier: "sealed", name: "consent-out-of-scope", proves: "a consent scope beyond its receipt is rejected", trace: "D09 5", context: (c) => c["consentReceipts"].forEach((r: Json) => (r["scope"] = ["transcript.summary"])), expect: reject("consent-out-of-scope", 5, "consent") },
  { kind: "pipeline", tier: "sealed", name: "sd-jwt-claim-tampered", proves: "a changed SD-JWT disclosure has no digest in _sd", trace: "RFC 9901, D09 6", envelope: { edit: tamperDisclosure }, expect: reject("assurance-insufficient", 6, "assurance") },
  { kind: "pipeline", tier: "sealed", name: "assurance-above-idp-cap", proves: "an IdP may not assert more than its federation cap", trace: "D04, D09 6", context: (c) => (c["idps"][0].caps = { ial: "IAL1", aal: "AAL1", fal: "FAL1" }), expect: reject("assurance-insufficient", 6, "assurance") },
  // ---- Regulated gates 7-12, 14
  { kind: "pipeline", tier: "regulated", name: "stale-aiia", proves: "a high-risk AIIA reviewed more than 12 months before issuedAt is rejected", trace: "§6.2, D09 7", envelope: { edit: (e: Json) => (e["governance"].aiia.lastReviewedAt = "2025-01-15") }, expect: reject("risk-class-not-allowed", 7, "high-risk-prerequisites") },
  { kind: "pipeline", tier: "regulated", name: "art50-disclosure-missing", proves: "a high-risk envelope whose AI disclosure was not made is rejected", trace: "§6.2 Art 50, D09 7", envelope: { edit: (e: Json) => (e["governance"].art50Disclosure.disclosed = false) }, expect: reject("risk-class-not-allowed", 7, "high-risk-prerequisites") },
  { kind: "pipeline", tier: "regulated", name: "prohibited-flag", proves: "a prohibited practice flag rejects regardless of the rest", trace: "§6.2, D09 8", envelope: { edit: (e: Json) => (e["governance"].prohibited.subliminalManipulation = true) }, expect: reject("prohibited-practice", 8, "prohibited-practices") },
  { kind: "pipeline", tier: "regulated", name: "annex-iii-not-allowlisted", proves: "an Annex III clause outside the receiver's allowlist is rejected", trace: "§11, D09 9", context: (c) => (c["policy"].annexIIIAllowed = ["4(a)"]), expect: reject("risk-class-not-allowed", 9, "annex-iii") },
  { kind: "pipeline", tier: "regulated", name: "art50-proof-invalid", proves: "an Art 50 disclosure proof not signed by the issuer is rejected", trace: "D09 10", envelope: { afterProofs: forgeArt50Proof }, expect: reject("signature-invalid", 10, "art50-disclosure") },
  { kind: "pipeline", tier: "regulated", name: "oversight-mode-insufficient", proves: "oversight weaker than the receiver requires is rejected", trace: "§6.3, D09 11", context: (c) => (c["policy"].oversightMinimum = "human-in-the-loop"), expect: reject("oversight-missing", 11, "oversight") },
  { kind: "pipeline", tier: "regulated", name: "gpai-systemic-no-policy", proves: "a systemic-risk GPAI without policyUrl is rejected", trace: "§6.1, D09 12", envelope: { edit: (e: Json) => delete e["aiSystem"].gpaiChain[0].policyUrl }, expect: reject("gpai-policy-missing", 12, "gpai") },
  { kind: "pipeline", tier: "regulated", name: "anchor-refused", proves: "a log that refuses the entry fails step 14", trace: "§5.7, D09 14", context: (c) => (c["anchor"] = { ok: false, message: "log unavailable" }), expect: reject("unknown", 14, "anchor") },
  // ---- emit
  { kind: "emit", tier: "core", name: "emit-core", proves: "the builder emits a Core envelope with generated id, times and nonce and no crypto members", trace: "§4.1-4.2", expected: { outcome: "emit", tier: "core", verb: "PROPOSE", shouldContainFields: ["id", "issuedAt", "notAfter", "control.nonce", "transcript.summary"], shouldNotContainFields: ["signatures", "sealed", "caller.assurance"] } },
  { kind: "emit", tier: "signed", name: "emit-signed", proves: "the builder emits a Signed envelope with one EdDSA signature", trace: "§4.2, §5.1", expected: { outcome: "emit", tier: "signed", verb: "PROPOSE", shouldContainFields: ["signatures.0.jws", "issuer.did", "transcript.redaction"], shouldNotContainFields: ["sealed", "signatures.1"] } },
  { kind: "emit", tier: "sealed", name: "emit-sealed", proves: "the builder seals the dispute detail for the receiver and signs", trace: "§5.3, §6.4", expected: { outcome: "emit", tier: "sealed", verb: "PROPOSE", shouldContainFields: ["sealed.ciphertext", "sealed.recipients.0.enc", "audience.recipientKeys.0.kid", "signatures.0.jws"], shouldNotContainFields: ["payment.disputeDetail"] } },
  { kind: "emit", tier: "regulated", name: "emit-regulated", proves: "the builder emits a hybrid-signed Regulated envelope with leafHash and issuer proofs", trace: "§5.1, §5.7, §6", expected: { outcome: "emit", tier: "regulated", verb: "PROPOSE", shouldContainFields: ["signatures.1.jws", "transparency.leafHash", "governance.art50Disclosure.proofJws", "decisions.0.id"], shouldNotContainFields: ["healthcare.fhirRef"] } },
  { kind: "emit", tier: "core", name: "emit-refuses-pii", proves: "a workload carrying personal data is refused at Core", trace: "§3.1, CR emit-negative", input: (i) => (i["workload"] = { data: ["pii"] }), expected: { outcome: "refuse", refuseReason: "workload-requires-higher-tier", minTier: "sealed" } },
  { kind: "emit", tier: "sealed", name: "emit-refuses-high-risk-below-regulated", proves: "an EU AI Act high-risk workload is refused below Regulated", trace: "§3.1.4, §6", input: (i) => (i["workload"] = { highRiskAi: true }), expected: { outcome: "refuse", refuseReason: "workload-requires-higher-tier", minTier: "regulated" } },
];
}

function tamperDisclosure(e: Json): void {
  const identity = e["caller"].identity as Json;
  const d = JSON.parse(Buffer.from(identity["disclosures"][0], "base64url").toString("utf8")) as JsonValue[];
  d[2] = "Mallory";
  e["caller"].identity = { ...identity, disclosures: [Buffer.from(JSON.stringify(d)).toString("base64url"), ...identity["disclosures"].slice(1)] };
}

/** The receiver context (context.json) that accepts `env` in `world`. */
function baseContext(world: World, env: Json): Json {
  const media = env["session"]?.media;
  const receipts = ((env["caller"]?.consent as Json[] | undefined) ?? []).map((c) => world.consentStore.get(c["receiptId"])).filter((r) => r !== undefined);
  const ctx: Json = {
    policy: { ...WORLD_POLICY, annexIIIAllowed: [...(WORLD_POLICY.annexIIIAllowed ?? [])], intendedProcessing: [...(WORLD_POLICY.intendedProcessing ?? [])] },
    live: { callId: env["session"]?.callId, ...(media?.rtpFingerprint ? { rtpFingerprint: media.rtpFingerprint } : {}) },
    consentReceipts: receipts,
    idps: [{ id: WORLD_IDP, jwks: "../../keys/idp.public.jwks.json", caps: { ial: "IAL3", aal: "AAL3", fal: "FAL3" } }],
    receiverKeys: "../../keys/receiver.private.jwks.json",
    anchor: { ok: true },
  };
  if (env["conformance"] !== "core") ctx["issuer"] = { jwks: "../../keys/issuer.public.jwks.json", federation: { annexIIIAllowed: ["5(b)", "5(d)"], jurisdictions: ["GB"] } };
  const ai = env["aiSystem"];
  if (ai?.ceConformity?.declarationUrl) ctx["declarations"] = { [ai.ceConformity.declarationUrl]: { ok: true, modelCardSha256: ai.modelCardSha256 } };
  const gpai = ((ai?.gpaiChain as Json[] | undefined) ?? []).filter((g) => typeof g["policyUrl"] === "string");
  if (gpai.length > 0) ctx["gpaiPolicies"] = Object.fromEntries(gpai.map((g) => [g["policyUrl"], true]));
  return ctx;
}

function readme(spec: Spec, expected: JsonObject): string {
  return `# ${spec.tier}/${spec.name}\n\n${spec.proves}.\n\nSpec trace: ${spec.trace}.\n\nExpected: \`${JSON.stringify(expected)}\`\n\nGenerated by \`agentwire conformance pack\` from synthetic keys (never for production); do not edit by hand.\n`;
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + "\n";

/** Options of {@link writeOhpPack}. */
export interface PackOptions {
  /** World label (key derivation). */
  readonly label?: string;
}

/** Writes the pack to `out` (replacing it) and returns the number of vectors. */
export async function writeOhpPack(out: string, options: PackOptions = {}): Promise<number> {
  const world = createWorld(options.label === undefined ? {} : { label: options.label });
  const forger = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x66));
  const list = specs(world, forger);
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, "keys"), { recursive: true });
  const k = world.keys;
  await writeFile(join(out, "keys", "issuer.private.jwks.json"), json(privateJwks([k.issuerEd, k.issuerMl])));
  await writeFile(join(out, "keys", "issuer.public.jwks.json"), json(world.issuerJwks));
  await writeFile(join(out, "keys", "issuer-revoked.public.jwks.json"), json({ keys: world.issuerJwks.keys.map((j) => ({ ...j, revoked: true })) }));
  await writeFile(join(out, "keys", "idp.private.jwks.json"), json(privateJwks([k.idp])));
  await writeFile(join(out, "keys", "idp.public.jwks.json"), json(world.idpJwks));
  await writeFile(join(out, "keys", "receiver.private.jwks.json"), json(privateJwks([k.receiver])));
  await writeFile(join(out, "keys", "receiver.public.jwks.json"), json(publicJwks([k.receiver])));
  const counters = new Map<Tier, number>();
  for (const spec of list) {
    const n = (counters.get(spec.tier) ?? 0) + 1;
    counters.set(spec.tier, n);
    const dir = join(out, spec.tier, `${String(n).padStart(2, "0")}-${spec.name}`);
    await mkdir(dir, { recursive: true });
    if (spec.kind === "pipeline") {
      const env = (await world.envelope(spec.tier, spec.envelope ?? {})) as Json;
      const ctx = baseContext(world, env);
      spec.context?.(ctx, env);
      const now = new Date(new Date(String(env["issuedAt"] ?? world.now.toISOString())).getTime() + 2_000 + (spec.nowOffsetSeconds ?? 0) * 1000);
      const expected: JsonObject = { ...spec.expect, now: now.toISOString() };
      if (spec.tier !== "core" && spec.expect.outcome === "accept" && env["sealed"] !== undefined) {
        expected["openedSealedFields"] = [...(env["sealed"].fields as string[])];
      }
      await writeFile(join(dir, "envelope.json"), json(env));
      await writeFile(join(dir, "envelope.cbor"), envelopeCbor(env));
      await writeFile(join(dir, "context.json"), json(ctx));
      await writeFile(join(dir, "expected.json"), json(expected));
      await writeFile(join(dir, "README.md"), readme(spec, expected));
    } else {
      const input = builderInputOf(baseEnvelope(spec.tier)) as unknown as Json;
      spec.input?.(input);
      const scenario: Json = { now: world.now.toISOString(), input };
      if (spec.tier !== "core") scenario["keys"] = "../../keys/issuer.private.jwks.json";
      if (spec.tier === "sealed") {
        scenario["seal"] = { recipients: "../../keys/receiver.public.jwks.json", fields: { "payment.disputeDetail": { merchant: "Example Ltd", amountMinor: 4999, currency: "GBP" }, "caller.vulnerable": true } };
      }
      if (spec.tier === "regulated") scenario["seal"] = { recipients: "../../keys/receiver.public.jwks.json", fields: { "healthcare.fhirRef": "Patient/synthetic-001" } };
      await writeFile(join(dir, "input.json"), json(scenario));
      await writeFile(join(dir, "expected.json"), json(spec.expected));
      await writeFile(join(dir, "README.md"), readme(spec, spec.expected));
    }
  }
  await writeFile(
    join(out, "README.md"),
    `# agentwire OHP v0.1 signed vector pack\n\nReal Ed25519 + ML-DSA-65 signatures, HPKE sealing, SD-JWT VCs and issuer proofs from the\nsynthetic keys in \`keys/\` (derived from the label \`${world.label}\`; never use them in production).\nLayout: \`<tier>/<NN-name>/\` with \`envelope.json\`, \`envelope.cbor\` (canonical CBOR of the\nenvelope, tag 0 on the rfc3339 fields), \`expected.json\`, \`context.json\` (the receiver's\noutside world: policy, live leg, consent receipts, IdPs, declarations, GPAI policies, log,\nreceiver keys; format in src/conformance/context.ts) and \`README.md\`; emit vectors carry\n\`input.json\` for the builder instead.\n\nRun: \`agentwire conformance ohp test/vectors/ohp\`. Regenerate: \`npm run vectors\`.\n`,
  );
  return list.length;
}

/** The specs' names per tier, for tests. */
export function packVectorNames(): readonly string[] {
  const world = createWorld();
  return specs(world, world.keys.issuerEd).map((s) => `${s.tier}/${s.name}`);
}
