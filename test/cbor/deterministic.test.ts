import { describe, expect, it } from "vitest";
import {
  CborError,
  CborSimple,
  CborTag,
  type CborValue,
  decode,
  decodeCanonical,
  encodeCanonical,
  MAX_ENCODE_DEPTH,
} from "../../src/cbor/index.js";
import { halfToNumber, isInt64Integral } from "../../src/cbor/float.js";
import { expectCborError, fromHex, toHex } from "./helpers.js";

const enc = (v: unknown): string => toHex(encodeCanonical(v as CborValue));
const strict = (hex: string): CborValue => decodeCanonical(fromHex(hex));

function nestedArrays(depth: number): CborValue {
  let v: CborValue = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("RFC 8949 §4.2.1 deterministic encoding: map key order", () => {
  it("§4.2.1: keys sort by encoded bytes, so shorter text first (\"a\" < \"b\" < \"aa\")", () => {
    expect(enc({ aa: 3, b: 1, a: 2 })).toBe("a3616102616201626161" + "03");
    expect(enc({ b: 1, aa: 3, a: 2 })).toBe(enc({ a: 2, b: 1, aa: 3 }));
  });

  it("§4.2.1: UTF-8 byte order, not UTF-16 code-unit order (U+FB01 before U+1F600)", () => {
    // UTF-16: "\u{1F600}" (d83d de00) < "\uFB01"; UTF-8: ef ac 81 < f0 9f 98 80.
    expect(["\u{1F600}", "\uFB01"].sort()).toEqual(["\u{1F600}", "\uFB01"]);
    expect(enc({ "\u{1F600}": 1, "\uFB01": 2 })).toBe("a2" + "63efac81" + "02" + "64f09f9880" + "01");
    // Same encoded length (5 bytes) where the two orders disagree.
    const k1 = "\u{1F600}a";
    const k2 = "\uFB01aa";
    expect(enc({ [k1]: 1, [k2]: 2 })).toBe("a2" + "65efac816161" + "02" + "65f09f988061" + "01");
    expect(strict("a2" + "65efac816161" + "02" + "65f09f988061" + "01")).toEqual({ [k1]: 1, [k2]: 2 });
    expectCborError(() => strict("a2" + "65f09f988061" + "01" + "65efac816161" + "02"), "ERR_CBOR_NON_CANONICAL");
  });

  it("§4.2.1: out-of-order keys are rejected", () => {
    expectCborError(() => strict("a2616201616102"), "ERR_CBOR_NON_CANONICAL");
    expectCborError(() => strict("a2626161016162" + "02"), "ERR_CBOR_NON_CANONICAL"); // "aa" before "b"
    expectCborError(() => strict("a2030401" + "02"), "ERR_CBOR_NON_CANONICAL"); // {3: 4, 1: 2}
  });

  it("§5.6: duplicate keys are rejected on decode (both decoders) and on Map encode", () => {
    expectCborError(() => strict("a2616101616102"), "ERR_CBOR_DUPLICATE_KEY");
    expectCborError(() => decode(fromHex("a2616101616102")), "ERR_CBOR_DUPLICATE_KEY");
    expectCborError(() => decode(fromHex("a201020103")), "ERR_CBOR_DUPLICATE_KEY");
    const m = new Map<CborValue, CborValue>([
      [1, "x"],
      [1n, "y"],
    ]);
    expectCborError(() => encodeCanonical(m), "ERR_CBOR_DUPLICATE_KEY");
    const m2 = new Map<CborValue, CborValue>([
      [new Uint8Array([1]), 1],
      [new Uint8Array([1]), 2],
    ]);
    expectCborError(() => encodeCanonical(m2), "ERR_CBOR_DUPLICATE_KEY");
  });

  it("§5.6: duplicate byte-string, array, tag and map keys are found by value (lenient decoder too)", () => {
    for (const hex of [
      "a2" + "4101" + "00" + "4101" + "01", // {h'01': 0, h'01': 1}
      "a2" + "820102" + "00" + "820102" + "01", // {[1, 2]: 0, [1, 2]: 1}
      "a2" + "c16161" + "00" + "c16161" + "01", // {1("a"): 0, 1("a"): 1}
      "a2" + "a2616101616202" + "00" + "a2616202616101" + "01", // {{a:1,b:2}: 0, {b:2,a:1}: 1}
      "a3" + "4101" + "00" + "6161" + "01" + "4101" + "02", // not adjacent
      "bf" + "820102" + "00" + "820102" + "01" + "ff",
    ]) {
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_DUPLICATE_KEY");
    }
    expectCborError(() => strict("a2" + "4101" + "00" + "4101" + "01"), "ERR_CBOR_DUPLICATE_KEY");
    // Distinct composite keys are fine.
    const m = decode(fromHex("a2" + "4101" + "00" + "4102" + "01")) as Map<CborValue, CborValue>;
    expect(m.size).toBe(2);
    expect((decode(fromHex("a2" + "8101" + "00" + "8161" + "31" + "01")) as Map<CborValue, CborValue>).size).toBe(2);
  });

  it("§4.2.1: Map keys of any type sort by their encoding", () => {
    const m = new Map<CborValue, CborValue>([
      ["a", 1],
      [false, 6],
      [[1], 5],
      [10, 2],
      [new Uint8Array([1]), 4],
      [-1, 3],
    ]);
    const hex = enc(m);
    expect(hex).toBe("a6" + "0a02" + "2003" + "410104" + "616101" + "810105" + "f406");
    const back = strict(hex);
    expect(back).toBeInstanceOf(Map);
    expect(toHex(encodeCanonical(back))).toBe(hex);
    // A Map whose keys are all text encodes like the object and decodes to an object.
    expect(enc(new Map([["b", 1], ["a", 2]]))).toBe(enc({ a: 2, b: 1 }));
    expect(strict(enc(new Map([["b", 1]])))).toStrictEqual({ b: 1 });
  });

  it("§4.2.1: key order cache stays correct across many key sets and shared first keys", () => {
    for (let i = 0; i < 3000; i++) {
      const o: Record<string, number> = { id: i, [`k${i % 37}`]: 1, [`z${i % 11}`]: 2 };
      const keys = Object.keys(o).sort((a, b) => (a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0));
      const rev: Record<string, number> = {};
      for (const k of [...keys].reverse()) rev[k] = o[k] as number;
      const hex = enc(o);
      expect(hex).toBe(enc(rev));
      expect(Object.keys(strict(hex) as object)).toEqual(keys);
    }
    expect(enc({ a: 1, b: 2 })).toBe("a2616101616202");
    expect(enc({ a: 1, c: 2 })).toBe("a2616101616302");
    expect(enc({ a: 1 })).toBe("a1616101");
  });
});

describe("RFC 8949 §4.2.1 deterministic encoding: preferred argument heads", () => {
  it.each([
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [255, "18ff"],
    [256, "190100"],
    [65535, "19ffff"],
    [65536, "1a00010000"],
    [4294967295, "1affffffff"],
    [4294967296, "1b0000000100000000"],
    [-1, "20"],
    [-24, "37"],
    [-25, "3818"],
    [-256, "38ff"],
    [-257, "390100"],
    [Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
    [Number.MIN_SAFE_INTEGER, "3b001ffffffffffffe"],
  ])("§4.2.1: %d encodes as %s", (n, hex) => {
    expect(enc(n)).toBe(hex);
    expect(strict(hex)).toBe(n);
  });

  it.each([
    ["1817", "integer 23 in a 1-byte head"],
    ["190017", "integer in a 2-byte head"],
    ["1900ff", "integer 255 in a 2-byte head"],
    ["1a0000ffff", "integer in a 4-byte head"],
    ["1b00000000ffffffff", "integer in an 8-byte head"],
    ["3817", "negative integer in a 1-byte head"],
    ["5800", "empty byte string with a 1-byte length"],
    ["7800", "empty text string with a 1-byte length"],
    ["790001" + "61", "text length in a 2-byte head"],
    ["9800", "empty array with a 1-byte length"],
    ["b800", "empty map with a 1-byte length"],
    ["d80174323031332d30332d32315432303a30343a30305a", "tag 1 in a 1-byte head"],
  ])("§4.2.1: rejects %s (%s)", (hex) => {
    expectCborError(() => strict(hex), "ERR_CBOR_NON_CANONICAL");
    expect(() => decode(fromHex(hex))).not.toThrow();
  });

  it("§4.2.1: indefinite-length items are rejected", () => {
    for (const hex of ["5fff", "7fff", "9fff", "bfff", "5f4100ff", "9f00ff", "bf616100ff"]) {
      expectCborError(() => strict(hex), "ERR_CBOR_INDEFINITE_LENGTH");
    }
    expect(decode(fromHex("bf616100ff"))).toStrictEqual({ a: 0 });
  });

  it("§3: malformed items are rejected by both decoders", () => {
    for (const hex of ["1c", "1d", "1e", "1f", "3f", "df00", "ff", "fc", "f800", "f81f"]) {
      expectCborError(() => strict(hex), "ERR_CBOR_MALFORMED");
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_MALFORMED");
    }
  });

  it("§3.2.3: malformed contents of an indefinite-length item: strict mode reports the earlier indefinite head", () => {
    // The strict decoder reports the first violation by offset. Here that is the indefinite-length
    // head at byte 0 (§4.2.1); the malformation (wrong-type chunk, break between key and value)
    // only comes later, and the lenient decoder, which accepts the head, reports it.
    for (const [hex, malformedAt] of [["5f00ff", 1], ["7f4161ff", 1], ["bf6161ff", 3]] as const) {
      const s = expectCborError(() => strict(hex), "ERR_CBOR_INDEFINITE_LENGTH");
      expect(s.detail).toEqual({ offset: 0 });
      const l = expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_MALFORMED");
      expect(l.detail).toEqual({ offset: malformedAt });
    }
  });
});

describe("RFC 8949 §4.2.1 with the int64 number rule", () => {
  it("§4.2.1: -0 is integral and encodes as integer 0", () => {
    expect(enc(-0)).toBe("00");
    expect(Object.is(strict("00"), 0)).toBe(true);
  });

  it("§4.2.1: integral values in the int64 range beyond 2^53 are integers; they decode to bigint", () => {
    expect(enc(2 ** 60)).toBe("1b1000000000000000");
    expect(strict("1b1000000000000000")).toBe(2n ** 60n);
    expect(enc(-(2 ** 60))).toBe("3b0fffffffffffffff");
    expect(strict("3b0fffffffffffffff")).toBe(-(2n ** 60n));
    expect(enc(-(2 ** 63))).toBe("3b7fffffffffffffff");
    expect(enc(-(2 ** 53))).toBe("3b001fffffffffffff");
    expect(strict("3b001fffffffffffff")).toBe(-(2n ** 53n));
    expect(strict("1b0020000000000000")).toBe(2n ** 53n);
    expect(enc(2 ** 53)).toBe("1b0020000000000000");
  });

  it("§4.2.1: integral values beyond int64 are floats (2^63, 1e20, -1e300)", () => {
    expect(enc(2 ** 63)).toBe("fa5f000000");
    expect(strict("fa5f000000")).toBe(2 ** 63);
    expect(enc(-(2 ** 64))).toBe("fadf800000");
    for (const v of [1e20, -1e300, 2 ** 70 + 2 ** 20]) expect(strict(enc(v))).toBe(v);
    expect(enc(1e20).slice(0, 2)).toBe("fb");
  });

  it("§4.2.1: integral floats are rejected (any width)", () => {
    for (const hex of ["f90000", "f98000", "f93c00", "fa3f800000", "fb3ff0000000000000", "fbc3e0000000000000"]) {
      expectCborError(() => strict(hex), "ERR_CBOR_NON_CANONICAL");
    }
  });

  it("§4.2.2 shortest float: half-precision examples", () => {
    const cases: [number, string][] = [
      [0.5, "f93800"],
      [-0.5, "f9b800"],
      [5.960464477539063e-8, "f90001"],
      [-5.960464477539063e-8, "f98001"],
      [6.103515625e-5, "f90400"],
      [6.097555160522461e-5, "f903ff"], // largest half subnormal
      [42.5, "f95150"],
      [1.5, "f93e00"],
      [65503.5, "fa477fdf80"], // needs 17 significant bits: not a half
      [100000.5, "fa47c35040"],
      [1.1, "fb3ff199999999999a"],
      [0.1, "fb3fb999999999999a"],
      [2.98023223876953125e-8, "fa33000000"], // 2^-25: below the half range, a single
      [1.401298464324817e-45, "fa00000001"], // smallest single subnormal
      [5e-324, "fb0000000000000001"],
    ];
    for (const [v, hex] of cases) {
      expect(enc(v), String(v)).toBe(hex);
      expect(strict(hex)).toBe(v);
    }
  });

  it("§4.2.2: 65504 (largest half) is integral: encodes as an integer, f97bff is non-canonical", () => {
    expect(decode(fromHex("f97bff"))).toBe(65504);
    expect(enc(65504)).toBe("19ffe0");
    expectCborError(() => strict("f97bff"), "ERR_CBOR_NON_CANONICAL");
  });

  it("§4.2.2: every finite non-integral binary16 value encodes as that half, and wider forms are rejected", () => {
    const view = new DataView(new ArrayBuffer(9));
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToNumber(h);
      if (!Number.isFinite(v) || isInt64Integral(v)) continue;
      const hex = h.toString(16).padStart(4, "0");
      expect(enc(v)).toBe("f9" + hex);
      expect(strict("f9" + hex)).toBe(v);
      view.setUint8(0, 0xfa);
      view.setFloat32(1, v);
      expectCborError(() => decodeCanonical(new Uint8Array(view.buffer, 0, 5)), "ERR_CBOR_NON_CANONICAL");
      checked++;
    }
    // 65536 patterns - 2048 with exponent 31 (±Infinity, NaN) = 63488 finite. Integral among
    // them: ±0 (2), exponents 10..15 where every value is integral (6 * 1024 * 2 = 12288), and
    // exponents 0..9 where 2^e of the 1024 mantissas are integral (2 * (2^10 - 1) = 2046):
    // 14336 in all, leaving 63488 - 14336 = 49152 non-integral finite halves.
    expect(checked).toBe(49152);
  });

  it("§4.2.2: single values that fit half and doubles that fit single are rejected", () => {
    expectCborError(() => strict("fa3f000000"), "ERR_CBOR_NON_CANONICAL"); // 0.5
    expectCborError(() => strict("fb3fe0000000000000"), "ERR_CBOR_NON_CANONICAL"); // 0.5
    expectCborError(() => strict("fb40f86a0800000000"), "ERR_CBOR_NON_CANONICAL"); // 100000.5
  });

  it("§4.2.1 profile: NaN and ±Infinity are rejected", () => {
    for (const v of [NaN, Infinity, -Infinity]) expectCborError(() => encodeCanonical(v), "ERR_CBOR_NOT_FINITE");
    expectCborError(() => encodeCanonical({ a: [NaN] }), "ERR_CBOR_NOT_FINITE");
    expectCborError(() => strict("f97e01"), "ERR_CBOR_NOT_FINITE");
  });

  it("§3.1: bigint input within 64 bits encodes as an integer", () => {
    expect(enc(5n)).toBe("05");
    expect(enc(-5n)).toBe("24");
    expect(enc(2n ** 64n - 1n)).toBe("1bffffffffffffffff");
    expect(enc(-(2n ** 64n))).toBe("3bffffffffffffffff");
    expect(enc(2n ** 53n)).toBe("1b0020000000000000");
    expectCborError(() => encodeCanonical(2n ** 64n), "ERR_CBOR_UNSUPPORTED");
    expectCborError(() => encodeCanonical(-(2n ** 64n) - 1n), "ERR_CBOR_UNSUPPORTED");
    expect(strict("1b001fffffffffffff")).toBe(Number.MAX_SAFE_INTEGER);
    expect(strict("3b001ffffffffffffe")).toBe(Number.MIN_SAFE_INTEGER);
  });
});

describe("RFC 8949 §3.4 tags", () => {
  it("§3.4.1: tag 0 around RFC 3339 date-time text (c0 74 ...)", () => {
    const t = new CborTag(0, "2013-03-21T20:04:00Z");
    const hex = enc(t);
    expect(hex).toBe("c074323031332d30332d32315432303a30343a30305a");
    expect(strict(hex)).toStrictEqual(t);
    expect(enc({ at: t })).toBe("a1626174" + hex);
  });

  it("§3.4.1: tag 0 around anything but text is invalid", () => {
    expectCborError(() => encodeCanonical(new CborTag(0, 1363896240)), "ERR_CBOR_INVALID_TAG");
    expectCborError(() => strict("c01a514b67b0"), "ERR_CBOR_INVALID_TAG");
  });

  it("§3.4.3: bignums must be in preferred form", () => {
    expectCborError(() => strict("c24101"), "ERR_CBOR_NON_CANONICAL");
    expectCborError(() => strict("c249" + "000100000000000000"), "ERR_CBOR_NON_CANONICAL");
    expectCborError(() => strict("c20101"), "ERR_CBOR_INVALID_TAG");
    expectCborError(() => encodeCanonical(new CborTag(2, new Uint8Array([1]))), "ERR_CBOR_NON_CANONICAL");
  });

  it("§3.4: large tag numbers use bigint", () => {
    const t = new CborTag(2n ** 64n - 1n, null);
    const hex = enc(t);
    expect(hex).toBe("dbfffffffffffffffff6");
    expect(strict(hex)).toStrictEqual(t);
    expectCborError(() => new CborTag(-1, null), "ERR_CBOR_INVALID_ARGUMENT");
    expectCborError(() => new CborTag(2n ** 64n, null), "ERR_CBOR_INVALID_ARGUMENT");
  });
});

describe("RFC 8949 §3.3 simple values and strings", () => {
  it("§3.3: unassigned simple values encode shortest", () => {
    expect(enc(new CborSimple(16))).toBe("f0");
    expect(enc(new CborSimple(255))).toBe("f8ff");
    expect(strict("f820")).toStrictEqual(new CborSimple(32));
    expectCborError(() => new CborSimple(22), "ERR_CBOR_INVALID_ARGUMENT");
  });

  it("§3.1 major type 3: lone surrogates have no UTF-8 form", () => {
    for (const s of ["\uD800", "a\uDC00b", "\uDBFFx", "x".repeat(300) + "\uD800"]) {
      expectCborError(() => encodeCanonical(s), "ERR_CBOR_LONE_SURROGATE");
      expectCborError(() => encodeCanonical({ [s]: 1 }), "ERR_CBOR_LONE_SURROGATE");
    }
  });

  it("§3.1 major type 3: invalid UTF-8 is rejected", () => {
    for (const hex of ["62c328", "63eda080", "62c080", "61ff", "64f4908080"]) {
      expectCborError(() => strict(hex), "ERR_CBOR_INVALID_UTF8");
    }
  });

  it("§3.1: text is not normalised and a leading BOM is kept", () => {
    for (const s of ["\uFEFFa", "A\u030A", "\u00C5", "é".repeat(200), "\u{10FFFF}".repeat(150), "x".repeat(70000)]) {
      const bytes = encodeCanonical(s);
      expect(toHex(bytes.subarray(bytes.length - Buffer.byteLength(s)))).toBe(Buffer.from(s, "utf8").toString("hex"));
      expect(decodeCanonical(bytes)).toBe(s);
    }
    expect(enc("x".repeat(23))).toBe("77" + "78".repeat(23));
    expect(enc("é".repeat(12))).toBe("7818" + "c3a9".repeat(12)); // 12 UTF-16 units, 24 bytes
    expect(enc("€".repeat(100))).toBe("79012c" + "e282ac".repeat(100)); // head grows from 2 to 3 bytes
  });

  it("§3.1 major type 2: Uint8Array (and Buffer) encode as byte strings", () => {
    expect(enc(new Uint8Array([1, 2]))).toBe("420102");
    expect(enc(Buffer.from("abc"))).toBe("43616263");
    expect(strict("420102")).toStrictEqual(new Uint8Array([1, 2]));
  });
});

describe("data model boundary", () => {
  it("rejects values outside the model with ERR_CBOR_UNSUPPORTED", () => {
    class Point {
      x = 1;
    }
    for (const v of [undefined, () => 1, Symbol("s"), new Date(0), new Point(), new Int16Array(2), new Set([1]), [1, undefined], { a: undefined }]) {
      expectCborError(() => encodeCanonical(v as unknown as CborValue), "ERR_CBOR_UNSUPPORTED");
    }
    // eslint-disable-next-line no-sparse-arrays
    expectCborError(() => encodeCanonical([1, , 3] as unknown as CborValue), "ERR_CBOR_UNSUPPORTED");
  });

  it("accepts null-prototype objects", () => {
    const o = Object.create(null) as Record<string, CborValue>;
    o.b = 1;
    o.a = true;
    expect(enc(o)).toBe(enc({ a: true, b: 1 }));
  });

  it("__proto__ is a data key on encode and decode, never a prototype change", () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, CborValue>;
    const hex = enc(input);
    expect(hex).toBe("a2" + "616101" + "695f5f70726f746f5f5f" + "a168706f6c6c75746564f5");
    const out = strict(hex) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, "__proto__")).toBe(true);
    expect(out.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(["a", "__proto__"]);
    expect(toHex(encodeCanonical(out as CborValue))).toBe(hex);
    const lenient = decode(fromHex(hex)) as Record<string, unknown>;
    expect(Object.hasOwn(lenient, "__proto__")).toBe(true);
  });

  it("is reentrant: a getter that encodes does not corrupt the outer encoding", () => {
    const o = {
      a: 1,
      get b(): CborValue {
        return toHex(encodeCanonical({ inner: [1, 2, 3] }));
      },
    };
    expect(strict(enc(o))).toEqual({ a: 1, b: "a165696e6e657283010203" });
  });

  it("survives values larger than the retained buffer", () => {
    const big = new Uint8Array(3 << 20).fill(7);
    const bytes = encodeCanonical({ big, s: "y".repeat(1 << 20) });
    const back = decodeCanonical(bytes) as { big: Uint8Array; s: string };
    expect(back.big).toStrictEqual(big);
    expect(back.s.length).toBe(1 << 20);
    expect(enc([1, "a"])).toBe("82016161");
  });

  it("RFC 8949 §10 resource limits: a byte or text string counts as one item, whatever its length (maxItems)", () => {
    const bytes = encodeCanonical({ b: new Uint8Array(5000), s: "z".repeat(5000) });
    expect(decodeCanonical(bytes, { maxItems: 5 })).toEqual({ b: new Uint8Array(5000), s: "z".repeat(5000) });
    expectCborError(() => decodeCanonical(bytes, { maxItems: 4 }), "ERR_CBOR_LIMIT");
    expect(decode(fromHex("5f4100410041" + "00ff"), { maxItems: 4 })).toEqual(new Uint8Array(3));
    expectCborError(() => decode(fromHex("5f4100410041" + "00ff"), { maxItems: 3 }), "ERR_CBOR_LIMIT");
  });

  it("decodes from a subarray with a non-zero byte offset", () => {
    const hex = enc({ f: 1.1, h: 0.5, s: 100000.5, n: -(2 ** 60) });
    const padded = new Uint8Array(fromHex("ffffff" + hex + "ffff"));
    const view = padded.subarray(3, 3 + hex.length / 2);
    expect(decodeCanonical(view)).toEqual({ f: 1.1, h: 0.5, s: 100000.5, n: -(2n ** 60n) });
  });
});

