import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SipInfoError } from "../../../../src/ohp/bindings/sip-info/errors.js";
import {
  canonicalHeaderName,
  parseCSeq,
  parseHeaderValue,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  SipHeaders,
} from "../../../../src/ohp/bindings/sip-info/message.js";

const enc = (s: string) => new TextEncoder().encode(s);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipInfoError) return e.code;
    throw e;
  }
  throw new Error("expected a SipInfoError");
}

const INFO = [
  "INFO sip:ohp@127.0.0.1:5070 SIP/2.0",
  "v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  'f: "Alice" <sip:alice@127.0.0.1>;tag=1928301774',
  "t: <sip:ohp@127.0.0.1:5070>;tag=a6c85cf",
  "i: a84b4c76e66710@127.0.0.1",
  "CSeq: 314159 INFO",
  "Info-Package: ohp",
  "c: application/ohp+cbor",
  "Subject: folded",
  "  over two lines",
  "l: 4",
  "",
  "\u0001\u0002\u0003\u0004EXTRA",
].join("\r\n");

describe("RFC 3261 SIP message layer for §7.1", () => {
  it("RFC 3261 §7: parses a request with compact headers, folding and a Content-Length-bounded body", () => {
    const m = parseSipMessage(enc(INFO));
    expect(m.kind).toBe("request");
    if (m.kind !== "request") return;
    expect(m.method).toBe("INFO");
    expect(m.uri).toBe("sip:ohp@127.0.0.1:5070");
    expect(m.headers.get("Call-ID")).toBe("a84b4c76e66710@127.0.0.1");
    expect(m.headers.get("i")).toBe("a84b4c76e66710@127.0.0.1");
    expect(m.headers.get("content-type")).toBe("application/ohp+cbor");
    expect(m.headers.get("Subject")).toBe("folded over two lines");
    expect(m.body).toEqual(new Uint8Array([1, 2, 3, 4])); // extra bytes after Content-Length are discarded
    expect(m.headers.entries().map(([n]) => n)).toEqual([
      "Via",
      "Max-Forwards",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Info-Package",
      "Content-Type",
      "Subject",
      "Content-Length",
    ]);
  });

  it("RFC 3261 §7.2: parses responses; bare LF line ends and leading CRLFs are tolerated", () => {
    const m = parseSipMessage(enc("\r\n\r\nSIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nContent-Length: 0\n\n"));
    expect(m).toMatchObject({ kind: "response", status: 200, reason: "OK" });
    expect(parseSipMessage(enc("SIP/2.0 180\r\n\r\n"))).toMatchObject({ kind: "response", status: 180, reason: "" });
  });

  it("RFC 3261 §18.3: without Content-Length the body is the rest of the datagram; too short a body is an error", () => {
    const noLength = parseSipMessage(enc("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\nabc"));
    expect(noLength.body).toEqual(enc("abc"));
    expect(code(() => parseSipMessage(enc("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc")))).toBe("ERR_SIP_CONTENT_LENGTH");
    expect(code(() => parseSipMessage(enc("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n")))).toBe("ERR_SIP_MALFORMED");
    expect(code(() => parseSipMessage(enc("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab")))).toBe("ERR_SIP_MALFORMED");
  });

  it.each([
    ["empty", ""],
    ["no empty line", "INFO sip:a@b SIP/2.0\r\nVia: x"],
    ["bad version", "INFO sip:a@b SIP/3.0\r\n\r\n"],
    ["no URI scheme", "INFO nowhere SIP/2.0\r\n\r\n"],
    ["bad status", "SIP/2.0 99 Low\r\n\r\n"],
    ["header without colon", "INFO sip:a@b SIP/2.0\r\nnocolon\r\n\r\n"],
    ["bad header name", "INFO sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n"],
    ["continuation first", "INFO sip:a@b SIP/2.0\r\n folded\r\n\r\n"],
    ["NUL in header", "INFO sip:a@b SIP/2.0\r\nX: a\u0000b\r\n\r\n"],
    ["lone CR in header", "INFO sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n"],
  ])("RFC 3261 §7: malformed (%s) → ERR_SIP_MALFORMED", (_name, text) => {
    expect(code(() => parseSipMessage(enc(text)))).toBe("ERR_SIP_MALFORMED");
  });

  it("RFC 3261 §7: invalid UTF-8 in the head, too many headers and oversize messages are refused", () => {
    expect(code(() => parseSipMessage(new Uint8Array([...enc("INFO sip:a@b SIP/2.0\r\nX: "), 0xff, ...enc("\r\n\r\n")])))).toBe("ERR_SIP_MALFORMED");
    const many = `INFO sip:a@b SIP/2.0\r\n${"X: y\r\n".repeat(200)}\r\n`;
    expect(code(() => parseSipMessage(enc(many)))).toBe("ERR_SIP_TOO_LARGE");
    expect(code(() => parseSipMessage(new Uint8Array(70_000)))).toBe("ERR_SIP_TOO_LARGE");
  });

  it("RFC 3261 §7: serialize writes CRLF, a fresh Content-Length and the binary body; parse inverts it", () => {
    const body = new Uint8Array([0, 13, 10, 13, 10, 255]);
    const headers = new SipHeaders([
      ["Via", "SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKa"],
      ["Content-Length", "999"],
      ["Call-ID", "x@y"],
    ]);
    const bytes = serializeSipMessage({ kind: "request", method: "INFO", uri: "sip:a@b", headers, body });
    const text = new TextDecoder("latin1").decode(bytes);
    expect(text.startsWith("INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKa\r\nCall-ID: x@y\r\nContent-Length: 6\r\n\r\n")).toBe(true);
    const back = parseSipMessage(bytes);
    expect(back.body).toEqual(body);
    expect(back.headers.get("Content-Length")).toBe("6");
  });

  it("header injection is impossible: values with CR/LF/NUL and bad names are refused", () => {
    expect(code(() => new SipHeaders().append("X", "a\r\nVia: evil"))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(code(() => new SipHeaders().append("X Y", "a"))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(code(() => serializeSipMessage({ kind: "response", status: 200, reason: "OK\r\nX: y", headers: new SipHeaders(), body: new Uint8Array() }))).toBe(
      "ERR_SIPINFO_INVALID_ARGUMENT",
    );
    expect(code(() => serializeSipMessage({ kind: "response", status: 700, reason: "x", headers: new SipHeaders(), body: new Uint8Array() }))).toBe(
      "ERR_SIPINFO_INVALID_ARGUMENT",
    );
  });

  it("SipHeaders: case-insensitive, compact-aware get/set/delete keep order", () => {
    const h = new SipHeaders().append("v", "1").append("To", "t").append("Via", "2");
    expect(h.getAll("VIA")).toEqual(["1", "2"]);
    h.set("via", "3");
    expect(h.entries()).toEqual([
      ["Via", "3"],
      ["To", "t"],
    ]);
    h.delete("t");
    expect(h.size).toBe(1);
    expect(canonicalHeaderName("ohp-verb")).toBe("OHP-Verb");
    expect(canonicalHeaderName("X-Custom")).toBe("X-Custom");
  });

  it("header value helpers: name-addr, CSeq, Via, SIP URI, parameters", () => {
    expect(parseNameAddr('"A;b" <sip:a@h;transport=udp>;tag=x1;other')).toEqual({
      uri: "sip:a@h;transport=udp",
      params: new Map([
        ["tag", "x1"],
        ["other", ""],
      ]),
    });
    expect(parseNameAddr("sip:a@h;tag=z").params.get("tag")).toBe("z");
    expect(parseCSeq(" 12  info ")).toEqual({ seq: 12, method: "INFO" });
    expect(code(() => parseCSeq("x INFO"))).toBe("ERR_SIP_MALFORMED");
    expect(code(() => parseCSeq("99999999999 INFO"))).toBe("ERR_SIP_MALFORMED");
    expect(parseVia("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport, SIP/2.0/UDP other")).toMatchObject({
      transport: "UDP",
      host: "127.0.0.1",
      port: 5060,
    });
    expect(parseVia("SIP / 2.0 / tls [::1]").host).toBe("[::1]");
    expect(code(() => parseVia("garbage"))).toBe("ERR_SIP_MALFORMED");
    expect(parseSipUri("sip:ohp@127.0.0.1:5070;transport=udp")).toEqual({ scheme: "sip", user: "ohp", host: "127.0.0.1", port: 5070 });
    expect(parseSipUri("SIPS:[::1]")).toEqual({ scheme: "sips", user: undefined, host: "[::1]", port: undefined });
    expect(code(() => parseSipUri("http://x"))).toBe("ERR_SIP_MALFORMED");
    expect(code(() => parseSipUri("sip:a@b:70000"))).toBe("ERR_SIP_MALFORMED");
    expect(parseHeaderValue('multipart/ohp;boundary="a;b";chunk=1')).toEqual({
      value: "multipart/ohp",
      params: new Map([
        ["boundary", "a;b"],
        ["chunk", "1"],
      ]),
    });
  });

  it("garbage never escapes as anything but a SipInfoError (fuzz: random bytes and mutated messages)", () => {
    const base = enc(INFO);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((edits) => {
            const b = new Uint8Array(base);
            for (const [at, v] of edits) b[at] = v;
            return b;
          }),
          fc.string({ maxLength: 300 }).map((s) => enc(`INFO sip:a@b SIP/2.0\r\n${s}\r\n\r\n`)),
        ),
        (bytes) => {
          try {
            const m = parseSipMessage(bytes);
            serializeSipMessage(m); // whatever parses also serializes
          } catch (e) {
            expect(e).toBeInstanceOf(SipInfoError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
