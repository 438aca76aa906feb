/**
 * CBOR decoders.
 *
 * {@link decodeCanonical} is strict: it accepts exactly the bytes {@link encodeCanonical}
 * would produce for the decoded value (RFC 8949 §4.2.1 plus agentwire's number rule) and
 * rejects everything else with a typed {@link CborError}. {@link decode} accepts any
 * well-formed CBOR (indefinite lengths, long heads, any float width, unsorted keys).
 *
 * Both are bounded: every length is checked against the remaining input before anything is
 * allocated (a head claiming 2^63 items fails at once as truncated), and depth and item
 * counts are limited.
 *
 * @see encodeCanonical in ./encode.ts
 */
import { setOwn } from "../json/own.js";
import { halfBitsExact, halfToNumber, isInt64Integral } from "./float.js";
import { CborError, type CborErrorCode, CborSimple, CborTag, type CborValue, type DecodeOptions } from "./types.js";

/** Default {@link DecodeOptions.maxDepth}. */
export const DEFAULT_MAX_DEPTH = 256;
/** Default {@link DecodeOptions.maxItems}. */
export const DEFAULT_MAX_ITEMS = 1 << 20;

const TWO_32 = 4294967296;
const MAX_SAFE_HI = 0x1fffff; // high 32 bits of 2^53 - 1
const SHORT_TEXT = 32;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Decoder {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly end: number;
  readonly strict: boolean;
  readonly maxDepth: number;
  pos = 0;
  itemsLeft: number;
  /** High and low 32 bits of the last 8-byte argument read by {@link arg}. */
  hi = 0;
  lo = 0;

  constructor(bytes: Uint8Array, strict: boolean, maxDepth: number, maxItems: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
    this.strict = strict;
    this.maxDepth = maxDepth;
    this.itemsLeft = maxItems;
  }

  fail(code: CborErrorCode, message: string, at: number = this.pos): never {
    throw new CborError(code, `${message} (at byte ${at})`, { detail: { offset: at } });
  }

  need(n: number): void {
    if (n > this.end - this.pos) this.fail("ERR_CBOR_TRUNCATED", `input ends early: ${n} more byte(s) needed`);
  }

  /**
   * Reads the argument for additional information `ai` (0..27). 8-byte arguments also land
   * in `hi`/`lo`; the returned number is exact below 2^53 and only a lower bound above.
   * Strict mode rejects arguments that fit a shorter head.
   */
  arg(ai: number, at: number): number {
    if (ai < 24) return ai;
    const b = this.bytes;
    let p = this.pos;
    let v: number;
    switch (ai) {
      case 24:
        this.need(1);
        v = b[p] as number;
        this.pos = p + 1;
        if (this.strict && v < 24) this.fail("ERR_CBOR_NON_CANONICAL", "argument fits the initial byte", at);
        return v;
      case 25:
        this.need(2);
        v = ((b[p] as number) << 8) | (b[p + 1] as number);
        this.pos = p + 2;
        if (this.strict && v < 256) this.fail("ERR_CBOR_NON_CANONICAL", "argument fits a 1-byte head", at);
        return v;
      case 26:
        this.need(4);
        v = this.view.getUint32(p);
        this.pos = p + 4;
        if (this.strict && v < 65536) this.fail("ERR_CBOR_NON_CANONICAL", "argument fits a 2-byte head", at);
        return v;
      case 27: {
        this.need(8);
        const hi = this.view.getUint32(p);
        const lo = this.view.getUint32(p + 4);
        p += 8;
        this.pos = p;
        this.hi = hi;
        this.lo = lo;
        if (this.strict && hi === 0) this.fail("ERR_CBOR_NON_CANONICAL", "argument fits a 4-byte head", at);
        return hi * TWO_32 + lo;
      }
      default:
        return this.fail("ERR_CBOR_MALFORMED", `reserved additional information ${ai}`, at);
    }
  }

  /** Checks a byte or text string length against the remaining input (a string is one item, whatever its length). */
  claimBytes(n: number, at: number): void {
    if (n > this.end - this.pos) this.fail("ERR_CBOR_TRUNCATED", `length ${n} exceeds the remaining input`, at);
  }

  /** Checks a claimed count of data items against the remaining input (each takes at least one byte) and the item budget. */
  claimItems(n: number, at: number): void {
    if (n > this.end - this.pos) this.fail("ERR_CBOR_TRUNCATED", `length ${n} exceeds the remaining input`, at);
    if (n > this.itemsLeft) this.fail("ERR_CBOR_LIMIT", `more than the allowed number of items`, at);
  }

  item(depth: number): CborValue {
    if (--this.itemsLeft < 0) this.fail("ERR_CBOR_LIMIT", "more than the allowed number of items");
    const at = this.pos;
    this.need(1);
    const ib = this.bytes[this.pos++] as number;
    const major = ib >> 5;
    const ai = ib & 31;
    if (ai === 31) return this.indefinite(major, depth, at);
    switch (major) {
      case 0: {
        const n = this.arg(ai, at);
        if (ai < 27 || this.hi <= MAX_SAFE_HI) return n;
        return (BigInt(this.hi) << 32n) | BigInt(this.lo);
      }
      case 1: {
        const n = this.arg(ai, at);
        if (ai < 27 || (this.hi <= MAX_SAFE_HI && n < 9007199254740991)) return -1 - n;
        return -1n - ((BigInt(this.hi) << 32n) | BigInt(this.lo));
      }
      case 2: {
        const n = this.arg(ai, at);
        this.claimBytes(n, at);
        const p = this.pos;
        this.pos = p + n;
        return this.bytes.slice(p, p + n);
      }
      case 3: {
        const n = this.arg(ai, at);
        this.claimBytes(n, at);
        return this.text(n, at);
      }
      case 4: {
        const n = this.arg(ai, at);
        this.claimItems(n, at);
        this.enter(depth, at);
        const a: CborValue[] = [];
        for (let i = 0; i < n; i++) a.push(this.item(depth + 1));
        return a;
      }
      case 5: {
        const n = this.arg(ai, at);
        this.claimItems(n * 2, at);
        this.enter(depth, at);
        return this.map(n, depth + 1);
      }
      case 6:
        return this.tag(ai, depth, at);
      default:
        return this.simple(ai, at);
    }
  }

  enter(depth: number, at: number): void {
    if (depth >= this.maxDepth) this.fail("ERR_CBOR_DEPTH", `nesting deeper than ${this.maxDepth}`, at);
  }

  text(n: number, at: number): string {
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + n;
    if (n <= SHORT_TEXT) {
      let s = "";
      let i = p;
      const e = p + n;
      for (; i < e; i++) {
        const c = b[i] as number;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === e) return s;
    }
    try {
      return utf8.decode(b.subarray(p, p + n));
    } catch {
      return this.fail("ERR_CBOR_INVALID_UTF8", "text string is not valid UTF-8", at);
    }
  }

  /** Decodes `n` key/value pairs; depth is the depth of the entries. */
  map(n: number, depth: number): CborValue {
    const strict = this.strict;
    let obj: Record<string, CborValue> | null = {};
    let m: Map<CborValue, CborValue> | null = null;
    let prevStart = -1;
    let prevEnd = -1;
    /** Lenient mode: identities of byte-string, array, map, tag and simple keys (a JS Map compares those by reference). */
    let composite: Set<string> | null = null;
    for (let i = 0; i < n; i++) {
      const ks = this.pos;
      const key = this.item(depth);
      const ke = this.pos;
      if (strict && prevStart >= 0) {
        const c = this.compareRanges(prevStart, prevEnd, ks, ke);
        if (c === 0) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", ks);
        if (c > 0) this.fail("ERR_CBOR_NON_CANONICAL", "map keys are not in bytewise lexicographic order of their encoding", ks);
      }
      prevStart = ks;
      prevEnd = ke;
      const value = this.item(depth);
      if (obj !== null && typeof key === "string") {
        if (!strict && Object.hasOwn(obj, key)) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", ks);
        setOwn(obj, key, value);
        continue;
      }
      if (m === null) {
        m = new Map<CborValue, CborValue>();
        if (obj !== null) for (const k of Object.keys(obj)) m.set(k, obj[k] as CborValue);
        obj = null;
      }
      if (!strict) {
        if (typeof key === "object" && key !== null) {
          composite ??= new Set<string>();
          this.checkComposite(composite, key, ks);
        } else if (m.has(key)) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", ks);
      }
      m.set(key, value);
    }
    return obj ?? (m as Map<CborValue, CborValue>);
  }

  /** Fails on a composite (non-primitive) key already seen in the same map, compared by value. */
  checkComposite(seen: Set<string>, key: CborValue, at: number): void {
    const id = keyIdentity(key);
    if (seen.has(id)) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", at);
    seen.add(id);
  }

  compareRanges(a0: number, a1: number, b0: number, b1: number): number {
    const b = this.bytes;
    const la = a1 - a0;
    const lb = b1 - b0;
    const n = la < lb ? la : lb;
    for (let i = 0; i < n; i++) {
      const d = (b[a0 + i] as number) - (b[b0 + i] as number);
      if (d !== 0) return d;
    }
    return la - lb;
  }

  tag(ai: number, depth: number, at: number): CborValue {
    const n = this.arg(ai, at);
    const num: number | bigint = ai < 27 || this.hi <= MAX_SAFE_HI ? n : (BigInt(this.hi) << 32n) | BigInt(this.lo);
    this.enter(depth, at);
    const v = this.item(depth + 1);
    if (this.strict) {
      if (num === 0 && typeof v !== "string") this.fail("ERR_CBOR_INVALID_TAG", "tag 0 (date-time) must wrap a text string", at);
      if (num === 2 || num === 3) {
        if (!(v instanceof Uint8Array)) this.fail("ERR_CBOR_INVALID_TAG", `tag ${num} (bignum) must wrap a byte string`, at);
        if (v.length <= 8 || v[0] === 0) {
          this.fail("ERR_CBOR_NON_CANONICAL", `tag ${num} bignum is not in preferred form (leading zero, or fits a 64-bit integer head)`, at);
        }
      }
    }
    return new CborTag(num, v);
  }

  simple(ai: number, at: number): CborValue {
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return this.fail("ERR_CBOR_UNSUPPORTED", "undefined (simple value 23) is outside the data model", at);
      case 24: {
        this.need(1);
        const v = this.bytes[this.pos++] as number;
        if (v < 32) this.fail("ERR_CBOR_MALFORMED", `simple value ${v} in two-byte form`, at);
        return new CborSimple(v);
      }
      case 25: {
        this.need(2);
        const v = halfToNumber(this.view.getUint16(this.pos));
        this.pos += 2;
        if (this.strict) this.checkFloat(v, 2, at);
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        if (this.strict) this.checkFloat(v, 4, at);
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        if (this.strict) this.checkFloat(v, 8, at);
        return v;
      }
      default:
        if (ai < 20) return new CborSimple(ai);
        return this.fail("ERR_CBOR_MALFORMED", `reserved additional information ${ai} in major type 7`, at);
    }
  }

  /** Strict float rule: finite, not an int64 integral value, and no narrower width holds it. */
  checkFloat(v: number, width: number, at: number): void {
    if (v !== v || v === Infinity || v === -Infinity) this.fail("ERR_CBOR_NOT_FINITE", "NaN and ±Infinity are not allowed", at);
    if (isInt64Integral(v)) this.fail("ERR_CBOR_NON_CANONICAL", `integral value ${v} must be encoded as an integer`, at);
    if (width === 8 && Math.fround(v) === v) this.fail("ERR_CBOR_NON_CANONICAL", "double-precision value fits single precision", at);
    if (width === 4 && halfBitsExact(v) >= 0) this.fail("ERR_CBOR_NON_CANONICAL", "single-precision value fits half precision", at);
  }

  indefinite(major: number, depth: number, at: number): CborValue {
    if (major === 7) this.fail("ERR_CBOR_MALFORMED", "break outside an indefinite-length item", at);
    if (major < 2 || major === 6) this.fail("ERR_CBOR_MALFORMED", `additional information 31 is not allowed in major type ${major}`, at);
    if (this.strict) this.fail("ERR_CBOR_INDEFINITE_LENGTH", "indefinite-length items are not deterministic (RFC 8949 §4.2.1)", at);
    switch (major) {
      case 2:
      case 3:
        return this.chunks(major);
      case 4: {
        this.enter(depth, at);
        const a: CborValue[] = [];
        while (!this.atBreak()) a.push(this.item(depth + 1));
        return a;
      }
      default: {
        this.enter(depth, at);
        const obj: Record<string, CborValue> = {};
        let m: Map<CborValue, CborValue> | null = null;
        let composite: Set<string> | null = null;
        while (!this.atBreak()) {
          const ks = this.pos;
          const key = this.item(depth + 1);
          if (this.peekBreak()) this.fail("ERR_CBOR_MALFORMED", "break between a map key and its value");
          const value = this.item(depth + 1);
          if (m === null && typeof key === "string") {
            if (Object.hasOwn(obj, key)) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", ks);
            setOwn(obj, key, value);
            continue;
          }
          if (m === null) {
            m = new Map<CborValue, CborValue>();
            for (const k of Object.keys(obj)) m.set(k, obj[k] as CborValue);
          }
          if (typeof key === "object" && key !== null) {
            composite ??= new Set<string>();
            this.checkComposite(composite, key, ks);
          } else if (m.has(key)) this.fail("ERR_CBOR_DUPLICATE_KEY", "duplicate map key", ks);
          m.set(key, value);
        }
        return m ?? obj;
      }
    }
  }

  peekBreak(): boolean {
    this.need(1);
    return this.bytes[this.pos] === 0xff;
  }

  /** Consumes a break byte if one is next; fails as truncated at end of input. */
  atBreak(): boolean {
    if (this.peekBreak()) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Indefinite-length byte or text string: definite chunks of the same major type until a break. */
  chunks(major: number): CborValue {
    const parts: Uint8Array[] = [];
    let text = "";
    while (!this.atBreak()) {
      const cat = this.pos;
      const ib = this.bytes[this.pos++] as number;
      if (ib >> 5 !== major || (ib & 31) === 31) this.fail("ERR_CBOR_MALFORMED", "indefinite-length string chunk of the wrong type", cat);
      if (--this.itemsLeft < 0) this.fail("ERR_CBOR_LIMIT", "more than the allowed number of items", cat);
      const n = this.arg(ib & 31, cat);
      this.claimBytes(n, cat);
      if (major === 3) text += this.text(n, cat);
      else {
        parts.push(this.bytes.subarray(this.pos, this.pos + n));
        this.pos += n;
      }
    }
    if (major === 3) return text;
    let total = 0;
    for (const p of parts) total += p.length;
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/**
 * A string that is equal for two decoded values exactly when they are the same data-model value
 * (JS semantics for numbers, so 0 and -0 coincide as they do for primitive keys in a `Map`; map
 * entries compared as a set). Only used by the lenient decoder to find duplicate composite keys;
 * the strict decoder compares encoded key bytes instead. Nesting is bounded by the decoder's depth limit.
 */
function keyIdentity(v: unknown): string {
  switch (typeof v) {
    case "number":
      return `n${String(v)}`;
    case "bigint":
      return `i${v}`;
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "T" : "F";
    default:
      break;
  }
  if (v === null) return "N";
  if (v instanceof Uint8Array) {
    let h = "h";
    for (let i = 0; i < v.length; i++) h += ((v[i] as number) + 256).toString(16).slice(1);
    return h;
  }
  if (Array.isArray(v)) return `[${v.map((e: unknown) => keyIdentity(e)).join(",")}]`;
  if (v instanceof CborTag) return `t${String(v.tag)}(${keyIdentity(v.value)})`;
  if (v instanceof CborSimple) return `s${v.value}`;
  const entries: string[] = [];
  if (v instanceof Map) {
    for (const [k, e] of v as Map<unknown, unknown>) entries.push(`${keyIdentity(k)}:${keyIdentity(e)}`);
  } else {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) entries.push(`${JSON.stringify(k)}:${keyIdentity(o[k])}`);
  }
  return `{${entries.sort().join(",")}}`;
}

function checkArgs(bytes: unknown, options: DecodeOptions | undefined): { maxDepth: number; maxItems: number } {
  if (!(bytes instanceof Uint8Array)) {
    throw new CborError("ERR_CBOR_INVALID_ARGUMENT", "CBOR input must be a Uint8Array");
  }
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxItems = options?.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
    throw new CborError("ERR_CBOR_INVALID_ARGUMENT", "maxDepth must be a non-negative integer");
  }
  if (!Number.isSafeInteger(maxItems) || maxItems < 1) {
    throw new CborError("ERR_CBOR_INVALID_ARGUMENT", "maxItems must be a positive integer");
  }
  return { maxDepth, maxItems };
}

