/**
 * Fuzzing the OHP receive side: the D09 pipeline (src/ohp/verify.ts verifyEnvelope), the
 * protobuf bridge (src/ohp/proto-json.ts), the canonical CBOR surface (src/ohp/surface.ts), the
 * `ohp/ws` frame parser and the `ohp/https` transfer listener.
 *
 * verifyEnvelope runs with each vector's own receiver context (test/vectors/ohp/…/context.json),
 * on mutated envelopes, half of them re-signed with the pack's issuer keys so the mutation
 * reaches the gates behind the signature step (freshness, call binding, consent, assurance and
 * SD-JWT identity, Annex III, Art 50 proofs, oversight, GPAI, HPKE decrypt, anchoring). It must
 * always resolve to accept/reject with a §8.3 reason — and its "defensive" catch-all
 * (`ERR_OHP_INTERNAL`, an untyped exception turned into a reject) counts as a finding. An
 * envelope accepted without re-signing must have the original signing surface.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { decodeCanonical, CborTag } from "../../src/cbor/index.js";
import { parsePrivateJwks, parseJwks, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import type { Jwks, PublicJwk } from "../../src/crypto/jwk.js";
import { contextOptions } from "../../src/conformance/context.js";
import { parseJsonStrict } from "../../src/json/parse.js";
import { isJsonObject, type JsonObject } from "../../src/json/types.js";
import { createOhpHttpListener } from "../../src/ohp/bindings/https.js";
import { OHP_JSON_MEDIA_TYPE } from "../../src/ohp/bindings/types.js";
import { parseOhpWsFrame } from "../../src/ohp/bindings/ws/frames.js";
import { envelopeBinaryToJson, envelopeFromJson, envelopeJsonToBinary, envelopeToJson } from "../../src/ohp/proto-json.js";
import { isRejectReason } from "../../src/ohp/reasons.js";
import { MemoryReplayStore } from "../../src/ohp/receiver-state.js";
import { detectPii, redactTranscript, scanClearPart } from "../../src/ohp/builder.js";
import { openEnvelope, sealEnvelope } from "../../src/ohp/seal.js";
import { signEnvelope } from "../../src/ohp/sign.js";
import { envelopeCbor, signingSurface } from "../../src/ohp/surface.js";
import { verifyEnvelope, type VerifyEnvelopeOptions, type VerifyEnvelopeResult } from "../../src/ohp/verify.js";
import { validateSchema } from "../../src/schema/validate.js";
import { validateDocument } from "../../src/validate.js";
import { testKeys } from "../helpers/keys.js";
import { cachedReader, ohpVectors, VECTORS_OHP, type OhpVector } from "./corpus.js";
import { chunked, invoke } from "./http-mock.js";
import { FuzzFinding, fuzz, fuzzAsync, neverThrows, neverThrowsAsync, tally, typedOrValue, typedOrValueAsync } from "./harness.js";
import { applyByteOps, applyJsonOps, applyJsonOpsAt, applyTextOps, byteOpsArb, clone, jsonOpsArb, mixedJsonOpsArb, sometimes, stringify, textOpsArb } from "./mutate.js";
import { mutateProto, protoOpsArb } from "./proto-mutate.js";

const FILE = import.meta.url;
const vectors = ohpVectors();
const issuerKeys: PrivateKeyRecord[] = parsePrivateJwks(readFileSync(join(VECTORS_OHP, "keys", "issuer.private.jwks.json"), "utf8"));
const issuerPublic: Jwks<PublicJwk> = parseJwks(readFileSync(join(VECTORS_OHP, "keys", "issuer.public.jwks.json"), "utf8"));

const contexts = new Map<string, Promise<VerifyEnvelopeOptions>>();
function baseOptions(v: OhpVector): Promise<VerifyEnvelopeOptions> {
  let p = contexts.get(v.name);
  if (p === undefined) {
    p = v.context === undefined ? Promise.resolve({ jwks: issuerPublic }) : contextOptions(v.context, cachedReader(v.dir));
    contexts.set(v.name, p);
  }
  return p;
}

/** Fresh per-case state (a shared replay store would turn every case after the first into a replay). */
function perCase(base: VerifyEnvelopeOptions, v: OhpVector, extra: Partial<VerifyEnvelopeOptions>): VerifyEnvelopeOptions {
  const replayStore = base.replayStore === undefined || base.replayStore instanceof MemoryReplayStore ? new MemoryReplayStore() : base.replayStore;
  return { ...base, replayStore, ...(v.now ? { now: v.now } : {}), ...extra };
}

