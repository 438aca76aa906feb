/**
 * RFC 8785 JSON Canonicalization Scheme: the cyberphone reference test data, the Appendix B
 * number serialisation table, property tests, and the I-JSON / data-model rejections.
 */
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalizeJson, canonicalizeJsonBytes, JcsError, type JcsErrorCode, MAX_JCS_DEPTH } from "../../src/jcs/index.js";

const vectorDir = new URL("../vectors/jcs/", import.meta.url);
const vectorNames = readdirSync(new URL("input/", vectorDir)).filter((f) => f.endsWith(".json")).sort();

function expectJcsError(fn: () => unknown, code: JcsErrorCode): JcsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(JcsError);
  expect((caught as JcsError).code).toBe(code);
  return caught as JcsError;
}

/** IEEE 754 binary64 bit pattern (16 hex digits) to a number. */
function fromBits(hex: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt(`0x${hex}`));
  return dv.getFloat64(0);
}

/**
 * An independent reference for the serialisation: JSON.stringify for leaves, Array#sort's
 * default comparator (UTF-16 code units of the string) for member names.
 */
function reference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(reference).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Rebuilds every object with its members in a different insertion order. */
function reorder(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((e, i) => reorder(e, seed + i));
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const rot = keys.length === 0 ? 0 : seed % keys.length;
    const out: Record<string, unknown> = {};
    for (const k of [...keys.slice(rot), ...keys.slice(0, rot)].reverse()) {
      Object.defineProperty(out, k, { value: reorder(o[k], seed + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

const jsonValue = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: "binary", maxDepth: 4 }));

describe("RFC 8785 cyberphone test data (test/vectors/jcs)", () => {
  it("RFC 8785: the input and output directories hold the same six vectors", () => {
    expect(vectorNames).toEqual(["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"]);
    expect(readdirSync(new URL("output/", vectorDir)).filter((f) => f.endsWith(".json")).sort()).toEqual(vectorNames);
  });

  it.each(vectorNames)("RFC 8785 §3.2: %s canonicalises to the exact output bytes", (name) => {
    const input = JSON.parse(readFileSync(new URL(`input/${name}`, vectorDir), "utf8")) as unknown;
    const expected = new Uint8Array(readFileSync(new URL(`output/${name}`, vectorDir)));
    const bytes = canonicalizeJsonBytes(input);
    expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
    expect(canonicalizeJson(input)).toBe(new TextDecoder("utf-8", { fatal: true }).decode(expected));
    // Canonical output is a fixed point.
    expect(canonicalizeJson(JSON.parse(canonicalizeJson(input)))).toBe(canonicalizeJson(input));
  });
});

describe("RFC 8785 §3.2.2.3 number serialisation", () => {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialisation.
  const appendixB: [string, string][] = [
    ["0000000000000000", "0"],
    ["8000000000000000", "0"], // minus zero
    ["0000000000000001", "5e-324"], // min positive
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"], // max
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"], // max safe integer + 1
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"], // ~2^68
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"], // round to even
  ];

  it.each(appendixB)("RFC 8785 Appendix B: %s serialises as %s", (bits, text) => {
    const v = fromBits(bits);
    expect(canonicalizeJson(v)).toBe(text);
    expect(canonicalizeJson([v])).toBe(`[${text}]`);
    // The serialisation reads back to the same double (§3.2.2.3 is round-trip exact).
    expect(Object.is(Number(text), Object.is(v, -0) ? 0 : v)).toBe(true);
  });

  it("RFC 8785 §3.2.2.3: exponent switch points of Number::toString (1e21, 1e-7)", () => {
    expect(canonicalizeJson(1e21)).toBe("1e+21");
    expect(canonicalizeJson(1e20)).toBe("100000000000000000000");
    expect(canonicalizeJson(-1e21)).toBe("-1e+21");
    expect(canonicalizeJson(1e-6)).toBe("0.000001");
    expect(canonicalizeJson(1e-7)).toBe("1e-7");
    expect(canonicalizeJson(-0)).toBe("0");
    expect(canonicalizeJson(4.5)).toBe("4.5");
    expect(canonicalizeJson(0.002)).toBe("0.002");
    expect(canonicalizeJson(1e30)).toBe("1e+30");
  });

  it("RFC 8785 Appendix B: NaN and Infinity have no serialisation", () => {
    for (const bits of ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"]) {
      expectJcsError(() => canonicalizeJson(fromBits(bits)), "ERR_JCS_NOT_FINITE");
    }
  });

  it("RFC 8785 §3.2.2.3: every finite double serialises to ECMAScript's shortest round-trip form", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const text = canonicalizeJson(v);
        expect(text).toBe(Object.is(v, -0) ? "0" : String(v));
        expect(Number(text)).toBe(Object.is(v, -0) ? 0 : v);
        expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?(e[+-]\d+)?$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("RFC 8785 §3.2.2.2 strings and §3.2.3 member order", () => {
  it("RFC 8785 §3.2.2.2: control characters, quote and backslash are escaped; everything else is literal", () => {
    expect(canonicalizeJson("\u0000\u0008\t\n\u000b\f\r\u001f\"\\/\u007f\u2028\u{1F600}")).toBe(
      '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\u007f\u2028\u{1F600}"',
    );
    expect(canonicalizeJson("A\u030a")).toBe('"A\u030a"'); // no Unicode normalisation
  });

  it("RFC 8785 §3.2.3: members sort by UTF-16 code units, not code points or UTF-8 bytes", () => {
    // U+1F600 is d83d de00 in UTF-16, below U+FB01; in code points/UTF-8 it is above.
    expect(canonicalizeJson({ "\uFB01": 1, "\u{1F600}": 2 })).toBe('{"\u{1F600}":2,"\uFB01":1}');
    expect(canonicalizeJson({ b: 1, a: 2, aa: 3, A: 4, "": 5, "10": 6, "9": 7 })).toBe('{"":5,"10":6,"9":7,"A":4,"a":2,"aa":3,"b":1}');
  });

  it("RFC 8785 §3.2.3: nested objects inside arrays are sorted too; arrays keep their order", () => {
    expect(canonicalizeJson([{ b: [3, 1], a: null }, 2])).toBe('[{"a":null,"b":[3,1]},2]');
  });

  it("RFC 8785: null-prototype objects and a __proto__ member are plain data", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.z = 1;
    o.a = 2;
    expect(canonicalizeJson(o)).toBe('{"a":2,"z":1}');
    expect(canonicalizeJson(JSON.parse('{"__proto__":{"x":1},"a":0}'))).toBe('{"__proto__":{"x":1},"a":0}');
  });

  it("RFC 8785 §3.2.4: canonicalizeJsonBytes is the UTF-8 encoding of canonicalizeJson", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(Buffer.from(canonicalizeJsonBytes(v)).equals(Buffer.from(canonicalizeJson(v), "utf8"))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("RFC 8785 properties", () => {
  it("RFC 8785 §3.2: matches an independent reference serialiser", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(canonicalizeJson(v)).toBe(reference(v));
      }),
      { numRuns: 500 },
    );
  });

  it("RFC 8785 §3.2: idempotent — canonical text parses and re-canonicalises to itself", () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        const once = canonicalizeJson(v);
        expect(canonicalizeJson(JSON.parse(once))).toBe(once);
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
  });

  it("RFC 8785 §3.2.3: independent of member insertion order and of whitespace in the source text", () => {
    fc.assert(
      fc.property(jsonValue, fc.nat(), (v, seed) => {
        expect(canonicalizeJson(reorder(v, seed))).toBe(canonicalizeJson(v));
        expect(canonicalizeJson(JSON.parse(JSON.stringify(v, null, 2)))).toBe(canonicalizeJson(v));
      }),
      { numRuns: 500 },
    );
  });
});

describe("RFC 8785 / I-JSON rejections", () => {
  it("RFC 8785 §3.2.2.3: NaN and ±Infinity anywhere → ERR_JCS_NOT_FINITE with the path", () => {
    for (const v of [NaN, Infinity, -Infinity]) {
      expectJcsError(() => canonicalizeJson(v), "ERR_JCS_NOT_FINITE");
      const e = expectJcsError(() => canonicalizeJson({ a: [1, { b: v }] }), "ERR_JCS_NOT_FINITE");
      expect(e.detail).toEqual({ path: "$.a[1].b" });
    }
  });

  it("RFC 8785 §3.2.2.2 / RFC 7493 §2.1: lone surrogates in values and member names → ERR_JCS_LONE_SURROGATE", () => {
    for (const s of ["\uD800", "a\uDC00", "\uDBFFx", "\uDE00\uD83D", "ok\uD83D"]) {
      expectJcsError(() => canonicalizeJson(s), "ERR_JCS_LONE_SURROGATE");
      expectJcsError(() => canonicalizeJson([s]), "ERR_JCS_LONE_SURROGATE");
      expectJcsError(() => canonicalizeJson({ [s]: 1 }), "ERR_JCS_LONE_SURROGATE");
      expectJcsError(() => canonicalizeJsonBytes({ k: s }), "ERR_JCS_LONE_SURROGATE");
    }
    expect(canonicalizeJson("\uD83D\uDE00")).toBe('"\u{1F600}"');
  });

  it("RFC 8785 §3.1: values outside the JSON data model → ERR_JCS_UNSUPPORTED", () => {
    class Point {
      x = 1;
    }
    const unsupported: unknown[] = [
      undefined,
      () => 1,
      Symbol("s"),
      1n,
      new Date(0),
      new Map([["a", 1]]),
      new Set([1]),
      new Point(),
      new Uint8Array(2),
      /re/,
      new Error("x"),
      Object(1) as unknown,
      Object("s") as unknown,
      Object(true) as unknown,
      { a: undefined },
      [1, undefined],
      { toJSON: () => 1, nested: new Date(0) },
    ];
    for (const v of unsupported) {
      expectJcsError(() => canonicalizeJson(v), "ERR_JCS_UNSUPPORTED");
      expectJcsError(() => canonicalizeJson({ wrap: [v] }), "ERR_JCS_UNSUPPORTED");
    }
    // eslint-disable-next-line no-sparse-arrays
    expectJcsError(() => canonicalizeJson([1, , 3]), "ERR_JCS_UNSUPPORTED");
  });

  it("RFC 8785: cycles → ERR_JCS_CYCLE, while shared (acyclic) references are fine", () => {
    const a: unknown[] = [];
    a.push(a);
    expectJcsError(() => canonicalizeJson(a), "ERR_JCS_CYCLE");
    const o: Record<string, unknown> = { x: 1 };
    o.self = { back: o };
    const e = expectJcsError(() => canonicalizeJson(o), "ERR_JCS_CYCLE");
    expect(e.detail).toEqual({ path: "$.self.back" });
    const shared = { v: [1, 2] };
    expect(canonicalizeJson({ p: shared, q: shared, r: [shared, shared] })).toBe('{"p":{"v":[1,2]},"q":{"v":[1,2]},"r":[{"v":[1,2]},{"v":[1,2]}]}');
  });

  it("RFC 8785: nesting deeper than MAX_JCS_DEPTH → ERR_JCS_DEPTH (no stack overflow)", () => {
    const nest = (d: number, obj: boolean): unknown => {
      let v: unknown = 0;
      for (let i = 0; i < d; i++) v = obj ? { k: v } : [v];
      return v;
    };
    expect(MAX_JCS_DEPTH).toBe(512);
    for (const obj of [false, true]) {
      expect(canonicalizeJson(nest(MAX_JCS_DEPTH, obj))).toHaveLength(obj ? MAX_JCS_DEPTH * 6 + 1 : MAX_JCS_DEPTH * 2 + 1);
      expectJcsError(() => canonicalizeJson(nest(MAX_JCS_DEPTH + 1, obj)), "ERR_JCS_DEPTH");
      expectJcsError(() => canonicalizeJson(nest(100_000, obj)), "ERR_JCS_DEPTH");
    }
  });

  it("RFC 8785: errors are typed, stable and serialisable", () => {
    const e = expectJcsError(() => canonicalizeJson({ n: NaN }), "ERR_JCS_NOT_FINITE");
    expect(e.name).toBe("JcsError");
    expect(e.toJSON()).toMatchObject({ name: "JcsError", code: "ERR_JCS_NOT_FINITE", detail: { path: "$.n" } });
  });
});
