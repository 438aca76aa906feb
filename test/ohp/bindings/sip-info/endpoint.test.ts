import { deflateSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../../../src/json/types.js";
import { decodeEnvelope, encodeOhpInfoBodies } from "../../../../src/ohp/bindings/sip-info/codec.js";
import { SipInfoEndpoint, type SipInfoEndpointOptions } from "../../../../src/ohp/bindings/sip-info/endpoint.js";
import { SipInfoError } from "../../../../src/ohp/bindings/sip-info/errors.js";
import { parseCSeq, serializeSipMessage, SipHeaders, type SipRequest } from "../../../../src/ohp/bindings/sip-info/message.js";
import { envelopeCbor } from "../../../../src/ohp/surface.js";
import { upstreamEnvelopes } from "../../../helpers/upstream.js";
import { acceptFor, acceptingHandler, RawPeer, rawDialog, SAFETY_MS, until } from "./helpers.js";

const EXAMPLES = upstreamEnvelopes().filter((e) => e.name.startsWith("examples/envelopes/"));
const CORE = EXAMPLES.find((e) => e.name.includes("01-core"))!.json as JsonObject;
const REGULATED = EXAMPLES.find((e) => e.name.includes("04-regulated"))!.json as JsonObject;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function endpoint(options: Partial<SipInfoEndpointOptions> = {}): Promise<{ ep: SipInfoEndpoint; seen: ReturnType<typeof acceptingHandler>["seen"]; errors: [unknown, string][] }> {
  const h = acceptingHandler();
  const errors: [unknown, string][] = [];
  const ep = await SipInfoEndpoint.listen({ handler: h.handler, onError: (e, c) => errors.push([e, c]), ...options });
  cleanups.push(() => ep.close());
  return { ep, seen: h.seen, errors };
}

async function rawPeer(): Promise<RawPeer> {
  const p = await RawPeer.open();
  cleanups.push(() => p.close());
  return p;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SipInfoError) return e.code;
    throw e;
  }
  throw new Error("expected a rejection");
}

const OHP_HEADERS: [string, string][] = [
  ["Info-Package", "ohp"],
  ["Content-Type", "application/ohp+cbor"],
  ["OHP-Version", "0.1"],
  ["OHP-Tier", "core"],
  ["OHP-Verb", "PROPOSE"],
];

