/**
 * `ohp/ws` frames (OHP §7.2): every WebSocket message is one UTF-8 text frame holding one JSON
 * object whose `type` names the frame. OHP 0.1 defines `hello`, `envelope`, `ack`, `ping` and
 * `pong`; agentwire adds `error` (a structured refusal, see docs/ohp-ws.md).
 *
 * Parsing is strict: strict JSON (src/json/parse.ts: no duplicate members, no unsafe integers, no
 * lone surrogates), no binary frames, a size cap, and no members beyond the ones listed here.
 */
import { parseJsonStrict } from "../../../json/parse.js";
import { isJsonObject, type JsonObject } from "../../../json/types.js";
import { isTier, type Tier } from "../../tiers.js";
import { OHP_WIRE_VERSION } from "../types.js";
import { OhpWsError, type OhpWsErrorCode } from "./errors.js";

/** The `Sec-WebSocket-Protocol` token (agentwire choice; OHP 0.1 defines none, §12 item 44). */
export const OHP_WS_SUBPROTOCOL = "ohp.v0_1";
/** Default path of the WebSocket endpoint on the node's HTTP(S) server. */
export const OHP_WS_DEFAULT_PATH = "/ohp/v1/ws";
/** Largest envelope accepted: 32 KiB of JSON (§7 common rules). */
export const OHP_WS_MAX_ENVELOPE_BYTES = 32 * 1024;
/** Room for the frame wrapper around a maximal envelope (and for a `hello` with a large token). */
export const OHP_WS_FRAME_OVERHEAD_BYTES = 1024;
/** Largest frame parsed: {@link OHP_WS_MAX_ENVELOPE_BYTES} + {@link OHP_WS_FRAME_OVERHEAD_BYTES}. */
export const OHP_WS_MAX_FRAME_BYTES = OHP_WS_MAX_ENVELOPE_BYTES + OHP_WS_FRAME_OVERHEAD_BYTES;
/** Longest envelope `id` / ack `id` accepted (OHP ids are 30 characters). */
export const OHP_WS_MAX_ID_LENGTH = 256;

/** WebSocket close codes the binding uses (RFC 6455 §7.4; 4000–4999 are private). */
export const OHP_WS_CLOSE = {
  /** `close()` by either side. */
  normal: 1000,
  /** Server shutdown. */
  goingAway: 1001,
  /** `hello` with another `ohp` version. */
  protocolError: 1002,
  /** A binary frame. */
  unsupportedData: 1003,
  /** `hello` not first, hello timeout, authentication refused, too many bad frames. */
  policyViolation: 1008,
  /** A frame above the hard cap (closed by the `ws` library itself). */
  messageTooBig: 1009,
  /** Replaced by a newer connection of the same tenant pair. */
  replaced: 4000,
  /** The peer missed the allowed number of `pong`s. */
  heartbeatTimeout: 4001,
} as const;

/** Status of an `ack`: OHP 0.1 shows `accepted`; `duplicate` and `invalid` are agentwire's. */
export type OhpWsAckStatus = "accepted" | "duplicate" | "invalid";
const ACK_STATUSES: readonly string[] = ["accepted", "duplicate", "invalid"];

/** First frame in each direction: the client's, then the server's answer. */
export interface OhpWsHelloFrame {
  readonly type: "hello";
  readonly ohp: "0.1";
  /** Highest tier this side accepts. */
  readonly maxTier: Tier;
  /** Bindings this side supports (e.g. `["ohp/ws", "ohp/https"]`). */
  readonly bindings: readonly string[];
  /** The sender's tenant (agentwire addition; keys "one connection per tenant pair"). */
  readonly tenant?: string;
  /** DPoP-bound session token (client → server, Sealed+). */
  readonly sessionToken?: string;
}

/** One OHP envelope (any verb). */
export interface OhpWsEnvelopeFrame {
  readonly type: "envelope";
  readonly envelope: JsonObject;
}

/** Transport receipt for one envelope frame (not an ACCEPT: that travels as an envelope). */
export interface OhpWsAckFrame {
  readonly type: "ack";
  readonly id: string;
  readonly status: OhpWsAckStatus;
}

export interface OhpWsPingFrame {
  readonly type: "ping";
}

export interface OhpWsPongFrame {
  readonly type: "pong";
}

