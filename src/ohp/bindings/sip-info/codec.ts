/**
 * The `ohp/sip-info` body codec (§7.1, D07; decisions #45): an envelope ⇄ the body of one or
 * more SIP INFO requests.
 *
 * - `application/ohp+cbor`: the envelope's canonical CBOR ({@link envelopeCbor}: RFC 8949
 *   §4.2.1, tag 0 around the eight RFC 3339 fields). Decoding is strict: canonical bytes only,
 *   tag 0 only where the envelope CBOR puts it, nothing outside the JSON data model.
 * - optional `Content-Encoding: deflate` = zlib (RFC 1950, the HTTP sense). Receivers also take
 *   raw DEFLATE (RFC 1951) and, per §7, an uncompressed body despite the header. Inflation is
 *   bounded: never more than `maxEnvelopeBytes` out, whatever the ratio (zip bombs).
 * - bodies over 1300 bytes travel as `multipart/ohp` chunks, one INFO each, parameters
 *   `;`-separated (`multipart/ohp;boundary=…;total-chunks=N;chunk=i`, i = 1..N); the upstream
 *   comma form `multipart/ohp; boundary=…, total-chunks=3, chunk=1` is accepted on input. Each
 *   chunk body is a one-part MIME multipart entity whose part headers carry the part's media
 *   type, its encoding and `OHP-Envelope-Id` (the reassembly key with the chunk index).
 */
import { randomBytes } from "node:crypto";
import { deflateSync, inflateRawSync, inflateSync } from "node:zlib";
import { CborError, decodeCanonical, toJsonModel } from "../../../cbor/index.js";
import { isJsonObject, type JsonObject } from "../../../json/types.js";
import { envelopeCbor } from "../../surface.js";
import { OHP_CBOR_MEDIA_TYPE } from "../types.js";
import { SipInfoError } from "./errors.js";

/** Media type of one chunk of a chunked envelope (§7.1). */
export const OHP_MULTIPART_MEDIA_TYPE = "multipart/ohp";
/** Per-INFO body limit ("common SBC default", §7.1): larger bodies are chunked. */
export const OHP_INFO_BODY_LIMIT = 1300;
/**
 * Default cap on an envelope's CBOR (after inflation and reassembly) and on any body. §7's
 * 8 KiB applies to the signing surface; a Regulated envelope with real ML-DSA-65 signatures is
 * larger on the wire, so the binding caps at the 32 KiB envelope limit (§4.5).
 */
export const DEFAULT_MAX_ENVELOPE_BYTES = 32 * 1024;
/** Default cap on `total-chunks`. */
export const DEFAULT_MAX_CHUNKS = 64;
/** Part header naming the envelope a chunk belongs to. */
export const OHP_ENVELOPE_ID_HEADER = "OHP-Envelope-Id";

/** The one content coding besides identity. */
export type OhpContentEncoding = "deflate";

/** Options for decoding an envelope body. */
export interface EnvelopeDecodeOptions {
  /** Cap on the CBOR bytes (after inflation), default {@link DEFAULT_MAX_ENVELOPE_BYTES}. */
  readonly maxEnvelopeBytes?: number;
  /**
   * Require the bytes to be exactly the envelope CBOR of the decoded envelope (tag 0 on the
   * RFC 3339 fields and nowhere else). Default true.
   */
  readonly strictTags?: boolean;
}

function limitOf(options: EnvelopeDecodeOptions | undefined): number {
  const max = options?.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "maxEnvelopeBytes must be a positive integer");
  return max;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The `application/ohp+cbor` body of an envelope (before any content coding).
 * @throws SipInfoError `ERR_SIPINFO_INVALID_ARGUMENT` when the value is not an object or holds
 *   something CBOR cannot carry (NaN, lone surrogates)
 */