describe("limits and hostile input", () => {
  it("§4.2.1: encoder depth limit, and cycles surface as ERR_CBOR_DEPTH", () => {
    expect(() => encodeCanonical(nestedArrays(MAX_ENCODE_DEPTH))).not.toThrow();
    expectCborError(() => encodeCanonical(nestedArrays(MAX_ENCODE_DEPTH + 1)), "ERR_CBOR_DEPTH");
    const a: CborValue[] = [];
    a.push(a);
    expectCborError(() => encodeCanonical(a), "ERR_CBOR_DEPTH");
    const o: Record<string, CborValue> = {};
    o.self = o;
    expectCborError(() => encodeCanonical(o), "ERR_CBOR_DEPTH");
    const t: { v: CborValue } = { v: null };
    const tag = new CborTag(1, t as unknown as CborValue);
    t.v = tag;
    expectCborError(() => encodeCanonical(tag), "ERR_CBOR_DEPTH");
  });

  it("decoder depth limit (default 256, configurable)", () => {
    const ok = encodeCanonical(nestedArrays(256));
    expect(decodeCanonical(ok)).toStrictEqual(nestedArrays(256));
    const deep = fromHex("81".repeat(257) + "00");
    expectCborError(() => decodeCanonical(deep), "ERR_CBOR_DEPTH");
    expectCborError(() => decode(deep), "ERR_CBOR_DEPTH");
    expectCborError(() => decodeCanonical(fromHex("818100"), { maxDepth: 1 }), "ERR_CBOR_DEPTH");
    expectCborError(() => decodeCanonical(fromHex("c1c100"), { maxDepth: 1 }), "ERR_CBOR_DEPTH");
    expect(decodeCanonical(fromHex("8100"), { maxDepth: 1 })).toEqual([0]);
    // 100k nested indefinite arrays must fail by limit, not by stack overflow.
    expectCborError(() => decode(fromHex("9f".repeat(100000))), "ERR_CBOR_DEPTH");
  });

  it("a length head claiming 2^63 items fails fast as truncated", () => {
    for (const hex of ["9b8000000000000000", "bb8000000000000000", "5b8000000000000000", "7b8000000000000000", "9bffffffffffffffff", "9affffffff00", "5a0001000000"]) {
      const started = performance.now();
      expectCborError(() => strict(hex), "ERR_CBOR_TRUNCATED");
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_TRUNCATED");
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it("truncation, trailing bytes and item limits", () => {
    expectCborError(() => strict(""), "ERR_CBOR_TRUNCATED");
    for (const hex of ["19", "1a0000", "6261", "8201", "a16161", "fb3ff1", "c0", "9f01", "bf6161"]) {
      expectCborError(() => decode(fromHex(hex)), "ERR_CBOR_TRUNCATED");
    }
    const e = expectCborError(() => strict("0000"), "ERR_CBOR_TRAILING_BYTES");
    expect(e.detail).toEqual({ offset: 1 });
    expectCborError(() => decodeCanonical(fromHex("83010203"), { maxItems: 3 }), "ERR_CBOR_LIMIT");
    expect(decodeCanonical(fromHex("83010203"), { maxItems: 4 })).toEqual([1, 2, 3]);
    expectCborError(() => decode(fromHex("9f01020304ff"), { maxItems: 3 }), "ERR_CBOR_LIMIT");
  });

  it("validates arguments at the boundary", () => {
    expectCborError(() => decodeCanonical("00" as unknown as Uint8Array), "ERR_CBOR_INVALID_ARGUMENT");
    expectCborError(() => decodeCanonical(fromHex("00"), { maxDepth: -1 }), "ERR_CBOR_INVALID_ARGUMENT");
    expectCborError(() => decodeCanonical(fromHex("00"), { maxItems: 0.5 }), "ERR_CBOR_INVALID_ARGUMENT");
    const err = expectCborError(() => strict("1817"), "ERR_CBOR_NON_CANONICAL");
    expect(err).toBeInstanceOf(CborError);
    expect(err.name).toBe("CborError");
    expect(err.toJSON().code).toBe("ERR_CBOR_NON_CANONICAL");
  });
});