function run(bytes: Uint8Array, strict: boolean, options: DecodeOptions | undefined): CborValue {
  const { maxDepth, maxItems } = checkArgs(bytes, options);
  const d = new Decoder(bytes, strict, maxDepth, maxItems);
  const v = d.item(0);
  if (d.pos !== d.end) d.fail("ERR_CBOR_TRAILING_BYTES", `${d.end - d.pos} byte(s) after the data item`);
  return v;
}

/**
 * Strictly decodes one CBOR data item in RFC 8949 §4.2.1 deterministic form.
 *
 * Maps whose keys are all text become plain objects (a `__proto__` key is an own data
 * property); other maps become `Map`s. Tags become {@link CborTag}, byte strings `Uint8Array`,
 * integers beyond ±(2^53 - 1) `bigint`.
 *
 * @param bytes exactly one encoded data item
 * @param options depth and item-count limits
 * @throws CborError `ERR_CBOR_NON_CANONICAL` (long heads, wide or integral floats, key order,
 *   non-preferred bignums), `ERR_CBOR_DUPLICATE_KEY`, `ERR_CBOR_INDEFINITE_LENGTH`,
 *   `ERR_CBOR_TRUNCATED`, `ERR_CBOR_TRAILING_BYTES`, `ERR_CBOR_INVALID_UTF8`,
 *   `ERR_CBOR_NOT_FINITE`, `ERR_CBOR_UNSUPPORTED` (undefined), `ERR_CBOR_INVALID_TAG`,
 *   `ERR_CBOR_MALFORMED`, `ERR_CBOR_DEPTH`, `ERR_CBOR_LIMIT`, `ERR_CBOR_INVALID_ARGUMENT`
 */
export function decodeCanonical(bytes: Uint8Array, options?: DecodeOptions): CborValue {
  return run(bytes, true, options);
}

/**
 * Decodes any well-formed CBOR data item (definite or indefinite lengths, any head width, any
 * float width including NaN/±Infinity, keys in any order). Duplicate keys, `undefined`,
 * invalid UTF-8, truncation and trailing bytes are still rejected; limits apply as in
 * {@link decodeCanonical}. Use it for foreign input that is not required to be canonical.
 *
 * @param bytes exactly one encoded data item
 * @param options depth and item-count limits
 * @throws CborError as {@link decodeCanonical}, minus the determinism checks
 */
export function decode(bytes: Uint8Array, options?: DecodeOptions): CborValue {
  return run(bytes, false, options);
}
