/**
 * A minimal SIP/2.0 message parser and serializer (RFC 3261 §7, §18.3, §25), just enough for the
 * `ohp/sip-info` endpoint: request and status lines, headers (compact forms, folding), a
 * `Content-Length`-delimited binary body. Every input is untrusted: the parser never throws
 * anything but a {@link SipInfoError} and bounds sizes and header counts.
 */
import { SipInfoError } from "./errors.js";

/** The only protocol version spoken. */
export const SIP_VERSION = "SIP/2.0";
/** Default cap on one SIP message (the largest UDP payload). */
export const DEFAULT_MAX_MESSAGE_BYTES = 65_535;
/** Default cap on header fields per message. */
export const DEFAULT_MAX_HEADERS = 128;

/** RFC 3261 §7.3.3 compact forms (plus the RFC 3515 / 3892 / 4028 / 3841 ones), lower case → long name. */
const COMPACT: Readonly<Record<string, string>> = {
  a: "Accept-Contact",
  b: "Referred-By",
  c: "Content-Type",
  d: "Request-Disposition",
  e: "Content-Encoding",
  f: "From",
  i: "Call-ID",
  j: "Reject-Contact",
  k: "Supported",
  l: "Content-Length",
  m: "Contact",
  o: "Event",
  r: "Refer-To",
  s: "Subject",
  t: "To",
  u: "Allow-Events",
  v: "Via",
  x: "Session-Expires",
  y: "Identity",
};

/** Canonical spelling of headers agentwire reads or writes; others keep the sender's spelling. */
const CANONICAL: ReadonlyMap<string, string> = new Map(
  [
    "Accept",
    "Accept-Encoding",
    "Allow",
    "Call-ID",
    "Contact",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "From",
    "Info-Package",
    "Max-Forwards",
    "OHP-Tier",
    "OHP-Verb",
    "OHP-Version",
    "Recv-Info",
    "Server",
    "Supported",
    "To",
    "User-Agent",
    "Via",
    ...Object.values(COMPACT),
  ].map((n) => [n.toLowerCase(), n]),
);

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/** Long, canonical form of a header name: `i` → `Call-ID`, `content-length` → `Content-Length`. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  const long = COMPACT[lower] ?? name;
  return CANONICAL.get(long.toLowerCase()) ?? long;
}

/** An ordered, case-insensitive header list (names stored in their long, canonical form). */
export class SipHeaders {
  readonly #list: [string, string][] = [];

  constructor(entries?: Iterable<readonly [string, string]>) {
    if (entries !== undefined) for (const [n, v] of entries) this.append(n, v);
  }

  /** The first value of `name` (compact or long form, any case). */
  get(name: string): string | undefined {
    const key = canonicalHeaderName(name).toLowerCase();
    return this.#list.find(([n]) => n.toLowerCase() === key)?.[1];
  }

