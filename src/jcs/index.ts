/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - literals and numbers are serialised as ECMAScript does (RFC 8785 §3.2.2.3, which is
 *   `Number::toString`; `-0` becomes `0`);
 * - strings are escaped as `JSON.stringify` does (RFC 8785 §3.2.2.2);
 * - object members are sorted by the UTF-16 code units of their names (RFC 8785 §3.2.3);
 * - input outside I-JSON (RFC 7493) is rejected with a typed {@link JcsError}: non-finite
 *   numbers, lone surrogates, `undefined`, functions, symbols, bigints, class instances, cycles.
 *
 * @module
 */
import { AgentwireError } from "../errors.js";

/** Stable error codes raised by the JCS canonicaliser. */
export type JcsErrorCode =
  /** NaN or ±Infinity (RFC 8785 §3.2.2.3). */
  | "ERR_JCS_NOT_FINITE"
  /** A string (value or member name) with a lone UTF-16 surrogate (I-JSON, RFC 7493 §2.1). */
  | "ERR_JCS_LONE_SURROGATE"
  /** A value with no JSON form: undefined, function, symbol, bigint, class instance, array hole. */
  | "ERR_JCS_UNSUPPORTED"
  /** An object or array that contains itself. */
  | "ERR_JCS_CYCLE"
  /** Nesting deeper than {@link MAX_JCS_DEPTH}. */
  | "ERR_JCS_DEPTH";

/** Every error the JCS canonicaliser throws on purpose. */
export class JcsError extends AgentwireError<JcsErrorCode> {}

/** Maximum nesting of arrays and objects accepted by {@link canonicalizeJson}. */
export const MAX_JCS_DEPTH = 512;

interface WellFormedString {
  isWellFormed(): boolean;
}

function fail(code: JcsErrorCode, message: string, path: string): never {
  throw new JcsError(code, `${message} at ${path}`, { detail: { path } });
}

function quote(s: string, path: string): string {
  if (!(s as unknown as WellFormedString).isWellFormed()) fail("ERR_JCS_LONE_SURROGATE", "string has a lone surrogate", path);
  return JSON.stringify(s);
}

function compareUtf16(a: string, b: string): number {
  // Relational comparison of JS strings is by UTF-16 code units, as RFC 8785 §3.2.3 requires.
  return a < b ? -1 : a > b ? 1 : 0;
}

function serialize(v: unknown, path: string, stack: Set<object>): string {
  switch (typeof v) {
    case "string":
      return quote(v, path);
    case "number":
      if (!Number.isFinite(v)) fail("ERR_JCS_NOT_FINITE", `${String(v)} has no JSON form`, path);
      // JSON.stringify of a finite number is ECMAScript Number::toString, with -0 as "0".
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "object":
      break;
    default:
      return fail("ERR_JCS_UNSUPPORTED", `${typeof v} has no JSON form`, path);
  }
  if (v === null) return "null";
  if (stack.has(v)) fail("ERR_JCS_CYCLE", "cyclic structure", path);
  if (stack.size >= MAX_JCS_DEPTH) fail("ERR_JCS_DEPTH", `nesting deeper than ${MAX_JCS_DEPTH}`, path);
  stack.add(v);
  let out: string;
  if (Array.isArray(v)) {
    const a = v as readonly unknown[];
    out = "[";
    for (let i = 0; i < a.length; i++) {
      if (i > 0) out += ",";
      out += serialize(a[i], `${path}[${i}]`, stack);
    }
    out += "]";
  } else {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      fail("ERR_JCS_UNSUPPORTED", `instance of ${typeof name === "string" ? name : "a class"} has no JSON form`, path);
    }
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec).sort(compareUtf16);
    out = "{";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const sub = `${path}.${k}`;
      if (i > 0) out += ",";
      out += quote(k, sub);
      out += ":";
      out += serialize(rec[k], sub, stack);
    }
    out += "}";
  }
  stack.delete(v);
  return out;
}

/**
 * Serialises a JSON value in RFC 8785 canonical form.
 *
 * @param value a JSON value: null, boolean, finite number, string, array, or plain object
 *   (prototype `Object.prototype` or `null`; own enumerable string keys)
 * @returns the canonical JSON text
 * @throws JcsError `ERR_JCS_NOT_FINITE`, `ERR_JCS_LONE_SURROGATE`, `ERR_JCS_UNSUPPORTED`,
 *   `ERR_JCS_CYCLE`, `ERR_JCS_DEPTH`
 */
export function canonicalizeJson(value: unknown): string {
  return serialize(value, "$", new Set<object>());
}

const encoder = new TextEncoder();

/**
 * {@link canonicalizeJson} encoded as UTF-8, the octets RFC 8785 §3.2.4 says to hash or sign.
 *
 * @param value a JSON value (see {@link canonicalizeJson})
 * @returns UTF-8 bytes of the canonical JSON text
 * @throws JcsError as {@link canonicalizeJson}
 */
export function canonicalizeJsonBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalizeJson(value));
}
