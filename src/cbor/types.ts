/**
 * Data model and error types shared by the canonical CBOR encoder and decoder.
 *
 * The model is the JSON data model (null, booleans, numbers, strings, arrays, objects with text
 * keys) extended with the few CBOR notions OHP and the RFC 8949 Appendix A vectors need:
 * 64-bit integers as `bigint`, byte strings as `Uint8Array`, tags as {@link CborTag}, maps with
 * non-text keys as `Map`, and unassigned simple values as {@link CborSimple}.
 */
import { AgentwireError } from "../errors.js";

/** Stable error codes raised by the CBOR codec. Callers branch on these, never on messages. */
export type CborErrorCode =
  /** Well-formed but not in RFC 8949 §4.2.1 deterministic form (head, float width, key order). */
  | "ERR_CBOR_NON_CANONICAL"
  /** A map holds the same key twice (RFC 8949 §5.6). */
  | "ERR_CBOR_DUPLICATE_KEY"
  /** An indefinite-length item in strict mode (RFC 8949 §4.2.1 requires definite lengths). */
  | "ERR_CBOR_INDEFINITE_LENGTH"
  /** The input ends inside an item, or a length head claims more data than remains. */
  | "ERR_CBOR_TRUNCATED"
  /** Bytes follow the single top-level data item. */
  | "ERR_CBOR_TRAILING_BYTES"
  /** A value outside the supported data model (functions, symbols, `undefined`, class instances, out-of-range integers). */
  | "ERR_CBOR_UNSUPPORTED"
  /** NaN or ±Infinity. */
  | "ERR_CBOR_NOT_FINITE"
  /** Nesting deeper than the configured limit (also how cycles surface on encode). */
  | "ERR_CBOR_DEPTH"
  /** More data items than the configured `maxItems`. */
  | "ERR_CBOR_LIMIT"
  /** Not well-formed CBOR (reserved additional information, stray break, bad chunk, bad simple value). */
  | "ERR_CBOR_MALFORMED"
  /** A text string whose bytes are not valid UTF-8. */
  | "ERR_CBOR_INVALID_UTF8"
  /** A JS string holding a lone UTF-16 surrogate, which has no UTF-8 form. */
  | "ERR_CBOR_LONE_SURROGATE"
  /** A tag whose content violates the tag's definition (e.g. tag 0 around a non-string). */
  | "ERR_CBOR_INVALID_TAG"
  /** A value that the JSON data model cannot hold (see `toJsonModel`). */
  | "ERR_CBOR_NOT_JSON"
  /** Bad arguments at the API boundary (wrong input type, bad option values). */
  | "ERR_CBOR_INVALID_ARGUMENT";

/** Every error the CBOR codec throws on purpose. `code` is one of {@link CborErrorCode}. */
export class CborError extends AgentwireError<CborErrorCode> {}

/** Largest tag number CBOR can carry (2^64 - 1). */
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/**
 * A CBOR tag (major type 6) wrapping one value. OHP uses tag 0 (RFC 3339 date-time text).
 * Tag numbers up to 2^53 - 1 are `number`s; larger ones (up to 2^64 - 1) are `bigint`s.
 */
export class CborTag {
  /**
   * @param tag tag number, a non-negative integer ≤ 2^64 - 1
   * @param value the tagged content
   * @throws CborError `ERR_CBOR_INVALID_ARGUMENT` when `tag` is out of range
   */
  constructor(
    readonly tag: number | bigint,
    readonly value: CborValue,
  ) {
    const ok =
      typeof tag === "number"
        ? Number.isSafeInteger(tag) && tag >= 0
        : typeof tag === "bigint" && tag >= 0n && tag <= MAX_U64;
    if (!ok) {
      throw new CborError("ERR_CBOR_INVALID_ARGUMENT", `CBOR tag number out of range: ${String(tag)}`);
    }
  }
}

/**
 * An unassigned CBOR simple value (major type 7): 0..19 or 32..255. The assigned ones map to
 * native values (false, true, null); `undefined` (23) is outside the data model and rejected.
 */
export class CborSimple {
  /**
   * @param value simple value number, 0..19 or 32..255
   * @throws CborError `ERR_CBOR_INVALID_ARGUMENT` for assigned (20..23) or reserved (24..31) numbers
   */
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 255 || (value >= 20 && value < 32)) {
      throw new CborError("ERR_CBOR_INVALID_ARGUMENT", `not an unassigned CBOR simple value: ${String(value)}`);
    }
  }
}

/** Any value the canonical CBOR codec accepts and produces. */
export type CborValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue }
  | Map<CborValue, CborValue>
  | CborTag
  | CborSimple;

/** Limits for the decoders. */
export interface DecodeOptions {
  /** Maximum nesting depth of arrays, maps and tags (default 256). */
  maxDepth?: number;
  /** Maximum total number of data items, keys included (default 1,048,576). */
  maxItems?: number;
}
