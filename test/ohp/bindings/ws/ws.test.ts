import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../../../src/json/types.js";
import type { OhpWsEvent } from "../../../../src/ohp/bindings/ws/api.js";
import { connectOhpWs, type OhpWsClient, type OhpWsClientOptions } from "../../../../src/ohp/bindings/ws/client.js";
import { OhpWsError } from "../../../../src/ohp/bindings/ws/errors.js";
import { OHP_WS_CLOSE, OHP_WS_MAX_ENVELOPE_BYTES, OHP_WS_MAX_FRAME_BYTES } from "../../../../src/ohp/bindings/ws/frames.js";
import { attachOhpWsServer } from "../../../../src/ohp/bindings/ws/server.js";
import {
  answerFor,
  clientHello,
  envelope,
  rawClient,
  recordingHandler,
  startServer,
  until,
  type Harness,
  type RawClient,
} from "./helpers.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(options: Parameters<typeof startServer>[0] = {}): Promise<Harness> {
  const h = await startServer(options);
  cleanups.push(() => h.close());
  return h;
}

async function client(h: Harness, options: Partial<OhpWsClientOptions> = {}): Promise<OhpWsClient> {
  const c = await connectOhpWs(h.url, {
    hello: { maxTier: "sealed", bindings: ["ohp/ws"], tenant: "acme", sessionToken: "session-token-1" },
    handler: recordingHandler(),
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

async function raw(h: Harness, protocols?: string[]): Promise<RawClient> {
  const r = rawClient(h.url, protocols);
  cleanups.push(() => r.ws.terminate());
  await r.opened;
  return r;
}

/** A raw client past the hello exchange. */
async function rawAfterHello(h: Harness, tenant = "acme"): Promise<RawClient> {
  const r = await raw(h);
  r.sendJson(clientHello(tenant));
  expect(await r.next()).toMatchObject({ type: "hello" });
  return r;
}

async function rejection(p: Promise<unknown>): Promise<OhpWsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OhpWsError);
    return e as OhpWsError;
  }
  throw new Error("expected a rejection");
}

describe("§7.2 ohp/ws handshake", () => {
  it("§7.2 hello handshake: subprotocol ohp.v0_1, the client's hello first, the server answers with its own", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({ onEvent: (e) => events.push(e) });
    const c = await client(h);
    expect(c.serverHello).toEqual({ type: "hello", ohp: "0.1", maxTier: "regulated", bindings: ["ohp/ws", "ohp/https"], tenant: "bank" });
    expect(c.peer).toBe("acme|bank");
    expect(c.isOpen).toBe(true);
    expect(h.server.peers()).toEqual(["acme|bank"]);
    const sc = h.server.connection("acme|bank");
    expect(sc?.peerHello).toMatchObject({ type: "hello", maxTier: "sealed", tenant: "acme", sessionToken: "session-token-1" });
    expect(events).toContainEqual({ kind: "open", peer: "acme|bank" });

    const r = await raw(h);
    expect(r.ws.protocol).toBe("ohp.v0_1");
  });

  it("§7.2 an upgrade that does not offer ohp.v0_1 is refused with HTTP 400", async () => {
    const h = await harness();
    const r = rawClient(h.url, []);
    cleanups.push(() => r.ws.terminate());
    await expect(r.opened).rejects.toThrow("HTTP 400");
    const r2 = rawClient(h.url, ["ohp.v0_2", "chat"]);
    cleanups.push(() => r2.ws.terminate());
    await expect(r2.opened).rejects.toThrow("HTTP 400");
  });

  it("§7.2 a server that does not select ohp.v0_1 fails the client's connect with ERR_OHP_WS_SUBPROTOCOL", async () => {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: () => false });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const { port } = wss.address() as AddressInfo;
    const err = await rejection(connectOhpWs(`ws://127.0.0.1:${port}/`, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() }));
    expect(err.code).toBe("ERR_OHP_WS_SUBPROTOCOL");
  });

  it("§7.2 another path is not the ohp/ws endpoint (404)", async () => {
    const h = await harness();
    const err = await rejection(connectOhpWs(h.url.replace("/ohp/v1/ws", "/other"), { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() }));
    expect(err.code).toBe("ERR_OHP_WS_HANDSHAKE");
    expect(err.detail).toMatchObject({ status: 404 });
  });

  it("§7.2 hello must be first: any other first frame gets an error frame and close 1008", async () => {
    const h = await harness();
    const r = await raw(h);
    r.sendJson({ type: "envelope", envelope: envelope("PROPOSE") });
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_HELLO_REQUIRED" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.policyViolation);

    const r2 = await raw(h);
    r2.ws.send("not json at all");
    expect(await r2.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_FRAME_JSON" });
    expect((await r2.closed).code).toBe(OHP_WS_CLOSE.policyViolation);
    expect(h.server.peers()).toEqual([]);
  });

  it("§7.2 a hello for another OHP version is refused (close 1002)", async () => {
    const h = await harness();
    const r = await raw(h);
    r.sendJson({ ...clientHello(), ohp: "0.2" });
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_VERSION" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.protocolError);
  });

  it("§7.2 no hello within the hello timeout: error frame and close 1008", async () => {
    const h = await harness({ helloTimeoutMs: 30 });
    const r = await raw(h);
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_HELLO_TIMEOUT" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.policyViolation);
  });

  it("§7.2 a second hello on an open connection is an error frame, the connection stays", async () => {
    const h = await harness();
    const r = await rawAfterHello(h);
    r.sendJson(clientHello());
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_HELLO_DUPLICATE" });
    r.sendJson({ type: "ping" });
    expect(await r.next()).toEqual({ type: "pong" });
  });

  it("§7.2 the server hello is refused by the client when the server speaks first with something else", async () => {
    // A hand-written server that sends an ack before any hello.
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: () => "ohp.v0_1" });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (ws) => ws.on("message", () => ws.send('{"type":"ack","id":"x","status":"accepted"}')));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const { port } = wss.address() as AddressInfo;
    const err = await rejection(connectOhpWs(`ws://127.0.0.1:${port}/`, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() }));
    expect(err.code).toBe("ERR_OHP_WS_HELLO_REQUIRED");
  });
});

