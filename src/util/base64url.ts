import { AgentwireError } from "../errors.js";

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (RFC 4648 §5), as JOSE and OHP use it. */
export function b64uEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Strict unpadded base64url decode: rejects padding, characters outside the alphabet and
 * non-canonical trailing bits, so one byte string has exactly one text form.
 */
export function b64uDecode(text: string): Uint8Array {
  if (typeof text !== "string" || text.length % 4 === 1) {
    throw new AgentwireError("ERR_BASE64URL", "invalid base64url text");
  }
  // Node's decoder skips characters outside the alphabet and accepts "+/=", so the round trip
  // below rejects every text that is not the one canonical unpadded base64url form; only the
  // error message needs the (slower) alphabet scan, so it runs on the failure path alone.
  const out = Buffer.from(text, "base64url");
  if (out.toString("base64url") !== text) {
    if (!B64URL.test(text)) throw new AgentwireError("ERR_BASE64URL", "invalid base64url text");
    throw new AgentwireError("ERR_BASE64URL", "non-canonical base64url text");
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
