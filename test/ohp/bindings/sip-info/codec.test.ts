import { deflateRawSync, deflateSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CborTag, encodeCanonical } from "../../../../src/cbor/index.js";
import type { JsonObject } from "../../../../src/json/types.js";
import {
  ChunkReassembler,
  decodeEnvelope,
  decodeOhpBody,
  encodeEnvelope,
  encodeOhpInfoBodies,
  formatChunkContentType,
  inflateBody,
  OHP_INFO_BODY_LIMIT,
  parseChunkBody,
  parseChunkContentType,
  parseContentEncoding,
  type OhpInfoBody,
  type ReassemblyResult,
} from "../../../../src/ohp/bindings/sip-info/codec.js";
import { SipInfoError } from "../../../../src/ohp/bindings/sip-info/errors.js";
import { envelopeCbor } from "../../../../src/ohp/surface.js";
import { upstreamEnvelopes } from "../../../helpers/upstream.js";

const ALL = upstreamEnvelopes();
const EXAMPLES = ALL.filter((e) => e.name.startsWith("examples/envelopes/"));
const REGULATED = EXAMPLES.find((e) => e.name.includes("04-regulated"))!.json as JsonObject;
const CORE = EXAMPLES.find((e) => e.name.includes("01-core"))!.json as JsonObject;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipInfoError) return e.code;
    throw e;
  }
  throw new Error("expected a SipInfoError");
}

/** Feeds chunk bodies (in the given order) to a reassembler and decodes the completed set. */
function reassemble(parts: readonly OhpInfoBody[], order: readonly number[], r = new ChunkReassembler()): JsonObject {
  let last: ReassemblyResult | undefined;
  for (const i of order) {
    const part = parts[i]!;
    const params = parseChunkContentType(part.contentType);
    expect(last?.status).not.toBe("complete");
    last = r.add({ ...params, ...parseChunkBody(part.body, params.boundary), scope: "call-1" });
  }
  if (last?.status !== "complete") throw new Error("set did not complete");
  return decodeOhpBody(last.data, last.contentEncoding).envelope;
}