describe("§7.2 ohp/ws authentication", () => {
  it("§7.2 auth refusal: the client's connect rejects with ERR_OHP_WS_AUTH and the reason, close 1008", async () => {
    const seen: unknown[] = [];
    const h = await harness({
      authenticate: async (hello, upgrade) => {
        seen.push({ token: hello.sessionToken, dpop: upgrade.headers["dpop"], htu: upgrade.httpUri });
        return { ok: false, reason: "session token expired" };
      },
    });
    const events: OhpWsEvent[] = [];
    const err = await rejection(
      connectOhpWs(h.url, {
        hello: { maxTier: "sealed", bindings: ["ohp/ws"], tenant: "acme", sessionToken: "tok" },
        headers: { DPoP: "proof" },
        handler: recordingHandler(),
        onEvent: (e) => events.push(e),
      }),
    );
    expect(err.code).toBe("ERR_OHP_WS_AUTH");
    expect(err.message).toContain("session token expired");
    expect(seen).toEqual([{ token: "tok", dpop: "proof", htu: `${h.url.replace("ws://", "http://")}` }]);
    expect(h.server.peers()).toEqual([]);

    const r = await raw(h);
    r.sendJson(clientHello());
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_AUTH", message: "session token expired" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.policyViolation);
  });

  it("§7.2 a throwing authenticate hook refuses, never crashes", async () => {
    const h = await harness({
      authenticate: async () => {
        throw new Error("db down");
      },
    });
    expect((await rejection(client(h))).code).toBe("ERR_OHP_WS_AUTH");
  });

  it("§7.2 the authenticated tenant names the pair; frames sent during authentication are kept in order", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const handler = recordingHandler();
    const h = await harness({
      handler,
      authenticate: async () => {
        await gate;
        return { ok: true, tenant: "acme-verified" };
      },
    });
    const r = await raw(h);
    r.sendJson(clientHello("claimed"));
    const e1 = envelope("PROPOSE");
    r.sendJson({ type: "envelope", envelope: e1 });
    await new Promise((res) => setTimeout(res, 20));
    release();
    expect(await r.next()).toMatchObject({ type: "hello", tenant: "bank" });
    expect(await r.next()).toEqual({ type: "ack", id: e1["id"], status: "accepted" });
    expect(await r.next()).toMatchObject({ type: "envelope", envelope: { control: { verb: "ACCEPT", refs: { proposedId: e1["id"] } } } });
    expect(h.server.peers()).toEqual(["acme-verified|bank"]);
    expect(handler.calls[0]?.meta.peer).toBe("acme-verified|bank");
  });
});

