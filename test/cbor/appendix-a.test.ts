/**
 * RFC 8949 Appendix A examples (cbor/test-vectors appendix_a.json, copied byte for byte to
 * test/vectors/cbor/appendix_a.json) checked against agentwire's deterministic profile.
 *
 * Every vector is classified below; the test fails if a vector is missing from the table or
 * the table names a vector the file does not hold.
 *
 * | class            | n  | meaning                                                                  |
 * |------------------|----|--------------------------------------------------------------------------|
 * | canonical        | 52 | hex is our deterministic form: encodeCanonical(value) == hex and         |
 * |                  |    | decodeCanonical(hex) == value (value from `decoded`, or from the table   |
 * |                  |    | for diagnostic-only vectors: simple values, tags, byte strings, {1:2,3:4})|
 * | bignum-tag       |  2 | 2^64 and -2^64-1 are beyond 64-bit integers: encodeCanonical(bigint)     |
 * |                  |    | rejects them (ERR_CBOR_UNSUPPORTED); the tag 2/3 bytes are in preferred  |
 * |                  |    | form and decode strictly to CborTag(2|3, bytes), which re-encodes to hex |
 * | integral-float   |  6 | 0.0, -0.0, 1.0, 65504.0, 100000.0, -4.0 written as floats: our number    |
 * |                  |    | rule makes integral values integers, so decodeCanonical rejects the hex  |
 * |                  |    | (ERR_CBOR_NON_CANONICAL), decode() reads it, and encodeCanonical gives   |
 * |                  |    | the integer form                                                         |
 * | not-finite       |  9 | NaN/±Infinity at every width: outside the profile (ERR_CBOR_NOT_FINITE   |
 * |                  |    | on both encode and strict decode); decode() reads them                   |
 * | undefined        |  1 | f7 is outside the data model: both decoders reject (ERR_CBOR_UNSUPPORTED)|
 * | not-well-formed  |  1 | simple(24) as f818 is an RFC 7049 example that RFC 8949 §3.3 made not    |
 * |                  |    | well-formed (f8 followed by a byte < 0x20): both decoders reject it      |
 * |                  |    | (ERR_CBOR_MALFORMED) and CborSimple(24) cannot be constructed            |
 * | indefinite       | 11 | indefinite lengths: decodeCanonical rejects (ERR_CBOR_INDEFINITE_LENGTH),|
 * |                  |    | decode() reads them, encodeCanonical gives the definite form             |
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CborSimple, CborTag, type CborValue, decode, decodeCanonical, encodeCanonical } from "../../src/cbor/index.js";
import { expectCborError, fromHex, toHex } from "./helpers.js";

interface Vector {
  cbor: string;
  hex: string;
  roundtrip: boolean;
  decoded?: unknown;
  diagnostic?: string;
}

type Classification =
  | { kind: "canonical"; value?: CborValue }
  | { kind: "bignum-tag"; value: bigint }
  | { kind: "integral-float"; value: number; canonicalHex: string }
  | { kind: "not-finite"; value: number }
  | { kind: "undefined" }
  | { kind: "not-well-formed" }
  | { kind: "indefinite"; canonicalHex: string; value?: CborValue };

/** JSON.parse reviver that keeps integer literals beyond 2^53 exact, as bigint. */
function exactIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  const src = context?.source;
  if (typeof value === "number" && src !== undefined && /^-?\d+$/.test(src) && !Number.isSafeInteger(value)) {
    return BigInt(src);
  }
  return value;
}

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/cbor/appendix_a.json", import.meta.url), "utf8"),
  exactIntegers as (this: unknown, key: string, value: unknown) => unknown,
) as Vector[];

const bytes = (hex: string): Uint8Array => fromHex(hex);
const canonical: Classification = { kind: "canonical" };
const list123: CborValue = [1, [2, 3], [4, 5]];