export function encodeEnvelope(envelope: JsonObject): Uint8Array {
  try {
    return envelopeCbor(envelope);
  } catch (e) {
    throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `cannot encode the envelope as CBOR: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Decodes an `application/ohp+cbor` body strictly: canonical CBOR, a map at the top, tag 0 only
 * around text (and, with `strictTags`, only on the RFC 3339 fields), no other tag, no byte
 * strings, simple values or non-text keys.
 *
 * @throws SipInfoError `ERR_SIPINFO_TOO_LARGE`, `ERR_SIPINFO_CBOR` (cause: the CborError),
 *   `ERR_SIPINFO_NOT_ENVELOPE`, `ERR_SIPINFO_NOT_CANONICAL`
 */
export function decodeEnvelope(cbor: Uint8Array, options?: EnvelopeDecodeOptions): JsonObject {
  const max = limitOf(options);
  if (!(cbor instanceof Uint8Array)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "a CBOR body must be a Uint8Array");
  if (cbor.length > max) throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `envelope CBOR of ${cbor.length} bytes exceeds ${max}`);
  let json: unknown;
  try {
    json = toJsonModel(decodeCanonical(cbor));
  } catch (e) {
    if (e instanceof CborError && e.code === "ERR_CBOR_NOT_JSON") {
      throw new SipInfoError("ERR_SIPINFO_NOT_ENVELOPE", `not an OHP envelope: ${e.message}`, { cause: e });
    }
    const code = e instanceof CborError ? e.code : "unknown";
    throw new SipInfoError("ERR_SIPINFO_CBOR", `body is not canonical CBOR (${code}): ${(e as Error).message}`, { cause: e, detail: { cborCode: code } });
  }
  if (!isJsonObject(json)) throw new SipInfoError("ERR_SIPINFO_NOT_ENVELOPE", "an OHP envelope must be a CBOR map");
  if (options?.strictTags ?? true) {
    let again: Uint8Array;
    try {
      again = envelopeCbor(json);
    } catch (e) {
      throw new SipInfoError("ERR_SIPINFO_NOT_ENVELOPE", `not an OHP envelope: ${(e as Error).message}`, { cause: e });
    }
    if (!bytesEqual(again, cbor)) {
      throw new SipInfoError("ERR_SIPINFO_NOT_CANONICAL", "tag 0 is missing from an RFC 3339 field or present on another member");
    }
  }
  return json;
}

/** zlib (RFC 1950) compression of a body: `Content-Encoding: deflate`. */
export function deflateBody(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(deflateSync(bytes));
}

type Inflated = { ok: true; bytes: Uint8Array } | { ok: false; error: unknown };

function tryInflate(raw: boolean, body: Uint8Array, max: number): Inflated {
  try {
    const out = raw ? inflateRawSync(body, { maxOutputLength: max }) : inflateSync(body, { maxOutputLength: max });
    return { ok: true, bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  } catch (e) {
    if (e instanceof RangeError || (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `deflate body inflates beyond ${max} bytes`, { cause: e });
    }
    return { ok: false, error: e };
  }
}

/**
 * Inflates a `Content-Encoding: deflate` body: zlib first, raw DEFLATE second; never more than
 * `maxBytes` out (checked while inflating, so a zip bomb stops at the cap).
 *
 * @throws SipInfoError `ERR_SIPINFO_TOO_LARGE`, `ERR_SIPINFO_INFLATE`
 */
export function inflateBody(body: Uint8Array, maxBytes: number = DEFAULT_MAX_ENVELOPE_BYTES): Uint8Array {
  const zlib = tryInflate(false, body, maxBytes);
  if (zlib.ok) return zlib.bytes;
  const raw = tryInflate(true, body, maxBytes);
  if (raw.ok) return raw.bytes;
  throw new SipInfoError("ERR_SIPINFO_INFLATE", "body is neither zlib nor raw DEFLATE", { cause: zlib.error });
}

/**
 * Reads a `Content-Encoding` header: absent or `identity` → undefined, `deflate` → "deflate".
 * @throws SipInfoError `ERR_SIPINFO_ENCODING` for anything else (answer 415 with Accept-Encoding)
 */
export function parseContentEncoding(value: string | undefined): OhpContentEncoding | undefined {
  if (value === undefined) return undefined;
  const codings = value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return undefined;
  if (codings.length === 1 && codings[0] === "deflate") return "deflate";
  throw new SipInfoError("ERR_SIPINFO_ENCODING", `unsupported Content-Encoding: ${JSON.stringify(value.slice(0, 60))}`);
}

/** A decoded envelope and the size of its CBOR (for `InboundMeta.byteLength`). */
export interface DecodedBody {
  readonly envelope: JsonObject;
  readonly cborLength: number;
}

/**
 * Decodes the payload of an `application/ohp+cbor` body (or a reassembled chunk set) with its
 * content coding. With `deflate`: zlib, then raw DEFLATE, then (§7: receivers tolerate
 * uncompressed bodies) the bytes as they are.
 *
 * @throws SipInfoError as {@link decodeEnvelope} and {@link inflateBody}
 */
export function decodeOhpBody(body: Uint8Array, encoding: OhpContentEncoding | undefined, options?: EnvelopeDecodeOptions): DecodedBody {
  const max = limitOf(options);
  if (body.length > max) throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `body of ${body.length} bytes exceeds ${max}`);
  if (encoding === undefined) return { envelope: decodeEnvelope(body, options), cborLength: body.length };
  const zlib = tryInflate(false, body, max);
  if (zlib.ok) return { envelope: decodeEnvelope(zlib.bytes, options), cborLength: zlib.bytes.length };
  const raw = tryInflate(true, body, max);
  if (raw.ok) {
    try {
      return { envelope: decodeEnvelope(raw.bytes, options), cborLength: raw.bytes.length };
    } catch {
      // fall through: maybe the body was never compressed
    }
  }
  try {
    return { envelope: decodeEnvelope(body, options), cborLength: body.length };
  } catch {
    throw new SipInfoError("ERR_SIPINFO_INFLATE", "Content-Encoding: deflate, but the body is neither zlib, raw DEFLATE nor plain CBOR", {
      cause: zlib.error,
    });
  }
}

/** The parameters of a `multipart/ohp` chunk's Content-Type. */
export interface ChunkParams {
  readonly boundary: string;
  /** N, the number of chunks in the set. */
  readonly total: number;
  /** i, this chunk's position, 1..N. */
  readonly index: number;
}

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;

/** Splits a media type's parameters at `;` or `,` outside double quotes. */
function splitParams(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === "\\" && i + 1 < text.length) cur += text[++i];
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ";" || ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quoted) throw new SipInfoError("ERR_SIPINFO_CHUNK", "unterminated quoted string in Content-Type");
  out.push(cur);
  return out;
}

/** The lower-cased `type/subtype` of a Content-Type value. */
export function mediaTypeOf(contentType: string): string {
  return (contentType.split(/[;,]/, 1)[0] as string).trim().toLowerCase();
}

/**
 * Parses `multipart/ohp;boundary=…;total-chunks=N;chunk=i` — and the upstream comma form
 * `multipart/ohp; boundary=…, total-chunks=N, chunk=i`.
 *
 * @throws SipInfoError `ERR_SIPINFO_MEDIA_TYPE` for another media type, `ERR_SIPINFO_CHUNK` for
 *   missing, repeated or out-of-range parameters (i outside 1..N, N above `maxChunks`)
 */
export function parseChunkContentType(contentType: string, maxChunks: number = DEFAULT_MAX_CHUNKS): ChunkParams {
  if (mediaTypeOf(contentType) !== OHP_MULTIPART_MEDIA_TYPE) {
    throw new SipInfoError("ERR_SIPINFO_MEDIA_TYPE", `not ${OHP_MULTIPART_MEDIA_TYPE}: ${JSON.stringify(contentType.slice(0, 60))}`);
  }
  const params = new Map<string, string>();
  for (const part of splitParams(contentType).slice(1)) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq <= 0) throw new SipInfoError("ERR_SIPINFO_CHUNK", `bad Content-Type parameter: ${JSON.stringify(p.slice(0, 40))}`);
    const name = p.slice(0, eq).trim().toLowerCase();
    if (params.has(name)) throw new SipInfoError("ERR_SIPINFO_CHUNK", `repeated Content-Type parameter ${name}`);
    params.set(name, p.slice(eq + 1).trim());
  }
  const boundary = params.get("boundary");
  if (boundary === undefined || !BOUNDARY.test(boundary) || boundary.endsWith(" ")) {
    throw new SipInfoError("ERR_SIPINFO_CHUNK", "multipart/ohp needs a valid boundary parameter");
  }
  const num = (name: string): number => {
    const v = params.get(name);
    if (v === undefined || !/^[0-9]{1,6}$/.test(v)) throw new SipInfoError("ERR_SIPINFO_CHUNK", `multipart/ohp needs a numeric ${name} parameter`);
    return Number(v);
  };
  const total = num("total-chunks");
  const index = num("chunk");
  if (total < 1 || total > maxChunks) throw new SipInfoError("ERR_SIPINFO_CHUNK", `total-chunks=${total} outside 1..${maxChunks}`);
  if (index < 1 || index > total) throw new SipInfoError("ERR_SIPINFO_CHUNK", `chunk=${index} outside 1..${total}`);
  return { boundary, total, index };
}

/** The `;`-separated Content-Type agentwire emits for a chunk. */
export function formatChunkContentType(params: ChunkParams): string {
  return `${OHP_MULTIPART_MEDIA_TYPE};boundary=${params.boundary};total-chunks=${params.total};chunk=${params.index}`;
}

/** One chunk's MIME part, decoded. */
export interface ChunkPart {
  readonly envelopeId: string;
  readonly contentEncoding: OhpContentEncoding | undefined;
  readonly data: Uint8Array;
}

const ascii = new TextDecoder("latin1");
const enc = new TextEncoder();
const ENVELOPE_ID = /^[\x21-\x7e]{1,256}$/;

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Reads a chunk body: `--B CRLF part-headers CRLF CRLF data CRLF --B-- [CRLF]`. The data is
 * everything between the part headers and the closing delimiter at the end of the body.
 *
 * @throws SipInfoError `ERR_SIPINFO_CHUNK` for bad framing or a missing `OHP-Envelope-Id`,
 *   `ERR_SIPINFO_MEDIA_TYPE` / `ERR_SIPINFO_ENCODING` for a part that is not (deflated) OHP CBOR
 */
export function parseChunkBody(body: Uint8Array, boundary: string): ChunkPart {
  const open = enc.encode(`--${boundary}\r\n`);
  if (!bytesEqual(body.subarray(0, open.length), open)) throw new SipInfoError("ERR_SIPINFO_CHUNK", "chunk body does not start with its boundary");
  let end = body.length;
  if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
  const close = enc.encode(`\r\n--${boundary}--`);
  if (end < open.length + close.length || !bytesEqual(body.subarray(end - close.length, end), close)) {
    throw new SipInfoError("ERR_SIPINFO_CHUNK", "chunk body does not end with its closing boundary");
  }
  const headEnd = indexOfBytes(body, enc.encode("\r\n\r\n"), open.length - 2);
  if (headEnd < 0 || headEnd + 4 > end - close.length) throw new SipInfoError("ERR_SIPINFO_CHUNK", "chunk part has no header section");
  const headText = ascii.decode(body.subarray(open.length, headEnd));
  let contentType: string | undefined;
  let contentEncoding: string | undefined;
  let envelopeId: string | undefined;
  for (const line of headText === "" ? [] : headText.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new SipInfoError("ERR_SIPINFO_CHUNK", "bad chunk part header");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-type") contentType = value;
    else if (name === "content-encoding") contentEncoding = value;
    else if (name === OHP_ENVELOPE_ID_HEADER.toLowerCase()) envelopeId = value;
  }
  if (contentType !== undefined && mediaTypeOf(contentType) !== OHP_CBOR_MEDIA_TYPE) {
    throw new SipInfoError("ERR_SIPINFO_MEDIA_TYPE", `chunk part is ${JSON.stringify(contentType.slice(0, 60))}, not ${OHP_CBOR_MEDIA_TYPE}`);
  }
  if (envelopeId === undefined || !ENVELOPE_ID.test(envelopeId)) throw new SipInfoError("ERR_SIPINFO_CHUNK", `chunk part lacks a valid ${OHP_ENVELOPE_ID_HEADER}`);
  return { envelopeId, contentEncoding: parseContentEncoding(contentEncoding), data: body.slice(headEnd + 4, end - close.length) };
}

/** One INFO body ready to send, with the Content-Type / Content-Encoding headers it needs. */
export interface OhpInfoBody {
  readonly contentType: string;
  /** `deflate` on a single body; chunks carry their coding inside the part. */
  readonly contentEncoding: OhpContentEncoding | undefined;
  readonly body: Uint8Array;
}

/** Options for {@link encodeOhpInfoBodies}. */
export interface EncodeInfoOptions {
  /** zlib-compress the CBOR (`Content-Encoding: deflate`). Default false. */
  readonly deflate?: boolean;
  /** Largest INFO body before chunking, default {@link OHP_INFO_BODY_LIMIT}. */
  readonly maxBodyBytes?: number;
  /** Cap on the envelope CBOR, default {@link DEFAULT_MAX_ENVELOPE_BYTES}. */
  readonly maxEnvelopeBytes?: number;
  /** Cap on the number of chunks, default {@link DEFAULT_MAX_CHUNKS}. */
  readonly maxChunks?: number;
  /** Boundary source (tests); default `ohp-chunk-` + 16 random hex digits. */
  readonly boundary?: () => string;
}

/**
 * The INFO bodies for one envelope: one `application/ohp+cbor` body when it fits in
 * `maxBodyBytes`, otherwise N `multipart/ohp` chunks, each body at most `maxBodyBytes`.
 *
 * @throws SipInfoError `ERR_SIPINFO_INVALID_ARGUMENT` (not encodable; chunking needs a printable
 *   string `id`), `ERR_SIPINFO_TOO_LARGE` (CBOR over the cap, or more chunks than allowed)
 */
export function encodeOhpInfoBodies(envelope: JsonObject, options: EncodeInfoOptions = {}): OhpInfoBody[] {
  const maxBody = options.maxBodyBytes ?? OHP_INFO_BODY_LIMIT;
  const maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
  const max = limitOf(options);
  if (!Number.isSafeInteger(maxBody) || maxBody < 256) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "maxBodyBytes must be an integer ≥ 256");
  const cbor = encodeEnvelope(envelope);
  if (cbor.length > max) throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `envelope CBOR of ${cbor.length} bytes exceeds ${max}`);
  const coding: OhpContentEncoding | undefined = options.deflate === true ? "deflate" : undefined;
  const data = coding === "deflate" ? deflateBody(cbor) : cbor;
  if (data.length <= maxBody) return [{ contentType: OHP_CBOR_MEDIA_TYPE, contentEncoding: coding, body: data }];

  const id = envelope["id"];
  if (typeof id !== "string" || !ENVELOPE_ID.test(id)) {
    throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "chunking needs the envelope's id: a printable ASCII string without spaces");
  }
  const makeBoundary = options.boundary ?? (() => `ohp-chunk-${randomBytes(8).toString("hex")}`);
  for (let attempt = 0; attempt < 8; attempt++) {
    const boundary = makeBoundary();
    if (!BOUNDARY.test(boundary)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "bad multipart boundary");
    if (indexOfBytes(data, enc.encode(`--${boundary}`)) >= 0) continue; // MIME: the boundary must not occur in the data
    const head = enc.encode(
      `--${boundary}\r\nContent-Type: ${OHP_CBOR_MEDIA_TYPE}\r\n${coding === undefined ? "" : `Content-Encoding: ${coding}\r\n`}${OHP_ENVELOPE_ID_HEADER}: ${id}\r\n\r\n`,
    );
    const tail = enc.encode(`\r\n--${boundary}--\r\n`);
    const slice = maxBody - head.length - tail.length;
    if (slice < 64) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "maxBodyBytes leaves no room for chunk data");
    const total = Math.ceil(data.length / slice);
    if (total > maxChunks) throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `envelope needs ${total} chunks; at most ${maxChunks} allowed`);
    const out: OhpInfoBody[] = [];
    for (let i = 0; i < total; i++) {
      const part = data.subarray(i * slice, Math.min(data.length, (i + 1) * slice));
      const body = new Uint8Array(head.length + part.length + tail.length);
      body.set(head, 0);
      body.set(part, head.length);
      body.set(tail, head.length + part.length);
      out.push({ contentType: formatChunkContentType({ boundary, total, index: i + 1 }), contentEncoding: undefined, body });
    }
    return out;
  }
  throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "no boundary found that does not occur in the data");
}

/** One received chunk, as the reassembler sees it. */
export interface ReceivedChunk extends ChunkParams, ChunkPart {
  /** Scope of the set (the dialog's Call-ID): sets never mix across scopes. */
  readonly scope: string;
}

/** What {@link ChunkReassembler.add} reports. */
export type ReassemblyResult =
  | { readonly status: "pending"; readonly received: number; readonly total: number }
  /** The set is complete: the data in chunk order, and its content coding. */
  | { readonly status: "complete"; readonly data: Uint8Array; readonly contentEncoding: OhpContentEncoding | undefined; readonly envelopeId: string };

/** Limits of a {@link ChunkReassembler}. */
export interface ChunkReassemblerOptions {
  /** Incomplete sets kept at once; the oldest is evicted beyond it (default 64). */
  readonly maxPendingSets?: number;
  /** An incomplete set expires this long after its last new chunk (default 32 000 ms = 64·T1). */
  readonly ttlMs?: number;
  /** Cap on a set's total data (default {@link DEFAULT_MAX_ENVELOPE_BYTES}). */
  readonly maxEnvelopeBytes?: number;
  /** Cap on `total-chunks` (default {@link DEFAULT_MAX_CHUNKS}). */
  readonly maxChunks?: number;
  /** Clock in ms (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

interface PendingSet {
  readonly scope: string;
  readonly total: number;
  readonly contentEncoding: OhpContentEncoding | undefined;
  readonly envelopeId: string;
  readonly parts: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
  touched: number;
}

/**
 * Reassembles `multipart/ohp` chunk sets keyed by scope (Call-ID) + envelope id + boundary, in
 * any arrival order. Memory is bounded: at most `maxPendingSets` sets of at most
 * `maxEnvelopeBytes` each; idle sets expire after `ttlMs`.
 */
export class ChunkReassembler {
  readonly #sets = new Map<string, PendingSet>();
  readonly #maxSets: number;
  readonly #ttl: number;
  readonly #maxBytes: number;
  readonly #maxChunks: number;
  readonly #now: () => number;

  constructor(options: ChunkReassemblerOptions = {}) {
    this.#maxSets = options.maxPendingSets ?? 64;
    this.#ttl = options.ttlMs ?? 32_000;
    this.#maxBytes = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    this.#maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
    this.#now = options.now ?? Date.now;
    for (const [name, v] of [
      ["maxPendingSets", this.#maxSets],
      ["ttlMs", this.#ttl],
      ["maxEnvelopeBytes", this.#maxBytes],
      ["maxChunks", this.#maxChunks],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `${name} must be a positive integer`);
    }
  }

  /** Incomplete sets currently held. */
  get pendingSets(): number {
    return this.#sets.size;
  }

  /**
   * Adds one chunk. A repeated chunk with the same bytes is absorbed; a chunk that contradicts
   * its set (other total, coding or bytes) drops the whole set.
   *
   * @throws SipInfoError `ERR_SIPINFO_CHUNK`, `ERR_SIPINFO_TOO_LARGE`
   */
  add(chunk: ReceivedChunk): ReassemblyResult {
    this.sweep();
    if (chunk.total > this.#maxChunks) throw new SipInfoError("ERR_SIPINFO_CHUNK", `total-chunks=${chunk.total} above ${this.#maxChunks}`);
    if (chunk.index < 1 || chunk.index > chunk.total) throw new SipInfoError("ERR_SIPINFO_CHUNK", `chunk=${chunk.index} outside 1..${chunk.total}`);
    const key = `${chunk.scope}\n${chunk.envelopeId}\n${chunk.boundary}`;
    let set = this.#sets.get(key);
    if (set === undefined) {
      while (this.#sets.size >= this.#maxSets) this.#sets.delete(this.#sets.keys().next().value as string);
      set = {
        scope: chunk.scope,
        total: chunk.total,
        contentEncoding: chunk.contentEncoding,
        envelopeId: chunk.envelopeId,
        parts: new Array<Uint8Array | undefined>(chunk.total).fill(undefined),
        received: 0,
        bytes: 0,
        touched: this.#now(),
      };
      this.#sets.set(key, set);
    }
    if (set.total !== chunk.total || set.contentEncoding !== chunk.contentEncoding) {
      this.#sets.delete(key);
      throw new SipInfoError("ERR_SIPINFO_CHUNK", "chunk disagrees with its set on total-chunks or Content-Encoding");
    }
    const have = set.parts[chunk.index - 1];
    if (have !== undefined) {
      if (bytesEqual(have, chunk.data)) return { status: "pending", received: set.received, total: set.total };
      this.#sets.delete(key);
      throw new SipInfoError("ERR_SIPINFO_CHUNK", `chunk ${chunk.index} arrived twice with different bytes`);
    }
    if (set.bytes + chunk.data.length > this.#maxBytes) {
      this.#sets.delete(key);
      throw new SipInfoError("ERR_SIPINFO_TOO_LARGE", `chunk set exceeds ${this.#maxBytes} bytes`);
    }
    set.parts[chunk.index - 1] = chunk.data;
    set.received++;
    set.bytes += chunk.data.length;
    set.touched = this.#now();
    // Refresh the set's position so eviction takes the least recently active one.
    this.#sets.delete(key);
    if (set.received < set.total) {
      this.#sets.set(key, set);
      return { status: "pending", received: set.received, total: set.total };
    }
    const data = new Uint8Array(set.bytes);
    let at = 0;
    for (const p of set.parts) {
      data.set(p as Uint8Array, at);
      at += (p as Uint8Array).length;
    }
    return { status: "complete", data, contentEncoding: set.contentEncoding, envelopeId: set.envelopeId };
  }

  /** Drops expired sets; returns how many. */
  sweep(): number {
    const now = this.#now();
    let n = 0;
    for (const [key, set] of this.#sets) {
      if (now - set.touched >= this.#ttl) {
        this.#sets.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Drops every set of one scope (the dialog ended). */
  dropScope(scope: string): void {
    for (const [key, set] of this.#sets) if (set.scope === scope) this.#sets.delete(key);
  }

  /** Drops everything. */
  clear(): void {
    this.#sets.clear();
  }
}
