/**
 * Mapping from the CBOR data model back to the JSON data model (e.g. a SIP CBOR body to JSON).
 */
import { setOwn } from "../json/own.js";
import { CborError, CborSimple, CborTag, type CborValue } from "./types.js";

/** A value of the JSON data model. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Maximum nesting accepted by {@link toJsonModel}. */
const MAX_DEPTH = 256;

function notJson(message: string, path: string): never {
  throw new CborError("ERR_CBOR_NOT_JSON", `${message} at ${path}`, { detail: { path } });
}

function convert(v: unknown, path: string, depth: number): JsonValue {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (!Number.isFinite(v)) notJson(`${String(v)} is not a JSON number`, path);
      return v;
    case "bigint":
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        notJson(`integer ${v} is outside the safe JSON number range`, path);
      }
      return Number(v);
    case "object":
      break;
    default:
      notJson(`${typeof v} is not a JSON value`, path);
  }
  if (v === null) return null;
  if (depth >= MAX_DEPTH) throw new CborError("ERR_CBOR_DEPTH", `nesting deeper than ${MAX_DEPTH} at ${path}`);
  if (Array.isArray(v)) return v.map((e: unknown, i) => convert(e, `${path}[${i}]`, depth + 1));
  if (v instanceof CborTag) {
    if ((v.tag === 0 || v.tag === 0n) && typeof v.value === "string") return v.value;
    return notJson(`tag ${String(v.tag)} has no JSON form`, path);
  }
  if (v instanceof Uint8Array) notJson("a byte string has no JSON form", path);
  if (v instanceof CborSimple) notJson(`simple(${v.value}) has no JSON form`, path);
  const out: Record<string, JsonValue> = {};
  if (v instanceof Map) {
    for (const [k, e] of v as Map<unknown, unknown>) {
      if (typeof k !== "string") notJson("a map key that is not text has no JSON form", path);
      setOwn(out, k, convert(e, `${path}.${k}`, depth + 1));
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) notJson("a class instance has no JSON form", path);
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) setOwn(out, k, convert(rec[k], `${path}.${k}`, depth + 1));
  return out;
}

/**
 * Turns a decoded CBOR value into the JSON data model: tag 0 around text (an RFC 3339
 * date-time) becomes the text, `bigint`s within ±(2^53 - 1) become numbers, text-keyed `Map`s
 * become objects. Objects come back as fresh plain objects (a `__proto__` key stays data).
 *
 * @param value a value from {@link decodeCanonical} (or any {@link CborValue})
 * @returns the equivalent JSON value
 * @throws CborError `ERR_CBOR_NOT_JSON` for byte strings, other tags, simple values, non-text
 *   map keys, non-finite numbers and integers beyond ±(2^53 - 1); `ERR_CBOR_DEPTH` beyond 256 levels
 */
export function toJsonModel(value: CborValue): JsonValue {
  return convert(value, "$", 0);
}
