/**
 * RFC 8949 §4.2.1 core deterministic CBOR encoder.
 *
 * - definite lengths only, shortest argument heads;
 * - map keys sorted by the bytewise lexicographic order of their encoded form, no duplicates;
 * - numbers: integral values in the int64 range become integers (so `-0` is `0`), every other
 *   finite number takes the shortest of binary16/32/64 that holds it exactly; NaN/±Infinity
 *   are rejected.
 *
 * Hot-path notes: one growable buffer is reused across calls (a fresh one is used if a getter
 * re-enters the encoder), UTF-8 is written by hand for short strings, and the sorted, encoded
 * key order of plain objects is cached per key list because envelopes reuse a few key sets.
 */
import { halfBitsExact, isInt64Integral } from "./float.js";
import { CborError, CborSimple, CborTag, type CborValue } from "./types.js";

/** Maximum nesting of arrays, maps and tags accepted by {@link encodeCanonical}; deeper input (or a cycle) throws `ERR_CBOR_DEPTH`. */
export const MAX_ENCODE_DEPTH = 256;

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const INITIAL_SIZE = 8192;
/** Buffers grown beyond this by one large value are dropped after the call. */
const RETAIN_LIMIT = 1 << 20;
/** Strings longer than this go through `TextEncoder.encodeInto`. */
const LONG_STRING = 256;

const textEncoder = new TextEncoder();

interface WellFormedString {
  isWellFormed(): boolean;
}

/** Sorted key order of one object key list, with the keys' encoded bytes back to back. */
interface KeyOrder {
  /** The key list as `Object.keys` returned it when the entry was built. */
  readonly keys: readonly string[];
  /** Keys in canonical (encoded bytewise) order. */
  readonly sorted: readonly string[];
  /** Encoded keys concatenated in canonical order. */
  readonly bytes: Uint8Array;
  /** `bytes` offsets: key `j` occupies `[offsets[j], offsets[j + 1])`. */
  readonly offsets: Uint32Array;
}

/** Objects with more keys than this are sorted per call, not cached (data-keyed dictionaries). */
const CACHE_MAX_KEYS = 64;
/** Entry budget; the cache is cleared when it is exceeded. */
const CACHE_MAX_ENTRIES = 1024;
/** Key orders by first key; each bucket is scanned for an identical key list. */
const keyOrderCache = new Map<string, KeyOrder[]>();
let keyOrderCount = 0;

function err(code: "ERR_CBOR_UNSUPPORTED" | "ERR_CBOR_NOT_FINITE" | "ERR_CBOR_DEPTH" | "ERR_CBOR_LONE_SURROGATE" | "ERR_CBOR_DUPLICATE_KEY" | "ERR_CBOR_INVALID_TAG" | "ERR_CBOR_NON_CANONICAL", message: string): CborError {
  return new CborError(code, message);
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "function") return "function";
  if (typeof v === "symbol") return "symbol";
  if (typeof v === "object" && v !== null) {
    const ctor = (v as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === "string" ? `instance of ${ctor.name}` : "exotic object";
  }
  return typeof v;
}

