/**
 * Canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding) for agentwire.
 *
 * @module
 */
export { encodeCanonical, compareBytes, MAX_ENCODE_DEPTH } from "./encode.js";
export { decodeCanonical, decode, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEMS } from "./decode.js";
export { toJsonModel, type JsonValue } from "./json.js";
export { CborError, CborTag, CborSimple, type CborErrorCode, type CborValue, type DecodeOptions } from "./types.js";
