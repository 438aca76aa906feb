/**
 * Fuzzing the strict JSON parser (src/json/parse.ts) and the canonical CBOR codec (src/cbor).
 *
 * - parseJsonStrict: random text, and mutated real documents (OHP envelopes, Open Floor samples);
 *   a value must agree with JSON.parse, respect the depth limit, carry no lone surrogate and no
 *   duplicate member (differentially checked against the JWS header scanner), and every rejection
 *   is a JsonParseError with a stable code.
 * - decodeCanonical / decode: random bytes, CBOR-ish chunk soups and mutated canonical encodings;
 *   whatever decodeCanonical accepts must re-encode to exactly the input (the strictness claim),
 *   whatever decode accepts must encode canonically or fail typed, and encodeCanonical of any
 *   JSON-ish value (deep, huge, lone surrogates) must round-trip or fail typed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { CborTag, type CborValue, decode, decodeCanonical, encodeCanonical, toJsonModel } from "../../src/cbor/index.js";
import { hasDuplicateMemberNames } from "../../src/crypto/jws.js";
import { JsonParseError, MAX_JSON_DEPTH, parseJsonStrict } from "../../src/json/parse.js";
import { canonicalizeJson } from "../../src/jcs/index.js";
import { ofpSamples, ohpVectors } from "./corpus.js";
import { FuzzFinding, fuzz, typedOrValue } from "./harness.js";
import { applyByteOps, applyJsonOps, sometimes, stringify, applyTextOps, BYTE_CHUNKS, byteOpsArb, jsonOpsArb, textOpsArb } from "./mutate.js";

const FILE = import.meta.url;

function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop() as [unknown, number];
    if (typeof x === "object" && x !== null) {
      const here = d + 1;
      if (here > max) max = here;
      for (const c of Object.values(x)) stack.push([c, here]);
    }
  }
  return max;
}

function allStringsWellFormed(v: unknown): boolean {
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

const seedTexts = [...ohpVectors().map((v) => v.text), ...ofpSamples().map((s) => s.text)];
const seedDocs = [...ohpVectors().map((v) => v.envelope), ...ofpSamples().map((s) => s.json)];

/** Text inputs: random, JSON-shaped random, mutated real documents (structure, then text). */
const jsonTextArb = fc.oneof(
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."{}[]\",:\\u0123456789abcdefEe.-+ tnrul\ud800\udc00"), maxLength: 80 }) },
  { weight: 2, arbitrary: fc.tuple(fc.json({ maxDepth: 4 }), textOpsArb()).map(([t, ops]) => applyTextOps(t, ops)) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat(), sometimes(jsonOpsArb(), 0.5), textOpsArb())
      .map(([i, jops, tops]) => {
        const base = jops === undefined ? (seedTexts[i % seedTexts.length] as string) : stringify(applyJsonOps(seedDocs[i % seedDocs.length], jops));
        return applyTextOps(base ?? "null", tops);
      }),
  },
);

describe("fuzz: strict JSON (src/json/parse.ts)", () => {
  fuzz(FILE, "parseJsonStrict: value agrees with JSON.parse and the limits, or a typed JsonParseError", jsonTextArb, (text) => {
    const r = typedOrValue("parseJsonStrict", () => parseJsonStrict(text));
    if (r.ok) {
      expect(r.value).toStrictEqual(JSON.parse(text));
      if (depthOf(r.value) > MAX_JSON_DEPTH) throw new FuzzFinding(`accepted depth ${depthOf(r.value)} > ${MAX_JSON_DEPTH}`);
      if (!allStringsWellFormed(r.value)) throw new FuzzFinding("accepted a lone surrogate");
      if (hasDuplicateMemberNames(text)) throw new FuzzFinding("accepted a duplicate member name");
    } else {
      if (!(r.error instanceof JsonParseError)) throw new FuzzFinding(`not a JsonParseError: ${r.error.name}`);
      if (r.error.code === "ERR_JSON_DUPLICATE_KEY" && !hasDuplicateMemberNames(text)) throw new FuzzFinding("duplicate reported, scanner disagrees");
    }
  }, { weight: 2 });

  fuzz(FILE, "parseJsonStrict: deep nesting of every shape fails with ERR_JSON_DEPTH, never a stack overflow", fc.tuple(fc.integer({ min: 60, max: 200_000 }), fc.constantFrom("[", '{"a":', '[{"a":')), ([depth, open]) => {
    const close = open === "[" ? "]" : open === '{"a":' ? "}" : "}]";
    const text = `${open.repeat(depth)}0${close.repeat(depth)}`;
    const r = typedOrValue("parseJsonStrict(deep)", () => parseJsonStrict(text));
    const levels = depth * (open === '[{"a":' ? 2 : 1);
    if (levels > MAX_JSON_DEPTH) expect(r.ok ? "accepted" : r.error.code).toBe("ERR_JSON_DEPTH");
  }, { weight: 0.1 });
});

// -----------------------------------------------------------------------------------------------
// CBOR

const keyArb = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("a", "b", "aa", "__proto__", "\ud800", ""));
const cborLeaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.constantFrom<CborValue>(null, true, false),
  fc.uint8Array({ maxLength: 16 }),
  fc.constantFrom<CborValue>(new CborTag(0, "2026-05-28T13:42:13Z"), new CborTag(0, "not a date"), new CborTag(1, 1.5), new CborTag(2, new Uint8Array([1, 0])), new CborTag(55799, [])),
);
const { cbor: cborValueArb } = fc.letrec<{ cbor: CborValue }>((tie) => ({
  cbor: fc.oneof(
    { depthSize: "small" },
    { weight: 5, arbitrary: cborLeaf },
    { weight: 2, arbitrary: fc.array(tie("cbor"), { maxLength: 5 }) },
    { weight: 2, arbitrary: fc.dictionary(keyArb, tie("cbor"), { maxKeys: 5, noNullPrototype: true }) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 300 }), tie("cbor")).map(([t, v]) => new CborTag(t, v)) },
  ),
}));