/** Bytewise lexicographic comparison (RFC 8949 §4.2.1 key order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function headSize(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : n < TWO_32 ? 5 : 9;
}

class Encoder {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  depth = 0;
  busy = false;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  reset(): void {
    this.pos = 0;
    this.depth = 0;
    if (this.buf.length > RETAIN_LIMIT) {
      this.buf = new Uint8Array(INITIAL_SIZE);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes a head with a shortest argument `n` (a non-negative integer below 2^64). */
  head(major: number, n: number): void {
    this.ensure(9);
    const buf = this.buf;
    let p = this.pos;
    const mt = major << 5;
    if (n < 24) {
      buf[p++] = mt | n;
    } else if (n < 256) {
      buf[p++] = mt | 24;
      buf[p++] = n;
    } else if (n < 65536) {
      buf[p++] = mt | 25;
      buf[p++] = n >>> 8;
      buf[p++] = n & 0xff;
    } else if (n < TWO_32) {
      buf[p++] = mt | 26;
      buf[p++] = n >>> 24;
      buf[p++] = (n >>> 16) & 0xff;
      buf[p++] = (n >>> 8) & 0xff;
      buf[p++] = n & 0xff;
    } else {
      const hi = Math.floor(n / TWO_32);
      this.pos = p;
      this.head64(major, hi, n - hi * TWO_32);
      return;
    }
    this.pos = p;
  }

  /** Writes an 8-byte head from two 32-bit halves (`hi` > 0). */
  head64(major: number, hi: number, lo: number): void {
    this.ensure(9);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = (major << 5) | 27;
    buf[p++] = hi >>> 24;
    buf[p++] = (hi >>> 16) & 0xff;
    buf[p++] = (hi >>> 8) & 0xff;
    buf[p++] = hi & 0xff;
    buf[p++] = lo >>> 24;
    buf[p++] = (lo >>> 16) & 0xff;
    buf[p++] = (lo >>> 8) & 0xff;
    buf[p++] = lo & 0xff;
    this.pos = p;
  }

  /** Head with a bigint argument in 0..2^64-1. */
  bigHead(major: number, n: bigint): void {
    if (n < 9007199254740992n) this.head(major, Number(n));
    else this.head64(major, Number(n >> 32n), Number(n & 0xffffffffn));
  }

  value(v: unknown): void {
    switch (typeof v) {
      case "string":
        this.string(v);
        return;
      case "number":
        this.number(v);
        return;
      case "boolean":
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xf5 : 0xf4;
        return;
      case "object":
        if (v === null) {
          this.ensure(1);
          this.buf[this.pos++] = 0xf6;
        } else {
          this.object(v);
        }
        return;
      case "bigint":
        this.bigint(v);
        return;
      default:
        throw err("ERR_CBOR_UNSUPPORTED", `cannot encode ${describe(v)} as CBOR`);
    }
  }

  number(v: number): void {
    if ((v | 0) === v) {
      if (v >= 0) this.head(0, v);
      else this.head(1, -1 - v);
      return;
    }
    if (isInt64Integral(v)) {
      if (v >= 0) this.head(0, v);
      else if (v >= -TWO_53) this.head(1, -1 - v);
      else {
        // -1 - v is not exact in binary64 here: subtract 1 from the 64-bit magnitude by halves.
        const m = -v;
        let hi = Math.floor(m / TWO_32);
        let lo = m - hi * TWO_32;
        if (lo === 0) {
          hi -= 1;
          lo = TWO_32 - 1;
        } else lo -= 1;
        this.head64(1, hi, lo);
      }
      return;
    }
    if (v !== v || v === Infinity || v === -Infinity) {
      throw err("ERR_CBOR_NOT_FINITE", `cannot encode ${String(v)}: CBOR deterministic encoding here admits finite numbers only`);
    }
    this.float(v);
  }

  float(v: number): void {
    this.ensure(9);
    const buf = this.buf;
    let p = this.pos;
    const half = halfBitsExact(v);
    if (half >= 0) {
      buf[p++] = 0xf9;
      buf[p++] = half >>> 8;
      buf[p++] = half & 0xff;
    } else if (Math.fround(v) === v) {
      buf[p++] = 0xfa;
      this.view.setFloat32(p, v);
      p += 4;
    } else {
      buf[p++] = 0xfb;
      this.view.setFloat64(p, v);
      p += 8;
    }
    this.pos = p;
  }

  bigint(v: bigint): void {
    if (v >= 0n) {
      if (v > MAX_U64) throw err("ERR_CBOR_UNSUPPORTED", `integer ${v} exceeds the CBOR major type 0 range (2^64 - 1)`);
      this.bigHead(0, v);
    } else {
      const m = -1n - v;
      if (m > MAX_U64) throw err("ERR_CBOR_UNSUPPORTED", `integer ${v} is below the CBOR major type 1 range (-2^64)`);
      this.bigHead(1, m);
    }
  }

  string(s: string): void {
    const len = s.length;
    if (len > LONG_STRING) {
      this.longString(s);
      return;
    }
    this.ensure(len * 3 + 9);
    const buf = this.buf;
    const start = this.pos;
    // Optimistic head size: UTF-8 length is at least the UTF-16 length.
    const hsize = len < 24 ? 1 : len < 256 ? 2 : 3;
    let p = start + hsize;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if ((c & 0xf800) !== 0xd800) {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || (d & 0xfc00) !== 0xdc00) {
          throw err("ERR_CBOR_LONE_SURROGATE", `string has a lone surrogate at index ${i}; it has no UTF-8 encoding`);
        }
        i++;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[p++] = 0x80 | (cp & 0x3f);
      }
    }
    const n = p - start - hsize;
    if (hsize === 1 && n < 24) {
      buf[start] = 0x60 | n;
      this.pos = p;
      return;
    }
    this.finishString(start, hsize, p);
  }

  /** Writes the head of a text string whose UTF-8 bytes sit at `[start + hsize, end)`, moving them if the head size differs. */
  finishString(start: number, hsize: number, end: number): void {
    const n = end - start - hsize;
    const need = headSize(n);
    if (need !== hsize) {
      this.ensure(need - hsize + (end - this.pos));
      this.buf.copyWithin(start + need, start + hsize, end);
      end += need - hsize;
    }
    this.pos = start;
    this.head(3, n);
    this.pos = end;
  }

  longString(s: string): void {
    if (!(s as unknown as WellFormedString).isWellFormed()) {
      throw err("ERR_CBOR_LONE_SURROGATE", "string has a lone surrogate; it has no UTF-8 encoding");
    }
    const max = s.length * 3;
    const hsize = headSize(max);
    this.ensure(max + hsize);
    const start = this.pos;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start + hsize));
    this.finishString(start, hsize, start + hsize + written);
  }

  enter(): void {
    if (++this.depth > MAX_ENCODE_DEPTH) {
      throw err("ERR_CBOR_DEPTH", `nesting deeper than ${MAX_ENCODE_DEPTH} (or a cycle)`);
    }
  }

  object(v: object): void {
    if (Array.isArray(v)) {
      this.array(v);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      this.plainObject(v as Record<string, unknown>);
    } else if (v instanceof Uint8Array) {
      const n = v.length;
      this.head(2, n);
      this.ensure(n);
      this.buf.set(v, this.pos);
      this.pos += n;
    } else if (v instanceof CborTag) {
      this.tag(v);
    } else if (v instanceof Map) {
      this.map(v);
    } else if (v instanceof CborSimple) {
      this.ensure(2);
      const s = v.value;
      if (s < 24) this.buf[this.pos++] = 0xe0 | s;
      else {
        this.buf[this.pos++] = 0xf8;
        this.buf[this.pos++] = s;
      }
    } else {
      throw err("ERR_CBOR_UNSUPPORTED", `cannot encode ${describe(v)} as CBOR`);
    }
  }

  array(a: readonly unknown[]): void {
    this.enter();
    const n = a.length;
    this.head(4, n);
    for (let i = 0; i < n; i++) this.value(a[i]);
    this.depth--;
  }

  plainObject(o: Record<string, unknown>): void {
    this.enter();
    const keys = Object.keys(o);
    const n = keys.length;
    this.head(5, n);
    if (n !== 0) {
      const order = this.keyOrder(keys);
      const sorted = order.sorted;
      const kb = order.bytes;
      const offs = order.offsets;
      for (let j = 0; j < n; j++) {
        const from = offs[j] as number;
        const to = offs[j + 1] as number;
        this.ensure(to - from);
        const buf = this.buf;
        let p = this.pos;
        for (let i = from; i < to; i++) buf[p++] = kb[i] as number;
        this.pos = p;
        this.value(o[sorted[j] as string]);
      }
    }
    this.depth--;
  }

  /** Encodes one key to fresh bytes using the tail of the working buffer as scratch. */
  keyBytes(k: unknown): Uint8Array {
    const start = this.pos;
    try {
      this.value(k);
      return this.buf.slice(start, this.pos);
    } finally {
      this.pos = start;
    }
  }

  keyOrder(keys: string[]): KeyOrder {
    const n = keys.length;
    const first = keys[0] as string;
    const bucket = keyOrderCache.get(first);
    if (bucket !== undefined) {
      outer: for (let b = 0; b < bucket.length; b++) {
        const e = bucket[b] as KeyOrder;
        const ek = e.keys;
        if (ek.length !== n) continue;
        for (let i = 1; i < n; i++) if (ek[i] !== keys[i]) continue outer;
        return e;
      }
    }
    const pairs = keys.map((k) => ({ k, b: this.keyBytes(k) }));
    pairs.sort((x, y) => compareBytes(x.b, y.b));
    let total = 0;
    for (const p of pairs) total += p.b.length;
    const bytes = new Uint8Array(total);
    const offsets = new Uint32Array(n + 1);
    let off = 0;
    for (let j = 0; j < n; j++) {
      const p = pairs[j] as { k: string; b: Uint8Array };
      bytes.set(p.b, off);
      off += p.b.length;
      offsets[j + 1] = off;
    }
    const entry: KeyOrder = { keys, sorted: pairs.map((p) => p.k), bytes, offsets };
    if (n <= CACHE_MAX_KEYS) {
      if (keyOrderCount >= CACHE_MAX_ENTRIES) {
        keyOrderCache.clear();
        keyOrderCount = 0;
      }
      const list = keyOrderCache.get(first);
      if (list === undefined) keyOrderCache.set(first, [entry]);
      else list.push(entry);
      keyOrderCount++;
    }
    return entry;
  }

  map(m: Map<unknown, unknown>): void {
    this.enter();
    const pairs: { b: Uint8Array; v: unknown }[] = [];
    for (const [k, v] of m) pairs.push({ b: this.keyBytes(k), v });
    pairs.sort((x, y) => compareBytes(x.b, y.b));
    this.head(5, pairs.length);
    for (let j = 0; j < pairs.length; j++) {
      const p = pairs[j] as { b: Uint8Array; v: unknown };
      if (j > 0 && compareBytes((pairs[j - 1] as { b: Uint8Array }).b, p.b) === 0) {
        throw err("ERR_CBOR_DUPLICATE_KEY", "Map has two keys with the same CBOR encoding");
      }
      this.ensure(p.b.length);
      this.buf.set(p.b, this.pos);
      this.pos += p.b.length;
      this.value(p.v);
    }
    this.depth--;
  }

  tag(t: CborTag): void {
    this.enter();
    const num = t.tag;
    const v: unknown = t.value;
    checkTagContent(num, v);
    if (typeof num === "bigint") this.bigHead(6, num);
    else this.head(6, num);
    this.value(v);
    this.depth--;
  }
}