  /** Every value of `name`, in message order. */
  getAll(name: string): string[] {
    const key = canonicalHeaderName(name).toLowerCase();
    return this.#list.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Adds a field at the end.
   * @throws SipInfoError `ERR_SIPINFO_INVALID_ARGUMENT` for a name that is not a token or a
   *   value holding CR, LF or NUL (header injection)
   */
  append(name: string, value: string): this {
    if (!TOKEN.test(name)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `not a header name: ${JSON.stringify(name)}`);
    if (/[\r\n\0]/.test(value)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", `header ${name} value holds CR, LF or NUL`);
    this.#list.push([canonicalHeaderName(name), value]);
    return this;
  }

  /** Replaces every field named `name` with one field (at the first one's position). */
  set(name: string, value: string): this {
    const key = canonicalHeaderName(name).toLowerCase();
    const at = this.#list.findIndex(([n]) => n.toLowerCase() === key);
    this.delete(name);
    this.append(name, value);
    if (at >= 0 && at < this.#list.length - 1) this.#list.splice(at, 0, this.#list.pop() as [string, string]);
    return this;
  }

  delete(name: string): this {
    const key = canonicalHeaderName(name).toLowerCase();
    for (let i = this.#list.length - 1; i >= 0; i--) if ((this.#list[i] as [string, string])[0].toLowerCase() === key) this.#list.splice(i, 1);
    return this;
  }

  /** A copy of the fields as `[name, value]` pairs. */
  entries(): [string, string][] {
    return this.#list.map(([n, v]) => [n, v]);
  }

  get size(): number {
    return this.#list.length;
  }
}

/** A SIP request. */
export interface SipRequest {
  readonly kind: "request";
  readonly method: string;
  readonly uri: string;
  readonly headers: SipHeaders;
  readonly body: Uint8Array;
}

/** A SIP response. */
export interface SipResponse {
  readonly kind: "response";
  readonly status: number;
  readonly reason: string;
  readonly headers: SipHeaders;
  readonly body: Uint8Array;
}

export type SipMessage = SipRequest | SipResponse;

/** Limits for {@link parseSipMessage}. */
export interface SipParseOptions {
  /** Largest message accepted (default {@link DEFAULT_MAX_MESSAGE_BYTES}). */
  readonly maxMessageBytes?: number;
  /** Most header fields accepted (default {@link DEFAULT_MAX_HEADERS}). */
  readonly maxHeaders?: number;
}

/** The start line and headers of a message, before any body or Content-Length check. */
export interface SipHead {
  readonly start: { readonly kind: "request"; readonly method: string; readonly uri: string } | { readonly kind: "response"; readonly status: number; readonly reason: string };
  readonly headers: SipHeaders;
  /** Offset of the first body byte. */
  readonly bodyOffset: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function malformed(message: string): never {
  throw new SipInfoError("ERR_SIP_MALFORMED", message);
}

/** End of the header section: index of the empty line's terminator and where the body starts. */
function findHeadEnd(bytes: Uint8Array): { headEnd: number; bodyOffset: number } | undefined {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    // "\n\n" or "\n\r\n" ends the head (the first "\n" ends the last header line).
    if (bytes[i + 1] === 0x0a) return { headEnd: i, bodyOffset: i + 2 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { headEnd: i, bodyOffset: i + 3 };
  }
  return undefined;
}

/**
 * Parses the start line and headers (RFC 3261 §7.1, §7.2, §7.3): tolerant of bare LF line ends,
 * unfolds continuation lines, expands compact header names, rejects control characters.
 *
 * @throws SipInfoError `ERR_SIP_MALFORMED`, `ERR_SIP_TOO_LARGE`
 */
export function parseSipHead(bytes: Uint8Array, options: SipParseOptions = {}): SipHead {
  if (!(bytes instanceof Uint8Array)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "a SIP message must be a Uint8Array");
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  if (bytes.length > maxBytes) throw new SipInfoError("ERR_SIP_TOO_LARGE", `message of ${bytes.length} bytes exceeds ${maxBytes}`);
  // RFC 3261 §7.5: implementations should ignore CRLFs before the start line (keep-alives).
  let from = 0;
  while (from < bytes.length && (bytes[from] === 0x0d || bytes[from] === 0x0a)) from++;
  const rest = bytes.subarray(from);
  const end = findHeadEnd(rest);
  if (end === undefined) malformed("no empty line ends the header section");
  let text: string;
  try {
    text = utf8.decode(rest.subarray(0, end.headEnd));
  } catch {
    malformed("the header section is not UTF-8");
  }
  const lines = text.replace(/\r$/, "").split(/\r?\n/);
  if (lines.some((l) => /[\0-\x08\x0a-\x1f\x7f]/.test(l))) malformed("control character in the header section");
  const startLine = lines.shift() as string;

  let start: SipHead["start"];
  if (startLine.startsWith("SIP/")) {
    const m = /^SIP\/2\.0 ([1-6][0-9]{2})(?: (.*))?$/i.exec(startLine);
    if (m === null) malformed(`bad status line: ${JSON.stringify(startLine.slice(0, 80))}`);
    start = { kind: "response", status: Number(m[1]), reason: m[2] ?? "" };
  } else {
    const m = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+:\S+) SIP\/2\.0$/i.exec(startLine);
    if (m === null) malformed(`bad request line: ${JSON.stringify(startLine.slice(0, 80))}`);
    start = { kind: "request", method: m[1] as string, uri: m[2] as string };
  }

  // Unfold (RFC 3261 §7.3.1: a line starting with SP/HT continues the previous one).
  const fields: string[] = [];
  for (const line of lines) {
    if (line === "") malformed("empty line inside the header section");
    if (line[0] === " " || line[0] === "\t") {
      if (fields.length === 0) malformed("continuation line before the first header");
      fields[fields.length - 1] += ` ${line.trim()}`;
    } else {
      fields.push(line);
    }
    if (fields.length > maxHeaders) throw new SipInfoError("ERR_SIP_TOO_LARGE", `more than ${maxHeaders} header fields`);
  }
  const headers = new SipHeaders();
  for (const field of fields) {
    const colon = field.indexOf(":");
    if (colon <= 0) malformed(`header line without a name: ${JSON.stringify(field.slice(0, 80))}`);
    const name = field.slice(0, colon).trimEnd();
    if (!TOKEN.test(name)) malformed(`bad header name: ${JSON.stringify(name.slice(0, 80))}`);
    headers.append(name, field.slice(colon + 1).trim());
  }
  return { start, headers, bodyOffset: from + end.bodyOffset };
}

/**
 * Parses one SIP message from a datagram. The body is `Content-Length` bytes after the empty
 * line (the rest of the datagram when the header is absent, RFC 3261 §18.3); extra bytes are
 * discarded, too few are an error.
 *
 * @throws SipInfoError `ERR_SIP_MALFORMED`, `ERR_SIP_TOO_LARGE`, `ERR_SIP_CONTENT_LENGTH`
 */
export function parseSipMessage(bytes: Uint8Array, options: SipParseOptions = {}): SipMessage {
  const head = parseSipHead(bytes, options);
  let body = bytes.subarray(head.bodyOffset);
  const lengths = head.headers.getAll("Content-Length");
  if (lengths.length > 1 && new Set(lengths).size > 1) malformed("conflicting Content-Length headers");
  const cl = lengths[0];
  if (cl !== undefined) {
    if (!/^[0-9]{1,10}$/.test(cl)) malformed(`bad Content-Length: ${JSON.stringify(cl.slice(0, 40))}`);
    const n = Number(cl);
    if (n > body.length) {
      throw new SipInfoError("ERR_SIP_CONTENT_LENGTH", `Content-Length ${n} exceeds the ${body.length} body bytes received`);
    }
    body = body.subarray(0, n);
  }
  const copy = new Uint8Array(body); // detach from the datagram buffer
  return head.start.kind === "request"
    ? { kind: "request", method: head.start.method, uri: head.start.uri, headers: head.headers, body: copy }
    : { kind: "response", status: head.start.status, reason: head.start.reason, headers: head.headers, body: copy };
}

/**
 * Serializes a message with CRLF line ends; `Content-Length` is always (re)written last to the
 * body's length.
 *
 * @throws SipInfoError `ERR_SIPINFO_INVALID_ARGUMENT` for a bad method, URI, status or reason
 */
export function serializeSipMessage(message: SipMessage): Uint8Array {
  let start: string;
  if (message.kind === "request") {
    if (!TOKEN.test(message.method)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "bad SIP method");
    if (!/^\S+:\S+$/.test(message.uri)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "bad Request-URI");
    start = `${message.method} ${message.uri} ${SIP_VERSION}`;
  } else {
    if (!Number.isInteger(message.status) || message.status < 100 || message.status > 699) {
      throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "bad SIP status code");
    }
    if (/[\r\n\0]/.test(message.reason)) throw new SipInfoError("ERR_SIPINFO_INVALID_ARGUMENT", "bad reason phrase");
    start = `${SIP_VERSION} ${message.status} ${message.reason}`;
  }
  const lines = [start];
  for (const [name, value] of message.headers.entries()) if (name !== "Content-Length") lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${message.body.length}`, "", "");
  const head = utf8Encoder.encode(lines.join("\r\n"));
  const out = new Uint8Array(head.length + message.body.length);
  out.set(head, 0);
  out.set(message.body, head.length);
  return out;
}

/** Splits at `sep` outside double quotes and angle brackets. */
function splitOutside(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      cur += ch;
      if (ch === "\\" && i + 1 < text.length) cur += text[++i];
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
      cur += ch;
    } else if (ch === "<") {
      angle = true;
      cur += ch;
    } else if (ch === ">") {
      angle = false;
      cur += ch;
    } else if (ch === sep && !angle) {
      out.push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v;
}

/** Parses `;`-separated `name[=value]` parameters (names lower-cased, quotes removed). */
export function parseParams(parts: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of parts) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name !== "" && !params.has(name)) params.set(name, eq < 0 ? "" : unquote(p.slice(eq + 1).trim()));
  }
  return params;
}

/** A header value split into its main part and `;` parameters (`value;a=b;c`). */
export function parseHeaderValue(value: string): { value: string; params: Map<string, string> } {
  const [main, ...rest] = splitOutside(value, ";");
  return { value: (main as string).trim(), params: parseParams(rest) };
}

/**
 * A From / To / Contact value: `"Name" <uri>;params` or `uri;params` (RFC 3261 §20.10: without
 * angle brackets, the `;` parameters are header parameters).
 */
export function parseNameAddr(value: string): { uri: string; params: Map<string, string> } {
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    if (gt < 0) throw new SipInfoError("ERR_SIP_MALFORMED", "name-addr without a closing '>'");
    return { uri: value.slice(lt + 1, gt).trim(), params: parseParams(splitOutside(value.slice(gt + 1), ";")) };
  }
  const { value: uri, params } = parseHeaderValue(value);
  return { uri, params };
}

/** `CSeq: 4711 INFO` (RFC 3261 §20.16). */
export function parseCSeq(value: string): { seq: number; method: string } {
  const m = /^([0-9]{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/.exec(value.trim());
  if (m === null || Number(m[1]) > 0x7fffffff) throw new SipInfoError("ERR_SIP_MALFORMED", `bad CSeq: ${JSON.stringify(value.slice(0, 40))}`);
  return { seq: Number(m[1]), method: (m[2] as string).toUpperCase() };
}

/** The first (topmost) Via value of a header list: `SIP/2.0/UDP host:port;branch=…`. */
export function parseVia(value: string): { transport: string; host: string; port: number | undefined; params: Map<string, string> } {
  const first = splitOutside(value, ",")[0] as string;
  const { value: main, params } = parseHeaderValue(first);
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s:;]+)(?::([0-9]{1,5}))?$/.exec(main);
  if (m === null) throw new SipInfoError("ERR_SIP_MALFORMED", `bad Via: ${JSON.stringify(main.slice(0, 80))}`);
  return { transport: (m[1] as string).toUpperCase(), host: m[2] as string, port: m[3] === undefined ? undefined : Number(m[3]), params };
}

/** `sip:user@host:port;params` → its parts (`sips:` too); only the pieces the endpoint needs. */
export function parseSipUri(uri: string): { scheme: "sip" | "sips"; user: string | undefined; host: string; port: number | undefined } {
  const m = /^(sips?):(?:([^@;?]+)@)?(\[[0-9A-Fa-f:.]+\]|[^\s:;?>]+)(?::([0-9]{1,5}))?(?:[;?].*)?$/i.exec(uri.trim());
  if (m === null) throw new SipInfoError("ERR_SIP_MALFORMED", `bad SIP URI: ${JSON.stringify(uri.slice(0, 80))}`);
  const port = m[4] === undefined ? undefined : Number(m[4]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new SipInfoError("ERR_SIP_MALFORMED", "SIP URI port out of range");
  return { scheme: (m[1] as string).toLowerCase() as "sip" | "sips", user: m[2], host: m[3] as string, port };
}
