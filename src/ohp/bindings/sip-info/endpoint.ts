/**
 * A minimal in-dialog SIP user agent for `ohp/sip-info` (§7.1) over UDP (node:dgram).
 *
 * As UAS it answers INVITE (100, then 200 with a minimal SDP answer), ACK, INFO, BYE, OPTIONS
 * and CANCEL; as UAC it establishes a dialog ({@link SipInfoEndpoint.call}) and sends envelopes
 * as in-dialog INFO requests ({@link SipInfoEndpoint.sendEnvelope}), chunked as needed, with the
 * RFC 3261 §17.1.2 retransmission timer (T1 doubling up to T2, give up after 64·T1).
 *
 * Every received envelope goes to the {@link OhpEnvelopeHandler}; the INFO's 200 OK is a
 * transport receipt sent before the handler runs, and the handler's answer (an ACCEPT, …) goes
 * back as a new in-dialog INFO (decision #45). Retransmitted requests (same Call-ID + CSeq) get
 * the same final response again; a repeated envelope id on the same Call-ID reaches the handler
 * once.
 *
 * Scope (see docs/ohp-sip-info.md): no TLS, so it binds to loopback unless told otherwise; no
 * DNS (peers are IP literals); no Record-Route / route sets; requests and responses go to the
 * transport address the peer sent from (symmetric, like RFC 3581 `rport`).
 */
import { randomBytes } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { isJsonObject, type JsonObject } from "../../../json/types.js";
import { isTier, type Tier } from "../../tiers.js";
import { OHP_CBOR_MEDIA_TYPE, OHP_WIRE_VERSION, type InboundMeta, type OhpEnvelopeHandler } from "../types.js";
import {
  ChunkReassembler,
  decodeOhpBody,
  DEFAULT_MAX_CHUNKS,
  DEFAULT_MAX_ENVELOPE_BYTES,
  encodeOhpInfoBodies,
  mediaTypeOf,
  OHP_INFO_BODY_LIMIT,
  OHP_MULTIPART_MEDIA_TYPE,
  parseChunkBody,
  parseChunkContentType,
  parseContentEncoding,
  type DecodedBody,
} from "./codec.js";
import { SipInfoError, sipStatusFor, type SipInfoErrorCode } from "./errors.js";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  parseCSeq,
  parseNameAddr,
  parseSipHead,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  SipHeaders,
  type SipRequest,
  type SipResponse,
} from "./message.js";

/** The RFC 6086 Info-Package name agentwire uses for OHP (decision #45; upstream defines none). */
export const OHP_INFO_PACKAGE = "ohp";
/** Methods the endpoint answers. */
export const SIP_ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";
const ACCEPT = `${OHP_CBOR_MEDIA_TYPE}, ${OHP_MULTIPART_MEDIA_TYPE}, application/sdp`;
const BRANCH_MAGIC = "z9hG4bK";
const HEADER_TOKEN = /^[A-Za-z0-9._-]{1,64}$/;

/** A UDP transport address. */
export interface SipPeerAddress {
  readonly host: string;
  readonly port: number;
}

/** One SIP dialog (RFC 3261 §12) between this endpoint and a peer. */
export interface SipDialog {
  readonly callId: string;
  /** "uac" when this endpoint sent the INVITE. */
  readonly role: "uac" | "uas";
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: string;
  readonly remoteUri: string;
  /** The peer's Contact URI (Request-URI of in-dialog requests). */
  readonly remoteTarget: string;
  /** Where in-dialog requests are sent. */
  readonly peer: SipPeerAddress;
  readonly state: "confirmed" | "terminated";
}

/** Options of {@link SipInfoEndpoint.listen}. */
export interface SipInfoEndpointOptions {
  /** Receives every envelope; its answer goes back as a new INFO. */
  readonly handler: OhpEnvelopeHandler;
  /** Address to bind (default 127.0.0.1). Must be loopback unless `allowNonLoopback`. */
  readonly host?: string;
  /** UDP port (default 0: any free port). */
  readonly port?: number;
  /** The SIP binding has no TLS: a non-loopback address needs this explicit opt-in. */
  readonly allowNonLoopback?: boolean;
  /** User part of this endpoint's URIs (default "ohp"). */
  readonly user?: string;
  /** Compress outgoing envelopes (`Content-Encoding: deflate`, zlib). Default false. */
  readonly deflate?: boolean;
  /** Largest INFO body before chunking (default 1300, §7.1). */
  readonly maxInfoBodyBytes?: number;
  /** Cap on an envelope's CBOR and on any body (default 32 KiB); larger bodies get 413. */
  readonly maxEnvelopeBytes?: number;
  /** Cap on `total-chunks` (default 64). */
  readonly maxChunks?: number;
  /** Incomplete chunk sets kept at once (default 64). */
  readonly maxPendingChunkSets?: number;
  /** An incomplete chunk set expires this long after its last new chunk (default 64·T1). */
  readonly reassemblyTtlMs?: number;
  /** Most simultaneous dialogs (default 1024); further INVITEs get 486. */
  readonly maxDialogs?: number;
  /** RFC 3261 T1 (default 500 ms) and T2 (default 4000 ms). */
  readonly t1Ms?: number;
  readonly t2Ms?: number;
  /** How long an envelope id is remembered per Call-ID (default 305 s: PT5M + 5 s skew). */
  readonly envelopeDedupeMs?: number;
  /** Require tag 0 exactly on the RFC 3339 fields (default true). */
  readonly strictTags?: boolean;
  /** `close()` waits at most this long for running handlers and BYEs (default 2000 ms). */
  readonly closeTimeoutMs?: number;
  /** Clock for the dedupe and reassembly windows (default `Date.now`). */
  readonly now?: () => number;
  /** Reports what cannot be thrown to a caller: handler failures, failed answers, socket errors. */
  readonly onError?: (error: unknown, context: string) => void;
}