describe("§7.2 ohp/ws envelopes", () => {
  it("§7.2 PROPOSE → ack accepted, then the ACCEPT answer as an envelope frame", async () => {
    const handler = recordingHandler();
    const h = await harness({ handler });
    const c = await client(h, { headers: { DPoP: "dpop-proof" } });

    const p1 = envelope("PROPOSE");
    expect(await c.send(p1)).toEqual({ type: "ack", id: p1["id"], status: "accepted" });

    const p2 = envelope("PROPOSE");
    const answer = await c.sendAndAwaitAnswer(p2, 5_000);
    expect(answer).toMatchObject({ control: { verb: "ACCEPT", refs: { proposedId: p2["id"] } } });

    await until(() => handler.calls.length === 2);
    const { envelope: got, meta } = handler.calls[1]!;
    expect(got).toEqual(p2);
    expect(meta).toEqual({
      binding: "ohp/ws",
      byteLength: Buffer.byteLength(JSON.stringify(p2)),
      peer: "acme|bank",
      authorization: "session-token-1",
      dpop: "dpop-proof",
      httpMethod: "GET",
      httpUri: h.url.replace("ws://", "http://"),
    });
  });

  it("§7.2 the wire: ack first, then the answer envelope; the peer acks the answer", async () => {
    const h = await harness();
    const r = await rawAfterHello(h);
    const p = envelope("PROPOSE");
    r.sendJson({ type: "envelope", envelope: p });
    expect(await r.next()).toEqual({ type: "ack", id: p["id"], status: "accepted" });
    const answer = await r.next();
    expect(answer.type).toBe("envelope");
    const accept = (answer as { envelope: JsonObject }).envelope;
    r.sendJson({ type: "ack", id: accept["id"], status: "accepted" });
  });

  it("§7.2 Flow B: the server sends RETURN over the same connection; the client handler gets it and its answer comes back", async () => {
    // The receiver answers PROPOSE only (ASSUME has no answer in Flow B).
    const serverHandler = recordingHandler((env) => ((env as { control: { verb: string } }).control.verb === "PROPOSE" ? answerFor(env) : undefined));
    const h = await harness({ handler: serverHandler });
    const clientHandler = recordingHandler();
    const c = await client(h, { handler: clientHandler });

    const propose = envelope("PROPOSE");
    const accept = await c.sendAndAwaitAnswer(propose, 5_000);
    expect(accept).toMatchObject({ control: { verb: "ACCEPT" } });
    expect(await c.send(envelope("ASSUME", { proposedId: String(propose["id"]) }))).toMatchObject({ status: "accepted" });

    const conn = h.server.connection(c.peer);
    expect(conn).toBeDefined();
    const ret = envelope("RETURN", { proposedId: String(propose["id"]) });
    const answer = await conn!.sendAndAwaitAnswer(ret, 5_000);
    expect(answer).toMatchObject({ control: { verb: "ACCEPT", refs: { proposedId: ret["id"] } } });
    expect(clientHandler.calls).toHaveLength(1);
    expect(clientHandler.calls[0]?.envelope).toEqual(ret);
    expect(clientHandler.calls[0]?.meta).toEqual({ binding: "ohp/ws", byteLength: Buffer.byteLength(JSON.stringify(ret)), peer: "acme|bank" });
    // Answers claimed by sendAndAwaitAnswer do not reach the handlers.
    expect(serverHandler.calls.map((x) => (x.envelope as { control: { verb: string } }).control.verb)).toEqual(["PROPOSE", "ASSUME"]);
  });

  it("§7.2 dedupe: a repeated id gets ack duplicate, the handler runs once, the cached answer is re-sent", async () => {
    const handler = recordingHandler();
    const h = await harness({ handler });
    const r = await rawAfterHello(h);
    const p = envelope("PROPOSE");
    r.sendJson({ type: "envelope", envelope: p });
    expect(await r.next()).toEqual({ type: "ack", id: p["id"], status: "accepted" });
    const first = await r.next();
    r.sendJson({ type: "envelope", envelope: p });
    expect(await r.next()).toEqual({ type: "ack", id: p["id"], status: "duplicate" });
    expect(await r.next()).toEqual(first);
    expect(handler.calls).toHaveLength(1);

    // With the client: the second send resolves with `duplicate`.
    const c = await client(h, { hello: { maxTier: "core", bindings: ["ohp/ws"], tenant: "other" } });
    const q = envelope("ASSUME");
    expect((await c.send(q)).status).toBe("accepted");
    expect((await c.send(q)).status).toBe("duplicate");
    expect(handler.calls).toHaveLength(2);
  });

  it("§7.2 dedupe: an answer-less envelope repeated gets only the ack", async () => {
    const handler = recordingHandler(() => undefined);
    const h = await harness({ handler });
    const r = await rawAfterHello(h);
    const a = envelope("ACCEPT", { proposedId: "cse_x" });
    r.sendJson({ type: "envelope", envelope: a });
    r.sendJson({ type: "envelope", envelope: a });
    r.sendJson({ type: "ping" });
    expect(await r.next()).toEqual({ type: "ack", id: a["id"], status: "accepted" });
    expect(await r.next()).toEqual({ type: "ack", id: a["id"], status: "duplicate" });
    expect(await r.next()).toEqual({ type: "pong" });
    expect(handler.calls).toHaveLength(1);
  });

  it("§7.2 dedupe window: (notAfter − issuedAt) + 5 s on the injected clock, then the id is new again", async () => {
    let now = 1_000_000;
    const handler = recordingHandler();
    const h = await harness({ handler, now: () => now });
    const c = await client(h);
    const p = envelope("PROPOSE", { lifetimeMs: 30_000 });
    expect((await c.send(p)).status).toBe("accepted");
    now += 30_000 + 4_999;
    expect((await c.send(p)).status).toBe("duplicate");
    now += 1;
    expect((await c.send(p)).status).toBe("accepted");
    await until(() => handler.calls.length === 2);
  });

  it("§7.2 dedupe is per tenant pair and survives a reconnect of the pair", async () => {
    const handler = recordingHandler();
    const h = await harness({ handler });
    const p = envelope("PROPOSE");
    const c1 = await client(h);
    expect((await c1.send(p)).status).toBe("accepted");
    await c1.close();
    const c2 = await client(h);
    expect((await c2.send(p)).status).toBe("duplicate");
    const c3 = await client(h, { hello: { maxTier: "core", bindings: [], tenant: "someone-else" } });
    expect((await c3.send(p)).status).toBe("accepted");
  });

  it("§7.2 one connection per tenant pair: a newer hello replaces the older connection (close 4000)", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({ onEvent: (e) => events.push(e) });
    const c1 = await client(h);
    const c2 = await client(h);
    expect(await c1.closed).toEqual({ code: OHP_WS_CLOSE.replaced, reason: "ERR_OHP_WS_REPLACED" });
    expect(events).toContainEqual({ kind: "replaced", peer: "acme|bank" });
    expect(h.server.peers()).toEqual(["acme|bank"]);
    expect((await c2.send(envelope("PROPOSE"))).status).toBe("accepted");
    expect((await rejection(c1.send(envelope("PROPOSE")))).code).toBe("ERR_OHP_WS_CLOSED");
    // Clients without a tenant never replace each other.
    const a1 = await client(h, { hello: { maxTier: "core", bindings: [] } });
    const a2 = await client(h, { hello: { maxTier: "core", bindings: [] } });
    expect(a1.isOpen && a2.isOpen).toBe(true);
    expect(h.server.peers()).toHaveLength(3);
  });

  it("§7.2 sendAndAwaitAnswer rejects with ERR_OHP_WS_ANSWER_TIMEOUT when no answer comes", async () => {
    const h = await harness({ handler: recordingHandler(() => undefined) });
    const c = await client(h);
    const p = envelope("PROPOSE");
    const err = await rejection(c.sendAndAwaitAnswer(p, 50));
    expect(err.code).toBe("ERR_OHP_WS_ANSWER_TIMEOUT");
    expect(err.detail).toMatchObject({ id: p["id"] });
  });

  it("§7.2 a second sendAndAwaitAnswer for the same id is refused while the first waits", async () => {
    const h = await harness({ handler: recordingHandler(() => undefined) });
    const c = await client(h);
    const p = envelope("PROPOSE");
    const first = c.sendAndAwaitAnswer(p, 100);
    expect((await rejection(c.sendAndAwaitAnswer(p, 100))).code).toBe("ERR_OHP_WS_DUPLICATE_SEND");
    expect((await rejection(first)).code).toBe("ERR_OHP_WS_ANSWER_TIMEOUT");
  });

  it("§7.2 a failing handler: error frame with the id, the waiting sender learns at once", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({
      handler: async () => {
        throw new Error("boom");
      },
      onEvent: (e) => events.push(e),
    });
    const c = await client(h);
    const p = envelope("PROPOSE");
    const err = await rejection(c.sendAndAwaitAnswer(p, 5_000));
    expect(err.code).toBe("ERR_OHP_WS_HANDLER");
    expect(err.detail).toMatchObject({ id: p["id"], peerCode: "ERR_OHP_WS_HANDLER" });
    expect(events.some((e) => e.kind === "handler-error" && e.id === p["id"])).toBe(true);
    expect(c.isOpen).toBe(true);
  });

  it("§7 an envelope above 32 KiB: the sender refuses locally; a receiver acks it invalid", async () => {
    const handler = recordingHandler();
    const h = await harness({ handler });
    const c = await client(h);
    const big = { ...envelope("PROPOSE"), pad: "x".repeat(OHP_WS_MAX_ENVELOPE_BYTES) };
    expect((await rejection(c.send(big))).code).toBe("ERR_OHP_WS_ENVELOPE_TOO_LARGE");
    expect((await rejection(c.send({ verb: "no id" }))).code).toBe("ERR_OHP_WS_ENVELOPE_ID");

    const r = await rawAfterHello(h, "raw");
    const e = envelope("PROPOSE");
    const padded = { ...e, pad: "x".repeat(OHP_WS_MAX_ENVELOPE_BYTES + 100 - JSON.stringify(e).length) };
    r.sendJson({ type: "envelope", envelope: padded });
    expect(await r.next()).toEqual({ type: "ack", id: e["id"], status: "invalid" });
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_ENVELOPE_TOO_LARGE", id: e["id"] });
    expect(handler.calls).toHaveLength(0);
  });

  it("§7.2 send rejects with ERR_OHP_WS_ENVELOPE_REFUSED on an invalid ack, ERR_OHP_WS_ACK_TIMEOUT on none", async () => {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: () => "ohp.v0_1" });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (ws) =>
      ws.on("message", (data) => {
        const f = JSON.parse(String(data)) as { type: string; envelope?: { id: string; control: { verb: string } } };
        if (f.type === "hello") ws.send('{"type":"hello","ohp":"0.1","maxTier":"core","bindings":["ohp/ws"]}');
        else if (f.type === "envelope" && f.envelope?.control.verb !== "ASSUME") ws.send(JSON.stringify({ type: "ack", id: f.envelope?.id, status: "invalid" }));
      }),
    );
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const { port } = wss.address() as AddressInfo;
    const c = await connectOhpWs(`ws://127.0.0.1:${port}/`, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() });
    cleanups.push(() => c.close());
    expect(c.peer).toBe("anonymous|-");
    expect((await rejection(c.send(envelope("PROPOSE")))).code).toBe("ERR_OHP_WS_ENVELOPE_REFUSED");
    expect((await rejection(c.sendAndAwaitAnswer(envelope("PROPOSE"), 5_000))).code).toBe("ERR_OHP_WS_ENVELOPE_REFUSED");
    // A peer that never acks: ERR_OHP_WS_ACK_TIMEOUT.
    expect((await rejection(c.send(envelope("ASSUME"), { ackTimeoutMs: 20 }))).code).toBe("ERR_OHP_WS_ACK_TIMEOUT");
  });
});