function checkResult(r: VerifyEnvelopeResult, where: string): void {
  if (r === null || typeof r !== "object") throw new FuzzFinding(`${where}: not a result object`);
  tally(r.outcome === "accept" ? "accept" : `reject:${String(r.check)}:${String(r.detail?.code)}`);
  if (r.outcome === "accept") {
    expect(r.rejectReason).toBeNull();
    return;
  }
  if (r.outcome !== "reject") throw new FuzzFinding(`${where}: outcome ${String(r.outcome)}`);
  if (!isRejectReason(r.rejectReason)) throw new FuzzFinding(`${where}: reason ${String(r.rejectReason)} is not a §8.3 reason`);
  if (typeof r.firstFailingStep !== "number" || typeof r.check !== "string") throw new FuzzFinding(`${where}: reject without step/check`);
  if (r.detail?.code === "ERR_OHP_INTERNAL") throw new FuzzFinding(`${where}: an untyped exception was masked as a reject at ${r.check}: ${String(r.detail.message)}`);
  if (typeof r.detail?.code !== "string" || !/^ERR_[A-Z0-9_]+$/.test(r.detail.code)) throw new FuzzFinding(`${where}: reject without a stable code: ${JSON.stringify(r.detail)}`);
}

const signedVectors = vectors.filter((v) => v.context !== undefined);

const pipelineCase = fc.record({
  i: fc.nat(),
  ops: mixedJsonOpsArb({ jsOnly: true }),
  resign: fc.boolean(),
  withByteLength: fc.boolean(),
  defer: fc.boolean(),
  expectedVerb: sometimes(fc.constantFrom("PROPOSE", "ACCEPT", "REJECT", "INCIDENT", ""), 0.1),
});

