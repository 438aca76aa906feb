import { describe, expect, it } from "vitest";
import {
  OHP_MAX_LIFETIME_MS,
  OHP_SKEW_MS,
  OhpWsDedupeCache,
  ohpWsDedupeWindowMs,
} from "../../../../src/ohp/bindings/ws/dedupe.js";
import { isOhpWsErrorCode, OhpWsError } from "../../../../src/ohp/bindings/ws/errors.js";
import {
  OHP_WS_MAX_FRAME_BYTES,
  parseOhpWsFrame,
  serializeOhpWsFrame,
  type OhpWsFrame,
} from "../../../../src/ohp/bindings/ws/frames.js";
import { envelope } from "./helpers.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OhpWsError);
    return (e as OhpWsError).code;
  }
  return undefined;
}

describe("§7.2 frames", () => {
  it("§7.2 every OHP 0.1 frame (and agentwire's error frame) round-trips", () => {
    const frames: OhpWsFrame[] = [
      { type: "hello", ohp: "0.1", maxTier: "regulated", bindings: ["ohp/ws"], sessionToken: "tok" },
      { type: "hello", ohp: "0.1", maxTier: "core", bindings: [], tenant: "acme" },
      { type: "envelope", envelope: envelope("PROPOSE") },
      { type: "ack", id: "cse_01", status: "accepted" },
      { type: "ack", id: "cse_01", status: "duplicate" },
      { type: "ack", id: "cse_01", status: "invalid" },
      { type: "ping" },
      { type: "pong" },
      { type: "error", code: "ERR_OHP_WS_AUTH", message: "no" },
      { type: "error", code: "ERR_OHP_WS_HANDLER", message: "", id: "cse_01" },
    ];
    for (const f of frames) {
      const text = serializeOhpWsFrame(f);
      expect(parseOhpWsFrame(text).frame).toEqual(f);
      expect(parseOhpWsFrame(new TextEncoder().encode(text)).frame).toEqual(f);
    }
  });

  it("§7.2 the spec's hello example parses", () => {
    const text = '{"type":"hello","ohp":"0.1","maxTier":"regulated","bindings":["ohp/ws"],"sessionToken":"<DPoP-bound JWT>"}';
    const { frame } = parseOhpWsFrame(text);
    expect(frame).toMatchObject({ type: "hello", maxTier: "regulated", sessionToken: "<DPoP-bound JWT>" });
  });

  it("§7.2 text frames only: a binary frame is refused", () => {
    expect(codeOf(() => parseOhpWsFrame(new Uint8Array([0x7b, 0x7d]), { isBinary: true }))).toBe("ERR_OHP_WS_FRAME_BINARY");
  });

  it("§7 size cap: a frame above 32 KiB + framing overhead is refused before parsing", () => {
    const big = serializeOhpWsFrame({ type: "envelope", envelope: { id: "cse_1", pad: "x".repeat(OHP_WS_MAX_FRAME_BYTES) } });
    expect(codeOf(() => parseOhpWsFrame(big))).toBe("ERR_OHP_WS_FRAME_TOO_LARGE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"ping"}', { maxFrameBytes: 10 }))).toBe("ERR_OHP_WS_FRAME_TOO_LARGE");
  });

  it("§7.2 strict JSON: syntax errors, duplicate members, unsafe integers, bad UTF-8", () => {
    expect(codeOf(() => parseOhpWsFrame("{not json"))).toBe("ERR_OHP_WS_FRAME_JSON");
    expect(codeOf(() => parseOhpWsFrame('{"type":"ping","type":"pong"}'))).toBe("ERR_OHP_WS_FRAME_JSON");
    expect(codeOf(() => parseOhpWsFrame('{"type":"envelope","envelope":{"id":"x","n":9007199254740993}}'))).toBe("ERR_OHP_WS_FRAME_JSON");
    expect(codeOf(() => parseOhpWsFrame(new Uint8Array([0x22, 0xff, 0x22])))).toBe("ERR_OHP_WS_FRAME_JSON");
  });

  it("§7.2 frame type and shape: unknown type, missing type, extra or mistyped members", () => {
    expect(codeOf(() => parseOhpWsFrame('{"type":"PROPOSE"}'))).toBe("ERR_OHP_WS_FRAME_TYPE");
    expect(codeOf(() => parseOhpWsFrame('{"envelope":{}}'))).toBe("ERR_OHP_WS_FRAME_TYPE");
    expect(codeOf(() => parseOhpWsFrame("[1]"))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"ping","x":1}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"envelope","envelope":[]}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"ack","id":"a","status":"ok"}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"ack","id":"","status":"accepted"}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"hello","ohp":"0.1","maxTier":"gold","bindings":[]}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"hello","ohp":"0.1","maxTier":"core","bindings":[1]}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"hello","ohp":"0.1","maxTier":"core","bindings":[],"tenant":""}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
    expect(codeOf(() => parseOhpWsFrame('{"type":"error","code":"X"}'))).toBe("ERR_OHP_WS_FRAME_SHAPE");
  });

  it("§7.2 a hello for another OHP version is ERR_OHP_WS_VERSION", () => {
    expect(codeOf(() => parseOhpWsFrame('{"type":"hello","ohp":"0.2","maxTier":"core","bindings":[]}'))).toBe("ERR_OHP_WS_VERSION");
  });

  it("§7 the envelope size is measured on the envelope's bytes as received", () => {
    const inner = '{ "id" : "cse_1", "s": "é\\u00e9", "a": [ {}, "}" ] }';
    const text = `{"envelope": ${inner} , "type":"envelope"}`;
    const parsed = parseOhpWsFrame(text);
    expect(parsed.envelopeByteLength).toBe(Buffer.byteLength(inner));
    expect(parsed.byteLength).toBe(Buffer.byteLength(text));
  });

  it("error codes are stable strings", () => {
    expect(isOhpWsErrorCode("ERR_OHP_WS_AUTH")).toBe(true);
    expect(isOhpWsErrorCode("ERR_SOMETHING_ELSE")).toBe(false);
    expect(new OhpWsError("ERR_OHP_WS_AUTH", "x").toJSON()).toMatchObject({ name: "OhpWsError", code: "ERR_OHP_WS_AUTH" });
  });
});