/** Classification of every Appendix A vector, keyed by its hex. */
const table = new Map<string, Classification>([
  // Integers (major 0/1) within 64 bits.
  ["00", canonical],
  ["01", canonical],
  ["0a", canonical],
  ["17", canonical],
  ["1818", canonical],
  ["1819", canonical],
  ["1864", canonical],
  ["1903e8", canonical],
  ["1a000f4240", canonical],
  ["1b000000e8d4a51000", canonical],
  ["1bffffffffffffffff", canonical],
  ["3bffffffffffffffff", canonical],
  ["20", canonical],
  ["29", canonical],
  ["3863", canonical],
  ["3903e7", canonical],
  // Bignums beyond 64 bits.
  ["c249010000000000000000", { kind: "bignum-tag", value: 18446744073709551616n }],
  ["c349010000000000000000", { kind: "bignum-tag", value: -18446744073709551617n }],
  // Floats.
  ["f90000", { kind: "integral-float", value: 0, canonicalHex: "00" }],
  ["f98000", { kind: "integral-float", value: -0, canonicalHex: "00" }],
  ["f93c00", { kind: "integral-float", value: 1, canonicalHex: "01" }],
  ["fb3ff199999999999a", canonical],
  ["f93e00", canonical],
  ["f97bff", { kind: "integral-float", value: 65504, canonicalHex: "19ffe0" }],
  ["fa47c35000", { kind: "integral-float", value: 100000, canonicalHex: "1a000186a0" }],
  ["fa7f7fffff", canonical], // 3.4028234663852886e+38: integral but beyond int64, so a float
  ["fb7e37e43c8800759c", canonical], // 1e+300: likewise
  ["f90001", canonical],
  ["f90400", canonical],
  ["f9c400", { kind: "integral-float", value: -4, canonicalHex: "23" }],
  ["fbc010666666666666", canonical],
  ["f97c00", { kind: "not-finite", value: Infinity }],
  ["f97e00", { kind: "not-finite", value: NaN }],
  ["f9fc00", { kind: "not-finite", value: -Infinity }],
  ["fa7f800000", { kind: "not-finite", value: Infinity }],
  ["fa7fc00000", { kind: "not-finite", value: NaN }],
  ["faff800000", { kind: "not-finite", value: -Infinity }],
  ["fb7ff0000000000000", { kind: "not-finite", value: Infinity }],
  ["fb7ff8000000000000", { kind: "not-finite", value: NaN }],
  ["fbfff0000000000000", { kind: "not-finite", value: -Infinity }],
  // Simple values.
  ["f4", canonical],
  ["f5", canonical],
  ["f6", canonical],
  ["f7", { kind: "undefined" }],
  ["f0", { kind: "canonical", value: new CborSimple(16) }],
  ["f818", { kind: "not-well-formed" }], // RFC 7049 example; RFC 8949 §3.3 forbids f8 00..1f
  ["f8ff", { kind: "canonical", value: new CborSimple(255) }],
  // Tags.
  ["c074323031332d30332d32315432303a30343a30305a", { kind: "canonical", value: new CborTag(0, "2013-03-21T20:04:00Z") }],
  ["c11a514b67b0", { kind: "canonical", value: new CborTag(1, 1363896240) }],
  ["c1fb41d452d9ec200000", { kind: "canonical", value: new CborTag(1, 1363896240.5) }],
  ["d74401020304", { kind: "canonical", value: new CborTag(23, bytes("01020304")) }],
  ["d818456449455446", { kind: "canonical", value: new CborTag(24, bytes("6449455446")) }],
  ["d82076687474703a2f2f7777772e6578616d706c652e636f6d", { kind: "canonical", value: new CborTag(32, "http://www.example.com") }],
  // Byte and text strings.
  ["40", { kind: "canonical", value: new Uint8Array(0) }],
  ["4401020304", { kind: "canonical", value: bytes("01020304") }],
  ["60", canonical],
  ["6161", canonical],
  ["6449455446", canonical],
  ["62225c", canonical],
  ["62c3bc", canonical],
  ["63e6b0b4", canonical],
  ["64f0908591", canonical],
  // Arrays and maps.
  ["80", canonical],
  ["83010203", canonical],
  ["8301820203820405", canonical],
  ["98190102030405060708090a0b0c0d0e0f101112131415161718181819", canonical],
  ["a0", canonical],
  ["a201020304", { kind: "canonical", value: new Map<CborValue, CborValue>([[1, 2], [3, 4]]) }],
  ["a26161016162820203", canonical],
  ["826161a161626163", canonical],
  ["a56161614161626142616361436164614461656145", canonical],
  // Indefinite lengths.
  ["5f42010243030405ff", { kind: "indefinite", canonicalHex: "450102030405", value: bytes("0102030405") }],
  ["7f657374726561646d696e67ff", { kind: "indefinite", canonicalHex: "6973747265616d696e67" }],
  ["9fff", { kind: "indefinite", canonicalHex: "80" }],
  ["9f018202039f0405ffff", { kind: "indefinite", canonicalHex: "8301820203820405", value: list123 }],
  ["9f01820203820405ff", { kind: "indefinite", canonicalHex: "8301820203820405" }],
  ["83018202039f0405ff", { kind: "indefinite", canonicalHex: "8301820203820405" }],
  ["83019f0203ff820405", { kind: "indefinite", canonicalHex: "8301820203820405" }],
  ["9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", { kind: "indefinite", canonicalHex: "98190102030405060708090a0b0c0d0e0f101112131415161718181819" }],
  ["bf61610161629f0203ffff", { kind: "indefinite", canonicalHex: "a26161016162820203" }],
  ["826161bf61626163ff", { kind: "indefinite", canonicalHex: "826161a161626163" }],
  ["bf6346756ef563416d7421ff", { kind: "indefinite", canonicalHex: "a263416d74216346756ef5" }],
]);

function classify(v: Vector): Classification {
  const c = table.get(v.hex);
  if (c === undefined) throw new Error(`Appendix A vector ${v.hex} is not classified`);
  return c;
}

/** The model value of a vector: the table's, else the file's `decoded`. */
function modelValue(v: Vector, c: { value?: CborValue }): CborValue {
  if (c.value !== undefined) return c.value;
  if (!("decoded" in v)) throw new Error(`vector ${v.hex} is diagnostic-only and needs a table value`);
  return v.decoded as CborValue;
}

