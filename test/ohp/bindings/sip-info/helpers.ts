/**
 * Test helpers for the ohp/sip-info endpoint: a raw UDP SIP peer that crafts exact datagrams,
 * and a trivial OHP "receiver" handler that answers a PROPOSE with an ACCEPT.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import type { JsonObject } from "../../../../src/json/types.js";
import type { InboundMeta } from "../../../../src/ohp/bindings/types.js";
import { parseSipMessage, serializeSipMessage, SipHeaders, type SipMessage, type SipResponse } from "../../../../src/ohp/bindings/sip-info/message.js";
import type { SipPeerAddress } from "../../../../src/ohp/bindings/sip-info/endpoint.js";

/** Safety net only: no assertion depends on elapsed time. */
export const SAFETY_MS = 10_000;

/** Resolves when `check` holds (polling on the event loop), rejects after the safety net. */
export async function until(check: () => boolean, what = "condition"): Promise<void> {
  const deadline = Date.now() + SAFETY_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A handler that records what it saw and answers PROPOSE with a minimal ACCEPT. */
export function acceptingHandler(): {
  seen: { envelope: unknown; meta: InboundMeta }[];
  handler: (envelope: unknown, meta: InboundMeta) => Promise<JsonObject | undefined>;
} {
  const seen: { envelope: unknown; meta: InboundMeta }[] = [];
  return {
    seen,
    handler: async (envelope, meta) => {
      seen.push({ envelope, meta });
      const env = envelope as JsonObject;
      const control = env["control"] as JsonObject | undefined;
      if (control?.["verb"] !== "PROPOSE") return undefined;
      return acceptFor(env);
    },
  };
}

/** The ACCEPT our trivial receiver answers with (no crypto: transport tests only). */
export function acceptFor(proposal: JsonObject): JsonObject {
  return {
    ohp: "0.1",
    conformance: proposal["conformance"] as string,
    id: `cse_ACCEPT${String(proposal["id"]).slice(-16)}`,
    session: { callId: ((proposal["session"] as JsonObject | undefined)?.["callId"] as string | undefined) ?? "unknown" },
    control: { verb: "ACCEPT", nonce: "a1b2c3d4e5f60718", refs: { proposedId: proposal["id"] as string } },
  };
}

/** A raw UDP socket speaking hand-made SIP at an endpoint. */
export class RawPeer {
  readonly #socket: Socket;
  readonly #queue: { bytes: Uint8Array; message: SipMessage | undefined }[] = [];
  readonly #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("message", (msg) => {
      const bytes = new Uint8Array(msg);
      let message: SipMessage | undefined;
      try {
        message = parseSipMessage(bytes);
      } catch {
        message = undefined;
      }
      this.#queue.push({ bytes, message });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(): Promise<RawPeer> {
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
    return new RawPeer(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(bytes: Uint8Array | string, to: SipPeerAddress): void {
    this.#socket.send(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes, to.port, to.host);
  }

  /** The next received message matching `match` (earlier non-matching ones stay queued). */
  async next(match: (m: SipMessage) => boolean = () => true): Promise<{ bytes: Uint8Array; message: SipMessage }> {
    const deadline = Date.now() + SAFETY_MS;
    for (;;) {
      const i = this.#queue.findIndex((q) => q.message !== undefined && match(q.message));
      if (i >= 0) {
        const [hit] = this.#queue.splice(i, 1);
        return hit as { bytes: Uint8Array; message: SipMessage };
      }
      if (Date.now() > deadline) throw new Error("RawPeer: timed out waiting for a message");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The next response with this CSeq. */
  async response(cseq: string): Promise<{ bytes: Uint8Array; message: SipResponse }> {
    const r = await this.next((m) => m.kind === "response" && m.headers.get("CSeq") === cseq && m.status >= 200);
    return r as { bytes: Uint8Array; message: SipResponse };
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.#queue.length;
  }

  close(): void {
    this.#socket.close();
  }
}

/** A dialog the raw peer established with INVITE/200/ACK, and a builder for in-dialog INFOs. */
export interface RawDialog {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  /** A serialized in-dialog request. */
  request(method: string, seq: number, headers: [string, string][], body?: Uint8Array | string): Uint8Array;
}

export async function rawDialog(peer: RawPeer, to: SipPeerAddress): Promise<RawDialog> {
  const callId = `${randomBytes(6).toString("hex")}@127.0.0.1`;
  const fromTag = randomBytes(4).toString("hex");
  const uri = `sip:ohp@127.0.0.1:${to.port}`;
  const base = (method: string, seq: number, toTag: string | undefined, headers: [string, string][], body: Uint8Array | string = ""): Uint8Array => {
    const h = new SipHeaders()
      .append("Via", `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${randomBytes(6).toString("hex")};rport`)
      .append("From", `<sip:raw@127.0.0.1:${peer.port}>;tag=${fromTag}`)
      .append("To", toTag === undefined ? `<${uri}>` : `<${uri}>;tag=${toTag}`)
      .append("Call-ID", callId)
      .append("CSeq", `${seq} ${method}`)
      .append("Max-Forwards", "70")
      .append("Contact", `<sip:raw@127.0.0.1:${peer.port}>`);
    for (const [n, v] of headers) h.append(n, v);
    return serializeSipMessage({ kind: "request", method, uri, headers: h, body: typeof body === "string" ? new TextEncoder().encode(body) : body });
  };
  peer.send(base("INVITE", 1, undefined, []), to);
  const ok = await peer.response("1 INVITE");
  if (ok.message.status !== 200) throw new Error(`INVITE got ${ok.message.status}`);
  const toTag = /;tag=([^;]+)/.exec(ok.message.headers.get("To") ?? "")?.[1];
  if (toTag === undefined) throw new Error("no To tag");
  peer.send(base("ACK", 1, toTag, []), to);
  return { callId, fromTag, toTag, request: (method, seq, headers, body) => base(method, seq, toTag, headers, body) };
}