describe("fuzz: OHP receiver pipeline (src/ohp/verify.ts)", () => {
  fuzzAsync(FILE, "verifyEnvelope: mutated vector envelopes (half re-signed) always resolve accept/reject with a §8.3 reason", pipelineCase, async ({ i, ops, resign, withByteLength, defer, expectedVerb }) => {
    const v = (resign ? signedVectors : vectors)[i % (resign ? signedVectors.length : vectors.length)] as OhpVector;
    let envelope = applyJsonOps(v.envelope, ops);
    let resigned = false;
    if (resign) {
      const s = typedOrValue("signEnvelope(mutated)", () => signEnvelope(envelope, { keys: issuerKeys }));
      if (s.ok) {
        envelope = s.value.envelope;
        resigned = true;
      }
    }
    const base = await baseOptions(v);
    const extra: Partial<VerifyEnvelopeOptions> = {
      ...(withByteLength ? { byteLength: Buffer.byteLength(stringify(envelope)) } : {}),
      ...(defer ? { deferPlaceholderSignatures: true } : {}),
      ...(expectedVerb === undefined ? {} : { expected: { ...(base.expected ?? {}), verb: expectedVerb } }),
    };
    const r = await neverThrowsAsync("verifyEnvelope", () => verifyEnvelope(envelope, perCase(base, v, extra)));
    checkResult(r, `verifyEnvelope(${v.name})`);
    if (r.outcome === "accept" && !resigned && r.tier !== "core" && !r.warnings.some((w) => w.includes("placeholder"))) {
      const before = Buffer.from(signingSurface(v.envelope)).toString("hex");
      const after = typedOrValue("signingSurface", () => Buffer.from(signingSurface(envelope)).toString("hex"));
      if (!after.ok || after.value !== before) throw new FuzzFinding(`verifyEnvelope(${v.name}) accepted an envelope whose signed content changed`);
    }
  }, { weight: 1 });

  const SECTIONS = ["/sealed", "/caller/identity", "/caller/assurance", "/caller", "/governance", "/aiSystem", "/oversight", "/transparency", "/session", "/audience", "/decisions", "/control", "/intent", "/consent", "/issuer", "/signatures"];
  fuzzAsync(FILE, "verifyEnvelope: focused mutations of one section (sealed, identity, assurance, governance…), re-signed, reach the gates and always resolve", fc.record({ i: fc.nat(), section: fc.constantFrom(...SECTIONS), ops: mixedJsonOpsArb({ jsOnly: true, maxOps: 2 }) }), async ({ i, section, ops }) => {
    const v = signedVectors[i % signedVectors.length] as OhpVector;
    let envelope = applyJsonOpsAt(v.envelope, section, ops);
    const s = typedOrValue("signEnvelope(mutated)", () => signEnvelope(envelope, { keys: issuerKeys }));
    if (s.ok) envelope = s.value.envelope;
    const base = await baseOptions(v);
    const r = await neverThrowsAsync("verifyEnvelope", () => verifyEnvelope(envelope, perCase(base, v, { byteLength: Buffer.byteLength(stringify(envelope)) })));
    checkResult(r, `verifyEnvelope(${v.name} ${section})`);
  });

  fuzzAsync(FILE, "verifyEnvelope: arbitrary JavaScript values (not just JSON) never throw", fc.oneof(fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true }), fc.constantFrom(null, undefined, 0, "", [], {}, Number.NaN)), async (input) => {
    const r = await neverThrowsAsync("verifyEnvelope(anything)", () => verifyEnvelope(input, { jwks: issuerPublic }));
    checkResult(r, "verifyEnvelope(anything)");
  }, { weight: 0.5 });

  fuzz(FILE, "validateDocument: mutated OHP envelopes never throw", fc.tuple(fc.nat(), mixedJsonOpsArb({ jsOnly: true }), fc.constantFrom<"emit" | "receive">("emit", "receive")), ([i, ops, mode]) => {
    const doc = applyJsonOps((vectors[i % vectors.length] as OhpVector).envelope, ops);
    const r = neverThrows("validateDocument", () => validateDocument(doc, { mode }));
    expect(typeof r.valid).toBe("boolean");
  });
});

// -----------------------------------------------------------------------------------------------
// §3.1 content scan: the PII detectors are regexes run over every clear-part string of every
// received envelope, so a super-linear pattern would be a receiver DoS.

const PII_ALPHABET = [..."0123456789 -.+()/@_%:,abcxyzABCZ", "DOB", "born on ", "date of birth ", "GB", "th", "January ", "\n", "\u00a0"];
const piiTextArb = fc
  .tuple(fc.array(fc.constantFrom(...PII_ALPHABET), { minLength: 1, maxLength: 10 }), fc.integer({ min: 64, max: 32 * 1024 }), fc.constantFrom("", "!", "@", ".", "-", "a", "0", " "))
  .map(([unit, length, tail]) => {
    const u = unit.join("");
    return u.repeat(Math.ceil(length / u.length)).slice(0, length) + tail;
  });

describe("fuzz: §3.1 PII detectors (src/ohp/builder.ts detectPii, scanClearPart)", () => {
  fuzz(FILE, "detectPii / redactTranscript / scanClearPart: adversarial PII-shaped text up to 32 KiB stays linear (no ReDoS) and never throws", piiTextArb, (text) => {
    const found = neverThrows("detectPii", () => detectPii(text));
    neverThrows("redactTranscript", () => redactTranscript(text));
    neverThrows("scanClearPart", () => scanClearPart({ ohp: "0.1", intent: { summary: text }, transcript: { turns: [{ text }] } } as never));
    tally(found.length > 0 ? "found" : "none");
  }, { weight: 0.25 });
});