/**
 * agentwire addition: why a frame or a connection was refused. `code` is an
 * {@link OhpWsErrorCode} from agentwire peers (any string from others); `id` names the envelope
 * concerned, when there is one.
 */
export interface OhpWsErrorFrame {
  readonly type: "error";
  readonly code: string;
  readonly message: string;
  readonly id?: string;
}

export type OhpWsFrame = OhpWsHelloFrame | OhpWsEnvelopeFrame | OhpWsAckFrame | OhpWsPingFrame | OhpWsPongFrame | OhpWsErrorFrame;
export type OhpWsFrameType = OhpWsFrame["type"];

/** A parsed frame and its sizes. */
export interface ParsedOhpWsFrame {
  readonly frame: OhpWsFrame;
  /** Bytes of the whole frame. */
  readonly byteLength: number;
  /** For `envelope` frames: bytes of the envelope's JSON text exactly as it appeared in the frame. */
  readonly envelopeByteLength?: number;
}

export interface ParseOhpWsFrameOptions {
  /** The WebSocket opcode was binary (always refused). */
  readonly isBinary?: boolean;
  /** Size cap; default {@link OHP_WS_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Parses one received WebSocket message. Throws {@link OhpWsError} with code
 * `ERR_OHP_WS_FRAME_BINARY`, `ERR_OHP_WS_FRAME_TOO_LARGE`, `ERR_OHP_WS_FRAME_JSON`,
 * `ERR_OHP_WS_FRAME_TYPE`, `ERR_OHP_WS_FRAME_SHAPE` or `ERR_OHP_WS_VERSION`.
 */
export function parseOhpWsFrame(data: string | Uint8Array, options: ParseOhpWsFrameOptions = {}): ParsedOhpWsFrame {
  if (options.isBinary === true) throw new OhpWsError("ERR_OHP_WS_FRAME_BINARY", "ohp/ws carries text frames only");
  const maxFrameBytes = options.maxFrameBytes ?? OHP_WS_MAX_FRAME_BYTES;
  const byteLength = typeof data === "string" ? utf8ByteLength(data) : data.byteLength;
  if (byteLength > maxFrameBytes) {
    throw new OhpWsError("ERR_OHP_WS_FRAME_TOO_LARGE", `frame of ${byteLength} bytes exceeds ${maxFrameBytes}`, {
      detail: { byteLength, maxFrameBytes },
    });
  }
  let text: string;
  if (typeof data === "string") text = data;
  else {
    try {
      text = utf8.decode(data);
    } catch (cause) {
      throw new OhpWsError("ERR_OHP_WS_FRAME_JSON", "frame is not valid UTF-8", { cause });
    }
  }
  let value: unknown;
  try {
    value = parseJsonStrict(text);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new OhpWsError("ERR_OHP_WS_FRAME_JSON", `frame is not strict JSON: ${(cause as Error).message}`, {
      cause,
      detail: typeof code === "string" ? { jsonCode: code } : undefined,
    });
  }
  const frame = checkFrame(value);
  if (frame.type !== "envelope") return { frame, byteLength };
  const span = topLevelObjectMemberSpan(text, "envelope");
  const envelopeByteLength = span === undefined ? utf8ByteLength(JSON.stringify(frame.envelope)) : utf8ByteLength(text.slice(span[0], span[1]));
  return { frame, byteLength, envelopeByteLength };
}

/** Serialises a frame for `ws.send` (compact JSON). */
export function serializeOhpWsFrame(frame: OhpWsFrame): string {
  return JSON.stringify(frame);
}

/** Builds a `hello` frame, leaving out absent optional members. */
export function helloFrame(fields: {
  readonly maxTier: Tier;
  readonly bindings: readonly string[];
  readonly tenant?: string | undefined;
  readonly sessionToken?: string | undefined;
}): OhpWsHelloFrame {
  return {
    type: "hello",
    ohp: OHP_WIRE_VERSION,
    maxTier: fields.maxTier,
    bindings: [...fields.bindings],
    ...(fields.tenant === undefined ? {} : { tenant: fields.tenant }),
    ...(fields.sessionToken === undefined ? {} : { sessionToken: fields.sessionToken }),
  };
}

/** Builds an `error` frame. */
export function errorFrame(code: OhpWsErrorCode, message: string, id?: string): OhpWsErrorFrame {
  return id === undefined ? { type: "error", code, message } : { type: "error", code, message, id };
}

function shapeError(type: string, message: string): OhpWsError {
  return new OhpWsError("ERR_OHP_WS_FRAME_SHAPE", `${type} frame: ${message}`, { detail: { type } });
}

function onlyMembers(obj: JsonObject, type: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw shapeError(type, `unknown member ${JSON.stringify(key)}`);
  }
}