describe("RFC 8949 Appendix A examples", () => {
  it("Appendix A: every vector is classified exactly once", () => {
    expect(vectors).toHaveLength(82);
    expect(table.size).toBe(vectors.length);
    expect(new Set(vectors.map((v) => v.hex)).size).toBe(vectors.length);
    for (const v of vectors) {
      classify(v);
      expect(toHex(new Uint8Array(Buffer.from(v.cbor, "base64")))).toBe(v.hex);
    }
    const counts: Record<string, number> = {};
    for (const v of vectors) {
      const k = classify(v).kind;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts).toEqual({ canonical: 52, "bignum-tag": 2, "integral-float": 6, "not-finite": 9, undefined: 1, "not-well-formed": 1, indefinite: 11 });
  });

  const byKind = (kind: Classification["kind"]): Vector[] => vectors.filter((v) => classify(v).kind === kind);

  describe("RFC 8949 §4.2.1: deterministic vectors encode and strictly decode", () => {
    it.each(byKind("canonical").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex, v) => {
      const c = classify(v) as { kind: "canonical"; value?: CborValue };
      const value = modelValue(v, c);
      expect(v.roundtrip).toBe(true);
      expect(toHex(encodeCanonical(value))).toBe(hex);
      expect(decodeCanonical(fromHex(hex))).toStrictEqual(value);
      expect(decode(fromHex(hex))).toStrictEqual(value);
    });
  });

  describe("RFC 8949 §3.4.3: bignums beyond 64 bits stay tags", () => {
    it.each(byKind("bignum-tag").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex, v) => {
      const c = classify(v) as { kind: "bignum-tag"; value: bigint };
      expect(v.decoded).toBe(c.value);
      expectCborError(() => encodeCanonical(c.value), "ERR_CBOR_UNSUPPORTED");
      const tag = decodeCanonical(fromHex(hex));
      expect(tag).toBeInstanceOf(CborTag);
      const t = tag as CborTag;
      expect(t.tag).toBe(c.value > 0n ? 2 : 3);
      expect(toHex(t.value as Uint8Array)).toBe("010000000000000000");
      expect(toHex(encodeCanonical(t))).toBe(hex);
    });
  });

  describe("RFC 8949 §4.2.1 with the int64 number rule: integral floats are integers", () => {
    it.each(byKind("integral-float").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex, v) => {
      const c = classify(v) as { kind: "integral-float"; value: number; canonicalHex: string };
      expect(v.decoded).toBe(c.value);
      expectCborError(() => decodeCanonical(fromHex(hex)), "ERR_CBOR_NON_CANONICAL");
      expect(decode(fromHex(hex))).toBe(c.value);
      expect(toHex(encodeCanonical(c.value))).toBe(c.canonicalHex);
    });
  });

  describe("RFC 8949 §4.2.1 profile: NaN and ±Infinity are outside the model", () => {
    it.each(byKind("not-finite").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex, v) => {
      const c = classify(v) as { kind: "not-finite"; value: number };
      expect(v.diagnostic).toBe(Number.isNaN(c.value) ? "NaN" : String(c.value));
      expectCborError(() => decodeCanonical(fromHex(hex)), "ERR_CBOR_NOT_FINITE");
      expect(decode(fromHex(hex))).toBe(c.value);
      expectCborError(() => encodeCanonical(c.value), "ERR_CBOR_NOT_FINITE");
    });
  });

  describe("RFC 8949 §3.3: undefined is outside the model", () => {
    it.each(byKind("undefined").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex) => {
      expectCborError(() => decodeCanonical(fromHex(hex)), "ERR_CBOR_UNSUPPORTED");
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_UNSUPPORTED");
      expectCborError(() => encodeCanonical(undefined as unknown as CborValue), "ERR_CBOR_UNSUPPORTED");
    });
  });

  describe("RFC 8949 §3.3: two-byte simple values below 32 are not well-formed", () => {
    it.each(byKind("not-well-formed").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex) => {
      expectCborError(() => decodeCanonical(fromHex(hex)), "ERR_CBOR_MALFORMED");
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_MALFORMED");
      expectCborError(() => new CborSimple(24), "ERR_CBOR_INVALID_ARGUMENT");
    });
  });

  describe("RFC 8949 §4.2.1: indefinite lengths are rejected strictly, read leniently", () => {
    it.each(byKind("indefinite").map((v) => [v.hex, v] as const))("Appendix A: %s", (hex, v) => {
      const c = classify(v) as { kind: "indefinite"; canonicalHex: string; value?: CborValue };
      expect(v.roundtrip).toBe(false);
      expectCborError(() => decodeCanonical(fromHex(hex)), "ERR_CBOR_INDEFINITE_LENGTH");
      const value = modelValue(v, c);
      expect(decode(fromHex(hex))).toStrictEqual(value);
      expect(toHex(encodeCanonical(value))).toBe(c.canonicalHex);
      expect(decodeCanonical(fromHex(c.canonicalHex))).toStrictEqual(value);
    });
  });
});