/** Validates the content of the tags whose definitions agentwire enforces (0, 2, 3). */
function checkTagContent(tag: number | bigint, v: unknown): void {
  if (tag === 0 || tag === 0n) {
    if (typeof v !== "string") throw err("ERR_CBOR_INVALID_TAG", "tag 0 (date-time) must wrap a text string");
  } else if (tag === 2 || tag === 3 || tag === 2n || tag === 3n) {
    if (!(v instanceof Uint8Array)) throw err("ERR_CBOR_INVALID_TAG", `tag ${tag} (bignum) must wrap a byte string`);
    if (v.length <= 8 || v[0] === 0) {
      throw err("ERR_CBOR_NON_CANONICAL", `tag ${tag} bignum is not in preferred form (leading zero, or fits in a 64-bit integer head)`);
    }
  }
}

const shared = new Encoder(INITIAL_SIZE);

/**
 * Encodes `value` in RFC 8949 §4.2.1 core deterministic form (see the module comment for the
 * number rule). Independent implementations of the same rules produce the same bytes.
 *
 * @param value a {@link CborValue}; plain objects (prototype `Object.prototype` or `null`)
 *   contribute their own enumerable string-keyed properties
 * @returns a fresh byte array holding exactly one data item
 * @throws CborError `ERR_CBOR_NOT_FINITE` (NaN/±Infinity), `ERR_CBOR_LONE_SURROGATE`,
 *   `ERR_CBOR_UNSUPPORTED` (undefined, functions, symbols, other class instances, integers
 *   outside -2^64..2^64-1), `ERR_CBOR_DEPTH` (nesting beyond {@link MAX_ENCODE_DEPTH}, cycles),
 *   `ERR_CBOR_DUPLICATE_KEY` (a `Map` with two keys encoding alike), `ERR_CBOR_INVALID_TAG` /
 *   `ERR_CBOR_NON_CANONICAL` (content of tags 0, 2, 3). Errors thrown by getters propagate.
 */
export function encodeCanonical(value: CborValue): Uint8Array {
  const enc = shared.busy ? new Encoder(256) : shared;
  enc.busy = true;
  try {
    enc.pos = 0;
    enc.depth = 0;
    enc.value(value);
    return enc.buf.slice(0, enc.pos);
  } finally {
    enc.reset();
    enc.busy = false;
  }
}