describe("§7.2 dedupe window", () => {
  it("§7.2 window = (notAfter − issuedAt) + 5 s, capped at PT5M + 5 s", () => {
    expect(ohpWsDedupeWindowMs(envelope("PROPOSE", { lifetimeMs: 60_000 }))).toBe(60_000 + OHP_SKEW_MS);
    expect(ohpWsDedupeWindowMs(envelope("PROPOSE", { lifetimeMs: 3_600_000 }))).toBe(OHP_MAX_LIFETIME_MS + OHP_SKEW_MS);
    expect(ohpWsDedupeWindowMs({ id: "x" })).toBe(OHP_MAX_LIFETIME_MS + OHP_SKEW_MS);
    expect(ohpWsDedupeWindowMs({ id: "x", issuedAt: "2026-01-01T00:01:00Z", notAfter: "2026-01-01T00:00:00Z" })).toBe(
      OHP_MAX_LIFETIME_MS + OHP_SKEW_MS,
    );
  });

  it("§7.2 entries expire with the clock and memory stays bounded", () => {
    let now = 1_000;
    const cache = new OhpWsDedupeCache({ maxEntries: 3, now: () => now });
    cache.add("a", 100);
    expect(cache.get("a")).toBeDefined();
    now += 100;
    expect(cache.get("a")).toBeUndefined();
    for (const id of ["b", "c", "d", "e"]) cache.add(id, 1_000);
    expect(cache.size).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("e")).toBeDefined();
    now += 1_000;
    cache.prune();
    expect(cache.size).toBe(0);
  });
});