// -----------------------------------------------------------------------------------------------
// sealed block (HPKE)

const receiverKeys: PrivateKeyRecord[] = parsePrivateJwks(readFileSync(join(VECTORS_OHP, "keys", "receiver.private.jwks.json"), "utf8"));
const otherRecipients = [testKeys(3).x25519, testKeys(4).x25519];
const sealedCandidates: unknown[] = [
  ...vectors.filter((v) => isJsonObject(v.envelope) && v.envelope["sealed"] !== undefined).map((v) => v.envelope),
  // A multi-recipient block (the receiver in the middle) and fields with awkward names and values.
  await sealEnvelope(clone((vectors.find((v) => v.name.startsWith("signed/01")) as OhpVector).envelope), {
    recipients: [otherRecipients[0] as PrivateKeyRecord, ...receiverKeys.filter((k) => k.use === "enc"), otherRecipients[1] as PrivateKeyRecord].map((k) => k.publicJwk),
    fields: { "caller.vulnerable": true, "x.__proto__": { a: [1, "\u00e9", null] }, "y": "\ud83d\ude00".repeat(50) },
  }),
];

/** The seeds the receiver can open, with their plaintext. */
const opened = (
  await Promise.all(
    sealedCandidates.map(async (e) => {
      try {
        return [{ env: e, plain: stringify((await openEnvelope(e, receiverKeys)).fields) }];
      } catch {
        return [];
      }
    }),
  )
).flat();
const sealedSeeds = opened.map((o) => o.env);
const sealedPlain = opened.map((o) => o.plain);

describe("fuzz: OHP sealed block (src/ohp/seal.ts, src/crypto/hpke)", () => {
  fuzzAsync(FILE, "openEnvelope: mutated sealed blocks (and AAD) open to the declared fields or fail with a typed HpkeError/OhpCryptoError", fc.record({ i: fc.nat(), ops: mixedJsonOpsArb({ jsOnly: true, maxOps: 3 }), whole: fc.boolean() }), async ({ i, ops, whole }) => {
    const base = sealedSeeds[i % sealedSeeds.length];
    const env = whole ? applyJsonOps(base, ops) : applyJsonOpsAt(base, "/sealed", ops);
    const r = await typedOrValueAsync("openEnvelope", () => openEnvelope(env, receiverKeys));
    tally(r.ok ? `opened:${r.value.mode}` : r.error.code);
    // AEAD integrity: whatever still opens yields exactly the sealed plaintext.
    if (r.ok && stringify(r.value.fields) !== sealedPlain[i % sealedSeeds.length]) throw new FuzzFinding(`a mutated sealed block opened to different content: ${stringify(r.value.fields).slice(0, 200)}`);
  });
});

// -----------------------------------------------------------------------------------------------
// protobuf bridge and CBOR surface

const protoSeeds: Uint8Array[] = vectors.flatMap((v) => {
  const r = typedOrValue("envelopeJsonToBinary(seed)", () => envelopeJsonToBinary(v.envelope));
  return r.ok ? [r.value] : [];
});

/** JSON data model equality, with bigint ≙ number (CBOR integers beyond 2^53) and -0 ≙ 0. */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === "bigint") a = Number(a);
  if (typeof b === "bigint") b = Number(b);
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => sameJson(x, b[k]));
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

function wellFormed(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === "string" && !x.isWellFormed()) return false;
    if (typeof x === "object" && x !== null) {
      for (const k of Object.keys(x)) {
        if (!k.isWellFormed()) return false;
        stack.push((x as Record<string, unknown>)[k]);
      }
    }
  }
  return true;
}