describe("§7.2 ohp/ws robustness", () => {
  it("§7.2 garbage text frames get error frames; the connection stays usable", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({ onEvent: (e) => events.push(e) });
    const r = await rawAfterHello(h);
    const bad: Array<[string, string]> = [
      ["{", "ERR_OHP_WS_FRAME_JSON"],
      ['{"type":"ping","type":"ping"}', "ERR_OHP_WS_FRAME_JSON"],
      ['"just a string"', "ERR_OHP_WS_FRAME_SHAPE"],
      ['{"type":"PROPOSE"}', "ERR_OHP_WS_FRAME_TYPE"],
      ['{"type":"ack","id":"x"}', "ERR_OHP_WS_FRAME_SHAPE"],
      ['{"type":"envelope","envelope":{"no":"id"}}', "ERR_OHP_WS_ENVELOPE_ID"],
    ];
    for (const [text, code] of bad) {
      r.ws.send(text);
      expect(await r.next()).toMatchObject({ type: "error", code });
    }
    r.sendJson({ type: "ping" });
    expect(await r.next()).toEqual({ type: "pong" });
    expect(events.filter((e) => e.kind === "frame-error")).toHaveLength(bad.length);
  });

  it("§7.2 too many bad frames close the connection (1008)", async () => {
    const h = await harness({ maxFrameErrors: 3 });
    const r = await rawAfterHello(h);
    for (let i = 0; i < 3; i++) r.ws.send("garbage");
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = await r.next();
      codes.push(f.type === "error" ? f.code : f.type);
    }
    expect(codes).toEqual(["ERR_OHP_WS_FRAME_JSON", "ERR_OHP_WS_FRAME_JSON", "ERR_OHP_WS_FRAME_JSON", "ERR_OHP_WS_TOO_MANY_ERRORS"]);
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.policyViolation);
  });

  it("§7.2 a binary frame: error frame, then close 1003", async () => {
    const h = await harness();
    const r = await rawAfterHello(h);
    r.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_FRAME_BINARY" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.unsupportedData);
    // Binary as the very first frame too.
    const r2 = await raw(h);
    r2.ws.send(Buffer.from([1, 2, 3]));
    expect(await r2.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_FRAME_BINARY" });
    expect((await r2.closed).code).toBe(OHP_WS_CLOSE.unsupportedData);
  });

  it("§7 oversize frames: above the cap an error frame, far above it close 1009; the server keeps serving", async () => {
    const h = await harness();
    const r = await rawAfterHello(h);
    r.ws.send(JSON.stringify({ type: "envelope", envelope: { id: "cse_1", pad: "x".repeat(OHP_WS_MAX_FRAME_BYTES) } }));
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_FRAME_TOO_LARGE" });
    r.sendJson({ type: "ping" });
    expect(await r.next()).toEqual({ type: "pong" });
    r.ws.send("x".repeat(OHP_WS_MAX_FRAME_BYTES * 4 + 1));
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.messageTooBig);
    const c = await client(h);
    expect((await c.send(envelope("PROPOSE"))).status).toBe("accepted");
  });

  it("§7.2 a client that drops mid-hello or mid-authentication leaves nothing behind", async () => {
    let calls = 0;
    const h = await harness({
      authenticate: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return { ok: true };
      },
    });
    const r = await raw(h);
    r.sendJson(clientHello());
    r.ws.terminate();
    await until(() => calls === 1);
    await new Promise((res) => setTimeout(res, 40));
    expect(h.server.peers()).toEqual([]);
  });
});

