import { describe, expect, it } from "vitest";
import { JsonParseError, parseJsonStrict } from "../../src/json/parse.js";

function code(text: string): string | undefined {
  try {
    parseJsonStrict(text);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(JsonParseError);
    return (e as JsonParseError).code;
  }
}

describe("decision #8: strict JSON for wire documents", () => {
  it("parses ordinary JSON", () => {
    expect(parseJsonStrict('{"a":[1,2.5,"x\\"y",{"b":null}],"c":true}')).toEqual({ a: [1, 2.5, 'x"y', { b: null }], c: true });
  });
  it("rejects syntax errors", () => expect(code("{")).toBe("ERR_JSON_SYNTAX"));
  it("rejects duplicate member names, with a pointer", () => {
    expect(code('{"a":1,"a":2}')).toBe("ERR_JSON_DUPLICATE_KEY");
    try {
      parseJsonStrict('{"x":{"ok":1,"list":[{"k":1},{"k":2,"k":3}]}}');
    } catch (e) {
      expect((e as JsonParseError).detail).toEqual({ pointer: "/x/list/1/k" });
    }
  });
  it("allows the same name in sibling objects and escaped look-alikes", () => {
    expect(code('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(code('{"a":1,"\\u0062":2,"b\\"":3}')).toBeUndefined();
    expect(code('{"a":1,"\\u0061":2}')).toBe("ERR_JSON_DUPLICATE_KEY");
  });
  it("rejects integers beyond 2^53-1 and non-finite numbers", () => {
    expect(code("[9007199254740993]")).toBe("ERR_JSON_UNSAFE_INTEGER");
    expect(code("[9007199254740991]")).toBeUndefined();
    expect(code("[1e400]")).toBe("ERR_JSON_NUMBER_RANGE");
  });
  it("rejects lone surrogates", () => expect(code('["\\ud800"]')).toBe("ERR_JSON_LONE_SURROGATE"));
  it("rejects nesting deeper than 64", () => expect(code("[".repeat(65) + "]".repeat(65))).toBe("ERR_JSON_DEPTH"));
});