describe("OHP §7.1 ohp/sip-info endpoint: two agentwire endpoints on loopback", { timeout: 3 * SAFETY_MS }, () => {
  it("§7.1: PROPOSE travels as in-dialog INFO; the ACCEPT comes back as a separate INFO, correlated by refs.proposedId", async () => {
    const a = await endpoint();
    const b = await endpoint();
    const dialog = await a.ep.call(b.ep.address);
    expect(dialog).toMatchObject({ role: "uac", state: "confirmed", peer: b.ep.address });
    expect(b.ep.dialog(dialog.callId)).toMatchObject({ role: "uas", state: "confirmed", remoteTag: dialog.localTag, localTag: dialog.remoteTag });

    const answer = await a.ep.sendAndAwaitAnswer(dialog, CORE, SAFETY_MS);
    expect(answer).toEqual(acceptFor(CORE));
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0]!.envelope).toEqual(CORE);
    expect(b.seen[0]!.meta).toEqual({
      binding: "ohp/sip-info",
      expected: { verb: "PROPOSE", tier: "core" },
      byteLength: envelopeCbor(CORE).length,
      sipCallId: dialog.callId,
      peer: a.ep.uri,
    });
    // The ACCEPT also reaches A's handler (which verifies; here it just records).
    await until(() => a.seen.length === 1, "A's handler");
    expect(a.seen[0]!.meta).toMatchObject({ expected: { verb: "ACCEPT", tier: "core" }, sipCallId: dialog.callId });
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("§7.1: every upstream example crosses (the Regulated one chunked), with and without deflate", async () => {
    const a = await endpoint();
    const b = await endpoint();
    const dialog = await a.ep.call(`sip:ohp@127.0.0.1:${b.ep.address.port}`);
    for (const deflate of [false, true]) {
      for (const { json } of EXAMPLES) {
        const env = { ...(json as JsonObject), id: `${String((json as JsonObject)["id"])}-${deflate}` };
        const answer = await a.ep.sendAndAwaitAnswer(dialog, env, SAFETY_MS, { deflate });
        expect(answer).toEqual(acceptFor(env));
        const got = b.seen.at(-1)!;
        expect(got.envelope).toEqual(env);
        expect(got.meta.byteLength).toBe(envelopeCbor(env).length);
      }
    }
    expect(encodeOhpInfoBodies(REGULATED).length).toBeGreaterThan(1);
    expect(b.seen).toHaveLength(2 * EXAMPLES.length);
  });

  it("§7.1: BYE ends the dialog on both sides; close() hangs up live dialogs gracefully", async () => {
    const a = await endpoint();
    const b = await endpoint();
    const d1 = await a.ep.call(b.ep.address);
    await a.ep.hangup(d1);
    expect(a.ep.dialog(d1.callId)).toBeUndefined();
    await until(() => b.ep.dialog(d1.callId) === undefined, "B to see the BYE");
    expect(await codeOf(a.ep.sendEnvelope(d1, CORE))).toBe("ERR_SIPINFO_DIALOG");

    const d2 = await a.ep.call(b.ep.address);
    expect(b.ep.dialogs.map((d) => d.callId)).toEqual([d2.callId]);
    await a.ep.close();
    expect(b.ep.dialogs).toEqual([]);
    expect(await codeOf(a.ep.call(b.ep.address))).toBe("ERR_SIPINFO_CLOSED");
    await a.ep.close(); // idempotent
  });

  it("§7.1: sendAndAwaitAnswer rejects with ERR_SIPINFO_TIMEOUT when no answer comes (the INFO itself got its 200)", async () => {
    const a = await endpoint();
    const b = await SipInfoEndpoint.listen({ handler: async () => undefined });
    cleanups.push(() => b.close());
    const dialog = await a.ep.call(b.address);
    expect(await codeOf(a.ep.sendAndAwaitAnswer(dialog, CORE, 50))).toBe("ERR_SIPINFO_TIMEOUT");
    expect(await codeOf(a.ep.sendAndAwaitAnswer(dialog, { ohp: "0.1" }, 50))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
  });

  it("§7.1: a handler that throws is reported through onError; the INFO still got its 200 and the endpoint keeps working", async () => {
    const a = await endpoint();
    const errors: [unknown, string][] = [];
    let calls = 0;
    const b = await SipInfoEndpoint.listen({
      handler: async () => {
        calls++;
        throw new Error("handler bug");
      },
      onError: (e, c) => errors.push([e, c]),
    });
    cleanups.push(() => b.close());
    const dialog = await a.ep.call(b.address);
    await a.ep.sendEnvelope(dialog, CORE);
    await a.ep.sendEnvelope(dialog, { ...CORE, id: "cse_second" });
    await until(() => errors.length === 2, "both handler failures");
    expect(calls).toBe(2);
    expect(errors.map(([, c]) => c)).toEqual(["handler", "handler"]);
    const probe = await a.ep.options(b.address);
    expect(probe.status).toBe(200);
    expect(probe.headers.get("Allow")).toBe("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO");
    expect(probe.headers.get("Accept-Encoding")).toBe("deflate, identity");
  });

  it("the binding has no TLS: non-loopback addresses need an explicit opt-in; bad options are typed errors", async () => {
    const handler = async () => undefined;
    expect(await codeOf(SipInfoEndpoint.listen({ handler, host: "0.0.0.0" }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(await codeOf(SipInfoEndpoint.listen({ handler, host: "example.com" }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(await codeOf(SipInfoEndpoint.listen({ handler, t1Ms: 0 }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    const a = await endpoint();
    expect(await codeOf(SipInfoEndpoint.listen({ handler, port: a.ep.address.port }))).toBe("ERR_SIPINFO_SOCKET");
    expect(await codeOf(a.ep.call("localhost:5060"))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
    expect(await codeOf(a.ep.call({ host: "127.0.0.1", port: 0 }))).toBe("ERR_SIPINFO_INVALID_ARGUMENT");
  });
});

/** Endpoint facing a raw peer, which never answers close()'s BYE: keep that wait short. */
const RAW = { closeTimeoutMs: 100 } as const;

describe("OHP §7.1 ohp/sip-info endpoint against hand-made datagrams", { timeout: 3 * SAFETY_MS }, () => {
  it("§7.1 D07: a retransmitted INFO (same Call-ID + CSeq) gets the byte-identical final response; the handler runs once", async () => {
    const b = await endpoint(RAW);
    const peer = await rawPeer();
    const d = await rawDialog(peer, b.ep.address);
    const info = d.request("INFO", 2, OHP_HEADERS, envelopeCbor(CORE));
    peer.send(info, b.ep.address);
    peer.send(info, b.ep.address);
    const r1 = await peer.response("2 INFO");
    const r2 = await peer.response("2 INFO");
    expect(r1.message.status).toBe(200);
    expect(r2.bytes).toEqual(r1.bytes);

    // The ACCEPT arrives as a new in-dialog INFO from B.
    const { message: accept } = await peer.next((m) => m.kind === "request" && m.method === "INFO");
    if (accept.kind !== "request") throw new Error("unreachable");
    expect(accept.uri).toBe(`sip:raw@127.0.0.1:${peer.port}`);
    expect(accept.headers.get("Call-ID")).toBe(d.callId);
    expect(accept.headers.get("From")).toContain(`tag=${d.toTag}`);
    expect(accept.headers.get("To")).toContain(`tag=${d.fromTag}`);
    expect(accept.headers.get("Info-Package")).toBe("ohp");
    expect(accept.headers.get("Content-Type")).toBe("application/ohp+cbor");
    expect(accept.headers.get("OHP-Version")).toBe("0.1");
    expect(accept.headers.get("OHP-Tier")).toBe("core");
    expect(accept.headers.get("OHP-Verb")).toBe("ACCEPT");
    expect(decodeEnvelope(accept.body)).toEqual(acceptFor(CORE));
    peer.send(ok(accept), b.ep.address);

    // Same envelope id under a new CSeq: 200 again, the handler is not called again.
    peer.send(d.request("INFO", 3, OHP_HEADERS, envelopeCbor(CORE)), b.ep.address);
    expect((await peer.response("3 INFO")).message.status).toBe(200);
    // An OPTIONS round trip orders us after B processed everything before it.
    peer.send(d.request("OPTIONS", 4, []), b.ep.address);
    await peer.response("4 OPTIONS");
    expect(b.seen).toHaveLength(1);
    expect(b.errors).toEqual([]);
  });

  it("§7.1: chunks sent in reverse order (upstream comma-form Content-Type) reassemble to one delivery", async () => {
    const b = await endpoint(RAW);
    const peer = await rawPeer();
    const d = await rawDialog(peer, b.ep.address);
    const parts = encodeOhpInfoBodies(REGULATED, { deflate: true, maxBodyBytes: 500, boundary: () => "ohp-chunk-7a91" });
    expect(parts.length).toBeGreaterThan(3);
    const n = parts.length;
    for (let i = n - 1; i >= 0; i--) {
      const seq = 10 + (n - 1 - i);
      const comma = `multipart/ohp; boundary=ohp-chunk-7a91, total-chunks=${n}, chunk=${i + 1}`;
      const headers: [string, string][] = [
        ["Info-Package", "ohp"],
        ["Content-Type", i % 2 === 0 ? comma : parts[i]!.contentType],
        ["OHP-Version", "0.1"],
        ["OHP-Tier", "regulated"],
        ["OHP-Verb", "PROPOSE"],
      ];
      peer.send(d.request("INFO", seq, headers, parts[i]!.body), b.ep.address);
      expect((await peer.response(`${seq} INFO`)).message.status).toBe(200);
      if (i > 0) expect(b.seen).toHaveLength(0);
    }
    await until(() => b.seen.length === 1, "delivery");
    expect(b.seen[0]!.envelope).toEqual(REGULATED);
    expect(b.seen[0]!.meta).toMatchObject({ expected: { verb: "PROPOSE", tier: "regulated" }, byteLength: envelopeCbor(REGULATED).length });
    const { message: accept } = await peer.next((m) => m.kind === "request" && m.method === "INFO");
    expect(decodeEnvelope(accept.body)).toEqual(acceptFor(REGULATED));
    peer.send(ok(accept as SipRequest), b.ep.address);
    peer.send(d.request("OPTIONS", 99, []), b.ep.address);
    await peer.response("99 OPTIONS");
    expect(b.errors).toEqual([]);
  });

  it("§7.1: malformed and unsupported input gets the right 4xx and never crashes the endpoint", async () => {
    const b = await endpoint({ ...RAW, maxEnvelopeBytes: 4096 });
    const peer = await rawPeer();
    const d = await rawDialog(peer, b.ep.address);
    const to = b.ep.address;
    const cbor = envelopeCbor(CORE);
    let seq = 100;
    const info = async (headers: [string, string][], body: Uint8Array | string) => {
      const s = ++seq;
      peer.send(d.request("INFO", s, headers, body), to);
      return (await peer.response(`${s} INFO`)).message;
    };
    const withType = (type: string, extra: [string, string][] = []): [string, string][] => [["Info-Package", "ohp"], ["Content-Type", type], ...extra];

    const r415 = await info(withType("text/plain"), "hello");
    expect(r415.status).toBe(415);
    expect(r415.headers.get("Accept")).toContain("application/ohp+cbor");
    expect((await info(withType("application/ohp+cbor", [["Content-Encoding", "gzip"]]), cbor)).status).toBe(415);
    expect((await info(withType("application/ohp+cbor"), "not cbor at all")).status).toBe(400);
    expect((await info(withType("application/ohp+cbor"), new Uint8Array([0xa1, 0x61, 0x61, 0xc1, 0x01]))).reason).toBe("Bad Request (ERR_SIPINFO_NOT_ENVELOPE)");
    expect((await info(withType("application/ohp+cbor"), new Uint8Array(5000).fill(0xa0))).status).toBe(413);
    const bomb = deflateSync(new Uint8Array(1 << 20));
    expect((await info(withType("application/ohp+cbor", [["Content-Encoding", "deflate"]]), bomb)).status).toBe(413);
    const r469 = await info([["Info-Package", "dtmf"], ["Content-Type", "application/ohp+cbor"]], cbor);
    expect(r469.status).toBe(469);
    expect(r469.headers.get("Recv-Info")).toBe("ohp");
    expect((await info(withType("application/ohp+cbor", [["OHP-Tier", "gold"]]), cbor)).status).toBe(400);
    expect((await info(withType("application/ohp+cbor", [["OHP-Version", "9.9"]]), cbor)).status).toBe(400);
    expect((await info(withType("multipart/ohp;boundary=b;total-chunks=2;chunk=3"), "x")).status).toBe(400);
    expect((await info(withType("multipart/ohp;boundary=b;total-chunks=2;chunk=1"), "--b\r\n\r\nno id\r\n--b--")).status).toBe(400);
    expect((await info([["Info-Package", "ohp"]], "")).status).toBe(200); // a bodiless INFO is a keep-alive

    // Unknown dialog → 481; Content-Length beyond the datagram → 400; missing Call-ID → 400; SUBSCRIBE → 405.
    const stranger = new SipHeaders()
      .append("Via", `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKstranger`)
      .append("From", "<sip:x@127.0.0.1>;tag=1")
      .append("To", "<sip:ohp@127.0.0.1>;tag=nope")
      .append("Call-ID", "unknown@127.0.0.1")
      .append("CSeq", "1 INFO")
      .append("Content-Type", "application/ohp+cbor");
    peer.send(serializeSipMessage({ kind: "request", method: "INFO", uri: "sip:ohp@127.0.0.1", headers: stranger, body: cbor }), to);
    expect((await peer.response("1 INFO")).message.status).toBe(481);
    const text = new TextDecoder("latin1").decode(d.request("INFO", 200, withType("application/ohp+cbor"), cbor)).replace(/Content-Length: \d+/, "Content-Length: 9999");
    peer.send(text, to);
    expect((await peer.response("200 INFO")).message.status).toBe(400);
    const noCallId = new TextDecoder("latin1").decode(d.request("INFO", 201, [], "")).replace(/Call-ID: [^\r]+\r\n/, "");
    peer.send(noCallId, to);
    expect((await peer.response("201 INFO")).message.status).toBe(400);
    peer.send(d.request("SUBSCRIBE", 202, []), to);
    const r405 = (await peer.response("202 SUBSCRIBE")).message;
    expect(r405.status).toBe(405);
    expect(r405.headers.get("Allow")).toContain("INFO");

    // Pure garbage gets no answer and changes nothing.
    for (const g of ["", "\r\n\r\n", "garbage", "INFO sip:x SIP/2.0\r\n", "SIP/2.0 200 OK\r\nVia: x\r\n\r\n", "\u0000\u00ff\u0010"]) peer.send(g, to);
    peer.send(new Uint8Array(3000).map((_, i) => (i * 7919) & 0xff), to);
    peer.send(d.request("OPTIONS", 300, []), to);
    const alive = (await peer.response("300 OPTIONS")).message;
    expect(alive.status).toBe(200);
    expect(alive.headers.get("Recv-Info")).toBe("ohp");
    expect(b.seen).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("§7.1: INVITE with an SDP offer gets 100, then 200 with an SDP answer declining each stream; the 2xx repeats until ACK", async () => {
    const b = await endpoint({ ...RAW, t1Ms: 100 });
    const peer = await rawPeer();
    const sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\nm=video 4002 RTP/AVP 96\r\n";
    const h = new SipHeaders()
      .append("Via", `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKinv1;rport, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKup`)
      .append("From", "<sip:raw@127.0.0.1>;tag=r1")
      .append("To", "<sip:ohp@127.0.0.1>")
      .append("Call-ID", "sdp@127.0.0.1")
      .append("CSeq", "1 INVITE")
      .append("Contact", `<sip:raw@127.0.0.1:${peer.port}>`)
      .append("Content-Type", "application/sdp");
    peer.send(serializeSipMessage({ kind: "request", method: "INVITE", uri: "sip:ohp@127.0.0.1", headers: h, body: new TextEncoder().encode(sdp) }), b.ep.address);
    const trying = await peer.next((m) => m.kind === "response" && m.status === 100);
    expect(trying.message.headers.get("To")).toBe("<sip:ohp@127.0.0.1>");
    const first = await peer.response("1 INVITE");
    const answer = new TextDecoder().decode(first.message.body);
    expect(first.message.headers.get("Content-Type")).toBe("application/sdp");
    expect(first.message.headers.get("Recv-Info")).toBe("ohp");
    // RFC 3581: the topmost Via gets rport filled and received added; the rest is copied.
    expect(first.message.headers.get("Via")).toBe(`SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKinv1;rport=${peer.port};received=127.0.0.1, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKup`);
    expect(answer).toContain("m=audio 0 RTP/AVP 0\r\n");
    expect(answer).toContain("m=video 0 RTP/AVP 96\r\n");
    // No ACK yet: the 2xx is retransmitted, byte-identical.
    const again = await peer.response("1 INVITE");
    expect(again.bytes).toEqual(first.bytes);
    const toTag = /tag=([^;]+)$/.exec(first.message.headers.get("To") ?? "")?.[1];
    const ack = new SipHeaders()
      .append("Via", `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKack1`)
      .append("From", "<sip:raw@127.0.0.1>;tag=r1")
      .append("To", `<sip:ohp@127.0.0.1>;tag=${toTag}`)
      .append("Call-ID", "sdp@127.0.0.1")
      .append("CSeq", "1 ACK");
    peer.send(serializeSipMessage({ kind: "request", method: "ACK", uri: "sip:ohp@127.0.0.1", headers: ack, body: new Uint8Array() }), b.ep.address);
    expect(b.ep.dialog("sdp@127.0.0.1")).toMatchObject({ role: "uas", remoteTag: "r1", remoteTarget: `sip:raw@127.0.0.1:${peer.port}` });
  });

  it("RFC 3261 §14/§9: a re-INVITE in the dialog gets 200 with the same tag; CANCEL of an answered INVITE is a no-op 200, else 481", async () => {
    const b = await endpoint(RAW);
    const peer = await rawPeer();
    const d = await rawDialog(peer, b.ep.address);
    peer.send(d.request("INVITE", 2, []), b.ep.address);
    const re = (await peer.response("2 INVITE")).message;
    expect(re.status).toBe(200);
    expect(re.headers.get("To")).toContain(`tag=${d.toTag}`);
    peer.send(d.request("ACK", 2, []), b.ep.address);
    peer.send(d.request("CANCEL", 2, []), b.ep.address);
    expect((await peer.response("2 CANCEL")).message.status).toBe(200);
    peer.send(d.request("CANCEL", 7, []), b.ep.address);
    expect((await peer.response("7 CANCEL")).message.status).toBe(481);
    peer.send(d.request("BYE", 8, []), b.ep.address);
    expect((await peer.response("8 BYE")).message.status).toBe(200);
    expect(b.ep.dialogs).toEqual([]);
    peer.send(d.request("INFO", 9, OHP_HEADERS, envelopeCbor(CORE)), b.ep.address);
    expect((await peer.response("9 INFO")).message.status).toBe(481);
  });

  it("§7.1 RFC 3261 §17.1.2: our INFO is retransmitted (T1 doubling) until the peer's 200 arrives; no 200 at all → ERR_SIPINFO_TIMEOUT", async () => {
    const a = await endpoint({ ...RAW, t1Ms: 50 });
    const peer = await rawPeer();
    // The raw peer plays UAS: 200 to the INVITE, then drops the first INFO and answers its retransmission.
    const calling = a.ep.call({ host: "127.0.0.1", port: peer.port });
    const { message: invite } = await peer.next((m) => m.kind === "request" && m.method === "INVITE");
    peer.send(ok(invite as SipRequest, "uas1", `<sip:raw@127.0.0.1:${peer.port}>`), a.ep.address);
    const dialog = await calling;
    await peer.next((m) => m.kind === "request" && m.method === "ACK");
    expect(dialog.remoteTag).toBe("uas1");

    const sending = a.ep.sendEnvelope(dialog, CORE);
    const first = await peer.next((m) => m.kind === "request" && m.method === "INFO");
    const second = await peer.next((m) => m.kind === "request" && m.method === "INFO");
    expect(second.bytes).toEqual(first.bytes);
    peer.send(ok(second.message as SipRequest), a.ep.address);
    await sending;
    expect(parseCSeq(first.message.headers.get("CSeq")!).method).toBe("INFO");

    expect(await codeOf(a.ep.sendEnvelope(dialog, { ...CORE, id: "cse_never_answered" }))).toBe("ERR_SIPINFO_TIMEOUT");
    const rejected = a.ep.sendEnvelope(dialog, { ...CORE, id: "cse_rejected" });
    const { message: third } = await peer.next((m) => m.kind === "request" && m.method === "INFO" && new TextDecoder("latin1").decode(m.body).includes("cse_rejected"));
    peer.send(ok(third as SipRequest, undefined, undefined, 415), a.ep.address);
    expect(await codeOf(rejected)).toBe("ERR_SIPINFO_REJECTED");
  });
});

/** A final response to `req` (default 200), optionally adding a To tag and Contact. */
function ok(req: SipRequest | import("../../../../src/ohp/bindings/sip-info/message.js").SipMessage, toTag?: string, contact?: string, status = 200): Uint8Array {
  const h = new SipHeaders();
  for (const v of req.headers.getAll("Via")) h.append("Via", v);
  h.append("From", req.headers.get("From")!);
  h.append("To", toTag === undefined ? req.headers.get("To")! : `${req.headers.get("To")!};tag=${toTag}`);
  h.append("Call-ID", req.headers.get("Call-ID")!);
  h.append("CSeq", req.headers.get("CSeq")!);
  if (contact !== undefined) h.append("Contact", contact);
  return serializeSipMessage({ kind: "response", status, reason: status === 200 ? "OK" : "Unsupported Media Type", headers: h, body: new Uint8Array() });
}