describe("§7.2 ohp/ws heartbeat", () => {
  it("§7.2 the server pings; the client answers pong and stays connected", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({ heartbeatMs: 25, onEvent: (e) => events.push(e) });
    const c = await client(h);
    await until(() => events.filter((e) => e.kind === "pong").length >= 4);
    expect(c.isOpen).toBe(true);
    expect(events.some((e) => e.kind === "close")).toBe(false);
  });

  it("§7.2 a peer that misses 2 pongs is closed (4001) with an error frame", async () => {
    const events: OhpWsEvent[] = [];
    const h = await harness({ heartbeatMs: 15, onEvent: (e) => events.push(e) });
    const r = await rawAfterHello(h);
    expect(await r.next()).toEqual({ type: "ping" });
    expect(await r.next()).toEqual({ type: "ping" });
    expect(await r.next()).toMatchObject({ type: "error", code: "ERR_OHP_WS_HEARTBEAT" });
    expect((await r.closed).code).toBe(OHP_WS_CLOSE.heartbeatTimeout);
    expect(events.filter((e) => e.kind === "ping").map((e) => (e.kind === "ping" ? e.outstanding : 0))).toEqual([1, 2]);
  });

  it("§7.2 the client can ping too and closes a silent server", async () => {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: () => "ohp.v0_1" });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (ws) => ws.once("message", () => ws.send('{"type":"hello","ohp":"0.1","maxTier":"core","bindings":["ohp/ws"]}')));
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const { port } = wss.address() as AddressInfo;
    const c = await connectOhpWs(`ws://127.0.0.1:${port}/`, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler(), heartbeatMs: 10, closeGraceMs: 50 });
    expect((await c.closed).code).toBe(OHP_WS_CLOSE.heartbeatTimeout);
  });
});