function requireString(obj: JsonObject, type: string, key: string, maxLength = Infinity): string {
  const v = obj[key];
  if (typeof v !== "string" || v.length === 0) throw shapeError(type, `${key} must be a non-empty string`);
  if (v.length > maxLength) throw shapeError(type, `${key} longer than ${maxLength} characters`);
  return v;
}

function optionalString(obj: JsonObject, type: string, key: string, maxLength = Infinity): string | undefined {
  return obj[key] === undefined ? undefined : requireString(obj, type, key, maxLength);
}

function checkFrame(value: unknown): OhpWsFrame {
  if (!isJsonObject(value)) throw new OhpWsError("ERR_OHP_WS_FRAME_SHAPE", "a frame is a JSON object");
  const type = value["type"];
  if (typeof type !== "string") throw new OhpWsError("ERR_OHP_WS_FRAME_TYPE", "frame has no string `type`");
  switch (type) {
    case "hello": {
      onlyMembers(value, type, ["type", "ohp", "maxTier", "bindings", "tenant", "sessionToken"]);
      const ohp = value["ohp"];
      if (typeof ohp !== "string") throw shapeError(type, "ohp must be a string");
      if (ohp !== OHP_WIRE_VERSION) {
        throw new OhpWsError("ERR_OHP_WS_VERSION", `hello for OHP ${JSON.stringify(ohp)}, this node speaks ${OHP_WIRE_VERSION}`, {
          detail: { ohp },
        });
      }
      const maxTier = value["maxTier"];
      if (!isTier(maxTier)) throw shapeError(type, "maxTier must be core, signed, sealed or regulated");
      const bindings = value["bindings"];
      if (!Array.isArray(bindings) || bindings.length > 16 || !bindings.every((b) => typeof b === "string" && b.length > 0 && b.length <= 64)) {
        throw shapeError(type, "bindings must be an array of at most 16 non-empty strings");
      }
      return helloFrame({
        maxTier,
        bindings: bindings as string[],
        tenant: optionalString(value, type, "tenant", 256),
        sessionToken: optionalString(value, type, "sessionToken"),
      });
    }
    case "envelope": {
      onlyMembers(value, type, ["type", "envelope"]);
      const envelope = value["envelope"];
      if (!isJsonObject(envelope)) throw shapeError(type, "envelope must be a JSON object");
      return { type, envelope };
    }
    case "ack": {
      onlyMembers(value, type, ["type", "id", "status"]);
      const id = requireString(value, type, "id", OHP_WS_MAX_ID_LENGTH);
      const status = value["status"];
      if (typeof status !== "string" || !ACK_STATUSES.includes(status)) throw shapeError(type, "status must be accepted, duplicate or invalid");
      return { type, id, status: status as OhpWsAckStatus };
    }
    case "ping":
    case "pong":
      onlyMembers(value, type, ["type"]);
      return { type };
    case "error": {
      onlyMembers(value, type, ["type", "code", "message", "id"]);
      const code = requireString(value, type, "code", 128);
      const message = value["message"];
      if (typeof message !== "string") throw shapeError(type, "message must be a string");
      const id = optionalString(value, type, "id", OHP_WS_MAX_ID_LENGTH);
      return id === undefined ? { type, code, message } : { type, code, message, id };
    }
    default:
      throw new OhpWsError("ERR_OHP_WS_FRAME_TYPE", `unknown frame type ${JSON.stringify(type.slice(0, 64))}`, { detail: { type: type.slice(0, 64) } });
  }
}

function utf8ByteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * Start and end offsets (UTF-16) of the object value of the top-level member `name` in `text`,
 * which must already be known to be valid JSON whose top level is an object.
 */
function topLevelObjectMemberSpan(text: string, name: string): [number, number] | undefined {
  let depth = 0;
  let expectKey = false;
  let lastKey: string | undefined;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        lastKey = JSON.parse(text.slice(i, j + 1)) as string;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 1 && c === 0x7b && lastKey === name && start < 0) start = i;
      depth++;
      if (depth === 1) expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 1 && start >= 0) return [start, i + 1];
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}