const canonicalSeeds: Uint8Array[] = ohpVectors()
  .map((v) => v.dir)
  .flatMap((dir) => (existsSync(join(dir, "envelope.cbor")) ? [new Uint8Array(readFileSync(join(dir, "envelope.cbor")))] : []));

const cborBytesArb = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 48 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...BYTE_CHUNKS).map((c) => Uint8Array.from(c)), fc.uint8Array({ maxLength: 3 })), { maxLength: 12 }).map((parts) => Uint8Array.from(parts.flatMap((p) => [...p]))) },
  {
    weight: 3,
    arbitrary: fc.tuple(cborValueArb, byteOpsArb()).chain(([v, ops]) => {
      const r = typedOrValue("encodeCanonical(seed)", () => encodeCanonical(v));
      return fc.constant(r.ok ? applyByteOps(r.value, ops) : new Uint8Array(0));
    }),
  },
  ...(canonicalSeeds.length > 0 ? [{ weight: 3, arbitrary: fc.tuple(fc.nat(), byteOpsArb()).map(([i, ops]) => applyByteOps(canonicalSeeds[i % canonicalSeeds.length] as Uint8Array, ops)) }] : []),
);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

describe("fuzz: canonical CBOR (src/cbor)", () => {
  fuzz(FILE, "decodeCanonical: accepts exactly what encodeCanonical produces; everything else is a typed CborError", cborBytesArb, (bytes) => {
    const r = typedOrValue("decodeCanonical", () => decodeCanonical(bytes));
    if (r.ok) {
      const again = typedOrValue("encodeCanonical(decoded)", () => encodeCanonical(r.value));
      if (!again.ok) throw new FuzzFinding(`decodeCanonical accepted ${hex(bytes)} but encodeCanonical rejects the value: ${again.error.code}`);
      if (hex(again.value) !== hex(bytes)) throw new FuzzFinding(`decodeCanonical accepted non-canonical ${hex(bytes)} (re-encodes to ${hex(again.value)})`);
      typedOrValue("toJsonModel", () => toJsonModel(r.value));
    }
  }, { weight: 3 });

  fuzz(FILE, "decode (lenient): value or typed error; a value re-encodes canonically and that encoding is stable", cborBytesArb, (bytes) => {
    const r = typedOrValue("decode", () => decode(bytes));
    if (!r.ok) return;
    const enc = typedOrValue("encodeCanonical(decode(x))", () => encodeCanonical(r.value));
    if (!enc.ok) return;
    const back = typedOrValue("decodeCanonical(encodeCanonical(decode(x)))", () => decodeCanonical(enc.value));
    if (!back.ok) throw new FuzzFinding(`canonical bytes ${hex(enc.value)} rejected: ${back.error.code}`);
    expect(hex(encodeCanonical(back.value))).toBe(hex(enc.value));
  }, { weight: 3 });

  fuzz(FILE, "decode/decodeCanonical: deep nesting and huge length claims fail typed", fc.tuple(fc.integer({ min: 300, max: 100_000 }), fc.constantFrom(0x81, 0x9f, 0xa1, 0xc1, 0xd8), fc.boolean()), ([depth, head, strict]) => {
    const unit = head === 0xa1 ? [0xa1, 0x00] : head === 0xd8 ? [0xd8, 0x20] : [head];
    const bytes = Uint8Array.from({ length: depth * unit.length + 1 }, (_, i) => (i === depth * unit.length ? 0x00 : (unit[i % unit.length] as number)));
    const r = typedOrValue("decode(deep)", () => (strict ? decodeCanonical(bytes) : decode(bytes)));
    if (r.ok) throw new FuzzFinding(`accepted ${depth}-deep nesting`);
  }, { weight: 0.1 });

  fuzz(FILE, "encodeCanonical: any value round-trips through decodeCanonical or fails typed (deep, huge, lone surrogates)", fc.tuple(cborValueArb, jsonOpsArb({ jsOnly: true, maxOps: 2 })), ([v, ops]) => {
    const value = applyJsonOps(v, ops) as CborValue;
    const enc = typedOrValue("encodeCanonical", () => encodeCanonical(value));
    if (!enc.ok) return;
    const dec = typedOrValue("decodeCanonical(encodeCanonical(v))", () => decodeCanonical(enc.value));
    if (!dec.ok) throw new FuzzFinding(`encodeCanonical output rejected by decodeCanonical: ${dec.error.code} ${dec.error.message}`);
    expect(hex(encodeCanonical(dec.value))).toBe(hex(enc.value));
  }, { weight: 2 });

  fuzz(FILE, "JCS canonicalize: mutated documents canonicalize to JSON that parses back, or fail typed", fc.tuple(fc.nat(), jsonOpsArb({ jsOnly: true })), ([i, ops]) => {
    const doc = applyJsonOps(seedDocs[i % seedDocs.length], ops);
    const r = typedOrValue("canonicalizeJson", () => canonicalizeJson(doc));
    if (r.ok) expect(() => JSON.parse(r.value)).not.toThrow();
  });
});