describe("§7.2 ohp/ws shutdown", () => {
  it("§7.2 graceful close: answers under way still go out, then every connection closes with 1001", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const h = await startServer({
      handler: async (env) => {
        await gate;
        return answerFor(env);
      },
    });
    const c = await connectOhpWs(h.url, { hello: { maxTier: "core", bindings: [], tenant: "acme" }, handler: recordingHandler() });
    const p = envelope("PROPOSE");
    const answer = c.sendAndAwaitAnswer(p, 5_000);
    await until(() => h.server.peers().length === 1);
    await new Promise((r) => setTimeout(r, 10));
    const closing = h.server.close({ timeoutMs: 2_000 });
    setTimeout(release, 20);
    expect(await answer).toMatchObject({ control: { verb: "ACCEPT", refs: { proposedId: p["id"] } } });
    await closing;
    expect(await c.closed).toEqual({ code: OHP_WS_CLOSE.goingAway, reason: "ERR_OHP_WS_SHUTDOWN" });
    // New upgrades are no longer handled by the binding.
    const err = await rejection(connectOhpWs(h.url, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() }));
    expect(err.code).toBe("ERR_OHP_WS_HANDSHAKE");
    h.http.closeAllConnections();
    await new Promise<void>((r) => h.http.close(() => r()));
  });

  it("§7.2 client close(): the server forgets the pair", async () => {
    const h = await harness();
    const c = await client(h);
    expect(await c.close()).toEqual({ code: OHP_WS_CLOSE.normal, reason: "" });
    await until(() => h.server.peers().length === 0);
    expect((await rejection(c.send(envelope("PROPOSE")))).code).toBe("ERR_OHP_WS_CLOSED");
  });
});

