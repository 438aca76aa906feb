/**
 * Typed errors of the `ohp/sip-info` binding (§7.1). Callers branch on `code`, never on the
 * message; {@link sipStatusFor} maps a code to the SIP final response a receiver sends.
 */
import { AgentwireError } from "../../../errors.js";

/** Stable error codes of the SIP message layer, the codec and the endpoint. */
export type SipInfoErrorCode =
  /** Not a well-formed SIP/2.0 message (start line, header syntax, encoding). */
  | "ERR_SIP_MALFORMED"
  /** Syntactically a SIP message, but a mandatory header is missing or inconsistent. */
  | "ERR_SIP_INVALID_REQUEST"
  /** `Content-Length` disagrees with the bytes received (RFC 3261 §18.3). */
  | "ERR_SIP_CONTENT_LENGTH"
  /** The SIP message itself exceeds the configured size or header-count limit. */
  | "ERR_SIP_TOO_LARGE"
  /** The body (or the reassembled / inflated envelope) exceeds a size cap (§7: 413). */
  | "ERR_SIPINFO_TOO_LARGE"
  /** A `Content-Type` other than `application/ohp+cbor` or `multipart/ohp` (415). */
  | "ERR_SIPINFO_MEDIA_TYPE"
  /** A `Content-Encoding` other than `deflate` / `identity` (415). */
  | "ERR_SIPINFO_ENCODING"
  /** `Content-Encoding: deflate` whose bytes inflate neither as zlib nor as raw DEFLATE. */
  | "ERR_SIPINFO_INFLATE"
  /** The body is not strict canonical CBOR (wraps the CborError as `cause`). */
  | "ERR_SIPINFO_CBOR"
  /** Canonical CBOR, but not an envelope: a tag other than 0, a byte string, a non-map top level. */
  | "ERR_SIPINFO_NOT_ENVELOPE"
  /** Decodes, but re-encoding the envelope gives different bytes (tag 0 missing or misplaced). */
  | "ERR_SIPINFO_NOT_CANONICAL"
  /** A `multipart/ohp` chunk with bad parameters, framing, or a set that does not add up. */
  | "ERR_SIPINFO_CHUNK"
  /** An `OHP-Version` / `OHP-Tier` header the binding cannot accept. */
  | "ERR_SIPINFO_HEADER"
  /** An `Info-Package` other than `ohp` (RFC 6086: 469). */
  | "ERR_SIPINFO_INFO_PACKAGE"
  /** No dialog matches (481), or the dialog ended while waiting. */
  | "ERR_SIPINFO_DIALOG"
  /** The peer answered with a non-2xx final response. */
  | "ERR_SIPINFO_REJECTED"
  /** No final response (Timer B/F) or no answer envelope within the caller's timeout. */
  | "ERR_SIPINFO_TIMEOUT"
  /** The UDP socket could not be bound (address in use, not available). */
  | "ERR_SIPINFO_SOCKET"
  /** The endpoint is closing or closed. */
  | "ERR_SIPINFO_CLOSED"
  /** Bad arguments at the API boundary. */
  | "ERR_SIPINFO_INVALID_ARGUMENT";

/** Every error the `ohp/sip-info` binding throws on purpose. */
export class SipInfoError extends AgentwireError<SipInfoErrorCode> {}

/** The SIP final response (status, reason phrase) a receiver sends for an error code. */
export function sipStatusFor(code: SipInfoErrorCode): { status: number; reason: string } {
  switch (code) {
    case "ERR_SIP_TOO_LARGE":
    case "ERR_SIPINFO_TOO_LARGE":
      return { status: 413, reason: "Request Entity Too Large" };
    case "ERR_SIPINFO_MEDIA_TYPE":
    case "ERR_SIPINFO_ENCODING":
      return { status: 415, reason: "Unsupported Media Type" };
    case "ERR_SIPINFO_INFO_PACKAGE":
      return { status: 469, reason: "Bad Info Package" };
    case "ERR_SIPINFO_DIALOG":
      return { status: 481, reason: "Call/Transaction Does Not Exist" };
    case "ERR_SIPINFO_CLOSED":
      return { status: 503, reason: "Service Unavailable" };
    default:
      return { status: 400, reason: "Bad Request" };
  }
}