function shuffled(n: number, seed: number): number[] {
  const a = [...Array(n).keys()];
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe("OHP §7.1 ohp/sip-info body codec", () => {
  it.each(EXAMPLES.map((e) => [e.name, e.json] as const))("§7.1: %s round-trips byte-exact through application/ohp+cbor", (_name, json) => {
    const cbor = encodeEnvelope(json as JsonObject);
    expect(cbor).toEqual(envelopeCbor(json));
    const back = decodeEnvelope(cbor);
    expect(back).toEqual(json);
    expect(encodeEnvelope(back)).toEqual(cbor);
  });

  it("§7.1: every upstream envelope (examples and vectors) round-trips, with and without deflate", () => {
    expect(ALL.length).toBe(10);
    for (const { json } of ALL) {
      const cbor = encodeEnvelope(json as JsonObject);
      expect(decodeOhpBody(cbor, undefined)).toEqual({ envelope: json, cborLength: cbor.length });
      const z = deflateSync(cbor);
      expect(decodeOhpBody(z, "deflate")).toEqual({ envelope: json, cborLength: cbor.length });
    }
  });

  it("§7.1: a body within 1300 bytes is one application/ohp+cbor INFO", () => {
    const [one, ...rest] = encodeOhpInfoBodies(CORE);
    expect(rest).toEqual([]);
    expect(one!.contentType).toBe("application/ohp+cbor");
    expect(one!.contentEncoding).toBeUndefined();
    expect(one!.body).toEqual(envelopeCbor(CORE));
    expect(one!.body.length).toBeLessThanOrEqual(OHP_INFO_BODY_LIMIT);
  });

  it("§7 D07: Content-Encoding deflate is zlib (RFC 1950) on send; zlib and raw DEFLATE both inflate on receive", () => {
    const [one] = encodeOhpInfoBodies(REGULATED, { deflate: true, maxBodyBytes: 8000 });
    expect(one!.contentEncoding).toBe("deflate");
    expect(one!.body[0]).toBe(0x78); // zlib CMF: deflate, 32 KiB window
    expect(decodeOhpBody(one!.body, "deflate").envelope).toEqual(REGULATED);
    const raw = deflateRawSync(envelopeCbor(REGULATED));
    expect(decodeOhpBody(raw, "deflate").envelope).toEqual(REGULATED);
    expect(inflateBody(one!.body)).toEqual(envelopeCbor(REGULATED));
  });

  it("§7 #122: receivers tolerate an uncompressed body even when deflate was announced", () => {
    const cbor = envelopeCbor(CORE);
    expect(decodeOhpBody(cbor, "deflate").envelope).toEqual(CORE);
    expect(code(() => decodeOhpBody(new Uint8Array([1, 2, 3, 4]), "deflate"))).toBe("ERR_SIPINFO_INFLATE");
  });

  it("§7 size caps: a zip bomb stops at the cap; oversize bodies and envelopes are refused", () => {
    const bomb = deflateSync(new Uint8Array(4 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(8 * 1024);
    expect(code(() => decodeOhpBody(bomb, "deflate"))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => inflateBody(bomb, 1024))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => decodeOhpBody(deflateSync(envelopeCbor(REGULATED)), "deflate", { maxEnvelopeBytes: 4096 }))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => decodeEnvelope(envelopeCbor(REGULATED), { maxEnvelopeBytes: 4096 }))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => encodeOhpInfoBodies(REGULATED, { maxEnvelopeBytes: 4096 }))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => encodeOhpInfoBodies(REGULATED, { maxChunks: 3 }))).toBe("ERR_SIPINFO_TOO_LARGE");
  });

  it("§7.1: Content-Encoding values: identity and absent mean none, deflate is the only coding", () => {
    expect(parseContentEncoding(undefined)).toBeUndefined();
    expect(parseContentEncoding("identity")).toBeUndefined();
    expect(parseContentEncoding(" Deflate ")).toBe("deflate");
    expect(code(() => parseContentEncoding("gzip"))).toBe("ERR_SIPINFO_ENCODING");
    expect(code(() => parseContentEncoding("deflate, gzip"))).toBe("ERR_SIPINFO_ENCODING");
  });

  it("§7.1: strict decoding rejects non-canonical CBOR, other tags, byte strings and non-map tops with typed errors", () => {
    const cbor = envelopeCbor(CORE);
    expect(code(() => decodeEnvelope(cbor.subarray(0, cbor.length - 1)))).toBe("ERR_SIPINFO_CBOR");
    expect(code(() => decodeEnvelope(new Uint8Array([...cbor, 0x00])))).toBe("ERR_SIPINFO_CBOR");
    // keys out of canonical order: {"b":1,"a":1}
    expect(code(() => decodeEnvelope(new Uint8Array([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x01])))).toBe("ERR_SIPINFO_CBOR");
    // a long head for a small integer: {"a": 24 as 0x18 0x01}
    expect(code(() => decodeEnvelope(new Uint8Array([0xa1, 0x61, 0x61, 0x18, 0x01])))).toBe("ERR_SIPINFO_CBOR");
    expect(code(() => decodeEnvelope(encodeCanonical({ id: new CborTag(1, 5) })))).toBe("ERR_SIPINFO_NOT_ENVELOPE");
    expect(code(() => decodeEnvelope(encodeCanonical({ id: new Uint8Array([1]) })))).toBe("ERR_SIPINFO_NOT_ENVELOPE");
    expect(code(() => decodeEnvelope(encodeCanonical(["not", "a", "map"])))).toBe("ERR_SIPINFO_NOT_ENVELOPE");
    expect(code(() => decodeEnvelope(encodeCanonical(new Map([[1, "x"]]))))).toBe("ERR_SIPINFO_NOT_ENVELOPE");
    expect(code(() => decodeEnvelope(new Uint8Array(0)))).toBe("ERR_SIPINFO_CBOR");
  });

  it("§7.1: tag 0 decodes to its text, but only on the RFC 3339 fields (strictTags)", () => {
    const tagged = encodeCanonical({ id: "x", issuedAt: new CborTag(0, "2026-05-28T13:42:11Z") });
    expect(decodeEnvelope(tagged)).toEqual({ id: "x", issuedAt: "2026-05-28T13:42:11Z" });
    const untagged = encodeCanonical({ id: "x", issuedAt: "2026-05-28T13:42:11Z" });
    expect(code(() => decodeEnvelope(untagged))).toBe("ERR_SIPINFO_NOT_CANONICAL");
    expect(decodeEnvelope(untagged, { strictTags: false })).toEqual({ id: "x", issuedAt: "2026-05-28T13:42:11Z" });
    const misplaced = encodeCanonical({ id: new CborTag(0, "x") });
    expect(code(() => decodeEnvelope(misplaced))).toBe("ERR_SIPINFO_NOT_CANONICAL");
    // {"issuedAt": 0(5)}: tag 0 around a number is invalid CBOR
    const badTag = new Uint8Array([0xa1, 0x68, ...new TextEncoder().encode("issuedAt"), 0xc0, 0x05]);
    expect(code(() => decodeEnvelope(badTag))).toBe("ERR_SIPINFO_CBOR");
  });

  it("§7.1: arbitrary bytes never escape as anything but a SipInfoError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, deflate) => {
        try {
          decodeOhpBody(bytes, deflate ? "deflate" : undefined);
        } catch (e) {
          expect(e).toBeInstanceOf(SipInfoError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("OHP §7.1 ohp/sip-info chunking (multipart/ohp)", () => {
  it("§7.1: the Regulated example is chunked: every INFO body ≤ 1300 bytes, ';'-separated parameters, chunk=1..N", () => {
    const parts = encodeOhpInfoBodies(REGULATED, { boundary: () => "ohp-chunk-7a91" });
    expect(parts.length).toBe(5);
    parts.forEach((p, i) => {
      expect(p.body.length).toBeLessThanOrEqual(OHP_INFO_BODY_LIMIT);
      expect(p.contentType).toBe(`multipart/ohp;boundary=ohp-chunk-7a91;total-chunks=5;chunk=${i + 1}`);
      expect(p.contentEncoding).toBeUndefined();
      const part = parseChunkBody(p.body, "ohp-chunk-7a91");
      expect(part.envelopeId).toBe(REGULATED["id"]);
    });
    expect(reassemble(parts, [0, 1, 2, 3, 4])).toEqual(REGULATED);
  });

  it("§7.1: reassembly by envelope id + chunk index accepts any arrival order, byte-exact", () => {
    const parts = encodeOhpInfoBodies(REGULATED, { maxBodyBytes: 600 });
    expect(parts.length).toBeGreaterThan(8);
    for (let seed = 1; seed <= 20; seed++) {
      const env = reassemble(parts, shuffled(parts.length, seed));
      expect(encodeEnvelope(env)).toEqual(envelopeCbor(REGULATED));
    }
    expect(reassemble(parts, [...parts.keys()].reverse())).toEqual(REGULATED);
  });

  it("§7.1: deflate + chunking: the chunks carry slices of the zlib stream, coding in the part headers", () => {
    const parts = encodeOhpInfoBodies(REGULATED, { deflate: true, maxBodyBytes: 700 });
    expect(parts.length).toBeGreaterThan(1);
    const first = parseChunkContentType(parts[0]!.contentType);
    expect(parseChunkBody(parts[0]!.body, first.boundary).contentEncoding).toBe("deflate");
    expect(reassemble(parts, shuffled(parts.length, 7))).toEqual(REGULATED);
  });

  it("§7.1: the upstream comma form `multipart/ohp; boundary=…, total-chunks=3, chunk=1` is accepted", () => {
    expect(parseChunkContentType("multipart/ohp; boundary=ohp-chunk-7a91, total-chunks=3, chunk=1")).toEqual({
      boundary: "ohp-chunk-7a91",
      total: 3,
      index: 1,
    });
    expect(parseChunkContentType('Multipart/OHP;boundary="ohp-chunk-7a91";Total-Chunks=3;chunk=3')).toEqual({ boundary: "ohp-chunk-7a91", total: 3, index: 3 });
    expect(formatChunkContentType({ boundary: "b", total: 3, index: 2 })).toBe("multipart/ohp;boundary=b;total-chunks=3;chunk=2");
  });

  it.each([
    ["multipart/ohp;total-chunks=3;chunk=1", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;chunk=1", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;total-chunks=3;chunk=0", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;total-chunks=3;chunk=4", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;total-chunks=65;chunk=1", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;total-chunks=x;chunk=1", "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=b;total-chunks=3;total-chunks=3;chunk=1", "ERR_SIPINFO_CHUNK"],
    ['multipart/ohp;boundary="b;total-chunks=3;chunk=1', "ERR_SIPINFO_CHUNK"],
    ["multipart/ohp;boundary=;total-chunks=3;chunk=1", "ERR_SIPINFO_CHUNK"],
    ["multipart/mixed;boundary=b;total-chunks=3;chunk=1", "ERR_SIPINFO_MEDIA_TYPE"],
  ])("§7.1: bad chunk Content-Type %s → %s", (value, expected) => {
    expect(code(() => parseChunkContentType(value))).toBe(expected);
  });

  it("§7.1: bad chunk framing is refused", () => {
    const [p] = encodeOhpInfoBodies(REGULATED, { boundary: () => "bnd" });
    expect(code(() => parseChunkBody(p!.body, "other"))).toBe("ERR_SIPINFO_CHUNK");
    expect(code(() => parseChunkBody(p!.body.subarray(0, p!.body.length - 10), "bnd"))).toBe("ERR_SIPINFO_CHUNK");
    const text = (s: string) => new TextEncoder().encode(s);
    expect(code(() => parseChunkBody(text("--bnd\r\nContent-Type: application/ohp+cbor\r\n\r\nxx\r\n--bnd--"), "bnd"))).toBe("ERR_SIPINFO_CHUNK");
    expect(code(() => parseChunkBody(text("--bnd\r\nContent-Type: text/plain\r\nOHP-Envelope-Id: a\r\n\r\nxx\r\n--bnd--"), "bnd"))).toBe("ERR_SIPINFO_MEDIA_TYPE");
    expect(code(() => parseChunkBody(text("--bnd\r\nOHP-Envelope-Id: a\r\nContent-Encoding: br\r\n\r\nxx\r\n--bnd--"), "bnd"))).toBe("ERR_SIPINFO_ENCODING");
    expect(parseChunkBody(text("--bnd\r\nOHP-Envelope-Id: a\r\n\r\nxx\r\n--bnd--"), "bnd")).toEqual({ envelopeId: "a", contentEncoding: undefined, data: text("xx") });
  });

  it("§7.1: chunking needs a printable envelope id", () => {
    const noId = { ...REGULATED };
    delete noId["id"];
    expect(code(() => encodeOhpInfoBodies(noId))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(code(() => encodeOhpInfoBodies({ ...REGULATED, id: "a b\r\nX: y" }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(encodeOhpInfoBodies({ ...CORE, id: "a b" }).length).toBe(1); // a single body needs no id
  });
});

describe("OHP §7.1 chunk reassembly limits", () => {
  const data = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
  const chunk = (index: number, total: number, extra: Partial<Parameters<ChunkReassembler["add"]>[0]> = {}) => ({
    scope: "c",
    envelopeId: "e",
    boundary: "b",
    total,
    index,
    contentEncoding: undefined,
    data: data(10, index),
    ...extra,
  });

  it("§7.1: a repeated chunk is absorbed; a contradicting one drops the set", () => {
    const r = new ChunkReassembler();
    expect(r.add(chunk(1, 2))).toEqual({ status: "pending", received: 1, total: 2 });
    expect(r.add(chunk(1, 2))).toEqual({ status: "pending", received: 1, total: 2 });
    expect(code(() => r.add(chunk(1, 2, { data: data(10, 9) })))).toBe("ERR_SIPINFO_CHUNK");
    expect(r.pendingSets).toBe(0);
    r.add(chunk(1, 2));
    expect(code(() => r.add(chunk(2, 3)))).toBe("ERR_SIPINFO_CHUNK");
    r.add(chunk(1, 2));
    expect(code(() => r.add(chunk(2, 2, { contentEncoding: "deflate" })))).toBe("ERR_SIPINFO_CHUNK");
  });

  it("§7.1: sets are scoped by Call-ID, envelope id and boundary", () => {
    const r = new ChunkReassembler();
    r.add(chunk(1, 2));
    expect(r.add(chunk(2, 2, { scope: "other" })).status).toBe("pending");
    expect(r.add(chunk(2, 2, { envelopeId: "other" })).status).toBe("pending");
    expect(r.add(chunk(2, 2, { boundary: "other" })).status).toBe("pending");
    const done = r.add(chunk(2, 2));
    expect(done).toEqual({ status: "complete", data: new Uint8Array([...data(10, 1), ...data(10, 2)]), contentEncoding: undefined, envelopeId: "e" });
    r.dropScope("other");
    expect(r.pendingSets).toBe(2);
  });

  it("§7.1: incomplete sets expire after the idle TTL (injected clock)", () => {
    let now = 1000;
    const r = new ChunkReassembler({ ttlMs: 100, now: () => now });
    r.add(chunk(1, 3));
    now += 99;
    r.add(chunk(2, 3)); // progress refreshes the set
    now += 99;
    expect(r.sweep()).toBe(0);
    now += 1;
    expect(r.sweep()).toBe(1);
    expect(r.add(chunk(3, 3))).toEqual({ status: "pending", received: 1, total: 3 });
  });

  it("§7.1: memory is bounded: at most maxPendingSets sets (oldest evicted), maxEnvelopeBytes per set, maxChunks", () => {
    const r = new ChunkReassembler({ maxPendingSets: 3, maxEnvelopeBytes: 25, maxChunks: 4 });
    for (let i = 0; i < 10; i++) r.add(chunk(1, 2, { envelopeId: `e${i}` }));
    expect(r.pendingSets).toBe(3);
    expect(r.add(chunk(2, 2, { envelopeId: "e0" })).status).toBe("pending"); // e0 was evicted: a fresh set
    r.add(chunk(1, 3, { envelopeId: "big" }));
    r.add(chunk(2, 3, { envelopeId: "big" }));
    expect(code(() => r.add(chunk(3, 3, { envelopeId: "big" })))).toBe("ERR_SIPINFO_TOO_LARGE");
    expect(code(() => r.add(chunk(1, 5)))).toBe("ERR_SIPINFO_CHUNK");
    expect(code(() => new ChunkReassembler({ ttlMs: 0 }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
  });
});