function opensslCert(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "ohp-ws-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "k.pem"), "utf8"), cert: readFileSync(join(dir, "c.pem"), "utf8") };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tlsMaterial = opensslCert();

describe("§7 ohp/ws over TLS 1.3", () => {
  it.skipIf(tlsMaterial === undefined)("§7 wss on the node's HTTPS server: TLS 1.3, htu with https", async () => {
    const { key, cert } = tlsMaterial!;
    const https = createHttpsServer({ key, cert, minVersion: "TLSv1.3" }, (_q, s) => s.writeHead(404).end());
    const handler = recordingHandler();
    const server = attachOhpWsServer(https, { handler, hello: { maxTier: "sealed", bindings: ["ohp/ws"], tenant: "bank" } });
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    cleanups.push(async () => {
      await server.close({ timeoutMs: 500 });
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    });
    const { port } = https.address() as AddressInfo;
    const c = await connectOhpWs(`wss://localhost:${port}/ohp/v1/ws`, {
      hello: { maxTier: "sealed", bindings: ["ohp/ws"], tenant: "acme" },
      handler: recordingHandler(),
      tls: { ca: cert },
    });
    cleanups.push(() => c.close());
    const p = envelope("PROPOSE");
    expect(await c.sendAndAwaitAnswer(p, 5_000)).toMatchObject({ control: { verb: "ACCEPT" } });
    expect(handler.calls[0]?.meta.httpUri).toBe(`https://localhost:${port}/ohp/v1/ws`);

    const untrusted = await rejection(connectOhpWs(`wss://localhost:${port}/ohp/v1/ws`, { hello: { maxTier: "core", bindings: [] }, handler: recordingHandler() }));
    expect(untrusted.code).toBe("ERR_OHP_WS_HANDSHAKE");
  });
});