/** JSON pointer of the first difference (for messages). */
function firstDiff(a: unknown, b: unknown, at = ""): string | undefined {
  if (sameJson(a, b)) return undefined;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`);
      if (d !== undefined) return d;
    }
  }
  return `${at}: ${stringify(a).slice(0, 120)} vs ${stringify(b).slice(0, 120)}`;
}

function untag(v: unknown): unknown {
  if (v instanceof CborTag) return untag(v.value);
  if (Array.isArray(v)) return v.map(untag);
  if (typeof v === "object" && v !== null && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: untag((v as Record<string, unknown>)[k]), enumerable: true });
    return out;
  }
  return v;
}

describe("fuzz: OHP protobuf bridge and CBOR surface", () => {
  fuzz(FILE, "envelopeBinaryToJson: random, byte-mutated and field-mutated protobuf bytes give a JSON envelope or a typed ProtoJsonError", fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), byteOpsArb()).map(([i, ops]) => applyByteOps(protoSeeds[i % protoSeeds.length] as Uint8Array, ops)) },
    { weight: 3, arbitrary: fc.tuple(fc.nat(), protoOpsArb()).map(([i, ops]) => mutateProto(protoSeeds[i % protoSeeds.length] as Uint8Array, ops)) },
  ), (bytes) => {
    const r = typedOrValue("envelopeBinaryToJson", () => envelopeBinaryToJson(bytes));
    if (r.ok) {
      // What came off the wire must survive the way back (the gRPC binding re-serialises answers).
      typedOrValue("envelopeJsonToBinary(decoded)", () => envelopeJsonToBinary(r.value));
    }
  }, { weight: 2 });

  fuzz(FILE, "envelopeFromJson / envelopeJsonToBinary: mutated envelopes (JS values included) convert or fail typed", fc.tuple(fc.nat(), mixedJsonOpsArb({ jsOnly: true })), ([i, ops]) => {
    const doc = applyJsonOps((vectors[i % vectors.length] as OhpVector).envelope, ops);
    const r = typedOrValue("envelopeFromJson", () => envelopeFromJson(doc));
    if (r.ok) typedOrValue("envelopeToJson(envelopeFromJson(x))", () => envelopeToJson(r.value));
    const bin = typedOrValue("envelopeJsonToBinary", () => envelopeJsonToBinary(doc));
    if (bin.ok) typedOrValue("envelopeBinaryToJson(envelopeJsonToBinary(x))", () => envelopeBinaryToJson(bin.value));
  });

  fuzz(FILE, "envelopeFromJson → envelopeToJson is lossless on mutated JSON envelopes (the gRPC hop keeps signatures valid)", fc.tuple(fc.nat(), mixedJsonOpsArb({ heavy: false })), ([i, ops]) => {
    const doc = applyJsonOps((vectors[i % vectors.length] as OhpVector).envelope, ops);
    // Protobuf strings are UTF-8: a lone surrogate (which parseJsonStrict and the CBOR surface reject) has no form there.
    if (!wellFormed(doc)) return;
    // proto3 cannot tell an absent repeated field from an empty one: the bridge restores the arrays
    // the schema requires, so only schema-valid documents are expected back unchanged.
    if (validateSchema("ohp-envelope", doc).length > 0) return;
    const bin = typedOrValue("envelopeJsonToBinary", () => envelopeJsonToBinary(doc));
    if (!bin.ok) return;
    const back = typedOrValue("envelopeBinaryToJson(envelopeJsonToBinary(x))", () => envelopeBinaryToJson(bin.value));
    if (!back.ok) throw new FuzzFinding(`envelopeJsonToBinary accepted a document that does not come back: ${back.error.code} ${back.error.message}`);
    tally("checked");
    if (!sameJson(back.value, doc)) throw new FuzzFinding(`not lossless at ${firstDiff(doc, back.value) ?? "?"}`);
  });

  fuzz(FILE, "envelopeCbor / signingSurface: mutated envelopes encode canonically and decode back to the same JSON, or fail typed", fc.tuple(fc.nat(), mixedJsonOpsArb({ jsOnly: true })), ([i, ops]) => {
    const doc = applyJsonOps((vectors[i % vectors.length] as OhpVector).envelope, ops);
    const cbor = typedOrValue("envelopeCbor", () => envelopeCbor(doc));
    typedOrValue("signingSurface", () => signingSurface(doc));
    if (!cbor.ok) return;
    const back = typedOrValue("decodeCanonical(envelopeCbor(x))", () => decodeCanonical(cbor.value));
    if (!back.ok) throw new FuzzFinding(`envelopeCbor output is not canonical: ${back.error.code} ${back.error.message}`);
    if (!sameJson(untag(back.value), doc)) throw new FuzzFinding(`envelopeCbor did not round-trip the JSON data model at ${firstDiff(doc, untag(back.value)) ?? "?"}`);
  });
});

// -----------------------------------------------------------------------------------------------
// ohp/ws frames

const frameSeeds: string[] = [
  ...vectors.slice(0, 12).map((v) => JSON.stringify({ type: "envelope", envelope: v.envelope })),
  JSON.stringify({ type: "hello", ohp: "0.1", maxTier: "regulated", bindings: ["ohp/ws", "ohp/https"], tenant: "t1", sessionToken: "tok" }),
  JSON.stringify({ type: "ack", id: "01J0000000000000000000000", status: "accepted" }),
  JSON.stringify({ type: "error", code: "ERR_OHP_WS_FRAME_JSON", message: "bad", id: "x" }),
  JSON.stringify({ type: "ping" }),
  JSON.stringify({ type: "pong" }),
];

describe("fuzz: ohp/ws frames (src/ohp/bindings/ws/frames.ts)", () => {
  fuzz(FILE, "parseOhpWsFrame: random and mutated text/binary frames give a frame or a typed OhpWsError", fc.record({
    source: fc.oneof(
      fc.string({ unit: "binary", maxLength: 64 }),
      fc.tuple(fc.nat(), jsonOpsArb(), textOpsArb()).map(([i, jops, tops]) => applyTextOps(stringify(applyJsonOps(JSON.parse(frameSeeds[i % frameSeeds.length] as string), jops)), tops)),
      fc.tuple(fc.nat(), textOpsArb()).map(([i, tops]) => applyTextOps(frameSeeds[i % frameSeeds.length] as string, tops)),
    ),
    asBytes: fc.boolean(),
    byteOps: sometimes(byteOpsArb(2), 0.3),
    isBinary: fc.boolean(),
    maxFrameBytes: sometimes(fc.constantFrom(0, 1, 64, 1024, 33 * 1024, 1 << 20), 0.3),
  }), ({ source, asBytes, byteOps, isBinary, maxFrameBytes }) => {
    let data: string | Uint8Array = source;
    if (asBytes) data = byteOps === undefined ? Buffer.from(source, "utf8") : applyByteOps(Buffer.from(source, "utf8"), byteOps);
    const r = typedOrValue("parseOhpWsFrame", () => parseOhpWsFrame(data, { isBinary: isBinary && byteOps !== undefined, ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }) }));
    if (r.ok) {
      if (r.value.envelopeByteLength !== undefined && r.value.envelopeByteLength > r.value.byteLength) throw new FuzzFinding("envelope larger than its frame");
      if (r.value.frame.type === "envelope") expect(typeof r.value.frame.envelope).toBe("object");
    }
  }, { weight: 2 });
});

// -----------------------------------------------------------------------------------------------
// ohp/https transfer listener

const httpVectors = signedVectors.filter((v) => v.now !== undefined);
const HTTP_STATUSES = new Set([200, 202, 204, 400, 405, 413, 415]);

describe("fuzz: ohp/https transfer bodies (src/ohp/bindings/https.ts)", () => {
  fuzzAsync(FILE, "createOhpHttpListener: mutated bodies and headers get a 2xx envelope answer or a 4xx problem, never a crash", fc.record({
    i: fc.nat(),
    jops: sometimes(mixedJsonOpsArb(), 0.6),
    tops: sometimes(textOpsArb(3), 0.2),
    bops: sometimes(byteOpsArb(2), 0.1),
    contentType: fc.constantFrom(OHP_JSON_MEDIA_TYPE, `${OHP_JSON_MEDIA_TYPE}; charset=utf-8`, "application/json", "", "APPLICATION/OHP+JSON"),
    idKey: fc.constantFrom("id", "none", "other", "array"),
    version: sometimes(fc.constantFrom("0.1", "0.2", "", "0.1, 0.1"), 0.3),
    tier: sometimes(fc.constantFrom("core", "signed", "sealed", "regulated", "x"), 0.2),
    verb: sometimes(fc.constantFrom("PROPOSE", "ACCEPT", "x"), 0.2),
    method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT"),
    declaredLength: sometimes(fc.constantFrom("0", "-1", "abc", "99999999", "1e3"), 0.15),
    pick: fc.nat(),
  }), async (c) => {
    const v = httpVectors[c.i % httpVectors.length] as OhpVector;
    const doc = c.jops === undefined ? clone(v.envelope) : applyJsonOps(v.envelope, c.jops);
    let text = c.jops === undefined ? v.text : stringify(doc);
    if (c.tops !== undefined) text = applyTextOps(text, c.tops);
    let body: Uint8Array = Buffer.from(text, "utf8");
    if (c.bops !== undefined) body = applyByteOps(body, c.bops);
    const id = typeof doc === "object" && doc !== null ? (doc as JsonObject)["id"] : undefined;
    const headers: Record<string, string | string[] | undefined> = {
      "content-type": c.contentType,
      "idempotency-key": c.idKey === "id" ? (typeof id === "string" ? id : String(id)) : c.idKey === "other" ? "01J00000000000000000000000" : c.idKey === "array" ? [String(id), "x"] : undefined,
      "ohp-version": c.version,
      "ohp-tier": c.tier,
      "ohp-verb": c.verb,
      "content-length": c.declaredLength,
      host: "receiver.example",
    };
    const base = await baseOptions(v);
    const listener = createOhpHttpListener({
      handler: async (envelope, meta) => {
        const r = await neverThrowsAsync("verifyEnvelope(https)", () =>
          verifyEnvelope(envelope, perCase(base, v, { byteLength: meta.byteLength ?? 0, ...(meta.expected ? { expected: meta.expected } : {}) })),
        );
        checkResult(r, "verifyEnvelope(https)");
        return r.outcome === "accept" ? undefined : { conformance: "core", control: { verb: "REJECT", reason: r.rejectReason } };
      },
    });
    const url = (["/ohp/v1/transfer", "/ohp/v1/transfer?x=1", "/ohp/v1/transfer#f", "//ohp/v1/transfer", "/ohp/v1/transfer/", "*"] as const)[c.pick % 6] as string;
    const { response, returned } = await invoke(listener, { method: c.method, url, headers, chunks: chunked(body, c.pick >>> 3) });
    if (returned === false) return tally("declined");
    expect(returned).toBe(true);
    if (!response.ended || response.status === undefined || !HTTP_STATUSES.has(response.status)) throw new FuzzFinding(`unexpected HTTP answer ${String(response.status)} ${response.body.slice(0, 200)}`);
    if (response.status >= 400) {
      const problem = typedOrValue("problem body", () => parseJsonStrict(response.body));
      if (!problem.ok) throw new FuzzFinding(`problem body is not JSON: ${response.body.slice(0, 100)}`);
    }
  }, { weight: 0.5 });
});