interface Dialog extends SipDialog {
  state: "confirmed" | "terminated";
  localSeq: number;
  /** Serialises this dialog's outgoing INFO/BYE transactions (RFC 6086 §4.2.1 ordering). */
  queue: Promise<void>;
  /** UAS: 2xx-to-INVITE retransmission until the ACK arrives. */
  inviteRetransmit: { timer: NodeJS.Timeout | undefined; seq: number } | undefined;
  /** UAC: the ACK for the 2xx, re-sent when the 2xx is retransmitted. */
  ack: Uint8Array | undefined;
}

interface ClientTransaction {
  readonly method: string;
  readonly bytes: Uint8Array;
  readonly peer: SipPeerAddress;
  readonly resolve: (response: SipResponse) => void;
  readonly reject: (error: unknown) => void;
  interval: number;
  retransmit: NodeJS.Timeout | undefined;
  timeout: NodeJS.Timeout | undefined;
}

interface CachedResponse {
  readonly bytes: Uint8Array;
  readonly expires: number;
}

interface AnswerWaiter {
  readonly callId: string;
  readonly resolve: (envelope: JsonObject) => void;
  readonly reject: (error: unknown) => void;
}

function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString("hex");
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === "::1";
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Accepts `{host, port}`, `"host:port"` or `sip:user@host:port`; hosts must be IP literals. */
function resolvePeer(peer: SipPeerAddress | string): SipPeerAddress {
  let host: string;
  let port: number | undefined;
  if (typeof peer === "string") {
    if (/^sips?:/i.test(peer)) {
      const uri = parseSipUri(peer);
      host = stripBrackets(uri.host);
      port = uri.port ?? 5060;
    } else {
      const m = /^(\[[0-9A-Fa-f:.]+\]|[^:]+):([0-9]{1,5})$/.exec(peer);
      if (m === null) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `peer must be host:port or a SIP URI: ${JSON.stringify(peer)}`);
      host = stripBrackets(m[1] as string);
      port = Number(m[2]);
    }
  } else {
    host = stripBrackets(peer.host);
    port = peer.port;
  }
  if (isIP(host) === 0) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `peer host must be an IP address (no DNS): ${JSON.stringify(host)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "peer port out of range");
  return { host, port };
}

/** A minimal SDP body: no media, or the offer's m-lines refused with port 0 (RFC 3264 §6). */
function sdpBody(host: string, mLines: readonly string[]): Uint8Array {
  const ip = host.includes(":") ? "IP6" : "IP4";
  const id = String(Math.floor(Math.random() * 1e9));
  const lines = ["v=0", `o=agentwire ${id} ${id} IN ${ip} ${host}`, "s=ohp", `c=IN ${ip} ${host}`, "t=0 0", ...mLines];
  return new TextEncoder().encode(`${lines.join("\r\n")}\r\n`);
}

/** The answer's m-lines for an offer (each stream declined: port 0, first format), or undefined when the offer is not SDP. */
function answerMLines(offer: Uint8Array): string[] | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(offer);
  } catch {
    return undefined;
  }
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "v=0") return undefined;
  const out: string[] = [];
  for (const line of lines) {
    if (!line.startsWith("m=")) continue;
    const [media, , proto, fmt] = line.slice(2).trim().split(/\s+/);
    if (media === undefined || proto === undefined || fmt === undefined) return undefined;
    out.push(`m=${media} 0 ${proto} ${fmt}`);
  }
  return out;
}

/**
 * RFC 3261 §18.2.1 / RFC 3581 §4 on the topmost Via: add `received` when the packet came from
 * another host than sent-by (or `rport` was asked for), and fill an empty `rport`.
 */
function stampVia(via: string, from: SipPeerAddress): string {
  const comma = via.indexOf(",");
  const top = comma < 0 ? via : via.slice(0, comma);
  const rest = comma < 0 ? "" : via.slice(comma);
  let sentBy: string | undefined;
  try {
    sentBy = stripBrackets(parseVia(top).host);
  } catch {
    return via;
  }
  const parts = top.split(";");
  const rport = parts.some((p) => p.trim().toLowerCase() === "rport");
  const out = parts.map((p) => (p.trim().toLowerCase() === "rport" ? `rport=${from.port}` : p));
  const hasReceived = parts.some((p) => p.trim().toLowerCase().startsWith("received="));
  if (!hasReceived && (rport || sentBy !== from.host)) out.push(`received=${from.host}`);
  return out.join(";") + rest;
}

function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const tag = parseNameAddr(value).params.get("tag");
    return tag === undefined || tag === "" ? undefined : tag;
  } catch {
    return undefined;
  }
}

/**
 * The `ohp/sip-info` endpoint. Create with {@link SipInfoEndpoint.listen}; stop with
 * {@link SipInfoEndpoint.close}.
 */
export class SipInfoEndpoint {
  readonly #socket: Socket;
  readonly #handler: OhpEnvelopeHandler;
  readonly #host: string;
  readonly #port: number;
  readonly #user: string;
  readonly #deflate: boolean;
  readonly #maxInfoBody: number;
  readonly #maxEnvelope: number;
  readonly #maxChunks: number;
  readonly #maxDialogs: number;
  readonly #t1: number;
  readonly #t2: number;
  readonly #dedupeMs: number;
  readonly #strictTags: boolean;
  readonly #closeTimeout: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown, context: string) => void;
  readonly #reassembler: ChunkReassembler;

  readonly #dialogs = new Map<string, Dialog>();
  readonly #clientTx = new Map<string, ClientTransaction>();
  readonly #responses = new Map<string, CachedResponse>();
  readonly #seenEnvelopes = new Map<string, number>();
  readonly #waiters = new Map<string, AnswerWaiter>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing = false;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  private constructor(socket: Socket, options: SipInfoEndpointOptions, host: string, port: number) {
    this.#socket = socket;
    this.#handler = options.handler;
    this.#host = host;
    this.#port = port;
    this.#user = options.user ?? "ohp";
    this.#deflate = options.deflate ?? false;
    this.#maxInfoBody = options.maxInfoBodyBytes ?? OHP_INFO_BODY_LIMIT;
    this.#maxEnvelope = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    this.#maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
    this.#maxDialogs = options.maxDialogs ?? 1024;
    this.#t1 = options.t1Ms ?? 500;
    this.#t2 = options.t2Ms ?? 4000;
    this.#dedupeMs = options.envelopeDedupeMs ?? 305_000;
    this.#strictTags = options.strictTags ?? true;
    this.#closeTimeout = options.closeTimeoutMs ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
    this.#reassembler = new ChunkReassembler({
      maxPendingSets: options.maxPendingChunkSets ?? 64,
      ttlMs: options.reassemblyTtlMs ?? 64 * this.#t1,
      maxEnvelopeBytes: this.#maxEnvelope,
      maxChunks: this.#maxChunks,
      now: this.#now,
    });
    socket.on("message", (msg, rinfo) => {
      try {
        this.#onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo);
      } catch (e) {
        // Unreachable by design (every path handles its own errors); never let a datagram crash the process.
        this.#onError(e, "datagram");
      }
    });
    socket.on("error", (e) => this.#onError(e, "socket"));
  }

  /**
   * Binds a UDP socket and starts answering.
   * @throws SipInfoError `ERR_SIPINFO_INVALID_ARGUMENT` (bad options, non-loopback without
   *   opt-in), `ERR_SIPINFO_SOCKET` (the bind failed)
   */
  static async listen(options: SipInfoEndpointOptions): Promise<SipInfoEndpoint> {
    if (typeof options?.handler !== "function") throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "handler must be a function");
    const host = stripBrackets(options.host ?? "127.0.0.1");
    const family = isIP(host);
    if (family === 0) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `host must be an IP address: ${JSON.stringify(host)}`);
    if (!isLoopback(host) && options.allowNonLoopback !== true) {
      throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "ohp/sip-info runs without TLS here: bind to loopback, or set allowNonLoopback behind a TLS/SBC hop");
    }
    if (options.user !== undefined && !/^[A-Za-z0-9._~-]{1,64}$/.test(options.user)) {
      throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "user must be a plain SIP user token");
    }
    for (const [name, v] of [
      ["t1Ms", options.t1Ms],
      ["t2Ms", options.t2Ms],
      ["maxEnvelopeBytes", options.maxEnvelopeBytes],
      ["maxDialogs", options.maxDialogs],
      ["envelopeDedupeMs", options.envelopeDedupeMs],
      ["closeTimeoutMs", options.closeTimeoutMs],
    ] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `${name} must be a positive integer`);
    }
    const socket = createSocket({ type: family === 6 ? "udp6" : "udp4" });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(options.port ?? 0, host, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      throw new SipInfoError("ERR_SIPINFO_SOCKET", `cannot bind ${hostPort(host, options.port ?? 0)}/udp: ${(e as Error).message}`, { cause: e });
    }
    return new SipInfoEndpoint(socket, options, host, socket.address().port);
  }

  /** The bound address. */
  get address(): SipPeerAddress {
    return { host: this.#host, port: this.#port };
  }

  /** This endpoint's SIP URI, e.g. `sip:ohp@127.0.0.1:5062`. */
  get uri(): string {
    return `sip:${this.#user}@${hostPort(this.#host, this.#port)}`;
  }

  /** The live dialog with this Call-ID. */
  dialog(callId: string): SipDialog | undefined {
    return this.#dialogs.get(callId);
  }

  /** Every live dialog. */
  get dialogs(): SipDialog[] {
    return [...this.#dialogs.values()];
  }

  // ------------------------------------------------------------------ UAC API

  /**
   * Establishes a dialog: INVITE (with an SDP offer without media streams), 200, ACK.
   * @throws SipInfoError `ERR_SIPINFO_REJECTED` (non-2xx), `ERR_SIPINFO_TIMEOUT`,
   *   `ERR_SIPINFO_DIALOG` (2xx without To tag), `ERR_SIPINFO_CLOSED`, `ERR_SIPINFO_INVALID_ARGUMENT`
   * `options.callId` sets the Call-ID (the live call an envelope's `session.callId` names, D09 step 4).
   */
  async call(peer: SipPeerAddress | string, options: { readonly callId?: string } = {}): Promise<SipDialog> {
    this.#assertOpen();
    const to = resolvePeer(peer);
    if (options.callId !== undefined && !/^[\w.!%*+`'~()<>:\\"/[\]?{}@-]{1,256}$/.test(options.callId)) {
      throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "callId is not a valid SIP Call-ID word");
    }
    const callId = options.callId ?? `${randomToken(12)}@${hostPort(this.#host, this.#port)}`;
    const localTag = randomToken(6);
    const remoteUri = `sip:${this.#user}@${hostPort(to.host, to.port)}`;
    const seq = 1;
    const branch = this.#branch();
    const headers = new SipHeaders()
      .append("Via", this.#via(branch))
      .append("Max-Forwards", "70")
      .append("From", `<${this.uri}>;tag=${localTag}`)
      .append("To", `<${remoteUri}>`)
      .append("Call-ID", callId)
      .append("CSeq", `${seq} INVITE`)
      .append("Contact", `<${this.uri}>`)
      .append("Allow", SIP_ALLOW)
      .append("Recv-Info", OHP_INFO_PACKAGE)
      .append("Content-Type", "application/sdp");
    const invite: SipRequest = { kind: "request", method: "INVITE", uri: remoteUri, headers, body: sdpBody(this.#host, []) };
    const response = await this.#request(invite, branch, to);
    if (response.status >= 300) {
      throw new SipInfoError("ERR_SIPINFO_REJECTED", `INVITE answered ${response.status} ${response.reason}`, {
        detail: { status: response.status, reason: response.reason },
      });
    }
    const toHeader = response.headers.get("To") ?? "";
    const remoteTag = tagOf(toHeader);
    let remoteTarget = remoteUri;
    const contact = response.headers.get("Contact");
    if (contact !== undefined) {
      try {
        remoteTarget = parseNameAddr(contact).uri;
      } catch {
        // keep the Request-URI
      }
    }
    const ackHeaders = new SipHeaders()
      .append("Via", this.#via(this.#branch()))
      .append("Max-Forwards", "70")
      .append("From", `<${this.uri}>;tag=${localTag}`)
      .append("To", toHeader)
      .append("Call-ID", callId)
      .append("CSeq", `${seq} ACK`);
    const ack = serializeSipMessage({ kind: "request", method: "ACK", uri: remoteTarget, headers: ackHeaders, body: new Uint8Array(0) });
    this.#send(ack, to);
    if (remoteTag === undefined) throw new SipInfoError("ERR_SIPINFO_DIALOG", "2xx to INVITE without a To tag");
    const dialog: Dialog = {
      callId,
      role: "uac",
      localTag,
      remoteTag,
      localUri: this.uri,
      remoteUri,
      remoteTarget,
      peer: to,
      state: "confirmed",
      localSeq: seq,
      queue: Promise.resolve(),
      inviteRetransmit: undefined,
      ack,
    };
    this.#dialogs.set(callId, dialog);
    return dialog;
  }

  /**
   * Sends one envelope as in-dialog INFO (chunked when the body exceeds `maxInfoBodyBytes`);
   * resolves when every INFO got its 200.
   * @throws SipInfoError `ERR_SIPINFO_REJECTED` (a non-2xx final response), `ERR_SIPINFO_TIMEOUT`,
   *   `ERR_SIPINFO_DIALOG`, `ERR_SIPINFO_CLOSED`, `ERR_SIPINFO_TOO_LARGE`, `ERR_SIPINFO_INVALID_ARGUMENT`
   */
  async sendEnvelope(dialog: SipDialog, envelope: JsonObject, options: { readonly deflate?: boolean } = {}): Promise<void> {
    this.#assertOpen(true);
    const d = this.#ownDialog(dialog);
    if (!isJsonObject(envelope)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "an envelope must be a JSON object");
    const bodies = encodeOhpInfoBodies(envelope, {
      deflate: options.deflate ?? this.#deflate,
      maxBodyBytes: this.#maxInfoBody,
      maxEnvelopeBytes: this.#maxEnvelope,
      maxChunks: this.#maxChunks,
    });
    const mirror: [string, string][] = [["OHP-Version", OHP_WIRE_VERSION]];
    const tier = envelope["conformance"];
    if (typeof tier === "string" && HEADER_TOKEN.test(tier)) mirror.push(["OHP-Tier", tier]);
    const control = envelope["control"];
    const verb = isJsonObject(control) ? control["verb"] : undefined;
    if (typeof verb === "string" && HEADER_TOKEN.test(verb)) mirror.push(["OHP-Verb", verb]);
    await this.#enqueue(d, async () => {
      for (const part of bodies) {
        const { headers, branch } = this.#inDialogHeaders(d, "INFO");
        headers.append("Info-Package", OHP_INFO_PACKAGE).append("Content-Type", part.contentType);
        if (part.contentEncoding !== undefined) headers.append("Content-Encoding", part.contentEncoding);
        for (const [n, v] of mirror) headers.append(n, v);
        const response = await this.#request({ kind: "request", method: "INFO", uri: d.remoteTarget, headers, body: part.body }, branch, d.peer);
        if (response.status >= 300) {
          throw new SipInfoError("ERR_SIPINFO_REJECTED", `INFO answered ${response.status} ${response.reason}`, {
            detail: { status: response.status, reason: response.reason },
          });
        }
      }
    });
  }

  /**
   * Sends an envelope and resolves with the peer's answer: the first envelope arriving on this
   * dialog whose `control.refs.proposedId` equals the sent `id`. The answer is transport data,
   * not yet verified (it also goes to the handler, which verifies).
   * @throws SipInfoError `ERR_SIPINFO_TIMEOUT` after `timeoutMs`, plus everything
   *   {@link sendEnvelope} throws
   */
  async sendAndAwaitAnswer(dialog: SipDialog, envelope: JsonObject, timeoutMs: number, options: { readonly deflate?: boolean } = {}): Promise<JsonObject> {
    this.#assertOpen(true);
    const d = this.#ownDialog(dialog);
    const id = isJsonObject(envelope) ? envelope["id"] : undefined;
    if (typeof id !== "string" || id === "") throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "the envelope needs a string id to correlate its answer");
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "timeoutMs must be positive");
    const key = `${d.callId}\n${id}`;
    if (this.#waiters.has(key)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `already awaiting an answer to ${id}`);
    const answer = new Promise<JsonObject>((resolve, reject) => {
      const timer = this.#timer(() => {
        this.#waiters.delete(key);
        reject(new SipInfoError("ERR_SIPINFO_TIMEOUT", `no answer to ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(key, {
        callId: d.callId,
        resolve: (env) => {
          this.#clearTimer(timer);
          this.#waiters.delete(key);
          resolve(env);
        },
        reject: (e) => {
          this.#clearTimer(timer);
          this.#waiters.delete(key);
          reject(e);
        },
      });
    });
    answer.catch(() => undefined); // the caller gets the rejection; never an unhandled one meanwhile
    try {
      await this.sendEnvelope(d, envelope, options);
    } catch (e) {
      this.#waiters.get(key)?.reject(e);
    }
    return answer;
  }

  /** Ends a dialog with BYE (the dialog is terminated locally whatever the peer answers). */
  async hangup(dialog: SipDialog): Promise<void> {
    const d = this.#dialogs.get(dialog.callId);
    if (d === undefined || d.state === "terminated") return;
    if (this.#closed) return;
    const work = this.#enqueue(d, async () => {
      const { headers, branch } = this.#inDialogHeaders(d, "BYE");
      await this.#request({ kind: "request", method: "BYE", uri: d.remoteTarget, headers, body: new Uint8Array(0) }, branch, d.peer);
    });
    try {
      await work;
    } finally {
      this.#terminate(d, "hung up");
    }
  }

  /** Sends OPTIONS outside any dialog and resolves with the final response (a liveness probe). */
  async options(peer: SipPeerAddress | string): Promise<SipResponse> {
    this.#assertOpen();
    const to = resolvePeer(peer);
    const branch = this.#branch();
    const uri = `sip:${this.#user}@${hostPort(to.host, to.port)}`;
    const headers = new SipHeaders()
      .append("Via", this.#via(branch))
      .append("Max-Forwards", "70")
      .append("From", `<${this.uri}>;tag=${randomToken(6)}`)
      .append("To", `<${uri}>`)
      .append("Call-ID", `${randomToken(12)}@${hostPort(this.#host, this.#port)}`)
      .append("CSeq", "1 OPTIONS")
      .append("Accept", ACCEPT);
    return this.#request({ kind: "request", method: "OPTIONS", uri, headers, body: new Uint8Array(0) }, branch, to);
  }

  /**
   * Graceful close: new requests get 503, running handlers (and the answers they send) get up
   * to `closeTimeoutMs`, live dialogs are ended with BYE, then pending work is rejected with
   * `ERR_SIPINFO_CLOSED` and the socket is closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const bounded = (p: Promise<unknown>): Promise<unknown> =>
      Promise.race([p, new Promise((r) => this.#timer(() => r(undefined), this.#closeTimeout))]);
    await bounded(Promise.allSettled([...this.#handlers]));
    await bounded(Promise.allSettled([...this.#dialogs.values()].map((d) => this.hangup(d))));
    this.#closed = true;
    const closed = new SipInfoError("ERR_SIPINFO_CLOSED", "the endpoint closed");
    for (const tx of [...this.#clientTx.values()]) tx.reject(closed);
    for (const w of [...this.#waiters.values()]) w.reject(closed);
    for (const d of [...this.#dialogs.values()]) this.#terminate(d, "closed");
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#clientTx.clear();
    this.#responses.clear();
    this.#seenEnvelopes.clear();
    this.#reassembler.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  // ------------------------------------------------------------------ internals: plumbing

  #assertOpen(allowClosing = false): void {
    if (this.#closed || (this.#closing && !allowClosing)) throw new SipInfoError("ERR_SIPINFO_CLOSED", "the endpoint is closed");
  }

  #ownDialog(dialog: SipDialog): Dialog {
    const d = this.#dialogs.get(dialog?.callId);
    if (d === undefined || d.state === "terminated") throw new SipInfoError("ERR_SIPINFO_DIALOG", "no live dialog with this Call-ID");
    return d;
  }

  #timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clearTimer(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  #branch(): string {
    return `${BRANCH_MAGIC}${randomToken(10)}`;
  }

  #via(branch: string): string {
    return `SIP/2.0/UDP ${hostPort(this.#host, this.#port)};branch=${branch};rport`;
  }

  #send(bytes: Uint8Array, to: SipPeerAddress): void {
    if (this.#closed) return;
    this.#socket.send(bytes, to.port, to.host, (e) => {
      if (e) this.#onError(e, "send");
    });
  }

  #enqueue(d: Dialog, work: () => Promise<void>): Promise<void> {
    const run = d.queue.then(work);
    d.queue = run.catch(() => undefined);
    return run;
  }

  #inDialogHeaders(d: Dialog, method: string): { headers: SipHeaders; branch: string } {
    const branch = this.#branch();
    d.localSeq++;
    const headers = new SipHeaders()
      .append("Via", this.#via(branch))
      .append("Max-Forwards", "70")
      .append("From", `<${d.localUri}>;tag=${d.localTag}`)
      .append("To", `<${d.remoteUri}>;tag=${d.remoteTag}`)
      .append("Call-ID", d.callId)
      .append("CSeq", `${d.localSeq} ${method}`)
      .append("Contact", `<${this.uri}>`);
    return { headers, branch };
  }

  /** Runs a client transaction (RFC 3261 §17.1) and resolves with its final response. */
  #request(request: SipRequest, branch: string, to: SipPeerAddress): Promise<SipResponse> {
    this.#assertOpen(true);
    const bytes = serializeSipMessage(request);
    return new Promise<SipResponse>((resolve, reject) => {
      const finish = (): void => {
        this.#clearTimer(tx.retransmit);
        this.#clearTimer(tx.timeout);
        this.#clientTx.delete(branch);
      };
      const tx: ClientTransaction = {
        method: request.method,
        bytes,
        peer: to,
        interval: this.#t1,
        retransmit: undefined,
        timeout: undefined,
        resolve: (r) => {
          finish();
          resolve(r);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      };
      const again = (): void => {
        this.#send(bytes, to);
        tx.interval = request.method === "INVITE" ? tx.interval * 2 : Math.min(tx.interval * 2, this.#t2);
        tx.retransmit = this.#timer(again, tx.interval);
      };
      this.#clientTx.set(branch, tx);
      this.#send(bytes, to);
      tx.retransmit = this.#timer(again, tx.interval);
      tx.timeout = this.#timer(
        () => tx.reject(new SipInfoError("ERR_SIPINFO_TIMEOUT", `no final response to ${request.method} within ${64 * this.#t1} ms`)),
        64 * this.#t1,
      );
    });
  }

  // ------------------------------------------------------------------ internals: receiving

  #onDatagram(bytes: Uint8Array, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    const from: SipPeerAddress = { host: rinfo.address, port: rinfo.port };
    let message;
    try {
      message = parseSipMessage(bytes, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
    } catch (e) {
      this.#answerUnparsable(bytes, e, from);
      return;
    }
    if (message.kind === "response") this.#onResponse(message);
    else this.#onRequest(message, from);
  }

  /** A message that failed to parse: answer 400/413 when its head names enough to route a response. */
  #answerUnparsable(bytes: Uint8Array, error: unknown, from: SipPeerAddress): void {
    let head;
    try {
      head = parseSipHead(bytes, { maxMessageBytes: Number.MAX_SAFE_INTEGER });
    } catch {
      return; // nothing to answer: drop (RFC 3261 §18.3)
    }
    if (head.start.kind !== "request" || head.start.method === "ACK") return;
    try {
      parseVia(head.headers.get("Via") ?? "");
    } catch {
      return;
    }
    const code: SipInfoErrorCode = error instanceof SipInfoError ? error.code : "ERR_SIP_MALFORMED";
    const { status, reason } = sipStatusFor(code);
    const req: SipRequest = { kind: "request", method: head.start.method, uri: head.start.uri, headers: head.headers, body: new Uint8Array(0) };
    this.#respond(req, from, status, reason, { cache: false });
  }

  #onResponse(response: SipResponse): void {
    let branch: string | undefined;
    let cseq;
    try {
      branch = parseVia(response.headers.get("Via") ?? "").params.get("branch");
      cseq = parseCSeq(response.headers.get("CSeq") ?? "");
    } catch {
      return;
    }
    const tx = branch === undefined ? undefined : this.#clientTx.get(branch);
    if (tx === undefined || tx.method !== cseq.method) {
      // A retransmitted 2xx to our INVITE: the transaction is gone, the dialog re-sends its ACK.
      if (cseq.method === "INVITE" && response.status >= 200 && response.status < 300) {
        const d = this.#dialogs.get(response.headers.get("Call-ID") ?? "");
        if (d?.ack !== undefined) this.#send(d.ack, d.peer);
      }
      return;
    }
    if (response.status < 200) {
      // Provisional: INVITE stops retransmitting (Timer A); non-INVITE slows to T2 (§17.1.2.2).
      this.#clearTimer(tx.retransmit);
      tx.retransmit = undefined;
      if (tx.method !== "INVITE") {
        const again = (): void => {
          this.#send(tx.bytes, tx.peer);
          tx.retransmit = this.#timer(again, this.#t2);
        };
        tx.retransmit = this.#timer(again, this.#t2);
      }
      return;
    }
    if (tx.method === "INVITE" && response.status >= 300) this.#ackNon2xx(tx, response);
    tx.resolve(response);
  }

  /** RFC 3261 §17.1.1.3: the ACK to a non-2xx final response reuses the INVITE's branch. */
  #ackNon2xx(tx: ClientTransaction, response: SipResponse): void {
    try {
      const invite = parseSipMessage(tx.bytes);
      if (invite.kind !== "request") return;
      const seq = parseCSeq(invite.headers.get("CSeq") ?? "").seq;
      const headers = new SipHeaders()
        .append("Via", invite.headers.get("Via") ?? "")
        .append("Max-Forwards", "70")
        .append("From", invite.headers.get("From") ?? "")
        .append("To", response.headers.get("To") ?? invite.headers.get("To") ?? "")
        .append("Call-ID", invite.headers.get("Call-ID") ?? "")
        .append("CSeq", `${seq} ACK`);
      this.#send(serializeSipMessage({ kind: "request", method: "ACK", uri: invite.uri, headers, body: new Uint8Array(0) }), tx.peer);
    } catch (e) {
      this.#onError(e, "ack");
    }
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, cached] of this.#responses) {
      if (cached.expires > now && this.#responses.size <= 4096) break;
      this.#responses.delete(key);
    }
    for (const [key, expires] of this.#seenEnvelopes) {
      if (expires > now && this.#seenEnvelopes.size <= 16_384) break;
      this.#seenEnvelopes.delete(key);
    }
    this.#reassembler.sweep();
  }

  /** Builds, sends and (for final responses) caches a response for retransmissions. */
  #respond(
    req: SipRequest,
    to: SipPeerAddress,
    status: number,
    reason: string,
    extra: { headers?: [string, string][]; body?: Uint8Array; toTag?: string; cache?: boolean } = {},
  ): void {
    const headers = new SipHeaders();
    const vias = req.headers.getAll("Via");
    vias.forEach((via, i) => {
      if (i === 0) {
        headers.append("Via", stampVia(via, to));
      } else headers.append("Via", via);
    });
    const fromValue = req.headers.get("From");
    if (fromValue !== undefined) headers.append("From", fromValue);
    const toValue = req.headers.get("To");
    if (toValue !== undefined) {
      const needsTag = status > 100 && tagOf(toValue) === undefined;
      headers.append("To", needsTag ? `${toValue};tag=${extra.toTag ?? randomToken(6)}` : toValue);
    }
    const callId = req.headers.get("Call-ID");
    if (callId !== undefined) headers.append("Call-ID", callId);
    const cseq = req.headers.get("CSeq");
    if (cseq !== undefined) headers.append("CSeq", cseq);
    headers.append("Server", "agentwire-ohp-sip-info");
    for (const [n, v] of extra.headers ?? []) headers.append(n, v);
    const bytes = serializeSipMessage({ kind: "response", status, reason, headers, body: extra.body ?? new Uint8Array(0) });
    this.#send(bytes, to);
    if (status >= 200 && extra.cache !== false && callId !== undefined && cseq !== undefined) {
      this.#responses.set(this.#txKey(callId, cseq), { bytes, expires: this.#now() + 64 * this.#t1 });
    }
  }

  #txKey(callId: string, cseq: string): string {
    return `${callId}\n${cseq.trim().replace(/\s+/g, " ").toUpperCase()}`;
  }

  #onRequest(req: SipRequest, from: SipPeerAddress): void {
    this.#sweep();
    const callId = req.headers.get("Call-ID");
    const cseqValue = req.headers.get("CSeq");
    let cseq;
    try {
      parseVia(req.headers.get("Via") ?? "");
    } catch {
      return; // without a usable Via nothing can be answered
    }
    try {
      cseq = parseCSeq(cseqValue ?? "");
      if (callId === undefined || callId === "" || !req.headers.has("From") || !req.headers.has("To")) throw new Error("missing header");
      if (cseq.method !== req.method.toUpperCase()) throw new Error("CSeq method differs from the request method");
    } catch {
      if (req.method !== "ACK") this.#respond(req, from, 400, "Bad Request", { cache: false });
      return;
    }
    const method = req.method.toUpperCase();
    if (method === "ACK") {
      this.#onAck(req, callId, cseq.seq);
      return;
    }
    const cached = this.#responses.get(this.#txKey(callId, cseqValue as string));
    if (cached !== undefined) {
      this.#send(cached.bytes, from); // a retransmission: the same final response again
      return;
    }
    if (this.#closing && method !== "BYE") {
      this.#respond(req, from, 503, "Service Unavailable");
      return;
    }
    switch (method) {
      case "INVITE":
        this.#onInvite(req, callId, cseq.seq, from);
        return;
      case "INFO":
        this.#onInfo(req, callId, from);
        return;
      case "BYE": {
        const d = this.#matchDialog(req, callId);
        if (d === undefined) {
          this.#respond(req, from, 481, "Call/Transaction Does Not Exist");
          return;
        }
        this.#respond(req, from, 200, "OK");
        this.#terminate(d, "peer sent BYE");
        return;
      }
      case "OPTIONS":
        this.#respond(req, from, 200, "OK", {
          headers: [
            ["Allow", SIP_ALLOW],
            ["Accept", ACCEPT],
            ["Accept-Encoding", "deflate, identity"],
            ["Recv-Info", OHP_INFO_PACKAGE],
          ],
        });
        return;
      case "CANCEL": {
        // INVITEs are answered at once, so there is never anything left to cancel.
        const inviteDone = this.#responses.has(this.#txKey(callId, `${cseq.seq} INVITE`));
        this.#respond(req, from, inviteDone ? 200 : 481, inviteDone ? "OK" : "Call/Transaction Does Not Exist");
        return;
      }
      default:
        this.#respond(req, from, 405, "Method Not Allowed", { headers: [["Allow", SIP_ALLOW]] });
    }
  }

  /** The dialog a request belongs to: same Call-ID, To tag = ours, From tag = theirs. */
  #matchDialog(req: SipRequest, callId: string): Dialog | undefined {
    const d = this.#dialogs.get(callId);
    if (d === undefined || d.state === "terminated") return undefined;
    if (tagOf(req.headers.get("To")) !== d.localTag || tagOf(req.headers.get("From")) !== d.remoteTag) return undefined;
    return d;
  }

  #onAck(req: SipRequest, callId: string, seq: number): void {
    const d = this.#matchDialog(req, callId);
    if (d?.inviteRetransmit !== undefined && d.inviteRetransmit.seq === seq) {
      this.#clearTimer(d.inviteRetransmit.timer);
      d.inviteRetransmit = undefined;
    }
  }

  #onInvite(req: SipRequest, callId: string, seq: number, from: SipPeerAddress): void {
    const existing = this.#dialogs.get(callId);
    const toTag = tagOf(req.headers.get("To"));
    let d: Dialog | undefined;
    if (toTag !== undefined) {
      d = this.#matchDialog(req, callId); // re-INVITE
      if (d === undefined) {
        this.#respond(req, from, 481, "Call/Transaction Does Not Exist");
        return;
      }
    } else if (existing !== undefined) {
      this.#respond(req, from, 482, "Loop Detected");
      return;
    }
    const remoteTag = tagOf(req.headers.get("From"));
    if (remoteTag === undefined) {
      this.#respond(req, from, 400, "Bad Request");
      return;
    }
    let mLines: string[] = [];
    if (req.body.length > 0) {
      const type = mediaTypeOf(req.headers.get("Content-Type") ?? "");
      if (type !== "application/sdp") {
        this.#respond(req, from, 415, "Unsupported Media Type", { headers: [["Accept", "application/sdp"]] });
        return;
      }
      const answer = answerMLines(req.body);
      if (answer === undefined) {
        this.#respond(req, from, 488, "Not Acceptable Here");
        return;
      }
      mLines = answer;
    }
    if (d === undefined) {
      if (this.#dialogs.size >= this.#maxDialogs) {
        this.#respond(req, from, 486, "Busy Here");
        return;
      }
      let localUri: string;
      let remoteUri: string;
      let remoteTarget: string;
      try {
        localUri = parseNameAddr(req.headers.get("To") ?? "").uri;
        remoteUri = parseNameAddr(req.headers.get("From") ?? "").uri;
        const contact = req.headers.get("Contact");
        remoteTarget = contact === undefined ? remoteUri : parseNameAddr(contact).uri;
        parseSipUri(remoteTarget);
      } catch {
        this.#respond(req, from, 400, "Bad Request");
        return;
      }
      d = {
        callId,
        role: "uas",
        localTag: randomToken(6),
        remoteTag,
        localUri,
        remoteUri,
        remoteTarget,
        peer: from,
        state: "confirmed",
        localSeq: Math.floor(Math.random() * 10_000),
        queue: Promise.resolve(),
        inviteRetransmit: undefined,
        ack: undefined,
      };
      this.#dialogs.set(callId, d);
    }
    this.#respond(req, from, 100, "Trying");
    const extra: [string, string][] = [
      ["Contact", `<${this.uri}>`],
      ["Allow", SIP_ALLOW],
      ["Accept", ACCEPT],
      ["Recv-Info", OHP_INFO_PACKAGE],
      ["Content-Type", "application/sdp"],
    ];
    this.#respond(req, from, 200, "OK", { headers: extra, body: sdpBody(this.#host, mLines), toTag: d.localTag });
    // RFC 3261 §13.3.1.4: retransmit the 2xx (T1 doubling up to T2) until the ACK; BYE after 64·T1.
    const dialog = d;
    const key = this.#txKey(callId, `${seq} INVITE`);
    this.#clearTimer(dialog.inviteRetransmit?.timer);
    let interval = this.#t1;
    let elapsed = 0;
    const again = (): void => {
      if (dialog.inviteRetransmit === undefined || dialog.state === "terminated") return;
      elapsed += interval;
      if (elapsed >= 64 * this.#t1) {
        dialog.inviteRetransmit = undefined;
        void this.hangup(dialog).catch((e: unknown) => this.#onError(e, "bye"));
        return;
      }
      const cached = this.#responses.get(key);
      if (cached !== undefined) this.#send(cached.bytes, dialog.peer);
      interval = Math.min(interval * 2, this.#t2);
      dialog.inviteRetransmit.timer = this.#timer(again, interval);
    };
    dialog.inviteRetransmit = { seq, timer: this.#timer(again, interval) };
  }

  #fail(req: SipRequest, from: SipPeerAddress, error: unknown): void {
    const code: SipInfoErrorCode = error instanceof SipInfoError ? error.code : "ERR_SIPINFO_CBOR";
    const { status, reason } = sipStatusFor(code);
    const headers: [string, string][] = [];
    if (status === 415) {
      headers.push(["Accept", `${OHP_CBOR_MEDIA_TYPE}, ${OHP_MULTIPART_MEDIA_TYPE}`], ["Accept-Encoding", "deflate, identity"]);
    }
    if (status === 469) headers.push(["Recv-Info", OHP_INFO_PACKAGE]);
    // The reason phrase says which check failed (codes are stable; no peer data is echoed).
    this.#respond(req, from, status, status === 400 ? `Bad Request (${code})` : reason, { headers });
  }

  #onInfo(req: SipRequest, callId: string, from: SipPeerAddress): void {
    const d = this.#matchDialog(req, callId);
    if (d === undefined) {
      this.#respond(req, from, 481, "Call/Transaction Does Not Exist");
      return;
    }
    let decoded: DecodedBody | undefined;
    let tier: Tier | undefined;
    try {
      const pkg = req.headers.get("Info-Package");
      if (pkg !== undefined && pkg.split(";")[0]?.trim().toLowerCase() !== OHP_INFO_PACKAGE) {
        throw new SipInfoError("ERR_SIPINFO_INFO_PACKAGE", `Info-Package ${JSON.stringify(pkg.slice(0, 40))} is not ${OHP_INFO_PACKAGE}`);
      }
      if (req.body.length === 0) {
        this.#respond(req, from, 200, "OK"); // legacy INFO without a body (keep-alive)
        return;
      }
      const version = req.headers.get("OHP-Version");
      if (version !== undefined && version !== OHP_WIRE_VERSION) throw new SipInfoError("ERR_SIPINFO_HEADER", `OHP-Version ${JSON.stringify(version.slice(0, 20))} is not ${OHP_WIRE_VERSION}`);
      const tierHeader = req.headers.get("OHP-Tier");
      if (tierHeader !== undefined) {
        if (!isTier(tierHeader)) throw new SipInfoError("ERR_SIPINFO_HEADER", "OHP-Tier is not a tier");
        tier = tierHeader;
      }
      if (req.body.length > this.#maxEnvelope + 1024) throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `body of ${req.body.length} bytes`);
      const contentType = req.headers.get("Content-Type") ?? "";
      const type = mediaTypeOf(contentType);
      const options = { maxEnvelopeBytes: this.#maxEnvelope, strictTags: this.#strictTags };
      if (type === OHP_CBOR_MEDIA_TYPE) {
        decoded = decodeOhpBody(req.body, parseContentEncoding(req.headers.get("Content-Encoding")), options);
      } else if (type === OHP_MULTIPART_MEDIA_TYPE) {
        if (parseContentEncoding(req.headers.get("Content-Encoding")) !== undefined) {
          throw new SipInfoError("ERR_SIPINFO_ENCODING", "a chunk's coding belongs in its part headers");
        }
        const params = parseChunkContentType(contentType, this.#maxChunks);
        const part = parseChunkBody(req.body, params.boundary);
        const result = this.#reassembler.add({ ...params, ...part, scope: callId });
        if (result.status === "complete") decoded = decodeOhpBody(result.data, result.contentEncoding, options);
      } else {
        throw new SipInfoError("ERR_SIPINFO_MEDIA_TYPE", `Content-Type ${JSON.stringify(contentType.slice(0, 60))} is not ${OHP_CBOR_MEDIA_TYPE}`);
      }
    } catch (e) {
      this.#fail(req, from, e);
      return;
    }
    this.#respond(req, from, 200, "OK");
    if (decoded === undefined) return; // a chunk of an incomplete set
    const verb = req.headers.get("OHP-Verb");
    const expected: { verb?: string; tier?: Tier } = {};
    if (verb !== undefined) expected.verb = verb;
    if (tier !== undefined) expected.tier = tier;
    let peer: string;
    try {
      peer = parseNameAddr(req.headers.get("From") ?? "").uri;
    } catch {
      peer = `udp:${hostPort(from.host, from.port)}`;
    }
    const meta: InboundMeta = {
      binding: "ohp/sip-info",
      ...(verb !== undefined || tier !== undefined ? { expected } : {}),
      byteLength: decoded.cborLength,
      sipCallId: callId,
      peer,
    };
    this.#deliver(d, decoded.envelope, meta);
  }

  #deliver(d: Dialog, envelope: JsonObject, meta: InboundMeta): void {
    const id = envelope["id"];
    if (typeof id === "string") {
      const key = `${d.callId}\n${id}`;
      const seen = this.#seenEnvelopes.get(key);
      if (seen !== undefined && seen > this.#now()) return; // same envelope, new transaction: handled once
      this.#seenEnvelopes.delete(key);
      this.#seenEnvelopes.set(key, this.#now() + this.#dedupeMs);
    }
    const control = envelope["control"];
    const refs = isJsonObject(control) ? control["refs"] : undefined;
    const proposedId = isJsonObject(refs) ? refs["proposedId"] : undefined;
    if (typeof proposedId === "string") this.#waiters.get(`${d.callId}\n${proposedId}`)?.resolve(structuredClone(envelope));
    const task = (async () => {
      let answer: JsonObject | undefined;
      try {
        answer = await this.#handler(envelope, meta);
      } catch (e) {
        this.#onError(e, "handler");
        return;
      }
      if (answer === undefined) return;
      try {
        await this.sendEnvelope(d, answer);
      } catch (e) {
        this.#onError(e, "answer");
      }
    })();
    this.#handlers.add(task);
    void task.finally(() => this.#handlers.delete(task));
  }

  #terminate(d: Dialog, why: string): void {
    if (d.state === "terminated") return;
    d.state = "terminated";
    this.#clearTimer(d.inviteRetransmit?.timer);
    d.inviteRetransmit = undefined;
    if (this.#dialogs.get(d.callId) === d) this.#dialogs.delete(d.callId);
    this.#reassembler.dropScope(d.callId);
    const ended = new SipInfoError("ERR_SIPINFO_DIALOG", `dialog ended (${why})`);
    for (const w of [...this.#waiters.values()]) if (w.callId === d.callId) w.reject(ended);
  }
}
